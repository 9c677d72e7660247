//! One test per rule of the run semantics (activation, liveness, outcome
//! matching, retries, failures, `max`, `again`, `when`, `ends run`).

use super::{exit, lines, ok, status, timed_out, Flow, Run, S};
use crate::scheduler::Event;
use flow_dsl::ir::RouteOn::{Exit, Failure, Status, Success};

// Rule 1: ordinary stages.

#[test]
fn ordinary_stage_starts_once_when_all_needs_succeeded() {
    let p = Flow::new()
        .stage("a", S::default())
        .stage("b", S::default())
        .stage("c", S::default().needs(&["a", "b"]))
        .build();
    let mut r = Run::new(&p);
    assert_eq!(r.start(), lines(&["start a 1/1", "start b 1/1"]));
    assert_eq!(r.finish("a", ok()), lines(&["a succeeded"]));
    assert_eq!(r.finish("b", ok()), lines(&["b succeeded", "start c 1/1"]));
    assert_eq!(
        r.finish("c", ok()),
        lines(&["c succeeded", "finished Succeeded"])
    );
}

#[test]
fn failed_need_skips_dependents_transitively() {
    let p = Flow::new()
        .stage("a", S::default().on(Failure, "h"))
        .stage("b", S::default().needs(&["a"]))
        .stage("c", S::default().needs(&["b"]))
        .stage("h", S::default())
        .build();
    let mut r = Run::new(&p);
    r.start();
    assert_eq!(
        r.finish("a", exit(1)),
        lines(&[
            "a failed: exit 1 (handled)",
            "route a failure -> h",
            "start h 1/1",
            "b skipped: a need did not succeed",
            "c skipped: a need did not succeed",
        ])
    );
    assert_eq!(
        r.finish("h", ok()),
        lines(&["h succeeded", "finished Succeeded"])
    );
}

#[test]
fn allowed_failure_counts_as_success_for_dependents() {
    let p = Flow::new()
        .stage("a", S::default().allow_failure())
        .stage("b", S::default().needs(&["a"]))
        .build();
    let mut r = Run::new(&p);
    r.start();
    assert_eq!(
        r.finish("a", exit(1)),
        lines(&["a failed: exit 1 (allowed)", "start b 1/1"])
    );
    assert_eq!(
        r.finish("b", ok()),
        lines(&["b succeeded", "finished Succeeded"])
    );
}

// Rule 2: route targets.

#[test]
fn route_target_runs_each_time_a_route_fires_to_it() {
    let p = Flow::new()
        .stage("a", S::default().on(Success, "n"))
        .stage("b", S::default().on(Success, "n"))
        .stage("n", S::default())
        .build();
    let mut r = Run::new(&p);
    assert_eq!(r.start(), lines(&["start a 1/1", "start b 1/1"]));
    assert_eq!(
        r.finish("a", ok()),
        lines(&["a succeeded", "route a success -> n", "start n 1/1"])
    );
    // n is running: the second activation waits for this visit to end.
    assert_eq!(
        r.finish("b", ok()),
        lines(&["b succeeded", "route b success -> n"])
    );
    assert_eq!(r.finish("n", ok()), lines(&["n succeeded", "start n 2/1"]));
    assert_eq!(
        r.finish("n", ok()),
        lines(&["n succeeded", "finished Succeeded"])
    );
    assert_eq!(r.s.visits(r.id("n")), 2);
}

#[test]
fn route_target_starts_although_a_need_never_ran() {
    let p = Flow::new()
        .stage("s", S::default())
        .stage(
            "p",
            S::default()
                .needs(&["s"])
                .on(Failure, "notify")
                .on(Exit(vec![3]), "z"),
        )
        .stage("z", S::default())
        .stage("notify", S::default().needs(&["s", "z"]))
        .build();
    let mut r = Run::new(&p);
    r.start();
    assert_eq!(r.finish("s", ok()), lines(&["s succeeded", "start p 1/1"]));
    assert_eq!(
        r.finish("p", exit(1)),
        lines(&[
            "p failed: exit 1 (handled)",
            "route p failure -> notify",
            "start notify 1/1",
            "z skipped: never routed to",
        ])
    );
    assert_eq!(
        r.finish("notify", ok()),
        lines(&["notify succeeded", "finished Succeeded"])
    );
}

// Rule 3: liveness.

