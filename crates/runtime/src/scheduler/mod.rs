//! The scheduler: a pure state machine over a [`Pipeline`] that decides what
//! runs next. `(state, event) -> (state, decisions)`: it spawns nothing and
//! never sleeps, so every rule of the semantics (docs/language.md) is
//! unit-tested without processes or clocks.
//!
//! Protocol: create with [`Scheduler::new`], call [`Scheduler::start`] once,
//! then feed every [`Event`] to [`Scheduler::handle`]; perform the returned
//! [`Decision`]s in order. The run is over after [`Decision::RunFinished`].

use flow_dsl::ir::{Pipeline, RouteOn, StageId};
use std::time::Duration;

/// What one attempt of a stage ended with (reported by the executor).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AttemptResult {
    /// The process's exit code; `None` if killed by a signal or never spawned.
    pub exit_code: Option<i32>,
    /// The attempt hit its stage timeout (and was killed).
    pub timed_out: bool,
    /// The structured status (`status json` stages), if one was found.
    pub status: Option<String>,
    /// The process could not be spawned, or the stage could not be prepared
    /// (e.g. an env expression failed); the text says why. Counts as failure.
    pub error: Option<String>,
}

/// Input to the scheduler.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An attempt the scheduler started has ended.
    AttemptFinished {
        /// The stage.
        stage: StageId,
        /// How it ended.
        result: AttemptResult,
    },
    /// The delay of a [`Decision::StartAfter`] for this stage has passed.
    TimerFired {
        /// The stage.
        stage: StageId,
    },
    /// The user pressed Ctrl-C (or `flow` got SIGTERM).
    Cancel,
    /// The flow's `timeout` expired.
    RunTimeout,
}

/// Output of the scheduler, to be performed in order by the executor.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Spawn an attempt now.
    Start {
        /// The stage.
        stage: StageId,
        /// 1-based visit (activation) number.
        visit: u32,
        /// 1-based attempt number within the visit.
        attempt: u32,
    },
    /// Wait `delay`, then send [`Event::TimerFired`] for this stage (retry
    /// delay, `again after`).
    StartAfter {
        /// The stage.
        stage: StageId,
        /// How long to wait.
        delay: Duration,
    },
    /// A stage settled with this outcome (journal and summary).
    Settled {
        /// The stage.
        stage: StageId,
        /// Its outcome.
        outcome: StageOutcome,
    },
    /// A route fired (journal).
    Routed {
        /// The stage whose outcome matched.
        from: StageId,
        /// The route's outcome.
        on: RouteOn,
        /// The activated stage (`from` itself for `again`).
        to: StageId,
    },
    /// Send SIGTERM (then SIGKILL after grace) to every running attempt; the
    /// executor still reports each as [`Event::AttemptFinished`].
    KillRunning,
    /// The run is over.
    RunFinished(RunOutcome),
}

/// How a stage visit ended (or why it never ran).
#[derive(Debug, Clone, PartialEq)]
pub enum StageOutcome {
    /// Exit 0 (and no status route matched as a failure).
    Succeeded,
    /// A non-success outcome. `handled`: a route took it; `allowed`:
    /// `allow_failure` made it count as success for dependents.
    Failed {
        /// Why (`exit 2`, `timeout`, `max visits (3) reached`, a spawn error).
        reason: String,
        /// A route matched it.
        handled: bool,
        /// `allow_failure` applied.
        allowed: bool,
    },
    /// Never ran: why (`when` was false, a need failed, never routed to, the run was cancelled …).
    Skipped(String),
}

/// How the whole run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    /// Every stage succeeded or was handled/skipped without failing the run.
    Succeeded,
    /// An unhandled failure (the stage named).
    Failed(String),
    /// A stage with `ends run NAME` ran: the run ends `NAME`.
    Ended(String),
    /// The flow's `timeout` expired.
    TimedOut,
    /// Ctrl-C.
    Cancelled,
}

/// The scheduler's state for one run. See the module docs.
pub struct Scheduler<'p> {
    pipeline: &'p Pipeline,
}

impl<'p> Scheduler<'p> {
    /// A scheduler for `pipeline`, nothing started yet.
    pub fn new(pipeline: &'p Pipeline) -> Self {
        Scheduler { pipeline }
    }

    /// The first decisions: start the entry stages. `when(stage)` evaluates
    /// the stage's `when` guard (true if it has none).
    pub fn start(&mut self, when: &mut dyn FnMut(StageId) -> bool) -> Vec<Decision> {
        let _ = (self.pipeline, when);
        unimplemented!("scheduler: being written")
    }

    /// Feeds one event; returns the decisions it causes.
    pub fn handle(&mut self, event: Event, when: &mut dyn FnMut(StageId) -> bool) -> Vec<Decision> {
        let _ = (event, when);
        unimplemented!("scheduler: being written")
    }
}
