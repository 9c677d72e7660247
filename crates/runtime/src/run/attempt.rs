//! One attempt as the driver performs it: prepare the working directory,
//! run, collect outputs, journal, report back. The driver starts it only
//! once a `--jobs` slot is free.
//!
//! The `▶ started` notice is printed here, right after `stage_started` is
//! journaled (once the process is spawned), so an attempt cancelled before
//! it starts, or one that cannot start, never prints it.
//!
//! Outputs are collected off the event loop ([`COLLECT_LIMIT`], the kill
//! switch stop it). A required output without a usable match, or a copy
//! that fails, fails an attempt that otherwise succeeded; a skipped bad
//! match is a `warning` (journal, then a notice).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

use crate::artifacts::{self, ArtifactError, OutputSpec};
use crate::builtin::{run_builtin, BuiltinFn, BuiltinSpec};
use crate::direct::SimpleCommand;
use crate::journal::{Journal, JournalEvent};
use crate::output::{Masker, OutputSink};
use crate::process::{run_attempt, AttemptReport, AttemptSpec};
use crate::supervisor::Supervisor;
use flow_dsl::ir::StageId;

/// How long collecting an attempt's outputs may take before it is given
/// up (the attempt then fails).
pub(super) const COLLECT_LIMIT: Duration = Duration::from_secs(300);

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
        /// How it ended (boxed: a report is large beside a timer tick).
        report: Box<AttemptReport>,
        /// Why its outputs fail an attempt that otherwise succeeded (a
        /// required output matched nothing, a copy failed), masked.
        outputs_failed: Option<String>,
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
    /// The file holding the stage's script (see [`AttemptSpec::script_file`]).
    pub script_file: PathBuf,
    /// The script as one simple command, if it is one.
    pub command: Option<Arc<SimpleCommand>>,
    pub timeout: Option<Duration>,
    /// The stage's `idle` limit.
    pub idle: Option<Duration>,
    /// `$FLOW_USAGE_FILE` of the attempt.
    pub usage_file: PathBuf,
    /// What it may use before it crosses its budget, if it has one.
    pub budget: Option<crate::usage::Allowance>,
    pub grace: Duration,
    pub status_json: bool,
    pub outputs: Vec<String>,
    pub optional_outputs: Vec<String>,
    /// `Err` when the environment could not be built (an `env` expression
    /// failed): the attempt is reported failed without running.
    pub env: Result<Vec<(String, String)>, String>,
    pub cwd: PathBuf,
    pub log: PathBuf,
    /// `artifacts/<need>/` of each need.
    pub need_dirs: Vec<PathBuf>,
    /// `artifacts/<stage>/`.
    pub artifacts: PathBuf,
    /// A builtin stage (`run builtin "NAME"`): NAME, and the function the
    /// program registered as NAME (`None`: not registered, the attempt
    /// fails without running). `None` for a script stage.
    pub builtin: Option<(String, Option<Arc<dyn BuiltinFn>>)>,
    /// Where this attempt's outputs are staged before they replace
    /// `artifacts` (next to it, unique to the attempt).
    pub staging: PathBuf,
}

/// Shared by every attempt of a run.
#[derive(Clone)]
pub(super) struct AttemptShared {
    pub journal: Arc<Journal>,
    pub sink: Arc<dyn OutputSink>,
    pub masker: Arc<Masker>,
    pub tx: mpsc::UnboundedSender<Msg>,
    /// The parent of every attempt process of the run.
    pub supervisor: Arc<Supervisor>,
    /// Folders of ended attempts that were left empty, for later attempts
    /// (see [`artifacts::SpareFolders`]).
    pub spares: Arc<artifacts::SpareFolders>,
}

impl AttemptShared {
    fn journal(&self, event: &JournalEvent) {
        self.journal.record(event);
    }

    /// A warning: journaled, then shown (`⚠ stage: message`).
    fn warn(&self, stage: &str, message: String) {
        let notice = format!("⚠ {stage}: {message}");
        self.journal(&JournalEvent::Warning {
            stage: Some(stage.to_string()),
            message,
        });
        self.sink.notice(&notice);
    }
}

