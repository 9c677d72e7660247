//! A cache of shellcheck's answers on disk, so `flow check` on an unchanged
//! file (an editor's check on every save) spawns no shellcheck at all.
//!
//! - **Where**: `$FLOW_CACHE_DIR/shellcheck/`, else
//!   `$XDG_CACHE_HOME/flow/shellcheck/`, else `~/.cache/flow/shellcheck/`.
//!   `FLOW_CACHE_DIR=off` turns the cache off.
//! - **Key**: SHA-256 of everything shellcheck's answer depends on
//!   ([`Context::key`]): its version, its options (ours and
//!   `SHELLCHECK_OPTS`), the `.shellcheckrc` that applies, and the script
//!   exactly as given to it. A strong hash because the key must mean the
//!   same in every build (std's hasher does not) and two scripts must never
//!   share an entry.
//! - **Value**: one file per script, `<key>.json` =
//!   `{"comments": [...]}`, shellcheck's own `json1` comments verbatim.
//! - **shellcheck's version** costs a process to ask (`--version`), so it
//!   is itself cached, in `bin-<hash>.txt` keyed by the program's path,
//!   modification time and size: a new shellcheck installed there changes
//!   them.
//! - **Safe to share**: an entry is written to a temporary file and renamed
//!   into place, so a concurrent `flow check` sees the whole entry or none.
//!   An entry that does not parse is a miss (and is rewritten). Every cache
//!   failure (a read-only folder, a full disk) only costs speed: the check
//!   goes on without it.
//! - **Bounded**: about once a day ([`PRUNE_EVERY`]) the files not used for
//!   [`MAX_AGE`] are deleted. A hit refreshes the entry's modification time
//!   when it is more than a day old, so entries in use stay.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Entries unused this long are pruned.
pub const MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// How often (at most) the folder is scanned for old entries.
pub const PRUNE_EVERY: Duration = Duration::from_secs(24 * 3600);

/// Bumped when the entry format or the key's make-up changes: old entries
/// then simply stop matching (and age out).
const FORMAT: &str = "flow-shellcheck-cache 1";

/// The file whose modification time says when the folder was last pruned.
const PRUNED_MARKER: &str = ".pruned";

