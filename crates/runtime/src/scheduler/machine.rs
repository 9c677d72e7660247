//! [`Scheduler`]: the state of one run, its public methods and the event
//! dispatch. The passes that start and skip stages are in `advance.rs`;
//! what a finished attempt does is in `outcome.rs`.

use super::liveness::Edges;
use super::state::{Phase, StageRun, StageState};
use super::{Decision, Event, RunOutcome, StageOutcome};
use flow_dsl::ir::{Pipeline, StageId};

/// The scheduler's state for one run. See the module docs.
pub struct Scheduler<'p> {
    pub(super) pipeline: &'p Pipeline,
    pub(super) edges: Edges,
    pub(super) runs: Vec<StageRun>,
    /// Ids of the `finally` stages, in order.
    pub(super) finally_ids: Vec<usize>,
    /// Ordinary stages to reconsider (used when the pipeline has no routes).
    pub(super) dirty: Vec<usize>,
    /// Stages running, waiting for a timer, or queued.
    pub(super) active: usize,
    /// [`Scheduler::start`] was called.
    pub(super) started: bool,
    /// Every ordinary stage settled; only `finally` stages run now.
    pub(super) finally_phase: bool,
    /// The ordinary stages left were skipped after the run stopped.
    pub(super) stopped_main: bool,
    /// [`Decision::RunFinished`] was emitted.
    pub(super) finished: bool,
    /// The first thing that ended the run early: `Failed`, `Cancelled` or
    /// `TimedOut`.
    pub(super) end: Option<RunOutcome>,
    /// Why the run was interrupted (`cancelled`, `run timed out`), if it was.
    pub(super) interrupt: Option<&'static str>,
    /// `KillRunning` was sent for the ordinary stages / for `finally` ones.
    pub(super) killed_main: bool,
    pub(super) killed_finally: bool,
    /// The `ends run NAME` of the first such stage that ran.
    pub(super) ended: Option<String>,
}

impl<'p> Scheduler<'p> {
    /// A scheduler for `pipeline`, nothing started yet.
    pub fn new(pipeline: &'p Pipeline) -> Self {
        let n = pipeline.stages.len();
        Scheduler {
            pipeline,
            edges: Edges::new(pipeline),
            runs: vec![StageRun::new(); n],
            finally_ids: (0..n).filter(|&i| pipeline.stages[i].finally).collect(),
            dirty: Vec::new(),
            active: 0,
            started: false,
            finally_phase: false,
            stopped_main: false,
            finished: false,
            end: None,
            interrupt: None,
            killed_main: false,
            killed_finally: false,
            ended: None,
        }
    }

    /// The first decisions: start the entry stages. `when(stage)` evaluates
    /// the stage's `when` guard (true if it has none). A second call
    /// returns nothing.
    pub fn start(
        &mut self,
        when: &mut dyn FnMut(StageId) -> Result<bool, String>,
    ) -> Vec<Decision> {
        let mut out = Vec::new();
        if self.started {
            return out;
        }
        self.started = true;
        self.dirty = (0..self.runs.len())
            .rev()
            .filter(|&i| !self.is_finally(i))
            .collect();
        self.advance(&mut out, when);
        out
    }

    /// Feeds one event; returns the decisions it causes. Events before
    /// [`Scheduler::start`] or after [`Decision::RunFinished`], and events
    /// about stages that are not in the state the event implies (an
    /// attempt that is not running, a timer that is not set), are ignored.
    pub fn handle(
        &mut self,
        event: Event,
        when: &mut dyn FnMut(StageId) -> Result<bool, String>,
    ) -> Vec<Decision> {
        let mut out = Vec::new();
        if !self.started || self.finished {
            return out;
        }
        match event {
            Event::AttemptFinished { stage, result } => {
                if self.phase_of(stage) == Some(&Phase::Running) {
                    self.attempt_finished(stage.0, &result, &mut out);
                }
            }
            Event::NotStarted { stage } => {
                if self.phase_of(stage) == Some(&Phase::Running) && !self.may_start(stage) {
                    self.not_started(stage.0, &mut out);
                }
            }
            Event::TimerFired { stage } => {
                if matches!(self.phase_of(stage), Some(Phase::Timer(_))) {
                    self.timer_fired(stage.0, &mut out, when);
                }
            }
            Event::Cancel => self.interrupted("cancelled", RunOutcome::Cancelled, &mut out),
            Event::RunTimeout => self.interrupted("run timed out", RunOutcome::TimedOut, &mut out),
        }
        self.advance(&mut out, when);
        out
    }

    /// Visits of `stage` started so far (0 if it never started).
    pub fn visits(&self, stage: StageId) -> u32 {
        self.runs.get(stage.0).map_or(0, |r| r.visits)
    }

    /// Attempt number within the current (or last) visit of `stage`.
    pub fn attempts(&self, stage: StageId) -> u32 {
        self.runs.get(stage.0).map_or(0, |r| r.attempt)
    }

    /// What `stage` is doing now.
    pub fn state(&self, stage: StageId) -> StageState {
        self.runs
            .get(stage.0)
            .map_or(StageState::Pending, StageState::from)
    }

    /// The outcome of the last settled visit of `stage`, if any.
    pub fn outcome(&self, stage: StageId) -> Option<&StageOutcome> {
        self.runs.get(stage.0).and_then(|r| r.outcome.as_ref())
    }

    /// [`Decision::RunFinished`] has been emitted.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// How the run ends, once it has finished.
    pub fn run_outcome(&self) -> Option<RunOutcome> {
        self.finished.then(|| self.final_outcome())
    }

    /// The outcome the run has if it ended now: an early end (failure,
    /// cancel, timeout) wins, then `ends run`, else success.
    pub(super) fn final_outcome(&self) -> RunOutcome {
        if let Some(end) = &self.end {
            return end.clone();
        }
        match &self.ended {
            Some(name) => RunOutcome::Ended(name.clone()),
            None => RunOutcome::Succeeded,
        }
    }

    fn phase_of(&self, stage: StageId) -> Option<&Phase> {
        self.runs.get(stage.0).map(|r| &r.phase)
    }

    pub(super) fn is_finally(&self, i: usize) -> bool {
        self.pipeline.stages[i].finally
    }

    /// Changes the phase of stage `i`, keeping the count of active stages.
    pub(super) fn set_phase(&mut self, i: usize, phase: Phase) {
        let was = self.runs[i].is_active();
        self.runs[i].phase = phase;
        let is = self.runs[i].is_active();
        match (was, is) {
            (false, true) => self.active += 1,
            (true, false) => self.active -= 1,
            _ => {}
        }
    }

    /// Cancel or run timeout. The first one stops the ordinary stages (kill
    /// the running ones once); a second one during the `finally` stages
    /// kills those too.
    fn interrupted(&mut self, why: &'static str, outcome: RunOutcome, out: &mut Vec<Decision>) {
        let running = self.runs.iter().any(|r| r.phase == Phase::Running);
        if self.interrupt.is_none() {
            self.interrupt = Some(why);
            if self.end.is_none() {
                self.end = Some(outcome);
            }
            if !self.finally_phase && running && !self.killed_main {
                self.killed_main = true;
                out.push(Decision::KillRunning);
            }
        } else if self.finally_phase && running && !self.killed_finally {
            self.killed_finally = true;
            out.push(Decision::KillRunning);
        }
    }
}
