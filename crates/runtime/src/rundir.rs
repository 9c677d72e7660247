//! The run directory: run id, nonce and the on-disk layout of one run.
//!
//! ```text
//! <base>/runs/<run-id>/            base is `.flow` under the current directory by default
//!   journal.jsonl                  append-only event log (see `journal`)
//!   logs/<stage>.<visit>.<attempt>.log   raw stdout+stderr of one attempt (secrets masked)
//!   stages/<stage>.<visit>.<attempt>/    the attempt's fresh working directory
//!   artifacts/<stage>/             outputs collected after each attempt (latest wins)
//!   workspace/                     $FLOW_WORKSPACE, shared by every stage
//!   lib/<name>/                    materialised embedded libraries ($FLOW_LIB)
//! ```
//!
//! A run id is `YYYYMMDDTHHMMSSZ-<nonce>` (UTC), so ids sort by start time.

use rand::Rng;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Alphabet of the nonce: lowercase letters and digits (safe in branch names).
const NONCE_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Length of the nonce.
pub const NONCE_LEN: usize = 6;

/// The directory of one run and the paths inside it.
#[derive(Debug, Clone)]
pub struct RunDir {
    /// `20261121T025300Z-k3x9q2`.
    pub id: String,
    /// The random part of the id (`k3x9q2`).
    pub nonce: String,
    /// Absolute path of `<base>/runs/<id>`.
    pub root: PathBuf,
}

/// `<root>/logs/<stage>.<visit>.<attempt>.log`: the output of one attempt
/// of the run whose directory is `root`. It is created when the attempt
/// first writes: an attempt that printed nothing has none.
pub fn log_file(root: &Path, stage: &str, visit: u32, attempt: u32) -> PathBuf {
    root.join("logs")
        .join(format!("{stage}.{visit}.{attempt}.log"))
}

/// `<root>/logs/<stage>.<visit>.<attempt>.usage.json`: where an attempt
/// may report its usage as it grows (`$FLOW_USAGE_FILE`; see
/// [`crate::usage::Usage::read_file`]). Beside the log, not in the
/// attempt's folder, so that no output glob collects it.
pub fn usage_file(root: &Path, stage: &str, visit: u32, attempt: u32) -> PathBuf {
    root.join("logs")
        .join(format!("{stage}.{visit}.{attempt}.usage.json"))
}

/// `<root>/approvals/<stage>.json`: the decision `flow approve` wrote for
/// the approval stage `stage` of the run in `root`, waiting to be read
/// (`{"decision": WORD, "message": TEXT, "by": USER}`). Once read, it is
/// renamed `<stage>.<visit>.<attempt>.json`.
pub fn decision_file(root: &Path, stage: &str) -> PathBuf {
    root.join("approvals").join(format!("{stage}.json"))
}

impl RunDir {
    /// Creates a fresh run directory under `<base>/runs/` with its fixed
    /// sub-folders (`logs`, `stages`, `artifacts`, `workspace`, `lib`).
    /// `base` is made absolute against the current directory so paths handed
    /// to scripts stay valid after they `cd`.
    pub fn create(base: &Path) -> io::Result<RunDir> {
        let base = absolute(base)?;
        let runs = base.join("runs");
        std::fs::create_dir_all(&runs)?;
        ignore_in_git(&base)?;
        // A clash needs the same second and the same 6-char nonce; retry anyway.
        for _ in 0..16 {
            let nonce = new_nonce();
            let id = format!("{}-{}", compact_utc(SystemTime::now()), nonce);
            let root = runs.join(&id);
            match std::fs::create_dir(&root) {
                Ok(()) => {
                    let dir = RunDir { id, nonce, root };
                    for sub in ["logs", "stages", "artifacts", "workspace", "lib"] {
                        std::fs::create_dir_all(dir.root.join(sub))?;
                    }
                    return Ok(dir);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "could not pick a unique run id",
        ))
    }

    /// The existing directory of run `id` under `<base>/runs/` (a
    /// submission made it, see `store::submission`), completed with the
    /// fixed sub-folders. `base` is made absolute as in [`RunDir::create`].
    ///
    /// # Errors
    /// `NotFound` when there is no such directory; `InvalidInput` for an id
    /// that is not a run id.
    pub fn adopt(base: &Path, id: &str) -> io::Result<RunDir> {
        let nonce = match id.split_once('-') {
            Some((stamp, nonce))
                if stamp.len() == 16
                    && nonce.len() == NONCE_LEN
                    && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
            {
                nonce.to_string()
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("`{id}` is not a run id"),
                ))
            }
        };
        let root = absolute(base)?.join("runs").join(id);
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} does not exist", root.display()),
            ));
        }
        let dir = RunDir {
            id: id.to_string(),
            nonce,
            root,
        };
        for sub in ["logs", "stages", "artifacts", "workspace", "lib"] {
            std::fs::create_dir_all(dir.root.join(sub))?;
        }
        Ok(dir)
    }

    /// `journal.jsonl`.
    pub fn journal(&self) -> PathBuf {
        self.root.join("journal.jsonl")
    }

    /// `approvals/<stage>.json`: a decision for the approval stage `stage`
    /// (see [`decision_file`]).
    pub fn decision(&self, stage: &str) -> PathBuf {
        decision_file(&self.root, stage)
    }

    /// `logs/<stage>.<visit>.<attempt>.log` (see [`log_file`]).
    pub fn log(&self, stage: &str, visit: u32, attempt: u32) -> PathBuf {
        log_file(&self.root, stage, visit, attempt)
    }

    /// `stages/<stage>.<visit>.<attempt>/`, the attempt's working
    /// directory (named like its log; one folder, not two, because
    /// creating a folder is a large part of what an attempt costs).
    pub fn attempt_dir(&self, stage: &str, visit: u32, attempt: u32) -> PathBuf {
        self.root
            .join("stages")
            .join(format!("{stage}.{visit}.{attempt}"))
    }

    /// `artifacts/<stage>/`.
    pub fn artifacts(&self, stage: &str) -> PathBuf {
        self.root.join("artifacts").join(stage)
    }

    /// `workspace/` (`$FLOW_WORKSPACE`).
    pub fn workspace(&self) -> PathBuf {
        self.root.join("workspace")
    }

    /// `lib/<name>/`.
    pub fn lib(&self, name: &str) -> PathBuf {
        self.root.join("lib").join(name)
    }

    /// `scripts/<stage>`: the stage's script, run as `SHELL… FILE`.
    pub fn script(&self, stage: &str) -> PathBuf {
        self.root.join("scripts").join(stage)
    }
}

