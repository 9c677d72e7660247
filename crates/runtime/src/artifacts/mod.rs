//! Files moving between stages: preparing an attempt's directory with its
//! needs' artifacts, collecting `outputs` after each attempt ([`collect`]),
//! and writing embedded libraries to disk.
//!
//! Copies keep relative paths and the executable bit; symbolic links are
//! re-created as links (never followed), so an output cannot smuggle in the
//! contents of a file outside its stage directory.

mod collect;

pub use collect::{collect_outputs, ArtifactError, Collected, OutputSpec, Skipped};

use flow_dsl::ir::Library;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// Creates the fresh working directory `dir` of an attempt (removing any
/// leftover) and copies into it the collected artifacts of each need found
/// in `need_dirs` (`artifacts/<need>/`; a need that never ran has none).
pub fn prepare_attempt_dir(dir: &Path, need_dirs: &[PathBuf]) -> io::Result<()> {
    // `mkdir` first: the usual case (a new folder) is one system call.
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir_all(dir)?,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            fs::remove_dir_all(dir)?;
            fs::create_dir(dir)?;
        }
        Err(e) => return Err(e),
    }
    for need in need_dirs {
        if need.is_dir() {
            copy_tree(need, dir)?;
        }
    }
    Ok(())
}

/// Folders of ended attempts that were left empty, handed to later
/// attempts of the run by renaming.
///
/// Why: an attempt's fresh folder is a new directory, and on some file
/// systems a directory is the dearest thing a short stage makes (ext4
/// without a journal, mounted with `discard`: about 0.1 ms to make and as
/// much to remove, against 10 µs for an empty file). An empty folder holds
/// nothing to keep, so a later attempt takes it over under its own name: it
/// is as fresh (empty, new name) and costs a rename. So `stages/` keeps the
/// folders of attempts that left files, plus at most a few empty ones.
#[derive(Debug, Default)]
pub struct SpareFolders {
    spares: std::sync::Mutex<Vec<PathBuf>>,
}

/// Spare folders kept at most (more are left where they are).
const MAX_SPARES: usize = 8;

impl SpareFolders {
    /// Makes `dir`, an attempt's fresh, empty working folder: a spare one
    /// renamed, else as [`prepare_attempt_dir`] does.
    ///
    /// # Errors
    /// The folder cannot be made.
    pub fn prepare(&self, dir: &Path) -> io::Result<()> {
        let spare = self.lock().pop();
        if let Some(spare) = spare {
            if fs::rename(&spare, dir).is_ok() {
                if is_empty_folder(dir) {
                    return Ok(());
                }
                // Something wrote into it since it was offered (a process
                // that escaped its attempt): give it back its name.
                let _ = fs::rename(dir, &spare);
            }
        }
        prepare_attempt_dir(dir, &[])
    }

    /// Offers the folder of an attempt that has ended (its processes gone,
    /// its outputs collected): kept for a later attempt if it is empty.
    pub fn offer(&self, dir: &Path) {
        if self.lock().len() < MAX_SPARES && is_empty_folder(dir) {
            self.lock().push(dir.to_path_buf());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PathBuf>> {
        self.spares.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Whether `dir` is a folder (not a link to one) with nothing in it.
fn is_empty_folder(dir: &Path) -> bool {
    fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir())
        && fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none())
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
    } else if meta.is_file() {
        // fs::copy keeps the permission bits (the executable bit included).
        fs::copy(from, to).map(|_| ())
    } else {
        // A FIFO, socket or device: opening it could block forever, and
        // collection never puts one there; skip it.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_folder_is_renamed_for_the_next_attempt_and_a_used_one_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let stages = dir.path().join("stages");
        let spares = SpareFolders::default();
        let first = stages.join("a.1.1");
        spares.prepare(&first).unwrap();
        spares.offer(&first);
        let second = stages.join("b.1.1");
        spares.prepare(&second).unwrap();
        assert!(second.is_dir() && !first.exists(), "renamed");
        // A folder with a file is never offered.
        fs::write(second.join("out.txt"), "x").unwrap();
        spares.offer(&second);
        let third = stages.join("c.1.1");
        spares.prepare(&third).unwrap();
        assert!(second.join("out.txt").exists() && third.is_dir());
        assert!(is_empty_folder(&third));
    }

    /// A stage that swapped its folder for a link (to another folder)
    /// does not get that link handed to the next attempt.
    #[test]
    fn a_folder_replaced_by_a_link_is_not_offered() {
        let dir = tempfile::tempdir().unwrap();
        let stages = dir.path().join("stages");
        let spares = SpareFolders::default();
        let first = stages.join("a.1.1");
        spares.prepare(&first).unwrap();
        fs::remove_dir(&first).unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, &first).unwrap();
        spares.offer(&first);
        let second = stages.join("b.1.1");
        spares.prepare(&second).unwrap();
        assert!(fs::symlink_metadata(&first)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(!fs::symlink_metadata(&second)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn a_spare_written_into_after_it_was_offered_is_given_back() {
        let dir = tempfile::tempdir().unwrap();
        let stages = dir.path().join("stages");
        let spares = SpareFolders::default();
        let first = stages.join("a.1.1");
        spares.prepare(&first).unwrap();
        spares.offer(&first);
        // A process that escaped attempt a.1.1 writes there afterwards.
        fs::write(first.join("late.txt"), "x").unwrap();
        let second = stages.join("b.1.1");
        spares.prepare(&second).unwrap();
        assert!(first.join("late.txt").exists(), "given back its name");
        assert!(
            is_empty_folder(&second),
            "the new attempt's folder is fresh"
        );
    }
    use std::collections::BTreeMap;

    fn write(p: &Path, text: &str) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
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

    /// A FIFO in a need's artifacts (it cannot come from collection) is
    /// skipped, never opened: preparing must not block.
    #[test]
    fn a_fifo_among_needs_artifacts_is_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("artifacts/a");
        write(&a.join("f.txt"), "f");
        nix::unistd::mkfifo(&a.join("pipe"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        let dir = tmp.path().join("stages/b/1.1");
        prepare_attempt_dir(&dir, &[a]).unwrap();
        assert_eq!(fs::read_to_string(dir.join("f.txt")).unwrap(), "f");
        assert!(fs::symlink_metadata(dir.join("pipe")).is_err());
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
