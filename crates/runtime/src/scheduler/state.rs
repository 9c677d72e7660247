//! The per-stage record the scheduler keeps, and its public view
//! [`StageState`].

use super::StageOutcome;

/// Where one stage is in its life (see the module docs of `scheduler`).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Phase {
    /// Never activated yet, or (ordinary stages) waiting for its needs.
    Idle,
    /// Activated by a route, waiting for its needs to settle.
    Queued,
    /// An attempt is running.
    Running,
    /// Waiting for a [`super::Event::TimerFired`].
    Timer(TimerKind),
    /// Its last visit settled (route targets may be activated again).
    Done,
}

/// Why a stage waits for a timer.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum TimerKind {
    /// Before the next attempt of the current visit; `reason` is why the
    /// previous attempt failed (used if the retry is abandoned).
    Retry {
        /// Why the previous attempt failed.
        reason: String,
    },
    /// Before a new visit (`again after D`).
    Again,
}

/// The scheduler's record of one stage.
#[derive(Debug, Clone)]
pub(super) struct StageRun {
    /// Where it is.
    pub phase: Phase,
    /// Visits started so far.
    pub visits: u32,
    /// Attempt number within the current (or last) visit; 0 before any.
    pub attempt: u32,
    /// Attempts of the current visit that do not count against `retry N`:
    /// attempts lost when `flow` died or redone by `flow resume`
    /// ([`super::Scheduler::restart_attempt`]).
    pub uncounted: u32,
    /// Route activations that arrived while a visit was in progress or
    /// queued; each becomes one more visit later.
    pub pending: u32,
    /// The outcome of the last settled visit.
    pub outcome: Option<StageOutcome>,
}

impl StageRun {
    pub(super) fn new() -> Self {
        StageRun {
            phase: Phase::Idle,
            visits: 0,
            attempt: 0,
            uncounted: 0,
            pending: 0,
            outcome: None,
        }
    }

    /// Attempts of the current visit that count against `retry N`.
    pub(super) fn counted_attempts(&self) -> u32 {
        self.attempt.saturating_sub(self.uncounted)
    }

    /// Running, waiting for a timer, or queued: it can still act.
    pub(super) fn is_active(&self) -> bool {
        matches!(self.phase, Phase::Running | Phase::Timer(_) | Phase::Queued)
    }

    /// Its last visit counts as success for dependents: succeeded, or failed
    /// with `allow_failure`.
    pub(super) fn succeeded(&self) -> bool {
        self.phase == Phase::Done
            && matches!(
                self.outcome,
                Some(StageOutcome::Succeeded) | Some(StageOutcome::Failed { allowed: true, .. })
            )
    }
}

/// What a stage is doing, as seen from outside (executor, expressions,
/// summaries).
#[derive(Debug, Clone, PartialEq)]
pub enum StageState {
    /// Not started: waiting for its needs, or for a route.
    Pending,
    /// Activated by a route, waiting for its needs to settle.
    Queued,
    /// An attempt is running.
    Running {
        /// 1-based visit.
        visit: u32,
        /// 1-based attempt within the visit.
        attempt: u32,
    },
    /// Waiting for a retry delay (`retry`) or a poll delay (`again after`).
    Waiting {
        /// Visits started so far.
        visit: u32,
    },
    /// Its last visit settled (a route target may still run again).
    Settled(StageOutcome),
}

impl StageState {
    /// The `stages.NAME.outcome` text of expressions: `pending`, `running`,
    /// `succeeded`, `failed` or `skipped`.
    pub fn as_str(&self) -> &'static str {
        match self {
            StageState::Pending | StageState::Queued => "pending",
            StageState::Running { .. } | StageState::Waiting { .. } => "running",
            StageState::Settled(outcome) => outcome.word(),
        }
    }
}

impl From<&StageRun> for StageState {
    fn from(run: &StageRun) -> Self {
        match &run.phase {
            Phase::Idle => StageState::Pending,
            Phase::Queued => StageState::Queued,
            Phase::Running => StageState::Running {
                visit: run.visits,
                attempt: run.attempt,
            },
            Phase::Timer(_) => StageState::Waiting { visit: run.visits },
            Phase::Done => match &run.outcome {
                Some(o) => StageState::Settled(o.clone()),
                None => StageState::Pending,
            },
        }
    }
}
