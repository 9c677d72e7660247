//! One attempt as the driver performs it: wait for a job slot, prepare the
//! working directory, run, collect outputs, journal, report back.
//!
//! The `▶ started` notice is printed here, right after `stage_started` is
//! journaled (once the process is spawned), so an attempt cancelled while
//! it waits for a `--jobs` slot, or one that cannot start, never prints it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, Semaphore};

use crate::artifacts;
use crate::journal::{Journal, JournalEvent};
use crate::output::{Masker, OutputSink};
use crate::process::{run_attempt, AttemptReport, AttemptSpec};
use crate::supervisor::Supervisor;
use flow_dsl::ir::StageId;

/// Message from an attempt or timer task to the driver.
#[derive(Debug)]
pub(super) enum Msg {
    /// An attempt ended (the driver journals its `stage_finished`).
    Finished {
        /// The stage.
        stage: StageId,
        /// 1-based visit.
        visit: u32,
        /// 1-based attempt.
        attempt: u32,
        /// How it ended.
        report: AttemptReport,
    },
    /// A `StartAfter` delay passed.
    Timer {
        /// The stage.
        stage: StageId,
    },
}

/// Everything an attempt task owns.
pub(super) struct AttemptJob {
    pub stage: StageId,
    pub name: String,
    pub visit: u32,
    pub attempt: u32,
    /// The stage's `shell` (argv prefix).
    pub shell: Vec<String>,
    /// The file holding the stage's script.
    pub script_file: PathBuf,
    pub timeout: Option<Duration>,
    pub grace: Duration,
    pub status_json: bool,
    pub outputs: Vec<String>,
    /// `Err` when the environment could not be built (an `env` expression
    /// failed): the attempt is reported failed without running.
    pub env: Result<Vec<(String, String)>, String>,
    pub cwd: PathBuf,
    pub log: PathBuf,
    /// `artifacts/<need>/` of each need.
    pub need_dirs: Vec<PathBuf>,
    /// `artifacts/<stage>/`.
    pub artifacts: PathBuf,
}

/// Shared by every attempt of a run.
#[derive(Clone)]
pub(super) struct AttemptShared {
    pub journal: Arc<Journal>,
    pub jobs: Arc<Semaphore>,
    pub sink: Arc<dyn OutputSink>,
    pub masker: Arc<Masker>,
    pub tx: mpsc::UnboundedSender<Msg>,
    /// The parent of every attempt process of the run.
    pub supervisor: Arc<Supervisor>,
}

impl AttemptShared {
    fn journal(&self, event: &JournalEvent) {
        self.journal.record(event);
    }
}

/// Runs `job` (see the module docs). `kill` true before the start means the
/// attempt is not run at all.
pub(super) async fn perform(job: AttemptJob, shared: AttemptShared, kill: watch::Receiver<bool>) {
    // Held until the attempt is over: caps concurrently running attempts.
    let _permit = shared.jobs.clone().acquire_owned().await;
    let report = run_job(&job, &shared, kill).await;
    // The driver journals `stage_finished` when it takes this message, so
    // the journal holds attempt ends in the order the scheduler consumed
    // them (replay needs that order). The driver outlives every attempt; a
    // send error means it already gave up.
    let _ = shared.tx.send(Msg::Finished {
        stage: job.stage,
        visit: job.visit,
        attempt: job.attempt,
        report,
    });
}

async fn run_job(
    job: &AttemptJob,
    shared: &AttemptShared,
    kill: watch::Receiver<bool>,
) -> AttemptReport {
    let failed = AttemptReport::failed;
    if *kill.borrow() {
        return AttemptReport {
            cancelled: true,
            ..failed("cancelled before it started".into())
        };
    }
    let env = match &job.env {
        Ok(env) => env.clone(),
        Err(e) => return failed(e.clone()),
    };
    let (cwd, needs) = (job.cwd.clone(), job.need_dirs.clone());
    let prepared =
        tokio::task::spawn_blocking(move || artifacts::prepare_attempt_dir(&cwd, &needs)).await;
    match prepared {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return failed(format!("cannot prepare {}: {e}", job.cwd.display())),
        Err(e) => return failed(format!("cannot prepare {}: {e}", job.cwd.display())),
    }
    let spec = AttemptSpec {
        shell: job.shell.clone(),
        script_file: job.script_file.clone(),
        cwd: job.cwd.clone(),
        env,
        timeout: job.timeout,
        grace: job.grace,
        log_path: job.log.clone(),
        label: job.name.clone(),
        masker: shared.masker.clone(),
        status_json: job.status_json,
    };
    let dir = job.cwd.to_string_lossy().into_owned();
    let report = run_attempt(&shared.supervisor, spec, shared.sink.clone(), kill, |pid| {
        shared.journal(&JournalEvent::StageStarted {
            stage: job.name.clone(),
            visit: job.visit,
            attempt: job.attempt,
            pid: Some(pid),
            dir,
        });
        // After the journal line (journal before report), before any output.
        shared.sink.notice(&started_notice(job));
    })
    .await;
    if report.pid.is_some() {
        collect(job, shared, &report).await;
    }
    report
}

/// The live line for a spawned attempt: `▶ build started`, with
/// `(visit 2, attempt 1)` after the first.
fn started_notice(job: &AttemptJob) -> String {
    let (visit, attempt) = (job.visit, job.attempt);
    if visit > 1 || attempt > 1 {
        format!("▶ {} started (visit {visit}, attempt {attempt})", job.name)
    } else {
        format!("▶ {} started", job.name)
    }
}

/// Collects outputs (and result.json) after an attempt that ran. A problem
/// is journaled as a warning; it does not change the attempt's outcome.
async fn collect(job: &AttemptJob, shared: &AttemptShared, report: &AttemptReport) {
    if job.outputs.is_empty() && report.status_json.is_none() {
        return;
    }
    let (cwd, outputs, dest) = (job.cwd.clone(), job.outputs.clone(), job.artifacts.clone());
    let result = report.status_json.clone();
    let done = tokio::task::spawn_blocking(move || {
        artifacts::collect_outputs(&cwd, &outputs, &dest, result.as_ref())
    })
    .await;
    let warning = match done {
        Ok(Ok(c)) if c.unmatched.is_empty() => None,
        Ok(Ok(c)) => Some(format!(
            "outputs matched nothing: {}",
            c.unmatched.join(", ")
        )),
        Ok(Err(e)) => Some(e.to_string()),
        Err(e) => Some(format!("collecting outputs: {e}")),
    };
    if let Some(message) = warning {
        shared.journal(&JournalEvent::Warning {
            stage: Some(job.name.clone()),
            message,
        });
    }
}
