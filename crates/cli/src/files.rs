//! Expanding the paths given to `flow check` into `.flow` files.

use std::path::{Path, PathBuf};

/// Folders never searched for `.flow` files.
const SKIPPED_DIRS: &[&str] = &[".git", ".flow", "target", "node_modules", ".bench"];

/// What the paths named: the `.flow` files to check, and the paths that
/// could not be read (so the rest can still be checked).
#[derive(Debug, Default)]
pub struct Found {
    /// Files as given, then every `*.flow` below each folder, sorted.
    pub files: Vec<PathBuf>,
    /// One message per unreadable path, naming it.
    pub errors: Vec<String>,
}

/// Every folder `flow_files` searches under `dir` (itself included), for
/// watching: the same skipped names, links to folders not followed.
pub fn searched_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        if let Ok(entries) = std::fs::read_dir(&out[i]) {
            let mut subs: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter(|e| !SKIPPED_DIRS.contains(&e.file_name().to_str().unwrap_or("")))
                .map(|e| e.path())
                .collect();
            subs.sort();
            out.extend(subs);
        }
        i += 1;
    }
    out
}

/// Every `.flow` file named by `paths`: files as given, folders searched
/// recursively (sorted, skipping [`SKIPPED_DIRS`]). Symbolic links to files
/// are followed, links to folders are not (a link loop cannot recurse).
pub fn flow_files(paths: &[PathBuf]) -> Found {
    let mut found = Found::default();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut found);
        } else if p.is_file() {
            found.files.push(p.clone());
        } else {
            let why = not_a_file(p, "no such file or folder");
            found.errors.push(format!("{}: {why}", p.display()));
        }
    }
    found
}

/// Why `path`, which is neither a regular file nor a folder, cannot be read
/// as a flow: `missing` when nothing is there, else what is (a link to
/// nothing, a FIFO, a socket, a device), so the message does not claim a
/// FIFO is missing.
pub fn not_a_file(path: &Path, missing: &'static str) -> &'static str {
    match (path.symlink_metadata(), path.metadata()) {
        (Ok(_), Err(_)) => "a link to nothing",
        (Ok(_), Ok(_)) => "not a regular file (a FIFO, socket or device)",
        (Err(_), _) => missing,
    }
}

fn walk(dir: &Path, found: &mut Found) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return found.errors.push(format!("{}: {e}", dir.display())),
    };
    let mut entries: Vec<_> = entries
        .filter_map(|e| match e {
            Ok(e) => Some(e),
            Err(err) => {
                found.errors.push(format!("{}: {err}", dir.display()));
                None
            }
        })
        .collect();
    entries.sort_by_key(std::fs::DirEntry::path);
    for entry in entries {
        let path = entry.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // `file_type` does not follow links: a linked folder is skipped.
        let Ok(kind) = entry.file_type() else {
            found
                .errors
                .push(format!("{}: cannot stat", path.display()));
            continue;
        };
        if kind.is_dir() {
            if !SKIPPED_DIRS.contains(&name) {
                walk(&path, found);
            }
        } else if name.ends_with(".flow")
            && (kind.is_file() || (kind.is_symlink() && !path.is_dir()))
        {
            // A dangling link is kept: reading it reports the I/O error.
            found.files.push(path);
        }
    }
}
