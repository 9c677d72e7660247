//! `flow`'s side: starts the supervisor, asks it to spawn attempts, hears
//! how they end, and notices when it is gone.
//!
//! The socket is non-blocking and lives on the event loop: an attempt sends
//! its own request (one at a time, under a lock, so frames never mix), and
//! one task reads the replies and hands each to the attempt waiting for it.
//! No thread sits between them: each hop between threads costs tens of
//! microseconds, paid twice per attempt. If either direction fails, every
//! waiting attempt gets the reason, and every attempt group still running
//! is killed from here (`flow` is a child subreaper, so their leaders come
//! back to it to be reaped). The next spawn starts a new supervisor
//! process, so later attempts (`finally` stages, retries) still run.
//!
//! [`ProcessSupervisor::start`] must be called on a tokio runtime.

use nix::errno::Errno;
use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::unistd::Pid;
use std::collections::{HashMap, VecDeque};
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::Interest;
use tokio::sync::oneshot;

use super::protocol::{self, Exit, Frames, Reply, Request, SpawnRequest};
use super::SupervisorCommand;

/// How long [`ProcessSupervisor::shutdown`] waits for the supervisor to exit
/// (it gives up killing after about 1 s itself).
const EXIT_WAIT: Duration = Duration::from_secs(3);

/// One attempt to start: what [`super::Supervisor::spawn`] is given.
#[derive(Debug)]
pub struct Spawn {
    /// The file to execute; `None`: `argv[0]` looked up on the `PATH` of
    /// `env`.
    pub program: Option<PathBuf>,
    /// The program and its arguments.
    pub argv: Vec<OsString>,
    /// What to start instead if `argv` cannot be started (empty: nothing).
    pub fallback: Vec<OsString>,
    /// The working directory.
    pub cwd: PathBuf,
    /// The whole environment.
    pub env: Vec<(OsString, OsString)>,
    /// The write end of the stdout pipe (closed here once sent).
    pub stdout: OwnedFd,
    /// The write end of the stderr pipe (closed here once sent).
    pub stderr: OwnedFd,
}

/// The supervisor of one run, restarted if it dies. Dropping it closes the
/// socket, which makes the supervisor kill whatever is left and exit.
pub struct ProcessSupervisor {
    command: SupervisorCommand,
    current: Mutex<Arc<Connection>>,
    /// Connections to supervisors that died, to reap at shutdown.
    retired: Mutex<Vec<Arc<Connection>>>,
    next_id: AtomicU64,
}

/// One supervisor process and the socket to it.
struct Connection {
    /// The socket, shared with the reader task.
    socket: Arc<tokio::net::UnixStream>,
    /// Held while a frame is sent, so frames never interleave.
    sending: tokio::sync::Mutex<()>,
    shared: Arc<Shared>,
}

/// A spawned attempt: its pid and, later, how it ended.
#[derive(Debug)]
pub struct ProcessRunning {
    /// The leader's pid, which is also its process group id.
    pub pid: u32,
    exited: oneshot::Receiver<Exit>,
    ended: Option<Result<Exit, String>>,
    shared: Arc<Shared>,
}

impl ProcessRunning {
    /// How the leader ended (its group has had SIGKILL by then). Can be
    /// awaited again after it returned, or after being cancelled.
    ///
    /// # Errors
    /// The supervisor is gone: the attempt's group was killed from `flow`;
    /// the text says why.
    pub async fn wait(&mut self) -> Result<Exit, String> {
        if let Some(ended) = &self.ended {
            return ended.clone();
        }
        let ended = match (&mut self.exited).await {
            Ok(exit) => Ok(exit),
            Err(_) => Err(self.shared.lost_reason()),
        };
        self.ended = Some(ended.clone());
        ended
    }
}

/// What the reader, the writer and the attempts share.
#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    child: Mutex<Option<Child>>,
}

#[derive(Debug, Default)]
struct State {
    /// Set once the supervisor is unusable: why.
    lost: Option<String>,
    waiting: HashMap<u64, Waiter>,
}