/// implement -> unit_test <-> fix_tests (max 3) -> self_verify; `report`
/// needs unit_test without being routed to.
fn fix_loop(fix: S) -> Flow {
    Flow::new()
        .stage("implement", S::default().on(Success, "unit_test"))
        .stage(
            "unit_test",
            S::default()
                .needs(&["implement"])
                .on(Failure, "fix_tests")
                .on(Success, "self_verify"),
        )
        .stage(
            "fix_tests",
            fix.needs(&["unit_test"]).on(Success, "unit_test"),
        )
        .stage("self_verify", S::default())
        .stage("notify", S::default())
        .stage("report", S::default().needs(&["unit_test"]))
}

#[test]
fn fix_tests_loop_starts_fix_tests_when_unit_test_fails_then_reaches_self_verify() {
    let p = fix_loop(S::default().max(3).on(Failure, "notify")).build();
    let mut r = Run::new(&p);
    assert_eq!(r.start(), lines(&["start implement 1/1"]));
    assert_eq!(
        r.finish("implement", ok()),
        lines(&[
            "implement succeeded",
            "route implement success -> unit_test",
            "start unit_test 1/1"
        ])
    );
    assert_eq!(
        r.finish("unit_test", exit(1)),
        lines(&[
            "unit_test failed: exit 1 (handled)",
            "route unit_test failure -> fix_tests",
            "start fix_tests 1/1"
        ])
    );
    assert_eq!(
        r.finish("fix_tests", ok()),
        lines(&[
            "fix_tests succeeded",
            "route fix_tests success -> unit_test",
            "start unit_test 2/1"
        ])
    );
    assert_eq!(
        r.finish("unit_test", ok()),
        lines(&[
            "unit_test succeeded",
            "route unit_test success -> self_verify",
            "start self_verify 1/1",
            "start report 1/1",
            "notify skipped: never routed to",
        ])
    );
    assert_eq!(
        r.finish("self_verify", ok()),
        lines(&["self_verify succeeded"])
    );
    assert_eq!(
        r.finish("report", ok()),
        lines(&["report succeeded", "finished Succeeded"])
    );
    assert_eq!(
        (r.s.visits(r.id("unit_test")), r.s.visits(r.id("fix_tests"))),
        (2, 1)
    );
}

#[test]
fn non_routed_stage_waits_until_the_loop_is_over() {
    let p = fix_loop(S::default().max(3).on(Failure, "notify")).build();
    let mut r = Run::new(&p);
    r.start();
    r.finish("implement", ok());
    // unit_test failed, but fix_tests may still re-run it: report waits.
    let after_fail = r.finish("unit_test", exit(1));
    assert!(
        !after_fail.iter().any(|l| l.contains("report")),
        "{after_fail:?}"
    );
    // The loop ends on the failure path: unit_test can no longer re-run.
    assert_eq!(
        r.finish("fix_tests", exit(1)),
        lines(&[
            "fix_tests failed: exit 1 (handled)",
            "route fix_tests failure -> notify",
            "start notify 1/1",
            "report skipped: a need did not succeed",
            "self_verify skipped: never routed to",
        ])
    );
    assert_eq!(
        r.finish("notify", ok()),
        lines(&["notify succeeded", "finished Succeeded"])
    );
}

#[test]
fn queued_stages_waiting_on_each_other_do_not_hang_the_run() {
    // w1 needs n1, which only w2 routes to; w2 needs n2, which only w1
    // routes to: each could re-activate the other's need.
    let p = Flow::new()
        .stage("x", S::default().on(Success, "w1").on(Success, "w2"))
        .stage("w1", S::default().needs(&["n1"]).on(Success, "n2"))
        .stage("w2", S::default().needs(&["n2"]).on(Success, "n1"))
        .stage("n1", S::default())
        .stage("n2", S::default())
        .build();
    let mut r = Run::new(&p);
    r.start();
    assert_eq!(
        r.finish("x", ok()),
        lines(&[
            "x succeeded",
            "route x success -> w1",
            "route x success -> w2",
            "start w1 1/1"
        ])
    );
    assert_eq!(
        r.finish("w1", ok()),
        lines(&["w1 succeeded", "route w1 success -> n2", "start n2 1/1"])
    );
    assert_eq!(
        r.finish("n2", ok()),
        lines(&["n2 succeeded", "start w2 1/1"])
    );
    assert_eq!(
        r.finish("w2", ok()),
        lines(&["w2 succeeded", "route w2 success -> n1", "start n1 1/1"])
    );
    assert_eq!(
        r.finish("n1", ok()),
        lines(&["n1 succeeded", "finished Succeeded"])
    );
}

// Rule 4: outcome matching.

