//! Running one attempt of a stage as a supervised process group.
//!
//! # Theory of operation
//!
//! * The script runs from a file, as `SHELL… FILE` (the stage's `shell`,
//!   by default `bash --noprofile --norc -eo pipefail`, then the file's
//!   path): a script of any size runs (an argv entry is limited to 128 KiB)
//!   and reaches the shell byte-for-byte.
//! * The run's [`Supervisor`] process starts it, in its own process group
//!   (its pgid is its pid), with stdin `/dev/null`, stdout and stderr piped
//!   to `flow`, the given cwd and `flow`'s environment plus the attempt's
//!   variables. The supervisor is its parent: see [`crate::supervisor`]
//!   for why and for what happens when `flow` dies.
//! * On stage timeout or cancellation the whole group gets SIGTERM; if the
//!   leader has not exited after `grace`, the group gets SIGKILL.
//! * Whatever happened, once the leader has exited the group gets SIGKILL
//!   (from the supervisor, before it reaps the leader): nothing a stage
//!   started in its group outlives it (`sleep 300 &` would otherwise keep
//!   running and keep the pipes open, so output would never reach EOF).
//! * If the supervisor dies, the attempt's group is killed from `flow` and
//!   the attempt fails with that error. `flow` is a child subreaper
//!   ([`init_supervisor`]), so the orphaned leader comes back to it and is
//!   reaped with `waitpid(-pgid, WNOHANG)` on a blocking thread. Never
//!   `waitpid(-1)`, which would steal exit statuses from tokio.
//! * Output is streamed (see [`crate::output`]); only a bounded tail of
//!   stdout is kept, for the structured status.
//!
//! Known limits: a process that leaves the group (`setsid`) escapes the
//! group kill and is killed by the supervisor when the run ends; if it
//! keeps the pipes open, output collection gives up after [`DRAIN_LIMIT`].

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use serde_json::{Map, Value};
use std::ffi::OsString;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};
use tokio::sync::watch;

use crate::direct::{self, SimpleCommand};
use crate::output::{self, Masker, OutputSink, Relay, StopRelay, PIPE_BYTES};
use crate::scheduler::AttemptResult;
use crate::status::{self, TAIL_BYTES};
use crate::supervisor::{Exit, Running, Spawn, Supervisor};
use crate::usage::{Allowance, Usage};
use flow_dsl::ir::DEFAULT_SHELL;

/// How long output is still read after the group was killed, for pipes held
/// open by a process that escaped the group (`setsid`). Nothing of the
/// group is lost by a short limit: every member is dead by then and what
/// it wrote is in the pipe, read at once; only the escapee's later words
/// are, and it is killed at the run's end anyway.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// How long reaping waits for killed group members to die.
const REAP_LIMIT: Duration = Duration::from_secs(5);

/// Everything needed to run one attempt.
#[derive(Debug, Clone)]
pub struct AttemptSpec {
    /// The argv prefix that runs the script (the stage's `shell`); the
    /// script file's path is appended. Empty means
    /// [`flow_dsl::ir::DEFAULT_SHELL`].
    pub shell: Vec<String>,
    /// The file holding the script, byte-for-byte. Not written when
    /// `command` is set: bash then gets the script with `-c` and this path
    /// as `$0`, which it names in its messages just the same.
    pub script_file: PathBuf,
    /// The script when it is one simple command, run without bash where
    /// the result is the same (see [`crate::direct`]).
    pub command: Option<Arc<SimpleCommand>>,
    /// The working directory (must exist).
    pub cwd: PathBuf,
    /// Variables added to `flow`'s environment (later entries win). That
    /// environment is read once per process, when its first attempt starts:
    /// an embedder that changes its own environment later is not followed.
    pub env: Vec<(String, String)>,
    /// Per-attempt time limit.
    pub timeout: Option<Duration>,
    /// Longest silence allowed (`idle`): no byte on stdout or stderr for
    /// this long ends the attempt like its timeout.
    pub idle: Option<Duration>,
    /// SIGTERM → SIGKILL delay.
    pub grace: Duration,
    /// Where the raw (masked) stdout+stderr go: created (in an existing
    /// folder) when the first byte comes; never, if none does.
    pub log_path: PathBuf,
    /// Prefix of live output lines (`[label] …`), usually the stage name.
    pub label: String,
    /// Secret masking for log and live output.
    pub masker: Arc<Masker>,
    /// Look for a structured status in stdout.
    pub status_json: bool,
    /// Where the attempt may report its usage as it grows
    /// (`$FLOW_USAGE_FILE`): read while it runs under a `budget`, and once
    /// at its end ([`AttemptReport::file_usage`]).
    pub usage_file: Option<PathBuf>,
    /// What the attempt may use before it crosses its `budget` (the
    /// stage's and the flow's), if it runs under one.
    pub budget: Option<Allowance>,
}

