//! The event loop: performs the scheduler's decisions and feeds it events.
//!
//! Invariants: the driver is the only owner of the [`Scheduler`] and of the
//! per-stage records expressions see; attempt and timer tasks talk to it
//! only through one channel. Every attempt gets its own kill switch, so a
//! `KillRunning` reaches the attempts alive at that moment and not the
//! `finally` stages started after it.
//!
//! Job slots (`--jobs`) are the driver's: a `Start` beyond the free slots
//! waits in a queue, and a slot frees only when the driver has fed the
//! attempt's end to the scheduler. So a waiting start is decided after
//! every failure that came before it: once the run stopped, it is refused
//! ([`Scheduler::may_start`], `Event::NotStarted`) instead of spawned.

use flow_dsl::expr::StageSnapshot;
use flow_dsl::ir::{EnvValue, Pipeline, StageId};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::approval;
use super::attempt::{self, AttemptJob, AttemptShared, Msg};
use super::report::{outcome_word, RunReport, StageSummary};
use super::RunError;
use crate::env::{attempt_env, AttemptPlace, Exprs};
use crate::journal::{Journal, JournalEvent, WhenAnswer};
use crate::output::{Masker, OutputSink};
use crate::process::AttemptReport;
use crate::rundir;
use crate::rundir::RunDir;
use crate::scheduler::{AttemptResult, Decision, Event, RunOutcome, Scheduler, StageOutcome};
use crate::supervisor::Supervisor;
use crate::usage::{Allowance, Usage};

/// What [`drive`] needs, prepared by [`super::run`].
pub(super) struct Setup<'p> {
    pub pipeline: &'p Pipeline,
    pub dir: RunDir,
    pub journal: Arc<Journal>,
    pub exprs: Exprs,
    pub secrets: Vec<(String, String)>,
    /// Folder of each library, by index.
    pub libs: Vec<PathBuf>,
    pub masker: Arc<Masker>,
    pub sink: Arc<dyn OutputSink>,
    pub jobs: usize,
    /// Ctrl-C / SIGTERM / SIGHUP, listened to since the run started.
    pub signals: Signals,
    pub started: Instant,
    /// The parent of every attempt process.
    pub supervisor: Arc<Supervisor>,
    /// How each stage's script runs, by stage index.
    pub scripts: Vec<super::scripts::StageScript>,
    /// The functions of `run builtin` stages.
    pub builtins: crate::builtin::Builtins,
}

/// What the driver remembers of a stage (rebuilt by `replay` on resume).
#[derive(Debug, Clone)]
pub(super) struct Record {
    pub snapshot: StageSnapshot,
    pub total_attempts: u32,
    pub spent: Duration,
    pub outcome: Option<StageOutcome>,
    /// Why its last attempt failed (`exit code 1`, `timed out after 2m`),
    /// until the retry that follows it is announced.
    pub last_failure: Option<(u32, String)>,
    /// What its attempts used, summed (see [`crate::usage`]).
    pub usage: Option<Usage>,
}

impl Record {
    pub(super) fn new() -> Record {
        Record {
            snapshot: StageSnapshot::pending(),
            total_attempts: 0,
            spent: Duration::ZERO,
            outcome: None,
            last_failure: None,
            usage: None,
        }
    }

    /// An attempt starts.
    pub(super) fn started(&mut self, visit: u32, attempt: u32) {
        self.snapshot.outcome = "running".into();
        self.snapshot.visits = i64::from(visit);
        self.snapshot.attempts = i64::from(attempt);
        self.total_attempts += 1;
    }

    /// An attempt ended. Until the scheduler settles the stage, expressions
    /// see a provisional outcome (succeeded for a clean exit 0, else failed).
    pub(super) fn finished(
        &mut self,
        result: &AttemptResult,
        duration: Duration,
        status_json: Option<serde_json::Value>,
    ) {
        self.spent += duration;
        let snap = &mut self.snapshot;
        snap.exit_code = result.exit_code.map(i64::from);
        snap.status = result.status.clone();
        snap.result = status_json;
        snap.duration = self.spent.as_secs_f64();
        let clean = result.exit_code == Some(0)
            && !result.timed_out
            && !result.over_budget
            && result.error.is_none();
        snap.outcome = if clean { "succeeded" } else { "failed" }.into();
    }