#[test]
fn status_route_wins_even_after_exit_0_and_blocks_the_normal_path() {
    let p = Flow::new()
        .stage(
            "plan",
            S::default()
                .on(Status("BLOCKED".into()), "notify")
                .on(Success, "implement"),
        )
        .stage("notify", S::default())
        .stage("implement", S::default())
        .stage("build", S::default().needs(&["plan"]))
        .build();
    let mut r = Run::new(&p);
    r.start();
    assert_eq!(
        r.finish("plan", status(0, "BLOCKED")),
        lines(&[
            "plan failed: status \"BLOCKED\" (handled)",
            "route plan status \"BLOCKED\" -> notify",
            "start notify 1/1",
            "build skipped: a need did not succeed",
            "implement skipped: never routed to",
        ])
    );
}

#[test]
fn exit_route_wins_over_timeout_and_failure_routes() {
    let p = Flow::new()
        .stage("a", S::default().on(Failure, "f").on(Exit(vec![2, 3]), "e"))
        .stage("e", S::default())
        .stage("f", S::default())
        .build();
    let mut r = Run::new(&p);
    r.start();
    let d = r.finish("a", exit(3));
    assert_eq!(
        &d[..3],
        &lines(&[
            "a failed: exit 3 (handled)",
            "route a exit 2, 3 -> e",
            "start e 1/1"
        ])[..]
    );
}

// Rule 5: retries.

#[test]
fn failure_is_retried_with_backoff_before_failure_routes_apply() {
    let p = Flow::new()
        .stage("a", S::default().retry(2, 5, 2.0).on(Failure, "h"))
        .stage("h", S::default())
        .build();
    let mut r = Run::new(&p);
    r.start();
    assert_eq!(r.finish("a", exit(1)), lines(&["after a 5s"]));
    assert_eq!(r.timer("a"), lines(&["start a 1/2"]));
    assert_eq!(r.finish("a", exit(1)), lines(&["after a 10s"]));
    assert_eq!(r.timer("a"), lines(&["start a 1/3"]));
    assert_eq!(
        r.finish("a", timed_out()),
        lines(&[
            "a failed: timeout (handled)",
            "route a failure -> h",
            "start h 1/1"
        ])
    );
    assert_eq!(r.s.attempts(r.id("a")), 3);
}

#[test]
fn retry_without_delay_starts_at_once() {
    let p = Flow::new()
        .stage("a", S::default().retry(1, 0, 1.0))
        .build();
    let mut r = Run::new(&p);
    r.start();
    assert_eq!(r.finish("a", exit(1)), lines(&["start a 1/2"]));
    assert_eq!(
        r.finish("a", exit(1)),
        lines(&["a failed: exit 1", "finished Failed(\"a\")"])
    );
}

#[test]
fn routed_exit_is_never_retried() {
    let p = Flow::new()
        .stage("a", S::default().retry(3, 0, 1.0).on(Exit(vec![2]), "h"))
        .stage("h", S::default())
        .build();
    let mut r = Run::new(&p);
    r.start();
    assert_eq!(
        r.finish("a", exit(2)),
        lines(&[
            "a failed: exit 2 (handled)",
            "route a exit 2 -> h",
            "start h 1/1"
        ])
    );
}

// Rule 6: unhandled failure.

#[test]
fn unhandled_failure_stops_new_starts_and_routes_and_fails_the_run() {
    let p = Flow::new()
        .stage("a", S::default())
        .stage("b", S::default().on(Success, "x"))
        .stage("c", S::default().needs(&["a"]))
        .stage("d", S::default().needs(&["b"]))
        .stage("x", S::default())
        .build();
    let mut r = Run::new(&p);
    r.start();
    assert_eq!(
        r.finish("a", exit(1)),
        lines(&[
            "a failed: exit 1",
            "c skipped: run failed",
            "d skipped: run failed",
            "x skipped: run failed"
        ])
    );
    // b still finishes, but its route does not fire.
    assert_eq!(
        r.finish("b", ok()),
        lines(&["b succeeded", "finished Failed(\"a\")"])
    );
}

// Rule 7: max visits.

#[test]
fn max_visits_fails_the_stage_without_starting_it_and_takes_its_failure_route() {
    let p = fix_loop(S::default().max(1).on(Failure, "notify")).build();
    let mut r = Run::new(&p);
    r.start();
    r.finish("implement", ok());
    r.finish("unit_test", exit(1));
    r.finish("fix_tests", ok());
    assert_eq!(
        r.finish("unit_test", exit(1)),
        lines(&[
            "unit_test failed: exit 1 (handled)",
            "route unit_test failure -> fix_tests",
            "fix_tests failed: max visits (1) reached (handled)",
            "route fix_tests failure -> notify",
            "start notify 1/1",
            "report skipped: a need did not succeed",
            "self_verify skipped: never routed to",
        ])
    );
    assert_eq!(r.s.visits(r.id("fix_tests")), 1);
}

