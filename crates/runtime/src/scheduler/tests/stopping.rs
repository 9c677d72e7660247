//! Finally stages, cancel and run timeout (rules 11 and 12).

use super::{exit, lines, ok, Flow, Run, S};
use crate::scheduler::Event;
use flow_dsl::ir::RouteOn::Success;

#[test]
fn finally_stages_run_after_everything_settled_whatever_their_needs() {
    let p = Flow::new()
        .stage("a", S::default())
        .stage("b", S::default().needs(&["a"]))
        .finally("cleanup", S::default().needs(&["b"]))
        .build();
    let mut r = Run::new(&p);
    assert_eq!(r.start(), lines(&["start a 1/1"]));
    assert_eq!(
        r.finish("a", exit(1)),
        lines(&[
            "a failed: exit 1",
            "b skipped: run failed",
            "start cleanup 1/1"
        ])
    );
    assert_eq!(
        r.finish("cleanup", ok()),
        lines(&["cleanup succeeded", "finished Failed(\"a\")"])
    );
}

#[test]
fn finally_failure_fails_an_otherwise_succeeded_run() {
    let p = Flow::new()
        .stage("a", S::default())
        .finally("f", S::default())
        .finally("g", S::default().needs(&["f"]))
        .build();
    let mut r = Run::new(&p);
    r.start();
    assert_eq!(r.finish("a", ok()), lines(&["a succeeded", "start f 1/1"]));
    assert_eq!(
        r.finish("f", exit(1)),
        lines(&["f failed: exit 1", "start g 1/1"])
    );
    assert_eq!(
        r.finish("g", ok()),
        lines(&["g succeeded", "finished Failed(\"f\")"])
    );
}

#[test]
fn cancel_kills_once_skips_the_rest_runs_finally_and_ends_cancelled() {
    let p = Flow::new()
        .stage("a", S::default())
        .stage("b", S::default().on(Success, "r"))
        .stage("c", S::default().needs(&["a"]))
        .stage("r", S::default())
        .finally("z", S::default())
        .build();
    let mut r = Run::new(&p);
    assert_eq!(r.start(), lines(&["start a 1/1", "start b 1/1"]));
    assert_eq!(
        r.event(Event::Cancel),
        lines(&["kill", "c skipped: cancelled", "r skipped: cancelled"])
    );
    assert!(
        r.event(Event::Cancel).is_empty(),
        "KillRunning is sent once"
    );
    // Whatever the killed attempts report, they were cancelled: no route.
    assert_eq!(r.finish("b", ok()), lines(&["b failed: cancelled"]));
    assert_eq!(
        r.finish("a", exit(143)),
        lines(&["a failed: cancelled", "start z 1/1"])
    );
    assert_eq!(
        r.finish("z", ok()),
        lines(&["z succeeded", "finished Cancelled"])
    );
}

#[test]
fn run_timeout_stops_like_cancel_and_ends_timed_out() {
    let p = Flow::new()
        .stage("a", S::default())
        .stage("b", S::default().needs(&["a"]))
        .finally("z", S::default())
        .build();
    let mut r = Run::new(&p);
    r.start();
    assert_eq!(
        r.event(Event::RunTimeout),
        lines(&["kill", "b skipped: run timed out"])
    );
    assert_eq!(
        r.finish("a", ok()),
        lines(&["a failed: run timed out", "start z 1/1"])
    );
    assert_eq!(
        r.finish("z", ok()),
        lines(&["z succeeded", "finished TimedOut"])
    );
}

#[test]
fn timer_of_a_cancelled_stage_is_ignored() {
    let p = Flow::new()
        .stage("a", S::default().retry(1, 5, 1.0))
        .stage("b", S::default())
        .build();
    let mut r = Run::new(&p);
    r.start();
    assert_eq!(r.finish("a", exit(1)), lines(&["after a 5s"]));
    assert_eq!(
        r.event(Event::Cancel),
        lines(&["kill", "a failed: exit 1 (not retried: cancelled)"])
    );
    assert!(r.timer("a").is_empty());
    assert_eq!(
        r.finish("b", ok()),
        lines(&["b failed: cancelled", "finished Cancelled"])
    );
}

#[test]
fn second_cancel_during_finally_kills_the_finally_stages() {
    let p = Flow::new()
        .stage("a", S::default())
        .finally("z", S::default())
        .build();
    let mut r = Run::new(&p);
    r.start();
    assert_eq!(r.finish("a", ok()), lines(&["a succeeded", "start z 1/1"]));
    // The first cancel lets the cleanup run; the second kills it.
    assert!(r.event(Event::Cancel).is_empty());
    assert_eq!(r.event(Event::Cancel), lines(&["kill"]));
    assert_eq!(
        r.finish("z", ok()),
        lines(&["z failed: cancelled", "finished Cancelled"])
    );
}
