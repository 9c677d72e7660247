//! The pass run after every event: start what can start, skip what can no
//! longer start, and move on to the `finally` stages and the end of the run
//! when nothing can happen any more.

use super::machine::Scheduler;
use super::state::{Phase, TimerKind};
use super::{Decision, StageOutcome};
use flow_dsl::ir::StageId;

/// What an ordinary stage waiting to start should do now.
enum Readiness {
    /// A need may still run (again).
    Wait,
    /// Start a visit.
    Start,
    /// It can never start.
    Skip,
}

const NEED_FAILED: &str = "a need did not succeed";
const NEVER_ROUTED: &str = "never routed to";

impl<'p> Scheduler<'p> {
    /// Makes every decision the current state allows, up to the end of the
    /// run.
    pub(super) fn advance(
        &mut self,
        out: &mut Vec<Decision>,
        when: &mut dyn FnMut(StageId) -> Result<bool, String>,
    ) {
        while !self.finished {
            if !self.finally_phase {
                if self.stopping() && !self.stopped_main {
                    self.stop_main(out);
                }
                let progress = if self.edges.dynamic {
                    self.dynamic_pass(out, when)
                } else {
                    self.static_pass(out, when)
                };
                if progress {
                    continue;
                }
                if self.active > 0 {
                    return;
                }
                self.enter_finally(out);
            }
            if self.finally_pass(out, when) {
                continue;
            }
            if self.active > 0 {
                return;
            }
            for i in self.finally_ids.clone() {
                if self.runs[i].phase == Phase::Idle {
                    // Only a `needs` cycle among finally stages gets here.
                    self.settle(i, StageOutcome::Skipped(NEED_FAILED.into()), out);
                }
            }
            self.finished = true;
            out.push(Decision::RunFinished(self.final_outcome()));
        }
    }

    /// Pipelines without routes: a stage is decided when one of its needs
    /// settles, so each event costs only the edges it touches.
    fn static_pass(
        &mut self,
        out: &mut Vec<Decision>,
        when: &mut dyn FnMut(StageId) -> Result<bool, String>,
    ) -> bool {
        let mut progress = false;
        while let Some(i) = self.dirty.pop() {
            if self.is_finally(i) || self.runs[i].phase != Phase::Idle || self.stopping() {
                continue;
            }
            match self.readiness(i, None) {
                Readiness::Wait => {}
                Readiness::Start => {
                    self.begin_visit(i, out, when);
                    progress = true;
                }
                Readiness::Skip => {
                    self.settle(i, StageOutcome::Skipped(NEED_FAILED.into()), out);
                    progress = true;
                }
            }
        }
        progress
    }

    /// Pipelines with routes: every waiting stage is reconsidered under the
    /// liveness rule. Starts come first (a started stage may re-activate a
    /// need of another one, so the live set grows with each start); skips
    /// are applied only when nothing could start, so no skip is decided
    /// while a stage that could still start might change its premise.
    fn dynamic_pass(
        &mut self,
        out: &mut Vec<Decision>,
        when: &mut dyn FnMut(StageId) -> Result<bool, String>,
    ) -> bool {
        if self.stopping() {
            return false;
        }
        let n = self.runs.len();
        let mut live = self.edges.reach(self.active_stages(None), None);
        let mut skips = Vec::new();
        let mut started = false;
        for i in 0..n {
            if !self.is_waiting(i) {
                continue;
            }
            match self.readiness(i, Some(&live)) {
                Readiness::Wait => {}
                Readiness::Start => {
                    self.begin_visit(i, out, when);
                    started = true;
                    if self.runs[i].phase == Phase::Running {
                        self.edges.mark_from(i, None, &mut live);
                    }
                }
                Readiness::Skip => skips.push((i, NEED_FAILED)),
            }
        }
        if started {
            return true;
        }
        for (i, stage) in self.pipeline.stages.iter().enumerate() {
            if stage.route_target && !stage.finally && self.runs[i].phase == Phase::Idle && !live[i]
            {
                skips.push((i, NEVER_ROUTED));
            }
        }
        let progress = !skips.is_empty();
        for (i, why) in skips {
            self.settle(i, StageOutcome::Skipped(why.into()), out);
        }
        if progress {
            return true;
        }
        // Nothing runs and no timer is set, yet queued stages wait on each
        // other's liveness: start the first so the run cannot hang.
        let busy = self
            .runs
            .iter()
            .any(|r| matches!(r.phase, Phase::Running | Phase::Timer(_)));
        if !busy {
            if let Some(i) =
                (0..n).find(|&i| !self.is_finally(i) && self.runs[i].phase == Phase::Queued)
            {
                self.begin_visit(i, out, when);
                return true;
            }
        }
        false
    }

