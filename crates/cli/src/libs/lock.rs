//! The lock file next to a flow (`FLOW.flow.lock`, JSON): for each git
//! library source the flow uses (`git+URL@REV`, as written), the commit it
//! was pinned to and the SHA-256 of its files ([`super::tree::hash`]).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The format version written in the file.
const VERSION: u32 = 1;

/// What a lock pins one source to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    /// The full commit id (40 hex digits for SHA-1 repositories).
    pub commit: String,
    /// SHA-256 of the library's files at that commit (lowercase hex).
    pub sha256: String,
}

/// A lock file's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    /// Format version ([`VERSION`]).
    pub version: u32,
    /// `git+URL@REV` → its pin.
    pub libraries: BTreeMap<String, Pin>,
}

/// The lock file of the flow file `flow`: `FLOW.flow.lock` beside it.
pub fn path_for(flow: &Path) -> PathBuf {
    let mut name = flow.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    flow.with_file_name(name)
}

impl Lock {
    /// Reads `path`; an absent file is an empty lock.
    ///
    /// # Errors
    /// The file cannot be read, or is not a lock file (the message names it).
    pub fn read(path: &Path) -> Result<Lock, String> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let lock: Lock = serde_json::from_slice(&bytes)
                    .map_err(|e| format!("{} is not a flow lock file: {e}", path.display()))?;
                if lock.version != VERSION {
                    return Err(format!(
                        "{} has version {}; this flow reads version {VERSION}",
                        path.display(),
                        lock.version
                    ));
                }
                Ok(lock)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Lock {
                version: VERSION,
                libraries: BTreeMap::new(),
            }),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Writes the lock to `path` atomically (a temporary file renamed over
    /// it), pretty-printed with a final newline, so it diffs well in review.
    ///
    /// # Errors
    /// The message names the file.
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        let dir = dir.unwrap_or(Path::new("."));
        let mut text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        text.push('\n');
        let err = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
        std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(err)?;
        tmp.persist(path).map_err(|e| err(e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_is_named_after_the_flow_and_round_trips() {
        assert_eq!(path_for(Path::new("a/x.flow")), Path::new("a/x.flow.lock"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.flow.lock");
        assert_eq!(Lock::read(&path).unwrap().libraries.len(), 0);
        let mut lock = Lock::read(&path).unwrap();
        lock.libraries.insert(
            "git+file:///r@v1".into(),
            Pin {
                commit: "c".repeat(40),
                sha256: "d".repeat(64),
            },
        );
        lock.write(&path).unwrap();
        assert_eq!(Lock::read(&path).unwrap(), lock);
        std::fs::write(&path, "{").unwrap();
        assert!(Lock::read(&path)
            .unwrap_err()
            .contains("not a flow lock file"));
    }
}