    /// The stage settled.
    pub(super) fn settled(&mut self, outcome: StageOutcome) {
        self.snapshot.outcome = outcome.word().into();
        self.outcome = Some(outcome);
    }
}

/// Where [`drive`] begins: a scheduler rebuilt from a journal (`replay`)
/// and what the resumed run does first.
pub(super) struct Replayed<'p> {
    pub sched: Scheduler<'p>,
    pub records: Vec<Record>,
    /// `Start`s of the attempts to run again (lost or redone).
    pub restarts: Vec<Decision>,
    /// Timers to arm again: stage, delay, `again after` (else a retry).
    pub timers: Vec<(StageId, Duration, bool)>,
}

struct Driver<'p> {
    setup: Setup<'p>,
    records: Vec<Record>,
    /// Kill switch of each attempt not yet reported finished; one per
    /// taken job slot.
    live: HashMap<StageId, watch::Sender<bool>>,
    /// `Start`s waiting for a job slot, first come first served.
    waiting: VecDeque<(StageId, u32, u32)>,
    /// Kill switch of each approval stage waiting for a decision: they
    /// hold no job slot.
    gates: HashMap<StageId, watch::Sender<bool>>,
    timers: Vec<JoinHandle<()>>,
    pending_timers: usize,
    shared: AttemptShared,
}

/// Summary rows of a run where nothing ran (`skip if`).
pub(super) fn untouched(pipeline: &Pipeline) -> Vec<StageSummary> {
    pipeline
        .stages
        .iter()
        .map(|s| StageSummary {
            name: s.name.clone(),
            outcome: None,
            attempts: 0,
            visits: 0,
            duration: Duration::ZERO,
            last_attempt: None,
            usage: None,
        })
        .collect()
}

