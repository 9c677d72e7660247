//! Collecting an attempt's `outputs` into `artifacts/<stage>/`.
//!
//! # Theory of operation
//!
//! * **Look before opening.** Every match is examined with `lstat`
//!   (`symlink_metadata`), never followed or opened first: a FIFO named like
//!   an output would block an `open` forever, a device or socket has no
//!   content to copy. Only regular files are opened (`O_NOFOLLOW |
//!   O_NONBLOCK`, checked again with `fstat` on the open file), folders are
//!   walked, links are re-created as links.
//! * **One bad entry never drops the others.** A FIFO, socket or device, a
//!   dangling link, a link or folder that leads outside the stage directory,
//!   an unreadable match or a bad pattern is skipped and reported in
//!   [`Collected::skipped`]; everything else is collected. A *required*
//!   pattern left without a usable match is listed in
//!   [`Collected::missing`] (the caller fails the attempt); an *optional*
//!   one may match nothing.
//! * **Staged, then swapped.** Files are copied into a staging folder next
//!   to `artifacts/<stage>/`, `result.json` included, then the staging
//!   folder replaces the old one: `renameat2(RENAME_EXCHANGE)` where the
//!   kernel has it (one atomic step), else two renames. A consumer sees the
//!   previous attempt's folder whole or this attempt's whole, never a mix
//!   or a truncated file. A copy that fails (a full disk) is an
//!   [`ArtifactError`]: the staging folder and the old artifacts are
//!   removed, so no consumer reads an earlier attempt's files.
//! * **Linear.** Matches are de-duplicated with a hash set, each parent
//!   folder is resolved and created once, and a file is hard-linked into
//!   the staging folder where the file system allows (no data copied):
//!   20,000 outputs cost 20,000 `lstat`s and `link`s.
//! * **Stoppable.** The caller runs this on a blocking thread under a time
//!   bound; `stop` (checked before each entry) makes it give up, remove its
//!   staging folder and not touch `artifacts/<stage>/`.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The `outputs` of a stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutputSpec<'a> {
    /// Globs relative to the stage directory that must each match at least
    /// one usable entry.
    pub required: &'a [String],
    /// Globs that may match nothing.
    pub optional: &'a [String],
}

/// Collection could not be completed; nothing of this attempt was kept and
/// `artifacts/<stage>/` was removed.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// Reading or copying failed (e.g. `No space left on device`).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: io::Error,
    },
    /// The caller asked to stop (time bound, cancel).
    #[error("output collection was stopped")]
    Stopped,
}

/// One match that was not collected, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// The match (relative to the stage directory), or the pattern.
    pub path: String,
    /// Why, in words: `is a FIFO`, `is a dangling link` …
    pub why: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.path, self.why)
    }
}

/// What [`collect_outputs`] did.
#[derive(Debug, Default, PartialEq)]
pub struct Collected {
    /// Collected matches, relative to the stage directory, in pattern order.
    pub files: Vec<PathBuf>,
    /// Required patterns without a usable match.
    pub missing: Vec<String>,
    /// Matches (or patterns) that were skipped.
    pub skipped: Vec<Skipped>,
}

/// What a good match is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    File,
    Dir,
    Link,
}