/// Contents of `<base>/.gitignore`: everything under the base is run output.
pub const GITIGNORE: &str = "# Created by flow: runs are not source.\n*\n";

/// Writes `<base>/.gitignore` (ignoring everything, itself included) unless
/// the base already has one, so `.flow/` never shows up as untracked in the
/// user's repository (as pytest does for `.pytest_cache`). An existing file
/// is the user's and is left alone.
fn ignore_in_git(base: &Path) -> io::Result<()> {
    let path = base.join(".gitignore");
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(mut f) => f.write_all(GITIGNORE.as_bytes()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The default base directory: `.flow` under the current directory.
pub fn default_base() -> PathBuf {
    PathBuf::from(".flow")
}

/// A fresh nonce: [`NONCE_LEN`] random characters of `[a-z0-9]`.
pub fn new_nonce() -> String {
    let mut rng = rand::rng();
    (0..NONCE_LEN)
        .map(|_| NONCE_ALPHABET[rng.random_range(0..NONCE_ALPHABET.len())] as char)
        .collect()
}

fn absolute(p: &Path) -> io::Result<PathBuf> {
    if p.is_absolute() {
        Ok(p.to_path_buf())
    } else {
        Ok(std::env::current_dir()?.join(p))
    }
}

/// `20261121T025300Z` (the run-id prefix): [`rfc3339`] without separators
/// or fraction.
pub fn compact_utc(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(in_range(t))
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect()
}

/// `2026-11-21T02:53:00.123Z` (RFC 3339, UTC, milliseconds).
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(in_range(t)).to_string()
}

/// `t` clamped to what humantime formats (1970 to the end of 9999; it
/// panics outside), so a clock set far off cannot crash a run.
fn in_range(t: SystemTime) -> SystemTime {
    let last = UNIX_EPOCH + Duration::from_millis(253_402_300_799_999);
    t.clamp(UNIX_EPOCH, last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_229_580_123); // 2026-11-21T02:53:00.123Z
        assert_eq!(compact_utc(t), "20261121T025300Z");
        assert_eq!(rfc3339(t), "2026-11-21T02:53:00.123Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // A leap day.
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29T00:00:00Z
        assert_eq!(compact_utc(t), "20000229T000000Z");
        // Out of humantime's range: clamped, not a panic.
        let before = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(rfc3339(before), "1970-01-01T00:00:00.000Z");
        let far = UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert_eq!(compact_utc(far), "99991231T235959Z");
    }

    #[test]
    fn nonce_is_six_lowercase_alnum() {
        for _ in 0..100 {
            let n = new_nonce();
            assert_eq!(n.len(), NONCE_LEN);
            assert!(
                n.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
                "{n}"
            );
        }
    }

    #[test]
    fn creates_layout_with_sortable_id() {
        let tmp = tempfile::tempdir().unwrap();
        let a = RunDir::create(tmp.path()).unwrap();
        assert!(a.root.starts_with(tmp.path().join("runs")));
        for sub in ["logs", "stages", "artifacts", "workspace", "lib"] {
            assert!(a.root.join(sub).is_dir(), "{sub}");
        }
        let (stamp, nonce) = a.id.split_once('-').unwrap();
        assert_eq!(stamp.len(), 16);
        assert_eq!(nonce, a.nonce);
        assert_eq!(a.log("plan", 1, 2), a.root.join("logs/plan.1.2.log"));
        assert_eq!(a.attempt_dir("plan", 2, 1), a.root.join("stages/plan.2.1"));
    }

    #[test]
    fn base_ignores_itself_in_git_and_keeps_a_users_gitignore() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join(".flow");
        RunDir::create(&base).unwrap();
        let ignore = base.join(".gitignore");
        assert_eq!(std::fs::read_to_string(&ignore).unwrap(), GITIGNORE);
        assert!(GITIGNORE.lines().any(|l| l == "*"));
        // A second run leaves it; a user's own file is never overwritten.
        std::fs::write(&ignore, "runs/\n").unwrap();
        RunDir::create(&base).unwrap();
        assert_eq!(std::fs::read_to_string(&ignore).unwrap(), "runs/\n");
    }
}