/// Runs `job` (see the module docs). `kill` true before the start means the
/// attempt is not run at all.
pub(super) async fn perform(job: AttemptJob, shared: AttemptShared, kill: watch::Receiver<bool>) {
    let (report, outputs_failed) = run_job(&job, &shared, kill).await;
    // The driver journals `stage_finished` when it takes this message, so
    // the journal holds attempt ends in the order the scheduler consumed
    // them (replay needs that order). The driver outlives every attempt; a
    // send error means it already gave up.
    let _ = shared.tx.send(Msg::Finished {
        stage: job.stage,
        visit: job.visit,
        attempt: job.attempt,
        report: Box::new(report),
        outputs_failed,
    });
}

/// The attempt's report, and why its outputs fail it (if they do).
async fn run_job(
    job: &AttemptJob,
    shared: &AttemptShared,
    kill: watch::Receiver<bool>,
) -> (AttemptReport, Option<String>) {
    let failed = |e: String| (AttemptReport::failed(e), None);
    if *kill.borrow() {
        let report = AttemptReport {
            cancelled: true,
            ..AttemptReport::failed("cancelled before it started".into())
        };
        return (report, None);
    }
    let env = match &job.env {
        Ok(env) => env.clone(),
        Err(e) => return failed(e.clone()),
    };
    // Copying artifacts can take long: off the event loop. An empty folder
    // is two `mkdir`s: here.
    let needs: Vec<PathBuf> = job
        .need_dirs
        .iter()
        .filter(|d| d.is_dir())
        .cloned()
        .collect();
    let prepared = if needs.is_empty() {
        shared.spares.prepare(&job.cwd)
    } else {
        let cwd = job.cwd.clone();
        tokio::task::spawn_blocking(move || artifacts::prepare_attempt_dir(&cwd, &needs))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    };
    if let Err(e) = prepared {
        return failed(format!("cannot prepare {}: {e}", job.cwd.display()));
    }
    let stop_collecting = kill.clone();
    let report = match &job.builtin {
        Some((name, function)) => {
            let Some(function) = function.clone() else {
                return failed(format!("builtin `{name}` is not registered by the program"));
            };
            let report = builtin_attempt(job, shared, function, env, kill).await;
            if report.error.is_some() {
                return (report, None);
            }
            report
        }
        None => {
            let report = script_attempt(job, shared, env, kill).await;
            if report.pid.is_none() {
                return (report, None);
            }
            report
        }
    };
    let problem = collect(job, shared, &report, stop_collecting).await;
    // Every process of the attempt is gone and its outputs are collected:
    // an empty folder can serve a later attempt. Not after a problem (pipes
    // held open may mean a process escaped the group and works there).
    if report.error.is_none() {
        shared.spares.offer(&job.cwd);
    }
    // Only an attempt that otherwise succeeded fails for its outputs: a
    // failed one keeps its own reason (and its `exit N` routes), and the
    // problem is a warning.
    let clean = report.exit_code == Some(0) && !report.timed_out && !report.cancelled;
    match problem {
        Some(problem) if !clean => {
            shared.warn(&job.name, problem);
            (report, None)
        }
        problem => (report, problem),
    }
}

/// Runs a builtin stage's attempt in the prepared folder (see
/// [`crate::builtin`]); a log it could not write is a warning.
async fn builtin_attempt(
    job: &AttemptJob,
    shared: &AttemptShared,
    function: Arc<dyn BuiltinFn>,
    env: Vec<(String, String)>,
    kill: watch::Receiver<bool>,
) -> AttemptReport {
    let spec = BuiltinSpec {
        function,
        stage: job.name.clone(),
        visit: job.visit,
        attempt: job.attempt,
        cwd: job.cwd.clone(),
        env,
        timeout: job.timeout,
        grace: job.grace,
        log_path: job.log.clone(),
        masker: shared.masker.clone(),
        status_json: job.status_json,
    };
    let dir = job.cwd.to_string_lossy().into_owned();
    let (report, problem) = run_builtin(spec, shared.sink.clone(), kill, || {
        shared.journal(&JournalEvent::StageStarted {
            stage: job.name.clone(),
            visit: job.visit,
            attempt: job.attempt,
            pid: None,
            dir,
        });
        shared.sink.notice(&started_notice(job));
    })
    .await;
    if let Some(problem) = problem {
        shared.warn(&job.name, problem);
    }
    report
}

