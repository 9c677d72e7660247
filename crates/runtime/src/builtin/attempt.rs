//! One attempt of a builtin stage, as the attempt task runs it in place of
//! a process (see the parent module for the rules).
//!
//! The builtin's future runs as a task of its own, so a panic in it is the
//! attempt's failure (`builtin panicked: …`), never the driver's. The
//! attempt ends when the future returns, or when its `timeout` expires or
//! the run is cancelled: then the context's stop signal fires, the future
//! has `grace` to return (its result is then ignored: the attempt timed
//! out or was cancelled, as a script that exits after SIGTERM), and it is
//! dropped (aborted) after that.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

use super::context::AttemptLog;
use super::{BuiltinContext, BuiltinFn};
use crate::output::{Masker, OutputSink};
use crate::process::AttemptReport;

/// Everything one builtin attempt needs.
pub(crate) struct BuiltinSpec {
    /// The registered function.
    pub function: Arc<dyn BuiltinFn>,
    /// The stage's name (also the live output's label).
    pub stage: String,
    /// 1-based visit.
    pub visit: u32,
    /// 1-based attempt within the visit.
    pub attempt: u32,
    /// The attempt folder, made and filled already.
    pub cwd: PathBuf,
    /// The attempt's variables (as a script's, without the program's own
    /// environment).
    pub env: Vec<(String, String)>,
    /// The stage's `timeout`.
    pub timeout: Option<Duration>,
    /// How long a stopped builtin may take to return before it is dropped.
    pub grace: Duration,
    /// `logs/<stage>.<visit>.<attempt>.log`.
    pub log_path: PathBuf,
    /// The run's secrets.
    pub masker: Arc<Masker>,
    /// `status json`: keep the outcome's status object.
    pub status_json: bool,
}

/// Runs one attempt of a builtin (see the module docs). `on_started` is
/// called right before the function is (the journal's `stage_started`).
/// Returns the report (no pid: no process) and a problem that does not
/// change the outcome (the log could not be written), to be warned about.
pub(crate) async fn run_builtin(
    spec: BuiltinSpec,
    sink: Arc<dyn OutputSink>,
    mut kill: watch::Receiver<bool>,
    on_started: impl FnOnce(),
) -> (AttemptReport, Option<String>) {
    let started = Instant::now();
    let (stop_tx, stop_rx) = watch::channel(false);
    let log = Arc::new(AttemptLog::new(
        spec.log_path.clone(),
        spec.stage.clone(),
        spec.masker.clone(),
        sink,
    ));
    let ctx = BuiltinContext {
        stage: spec.stage.clone(),
        visit: spec.visit,
        attempt: spec.attempt,
        dir: spec.cwd.clone(),
        env: Arc::new(spec.env),
        stop: stop_rx,
        log: log.clone(),
    };
    on_started();
    let mut task = tokio::spawn(spec.function.call(ctx));
    // A timeout too large for the clock never expires.
    let deadline = spec
        .timeout
        .and_then(|t| tokio::time::Instant::now().checked_add(t));
    let mut report = AttemptReport::default();
    let killed = async {
        if kill.wait_for(|k| *k).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let ended = tokio::select! {
        joined = &mut task => Some(joined),
        () = sleep_until(deadline) => {
            report.timed_out = true;
            None
        }
        () = killed => {
            report.cancelled = true;
            None
        }
    };
    match ended {
        Some(Ok(Ok(outcome))) => {
            report.exit_code = Some(0);
            if spec.status_json {
                report.status_json = outcome.status;
            }
        }
        Some(Ok(Err(error))) => {
            log.write(&format!("error: {}", error.message()));
            report.exit_code = Some(i32::from(error.exit_code()));
        }
        Some(Err(joined)) => report.error = Some(join_failure(joined)),
        None => {
            // SIGTERM's counterpart, then SIGKILL's after `grace`.
            let _ = stop_tx.send(true);
            if tokio::time::timeout(spec.grace, &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
            }
        }
    }
    report.duration = started.elapsed();
    report.log_bytes = log.bytes();
    (report, log.error())
}

/// Why the builtin's task ended without a result: a panic (its message)
/// or an abort.
fn join_failure(e: tokio::task::JoinError) -> String {
    if !e.is_panic() {
        return "builtin was aborted".into();
    }
    let payload = e.into_panic();
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into());
    format!("builtin panicked: {text}")
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
