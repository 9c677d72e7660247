//! Running one attempt of a stage as a supervised process group.
//!
//! # Theory of operation
//!
//! * The script runs as `bash --noprofile --norc -c SCRIPT`: the text reaches
//!   bash byte-for-byte as one argv entry (no temp file, no quoting). No
//!   `-e`: the script decides its own error handling, as the language doc
//!   says the body is passed as written.
//! * The child gets its own process group (`process_group(0)`, so its pgid
//!   is its pid), stdin `/dev/null`, stdout and stderr piped, a fresh cwd and
//!   the inherited environment plus the attempt's variables.
//! * On stage timeout or cancellation the whole group gets SIGTERM; if the
//!   leader has not exited after `grace`, the group gets SIGKILL.
//! * Whatever happened, once the leader has exited the group gets SIGKILL:
//!   nothing a stage started outlives it (`sleep 300 &` would otherwise keep
//!   running and keep the pipes open, so output would never reach EOF).
//! * `flow` is a child subreaper ([`init_supervisor`]): orphaned members of
//!   the group are re-parented to it, and are reaped with
//!   `waitpid(-pgid, WNOHANG)` on a blocking thread. Never `waitpid(-1)`,
//!   which would steal exit statuses from tokio.
//! * Output is streamed (see [`crate::output`]); only a bounded tail of
//!   stdout is kept, for the structured status.
//!
//! Known limits: a process that leaves the group (`setsid`) escapes the kill;
//! if it keeps the pipes open, output collection gives up after
//! [`DRAIN_LIMIT`].

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use serde_json::{Map, Value};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};

use crate::output::{self, Masker, OutputSink, CHANNEL_CHUNKS};
use crate::scheduler::AttemptResult;
use crate::status::{self, Tail, TAIL_BYTES};

/// How long output is still read after the group was killed, for pipes held
/// open by a process that escaped the group.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// How long reaping waits for killed group members to die.
const REAP_LIMIT: Duration = Duration::from_secs(5);

/// Everything needed to run one attempt.
#[derive(Debug, Clone)]
pub struct AttemptSpec {
    /// The bash script, byte-for-byte.
    pub script: String,
    /// The working directory (must exist).
    pub cwd: PathBuf,
    /// Variables added to the inherited environment.
    pub env: Vec<(String, String)>,
    /// Per-attempt time limit.
    pub timeout: Option<Duration>,
    /// SIGTERM → SIGKILL delay.
    pub grace: Duration,
    /// Where the raw (masked) stdout+stderr go.
    pub log_path: PathBuf,
    /// Prefix of live output lines (`[label] …`), usually the stage name.
    pub label: String,
    /// Secret masking for log and live output.
    pub masker: Arc<Masker>,
    /// Look for a structured status in stdout.
    pub status_json: bool,
}