    /// An ordinary stage that waits to be decided: never started and not
    /// only a route target, or queued by a route.
    fn is_waiting(&self, i: usize) -> bool {
        let stage = &self.pipeline.stages[i];
        !stage.finally
            && match self.runs[i].phase {
                Phase::Queued => true,
                Phase::Idle => !stage.route_target,
                _ => false,
            }
    }

    /// Ordinary stages that are running, waiting for a timer or queued,
    /// except `but`.
    fn active_stages(&self, but: Option<usize>) -> Vec<usize> {
        (0..self.runs.len())
            .filter(|&i| Some(i) != but && !self.is_finally(i) && self.runs[i].is_active())
            .collect()
    }

    /// Whether waiting stage `i` can start. `live` is the set of stages
    /// reachable from the active ones (`None`: the pipeline has no routes).
    fn readiness(&self, i: usize, live: Option<&[bool]>) -> Readiness {
        let stage = &self.pipeline.stages[i];
        let mut maybe_live = false;
        for need in &stage.needs {
            let Some(run) = self.runs.get(need.0) else {
                continue;
            };
            let need_stage = &self.pipeline.stages[need.0];
            if need_stage.finally {
                continue;
            }
            match run.phase {
                Phase::Running | Phase::Timer(_) | Phase::Queued => return Readiness::Wait,
                // Not decided yet: it will start or be skipped first.
                Phase::Idle if !need_stage.route_target => return Readiness::Wait,
                _ => {}
            }
            maybe_live |= live.is_some_and(|l| l[need.0]);
        }
        if let (true, Some(live)) = (maybe_live, live) {
            if !live[i] {
                return Readiness::Wait;
            }
            // Paths through `i` itself do not count: it cannot act before
            // it is decided.
            let own = self.edges.reach(self.active_stages(Some(i)), Some(i));
            if stage
                .needs
                .iter()
                .any(|n| own.get(n.0).copied().unwrap_or(false))
            {
                return Readiness::Wait;
            }
        }
        if self.runs[i].phase == Phase::Queued {
            // Routed to: needs that did not run are fine (artifacts absent).
            return Readiness::Start;
        }
        let all_succeeded = stage
            .needs
            .iter()
            .all(|n| self.runs.get(n.0).is_some_and(|r| r.succeeded()));
        if all_succeeded {
            Readiness::Start
        } else {
            Readiness::Skip
        }
    }

    /// The run failed, was cancelled or timed out: ordinary stages that
    /// have not started are skipped, pending retries and polls abandoned;
    /// running attempts finish (or are killed).
    fn stop_main(&mut self, out: &mut Vec<Decision>) {
        self.stopped_main = true;
        let why = self.interrupt.unwrap_or("run failed");
        for i in 0..self.runs.len() {
            if self.is_finally(i) {
                continue;
            }
            self.runs[i].pending = 0;
            match self.runs[i].phase.clone() {
                Phase::Idle | Phase::Queued => {
                    self.settle(i, StageOutcome::Skipped(why.into()), out)
                }
                Phase::Timer(TimerKind::Retry { reason }) => {
                    let allowed = self.interrupt.is_none() && self.pipeline.stages[i].allow_failure;
                    let reason = format!("{reason} (not retried: {why})");
                    self.settle(
                        i,
                        StageOutcome::Failed {
                            reason,
                            handled: false,
                            allowed,
                        },
                        out,
                    );
                }
                // The poll's next visit never starts; the last visit's
                // outcome stands.
                Phase::Timer(TimerKind::Again) => self.set_phase(i, Phase::Done),
                Phase::Running | Phase::Done => {}
            }
        }
    }

    /// Every ordinary stage has settled: those that never started are
    /// skipped, and the `finally` stages may start.
    fn enter_finally(&mut self, out: &mut Vec<Decision>) {
        for i in 0..self.runs.len() {
            if !self.is_finally(i) && self.runs[i].phase == Phase::Idle {
                let why = if self.pipeline.stages[i].route_target {
                    NEVER_ROUTED
                } else {
                    NEED_FAILED
                };
                self.settle(i, StageOutcome::Skipped(why.into()), out);
            }
        }
        self.finally_phase = true;
    }

    /// Starts the `finally` stages whose `finally` needs have settled
    /// (ordinary needs have all settled by now, whatever their outcome).
    fn finally_pass(
        &mut self,
        out: &mut Vec<Decision>,
        when: &mut dyn FnMut(StageId) -> Result<bool, String>,
    ) -> bool {
        let mut progress = false;
        for i in self.finally_ids.clone() {
            if self.runs[i].phase != Phase::Idle {
                continue;
            }
            let ready = self.pipeline.stages[i].needs.iter().all(|n| {
                !self.pipeline.stages.get(n.0).is_some_and(|s| s.finally)
                    || self.runs[n.0].phase == Phase::Done
            });
            if ready {
                self.begin_visit(i, out, when);
                progress = true;
            }
        }
        progress
    }
}