/// The cache folder (`…/flow/shellcheck`). Nothing is created until the
/// first write.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The cache of this environment: `None` when `FLOW_CACHE_DIR=off` or
    /// no home folder is known.
    pub fn from_env() -> Option<Cache> {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let root = match var("FLOW_CACHE_DIR") {
            Some(v) if v == "off" => return None,
            Some(v) => PathBuf::from(v),
            None => match var("XDG_CACHE_HOME").map(PathBuf::from) {
                // The XDG spec: a relative value is to be ignored.
                Some(x) if x.is_absolute() => x.join("flow"),
                _ => PathBuf::from(var("HOME")?).join(".cache").join("flow"),
            },
        };
        Some(Cache::at(root.join("shellcheck")))
    }

    /// A cache in `dir`.
    pub fn at(dir: PathBuf) -> Cache {
        Cache { dir }
    }

    /// The version text of shellcheck `program` (`shellcheck --version`'s
    /// output), from the cache when this very file was asked before, else
    /// from `ask` (then remembered). `None` when it cannot be known.
    pub fn version(&self, program: &Path, ask: impl FnOnce() -> Option<String>) -> Option<String> {
        let meta = program.metadata().ok()?;
        let mtime = meta
            .modified()
            .ok()?
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()?;
        let mut h = Sha256::new();
        field(&mut h, FORMAT.as_bytes());
        field(&mut h, program.as_os_str().as_encoded_bytes());
        field(&mut h, &mtime.as_nanos().to_le_bytes());
        field(&mut h, &meta.len().to_le_bytes());
        let path = self.dir.join(format!("bin-{}.txt", hex(&h.finalize())));
        if let Some(text) = read(&path).and_then(|b| String::from_utf8(b).ok()) {
            if !text.trim().is_empty() {
                return Some(text);
            }
        }
        let text = ask()?;
        self.write(&path, text.as_bytes());
        Some(text)
    }

    /// shellcheck's comments on the script of `key`, when cached and whole.
    pub fn get(&self, key: &Key) -> Option<Vec<Value>> {
        let bytes = read(&self.entry(key))?;
        let mut v: Value = serde_json::from_slice(&bytes).ok()?;
        match v.get_mut("comments").map(Value::take) {
            Some(Value::Array(comments)) => Some(comments),
            _ => None,
        }
    }

    /// Remembers `comments` as shellcheck's answer on the script of `key`.
    /// Failing to write is silent: it only costs speed next time.
    pub fn put(&self, key: &Key, comments: &[Value]) {
        let entry = serde_json::json!({ "comments": comments });
        self.write(&self.entry(key), entry.to_string().as_bytes());
    }

    /// Deletes the files unused for [`MAX_AGE`], when the last pruning is
    /// [`PRUNE_EVERY`] ago or more (one `stat` otherwise).
    pub fn prune_now_and_then(&self) {
        let marker = self.dir.join(PRUNED_MARKER);
        let now = SystemTime::now();
        if let Some(last) = marker.metadata().ok().and_then(|m| m.modified().ok()) {
            if now.duration_since(last).unwrap_or_default() < PRUNE_EVERY {
                return;
            }
        } else if !self.dir.is_dir() {
            return;
        }
        // Mark first: a concurrent `flow check` then skips the scan.
        if std::fs::write(&marker, b"").is_err() {
            return;
        }
        self.prune_older_than(now, MAX_AGE);
    }

    /// Deletes every file (not the marker) last modified `age` before `now`.
    fn prune_older_than(&self, now: SystemTime, age: Duration) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            if e.file_name() == PRUNED_MARKER {
                continue;
            }
            let old = e.metadata().ok().filter(|m| m.is_file()).and_then(|m| {
                let t = m.modified().ok()?;
                Some(now.duration_since(t).unwrap_or_default() >= age)
            });
            if old == Some(true) {
                // Already gone (another process pruned it): fine.
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    fn entry(&self, key: &Key) -> PathBuf {
        self.dir.join(format!("{}.json", key.0))
    }

    /// Writes `bytes` to `path` whole or not at all: a temporary file in the
    /// same folder, renamed over `path`.
    fn write(&self, path: &Path, bytes: &[u8]) {
        let attempt = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            let mut tmp = tempfile::Builder::new()
                .prefix(".tmp-")
                .tempfile_in(&self.dir)?;
            tmp.write_all(bytes)?;
            tmp.persist(path).map_err(|e| e.error)?;
            Ok(())
        };
        let _ = attempt();
    }
}

/// What shellcheck's answer depends on besides the script.
#[derive(Debug, Clone)]
pub struct Context {
    /// `shellcheck --version`'s output.
    pub version: String,
    /// Our command-line options and `SHELLCHECK_OPTS`.
    pub options: String,
    /// The `.shellcheckrc` that applies, if one does.
    pub rc: Option<Vec<u8>>,
}

impl Context {
    /// The key of `script` (exactly as given to shellcheck, checked as
    /// `dialect`: `--shell=DIALECT`) in this context.
    pub fn key(&self, dialect: &str, script: &str) -> Key {
        let mut h = Sha256::new();
        field(&mut h, FORMAT.as_bytes());
        field(&mut h, self.version.as_bytes());
        field(&mut h, self.options.as_bytes());
        field(&mut h, dialect.as_bytes());
        match &self.rc {
            Some(rc) => {
                field(&mut h, b"rc");
                field(&mut h, rc);
            }
            None => field(&mut h, b"no rc"),
        }
        field(&mut h, script.as_bytes());
        Key(hex(&h.finalize()))
    }
}

/// A cache key: 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key(String);