/// How often a usage file is read while an attempt under a budget runs.
const BUDGET_POLL: Duration = Duration::from_millis(250);

/// How an attempt ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttemptReport {
    /// The process id (= process group id), if it was spawned.
    pub pid: Option<u32>,
    /// Exit code, when the leader exited normally.
    pub exit_code: Option<i32>,
    /// The signal that killed the leader.
    pub signal: Option<i32>,
    /// The stage timeout expired, or the `idle` limit.
    pub timed_out: bool,
    /// The limit that expired was `idle` (`timed_out` is true too).
    pub idle: bool,
    /// It crossed its budget: stopped while it ran (or, set by the
    /// driver, ended over it).
    pub over_budget: bool,
    /// Killed on request: the run was cancelled (Ctrl-C, SIGTERM) or hit
    /// the flow `timeout` (the scheduler's `KillRunning`). A failure of
    /// another stage never kills a running attempt: it only stops new ones.
    pub cancelled: bool,
    /// The structured status object (`status json`).
    pub status_json: Option<Map<String, Value>>,
    /// Why the attempt could not run or its output could not be kept.
    pub error: Option<String>,
    /// What the attempt last reported in its usage file, read after it
    /// ended.
    pub file_usage: Option<Usage>,
    /// Spawn to end.
    pub duration: Duration,
    /// Bytes written to the log.
    pub log_bytes: u64,
}

impl AttemptReport {
    /// The `status` field of the structured status, as text.
    pub fn status(&self) -> Option<String> {
        self.status_json.as_ref().and_then(status::status_text)
    }

    /// What the scheduler needs to know.
    pub fn to_result(&self) -> AttemptResult {
        // A log write error does not change the outcome: the process ran
        // and its exit status says how. Without one (no process, or the
        // supervisor died), the error is the outcome.
        let error = if self.pid.is_none() || (self.exit_code.is_none() && self.signal.is_none()) {
            self.error.clone()
        } else {
            None
        };
        AttemptResult {
            exit_code: self.exit_code,
            timed_out: self.timed_out,
            idle: self.idle,
            over_budget: self.over_budget,
            status: self.status(),
            error,
        }
    }

    /// Adds a problem to `error`, after any earlier one (none is lost).
    fn add_error(&mut self, error: String) {
        match &mut self.error {
            Some(earlier) => {
                earlier.push_str("; ");
                earlier.push_str(&error);
            }
            None => self.error = Some(error),
        }
    }

    /// An attempt that did not run (no process), for `error`.
    pub(crate) fn failed(error: String) -> AttemptReport {
        AttemptReport {
            error: Some(error),
            ..AttemptReport::default()
        }
    }
}

/// Makes this process a child subreaper (once), so orphans of a stage's
/// process group are re-parented to us and can be reaped. Called by
/// [`run_attempt`]; harmless to call again.
pub fn init_supervisor() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
            tracing::warn!("cannot become a child subreaper: {e}");
        }
    });
}

