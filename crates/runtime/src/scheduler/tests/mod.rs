//! Scheduler tests: a pipeline builder ([`Flow`]) and a driver ([`Run`])
//! that renders decisions as short lines, then one test per rule.

mod resume;
mod rules;
mod scale;
mod stopping;

use super::{AttemptResult, Decision, Event, Scheduler, StageOutcome};
use flow_dsl::ir::{EdgeKind, Pipeline, Retry, Route, RouteOn, RouteTarget, Stage, StageId};
use std::collections::HashSet;
use std::time::Duration;

/// A route target by name, or `again after`.
enum To {
    Stage(String),
    Again(Duration),
}

/// One stage under construction.
#[derive(Default)]
pub(super) struct S {
    needs: Vec<String>,
    routes: Vec<(RouteOn, To)>,
    retry: Retry,
    max: Option<u32>,
    allow_failure: bool,
    ends_run: Option<String>,
}

impl Default for To {
    fn default() -> Self {
        To::Again(Duration::ZERO)
    }
}

impl S {
    pub(super) fn needs(mut self, names: &[&str]) -> Self {
        self.needs.extend(names.iter().map(|n| n.to_string()));
        self
    }
    pub(super) fn on(mut self, on: RouteOn, to: &str) -> Self {
        self.routes.push((on, To::Stage(to.into())));
        self
    }
    pub(super) fn again(mut self, on: RouteOn, secs: u64) -> Self {
        self.routes.push((on, To::Again(Duration::from_secs(secs))));
        self
    }
    pub(super) fn retry(mut self, retries: u32, delay_secs: u64, backoff: f64) -> Self {
        self.retry = Retry {
            retries,
            delay: Duration::from_secs(delay_secs),
            backoff,
        };
        self
    }
    pub(super) fn max(mut self, n: u32) -> Self {
        self.max = Some(n);
        self
    }
    pub(super) fn allow_failure(mut self) -> Self {
        self.allow_failure = true;
        self
    }
    pub(super) fn ends_run(mut self, name: &str) -> Self {
        self.ends_run = Some(name.into());
        self
    }
}

/// A pipeline under construction; stages refer to each other by name.
#[derive(Default)]
pub(super) struct Flow {
    stages: Vec<(String, bool, S)>,
}

impl Flow {
    pub(super) fn new() -> Self {
        Flow::default()
    }
    pub(super) fn stage(mut self, name: &str, s: S) -> Self {
        self.stages.push((name.into(), false, s));
        self
    }
    pub(super) fn finally(mut self, name: &str, s: S) -> Self {
        self.stages.push((name.into(), true, s));
        self
    }
    /// Resolves names, sets `route_target` and builds the graph.
    pub(super) fn build(self) -> Pipeline {
        let id = |name: &str| {
            let i = self.stages.iter().position(|(n, _, _)| n == name);
            StageId(i.unwrap_or_else(|| panic!("test flow: no stage {name}")))
        };
        let mut stages: Vec<Stage> = self
            .stages
            .iter()
            .enumerate()
            .map(|(i, (name, finally, s))| Stage {
                id: StageId(i),
                name: name.clone(),
                finally: *finally,
                needs: s.needs.iter().map(|n| id(n)).collect(),
                script: String::new(),
                shell: flow_dsl::ir::DEFAULT_SHELL
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                timeout: None,
                idle: None,
                budget: None,
                approval: None,
                builtin: None,
                grace: Duration::from_secs(10),
                retry: s.retry.clone(),
                outputs: vec![],
                optional_outputs: vec![],
                when: None,
                env: vec![],
                status_json: false,
                max_visits: s.max,
                allow_failure: s.allow_failure,
                ends_run: s.ends_run.clone(),
                routes: s
                    .routes
                    .iter()
                    .map(|(on, to)| Route {
                        on: on.clone(),
                        target: match to {
                            To::Stage(n) => RouteTarget::Stage(id(n)),
                            To::Again(d) => RouteTarget::Again(*d),
                        },
                    })
                    .collect(),
                route_target: false,
                library: None,
            })
            .collect();
        let mut targets = Vec::new();
        for s in &stages {
            for r in &s.routes {
                if let RouteTarget::Stage(t) = r.target {
                    if t != s.id {
                        targets.push(t);
                    }
                }
            }
        }
        for t in targets {
            stages[t.0].route_target = true;
        }
        let mut p = Pipeline {
            name: "test".into(),
            description: None,
            params: vec![],
            timeout: None,
            budget: None,
            concurrency: None,
            skip_if: None,
            lets: vec![],
            env: vec![],
            secrets: vec![],
            stages,
            graph: Default::default(),
            libraries: vec![],
            param_settings: vec![],
            alerts: vec![],
            triggers: vec![],
        };
        // The graph, consistent with the stages (the scheduler reads the
        // stages' fields; the executor may read the graph).
        for s in &p.stages {
            p.graph.add_node(s.id);
        }
        for i in 0..p.stages.len() {
            let b = StageId(i);
            for n in p.stages[i].needs.clone() {
                p.graph
                    .add_edge(Pipeline::node(n), Pipeline::node(b), EdgeKind::Needs);
            }
            for r in p.stages[i].routes.clone() {
                if let RouteTarget::Stage(t) = r.target {
                    p.graph
                        .add_edge(Pipeline::node(b), Pipeline::node(t), EdgeKind::Route(r.on));
                }
            }
        }
        p
    }
}

