//! What `flow resume` asks of a scheduler rebuilt by replaying a journal:
//! which attempts were in flight, which timers were set, whether the run
//! was stopping, and a way to start a lost attempt again.
//!
//! The scheduler stays pure: replay is only a sequence of
//! [`Scheduler::handle`] calls with the recorded events and `when` answers
//! (see `run/replay.rs`), and these methods read or nudge the state it
//! reached.

use super::machine::Scheduler;
use super::state::Phase;
use super::{Decision, RunOutcome};
use flow_dsl::ir::StageId;

impl Scheduler<'_> {
    /// Stages with an attempt running, as `(stage, visit, attempt)`, in
    /// stage order.
    pub fn running(&self) -> Vec<(StageId, u32, u32)> {
        self.runs
            .iter()
            .enumerate()
            .filter(|(_, r)| r.phase == Phase::Running)
            .map(|(i, r)| (StageId(i), r.visits, r.attempt))
            .collect()
    }

    /// Stages waiting for a timer (a retry delay or an `again after` wait),
    /// in stage order.
    pub fn waiting(&self) -> Vec<StageId> {
        self.runs
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.phase, Phase::Timer(_)))
            .map(|(i, _)| StageId(i))
            .collect()
    }

    /// The run has failed (an unhandled failure), so ordinary stages no
    /// longer start. Cancels and timeouts are never replayed, so after a
    /// replay this means a failure.
    pub fn has_failed(&self) -> bool {
        matches!(self.end, Some(RunOutcome::Failed(_)))
    }

    /// Starts running `stage` again as its next attempt, because the
    /// attempt it was running is lost (`flow` died before recording its
    /// end) or is being redone by `flow resume`. The visit stays the same;
    /// the new attempt does not count against `retry N` (the lost one was
    /// not the stage's failure). `None` if the stage is not running.
    pub fn restart_attempt(&mut self, stage: StageId) -> Option<Decision> {
        let run = self.runs.get_mut(stage.0)?;
        if run.phase != Phase::Running {
            return None;
        }
        run.attempt = run.attempt.saturating_add(1);
        run.uncounted = run.uncounted.saturating_add(1);
        Some(Decision::Start {
            stage,
            visit: run.visits,
            attempt: run.attempt,
        })
    }
}
