//! In-process supervision: the process running the engine is itself the
//! parent of every attempt, as make is of its recipes.
//!
//! `flow run` and `flow resume` use it (see [`crate::warden`]): the command
//! runs in a child of the `flow` process the user started, a small warden
//! that is a child subreaper. This process is a subreaper too. So:
//!
//! * while it lives, it starts each attempt in its own process group
//!   (`posix_spawn`, on the calling thread: no hop to another process or
//!   thread), hears its leader exit through a pidfd on the event loop, gives
//!   the group SIGKILL while the leader's zombie still pins the group id, reaps
//!   the leader (`waitid(P_PIDFD)`) and then the group's members, which were
//!   re-parented here (`waitid(P_PGID)`): an attempt has ended once its group
//!   is gone, as with the supervisor process;
//! * a process that leaves its group (`setsid`) is adopted here when its
//!   parent dies and is killed, with everything else, at [`Local::shutdown`];
//!   until then it is never reaped (only a group's members are), so no
//!   status is ever taken from another waiter;
//! * when this process dies, however, its children (attempt leaders,
//!   adopted orphans) are re-parented to the warden, which kills them; when
//!   the warden dies, this process hears it (`PR_SET_PDEATHSIG`) and kills
//!   everything before it exits. Either way nothing outlives `flow` by more
//!   than about a second.
//!
//! Compared with the supervisor process, a short attempt costs two
//! hand-offs between processes instead of four (engine → supervisor →
//! attempt → supervisor → engine), which is what a chain of short stages
//! is made of. Needs Linux 5.4 (pidfds that `waitid` accepts).

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::io;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};
use tokio::io::unix::AsyncFd;

use super::client::Spawn;
use super::server::{self, DYING_POLL, GROUP_DEATH_LIMIT};
use super::{children, Exit};

/// Supervision from inside the engine's own process (see the module docs).
#[derive(Debug)]
pub struct Local {
    _private: (),
}

/// A spawned attempt: its pid and, later, how it ended.
#[derive(Debug)]
pub struct LocalRunning {
    /// The leader's pid, which is also its process group id.
    pub pid: u32,
    pidfd: AsyncFd<OwnedFd>,
    /// The leader was reaped: how it ended (its group may not be gone).
    reaped: Option<Result<Exit, String>>,
    /// The group is gone too.
    ended: Option<Result<Exit, String>>,
}

impl Local {
    /// Makes this process a child subreaper and checks that pidfds work.
    ///
    /// # Errors
    /// The kernel lacks pidfds (Linux < 5.3) or refuses the subreaper bit.
    pub fn start() -> io::Result<Local> {
        nix::sys::prctl::set_child_subreaper(true)?;
        pidfd_open(std::process::id())?;
        Ok(Local { _private: () })
    }

    /// Starts an attempt (its `fallback` when `argv` cannot be started) in
    /// its own process group; returns once it runs. Blocks the calling
    /// thread for the `posix_spawn` (until the child has called `exec`).
    ///
    /// # Errors
    /// Why no process runs: the program or the folder is missing.
    pub fn spawn(&self, spawn: Spawn) -> Result<LocalRunning, String> {
        if crate::warden::is_gone() {
            return Err("flow's warden process is gone; nothing more is started".into());
        }
        let Spawn {
            program,
            argv,
            fallback,
            cwd,
            env,
            stdout,
            stderr,
        } = spawn;
        let how = |program, argv| server::Start {
            program,
            argv,
            cwd: &cwd,
            env: &env,
            stdout: &stdout,
            stderr: &stderr,
        };
        let mut started = server::start(how(program.as_deref(), &argv));
        if started.is_err() && !fallback.is_empty() {
            started = server::start(how(None, &fallback));
        }
        let pid = started?;
        // The child cannot be reaped by anyone else before this (no
        // `waitid(P_ALL)` runs here), so the pid is still this child's.
        let pidfd = pidfd_open(pid).and_then(register_readable).map_err(|e| {
            kill_group(pid, Signal::SIGKILL);
            format!("cannot watch the attempt's process {pid}: {e}")
        })?;
        Ok(LocalRunning {
            pid,
            pidfd,
            reaped: None,
            ended: None,
        })
    }

    /// Ends the run's supervision: SIGTERM to every child left (adopted
    /// orphans: attempts have ended by now), up to
    /// [`server::TERM_GRACE`], then SIGKILL level by level until none is
    /// left or [`server::KILL_DEADLINE`]. Blocking parts run off the
    /// event loop.
    pub async fn shutdown(&self) {
        let _ = tokio::task::spawn_blocking(|| kill_children(Instant::now())).await;
    }
}

