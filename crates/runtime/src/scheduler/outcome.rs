//! What happens when an attempt finishes or a timer fires: retries,
//! settling a visit, firing routes, activating route targets, `max` visits.

use super::machine::Scheduler;
use super::routing::{classify, Verdict};
use super::state::{Phase, TimerKind};
use super::{AttemptResult, Decision, RunOutcome, StageOutcome};
use flow_dsl::ir::{Route, RouteOn, RouteTarget, StageId};

impl<'p> Scheduler<'p> {
    /// The ordinary stages may no longer start or be activated: the run
    /// failed, was cancelled or timed out.
    pub(super) fn stopping(&self) -> bool {
        self.end.is_some()
    }

    /// An attempt of running stage `i` ended with `result`.
    pub(super) fn attempt_finished(
        &mut self,
        i: usize,
        result: &AttemptResult,
        out: &mut Vec<Decision>,
    ) {
        let pipeline = self.pipeline;
        let stage = &pipeline.stages[i];
        let killed = if stage.finally {
            self.killed_finally
        } else {
            self.interrupt.is_some()
        };
        if killed {
            // The executor killed it (or it ended as the kill came): no
            // retries, no routes, and it does not fail the run by itself.
            let reason = self.interrupt.unwrap_or("cancelled").to_string();
            self.settle(
                i,
                StageOutcome::Failed {
                    reason,
                    handled: false,
                    allowed: false,
                },
                out,
            );
            return;
        }

        // Once the run failed, running ordinary stages finish but nothing
        // new follows them: no retry, no route.
        let quiet = !stage.finally && self.stopping();
        let may_retry = !quiet && self.runs[i].counted_attempts() <= stage.retry.retries;
        match classify(stage, result, may_retry) {
            Verdict::Retry { reason } => {
                let delay = stage.retry.delay_before(self.runs[i].counted_attempts());
                if delay.is_zero() {
                    self.next_attempt(i, out);
                } else {
                    self.set_phase(i, Phase::Timer(TimerKind::Retry { reason }));
                    out.push(Decision::StartAfter {
                        stage: StageId(i),
                        delay,
                    });
                }
            }
            verdict => self.conclude(i, verdict, quiet, true, out),
        }
    }

    /// Settles the visit of `i` by a final `verdict` (not a retry) and
    /// applies its consequences: routes fire, an unhandled failure fails
    /// the run unless `allow_failure`. `ran`: an attempt ran (false for a
    /// failed `when`), which `ends run` requires.
    fn conclude(
        &mut self,
        i: usize,
        verdict: Verdict<'p>,
        quiet: bool,
        ran: bool,
        out: &mut Vec<Decision>,
    ) {
        let allowed = self.pipeline.stages[i].allow_failure;
        match verdict {
            Verdict::Succeeded { routes } => {
                self.settle(i, StageOutcome::Succeeded, out);
                self.after_run(i, &routes, quiet, ran, out);
            }
            Verdict::Handled { reason, routes } => {
                self.settle(
                    i,
                    StageOutcome::Failed {
                        reason,
                        handled: true,
                        allowed,
                    },
                    out,
                );
                self.after_run(i, &routes, quiet, ran, out);
            }
            Verdict::Unhandled { reason } | Verdict::Retry { reason } => {
                self.settle(
                    i,
                    StageOutcome::Failed {
                        reason,
                        handled: false,
                        allowed,
                    },
                    out,
                );
                if !allowed {
                    self.fail_run(i);
                }
                self.after_run(i, &[], quiet, ran, out);
            }
        }
    }