#[test]
fn max_visits_without_failure_route_fails_the_run() {
    let p = fix_loop(S::default().max(1)).build();
    let mut r = Run::new(&p);
    // Nothing routes to notify here: it is an entry stage.
    assert_eq!(
        r.start(),
        lines(&["start implement 1/1", "start notify 1/1"])
    );
    r.finish("notify", ok());
    r.finish("implement", ok());
    r.finish("unit_test", exit(1));
    r.finish("fix_tests", ok());
    let d = r.finish("unit_test", exit(1));
    assert_eq!(d[2], "fix_tests failed: max visits (1) reached", "{d:?}");
    assert_eq!(
        d.last().map(String::as_str),
        Some("finished Failed(\"fix_tests\")"),
        "{d:?}"
    );
    assert!(!d.iter().any(|l| l.starts_with("start")), "{d:?}");
}

// Rule 8: again after.

#[test]
fn again_after_reruns_the_stage_as_a_new_visit_counting_against_max() {
    let p = Flow::new()
        .stage("poll", S::default().max(2).again(Exit(vec![10]), 60))
        .build();
    let mut r = Run::new(&p);
    assert_eq!(r.start(), lines(&["start poll 1/1"]));
    assert_eq!(
        r.finish("poll", exit(10)),
        lines(&[
            "poll failed: exit 10 (handled)",
            "route poll exit 10 -> poll",
            "after poll 60s"
        ])
    );
    assert_eq!(r.timer("poll"), lines(&["start poll 2/1"]));
    assert_eq!(
        r.finish("poll", exit(10)),
        lines(&[
            "poll failed: exit 10 (handled)",
            "route poll exit 10 -> poll",
            "poll failed: max visits (2) reached",
            "finished Failed(\"poll\")",
        ])
    );
    assert_eq!(r.when_calls, lines(&["poll", "poll"]));
}

// Rule 9: when.

#[test]
fn when_false_skips_the_stage_and_its_dependents() {
    let p = Flow::new()
        .stage("a", S::default().on(Success, "t"))
        .stage("b", S::default().needs(&["a"]))
        .stage("c", S::default().needs(&["b"]))
        .stage("t", S::default())
        .stage("u", S::default().needs(&["t"]))
        .build();
    let mut r = Run::new(&p);
    r.when_false = ["b".to_string(), "t".to_string()].into();
    r.start();
    assert_eq!(
        r.finish("a", ok()),
        lines(&[
            "a succeeded",
            "route a success -> t",
            "b skipped: when was false",
            "t skipped: when was false",
            "c skipped: a need did not succeed",
            "u skipped: a need did not succeed",
            "finished Succeeded",
        ])
    );
}

#[test]
fn when_is_asked_before_each_visit_but_not_before_a_retry() {
    let p = Flow::new()
        .stage("a", S::default().retry(1, 0, 1.0))
        .build();
    let mut r = Run::new(&p);
    r.start();
    assert_eq!(r.finish("a", exit(1)), lines(&["start a 1/2"]));
    assert_eq!(r.when_calls, lines(&["a"]));
}

/// Issue 6: a `when` that errors at run time used to read as false (the
/// stage skipped, the run "succeeded"). It fails the stage unhandled.
#[test]
fn when_error_fails_the_stage_and_the_run_without_a_retry() {
    let p = Flow::new()
        .stage("a", S::default())
        .stage("b", S::default().needs(&["a"]).retry(3, 0, 1.0))
        .stage("c", S::default().needs(&["b"]))
        .build();
    let mut r = Run::new(&p);
    r.when_error = ["b".to_string()].into();
    r.start();
    assert_eq!(
        r.finish("a", ok()),
        lines(&[
            "a succeeded",
            "b failed: `when` failed: boom",
            "c skipped: run failed",
            "finished Failed(\"b\")",
        ])
    );
    assert_eq!(r.s.visits(r.id("b")), 0, "a failed `when` is not a visit");
}

#[test]
fn when_error_is_routed_or_allowed_like_other_failures() {
    let p = Flow::new()
        .stage("a", S::default().on(Failure, "fix"))
        .stage("fix", S::default().ends_run("fixed"))
        .stage("b", S::default().allow_failure().ends_run("never"))
        .stage("c", S::default().needs(&["b"]))
        .build();
    let mut r = Run::new(&p);
    r.when_error = ["a".to_string(), "b".to_string()].into();
    assert_eq!(
        r.start(),
        lines(&[
            "a failed: `when` failed: boom (handled)",
            "route a failure -> fix",
            "start fix 1/1",
            "b failed: `when` failed: boom (allowed)",
            "start c 1/1",
        ])
    );
    r.finish("c", ok());
    // `ends run` needs the stage to run: b's never applies.
    assert_eq!(
        r.finish("fix", ok()),
        lines(&["fix succeeded", "finished Ended(\"fixed\")"])
    );
}