#[derive(Debug)]
struct Waiter {
    pid: Option<u32>,
    spawned: Option<oneshot::Sender<Result<u32, String>>>,
    exited: Option<oneshot::Sender<Exit>>,
    /// The `KEY=VALUE` entries of the attempt's environment that name it
    /// (run, stage, visit, attempt): how its process is found among
    /// `flow`'s children if the supervisor dies before telling its pid.
    marks: Vec<Vec<u8>>,
}

/// The environment variables that together name one attempt of one run.
const ATTEMPT_MARKS: [&str; 4] = ["FLOW_RUN_ID", "FLOW_STAGE", "FLOW_VISIT", "FLOW_ATTEMPT"];

/// `KEY=VALUE` of each of [`ATTEMPT_MARKS`] in `env` (all four, or none).
fn attempt_marks(env: &[(OsString, OsString)]) -> Vec<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let marks: Vec<Vec<u8>> = env
        .iter()
        .filter(|(k, _)| ATTEMPT_MARKS.iter().any(|m| k.as_bytes() == m.as_bytes()))
        .map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes()].concat())
        .collect();
    if marks.len() == ATTEMPT_MARKS.len() {
        marks
    } else {
        Vec::new()
    }
}

/// Kills the attempts that were spawned but whose pid `flow` never heard
/// (the supervisor died holding its `Spawned` reply back): their leaders
/// were re-parented to `flow`, a subreaper, and are recognised by their
/// environment. Each group gets SIGKILL and is reaped in the background.
fn kill_unannounced(unknown: &[&[Vec<u8>]]) {
    if unknown.is_empty() {
        return;
    }
    for pid in super::children::of_process() {
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let entries: Vec<&[u8]> = environ.split(|b| *b == 0).collect();
        let ours = unknown
            .iter()
            .any(|marks| marks.iter().all(|m| entries.contains(&m.as_slice())));
        if ours {
            for result in [killpg(pid, Signal::SIGKILL), kill(pid, Signal::SIGKILL)] {
                if let Err(e) = result {
                    if e != Errno::ESRCH {
                        tracing::warn!("killing {pid}: {e}");
                    }
                }
            }
            if tokio::runtime::Handle::try_current().is_ok() {
                tokio::spawn(crate::process::reap_group(pid));
            }
        }
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_lost(&self) -> bool {
        self.state().lost.is_some()
    }

    fn lost_reason(&self) -> String {
        self.state()
            .lost
            .clone()
            .unwrap_or_else(|| "the supervisor process is gone".into())
    }

    /// The supervisor cannot be used any more: every attempt still running
    /// is killed from here and every waiter hears `reason`.
    fn fail_all(&self, reason: String) {
        let waiting = {
            let mut state = self.state();
            if state.lost.is_none() {
                state.lost = Some(reason);
            }
            std::mem::take(&mut state.waiting)
        };
        for waiter in waiting.values() {
            if let Some(pid) = waiter.pid {
                match killpg(Pid::from_raw(pid as i32), Signal::SIGKILL) {
                    Ok(()) | Err(Errno::ESRCH) => {}
                    Err(e) => tracing::warn!("killpg({pid}): {e}"),
                }
            }
        }
        let unknown: Vec<&[Vec<u8>]> = waiting
            .values()
            .filter(|w| w.pid.is_none() && !w.marks.is_empty())
            .map(|w| w.marks.as_slice())
            .collect();
        kill_unannounced(&unknown);
        // Dropping the senders wakes every waiter with the reason.
        drop(waiting);
    }

    fn deliver(&self, reply: Reply) {
        let mut state = self.state();
        match reply {
            Reply::Spawned { id, pid } => {
                if let Some(w) = state.waiting.get_mut(&id) {
                    w.pid = Some(pid);
                    if let Some(tx) = w.spawned.take() {
                        let _ = tx.send(Ok(pid));
                    }
                }
            }
            Reply::SpawnFailed { id, error } => {
                if let Some(mut w) = state.waiting.remove(&id) {
                    if let Some(tx) = w.spawned.take() {
                        let _ = tx.send(Err(error));
                    }
                }
            }
            Reply::Exited { id, exit } => {
                if let Some(mut w) = state.waiting.remove(&id) {
                    if let Some(tx) = w.exited.take() {
                        let _ = tx.send(exit);
                    }
                }
            }
        }
    }

    /// Why the supervisor's socket closed: its exit status, if it is dead.
    fn death_note(&self) -> String {
        let until = Instant::now() + Duration::from_millis(200);
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        let status = loop {
            match child.as_mut().map(Child::try_wait) {
                Some(Ok(Some(status))) => break Some(status),
                Some(Ok(None)) if Instant::now() < until => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                _ => break None,
            }
        };
        match status {
            Some(s) => format!("the supervisor process died ({s}); the attempt was killed"),
            None => "the supervisor process closed its socket; the attempt was killed".into(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ProcessSupervisor {
    /// Starts the supervisor process (`command`), connected by a socket
    /// that becomes its standard input.
    ///
    /// # Errors
    /// The socket or the process could not be created.
    pub fn start(command: &SupervisorCommand) -> io::Result<ProcessSupervisor> {
        Ok(ProcessSupervisor {
            command: command.clone(),
            current: Mutex::new(Arc::new(Connection::start(command)?)),
            retired: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
        })
    }

    /// The current supervisor's pid.
    pub fn pid(&self) -> Option<u32> {
        lock(&self.current).pid()
    }

    /// Asks the supervisor to start an attempt; returns once it has (or
    /// could not). A supervisor known to be dead is replaced first.
    ///
    /// # Errors
    /// Why no process runs: the program or the folder is missing, or the
    /// supervisor is gone and cannot be restarted.
    pub async fn spawn(&self, spawn: Spawn) -> Result<ProcessRunning, String> {
        let connection = {
            let mut current = lock(&self.current);
            if current.shared.is_lost() {
                let fresh = Connection::start(&self.command).map_err(|e| {
                    format!("the supervisor process died and cannot be restarted: {e}")
                })?;
                let dead = std::mem::replace(&mut *current, Arc::new(fresh));
                lock(&self.retired).push(dead);
            }
            current.clone()
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        connection.spawn(id, spawn).await
    }

    /// Ends the supervisor: closes the socket (it kills whatever is left
    /// of the run, adopted orphans included) and waits for it to exit, at
    /// most a few seconds. Call once no attempt runs.
    pub async fn shutdown(&self) {
        let current = lock(&self.current).clone();
        let retired = std::mem::take(&mut *lock(&self.retired));
        for connection in retired.iter().chain(std::iter::once(&current)) {
            connection.shutdown().await;
        }
    }
}

impl Connection {
    fn start(command: &SupervisorCommand) -> io::Result<Connection> {
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::Stream,
            None,
            SockFlag::SOCK_CLOEXEC,
        )?;
        let child = Command::new(&command.program)
            .args(&command.args)
            .stdin(Stdio::from(theirs))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot start the supervisor `{}`: {e}",
                        command.program.display()
                    ),
                )
            })?;
        let stream = UnixStream::from(ours);
        stream.set_nonblocking(true)?;
        let socket = Arc::new(tokio::net::UnixStream::from_std(stream)?);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            child: Mutex::new(Some(child)),
        });
        tokio::spawn(read_loop(socket.clone(), shared.clone()));
        Ok(Connection {
            socket,
            sending: tokio::sync::Mutex::new(()),
            shared,
        })
    }

    fn pid(&self) -> Option<u32> {
        let child = self.shared.child.lock().unwrap_or_else(|p| p.into_inner());
        child.as_ref().map(Child::id)
    }

    async fn spawn(&self, id: u64, spawn: Spawn) -> Result<ProcessRunning, String> {
        let (spawned_tx, spawned_rx) = oneshot::channel();
        let (exited_tx, exited_rx) = oneshot::channel();
        {
            let mut state = self.shared.state();
            if let Some(why) = &state.lost {
                return Err(why.clone());
            }
            state.waiting.insert(
                id,
                Waiter {
                    pid: None,
                    spawned: Some(spawned_tx),
                    exited: Some(exited_tx),
                    marks: attempt_marks(&spawn.env),
                },
            );
        }
        let frame = Request::Spawn(SpawnRequest {
            id,
            program: spawn.program,
            argv: spawn.argv,
            fallback: spawn.fallback,
            cwd: spawn.cwd,
            env: spawn.env,
        })
        .encode();
        if let Err(e) = self.send(&frame, &[spawn.stdout, spawn.stderr]).await {
            let reason = if e.kind() == io::ErrorKind::BrokenPipe {
                self.shared.death_note_async().await
            } else {
                format!("cannot talk to the supervisor process: {e}; the attempt was killed")
            };
            self.shared.fail_all(reason);
            return Err(self.shared.lost_reason());
        }
        // `spawn.stdout` and `spawn.stderr` are closed now: the supervisor
        // (and then the attempt) has its own copies.
        match spawned_rx.await {
            Ok(Ok(pid)) => Ok(ProcessRunning {
                pid,
                exited: exited_rx,
                ended: None,
                shared: self.shared.clone(),
            }),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(self.shared.lost_reason()),
        }
    }

    async fn shutdown(&self) {
        self.shared
            .fail_all("the run is over; the supervisor was shut down".into());
        let _ = shutdown(&self.socket);
        let shared = self.shared.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let until = Instant::now() + EXIT_WAIT;
            let mut child = shared.child.lock().unwrap_or_else(|p| p.into_inner());
            while let Some(c) = child.as_mut() {
                match c.try_wait() {
                    Ok(None) if Instant::now() < until => {
                        std::thread::sleep(Duration::from_millis(2))
                    }
                    Ok(None) => {
                        tracing::warn!("the supervisor (pid {}) did not exit", c.id());
                        break;
                    }
                    _ => break,
                }
            }
        })
        .await;
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // The supervisor sees end of file and cleans up; nobody waits for
        // it here (a panic may be unwinding).
        let _ = shutdown(&self.socket);
    }
}

