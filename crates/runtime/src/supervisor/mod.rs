//! Who is the parent of a run's attempt processes, so that none outlives
//! `flow`, however `flow` ends: `flow`'s engine process itself, under its
//! warden ([`local`], [`crate::warden`]: what `flow run` and `flow resume`
//! do), or a per-run supervisor process (below: what a program embedding
//! the engine gets). [`Supervisor`] and [`Running`] are either.
//!
//! The per-run supervisor process is a small process that is the parent of
//! every attempt process of a run.
//!
//! # Theory of operation
//!
//! * `flow` starts one supervisor per run ([`ProcessSupervisor::start`]), connected
//!   by a UNIX `socketpair` that becomes the supervisor's stdin. The
//!   supervisor calls `setsid` (its own session and process group: a
//!   terminal's Ctrl-C or hangup never reaches it, nor the attempts it
//!   starts) and becomes a child subreaper.
//! * For each attempt `flow` creates the stdout and stderr pipes, sends the
//!   write ends (`SCM_RIGHTS`) with a spawn request — argv (shell, then the
//!   script file), cwd, the whole environment, an id — and closes its
//!   copies. The supervisor starts the process in its own process group
//!   (stdin `/dev/null`) and replies `Spawned { id, pid }` or
//!   `SpawnFailed { id, error }`; `flow` relays the read ends
//!   ([`crate::output`]). See [`protocol`]. `Spawned` is held back up to
//!   `SPAWNED_HOLD` (2 ms) and sent in one write with `Exited` when the
//!   attempt ends meanwhile: a short attempt wakes `flow` once, not twice.
//! * The supervisor reaps with `waitid(P_ALL)`: all its children are
//!   attempts or orphans it adopted. When an attempt's leader exits, its
//!   group gets SIGKILL while the zombie still pins the pid (so the group
//!   id cannot be reused), then the leader is reaped and `flow` hears
//!   `Exited { id, exit }`. Nothing a stage starts in its group outlives it.
//! * Timeouts and cancellation stay `flow`'s: it signals the group
//!   (`killpg`, SIGTERM → grace → SIGKILL) and waits for `Exited`.
//! * When the socket reaches end of file — `flow` finished the run, or died
//!   in any way (SIGKILL, the OOM killer, a panic) — the supervisor
//!   SIGTERMs every live attempt group and every adopted orphan, SIGKILLs
//!   the groups after at most [`server::TERM_GRACE`], then SIGKILLs every
//!   child it still has, level by level (an orphan's children are adopted as
//!   it dies), until none is left, and exits: within 1 s of `flow`'s end.
//! * If the supervisor dies while `flow` lives, `flow` sees end of file:
//!   it kills every live attempt group itself, and those attempts fail with
//!   an error that says so. `flow` is a child subreaper too, so the
//!   orphaned leaders come back to it and are reaped. The next spawn starts
//!   a new supervisor, so `finally` stages and retries still run.
//!   An attempt whose `Spawned` was still held when the supervisor died
//!   has no pid in `flow`: its leader, re-parented to `flow`, is recognised
//!   by its environment (run id, stage, visit, attempt) and killed too.
//!
//! Limits: a process that leaves its group (`setsid`, a daemon) is adopted
//! by the supervisor when its parent dies and is killed when the run ends,
//! not when its attempt ends; while it holds an attempt's output pipe open,
//! that attempt's output collection waits up to
//! [`crate::process::DRAIN_LIMIT`]. A process that the supervisor never
//! adopts because its parent is still alive when the run ends (a daemon
//! whose parent was re-parented elsewhere) is beyond reach. Only the user's
//! own processes can be signalled. Linux only (`signalfd`, subreapers).
//!
//! Why a per-run process and not one per attempt: one more `exec` per
//! attempt would roughly double the cost of a chain of short stages.
//! `PR_SET_PDEATHSIG` alone fires when the *thread* that forked exits
//! (tokio's blocking threads do) and misses grandchildren; cgroups are not
//! available to an unprivileged user everywhere.

pub mod children;
pub mod client;
pub mod local;
pub mod program;
pub mod protocol;
pub mod server;
mod spawn;

pub use client::{ProcessRunning, ProcessSupervisor, Spawn};
pub use local::{Local, LocalRunning};
pub use protocol::Exit;

/// How a run's attempts are supervised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Supervision {
    /// By a supervisor process started with this command (see the module
    /// docs): what a program embedding the engine gets.
    Process(SupervisorCommand),
    /// By the engine's own process ([`local`]): only for a process whose
    /// parent is `flow`'s warden (what `flow run` and `flow resume` are),
    /// which kills whatever it leaves behind when it dies.
    InProcess,
}

impl Default for Supervision {
    /// A supervisor process: [`SupervisorCommand::default`].
    fn default() -> Self {
        Supervision::Process(SupervisorCommand::default())
    }
}

impl From<SupervisorCommand> for Supervision {
    fn from(command: SupervisorCommand) -> Self {
        Supervision::Process(command)
    }
}

/// A run's supervisor, either kind ([`Supervision`]).
pub enum Supervisor {
    /// A supervisor process.
    Process(ProcessSupervisor),
    /// This process.
    InProcess(Local),
}

/// A spawned attempt of either kind of [`Supervisor`].
#[derive(Debug)]
pub enum Running {
    /// Started by a supervisor process.
    Process(ProcessRunning),
    /// Started by this process.
    InProcess(LocalRunning),
}