/// Hashes `bytes` length-first, so no two lists of fields hash alike.
fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of `path`; a hit more than a day old gets its modification
/// time refreshed so pruning keeps it.
fn read(path: &Path) -> Option<Vec<u8>> {
    let mut f = File::open(path).ok()?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).ok()?;
    let now = SystemTime::now();
    let stale = f
        .metadata()
        .ok()
        .and_then(|m| m.modified().ok())
        .is_some_and(|t| now.duration_since(t).unwrap_or_default() >= PRUNE_EVERY);
    if stale {
        let _ = f.set_modified(now);
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(rc: Option<&str>) -> Context {
        Context {
            version: "version: 0.9.0".into(),
            options: "--shell=bash".into(),
            rc: rc.map(|r| r.as_bytes().to_vec()),
        }
    }

    #[test]
    fn keys_differ_by_every_part() {
        let base = context(None).key("bash", "echo $x");
        assert_eq!(base, context(None).key("bash", "echo $x"));
        assert_eq!(base.0.len(), 64);
        assert_ne!(base, context(None).key("bash", "echo $y"));
        assert_ne!(base, context(Some("")).key("bash", "echo $x"));
        assert_ne!(base, context(Some("disable=SC2086")).key("bash", "echo $x"));
        let mut other = context(None);
        other.version = "version: 0.10.0".into();
        assert_ne!(base, other.key("bash", "echo $x"));
        let mut other = context(None);
        other.options = "--severity=error".into();
        assert_ne!(base, other.key("bash", "echo $x"));
        assert_ne!(base, context(None).key("sh", "echo $x"));
    }

    #[test]
    fn put_get_corrupt_and_prune() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path().join("shellcheck"));
        let key = context(None).key("bash", "echo $x");
        assert_eq!(cache.get(&key), None);
        let comments = vec![serde_json::json!({"file": "0.sh", "line": 1, "code": 2086})];
        cache.put(&key, &comments);
        assert_eq!(cache.get(&key), Some(comments.clone()));
        // A half-written or foreign entry is a miss, and put rewrites it.
        std::fs::write(cache.entry(&key), b"{\"comments\": [").unwrap();
        assert_eq!(cache.get(&key), None);
        std::fs::write(cache.entry(&key), b"{\"comments\": 3}").unwrap();
        assert_eq!(cache.get(&key), None);
        cache.put(&key, &comments);
        assert_eq!(cache.get(&key), Some(comments.clone()));
        // No temporary file left behind.
        let names: Vec<_> = std::fs::read_dir(&cache.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        // Pruning keeps recent entries and drops old ones.
        let now = SystemTime::now();
        cache.prune_older_than(now, MAX_AGE);
        assert!(cache.get(&key).is_some());
        cache.prune_older_than(now + MAX_AGE, MAX_AGE);
        assert!(cache.get(&key).is_none());
        // The daily pruning runs once, then waits for the marker to age.
        cache.put(&key, &comments);
        cache.prune_now_and_then();
        assert!(&cache.dir.join(PRUNED_MARKER).is_file());
        assert!(cache.get(&key).is_some());
    }

    #[test]
    fn the_version_is_asked_once_per_program_file() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path().join("shellcheck"));
        let program = dir.path().join("shellcheck-bin");
        std::fs::write(&program, b"#!/bin/sh\n").unwrap();
        let v = cache.version(&program, || Some("version: 1".into()));
        assert_eq!(v.as_deref(), Some("version: 1"));
        let v = cache.version(&program, || panic!("asked twice"));
        assert_eq!(v.as_deref(), Some("version: 1"));
        // Another binary at the same path (another size): asked again.
        std::fs::write(&program, b"#!/bin/sh\n# v2\n").unwrap();
        let v = cache.version(&program, || Some("version: 2".into()));
        assert_eq!(v.as_deref(), Some("version: 2"));
        assert_eq!(
            cache.version(&program, || None).as_deref(),
            Some("version: 2")
        );
    }

    #[test]
    fn an_unwritable_folder_is_no_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"").unwrap();
        // A folder below a plain file cannot be created, even by root.
        let cache = Cache::at(file.join("shellcheck"));
        let key = context(None).key("bash", "echo");
        cache.put(&key, &[]);
        assert_eq!(cache.get(&key), None);
        cache.prune_now_and_then();
        assert_eq!(
            cache.version(&file, || Some("v".into())).as_deref(),
            Some("v")
        );
    }
}