/// The attempt's output pipes: read and write ends of stdout, then of
/// stderr. A `status json` stage's stdout is read apart from its stderr
/// (the status is on stdout); any other attempt writes both to one pipe,
/// which keeps the order it wrote them in and costs one pipe less to make
/// and watch (`err_read` is `None`, `err_write` a copy of `out_write`).
fn output_pipes(status_json: bool) -> io::Result<Pipes> {
    let (out_read, out_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    if status_json {
        let (err_read, err_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        return Ok((out_read, out_write, Some(err_read), err_write));
    }
    let err_write = out_write.try_clone()?;
    Ok((out_read, out_write, None, err_write))
}

/// [`output_pipes`]: stdout's read and write ends, stderr's.
type Pipes = (OwnedFd, OwnedFd, Option<OwnedFd>, OwnedFd);

/// Runs one attempt to completion: has `supervisor` spawn it, streams its
/// output to the log and `sink`, enforces the timeout, obeys `cancel` (true
/// = terminate), then makes sure nothing is left of its process group.
/// `on_started` is called with the pid right after the spawn (the
/// journal's `stage_started`).
pub async fn run_attempt(
    supervisor: &Supervisor,
    spec: AttemptSpec,
    sink: Arc<dyn OutputSink>,
    mut cancel: watch::Receiver<bool>,
    on_started: impl FnOnce(u32),
) -> AttemptReport {
    init_supervisor();
    let (out_read, out_write, err_read, err_write) = match output_pipes(spec.status_json) {
        Ok(p) => p,
        Err(e) => return AttemptReport::failed(format!("cannot create the output pipes: {e}")),
    };
    // Room for a fast stage's output while the relay lets it gather (see
    // `output::relay`); a pipe that cannot grow works as it is.
    let _ = nix::fcntl::fcntl(
        &out_read,
        nix::fcntl::FcntlArg::F_SETPIPE_SZ(PIPE_BYTES as _),
    );
    let started = Instant::now();
    let env = full_env(&spec.env);
    let direct = spec
        .command
        .as_deref()
        .and_then(|c| direct::plan(c, &env, &spec.cwd).map(|d| (c, d)));
    let request = match &direct {
        Some((command, plan)) => Spawn {
            program: Some(plan.program.clone()),
            argv: command.words.iter().map(OsString::from).collect(),
            fallback: shell_argv(&spec),
            cwd: spec.cwd.clone(),
            env: plan.env.clone(),
            stdout: out_write,
            stderr: err_write,
        },
        None => Spawn {
            program: None,
            argv: shell_argv(&spec),
            fallback: Vec::new(),
            cwd: spec.cwd.clone(),
            env,
            stdout: out_write,
            stderr: err_write,
        },
    };
    let mut running = match supervisor.spawn(request).await {
        Ok(r) => r,
        Err(e) => return AttemptReport::failed(e),
    };
    let pid = running.pid();
    let pgid = Pid::from_raw(pid as i32);
    on_started(pid);

    // Output: one relay thread reads both pipes (see `crate::output`).
    let activity = Arc::new(Activity::new());
    let stop = StopRelay::new();
    let mut relay = {
        let to = Relay {
            log_path: spec.log_path.clone(),
            masker: spec.masker.clone(),
            sink: sink.clone(),
            label: spec.label.clone(),
            tail: spec.status_json.then_some(TAIL_BYTES),
            activity: activity.clone(),
        };
        // A task of its own: it must read while the attempt runs (a full
        // pipe would stop the stage), not only once it is awaited.
        tokio::spawn(output::relay(out_read, err_read, stop.watch(), to))
    };

    let mut report = AttemptReport {
        pid: Some(pid),
        ..AttemptReport::default()
    };
    let status = supervise(
        &mut running,
        pgid,
        &spec,
        &activity,
        &mut cancel,
        &mut report,
    )
    .await;
    if status.is_err() {
        // The supervisor is gone (it killed the group on the leader's exit
        // otherwise): end the rest of the group from here.
        signal_group(pgid, Signal::SIGKILL);
    }

    // Finish reading (EOF once every holder of the pipes is dead), or stop
    // after DRAIN_LIMIT: pipes held by a process that escaped the group.
    let relayed = match tokio::time::timeout(DRAIN_LIMIT, &mut relay).await {
        Ok(done) => done,
        Err(_) => {
            stop.stop();
            report.add_error("output pipes still open after the process group was killed".into());
            relay.await
        }
    };
    let tail = match relayed.map_err(io::Error::other).and_then(|r| r) {
        Ok(relayed) => {
            report.log_bytes = relayed.log_bytes;
            if let Some(e) = relayed.log_error {
                report.add_error(format!("writing {}: {e}", spec.log_path.display()));
            }
            if let Some(e) = relayed.read_error {
                report.add_error(format!("reading the output: {e}"));
            }
            relayed.tail
        }
        Err(e) => {
            report.add_error(format!("output relay failed: {e}"));
            None
        }
    };

    match status {
        Ok(exit) => {
            report.exit_code = exit.code();
            report.signal = exit.signal();
            let by_flow = report.timed_out || report.cancelled || report.over_budget;
            if let (Some((command, _)), Some(signal), false) = (&direct, report.signal, by_flow) {
                // What bash would have made of its command's death.
                let (code, note) = direct::killed_note(signal, &spec.script_file, pid, command);
                report.exit_code = Some(code);
                report.signal = None;
                if let Some(note) = note {
                    append_note(&spec, &sink, &note, &mut report);
                }
            }
        }
        Err(e) => {
            // The orphaned leader came back to `flow` (a subreaper).
            reap_group(pgid).await;
            report.add_error(e);
        }
    }
    if let Some(t) = tail {
        report.status_json = status::find_status(t.bytes());
    }
    // Most stages write no usage file: one `lstat` here spares them the
    // blocking thread that reading one takes.
    if let Some(file) = spec
        .usage_file
        .as_deref()
        .filter(|f| f.symlink_metadata().is_ok())
    {
        report.file_usage = read_usage(file).await;
    }
    report.duration = started.elapsed();
    report
}

/// [`Usage::read_file`] off the event loop.
async fn read_usage(file: &Path) -> Option<Usage> {
    let file = file.to_path_buf();
    tokio::task::spawn_blocking(move || Usage::read_file(&file))
        .await
        .ok()
        .flatten()
}

/// The argv that runs the script with the stage's shell: `SHELL… FILE`,
/// or `SHELL… -c SCRIPT FILE` for a simple command (whose file is not
/// written).
fn shell_argv(spec: &AttemptSpec) -> Vec<OsString> {
    let mut argv: Vec<OsString> = if spec.shell.is_empty() {
        DEFAULT_SHELL.iter().map(OsString::from).collect()
    } else {
        spec.shell.iter().map(OsString::from).collect()
    };
    if let Some(command) = &spec.command {
        argv.push("-c".into());
        argv.push(command.script.clone().into());
    }
    argv.push(spec.script_file.clone().into_os_string());
    argv
}

/// Adds a line of `flow`'s to the attempt's output after it ended: to the
/// log and the live output, masked like the rest.
fn append_note(
    spec: &AttemptSpec,
    sink: &Arc<dyn OutputSink>,
    note: &str,
    report: &mut AttemptReport,
) {
    use std::io::Write;
    let masked = spec.masker.mask(note.as_bytes());
    let written = output::open_log(&spec.log_path, true).and_then(|mut f| f.write_all(&masked));
    match written {
        Ok(()) => report.log_bytes += masked.len() as u64,
        Err(e) => report.add_error(format!("writing {}: {e}", spec.log_path.display())),
    }
    sink.lines(&spec.label, &masked);
}

/// `flow`'s environment with `extra` on top (later entries win when the
/// supervisor applies them in order).
fn full_env(extra: &[(String, String)]) -> Vec<(OsString, OsString)> {
    // Read once: flow never changes its own environment, and a run starts
    // hundreds of attempts.
    static OWN: std::sync::OnceLock<Vec<(OsString, OsString)>> = std::sync::OnceLock::new();
    let own = OWN.get_or_init(|| std::env::vars_os().collect());
    let mut env = Vec::with_capacity(own.len() + extra.len());
    env.extend(own.iter().cloned());
    env.extend(extra.iter().map(|(k, v)| (k.into(), v.into())));
    env
}

/// Waits for the leader, enforcing the timeout and cancellation.
async fn supervise(
    child: &mut Running,
    pgid: Pid,
    spec: &AttemptSpec,
    activity: &Activity,
    cancel: &mut watch::Receiver<bool>,
    report: &mut AttemptReport,
) -> Result<Exit, String> {
    let timeout = async {
        match spec.timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    // Sleeps until `idle` after the last output, again while output came
    // meanwhile: no timer per write.
    let silence = async {
        let Some(idle) = spec.idle else {
            return std::future::pending().await;
        };
        loop {
            let last = activity.last();
            tokio::time::sleep_until((last + idle).into()).await;
            if activity.last() == last {
                return;
            }
        }
    };
    // Reads the usage file a few times a second: a file, not a pipe, so
    // that any stage can report without sharing its output.
    let over_budget = async {
        let (Some(left), Some(file)) = (spec.budget, &spec.usage_file) else {
            return std::future::pending().await;
        };
        let mut tick = tokio::time::interval(BUDGET_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if read_usage(file).await.is_some_and(|u| left.crossed_by(&u)) {
                return;
            }
        }
    };
    let cancelled = async {
        // A dropped sender means nobody can cancel any more.
        if cancel.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        s = child.wait() => return s,
        () = timeout => report.timed_out = true,
        () = silence => {
            report.timed_out = true;
            report.idle = true;
        }
        () = over_budget => report.over_budget = true,
        () = cancelled => report.cancelled = true,
    }
    signal_group(pgid, Signal::SIGTERM);
    tokio::select! {
        s = child.wait() => s,
        () = tokio::time::sleep(spec.grace) => {
            signal_group(pgid, Signal::SIGKILL);
            child.wait().await
        }
    }
}

/// When an attempt last wrote output (or started): what `idle` measures.
/// Updated by the output relay after each read, read by [`supervise`].
#[derive(Debug)]
pub(crate) struct Activity {
    start: Instant,
    /// Nanoseconds from `start` to the last output.
    last: std::sync::atomic::AtomicU64,
}

impl Activity {
    pub(crate) fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Output came now.
    pub(crate) fn touch(&self) {
        let nanos = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last.store(nanos, std::sync::atomic::Ordering::Relaxed);
    }

    /// When output last came (the start if none did).
    fn last(&self) -> Instant {
        let nanos = self.last.load(std::sync::atomic::Ordering::Relaxed);
        self.start + Duration::from_nanos(nanos)
    }
}

/// Signals a process group; a group that no longer exists is fine.
pub(crate) fn signal_group(pgid: Pid, sig: Signal) {
    match killpg(pgid, sig) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => tracing::warn!("killpg({pgid}, {sig}): {e}"),
    }
}

/// Reaps the group's remaining (re-parented, killed) members so no zombie is
/// left. Only `waitpid(-pgid)`: never touches other children.
pub(crate) async fn reap_group(pgid: Pid) {
    let group = Pid::from_raw(-pgid.as_raw());
    let _ = tokio::task::spawn_blocking(move || {
        let until = Instant::now() + REAP_LIMIT;
        loop {
            match waitpid(group, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => {
                    if Instant::now() > until {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(_) | Err(Errno::EINTR) => {}
                // ECHILD: no member of the group is our child any more.
                Err(_) => break,
            }
        }
    })
    .await;
}
