//! The supervisor process: one thread, one `poll` loop over the socket to
//! `flow` and a `signalfd` for SIGCHLD (see the module docs of
//! [`super`] for the whole design).

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{killpg, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::collections::{HashMap, VecDeque};
use std::ffi::OsString;
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use super::protocol::{self, Exit, Frames, Reply, Request, SpawnRequest, SPAWN_FDS};
use super::{children, program};

/// How long live attempts get between SIGTERM and SIGKILL once `flow` is
/// gone.
pub const TERM_GRACE: Duration = Duration::from_millis(500);

/// When the supervisor gives up killing (counted from `flow`'s end): the
/// promise is that nothing is left 1 s after `flow` died.
pub const KILL_DEADLINE: Duration = Duration::from_millis(950);

/// How long an attempt's group may take to die after its SIGKILL before
/// `flow` hears `Exited` anyway (a process stuck in the kernel).
pub const GROUP_DEATH_LIMIT: Duration = Duration::from_secs(5);

/// How often groups that are dying are looked at (besides every SIGCHLD).
pub(crate) const DYING_POLL: Duration = Duration::from_millis(5);

/// How long a `Spawned` reply is held back. An attempt that ends within it
/// (a chain of short stages) has its `Spawned` sent with its `Exited`, in one
/// write: `flow`'s event loop then wakes once for the attempt instead of
/// twice. A longer attempt's `Spawned` goes out when the hold ends, so
/// `flow` learns a pid (and journals `stage_started`) at most this late;
/// its output waits in the pipe meanwhile.
pub const SPAWNED_HOLD: Duration = Duration::from_millis(2);

/// Serves `flow` on `sock` until it closes its end, then kills everything
/// left (see [`super`]). Returns when nothing is left or the deadline hit.
/// `hold`: how long `Spawned` replies are held back ([`SPAWNED_HOLD`]).
///
/// # Errors
/// Setting up the signal handling; everything after that is handled.
pub fn serve(sock: UnixStream, hold: Duration) -> io::Result<()> {
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    mask.thread_block()?;
    let sigchld = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
    let mut server = Server {
        sock,
        sigchld,
        frames: Frames::default(),
        fds: VecDeque::new(),
        live: HashMap::new(),
        dying: HashMap::new(),
        held: Vec::new(),
        hold,
    };
    // Whatever ends the loop — end of file, an error, even a bug that
    // panics — the killing below still happens.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.serve()))
        .unwrap_or_else(|_| Err(io::Error::other("the supervisor loop panicked")));
    server.kill_everything(Instant::now());
    result
}

struct Server {
    sock: UnixStream,
    sigchld: SignalFd,
    frames: Frames,
    /// Descriptors received and not yet taken by a spawn request.
    fds: VecDeque<OwnedFd>,
    /// Attempt leaders not yet reaped → their request id.
    live: HashMap<Pid, u64>,
    /// Groups whose leader was reaped and which had SIGKILL, until their
    /// last member is gone: then `flow` hears `Exited`.
    dying: HashMap<Pid, Dying>,
    /// `Spawned` replies held back (see [`SPAWNED_HOLD`]), oldest first.
    held: Vec<Held>,
    /// How long they are held.
    hold: Duration,
}

/// A `Spawned` reply not sent yet.
struct Held {
    id: u64,
    pid: u32,
    until: Instant,
}

struct Dying {
    id: u64,
    exit: Exit,
    since: Instant,
}

impl Server {
    /// The loop while `flow` is there: `Ok` at its end of file.
    fn serve(&mut self) -> io::Result<()> {
        loop {
            let (sock_ready, child_ready) = {
                let mut fds = [
                    PollFd::new(self.sock.as_fd(), PollFlags::POLLIN),
                    PollFd::new(self.sigchld.as_fd(), PollFlags::POLLIN),
                ];
                let timeout = self.poll_timeout();
                match poll(&mut fds, timeout) {
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(e) => return Err(e.into()),
                }
                let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
                (ready(&fds[0]), ready(&fds[1]))
            };
            if child_ready {
                self.drain_sigchld();
                self.reap();
            }
            self.report_dead_groups()?;
            self.send_held(|h| h.until <= Instant::now())?;
            if sock_ready {
                let n = protocol::recv_some(self.sock.as_fd(), &mut self.frames, &mut self.fds)?;
                if n == 0 {
                    return Ok(());
                }
                while let Some(payload) = self.frames.next_payload()? {
                    match Request::decode(&payload)? {
                        Request::Spawn(req) => match self.spawn(req)? {
                            Reply::Spawned { id, pid } => self.held.push(Held {
                                id,
                                pid,
                                until: Instant::now() + self.hold,
                            }),
                            reply => self.send(&reply)?,
                        },
                    }
                }
            }
        }
    }

    fn send(&mut self, reply: &Reply) -> io::Result<()> {
        self.sock.write_all(&reply.encode())
    }

    /// How long `poll` may sleep: until a held `Spawned` is due, and at most
    /// [`DYING_POLL`] while a group is dying.
    fn poll_timeout(&self) -> PollTimeout {
        let mut wait = self.held.first().map(|h| {
            // Rounded up: a wake-up a little early would only sleep again.
            let left = h.until.saturating_duration_since(Instant::now());
            left.as_millis() as u64 + u64::from(left.subsec_micros() % 1000 != 0)
        });
        if !self.dying.is_empty() {
            let dying = DYING_POLL.as_millis() as u64;
            wait = Some(wait.map_or(dying, |w| w.min(dying)));
        }
        match wait {
            None => PollTimeout::NONE,
            Some(ms) => PollTimeout::from(u16::try_from(ms).unwrap_or(u16::MAX)),
        }
    }

    /// Sends the held `Spawned` replies that `due` picks, in one write.
    fn send_held(&mut self, due: impl Fn(&Held) -> bool) -> io::Result<()> {
        if !self.held.iter().any(&due) {
            return Ok(());
        }
        let (sent, kept): (Vec<Held>, Vec<Held>) = self.held.drain(..).partition(|h| due(h));
        self.held = kept;
        let bytes: Vec<u8> = sent
            .iter()
            .flat_map(|h| {
                Reply::Spawned {
                    id: h.id,
                    pid: h.pid,
                }
                .encode()
            })
            .collect();
        self.sock.write_all(&bytes)
    }

    fn drain_sigchld(&mut self) {
        while let Ok(Some(_)) = self.sigchld.read_signal() {}
    }

    /// Starts one attempt in its own process group; when its `argv`
    /// cannot be started and the request has a `fallback`, starts that
    /// instead. The request's pipe ends are closed here once the child has
    /// its copies.
    fn spawn(&mut self, req: SpawnRequest) -> io::Result<Reply> {
        let (Some(stdout), Some(stderr)) = (self.fds.pop_front(), self.fds.pop_front()) else {
            let error = format!("a spawn request without its {SPAWN_FDS} pipes");
            return Err(protocol::ProtocolError(error).into());
        };
        let id = req.id;
        let how = |program, argv| Start {
            program,
            argv,
            cwd: &req.cwd,
            env: &req.env,
            stdout: &stdout,
            stderr: &stderr,
        };
        let mut started = start(how(req.program.as_deref(), &req.argv));
        if started.is_err() && !req.fallback.is_empty() {
            started = start(how(None, &req.fallback));
        }
        // `stdout` and `stderr` close here: the child has its own copies.
        Ok(match started {
            Ok(pid) => {
                self.live.insert(Pid::from_raw(pid as i32), id);
                Reply::Spawned { id, pid }
            }
            Err(error) => Reply::SpawnFailed { id, error },
        })
    }

    /// Reaps every child that has exited. An attempt leader's group gets
    /// SIGKILL *before* the leader is reaped (while its zombie still holds
    /// the pid, so the group id cannot have been reused) and is then dying
    /// (see [`Self::report_dead_groups`]). Adopted orphans are just reaped.
    fn reap(&mut self) {
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        loop {
            let pid = match waitid(Id::All, flags) {
                Err(Errno::EINTR) => continue,
                Ok(status) => match status.pid() {
                    Some(pid) => pid,
                    // No child has exited.
                    None => return,
                },
                // ECHILD: no child at all.
                Err(_) => return,
            };
            let attempt = self.live.remove(&pid);
            if attempt.is_some() {
                kill_group(pid, Signal::SIGKILL);
            }
            let exit = loop {
                match waitpid(pid, None) {
                    Ok(WaitStatus::Exited(_, code)) => break Some(Exit::Code(code)),
                    Ok(WaitStatus::Signaled(_, sig, _)) => break Some(Exit::Signal(sig as i32)),
                    Ok(_) => break None,
                    Err(Errno::EINTR) => {}
                    Err(_) => break None,
                }
            };
            if let (Some(id), Some(exit)) = (attempt, exit) {
                let since = Instant::now();
                self.dying.insert(pid, Dying { id, exit, since });
            }
        }
    }

    /// Tells `flow` about each dying group that is gone: no member is left
    /// (the members were re-parented here and reaped), so when `flow` hears
    /// `Exited`, nothing of the attempt's group exists any more. A group
    /// that takes longer than [`GROUP_DEATH_LIMIT`] is reported anyway.
    fn report_dead_groups(&mut self) -> io::Result<()> {
        let gone: Vec<Pid> = self
            .dying
            .iter()
            .filter(|(pgid, d)| {
                killpg(**pgid, None) == Err(Errno::ESRCH) || d.since.elapsed() > GROUP_DEATH_LIMIT
            })
            .map(|(pgid, _)| *pgid)
            .collect();
        let mut bytes = Vec::new();
        for pgid in gone {
            if let Some(d) = self.dying.remove(&pgid) {
                // Its `Spawned` first, if it was held, in the same write.
                if let Some(at) = self.held.iter().position(|h| h.id == d.id) {
                    let h = self.held.remove(at);
                    bytes.extend(
                        Reply::Spawned {
                            id: h.id,
                            pid: h.pid,
                        }
                        .encode(),
                    );
                }
                bytes.extend(
                    Reply::Exited {
                        id: d.id,
                        exit: d.exit,
                    }
                    .encode(),
                );
            }
        }
        if bytes.is_empty() {
            return Ok(());
        }
        self.sock.write_all(&bytes)
    }

    /// `flow` is gone (or done): SIGTERM every live attempt group and every
    /// adopted orphan, give the attempts up to [`TERM_GRACE`], then SIGKILL
    /// whatever is left, level by level (an orphan's own children are
    /// adopted as it dies), until no child is left or [`KILL_DEADLINE`].
    fn kill_everything(&mut self, since: Instant) {
        let pids: Vec<Pid> = self.live.keys().copied().collect();
        for pid in &pids {
            kill_group(*pid, Signal::SIGTERM);
        }
        for pid in children::of_self() {
            if !self.live.contains_key(&pid) {
                children::signal_tree_root(pid, Signal::SIGTERM);
            }
        }
        while !self.live.is_empty() && since.elapsed() < TERM_GRACE {
            self.wait_for_sigchld(TERM_GRACE.saturating_sub(since.elapsed()));
            self.reap_quietly();
        }
        loop {
            self.reap_quietly();
            for pid in self.live.keys() {
                kill_group(*pid, Signal::SIGKILL);
            }
            let left = children::of_self();
            if left.is_empty() || since.elapsed() >= KILL_DEADLINE {
                return;
            }
            for pid in left {
                children::signal_tree_root(pid, Signal::SIGKILL);
            }
            self.wait_for_sigchld(Duration::from_millis(20));
        }
    }

    /// [`Self::reap`] after `flow` is gone: nobody hears the replies.
    fn reap_quietly(&mut self) {
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        while let Ok(status) = waitid(Id::All, flags) {
            let Some(pid) = status.pid() else { break };
            if self.live.remove(&pid).is_some() {
                kill_group(pid, Signal::SIGKILL);
            }
            let _ = waitpid(pid, None);
        }
    }

    fn wait_for_sigchld(&mut self, at_most: Duration) {
        let ms = u16::try_from(at_most.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.sigchld.as_fd(), PollFlags::POLLIN)];
        let _ = poll(&mut fds, PollTimeout::from(ms));
        self.drain_sigchld();
    }
}