/// Runs the scheduler loop to the end (see the module docs), from the
/// start or (`flow resume`) from a replayed state.
pub(super) async fn drive<'p>(
    mut setup: Setup<'p>,
    replayed: Option<Replayed<'p>>,
) -> Result<RunReport, RunError> {
    let pipeline = setup.pipeline;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let shared = AttemptShared {
        journal: setup.journal.clone(),
        sink: setup.sink.clone(),
        masker: setup.masker.clone(),
        tx,
        supervisor: setup.supervisor.clone(),
        spares: Arc::default(),
    };
    // The loop below polls the listener beside `d`; a disabled one (which
    // installs nothing) takes its place in the setup.
    let mut signals = std::mem::replace(&mut setup.signals, Signals::new(false));
    let mut d = Driver {
        records: vec![Record::new(); pipeline.stages.len()],
        live: HashMap::new(),
        waiting: VecDeque::new(),
        gates: HashMap::new(),
        timers: Vec::new(),
        pending_timers: 0,
        shared,
        setup,
    };
    // A timeout too large for the clock (`timeout 1000000000y`) never
    // expires, rather than panicking on the addition.
    let deadline = pipeline
        .timeout
        .and_then(|t| tokio::time::Instant::now().checked_add(t));
    let mut timeout_sent = false;
    // The first signal that cancelled the run (it sets the exit code).
    let mut cancelled_by: Option<&'static str> = None;

    let (mut sched, mut outcome) = match replayed {
        None => {
            let mut sched = Scheduler::new(pipeline);
            let first = sched.start(&mut |id| d.when_recorded(id));
            let outcome = d.apply(&mut sched, first);
            (sched, outcome)
        }
        Some(r) => {
            let mut sched = r.sched;
            d.records = r.records;
            for (stage, delay, again) in r.timers {
                d.start_after(stage, delay, again);
            }
            // A run whose end the replay reached (`flow` died between its
            // last settle and `run_finished`) only needs that line.
            let outcome = match sched.run_outcome() {
                Some(end) => d.perform(vec![Decision::RunFinished(end)]),
                None => d.apply(&mut sched, r.restarts),
            };
            (sched, outcome)
        }
    };
    while outcome.is_none() {
        if d.live.is_empty() && d.gates.is_empty() && d.pending_timers == 0 && d.waiting.is_empty()
        {
            d.abort_timers();
            return Err(RunError::Internal(
                "the scheduler stopped with nothing running".into(),
            ));
        }
        let event = tokio::select! {
            msg = rx.recv() => match msg {
                Some(Msg::Finished { stage, visit, attempt, report, outputs_failed }) => {
                    d.finished(stage, visit, attempt, *report, outputs_failed)
                }
                Some(Msg::Timer { stage }) => {
                    d.pending_timers = d.pending_timers.saturating_sub(1);
                    d.journal(&JournalEvent::TimerFired { stage: d.name(stage).to_string() });
                    Event::TimerFired { stage }
                }
                // Unreachable: the driver holds a sender.
                None => return Err(RunError::Internal("event channel closed".into())),
            },
            name = signals.recv() => {
                cancelled_by.get_or_insert(name);
                d.journal(&JournalEvent::CancelRequested { signal: name.into() });
                Event::Cancel
            }
            () = sleep_until(deadline), if !timeout_sent => {
                timeout_sent = true;
                let timeout_ms = pipeline.timeout.unwrap_or_default().as_millis() as u64;
                d.journal(&JournalEvent::RunTimedOut { timeout_ms });
                Event::RunTimeout
            }
        };
        let decisions = sched.handle(event, &mut |id| d.when_recorded(id));
        outcome = d.apply(&mut sched, decisions);
    }
    d.abort_timers();
    let outcome = outcome.unwrap_or(RunOutcome::Succeeded);
    Ok(RunReport {
        run_id: d.setup.dir.id.clone(),
        run_dir: d.setup.dir.root.clone(),
        outcome,
        skipped: false,
        stages: d.summaries(),
        duration: d.setup.started.elapsed(),
        signal: cancelled_by.map(String::from),
    })
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Ctrl-C, SIGTERM and SIGHUP (a closed terminal), when the run handles
/// them, and the program's cancel request ([`super::RunOptions::cancel`]):
/// each cancels the run.
pub(super) struct Signals {
    int: Option<Signal>,
    term: Option<Signal>,
    hup: Option<Signal>,
    request: Option<watch::Receiver<bool>>,
}

/// The `signal` journaled for a cancel the program requested
/// ([`super::RunOptions::cancel`]).
pub const CANCEL_REQUEST: &str = "cancel";

impl Signals {
    pub(super) fn new(enabled: bool) -> Signals {
        Signals::with_request(enabled, None)
    }

    /// Listens to the signals when `enabled`, and to `request` turning
    /// true.
    pub(super) fn with_request(enabled: bool, request: Option<watch::Receiver<bool>>) -> Signals {
        let make = |kind| if enabled { signal(kind).ok() } else { None };
        Signals {
            int: make(SignalKind::interrupt()),
            term: make(SignalKind::terminate()),
            hup: make(SignalKind::hangup()),
            request,
        }
    }

    /// The next signal's name; never returns when disabled.
    pub(super) async fn recv(&mut self) -> &'static str {
        async fn one(s: &mut Option<Signal>) {
            if let Some(s) = s {
                if s.recv().await.is_some() {
                    return;
                }
            }
            std::future::pending().await
        }
        async fn asked(r: &mut Option<watch::Receiver<bool>>) {
            if let Some(r) = r {
                if r.wait_for(|c| *c).await.is_ok() {
                    return;
                }
            }
            std::future::pending().await
        }
        let name = tokio::select! {
            () = one(&mut self.int) => "SIGINT",
            () = one(&mut self.term) => "SIGTERM",
            () = one(&mut self.hup) => "SIGHUP",
            () = asked(&mut self.request) => {
                // Answered once: the request stays true.
                self.request = None;
                CANCEL_REQUEST
            }
        };
        name
    }
}