pub(super) fn ok() -> AttemptResult {
    AttemptResult {
        exit_code: Some(0),
        ..Default::default()
    }
}
pub(super) fn exit(code: i32) -> AttemptResult {
    AttemptResult {
        exit_code: Some(code),
        ..Default::default()
    }
}
pub(super) fn timed_out() -> AttemptResult {
    AttemptResult {
        timed_out: true,
        ..Default::default()
    }
}
pub(super) fn status(code: i32, s: &str) -> AttemptResult {
    AttemptResult {
        exit_code: Some(code),
        status: Some(s.into()),
        ..Default::default()
    }
}

/// Drives a scheduler; `when` is false for the stages in `when_false` and
/// fails to evaluate for those in `when_error`.
pub(super) struct Run<'p> {
    pub(super) p: &'p Pipeline,
    pub(super) s: Scheduler<'p>,
    pub(super) when_false: HashSet<String>,
    pub(super) when_error: HashSet<String>,
    /// Every `when` call, by stage name.
    pub(super) when_calls: Vec<String>,
}

impl<'p> Run<'p> {
    pub(super) fn new(p: &'p Pipeline) -> Self {
        Run {
            p,
            s: Scheduler::new(p),
            when_false: HashSet::new(),
            when_error: HashSet::new(),
            when_calls: vec![],
        }
    }

    pub(super) fn id(&self, name: &str) -> StageId {
        self.p
            .stage_named(name)
            .unwrap_or_else(|| panic!("no stage {name}"))
            .id
    }

    fn name(&self, id: StageId) -> &str {
        &self.p.stage(id).name
    }

    pub(super) fn start(&mut self) -> Vec<String> {
        let (p, wf, we, calls) = (
            self.p,
            &self.when_false,
            &self.when_error,
            &mut self.when_calls,
        );
        let mut when = |id: StageId| {
            let name = &p.stage(id).name;
            calls.push(name.clone());
            if we.contains(name) {
                return Err("boom".to_string());
            }
            Ok(!wf.contains(name))
        };
        let d = self.s.start(&mut when);
        self.render(&d)
    }

    pub(super) fn event(&mut self, e: Event) -> Vec<String> {
        let (p, wf, we, calls) = (
            self.p,
            &self.when_false,
            &self.when_error,
            &mut self.when_calls,
        );
        let mut when = |id: StageId| {
            let name = &p.stage(id).name;
            calls.push(name.clone());
            if we.contains(name) {
                return Err("boom".to_string());
            }
            Ok(!wf.contains(name))
        };
        let d = self.s.handle(e, &mut when);
        self.render(&d)
    }

    pub(super) fn finish(&mut self, name: &str, result: AttemptResult) -> Vec<String> {
        let stage = self.id(name);
        self.event(Event::AttemptFinished { stage, result })
    }

    pub(super) fn timer(&mut self, name: &str) -> Vec<String> {
        let stage = self.id(name);
        self.event(Event::TimerFired { stage })
    }

    /// Renders decisions as short lines: `start a 1/1`, `a succeeded`,
    /// `b failed: exit 1 (handled)`, `route a success -> b`, `after a 5s`,
    /// `kill`, `finished Succeeded`.
    pub(super) fn render(&self, ds: &[Decision]) -> Vec<String> {
        ds.iter()
            .map(|d| match d {
                Decision::Start {
                    stage,
                    visit,
                    attempt,
                } => format!("start {} {visit}/{attempt}", self.name(*stage)),
                Decision::StartAfter { stage, delay } => {
                    format!("after {} {delay:?}", self.name(*stage))
                }
                Decision::Settled { stage, outcome } => {
                    let n = self.name(*stage);
                    match outcome {
                        StageOutcome::Succeeded => format!("{n} succeeded"),
                        StageOutcome::Skipped(why) => format!("{n} skipped: {why}"),
                        StageOutcome::Failed {
                            reason,
                            handled,
                            allowed,
                        } => {
                            let mut s = format!("{n} failed: {reason}");
                            if *handled {
                                s.push_str(" (handled)");
                            }
                            if *allowed {
                                s.push_str(" (allowed)");
                            }
                            s
                        }
                    }
                }
                Decision::Routed { from, on, to } => {
                    format!("route {} {on} -> {}", self.name(*from), self.name(*to))
                }
                Decision::KillRunning => "kill".into(),
                Decision::RunFinished(o) => format!("finished {o:?}"),
            })
            .collect()
    }
}

/// Lines as owned strings, for comparing with [`Run`]'s output.
pub(super) fn lines(ls: &[&str]) -> Vec<String> {
    ls.iter().map(|s| s.to_string()).collect()
}