/// Runs a script stage's attempt in the prepared folder, as a process
/// group of the run's supervisor.
async fn script_attempt(
    job: &AttemptJob,
    shared: &AttemptShared,
    env: Vec<(String, String)>,
    kill: watch::Receiver<bool>,
) -> AttemptReport {
    let spec = AttemptSpec {
        shell: job.shell.clone(),
        script_file: job.script_file.clone(),
        command: job.command.clone(),
        cwd: job.cwd.clone(),
        env,
        timeout: job.timeout,
        idle: job.idle,
        usage_file: Some(job.usage_file.clone()),
        budget: job.budget,
        grace: job.grace,
        log_path: job.log.clone(),
        label: job.name.clone(),
        masker: shared.masker.clone(),
        status_json: job.status_json,
    };
    let dir = job.cwd.to_string_lossy().into_owned();
    run_attempt(&shared.supervisor, spec, shared.sink.clone(), kill, |pid| {
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
    .await
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

/// Collects outputs (and result.json) after an attempt that ran, on a
/// blocking thread, for at most [`COLLECT_LIMIT`] and until `kill`.
/// Skipped matches are warnings; returns why the outputs fail the attempt
/// (masked), if they do.
async fn collect(
    job: &AttemptJob,
    shared: &AttemptShared,
    report: &AttemptReport,
    mut kill: watch::Receiver<bool>,
) -> Option<String> {
    if job.outputs.is_empty() && job.optional_outputs.is_empty() && !job.status_json {
        return None;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let task = {
        let job_cwd = job.cwd.clone();
        let (required, optional) = (job.outputs.clone(), job.optional_outputs.clone());
        let (dest, staging) = (job.artifacts.clone(), job.staging.clone());
        // result.json is written by flow: masked like everything it writes.
        let result = report
            .status_json
            .as_ref()
            .map(|o| shared.masker.mask_object(o));
        let stop = stop.clone();
        tokio::task::spawn_blocking(move || {
            let spec = OutputSpec {
                required: &required,
                optional: &optional,
            };
            artifacts::collect_outputs(&job_cwd, spec, &dest, &staging, result.as_ref(), &stop)
        })
    };
    let killed = async {
        if kill.wait_for(|k| *k).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let done = tokio::select! {
        done = task => done,
        () = tokio::time::sleep(COLLECT_LIMIT) => {
            stop.store(true, Ordering::Relaxed);
            return Some(format!(
                "collecting outputs took longer than {}",
                humantime::format_duration(COLLECT_LIMIT)
            ));
        }
        () = killed => {
            stop.store(true, Ordering::Relaxed);
            return Some("output collection was cancelled".into());
        }
    };
    let mask = |text: String| shared.masker.mask_str(&text).into_owned();
    let collected = match done {
        Ok(Ok(c)) => c,
        Ok(Err(ArtifactError::Stopped)) => return Some("output collection was stopped".into()),
        Ok(Err(e)) => return Some(mask(format!("collecting outputs: {e}"))),
        Err(e) => return Some(mask(format!("collecting outputs: {e}"))),
    };
    if !collected.skipped.is_empty() {
        let list: Vec<String> = collected.skipped.iter().map(ToString::to_string).collect();
        shared.warn(
            &job.name,
            mask(format!("outputs skipped: {}", list.join("; "))),
        );
    }
    if collected.missing.is_empty() {
        return None;
    }
    let list: Vec<String> = collected.missing.iter().map(|p| format!("`{p}`")).collect();
    let (one, many) = ("output", "outputs");
    let noun = if list.len() == 1 { one } else { many };
    Some(mask(format!("{noun} {} matched nothing", list.join(", "))))
}
