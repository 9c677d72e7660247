//! Run liveness: a run is alive while the process driving it holds an
//! exclusive `flock` on `<run>/lock`.
//!
//! The kernel releases a `flock` when the last descriptor of its open file
//! goes away, so a killed `flow` (SIGKILL, OOM, power cut) frees its run's
//! lock at once, and a reused pid proves nothing: nobody asks for a pid.
//! The file is opened with `O_CLOEXEC` (Rust's default), so no stage process
//! inherits the descriptor and keeps a dead run looking alive.
//!
//! [`RunLock::is_held`] probes with a *shared* non-blocking lock: probes
//! never conflict with one another (two `flow runs` at once each see the
//! truth), and an exclusive holder makes them fail. A probe holds its shared
//! lock for microseconds; [`RunLock::acquire`] retries briefly so a probe
//! never makes it give up.

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Tries of [`RunLock::acquire`] before it concludes another process
/// holds the lock (probes hold it for microseconds only).
const ACQUIRE_TRIES: u32 = 20;
/// Pause between two tries.
const ACQUIRE_PAUSE: Duration = Duration::from_millis(5);

/// The liveness lock of one run, held (exclusively) until dropped.
#[derive(Debug)]
pub struct RunLock {
    _lock: Flock<File>,
}

impl RunLock {
    /// `<run_root>/lock`.
    pub fn path(run_root: &Path) -> PathBuf {
        run_root.join("lock")
    }

    /// Takes the exclusive lock on `<run_root>/lock` (creating the file)
    /// without waiting for another holder. `Ok(None)`: another live process
    /// holds it (the run is driven elsewhere).
    ///
    /// # Errors
    /// The file cannot be created or opened, or `flock` fails for another
    /// reason than contention.
    pub fn acquire(run_root: &Path) -> io::Result<Option<RunLock>> {
        let mut file = open(run_root, true)?;
        for _ in 0..ACQUIRE_TRIES {
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => {
                    // The holder's pid, for `flow cancel` (read only while
                    // the lock is seen held).
                    lock.set_len(0)?;
                    (&*lock).write_all(format!("{}\n", std::process::id()).as_bytes())?;
                    return Ok(Some(RunLock { _lock: lock }));
                }
                Err((back, Errno::EWOULDBLOCK)) => file = back,
                Err((_, errno)) => return Err(io::Error::from(errno)),
            }
            std::thread::sleep(ACQUIRE_PAUSE);
        }
        Ok(None)
    }

    /// Whether some process holds `<run_root>/lock` exclusively, i.e. the run
    /// is alive. A missing lock file (a run from before locks, or a folder
    /// that is not a run) is not held.
    pub fn is_held(run_root: &Path) -> bool {
        let Ok(file) = open(run_root, false) else {
            return false;
        };
        matches!(
            Flock::lock(file, FlockArg::LockSharedNonblock),
            Err((_, Errno::EWOULDBLOCK))
        )
    }
}

impl RunLock {
    /// The pid of the process holding the run's lock, `None` when nobody
    /// holds it. The pid is the one the holder wrote when it took the lock,
    /// and it is only returned while the lock is seen held before and after
    /// reading it, so a dead run's pid (maybe reused) is never returned;
    /// the holder could still die right after (a window of microseconds).
    pub fn holder(run_root: &Path) -> Option<u32> {
        if !RunLock::is_held(run_root) {
            return None;
        }
        let text = std::fs::read_to_string(RunLock::path(run_root)).ok()?;
        let pid = text.trim().parse().ok()?;
        RunLock::is_held(run_root).then_some(pid)
    }
}

fn open(run_root: &Path, create: bool) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(create)
        .create(create)
        .truncate(false)
        .open(RunLock::path(run_root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_until_dropped_and_exclusive() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        assert!(!RunLock::is_held(root), "no lock file: not held");
        let lock = RunLock::acquire(root).unwrap().expect("free");
        assert!(RunLock::is_held(root));
        assert!(RunLock::is_held(root), "a probe does not take it");
        assert!(RunLock::acquire(root).unwrap().is_none(), "exclusive");
        assert_eq!(RunLock::holder(root), Some(std::process::id()));
        drop(lock);
        assert!(!RunLock::is_held(root));
        assert_eq!(
            RunLock::holder(root),
            None,
            "a dead holder's pid is never given"
        );
        assert!(RunLock::acquire(root).unwrap().is_some());
    }

    #[test]
    fn children_of_the_holder_do_not_inherit_it() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        // A child of the holder (spawned while the lock is held) must not
        // keep it alive after the holder lets go: O_CLOEXEC.
        let lock = RunLock::acquire(root).unwrap().unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        drop(lock);
        assert!(!RunLock::is_held(root), "the child inherited the lock");
        let _ = child.kill();
        let _ = child.wait();
    }
}