impl Driver<'_> {
    fn journal(&self, event: &JournalEvent) {
        self.setup.journal.record(event);
    }

    fn name(&self, id: StageId) -> &str {
        &self.setup.pipeline.stage(id).name
    }

    fn snapshots(&self) -> Vec<(String, StageSnapshot)> {
        self.setup
            .pipeline
            .stages
            .iter()
            .zip(&self.records)
            .map(|(s, r)| (s.name.clone(), r.snapshot.clone()))
            .collect()
    }

    /// A stage's `when` answer, journaled (`when_evaluated`) for stages
    /// that have one: the scheduler consumed it, and a replay must get the
    /// same answer.
    fn when_recorded(&self, id: StageId) -> Result<bool, String> {
        let answer = self.when(id);
        if self.setup.pipeline.stage(id).when.is_some() {
            let (value, error) = match &answer {
                Ok(b) => (Some(*b), None),
                Err(e) => (None, Some(e.clone())),
            };
            self.journal(&JournalEvent::WhenEvaluated {
                answer: WhenAnswer {
                    stage: self.name(id).to_string(),
                    value,
                    error,
                },
            });
        }
        answer
    }

    /// A stage's `when` (true without one). An evaluation error is the
    /// `Err` the scheduler fails the stage with (masked: a value in the
    /// message may be a secret).
    fn when(&self, id: StageId) -> Result<bool, String> {
        let Some(cond) = &self.setup.pipeline.stage(id).when else {
            return Ok(true);
        };
        self.setup
            .exprs
            .eval_bool(cond, &self.snapshots())
            .map_err(|message| self.setup.masker.mask_str(&message).into_owned())
    }

    /// Performs `decisions`, then starts the waiting attempts that have a
    /// job slot; a start the scheduler no longer allows is reported as
    /// `NotStarted` and its decisions performed in turn. Returns the run
    /// outcome at the end.
    fn apply(&mut self, sched: &mut Scheduler<'_>, decisions: Vec<Decision>) -> Option<RunOutcome> {
        let mut decisions = decisions;
        loop {
            if let Some(outcome) = self.perform(decisions) {
                return Some(outcome);
            }
            let refused = self.fill_slots(sched)?;
            decisions = sched.handle(Event::NotStarted { stage: refused }, &mut |id| {
                self.when_recorded(id)
            });
        }
    }

    /// Starts waiting attempts while a job slot is free; returns the first
    /// one the scheduler refuses (the run stopped while it waited).
    fn fill_slots(&mut self, sched: &Scheduler<'_>) -> Option<StageId> {
        while self.live.len() < self.setup.jobs {
            let (stage, visit, attempt) = self.waiting.pop_front()?;
            if !sched.may_start(stage) {
                return Some(stage);
            }
            self.start(stage, visit, attempt);
        }
        None
    }

    /// Performs decisions in order; returns the run outcome at the end.
    fn perform(&mut self, decisions: Vec<Decision>) -> Option<RunOutcome> {
        // The stage of a `Routed { from, to: from }` (an `again` route) just
        // performed: the scheduler follows it directly with the poll's
        // `StartAfter`, which tells an `again after` wait from a retry delay.
        let mut again_route: Option<StageId> = None;
        for decision in decisions {
            let routed_again = match &decision {
                Decision::Routed { from, to, .. } if from == to => Some(*from),
                _ => None,
            };
            match decision {
                Decision::Start {
                    stage,
                    visit,
                    attempt,
                } if self.setup.pipeline.stage(stage).approval.is_some() => {
                    self.wait_for_approval(stage, visit, attempt)
                }
                Decision::Start {
                    stage,
                    visit,
                    attempt,
                } => self.waiting.push_back((stage, visit, attempt)),
                Decision::StartAfter { stage, delay } => {
                    self.start_after(stage, delay, again_route == Some(stage))
                }
                Decision::KillRunning => {
                    for kill in self.live.values().chain(self.gates.values()) {
                        let _ = kill.send(true);
                    }
                }
                Decision::Settled { stage, outcome } => self.settled(stage, outcome),
                Decision::Routed { from, on, to } => {
                    let event = JournalEvent::Routed {
                        from: self.name(from).to_string(),
                        on: on.to_string(),
                        to: self.name(to).to_string(),
                    };
                    self.journal(&event);
                    let line = if from == to {
                        format!("↻ {} again on {on}", self.name(from))
                    } else {
                        format!("↪ {} → {} on {on}", self.name(from), self.name(to))
                    };
                    self.setup.sink.notice(&line);
                }
                Decision::RunFinished(outcome) => {
                    let reason = match &outcome {
                        RunOutcome::Failed(why) => Some(why.clone()),
                        _ => None,
                    };
                    self.journal(&JournalEvent::RunFinished {
                        outcome: outcome_word(&outcome),
                        reason,
                        duration_ms: self.setup.started.elapsed().as_millis() as u64,
                    });
                    if let Err(e) = self.setup.journal.sync() {
                        tracing::error!("cannot sync the journal: {e}");
                    }
                    return Some(outcome);
                }
            }
            again_route = routed_again;
        }
        None
    }

    fn start(&mut self, id: StageId, visit: u32, attempt: u32) {
        // A retry without a delay: announce the failed attempt now (with a
        // delay, `start_after` did).
        if let Some((n, why)) = self.records[id.0].last_failure.take() {
            if attempt > 1 {
                let name = self.name(id);
                self.setup.sink.notice(&format!(
                    "↺ {name} attempt {n} failed ({why}); starts again now"
                ));
            }
        }
        self.records[id.0].started(visit, attempt);
        let (setup, pipeline) = (&self.setup, self.setup.pipeline);
        let stage = pipeline.stage(id);
        let place = AttemptPlace {
            run: &setup.dir,
            visit,
            attempt,
            lib: stage
                .library
                .and_then(|i| setup.libs.get(i))
                .map(PathBuf::as_path),
            libs: &setup.libs,
        };
        // Every stage's state, for `env` expressions: copied only when an
        // expression may read it (a copy per start is quadratic in stages).
        let reads_stages = !pipeline.env.is_empty()
            || stage
                .env
                .iter()
                .any(|(_, v)| matches!(v, EnvValue::Expr(_)));
        let snapshots = if reads_stages {
            self.snapshots()
        } else {
            Vec::new()
        };
        let env = attempt_env(
            &setup.exprs,
            pipeline,
            stage,
            &setup.secrets,
            place,
            &snapshots,
        )
        .map_err(|e| setup.masker.mask_str(&e).into_owned());
        let budget = self.allowance(id);
        let job = AttemptJob {
            stage: id,
            name: stage.name.clone(),
            visit,
            attempt,
            shell: stage.shell.clone(),
            script_file: setup.scripts[id.0].file.clone(),
            command: setup.scripts[id.0].command.clone(),
            timeout: stage.timeout,
            idle: stage.idle,
            usage_file: rundir::usage_file(&setup.dir.root, &stage.name, visit, attempt),
            budget,
            grace: stage.grace,
            status_json: stage.status_json,
            outputs: stage.outputs.clone(),
            optional_outputs: stage.optional_outputs.clone(),
            env,
            cwd: setup.dir.attempt_dir(&stage.name, visit, attempt),
            log: setup.dir.log(&stage.name, visit, attempt),
            need_dirs: stage
                .needs
                .iter()
                .map(|n| setup.dir.artifacts(&pipeline.stage(*n).name))
                .collect(),
            artifacts: setup.dir.artifacts(&stage.name),
            staging: setup
                .dir
                .artifacts(&format!(".{}.{visit}.{attempt}.partial", stage.name)),
            builtin: stage
                .builtin
                .as_ref()
                .map(|name| (name.clone(), setup.builtins.get(name))),
        };
        // The `▶ started` notice comes from the attempt task, after the
        // spawn and its `stage_started` line.
        let (kill, kill_rx) = watch::channel(false);
        self.live.insert(id, kill);
        tokio::spawn(attempt::perform(job, self.shared.clone(), kill_rx));
    }

    /// Starts an approval stage's wait for a decision (no job slot, no
    /// process): see [`approval`].
    fn wait_for_approval(&mut self, id: StageId, visit: u32, attempt: u32) {
        self.records[id.0].started(visit, attempt);
        let (setup, pipeline) = (&self.setup, self.setup.pipeline);
        let stage = pipeline.stage(id);
        let job = approval::ApprovalJob {
            stage: id,
            name: stage.name.clone(),
            visit,
            attempt,
            decisions: stage.approval.clone().unwrap_or_default(),
            timeout: stage.timeout,
            run_id: setup.dir.id.clone(),
            decision_file: setup.dir.decision(&stage.name),
            cwd: setup.dir.attempt_dir(&stage.name, visit, attempt),
            artifacts: setup.dir.artifacts(&stage.name),
            staging: setup
                .dir
                .artifacts(&format!(".{}.{visit}.{attempt}.partial", stage.name)),
        };
        let (kill, kill_rx) = watch::channel(false);
        self.gates.insert(id, kill);
        tokio::spawn(approval::wait(job, self.shared.clone(), kill_rx));
    }

    /// Journals the wait (`again_scheduled` for an `again after` poll,
    /// `retry_scheduled` for a retry), then prints it, then arms the timer.
    fn start_after(&mut self, id: StageId, delay: Duration, again: bool) {
        let (stage, delay_ms) = (self.name(id).to_string(), delay.as_millis() as u64);
        self.journal(&if again {
            JournalEvent::AgainScheduled { stage, delay_ms }
        } else {
            JournalEvent::RetryScheduled { stage, delay_ms }
        });
        let failed = match self.records[id.0].last_failure.take() {
            Some((n, why)) if !again => format!(" attempt {n} failed ({why});"),
            _ => String::new(),
        };
        self.setup.sink.notice(&format!(
            "⏲ {}{failed} starts again in {}",
            self.name(id),
            short_duration(delay)
        ));
        let tx = self.shared.tx.clone();
        self.pending_timers += 1;
        self.timers.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = tx.send(Msg::Timer { stage: id });
        }));
    }

    /// Journals an attempt's end (`stage_finished`: what the scheduler is
    /// about to consume, in the order it consumes it), records it and
    /// turns it into the scheduler's event. `outputs_failed` fails an
    /// attempt that otherwise succeeded.
    fn finished(
        &mut self,
        id: StageId,
        visit: u32,
        attempt: u32,
        mut report: AttemptReport,
        outputs_failed: Option<String>,
    ) -> Event {
        self.live.remove(&id);
        self.gates.remove(&id);
        let used = Self::attempt_usage(&report);
        // An attempt that ended over what was left (its usage reported only
        // at its end, or others spent meanwhile) is over budget too.
        if let (Some(left), Some(used)) = (self.allowance(id), &used) {
            report.over_budget |= left.crossed_by(used);
        }
        let mut result = report.to_result();
        if result.error.is_none() {
            result.error = outputs_failed;
        }
        // Reasons reach the journal, notices and the summary: no secret.
        let masker = &self.setup.masker;
        result.error = result.error.map(|e| masker.mask_str(&e).into_owned());
        self.journal_finished(id, visit, attempt, &report, &result, used.clone());
        let stage = self.setup.pipeline.stage(id);
        let failure = failure_text(&report, &result, stage.timeout, stage.idle);
        let json = report.status_json.clone().map(serde_json::Value::Object);
        let rec = &mut self.records[id.0];
        if let Some(used) = &used {
            rec.usage.get_or_insert_with(Usage::default).add(used);
        }
        rec.finished(&result, report.duration, json);
        let clean = rec.snapshot.outcome == "succeeded";
        rec.last_failure = (!clean).then_some((attempt, failure));
        Event::AttemptFinished { stage: id, result }
    }

    /// What an attempt used: its status object's `usage`, else the last
    /// state of its `$FLOW_USAGE_FILE` (read by the attempt once it ended).
    fn attempt_usage(report: &AttemptReport) -> Option<Usage> {
        report
            .status_json
            .as_ref()
            .and_then(Usage::from_status)
            .or_else(|| report.file_usage.clone())
    }

    /// What an attempt of `id` may use from now on under its stage's and
    /// the flow's `budget` (see [`Allowance`]); `None` without a budget.
    fn allowance(&self, id: StageId) -> Option<Allowance> {
        let pipeline = self.setup.pipeline;
        let stage = pipeline.stage(id);
        if stage.budget.is_none() && pipeline.budget.is_none() {
            return None;
        }
        let run_used = Usage::total(self.records.iter().filter_map(|r| r.usage.as_ref()));
        Allowance::new(
            stage.budget.as_ref(),
            self.records[id.0].usage.as_ref(),
            pipeline.budget.as_ref(),
            run_used.as_ref(),
        )
    }

    /// `stage_finished` holds exactly the [`AttemptResult`] the scheduler
    /// gets (`error` only when the attempt did not run); a problem of an
    /// attempt that ran (a log write error) is a `warning` before it.
    fn journal_finished(
        &self,
        id: StageId,
        visit: u32,
        attempt: u32,
        report: &AttemptReport,
        result: &AttemptResult,
        usage: Option<Usage>,
    ) {
        let stage = self.name(id).to_string();
        if let (Some(problem), None) = (&report.error, &result.error) {
            // A process that ran but lost output (a log write error, pipes
            // held open) did not fail for it: journaled, then shown.
            let problem = self.setup.masker.mask_str(problem).into_owned();
            self.journal(&JournalEvent::Warning {
                stage: Some(stage.clone()),
                message: problem.clone(),
            });
            self.setup.sink.notice(&format!("⚠ {stage}: {problem}"));
        }
        self.journal(&JournalEvent::StageFinished {
            stage,
            visit,
            attempt,
            exit_code: result.exit_code,
            signal: report.signal,
            timed_out: result.timed_out,
            idle: result.idle,
            over_budget: result.over_budget,
            cancelled: report.cancelled,
            status: result.status.clone(),
            error: result.error.clone(),
            duration_ms: report.duration.as_millis() as u64,
            usage,
            links: report.status_json.as_ref().and_then(crate::status::links),
        });
    }

    fn settled(&mut self, id: StageId, outcome: StageOutcome) {
        // A reason may quote a secret (`status "…"` from the stage's
        // output): what the driver keeps and shows is masked.
        let outcome = self.mask_outcome(outcome);
        let stage = self.name(id).to_string();
        let event = match &outcome {
            StageOutcome::Succeeded => JournalEvent::StageSettled {
                stage,
                outcome: outcome.word().into(),
                reason: None,
                handled: false,
                allowed: false,
            },
            StageOutcome::Failed {
                reason,
                handled,
                allowed,
            } => JournalEvent::StageSettled {
                stage,
                outcome: outcome.word().into(),
                reason: Some(reason.clone()),
                handled: *handled,
                allowed: *allowed,
            },
            StageOutcome::Skipped(reason) => JournalEvent::StageSkipped {
                stage,
                reason: reason.clone(),
            },
        };
        self.journal(&event);
        self.setup.journal.sync_soon();
        self.setup.sink.notice(&settled_notice(
            self.name(id),
            &outcome,
            self.records[id.0].spent,
        ));
        self.records[id.0].settled(outcome);
    }

    fn mask_outcome(&self, outcome: StageOutcome) -> StageOutcome {
        let mask = |r: String| self.setup.masker.mask_str(&r).into_owned();
        match outcome {
            StageOutcome::Failed {
                reason,
                handled,
                allowed,
            } => StageOutcome::Failed {
                reason: mask(reason),
                handled,
                allowed,
            },
            StageOutcome::Skipped(reason) => StageOutcome::Skipped(mask(reason)),
            StageOutcome::Succeeded => StageOutcome::Succeeded,
        }
    }

    fn abort_timers(&mut self) {
        for t in self.timers.drain(..) {
            t.abort();
        }
    }

    fn summaries(&self) -> Vec<StageSummary> {
        self.setup
            .pipeline
            .stages
            .iter()
            .zip(&self.records)
            .map(|(s, r)| StageSummary {
                name: s.name.clone(),
                outcome: r.outcome.clone(),
                attempts: r.total_attempts,
                visits: r.snapshot.visits as u32,
                duration: r.spent,
                usage: r.usage.clone(),
                last_attempt: (r.total_attempts > 0)
                    .then_some((r.snapshot.visits as u32, r.snapshot.attempts as u32)),
            })
            .collect()
    }
}