/// SIGTERM then SIGKILL to every child of this process and the groups they
/// lead, reaping them, until none is left or the deadline (see
/// [`Local::shutdown`]); what the warden's death makes this process do too.
pub fn kill_children(since: Instant) {
    let first = children::of_process();
    if first.is_empty() {
        return;
    }
    for pid in &first {
        children::signal_tree_root(*pid, Signal::SIGTERM);
    }
    let mut termed = first;
    loop {
        let left = reap_children();
        // Children adopted since (their parent died first) get their
        // SIGTERM now, not only the SIGKILL after the grace.
        for pid in &left {
            if !termed.contains(pid) {
                children::signal_tree_root(*pid, Signal::SIGTERM);
                termed.push(*pid);
            }
        }
        // Done only when a scan after the reaping finds no child at all: a
        // child that exits between the scan and its reaping hands its own
        // children (a `setsid` escapee) to this subreaper as it exits, and
        // they must not outlive it (CI once saw one survive a SIGKILLed
        // `flow`).
        let done = left.is_empty() && children::of_process().is_empty();
        if done || since.elapsed() >= server::KILL_DEADLINE {
            return;
        }
        if since.elapsed() >= server::TERM_GRACE {
            for pid in left {
                children::signal_tree_root(pid, Signal::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Reaps the children that have exited; returns those still alive.
fn reap_children() -> Vec<Pid> {
    children::of_process()
        .into_iter()
        .filter(|pid| {
            let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG;
            !matches!(waitid(Id::Pid(*pid), flags), Ok(s) if s.pid().is_some())
        })
        .collect()
}

impl LocalRunning {
    /// How the leader ended, once nothing of its group is left (its group
    /// has had SIGKILL by then). Can be awaited again after it returned, or
    /// after being cancelled.
    ///
    /// # Errors
    /// The leader could not be waited for (not expected): its group was
    /// killed; the text says why.
    pub async fn wait(&mut self) -> Result<Exit, String> {
        if let Some(ended) = &self.ended {
            return ended.clone();
        }
        let pid = self.pid;
        // Kept before the wait for the group: a wait cancelled there (a
        // timer that fired) must not lose the status of a reaped leader.
        let ended = match &self.reaped {
            Some(reaped) => reaped.clone(),
            None => {
                let reaped = self.reap().await;
                self.reaped = Some(reaped.clone());
                reaped
            }
        };
        group_gone(pid).await;
        self.ended = Some(ended.clone());
        ended
    }

    /// Waits for the leader to exit, gives its group SIGKILL, reaps it.
    async fn reap(&mut self) -> Result<Exit, String> {
        let pid = self.pid;
        loop {
            let mut ready = match self.pidfd.readable().await {
                Ok(ready) => ready,
                Err(e) => return Err(format!("cannot watch the attempt's process {pid}: {e}")),
            };
            // SIGKILL to the group before the leader is reaped: its zombie
            // keeps the group id from being reused meanwhile.
            kill_group(pid, Signal::SIGKILL);
            let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG;
            match waitid(Id::PIDFd(self.pidfd.get_ref().as_fd()), flags) {
                Ok(WaitStatus::Exited(_, code)) => return Ok(Exit::Code(code)),
                Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(Exit::Signal(sig as i32)),
                Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => ready.clear_ready(),
                Ok(other) => return Err(format!("unexpected state of process {pid}: {other:?}")),
                Err(e) => return Err(format!("cannot wait for the attempt's process {pid}: {e}")),
            }
        }
    }
}

/// Waits until nothing is left of the group `pgid`, whose leader was
/// reaped and which had SIGKILL: its members were re-parented here (a
/// subreaper) and are reaped as they die. A group that takes longer than
/// [`GROUP_DEATH_LIMIT`] (a process stuck in the kernel) is left.
async fn group_gone(pgid: u32) {
    let since = Instant::now();
    let group = Pid::from_raw(pgid as i32);
    loop {
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG;
        while let Ok(s) = waitid(Id::PGid(group), flags) {
            if s.pid().is_none() {
                break;
            }
        }
        if killpg(group, None) == Err(Errno::ESRCH) || since.elapsed() > GROUP_DEATH_LIMIT {
            return;
        }
        kill_group(pgid, Signal::SIGKILL);
        tokio::time::sleep(DYING_POLL).await;
    }
}

/// Signals a process group; a group that no longer exists is fine.
fn kill_group(pgid: u32, sig: Signal) {
    crate::process::signal_group(Pid::from_raw(pgid as i32), sig);
}

/// `pidfd` on the event loop, for readability (the process exited).
fn register_readable(pidfd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: the `AsyncFd` owns the descriptor, which stays open and the
    // same until it is dropped.
    unsafe { AsyncFd::register_with_interest(pidfd, tokio::io::Interest::READABLE) }
        .map_err(|e| io::Error::other(e.to_string()))
}

/// A pidfd for `pid` (`pidfd_open(2)`), close-on-exec.
fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: a plain system call with two integer arguments; on success it
    // returns a new descriptor that nothing else owns.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::c_int, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by the kernel and is owned by nobody.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}