/// Collects the `outputs` of the attempt that ran in `cwd` into `dest`
/// (`artifacts/<stage>/`), replacing what an earlier attempt left there,
/// through the staging folder `staging` (next to `dest`, unique to the
/// attempt). With `result` (already masked), also writes
/// `dest/result.json`. See the module docs.
///
/// # Errors
///
/// [`ArtifactError::Io`] when the stage directory cannot be read or a copy
/// or the swap fails; [`ArtifactError::Stopped`] when `stop` was set.
pub fn collect_outputs(
    cwd: &Path,
    outputs: OutputSpec<'_>,
    dest: &Path,
    staging: &Path,
    result: Option<&serde_json::Map<String, serde_json::Value>>,
    stop: &AtomicBool,
) -> Result<Collected, ArtifactError> {
    let mut collected = Collected::default();
    let plan = match find_matches(cwd, outputs, &mut collected, stop) {
        Ok(plan) => plan,
        Err(e) => {
            discard(dest, staging, false);
            return Err(e);
        }
    };
    let copied = stage_copies(cwd, &plan, staging, result, &mut collected, stop)
        .and_then(|()| check_stop(stop))
        .and_then(|()| swap_into_place(staging, dest).map_err(io_err("replacing the artifacts")));
    if let Err(e) = copied {
        discard(dest, staging, !matches!(e, ArtifactError::Stopped));
        return Err(e);
    }
    collected.files = plan.into_iter().map(|(rel, _)| rel).collect();
    Ok(collected)
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> ArtifactError {
    let context = context.into();
    move |source| ArtifactError::Io { context, source }
}

fn check_stop(stop: &AtomicBool) -> Result<(), ArtifactError> {
    if stop.load(Ordering::Relaxed) {
        Err(ArtifactError::Stopped)
    } else {
        Ok(())
    }
}

/// After a failure: the staging folder goes; with `drop_old`, so do the old
/// artifacts (they belong to an earlier attempt).
fn discard(dest: &Path, staging: &Path, drop_old: bool) {
    let _ = fs::remove_dir_all(staging);
    if drop_old {
        let _ = fs::remove_dir_all(dest);
    }
}

/// Resolves every pattern to good matches (relative paths, de-duplicated,
/// in pattern order), recording skipped entries and missing patterns.
fn find_matches(
    cwd: &Path,
    outputs: OutputSpec<'_>,
    collected: &mut Collected,
    stop: &AtomicBool,
) -> Result<Vec<(PathBuf, Kind)>, ArtifactError> {
    let root = cwd
        .canonicalize()
        .map_err(io_err(format!("reading {}", cwd.display())))?;
    let mut plan = Vec::new();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut inside = Inside::new(&root);
    let patterns = outputs
        .required
        .iter()
        .map(|p| (p, true))
        .chain(outputs.optional.iter().map(|p| (p, false)));
    for (pattern, required) in patterns {
        let mut good = 0usize;
        let rel = Path::new(pattern);
        if rel.is_absolute() || rel.components().any(|c| c == Component::ParentDir) {
            collected.skipped.push(Skipped {
                path: pattern.clone(),
                why: "is outside the stage directory".into(),
            });
        } else {
            let full = format!(
                "{}/{}",
                glob::Pattern::escape(&root.to_string_lossy()),
                pattern
            );
            match glob::glob(&full) {
                Err(e) => collected.skipped.push(Skipped {
                    path: pattern.clone(),
                    why: format!("is not a valid pattern: {}", e.msg),
                }),
                Ok(paths) => {
                    for entry in paths {
                        check_stop(stop)?;
                        let (path, found) = match entry {
                            Ok(path) => {
                                let found = classify(&path, &mut inside);
                                (path, found)
                            }
                            Err(e) => {
                                let why = format!("cannot be read: {}", e.error());
                                (e.path().to_path_buf(), Err(why))
                            }
                        };
                        let rel = path.strip_prefix(&root).unwrap_or(&path).to_path_buf();
                        match found {
                            Ok(kind) => {
                                good += 1;
                                if seen.insert(rel.clone()) {
                                    plan.push((rel, kind));
                                }
                            }
                            Err(why) => collected.skipped.push(Skipped {
                                path: rel.to_string_lossy().into_owned(),
                                why,
                            }),
                        }
                    }
                }
            }
        }
        if good == 0 && required {
            collected.missing.push(pattern.clone());
        }
    }
    // The same bad match found by two patterns is reported once.
    let mut reported = HashSet::new();
    collected
        .skipped
        .retain(|s| reported.insert((s.path.clone(), s.why.clone())));
    Ok(plan)
}

/// Tells whether folders resolve inside the stage directory, resolving
/// each folder once.
struct Inside<'a> {
    root: &'a Path,
    known: HashMap<PathBuf, bool>,
}

impl<'a> Inside<'a> {
    fn new(root: &'a Path) -> Self {
        Inside {
            root,
            known: HashMap::new(),
        }
    }

