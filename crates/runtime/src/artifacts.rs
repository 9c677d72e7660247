//! Files moving between stages: preparing an attempt's directory with its
//! needs' artifacts, collecting `outputs` after each attempt, and writing
//! embedded libraries to disk.
//!
//! Copies keep relative paths and the executable bit; symbolic links are
//! re-created as links (never followed), so an output cannot smuggle in the
//! contents of a file outside its stage directory.

use flow_dsl::ir::Library;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// An output glob could not be collected.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The pattern is not a valid glob.
    #[error("bad output pattern `{pattern}`: {message}")]
    BadPattern {
        /// The pattern.
        pattern: String,
        /// Why.
        message: String,
    },
    /// A match resolves outside the stage directory (`..`, a symlink).
    #[error("output `{path}` is outside the stage directory")]
    Escapes {
        /// The offending match.
        path: PathBuf,
    },
    /// Reading or copying failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: io::Error,
    },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> ArtifactError {
    let context = context.into();
    move |source| ArtifactError::Io { context, source }
}

/// What [`collect_outputs`] did.
#[derive(Debug, Default, PartialEq)]
pub struct Collected {
    /// Collected paths, relative to the stage directory.
    pub files: Vec<PathBuf>,
    /// Patterns that matched nothing (not an error: a failed attempt may not
    /// have produced them).
    pub unmatched: Vec<String>,
}

/// Creates the fresh working directory `dir` of an attempt (removing any
/// leftover) and copies into it the collected artifacts of each need found
/// in `need_dirs` (`artifacts/<need>/`; a need that never ran has none).
pub fn prepare_attempt_dir(dir: &Path, need_dirs: &[PathBuf]) -> io::Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    fs::create_dir_all(dir)?;
    for need in need_dirs {
        if need.is_dir() {
            copy_tree(need, dir)?;
        }
    }
    Ok(())
}

/// Collects the files matching `patterns` (globs relative to `cwd`) into
/// `dest`, replacing what an earlier attempt left there. A directory match
/// is copied whole. Every match is checked to resolve inside `cwd`.
/// With `result`, also writes `dest/result.json`.
pub fn collect_outputs(
    cwd: &Path,
    patterns: &[String],
    dest: &Path,
    result: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Result<Collected, ArtifactError> {
    let root = cwd
        .canonicalize()
        .map_err(io_err(format!("reading {}", cwd.display())))?;
    // Resolve everything first so an escaping match copies nothing at all.
    let mut matches: Vec<PathBuf> = Vec::new();
    let mut collected = Collected::default();
    for pattern in patterns {
        let rel = Path::new(pattern);
        if rel.is_absolute() || rel.components().any(|c| c == Component::ParentDir) {
            return Err(ArtifactError::Escapes {
                path: rel.to_path_buf(),
            });
        }
        let full = format!(
            "{}/{}",
            glob::Pattern::escape(&root.to_string_lossy()),
            pattern
        );
        let paths = glob::glob(&full).map_err(|e| ArtifactError::BadPattern {
            pattern: pattern.clone(),
            message: e.msg.to_string(),
        })?;
        let before = matches.len();
        for entry in paths {
            let path = entry.map_err(|e| ArtifactError::Io {
                context: format!("matching `{pattern}`"),
                source: io::Error::other(e.to_string()),
            })?;
            let real = path
                .canonicalize()
                .map_err(io_err(format!("reading {}", path.display())))?;
            if !real.starts_with(&root) {
                return Err(ArtifactError::Escapes {
                    path: path.strip_prefix(&root).unwrap_or(&path).to_path_buf(),
                });
            }
            let rel = path.strip_prefix(&root).unwrap_or(&path).to_path_buf();
            if !matches.contains(&rel) {
                matches.push(rel);
            }
        }
        if matches.len() == before {
            collected.unmatched.push(pattern.clone());
        }
    }
    if dest.exists() {
        fs::remove_dir_all(dest).map_err(io_err(format!("clearing {}", dest.display())))?;
    }
    fs::create_dir_all(dest).map_err(io_err(format!("creating {}", dest.display())))?;
    for rel in matches {
        let from = root.join(&rel);
        let to = dest.join(&rel);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(io_err(format!("creating {}", parent.display())))?;
        }
        copy_entry(&from, &to).map_err(io_err(format!("copying {}", rel.display())))?;
        collected.files.push(rel);
    }
    if let Some(obj) = result {
        let text = serde_json::to_vec_pretty(obj).map_err(|e| ArtifactError::Io {
            context: "writing result.json".into(),
            source: io::Error::other(e),
        })?;
        fs::write(dest.join("result.json"), text).map_err(io_err("writing result.json"))?;
    }
    Ok(collected)
}