/// Signals a process group; a group that no longer exists is fine.
fn kill_group(pgid: Pid, sig: Signal) {
    match killpg(pgid, sig) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => super::warn(format_args!("killpg({pgid}, {sig}): {e}")),
    }
}

/// What [`start`] starts.
pub(crate) struct Start<'a> {
    /// The file to execute; `None`: `argv[0]` looked up on the `PATH` of
    /// `env`.
    pub program: Option<&'a Path>,
    /// The program and its arguments.
    pub argv: &'a [OsString],
    /// The working directory.
    pub cwd: &'a Path,
    /// The whole environment.
    pub env: &'a [(OsString, OsString)],
    /// The write ends of the output pipes (copied for the child).
    pub stdout: &'a OwnedFd,
    pub stderr: &'a OwnedFd,
}

/// Spawns `how.argv` (its program `how.program`, else `argv[0]` looked up
/// on the environment's `PATH`) in `how.cwd` with exactly `how.env`, stdin
/// `/dev/null`, in its own process group; returns its pid, or why it could
/// not start. The child is not waited for here.
pub(crate) fn start(how: Start<'_>) -> Result<u32, String> {
    let Start {
        program,
        argv,
        cwd,
        env,
        stdout,
        stderr,
    } = how;
    let Some(name) = argv.first() else {
        return Err("the stage has an empty `shell`".into());
    };
    let file = match program {
        Some(file) => file.to_path_buf(),
        None => match program::resolve(name, env, cwd) {
            Some(file) => file,
            // A path (relative to `cwd`), as `execvp` takes it.
            None if name.as_bytes().contains(&b'/') => name.into(),
            None => {
                let e = io::Error::from_raw_os_error(libc::ENOENT);
                return Err(cannot_start(name, cwd, &e));
            }
        },
    };
    super::spawn::spawn(&file, argv, env, cwd, stdout.as_fd(), stderr.as_fd())
        .map_err(|e| cannot_start(name, cwd, &e))
}

/// Why `name` could not be started in `cwd`.
fn cannot_start(name: &std::ffi::OsStr, cwd: &Path, e: &io::Error) -> String {
    format!(
        "cannot start `{}` in {}: {e}",
        name.to_string_lossy(),
        cwd.display()
    )
}
