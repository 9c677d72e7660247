//! Where a run is in its life: the state the index records, and the state
//! a reader sees once liveness (the run's lock) is taken into account.

use std::path::Path;

use crate::runlock::RunLock;

/// The states `runs(flow, state)` knows, besides outcome words. Any other
/// word counts finished runs with that outcome.
pub const STATES: &[&str] = &[
    "queued",
    "running",
    "pending",
    "starting",
    "interrupted",
    "finished",
];

/// The state a run's journal (and so its index row) records. It says
/// nothing about liveness: see [`RunState::of`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Submitted to `flow serve` (`submission.json`, no journal yet): waiting
    /// in the server's queue for a `--jobs` slot.
    Queued,
    /// `run_started` and nothing after it: evaluating `skip if`.
    Starting,
    /// `run_queued`: waiting for a `concurrency` slot.
    Pending,
    /// Admitted, or past the lifecycle events (stages running).
    Running,
    /// Found dead (lock free, no `run_finished`) by a reconcile.
    Interrupted,
    /// `run_finished`.
    Finished,
}

impl Recorded {
    /// The word stored in the index's `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Recorded::Queued => "queued",
            Recorded::Starting => "starting",
            Recorded::Pending => "pending",
            Recorded::Running => "running",
            Recorded::Interrupted => "interrupted",
            Recorded::Finished => "finished",
        }
    }

    /// The inverse of [`Recorded::as_str`]; an unknown word reads as
    /// `Running` (so liveness decides).
    pub fn parse(word: &str) -> Recorded {
        match word {
            "queued" => Recorded::Queued,
            "starting" => Recorded::Starting,
            "pending" => Recorded::Pending,
            "interrupted" => Recorded::Interrupted,
            "finished" => Recorded::Finished,
            _ => Recorded::Running,
        }
    }
}

/// Where a run is in its life, liveness included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    /// Submitted to `flow serve`, waiting in its queue (not started: no
    /// process, no lock).
    Queued,
    /// Started; `skip if` not yet decided, no slot asked for.
    Starting,
    /// Waiting for a `concurrency` slot.
    Pending,
    /// Admitted or running stages.
    Running,
    /// Not finished, and nobody holds its lock: its `flow` process is gone.
    Interrupted,
    /// Finished with this outcome word.
    Finished(String),
}

impl RunState {
    /// The state of a run whose index row records `recorded` (and `outcome`
    /// once finished), whose directory is `run_root`. A finished run is
    /// finished; any other run is alive iff its lock is held (never a pid),
    /// so a dead run is `interrupted` at once. A row recorded interrupted
    /// whose lock is held again (resumed) is running.
    pub fn of(recorded: Recorded, outcome: Option<&str>, run_root: &Path) -> RunState {
        if recorded == Recorded::Finished {
            return RunState::Finished(outcome.unwrap_or("failed").to_string());
        }
        let held = RunLock::is_held(run_root);
        if recorded == Recorded::Queued {
            // Its process is taking over (lock held, journal not yet read
            // into the row): starting.
            return if held {
                RunState::Starting
            } else {
                RunState::Queued
            };
        }
        if !held {
            return RunState::Interrupted;
        }
        match recorded {
            Recorded::Starting => RunState::Starting,
            Recorded::Pending => RunState::Pending,
            _ => RunState::Running,
        }
    }

    /// Whether `runs(_, state)` counts a run in this state.
    pub fn matches(&self, state: &str) -> bool {
        match self {
            RunState::Queued => state == "queued",
            RunState::Starting => state == "starting",
            RunState::Pending => state == "pending",
            RunState::Running => state == "running",
            RunState::Interrupted => state == "interrupted",
            // An `ends run` name that collides with a state word above is
            // still found by `finished`.
            RunState::Finished(outcome) => {
                state == "finished" || (!STATES.contains(&state) && outcome == state)
            }
        }
    }

    /// `running`, `pending`, … or the outcome word of a finished run.
    pub fn word(&self) -> &str {
        match self {
            RunState::Queued => "queued",
            RunState::Starting => "starting",
            RunState::Pending => "pending",
            RunState::Running => "running",
            RunState::Interrupted => "interrupted",
            RunState::Finished(outcome) => outcome,
        }
    }

    /// Whether the run is still driven by a live process.
    pub fn is_alive(&self) -> bool {
        matches!(
            self,
            RunState::Starting | RunState::Pending | RunState::Running
        )
    }
}
