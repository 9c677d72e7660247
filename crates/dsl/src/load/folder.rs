//! Libraries that are folders on disk: `use "path" as name`.

use super::{parse_library_file, LoadedLibrary, ParseFn};
use crate::ast::Spanned;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::{SourceId, SourceMap};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Loads the folder `path` (relative to `base_dir`) as library `alias`:
/// every `*.flow` file directly in it, and the names of `skills/*.md`.
/// `None` (with a [`Code::Import`] diagnostic on the path) when the folder
/// cannot be read.
pub(super) fn load(
    alias: &str,
    path: &Spanned<String>,
    main: SourceId,
    base_dir: &Path,
    sources: &mut SourceMap,
    diagnostics: &mut Vec<Diagnostic>,
    parse: ParseFn,
) -> Option<LoadedLibrary> {
    let dir = base_dir.join(&path.node);
    let import_error = |why: String| {
        Diagnostic::new(
            Code::Import,
            main,
            path.span,
            format!(
                "cannot load library `{alias}` from `{}`: {why}",
                shown(&dir)
            ),
        )
        .label("this folder")
        .help("give the path of a folder holding *.flow template files, relative to this file")
    };
    let flow_files = match flow_files(&dir) {
        Ok(files) => files,
        Err(e) => {
            diagnostics.push(import_error(e.to_string()));
            return None;
        }
    };
    let mut templates = Vec::new();
    for file in flow_files {
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                let name = shown(&file);
                templates.extend(parse_library_file(
                    &name,
                    &text,
                    sources,
                    diagnostics,
                    parse,
                ));
            }
            Err(e) => {
                diagnostics.push(import_error(format!("cannot read `{}`: {e}", shown(&file))))
            }
        }
    }
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let skills = skills(&dir.join("skills"), sources);
    Some(LoadedLibrary {
        name: alias.to_string(),
        dir: Some(dir),
        files: BTreeMap::new(),
        templates,
        skills,
    })
}

/// The `*.flow` files directly in `dir`, sorted (so diagnostics come in a
/// stable order).
fn flow_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "flow") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Every `NAME.md` file in `dir` (none when it does not exist), read into
/// `sources` (lossily: a skill is prose): `NAME` → its id. Only regular
/// files are opened (a FIFO would block), in name order.
pub(super) fn skills(dir: &Path, sources: &mut SourceMap) -> BTreeMap<String, SourceId> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()))
        .collect();
    paths.sort();
    let mut skills = BTreeMap::new();
    for path in paths {
        let (Some(stem), Ok(bytes)) = (path.file_stem(), std::fs::read(&path)) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let id = sources.add(shown(&path), text.as_ref());
        skills.insert(stem.to_string_lossy().into_owned(), id);
    }
    skills
}

/// The `#` comment lines of a skill's front matter (between a first line
/// `---` and the next `---`): their text from the `#` to the end of the
/// line, without a `\r`.
pub(super) fn front_matter_comments(text: &str) -> Vec<Spanned<String>> {
    let mut found = Vec::new();
    let mut at = 0;
    for (n, raw) in text.split_inclusive('\n').enumerate() {
        let line = raw.trim_end_matches('\n').trim_end_matches('\r');
        let start = at;
        at += raw.len();
        if n == 0 {
            if line != "---" {
                break;
            }
            continue;
        }
        if line == "---" {
            break;
        }
        let blanks = line.len() - line.trim_start().len();
        if line.trim_start().starts_with('#') {
            let span = crate::span::Span::new(start + blanks, start + line.len());
            found.push(Spanned::new(line[blanks..].to_string(), span));
        }
    }
    found
}

/// How a library path is shown in diagnostics: lexically normalised (no
/// `.`, `a/..` folded) and relative to the current folder when it is below
/// it, so reports and snapshots do not depend on where the project lives.
pub(super) fn shown(path: &Path) -> String {
    let mut clean = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(clean.components().next_back(), Some(Component::Normal(_))) =>
            {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    let cwd = std::env::current_dir()
        .ok()
        .and_then(|d| std::fs::canonicalize(d).ok());
    match cwd.as_deref().and_then(|d| clean.strip_prefix(d).ok()) {
        Some(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => clean.display().to_string(),
    }
}

#[cfg(test)]
mod shown_tests {
    use super::shown;
    use std::path::Path;

    #[test]
    fn paths_are_normalised_and_relative_to_the_current_folder() {
        let cwd = std::fs::canonicalize(std::env::current_dir().unwrap()).unwrap();
        assert_eq!(shown(&cwd.join("./lib/../lib/x.flow")), "lib/x.flow");
        assert_eq!(shown(Path::new("/elsewhere/./a/../b")), "/elsewhere/b");
    }
}