impl Supervisor {
    /// Starts the supervision `how` asks for. Must be called on a tokio
    /// runtime.
    ///
    /// # Errors
    /// The supervisor process cannot be started, or (in process) the kernel
    /// lacks what it needs.
    pub fn new(how: &Supervision) -> std::io::Result<Supervisor> {
        Ok(match how {
            Supervision::Process(command) => {
                Supervisor::Process(ProcessSupervisor::start(command)?)
            }
            Supervision::InProcess => Supervisor::InProcess(Local::start()?),
        })
    }

    /// Starts a supervisor process (`command`): [`ProcessSupervisor::start`].
    ///
    /// # Errors
    /// The socket or the process could not be created.
    pub fn start(command: &SupervisorCommand) -> std::io::Result<Supervisor> {
        Ok(Supervisor::Process(ProcessSupervisor::start(command)?))
    }

    /// The supervisor process's pid (`None` in process, or when it is gone).
    pub fn pid(&self) -> Option<u32> {
        match self {
            Supervisor::Process(s) => s.pid(),
            Supervisor::InProcess(_) => None,
        }
    }

    /// Starts an attempt; returns once it runs (or could not start).
    ///
    /// # Errors
    /// Why no process runs: the program or the folder is missing, or the
    /// supervisor process is gone and cannot be restarted.
    pub async fn spawn(&self, spawn: Spawn) -> Result<Running, String> {
        match self {
            Supervisor::Process(s) => s.spawn(spawn).await.map(Running::Process),
            Supervisor::InProcess(s) => s.spawn(spawn).map(Running::InProcess),
        }
    }

    /// Ends supervision: whatever is left of the run (adopted orphans) is
    /// killed. Call once no attempt runs.
    pub async fn shutdown(&self) {
        match self {
            Supervisor::Process(s) => s.shutdown().await,
            Supervisor::InProcess(s) => s.shutdown().await,
        }
    }
}

impl Running {
    /// The leader's pid, which is also its process group id.
    pub fn pid(&self) -> u32 {
        match self {
            Running::Process(r) => r.pid,
            Running::InProcess(r) => r.pid,
        }
    }

    /// How the leader ended, once its group has had SIGKILL. Can be awaited
    /// again after it returned, or after being cancelled.
    ///
    /// # Errors
    /// The supervisor is gone: the attempt's group was killed; the text
    /// says why.
    pub async fn wait(&mut self) -> Result<Exit, String> {
        match self {
            Running::Process(r) => r.wait().await,
            Running::InProcess(r) => r.wait().await,
        }
    }
}

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

/// The hidden first argument that makes the `flow` binary act as its own
/// supervisor (`flow __supervisor`).
pub const SUPERVISOR_ARG: &str = "__supervisor";

/// The name of the stand-alone supervisor binary of this crate.
pub const SUPERVISOR_BIN: &str = "flow-supervisor";

/// How to start the supervisor process: a program that calls
/// [`serve_main`], and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisorCommand {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
}

impl SupervisorCommand {
    /// The `flow` binary itself with [`SUPERVISOR_ARG`] (what the CLI uses).
    ///
    /// # Errors
    /// The current executable cannot be found.
    pub fn current_exe() -> std::io::Result<SupervisorCommand> {
        Ok(SupervisorCommand {
            program: std::env::current_exe()?,
            args: vec![SUPERVISOR_ARG.into()],
        })
    }
}

impl Default for SupervisorCommand {
    /// [`SUPERVISOR_BIN`] beside the current executable or in its parent
    /// folder (where cargo puts it for tests), else looked up on `PATH`.
    fn default() -> Self {
        let beside = std::env::current_exe().ok().and_then(|exe| {
            exe.ancestors()
                .skip(1)
                .take(2)
                .map(|dir| dir.join(SUPERVISOR_BIN))
                .find(|p| p.is_file())
        });
        SupervisorCommand {
            program: beside.unwrap_or_else(|| PathBuf::from(SUPERVISOR_BIN)),
            args: Vec::new(),
        }
    }
}

/// A line on the supervisor's stderr. Never panics (`eprintln!` would on a
/// closed pipe, and a panic here would skip the killing).
fn warn(message: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "flow-supervisor: {message}");
}

/// The argument that sets how long `Spawned` replies are held back, in
/// milliseconds (default [`server::SPAWNED_HOLD`]): tests lengthen it to
/// kill a supervisor while it holds one.
pub const HOLD_ARG: &str = "--hold-spawned-ms";

/// The hold given with [`HOLD_ARG`] on the command line, else the default.
fn spawned_hold() -> std::time::Duration {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == HOLD_ARG)
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .map_or(server::SPAWNED_HOLD, std::time::Duration::from_millis)
}

/// The supervisor process's `main`: serves the socket on stdin until `flow`
/// closes it, then kills what is left. Returns the exit code.
pub fn serve_main() -> i32 {
    // A process group leader cannot call setsid; we are not one, as
    // `ProcessSupervisor::start` does not ask for a group.
    if let Err(e) = nix::unistd::setsid() {
        warn(format_args!("setsid: {e}"));
    }
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        warn(format_args!("cannot become a child subreaper: {e}; processes that leave their group may survive the run"));
    }
    let sock = match std::io::stdin().as_fd().try_clone_to_owned() {
        Ok(fd) => fd,
        Err(e) => {
            warn(format_args!("no socket on stdin: {e}"));
            return 2;
        }
    };
    // Keep no second copy of the socket at fd 0.
    if let Ok(null) = File::open("/dev/null") {
        let _ = nix::unistd::dup2_stdin(null);
    }
    match server::serve(UnixStream::from(sock), spawned_hold()) {
        Ok(()) => 0,
        Err(e) => {
            warn(format_args!(
                "{e} (this program is started by `flow run`, not by hand)"
            ));
            1
        }
    }
}
