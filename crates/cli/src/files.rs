//! Expanding the paths given to `flow check` into `.flow` files.

use std::path::{Path, PathBuf};

/// Folders never searched for `.flow` files.
const SKIPPED_DIRS: &[&str] = &[".git", ".flow", "target", "node_modules", ".bench"];

/// Every `.flow` file named by `paths`: files as given, folders searched
/// recursively (sorted, skipping [`SKIPPED_DIRS`]).
///
/// Errors: a path that does not exist or a folder that cannot be read, with
/// the path in the message.
pub fn flow_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(format!("{}: no such file or folder", p.display()));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if !SKIPPED_DIRS.contains(&name) {
                walk(&path, out)?;
            }
        } else if name.ends_with(".flow") {
            out.push(path);
        }
    }
    Ok(())
}
