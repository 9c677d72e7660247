//! The scheduler: a pure state machine over a [`Pipeline`] that decides what
//! runs next. `(state, event) -> (state, decisions)`: it spawns nothing and
//! never sleeps, so every rule of the semantics (docs/language.md) is
//! unit-tested without processes or clocks.
//!
//! Protocol: create with [`Scheduler::new`], call [`Scheduler::start`] once,
//! then feed every [`Event`] to [`Scheduler::handle`]; perform the returned
//! [`Decision`]s in order. The run is over after [`Decision::RunFinished`],
//! which is emitted exactly once.
//!
//! # Theory of operation
//!
//! ## States of a stage
//!
//! ```text
//!  Idle ──(a route fires)──▶ Queued ──(needs final, `when` true)──▶ Running
//!  Idle ──(ordinary stage: needs succeeded, `when` true)──────────▶ Running
//!  Running ──(attempt ends, no retry)──▶ Done
//!  Running ──(retry with a delay, `again after D`)──▶ Timer ──(TimerFired)──▶ Running
//!  Idle, Queued ──(need failed, never routed, `when` false, run stopped)──▶ Done (skipped)
//!  Done ──(a route fires again; past `max` it fails instead)──▶ Queued
//! ```
//!
//! - **Idle**: not started. An *ordinary* stage (no route points to it)
//!   starts once, when every need has succeeded (or failed with
//!   `allow_failure`); if a need ended otherwise it is skipped (`a need did
//!   not succeed`), and so, in turn, are its dependents. A *route target*
//!   waits in Idle until a route fires to it.
//! - **Queued**: a route fired to it; it starts as soon as its needs are
//!   *final* (below). A need that never ran is fine: its artifacts are absent.
//!   A route that fires while a visit is under way is remembered and becomes
//!   one more visit after it.
//! - **Running**: one attempt runs. Its [`AttemptResult`] is matched against
//!   the routes, most specific first (`status` > `exit N` > `timeout` >
//!   `failure` / `success`). A non-success no `exit`/`status` route names is
//!   retried (`retry N`, after `delay × backoff^(k-1)`) before `timeout` and
//!   `failure` routes apply. A `status` route match is a *handled failure*
//!   even after exit 0: it branches away from the normal path, so stages
//!   that need this one do not start.
//! - **Timer**: waiting for a retry delay or an `again after D` poll.
//! - **Done**: the visit settled ([`Decision::Settled`]); route targets can
//!   be activated again, up to `max N` visits. A route that would start a
//!   stage for the (N+1)-th time fails it instead (`max visits (N) reached`)
//!   without running it; its own `on failure` route may handle that.
//!
//! `when` is evaluated right before each new visit starts (not for
//! retries); false settles the stage `Skipped` (not a visit). A `when` that
//! fails to evaluate (the callback's `Err`) settles it `Failed` with reason
//! `` `when` failed: … `` without running it (not a visit, never retried):
//! an `on failure` route takes it, `allow_failure` allows it, else it fails
//! the run.
//!
//! ## Job slots
//!
//! A [`Decision::Start`] may wait in the executor for a `--jobs` slot. When
//! a slot frees, the executor asks [`Scheduler::may_start`]; once the run
//! stopped, the answer is no and it reports [`Event::NotStarted`]: a first
//! attempt is then skipped like any stage that had not started, a retry's
//! attempt fails its visit (`not retried: …`).
//!
//! ## The liveness rule
//!
//! A stage is never started or skipped while one of its needs could still
//! be (re-)activated by a route. A need is *final* when it is not running,
//! not waiting for a timer, not queued, and not reachable along needs and
//! route edges from a stage that is. When deciding about a waiting stage
//! `W`, paths through `W` itself are ignored: `fix_tests needs unit_test`
//! with `fix_tests on success -> unit_test` must start when `unit_test`
//! fails, although `fix_tests` could later re-run `unit_test`.
//! Starts are decided before skips, and the live set grows with each start,
//! so no skip rests on a premise a starting stage could still change. Should
//! queued stages ever wait on each other with nothing running, the first one
//! starts (the run cannot hang). Pipelines without routes skip all this:
//! a stage is looked at only when one of its needs settles, so a run costs
//! O(stages + edges).
//!
//! ## Failure, stopping and finality
//!
//! A non-success no route takes (after retries) is an *unhandled* failure:
//! unless the stage has `allow_failure`, the run will end `Failed(stage)`.
//! From then on no ordinary stage starts, routes and retries stop, the
//! stages that had not started are skipped (`run failed`), and running
//! attempts finish. [`Event::Cancel`] and [`Event::RunTimeout`] do the same
//! (reasons `cancelled`, `run timed out`) and also emit one
//! [`Decision::KillRunning`]; attempts that finish afterwards settle
//! `Failed` with that reason. A retry that was waiting for its delay is
//! abandoned (`Failed`, `… (not retried: cancelled)`). When no ordinary stage is running, waiting
//! or queued and none can be activated any more, those that never started
//! are skipped (`never routed to` / `a need did not succeed`) and the
//! `finally` stages start (after their `finally` needs; ordinary needs may
//! have any outcome). A second cancel during the `finally` stages kills
//! them. When they have settled, [`Decision::RunFinished`] carries the run
//! outcome: the first of `Failed` / `Cancelled` / `TimedOut` if any, else
//! `Ended(NAME)` if a stage with `ends run NAME` ran, else `Succeeded`. A
//! `finally` stage's unhandled failure fails a run that had no such end.
//!
//! Events that do not fit the state (an attempt of a stage that is not
//! running, a timer that is not set, anything after the end) are ignored.
//!
//! [`Pipeline`]: flow_dsl::ir::Pipeline

use flow_dsl::ir::{RouteOn, StageId};
use std::time::Duration;

mod advance;
mod liveness;
mod machine;
mod outcome;
mod resume;
mod routing;
mod state;
#[cfg(test)]
mod tests;

pub use machine::Scheduler;
pub use state::StageState;

/// What one attempt of a stage ended with (reported by the executor).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AttemptResult {
    /// The process's exit code; `None` if killed by a signal or never spawned.
    pub exit_code: Option<i32>,
    /// The attempt hit its stage timeout, or its `idle` limit (and was
    /// killed).
    pub timed_out: bool,
    /// The time limit it hit was `idle` (no output for that long);
    /// `timed_out` is then true too.
    pub idle: bool,
    /// It crossed a `budget` (stopped while it ran, or ended over it).
    pub over_budget: bool,
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
    /// The executor did not start the attempt of a [`Decision::Start`]
    /// because, while it waited for a `--jobs` slot, the run stopped
    /// ([`Scheduler::may_start`] turned false). Ignored while the stage may
    /// still start.
    NotStarted {
        /// The stage.
        stage: StageId,
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
    /// delay, `again after`). The wait of an `again after` route directly
    /// follows its [`Decision::Routed`] with `from == to == stage` (the
    /// driver journals it as `again_scheduled`, a retry as `retry_scheduled`).
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

impl StageOutcome {
    /// The outcome as one word, as the journal, expressions
    /// (`stages.X.outcome`) and the summary spell it: `succeeded`, `failed`
    /// or `skipped`.
    pub fn word(&self) -> &'static str {
        match self {
            StageOutcome::Succeeded => "succeeded",
            StageOutcome::Failed { .. } => "failed",
            StageOutcome::Skipped(_) => "skipped",
        }
    }
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