/// Writes an embedded library's files under `dir` (files under `bin/` made
/// executable) and returns `dir`; a library that lives on disk is used
/// where it is.
pub fn materialise_library(lib: &Library, dir: &Path) -> io::Result<PathBuf> {
    if let Some(on_disk) = &lib.dir {
        return Ok(on_disk.clone());
    }
    fs::create_dir_all(dir)?;
    for (rel, bytes) in &lib.files {
        let rel_path = Path::new(rel);
        if rel_path.is_absolute() || rel_path.components().any(|c| c == Component::ParentDir) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "library `{}` has a file outside its folder: {rel}",
                    lib.name
                ),
            ));
        }
        let path = dir.join(rel_path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, bytes)?;
        if rel_path.starts_with("bin") {
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755))?;
        }
    }
    Ok(dir.to_path_buf())
}

/// Copies the contents of `from` into `to` (merging into existing folders).
pub fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        copy_entry(&entry.path(), &to.join(entry.file_name()))?;
    }
    Ok(())
}

/// Copies one file, link or folder (recursively). A link already at `to`
/// (left by an earlier need) is replaced, never written or merged through:
/// that would change files outside the attempt's directory.
fn copy_entry(from: &Path, to: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(from)?;
    let existing = fs::symlink_metadata(to).ok();
    let replace = if meta.file_type().is_symlink() {
        existing.is_some()
    } else {
        existing.is_some_and(|m| m.file_type().is_symlink())
    };
    if replace {
        fs::remove_file(to)?;
    }
    if meta.file_type().is_symlink() {
        std::os::unix::fs::symlink(fs::read_link(from)?, to)
    } else if meta.is_dir() {
        copy_tree(from, to)
    } else {
        // fs::copy keeps the permission bits (the executable bit included).
        fs::copy(from, to).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn write(p: &Path, text: &str) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    #[test]
    fn collects_globs_and_directories_replacing_old_artifacts() {
        let tmp = tempfile::tempdir().unwrap();
        let cwd = tmp.path().join("cwd");
        let dest = tmp.path().join("artifacts/st");
        write(&cwd.join("PLAN.md"), "plan");
        write(&cwd.join("a.txt"), "a");
        write(&cwd.join("b.txt"), "b");
        write(&cwd.join("out/deep/x.bin"), "x");
        write(&dest.join("stale.txt"), "old");
        let pats = vec![
            "PLAN.md".to_string(),
            "*.txt".into(),
            "out".into(),
            "missing.md".into(),
        ];
        let c = collect_outputs(&cwd, &pats, &dest, None).unwrap();
        assert_eq!(c.unmatched, vec!["missing.md".to_string()]);
        assert_eq!(fs::read_to_string(dest.join("PLAN.md")).unwrap(), "plan");
        assert_eq!(fs::read_to_string(dest.join("b.txt")).unwrap(), "b");
        assert_eq!(
            fs::read_to_string(dest.join("out/deep/x.bin")).unwrap(),
            "x"
        );
        assert!(!dest.join("stale.txt").exists(), "latest attempt wins");
    }

    #[test]
    fn refuses_outputs_outside_the_stage_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let cwd = tmp.path().join("cwd");
        write(&tmp.path().join("secret.txt"), "s");
        write(&cwd.join("ok.txt"), "ok");
        std::os::unix::fs::symlink(tmp.path().join("secret.txt"), cwd.join("link.txt")).unwrap();
        let dest = tmp.path().join("dest");
        for pat in ["../secret.txt", "/etc/passwd", "link.txt", "*.txt"] {
            let err = collect_outputs(&cwd, &[pat.to_string()], &dest, None).unwrap_err();
            assert!(matches!(err, ArtifactError::Escapes { .. }), "{pat}: {err}");
        }
    }

    #[test]
    fn writes_result_json() {
        let tmp = tempfile::tempdir().unwrap();
        let cwd = tmp.path().join("cwd");
        fs::create_dir_all(&cwd).unwrap();
        let dest = tmp.path().join("dest");
        let obj = serde_json::json!({"status": "DONE"})
            .as_object()
            .unwrap()
            .clone();
        collect_outputs(&cwd, &[], &dest, Some(&obj)).unwrap();
        let back: serde_json::Value =
            serde_json::from_slice(&fs::read(dest.join("result.json")).unwrap()).unwrap();
        assert_eq!(back["status"], "DONE");
    }

    #[test]
    fn prepares_fresh_dir_with_needs() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("artifacts/a");
        write(&a.join("issue.md"), "issue");
        write(&a.join("sub/f"), "f");
        let dir = tmp.path().join("stages/b/1.1");
        write(&dir.join("leftover"), "x");
        prepare_attempt_dir(&dir, &[a, tmp.path().join("artifacts/never-ran")]).unwrap();
        assert_eq!(fs::read_to_string(dir.join("issue.md")).unwrap(), "issue");
        assert_eq!(fs::read_to_string(dir.join("sub/f")).unwrap(), "f");
        assert!(!dir.join("leftover").exists());
    }

    /// A later need's file replaces an earlier need's link of the same name;
    /// it is never written through the link (here: to a file outside).
    #[test]
    fn merging_needs_replaces_links_instead_of_writing_through_them() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside.txt");
        write(&outside, "untouched");
        let a = tmp.path().join("artifacts/a");
        fs::create_dir_all(a.join("d")).unwrap();
        std::os::unix::fs::symlink(&outside, a.join("d/f")).unwrap();
        std::os::unix::fs::symlink(tmp.path(), a.join("e")).unwrap();
        let b = tmp.path().join("artifacts/b");
        write(&b.join("d/f"), "from b");
        write(&b.join("e/g"), "from b");
        let dir = tmp.path().join("stages/c/1.1");
        prepare_attempt_dir(&dir, &[a, b]).unwrap();
        assert_eq!(fs::read_to_string(&outside).unwrap(), "untouched");
        assert!(!tmp.path().join("g").exists());
        assert_eq!(fs::read_to_string(dir.join("d/f")).unwrap(), "from b");
        assert!(fs::symlink_metadata(dir.join("e")).unwrap().is_dir());
        assert_eq!(fs::read_to_string(dir.join("e/g")).unwrap(), "from b");
    }

    #[test]
    fn materialises_embedded_library() {
        let tmp = tempfile::tempdir().unwrap();
        let mut files = BTreeMap::new();
        files.insert("bin/tool".to_string(), b"#!/bin/sh\necho hi\n".to_vec());
        files.insert("skills/plan.md".to_string(), b"# plan".to_vec());
        let lib = Library {
            name: "std".into(),
            dir: None,
            files,
        };
        let dir = materialise_library(&lib, &tmp.path().join("lib/std")).unwrap();
        let mode = fs::metadata(dir.join("bin/tool"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111);
        assert_eq!(
            fs::read_to_string(dir.join("skills/plan.md")).unwrap(),
            "# plan"
        );
        let on_disk = Library {
            name: "x".into(),
            dir: Some("/some/where".into()),
            files: BTreeMap::new(),
        };
        assert_eq!(
            materialise_library(&on_disk, tmp.path()).unwrap(),
            PathBuf::from("/some/where")
        );
    }
}
