//! What `flow resume` asks of a replayed scheduler.

use super::{exit, lines, Flow, Run, S};
use crate::scheduler::Decision;
use flow_dsl::ir::StageId;

#[test]
fn a_restarted_attempt_is_the_next_number_and_not_counted_against_retry() {
    let p = Flow::new()
        .stage("a", S::default().retry(1, 0, 1.0))
        .build();
    let mut r = Run::new(&p);
    r.start();
    let a = StageId(0);
    assert_eq!(r.s.running(), [(a, 1, 1)]);
    // Attempt 1 was lost: attempt 2 runs, and `retry 1` still allows one.
    assert_eq!(
        r.s.restart_attempt(a),
        Some(Decision::Start {
            stage: a,
            visit: 1,
            attempt: 2
        })
    );
    assert_eq!(r.finish("a", exit(1)), lines(&["start a 1/3"]));
    assert_eq!(
        r.finish("a", exit(1)),
        lines(&["a failed: exit 1", "finished Failed(\"a\")"])
    );
    assert!(r.s.has_failed());
    // Not running any more: nothing to restart.
    assert_eq!(r.s.restart_attempt(a), None);
}

#[test]
fn waiting_lists_the_stages_with_a_timer_set() {
    let p = Flow::new()
        .stage("a", S::default().retry(1, 5, 1.0))
        .build();
    let mut r = Run::new(&p);
    r.start();
    assert!(r.s.waiting().is_empty());
    r.finish("a", exit(1));
    assert_eq!(r.s.waiting(), [StageId(0)]);
    assert!(r.s.running().is_empty());
}