    /// `dir` (a folder path, possibly through links) resolves inside root.
    fn folder(&mut self, dir: &Path) -> bool {
        if let Some(&known) = self.known.get(dir) {
            return known;
        }
        let ok = dir
            .canonicalize()
            .is_ok_and(|real| real.starts_with(self.root));
        self.known.insert(dir.to_path_buf(), ok);
        ok
    }
}

/// What the match at `path` is, without opening it, or why it is skipped.
fn classify(path: &Path, inside: &mut Inside<'_>) -> Result<Kind, String> {
    let parent_ok = path.parent().is_none_or(|p| inside.folder(p));
    if !parent_ok {
        return Err("is outside the stage directory (through a linked folder)".into());
    }
    let meta = fs::symlink_metadata(path).map_err(|e| format!("cannot be read: {e}"))?;
    let ft = meta.file_type();
    if ft.is_file() {
        Ok(Kind::File)
    } else if ft.is_dir() {
        Ok(Kind::Dir)
    } else if ft.is_symlink() {
        match path.canonicalize() {
            Ok(real) if real.starts_with(inside.root) => Ok(Kind::Link),
            Ok(_) => Err("is a link to outside the stage directory".into()),
            Err(_) => Err("is a dangling link".into()),
        }
    } else {
        Err(format!("is {}, not a file", special_kind(&ft)))
    }
}

/// `a FIFO`, `a socket`, `a device`.
fn special_kind(ft: &fs::FileType) -> &'static str {
    if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "a device"
    } else {
        "a special file"
    }
}

/// Copies every planned match from `cwd` into a fresh `staging`, then
/// writes `result.json`. Entries inside collected folders that are not
/// files, folders or links are skipped and reported.
fn stage_copies(
    cwd: &Path,
    plan: &[(PathBuf, Kind)],
    staging: &Path,
    result: Option<&serde_json::Map<String, serde_json::Value>>,
    collected: &mut Collected,
    stop: &AtomicBool,
) -> Result<(), ArtifactError> {
    if fs::symlink_metadata(staging).is_ok() {
        fs::remove_dir_all(staging).map_err(io_err(format!("clearing {}", staging.display())))?;
    }
    fs::create_dir_all(staging).map_err(io_err(format!("creating {}", staging.display())))?;
    let mut made: HashSet<PathBuf> = HashSet::new();
    for (rel, kind) in plan {
        check_stop(stop)?;
        let to = staging.join(rel);
        if let Some(parent) = to.parent() {
            if made.insert(parent.to_path_buf()) {
                fs::create_dir_all(parent)
                    .map_err(io_err(format!("creating {}", parent.display())))?;
            }
        }
        let from = cwd.join(rel);
        let copied = match kind {
            Kind::File => copy_file(&from, &to).map(|copied| {
                let why = "is not a regular file any more".to_string();
                let path = rel.to_string_lossy().into_owned();
                (!copied)
                    .then_some(Skipped { path, why })
                    .into_iter()
                    .collect()
            }),
            Kind::Link => copy_link(&from, &to)
                .map(|()| Vec::new())
                .map_err(CopyError::Io),
            Kind::Dir => copy_dir(&from, &to, rel, stop),
        };
        let skipped = copied.map_err(|e| match e {
            CopyError::Io(e) => ArtifactError::Io {
                context: format!("copying {}", rel.display()),
                source: e,
            },
            CopyError::Stopped => ArtifactError::Stopped,
        })?;
        collected.skipped.extend(skipped);
    }
    if let Some(obj) = result {
        let text = serde_json::to_vec_pretty(obj).map_err(|e| ArtifactError::Io {
            context: "writing result.json".into(),
            source: io::Error::other(e),
        })?;
        fs::write(staging.join("result.json"), text).map_err(io_err("writing result.json"))?;
    }
    Ok(())
}

enum CopyError {
    Io(io::Error),
    Stopped,
}

impl From<io::Error> for CopyError {
    fn from(e: io::Error) -> Self {
        CopyError::Io(e)
    }
}

