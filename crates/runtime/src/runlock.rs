//! Run liveness: a run is alive while the process driving it (`flow run`,
//! `flow resume`) holds an exclusive `flock` on `<run root>/lock`. The
//! kernel releases it when that process dies, however it dies, so a lock
//! never outlives its run and a pid is never trusted (pids are reused).
//!
//! Minimal version written by the resume part with the API of contracts §4;
//! the store part owns this file.

use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// The exclusive lock of one run, held until dropped.
pub struct RunLock {
    _lock: Flock<File>,
}

impl RunLock {
    /// Takes the lock of the run at `run_root` without blocking. `None`:
    /// another live process holds it. The file is opened `O_CLOEXEC` (Rust's
    /// default), so no child process inherits the lock.
    ///
    /// # Errors
    /// `<run_root>/lock` cannot be opened or created, or `flock` fails for
    /// another reason than contention.
    pub fn acquire(run_root: &Path) -> io::Result<Option<RunLock>> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(run_root.join("lock"))?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Ok(Some(RunLock { _lock: lock })),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
            Err((_, e)) => Err(io::Error::from(e)),
        }
    }

    /// Whether a live process holds the lock of the run at `run_root`.
    pub fn is_held(run_root: &Path) -> bool {
        let Ok(file) = File::open(run_root.join("lock")) else {
            return false;
        };
        match Flock::lock(file, FlockArg::LockSharedNonblock) {
            Ok(_) => false,
            Err((_, e)) => e == nix::errno::Errno::EWOULDBLOCK,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!RunLock::is_held(dir.path()));
        let lock = RunLock::acquire(dir.path()).unwrap().expect("free");
        assert!(RunLock::is_held(dir.path()));
        assert!(RunLock::acquire(dir.path()).unwrap().is_none());
        drop(lock);
        assert!(!RunLock::is_held(dir.path()));
        assert!(RunLock::acquire(dir.path()).unwrap().is_some());
    }
}