/// How an attempt ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttemptReport {
    /// The process id (= process group id), if it was spawned.
    pub pid: Option<u32>,
    /// Exit code, when the leader exited normally.
    pub exit_code: Option<i32>,
    /// The signal that killed the leader.
    pub signal: Option<i32>,
    /// The stage timeout expired.
    pub timed_out: bool,
    /// Killed on request: the run was cancelled (Ctrl-C, SIGTERM) or hit
    /// the flow `timeout` (the scheduler's `KillRunning`). A failure of
    /// another stage never kills a running attempt: it only stops new ones.
    pub cancelled: bool,
    /// The structured status object (`status json`).
    pub status_json: Option<Map<String, Value>>,
    /// Why the attempt could not run or its output could not be kept.
    pub error: Option<String>,
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
        // A log write error does not change the outcome: the process ran.
        let error = if self.pid.is_none() {
            self.error.clone()
        } else {
            None
        };
        AttemptResult {
            exit_code: self.exit_code,
            timed_out: self.timed_out,
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

/// Runs one attempt to completion: spawns it, streams its output to the log
/// and `sink`, enforces the timeout, obeys `cancel` (true = terminate), then
/// kills and reaps what is left of its process group. `on_started` is called
/// with the pid right after the spawn (the journal's `stage_started`).
pub async fn run_attempt(
    spec: AttemptSpec,
    sink: Arc<dyn OutputSink>,
    mut cancel: watch::Receiver<bool>,
    on_started: impl FnOnce(u32),
) -> AttemptReport {
    init_supervisor();
    if let Some(dir) = spec.log_path.parent() {
        if let Err(e) = std::fs::create_dir_all(dir) {
            return AttemptReport::failed(format!("cannot create {}: {e}", dir.display()));
        }
    }
    let log = match std::fs::File::create(&spec.log_path) {
        Ok(f) => f,
        Err(e) => {
            return AttemptReport::failed(format!("cannot create {}: {e}", spec.log_path.display()))
        }
    };
    let mut cmd = Command::new("bash");
    cmd.arg("--noprofile")
        .arg("--norc")
        .arg("-c")
        .arg(&spec.script)
        .current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let started = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return AttemptReport::failed(format!(
                "cannot start bash in {}: {e}",
                spec.cwd.display()
            ))
        }
    };
    let Some(pid) = child.id() else {
        return AttemptReport::failed("the process vanished right after spawning".into());
    };
    let pgid = Pid::from_raw(pid as i32);
    on_started(pid);

    // Output: two pumps into one writer thread.
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let tail = spec.status_json.then(|| Tail::new(TAIL_BYTES));
    let out_pump = child
        .stdout
        .take()
        .map(|o| tokio::spawn(output::pump(o, tx.clone(), tail)));
    let err_pump = child
        .stderr
        .take()
        .map(|e| tokio::spawn(output::pump(e, tx, None)));
    let writer = {
        let (masker, sink, label) = (spec.masker.clone(), sink, spec.label.clone());
        tokio::task::spawn_blocking(move || output::write_loop(rx, log, masker, sink, label))
    };

    let mut report = AttemptReport {
        pid: Some(pid),
        ..AttemptReport::default()
    };
    let status = supervise(&mut child, pgid, &spec, &mut cancel, &mut report).await;
    // The leader is gone: end the rest of its group, whatever it was doing.
    signal_group(pgid, Signal::SIGKILL);

    // Finish reading (EOF once every holder of the pipes is dead). Aborting
    // a stuck pump drops its sender, which lets the writer finish.
    let aborts: Vec<_> = out_pump
        .iter()
        .chain(err_pump.iter())
        .map(|h| h.abort_handle())
        .collect();
    let pumps = async {
        let tail = match out_pump {
            Some(h) => h.await.ok().and_then(|r| r.ok()).flatten(),
            None => None,
        };
        if let Some(h) = err_pump {
            let _ = h.await;
        }
        tail
    };
    let tail = match tokio::time::timeout(DRAIN_LIMIT, pumps).await {
        Ok(tail) => tail,
        Err(_) => {
            aborts.iter().for_each(|a| a.abort());
            report.add_error("output pipes still open after the process group was killed".into());
            None
        }
    };
    match writer.await {
        Ok(Ok(n)) => report.log_bytes = n,
        Ok(Err(e)) => report.add_error(format!("writing {}: {e}", spec.log_path.display())),
        Err(e) => report.add_error(format!("output writer failed: {e}")),
    }
    reap_group(pgid).await;

    match status {
        Ok(s) => {
            report.exit_code = s.code();
            report.signal = s.signal();
        }
        Err(e) => report.add_error(format!("waiting for the process: {e}")),
    }
    if let Some(t) = tail {
        report.status_json = status::find_status(t.bytes());
    }
    report.duration = started.elapsed();
    report
}

/// Waits for the leader, enforcing the timeout and cancellation.
async fn supervise(
    child: &mut Child,
    pgid: Pid,
    spec: &AttemptSpec,
    cancel: &mut watch::Receiver<bool>,
    report: &mut AttemptReport,
) -> std::io::Result<ExitStatus> {
    let timeout = async {
        match spec.timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
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

/// Signals a process group; a group that no longer exists is fine.
fn signal_group(pgid: Pid, sig: Signal) {
    match killpg(pgid, sig) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => tracing::warn!("killpg({pgid}, {sig}): {e}"),
    }
}

/// Reaps the group's remaining (re-parented, killed) members so no zombie is
/// left. Only `waitpid(-pgid)`: never touches other children.
async fn reap_group(pgid: Pid) {
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