/// Puts regular file `from` at `to`; false when it turned out not to be
/// one (replaced since it was examined).
///
/// A hard link where the file system allows (the stage directory and the
/// artifacts are in the same run directory): one system call, no data
/// written, so nothing can be truncated. The attempt's processes are gone,
/// and consumers get copies, so the shared inode is never written again.
/// Else a copy (permission bits included) that never blocks on a FIFO:
/// `O_NONBLOCK` opens it at once, `fstat` rejects it.
fn copy_file(from: &Path, to: &Path) -> Result<bool, CopyError> {
    match fs::hard_link(from, to) {
        // The attempt's process group is gone, so nothing swaps the file
        // for a FIFO since it was examined; should an escaped process do
        // it anyway, `prepare_attempt_dir` never opens one either.
        Ok(()) => return Ok(true),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(nix::libc::ENOSPC | nix::libc::EDQUOT)
            ) =>
        {
            return Err(e.into())
        }
        // EXDEV (another file system), EPERM, EMLINK …: copy instead.
        Err(_) => {}
    }
    let mut src = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(from)?;
    let meta = src.metadata()?;
    if !meta.is_file() {
        return Ok(false);
    }
    let mut dst = File::create(to)?;
    io::copy(&mut src, &mut dst)?;
    dst.set_permissions(meta.permissions())?;
    Ok(true)
}

fn copy_link(from: &Path, to: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(fs::read_link(from)?, to)
}

/// Copies folder `from` (the match `rel`) into `to`: files, folders and
/// links; anything else inside is skipped and returned.
fn copy_dir(
    from: &Path,
    to: &Path,
    rel: &Path,
    stop: &AtomicBool,
) -> Result<Vec<Skipped>, CopyError> {
    let mut skipped = Vec::new();
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        if stop.load(Ordering::Relaxed) {
            return Err(CopyError::Stopped);
        }
        let entry = entry?;
        let ft = entry.file_type()?;
        let (src, dst, rel) = (
            entry.path(),
            to.join(entry.file_name()),
            rel.join(entry.file_name()),
        );
        if ft.is_dir() {
            skipped.extend(copy_dir(&src, &dst, &rel, stop)?);
        } else if ft.is_symlink() {
            copy_link(&src, &dst)?;
        } else if ft.is_file() {
            if !copy_file(&src, &dst)? {
                skipped.push(Skipped {
                    path: rel.to_string_lossy().into_owned(),
                    why: "is not a regular file any more".into(),
                });
            }
        } else {
            skipped.push(Skipped {
                path: rel.to_string_lossy().into_owned(),
                why: format!("is {}, not a file", special_kind(&ft)),
            });
        }
    }
    Ok(skipped)
}

/// Puts `staging` in the place of `dest`. With an existing `dest`, the two
/// are exchanged atomically where the kernel can (`RENAME_EXCHANGE`), else
/// `dest` is moved aside first; the old folder is then removed.
fn swap_into_place(staging: &Path, dest: &Path) -> io::Result<()> {
    if fs::symlink_metadata(dest).is_err() {
        return fs::rename(staging, dest);
    }
    if exchange(staging, dest).is_ok() {
        // `staging` now holds the old artifacts.
        let _ = fs::remove_dir_all(staging);
        return Ok(());
    }
    let mut old = staging.as_os_str().to_owned();
    old.push(".old");
    let old = PathBuf::from(old);
    let _ = fs::remove_dir_all(&old);
    fs::rename(dest, &old)?;
    fs::rename(staging, dest)?;
    let _ = fs::remove_dir_all(&old);
    Ok(())
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn exchange(a: &Path, b: &Path) -> nix::Result<()> {
    use nix::fcntl::{renameat2, RenameFlags, AT_FDCWD};
    renameat2(AT_FDCWD, a, AT_FDCWD, b, RenameFlags::RENAME_EXCHANGE)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn exchange(_a: &Path, _b: &Path) -> nix::Result<()> {
    Err(nix::errno::Errno::ENOSYS)
}

#[cfg(test)]
mod tests;
