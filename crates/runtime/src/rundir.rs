//! The run directory: run id, nonce and the on-disk layout of one run.
//!
//! ```text
//! <base>/runs/<run-id>/            base is `.flow` under the current directory by default
//!   journal.jsonl                  append-only event log (see `journal`)
//!   logs/<stage>.<visit>.<attempt>.log   raw stdout+stderr of one attempt (secrets masked)
//!   stages/<stage>/<visit>.<attempt>/    the attempt's fresh working directory
//!   artifacts/<stage>/             outputs collected after each attempt (latest wins)
//!   workspace/                     $FLOW_WORKSPACE, shared by every stage
//!   lib/<name>/                    materialised embedded libraries ($FLOW_LIB)
//! ```
//!
//! A run id is `YYYYMMDDTHHMMSSZ-<nonce>` (UTC), so ids sort by start time.

use rand::Rng;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

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

impl RunDir {
    /// Creates a fresh run directory under `<base>/runs/` with its fixed
    /// sub-folders (`logs`, `stages`, `artifacts`, `workspace`, `lib`).
    /// `base` is made absolute against the current directory so paths handed
    /// to scripts stay valid after they `cd`.
    pub fn create(base: &Path) -> io::Result<RunDir> {
        let base = absolute(base)?;
        let runs = base.join("runs");
        std::fs::create_dir_all(&runs)?;
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

    /// `journal.jsonl`.
    pub fn journal(&self) -> PathBuf {
        self.root.join("journal.jsonl")
    }

    /// `logs/<stage>.<visit>.<attempt>.log`.
    pub fn log(&self, stage: &str, visit: u32, attempt: u32) -> PathBuf {
        self.root
            .join("logs")
            .join(format!("{stage}.{visit}.{attempt}.log"))
    }

    /// `stages/<stage>/<visit>.<attempt>/`, the attempt's working directory.
    pub fn attempt_dir(&self, stage: &str, visit: u32, attempt: u32) -> PathBuf {
        self.root
            .join("stages")
            .join(stage)
            .join(format!("{visit}.{attempt}"))
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

/// Broken-down UTC time (no time-zone crate needed for UTC).
struct Utc {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    millis: u32,
}

fn utc(t: SystemTime) -> Utc {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    Utc {
        year,
        month,
        day,
        hour: (rem / 3600) as u32,
        min: (rem % 3600 / 60) as u32,
        sec: (rem % 60) as u32,
        millis: d.subsec_millis(),
    }
}

/// Days since 1970-01-01 to (year, month, day) — H. Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `20261121T025300Z` (the run-id prefix).
pub fn compact_utc(t: SystemTime) -> String {
    let u = utc(t);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        u.year, u.month, u.day, u.hour, u.min, u.sec
    )
}

/// `2026-11-21T02:53:00.123Z` (RFC 3339, UTC, milliseconds).
pub fn rfc3339(t: SystemTime) -> String {
    let u = utc(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        u.year, u.month, u.day, u.hour, u.min, u.sec, u.millis
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_known_instants() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_229_580_123); // 2026-11-21T02:53:00.123Z
        assert_eq!(compact_utc(t), "20261121T025300Z");
        assert_eq!(rfc3339(t), "2026-11-21T02:53:00.123Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // A leap day.
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29T00:00:00Z
        assert_eq!(compact_utc(t), "20000229T000000Z");
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
        assert_eq!(a.attempt_dir("plan", 2, 1), a.root.join("stages/plan/2.1"));
    }
}