/// Issue 6 (`--jobs 1`): a start that waited for a job slot while another
/// stage failed the run is refused; the stage is skipped, not started.
#[test]
fn a_start_refused_after_the_run_stopped_skips_the_stage() {
    let p = Flow::new()
        .stage("a", S::default())
        .stage("b", S::default())
        .finally("f", S::default())
        .build();
    let mut r = Run::new(&p);
    assert_eq!(r.start(), lines(&["start a 1/1", "start b 1/1"]));
    let b = r.id("b");
    assert!(r.s.may_start(b));
    assert_eq!(r.finish("a", exit(1)), lines(&["a failed: exit 1"]));
    assert!(!r.s.may_start(b));
    assert!(r.s.may_start(r.id("f")), "finally stages still start");
    assert_eq!(
        r.event(Event::NotStarted { stage: b }),
        lines(&["b skipped: run failed", "start f 1/1"])
    );
    assert_eq!(r.s.visits(b), 0);
    assert_eq!(
        r.finish("f", ok()),
        lines(&["f succeeded", "finished Failed(\"a\")"])
    );
}

#[test]
fn a_refused_retry_fails_its_visit_and_a_start_that_may_run_is_not_refused() {
    let p = Flow::new()
        .stage("a", S::default())
        .stage("b", S::default().retry(1, 0, 1.0).allow_failure())
        .build();
    let mut r = Run::new(&p);
    r.start();
    let b = r.id("b");
    // Not stopping: a stray NotStarted is ignored.
    assert_eq!(r.event(Event::NotStarted { stage: b }), lines(&[]));
    assert_eq!(r.finish("b", exit(1)), lines(&["start b 1/2"]));
    assert_eq!(r.finish("a", exit(1)), lines(&["a failed: exit 1"]));
    assert_eq!(
        r.event(Event::NotStarted { stage: b }),
        lines(&[
            "b failed: not retried: run failed (allowed)",
            "finished Failed(\"a\")"
        ])
    );
}

// Rule 10 and 14: run outcome.

#[test]
fn ends_run_stage_ends_the_run_with_its_name() {
    let p = Flow::new()
        .stage("a", S::default().on(Exit(vec![2]), "notify"))
        .stage("notify", S::default().ends_run("blocked"))
        .build();
    let mut r = Run::new(&p);
    r.start();
    r.finish("a", exit(2));
    assert_eq!(
        r.finish("notify", ok()),
        lines(&["notify succeeded", "finished Ended(\"blocked\")"])
    );
}

#[test]
fn unhandled_failure_wins_over_ends_run() {
    let p = Flow::new()
        .stage("a", S::default().on(Exit(vec![2]), "notify"))
        .stage("b", S::default())
        .stage("notify", S::default().ends_run("blocked"))
        .build();
    let mut r = Run::new(&p);
    r.start();
    r.finish("a", exit(2));
    r.finish("notify", ok());
    assert_eq!(
        r.finish("b", exit(1)),
        lines(&["b failed: exit 1", "finished Failed(\"b\")"])
    );
}

// Rule 13: the end.

#[test]
fn stray_events_are_ignored_and_the_run_finishes_exactly_once() {
    let p = Flow::new()
        .stage("a", S::default())
        .stage("b", S::default().needs(&["a"]))
        .build();
    let mut r = Run::new(&p);
    assert!(r.finish("a", ok()).is_empty(), "before start");
    r.start();
    assert!(r.finish("b", ok()).is_empty(), "b is not running");
    assert!(r.timer("a").is_empty(), "no timer set");
    let bogus = flow_dsl::ir::StageId(99);
    assert!(r
        .event(super::Event::AttemptFinished {
            stage: bogus,
            result: ok()
        })
        .is_empty());
    let mut all = r.finish("a", ok());
    all.extend(r.finish("b", ok()));
    all.extend(r.finish("b", ok()));
    all.extend(r.event(super::Event::Cancel));
    assert_eq!(
        all.iter().filter(|l| l.starts_with("finished")).count(),
        1,
        "{all:?}"
    );
    assert!(r.s.is_finished());
    assert_eq!(r.s.run_outcome(), Some(super::super::RunOutcome::Succeeded));
}

#[test]
fn empty_pipeline_finishes_at_start() {
    let p = Flow::new().build();
    assert_eq!(Run::new(&p).start(), lines(&["finished Succeeded"]));
}