    /// The executor did not start the attempt of a [`Decision::Start`] for
    /// running stage `i`: the run stopped while it waited for a `--jobs`
    /// slot. A first attempt never became a visit: the stage is skipped
    /// like the others that had not started. A retry's attempt settles the
    /// visit failed (`not retried: …`), as a retry waiting for its delay
    /// would.
    pub(super) fn not_started(&mut self, i: usize, out: &mut Vec<Decision>) {
        let why = self.interrupt.unwrap_or("run failed");
        let run = &mut self.runs[i];
        if run.attempt <= 1 {
            run.visits = run.visits.saturating_sub(1);
            run.attempt = 0;
            self.settle(i, StageOutcome::Skipped(why.into()), out);
        } else {
            run.attempt -= 1;
            let allowed = self.interrupt.is_none() && self.pipeline.stages[i].allow_failure;
            let reason = format!("not retried: {why}");
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
    }

    /// True when an attempt the scheduler decided to start may still start
    /// now: false for an ordinary stage once the run is stopping (failed,
    /// cancelled, timed out), and for a `finally` stage once a second
    /// interrupt killed those. The executor asks this when a `--jobs` slot
    /// frees; on false it reports [`Event::NotStarted`].
    ///
    /// [`Event::NotStarted`]: super::Event::NotStarted
    pub fn may_start(&self, stage: StageId) -> bool {
        match self.pipeline.stages.get(stage.0) {
            Some(s) if s.finally => !self.killed_finally,
            Some(_) => !self.stopping(),
            None => false,
        }
    }

    /// A visit of `i` has settled: note `ends run` (if an attempt `ran`),
    /// fire `routes` (not from `finally` stages, not while stopping), then
    /// start the next activation that waited behind this visit.
    fn after_run(
        &mut self,
        i: usize,
        routes: &[&Route],
        quiet: bool,
        ran: bool,
        out: &mut Vec<Decision>,
    ) {
        let stage = &self.pipeline.stages[i];
        if let (true, Some(name)) = (ran, &stage.ends_run) {
            self.ended.get_or_insert_with(|| name.clone());
        }
        if !quiet && !stage.finally {
            let mut chain = Vec::new();
            for route in routes {
                self.fire(i, route, &mut chain, out);
            }
        }
        self.resume_pending(i, out);
    }

    /// The timer of stage `i` fired: the retry starts, or (`again`) a new
    /// visit begins. Ignored once the ordinary stages are stopping.
    pub(super) fn timer_fired(
        &mut self,
        i: usize,
        out: &mut Vec<Decision>,
        when: &mut dyn FnMut(StageId) -> Result<bool, String>,
    ) {
        if !self.is_finally(i) && self.stopping() {
            return;
        }
        match &self.runs[i].phase {
            Phase::Timer(TimerKind::Retry { .. }) => self.next_attempt(i, out),
            _ => self.begin_visit(i, out, when),
        }
    }

    /// Starts the next attempt of the current visit of `i`.
    fn next_attempt(&mut self, i: usize, out: &mut Vec<Decision>) {
        self.runs[i].attempt += 1;
        self.set_phase(i, Phase::Running);
        let r = &self.runs[i];
        out.push(Decision::Start {
            stage: StageId(i),
            visit: r.visits,
            attempt: r.attempt,
        });
    }

    /// Starts a new visit of `i`, unless its `when` says no (then it is
    /// skipped; that is not a visit) or fails to evaluate: then the stage
    /// fails without running (not a visit either, never retried), and that
    /// failure is routed, allowed or fails the run like any other.
    pub(super) fn begin_visit(
        &mut self,
        i: usize,
        out: &mut Vec<Decision>,
        when: &mut dyn FnMut(StageId) -> Result<bool, String>,
    ) {
        match when(StageId(i)) {
            Ok(true) => {}
            Ok(false) => {
                self.settle(i, StageOutcome::Skipped("when was false".into()), out);
                self.resume_pending(i, out);
                return;
            }
            Err(message) => {
                let result = AttemptResult {
                    error: Some(format!("`when` failed: {message}")),
                    ..AttemptResult::default()
                };
                let pipeline = self.pipeline;
                let stage = &pipeline.stages[i];
                let quiet = !stage.finally && self.stopping();
                let verdict = classify(stage, &result, false);
                self.conclude(i, verdict, quiet, false, out);
                return;
            }
        }
        self.runs[i].visits += 1;
        self.runs[i].attempt = 0;
        self.runs[i].uncounted = 0;
        self.next_attempt(i, out);
    }

    /// Stage `i` settles with `outcome` (its current visit, or it never ran).
    pub(super) fn settle(&mut self, i: usize, outcome: StageOutcome, out: &mut Vec<Decision>) {
        self.set_phase(i, Phase::Done);
        self.runs[i].outcome = Some(outcome.clone());
        out.push(Decision::Settled {
            stage: StageId(i),
            outcome,
        });
        let deps = &self.edges.dependents[i];
        self.dirty.extend(deps.iter().copied());
    }

    /// Stage `i` failed unhandled (not allowed): the run fails (the first
    /// failure is the one named).
    pub(super) fn fail_run(&mut self, i: usize) {
        if self.end.is_none() {
            self.end = Some(RunOutcome::Failed(self.pipeline.stages[i].name.clone()));
        }
    }

    /// Fires one route of `from`. `chain` holds the stages that already
    /// failed on `max` in this cascade (see [`Self::max_visits_reached`]).
    fn fire(
        &mut self,
        from: usize,
        route: &Route,
        chain: &mut Vec<usize>,
        out: &mut Vec<Decision>,
    ) {
        match route.target {
            RouteTarget::Stage(to) => {
                if to.0 >= self.runs.len() {
                    return;
                }
                out.push(Decision::Routed {
                    from: StageId(from),
                    on: route.on.clone(),
                    to,
                });
                self.activate(to.0, chain, out);
            }
            RouteTarget::Again(delay) => {
                out.push(Decision::Routed {
                    from: StageId(from),
                    on: route.on.clone(),
                    to: StageId(from),
                });
                if self.at_max(from) {
                    self.max_visits_reached(from, chain, out);
                } else {
                    self.set_phase(from, Phase::Timer(TimerKind::Again));
                    out.push(Decision::StartAfter {
                        stage: StageId(from),
                        delay,
                    });
                }
            }
        }
    }

    /// `max N` is set and `i` has had N visits.
    fn at_max(&self, i: usize) -> bool {
        self.pipeline.stages[i]
            .max_visits
            .is_some_and(|max| self.runs[i].visits >= max)
    }

    /// A route activates `i`: it is queued until its needs settle (the
    /// `advance` pass starts it), or remembered for later if a visit is
    /// under way; past its `max` it fails instead.
    fn activate(&mut self, i: usize, chain: &mut Vec<usize>, out: &mut Vec<Decision>) {
        if self.stopping() || self.is_finally(i) {
            return;
        }
        if self.runs[i].is_active() {
            self.runs[i].pending += 1;
        } else if self.at_max(i) {
            self.max_visits_reached(i, chain, out);
        } else {
            self.set_phase(i, Phase::Queued);
        }
    }

    /// An activation waited behind the visit of `i` that just settled:
    /// apply it now.
    fn resume_pending(&mut self, i: usize, out: &mut Vec<Decision>) {
        if self.runs[i].phase != Phase::Done || self.runs[i].pending == 0 {
            return;
        }
        self.runs[i].pending -= 1;
        self.activate(i, &mut Vec::new(), out);
    }

    /// `i` was routed to past its `max`: it fails without running, and its
    /// own `on failure` routes apply. A stage that fails this way twice in
    /// one cascade (routes between stages all at their max) is unhandled,
    /// so the cascade always ends.
    fn max_visits_reached(&mut self, i: usize, chain: &mut Vec<usize>, out: &mut Vec<Decision>) {
        let stage = &self.pipeline.stages[i];
        let max = stage.max_visits.unwrap_or(0);
        let routes: Vec<&Route> = stage
            .routes
            .iter()
            .filter(|r| r.on == RouteOn::Failure)
            .collect();
        let handled = !routes.is_empty() && !chain.contains(&i);
        let allowed = stage.allow_failure;
        let reason = format!("max visits ({max}) reached");
        self.settle(
            i,
            StageOutcome::Failed {
                reason,
                handled,
                allowed,
            },
            out,
        );
        if handled {
            chain.push(i);
            for route in routes {
                self.fire(i, route, chain, out);
            }
        } else if !allowed {
            self.fail_run(i);
        }
    }
}
