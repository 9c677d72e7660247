//! Large pipelines complete, starting every stage (no timing assertion:
//! a quadratic pass would make these tests visibly slow).

use super::{ok, Flow, S};
use crate::scheduler::{Decision, Event, RunOutcome, Scheduler};
use flow_dsl::ir::{Pipeline, RouteOn};

/// Runs `p` answering every start with success; returns the number of
/// starts and the run outcome.
fn run_all(p: &Pipeline) -> (usize, Option<RunOutcome>) {
    let mut s = Scheduler::new(p);
    let mut when = |_| Ok(true);
    let mut queue = s.start(&mut when);
    let (mut starts, mut outcome) = (0, None);
    while let Some(d) = queue.pop() {
        match d {
            Decision::Start { stage, .. } => {
                starts += 1;
                queue.extend(s.handle(
                    Event::AttemptFinished {
                        stage,
                        result: ok(),
                    },
                    &mut when,
                ));
            }
            Decision::RunFinished(o) => outcome = Some(o),
            _ => {}
        }
    }
    (starts, outcome)
}

fn name(i: usize) -> String {
    format!("s{i}")
}

#[test]
fn chain_of_5000_stages_runs_every_stage() {
    let mut f = Flow::new().stage(&name(0), S::default());
    for i in 1..5000 {
        f = f.stage(&name(i), S::default().needs(&[&name(i - 1)]));
    }
    assert_eq!(run_all(&f.build()), (5000, Some(RunOutcome::Succeeded)));
}

#[test]
fn fan_out_of_5000_and_join_runs_every_stage() {
    let mut f = Flow::new().stage("root", S::default());
    let names: Vec<String> = (0..5000).map(name).collect();
    for n in &names {
        f = f.stage(n, S::default().needs(&["root"]));
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    f = f.stage("join", S::default().needs(&refs));
    assert_eq!(run_all(&f.build()), (5002, Some(RunOutcome::Succeeded)));
}

#[test]
fn chain_of_2000_stages_with_routes_runs_every_stage() {
    // Every stage routes to the next: the liveness rule is in play.
    let mut f = Flow::new();
    for i in 0..2000 {
        let mut s = S::default();
        if i + 1 < 2000 {
            s = s.on(RouteOn::Success, &name(i + 1));
        }
        if i > 0 {
            s = s.needs(&[&name(i - 1)]);
        }
        f = f.stage(&name(i), s);
    }
    assert_eq!(run_all(&f.build()), (2000, Some(RunOutcome::Succeeded)));
}

#[test]
fn fan_out_of_5000_with_routes_runs_every_stage() {
    // One route anywhere switches the liveness rule on for the whole flow.
    let mut f = Flow::new().stage("root", S::default());
    let names: Vec<String> = (0..5000).map(name).collect();
    for n in &names {
        f = f.stage(n, S::default().needs(&["root"]));
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    f = f.stage(
        "join",
        S::default().needs(&refs).on(RouteOn::Failure, "notify"),
    );
    f = f.stage("notify", S::default());
    assert_eq!(run_all(&f.build()), (5002, Some(RunOutcome::Succeeded)));
}