/// The live line for a settled stage: `✓ build succeeded in 1.2s`.
fn settled_notice(name: &str, outcome: &StageOutcome, spent: Duration) -> String {
    if let Some(decision) = super::report::decision_of(outcome) {
        return format!(
            "✓ {name} decided {decision} after {:.1}s",
            spent.as_secs_f64()
        );
    }
    match outcome {
        StageOutcome::Succeeded => format!("✓ {name} succeeded in {:.1}s", spent.as_secs_f64()),
        StageOutcome::Failed {
            reason,
            handled,
            allowed,
        } => {
            let how = if *handled {
                " (handled by a route)"
            } else if *allowed {
                " (allowed)"
            } else {
                ""
            };
            format!("✗ {name} failed: {reason}{how}")
        }
        StageOutcome::Skipped(reason) => format!("- {name} skipped: {reason}"),
    }
}

/// Why an attempt failed, for the live line before a retry: `exit code 1`,
/// `timed out after 2m`, `killed by signal 9`, or the error.
fn failure_text(
    report: &AttemptReport,
    result: &AttemptResult,
    timeout: Option<Duration>,
    idle: Option<Duration>,
) -> String {
    if let Some(error) = &result.error {
        error.clone()
    } else if result.over_budget {
        "over budget".into()
    } else if result.idle {
        match idle {
            Some(t) => format!("no output for {}", short_duration(t)),
            None => "no output for too long".into(),
        }
    } else if result.timed_out {
        match timeout {
            Some(t) => format!("timed out after {}", short_duration(t)),
            None => "timed out".into(),
        }
    } else if let Some(code) = result.exit_code {
        format!("exit code {code}")
    } else if let Some(signal) = report.signal {
        format!("killed by signal {signal}")
    } else {
        "failed".into()
    }
}

/// A duration for a live line: `2m`, `1h 30m`, `0.5s` (whole seconds and
/// up without fractions; below a second with one decimal).
fn short_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
    }
}