impl Connection {
    /// Sends one frame with `fds` attached to its first byte, waiting for
    /// room in the socket without blocking the thread.
    async fn send(&self, frame: &[u8], fds: &[OwnedFd]) -> io::Result<()> {
        let _turn = self.sending.lock().await;
        if self.shared.is_lost() {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let raw: Vec<_> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        let mut sent = 0;
        while sent < frame.len() {
            let attach = if sent == 0 { &raw[..] } else { &[] };
            self.socket.writable().await?;
            let socket = &self.socket;
            match socket.try_io(Interest::WRITABLE, || {
                protocol::send_some(socket.as_fd(), &frame[sent..], attach)
            }) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Shared {
    /// [`Shared::death_note`] off the event loop (it may wait 200 ms).
    async fn death_note_async(self: &Arc<Self>) -> String {
        let shared = self.clone();
        tokio::task::spawn_blocking(move || shared.death_note())
            .await
            .unwrap_or_else(|_| "the supervisor process is gone; the attempt was killed".into())
    }
}

/// Reads replies until the socket closes or fails, delivering each to its
/// attempt; then fails every attempt still waiting.
async fn read_loop(socket: Arc<tokio::net::UnixStream>, shared: Arc<Shared>) {
    let mut frames = Frames::default();
    let mut fds = VecDeque::new();
    let reason = loop {
        let read = match socket.readable().await {
            Ok(()) => socket.try_io(Interest::READABLE, || {
                protocol::recv_some(socket.as_fd(), &mut frames, &mut fds)
            }),
            Err(e) => Err(e),
        };
        if matches!(&read, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            continue;
        }
        match read {
            Ok(0) => break shared.death_note_async().await,
            Ok(_) => {}
            Err(e) => {
                break format!("cannot hear the supervisor process: {e}; the attempt was killed")
            }
        }
        loop {
            match frames.next_payload().map(|p| p.map(|p| Reply::decode(&p))) {
                Ok(None) => break,
                Ok(Some(Ok(reply))) => shared.deliver(reply),
                Ok(Some(Err(e))) | Err(e) => {
                    shared.fail_all(format!("{e}; the attempt was killed"));
                    return;
                }
            }
        }
    };
    shared.fail_all(reason);
}

/// Shuts both directions of the socket down (the supervisor then sees end
/// of file), without waiting.
fn shutdown(socket: &tokio::net::UnixStream) -> io::Result<()> {
    nix::sys::socket::shutdown(socket.as_raw_fd(), nix::sys::socket::Shutdown::Both)
        .map_err(io::Error::from)
}
