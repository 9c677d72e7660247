//! F0102 needs that may not have run, F0106 `max` off any loop, F0107
//! unusable `retry`, F0108 dead routes.

use super::*;

/// The diagnostics of `text` with `code`.
fn with_code(text: &str, code: Code) -> Vec<(Diagnostic, String)> {
    let c = check(text);
    c.diagnostics
        .iter()
        .filter(|d| d.code == code)
        .map(|d| (d.clone(), spanned(&c, d).to_string()))
        .collect()
}

#[track_caller]
fn clean(text: &str) {
    let c = check(text);
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
}

// ---- F0102 ----

#[test]
fn handler_needing_a_stage_after_the_failing_one_warns_with_the_path() {
    let text = flow(
        "  stage setup { run \"s\"  on failure -> notify }\n  stage plan { needs setup  run \"p\" }\n  stage notify { needs plan  run \"n\" }",
    );
    let d = expect(
        &text,
        Code::NeedMayNotRun,
        "plan",
        "setup --on failure--> notify before `plan` ran",
    );
    assert_eq!(d.severity, crate::Severity::Warning);
    assert!(
        d.message
            .starts_with("stage `notify` needs `plan`, which may not have run"),
        "{}",
        d.message
    );
    let c = check(&text);
    let route = &d.labels[1];
    let src = &c.sources.get(d.source).text;
    assert_eq!(
        &src[route.span.start..route.span.end],
        "on failure -> notify"
    );
    assert!(d.help.as_deref().unwrap().contains("# flow: allow(F0102)"));
}

#[test]
fn shortest_path_through_route_targets_is_shown() {
    // implement -> (exit 3) fix, before unit_test ran; unit_test -> fix after.
    let text = flow(
        "  stage setup { run \"s\" }\n  stage implement { needs setup  run \"i\"  on exit 3 -> fix  on success -> unit_test }\n  stage unit_test { needs setup  run \"t\"  on failure -> fix }\n  stage fix { needs setup, unit_test  max 3  run \"f\"  on success -> unit_test }",
    );
    let found = with_code(&text, Code::NeedMayNotRun);
    assert_eq!(found.len(), 1, "{found:#?}");
    let (d, span) = &found[0];
    assert_eq!(span, "unit_test");
    assert!(
        d.message
            .contains("via implement --on exit 3--> fix before `unit_test` ran"),
        "{}",
        d.message
    );
}

#[test]
fn path_over_several_route_hops() {
    let text = flow(
        "  stage a { run \"a\"  on failure -> b }\n  stage b { run \"b\"  on exit 2, 3 -> c }\n  stage d { needs a  run \"d\" }\n  stage c { needs d  run \"c\" }",
    );
    let (d, _) = one(&text);
    assert_eq!(d.code, Code::NeedMayNotRun);
    assert!(
        d.message
            .contains("via a --on failure--> b --on exit 2, 3--> c before `d` ran"),
        "{}",
        d.message
    );
}

#[test]
fn need_that_ran_on_every_path_is_fine() {
    // notify is reached only from stages after setup.
    clean(&flow(
        "  stage setup { run \"s\" }\n  stage plan { needs setup  run \"p\"  on failure -> notify }\n  stage review { needs plan  run \"r\"  on failure -> notify  on success -> fix }\n  stage fix { needs setup, plan  run \"f\"  on failure -> notify }\n  stage notify { needs setup  run \"n\" }",
    ));
}

#[test]
fn need_on_the_router_itself_or_before_it_is_fine() {
    clean(&flow(
        "  stage a { run \"a\" }\n  stage b { needs a  run \"b\" }\n  stage c { needs b  run \"c\"  on success -> t }\n  stage t { needs a, c  run \"t\" }",
    ));
}

#[test]
fn entry_stage_always_runs_first() {
    // lint starts with build: the route target waits for it.
    clean(&flow(
        "  stage build { run \"b\"  on failure -> report }\n  stage lint { run \"l\" }\n  stage report { needs lint  run \"r\" }",
    ));
}

#[test]
fn a_need_after_a_stage_that_routes_away_may_be_missing() {
    // lint always starts, but it may fail handled (routed to h): then
    // lint_report never runs, and report, started from build, starts
    // without it.
    let text = flow(
        "  stage build { run \"b\"  on failure -> report }\n  stage lint { run \"l\"  on failure -> h }\n  stage h { run \"h\" }\n  stage lint_report { needs lint  run \"r\" }\n  stage report { needs lint, lint_report  run \"r\" }",
    );
    let found = with_code(&text, Code::NeedMayNotRun);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].1, "lint_report");
    assert!(found[0]
        .0
        .message
        .contains("via build --on failure--> report"));
}

#[test]
fn unreachable_stages_are_left_to_f0006() {
    let text = flow(
        "  stage a { run \"a\"  max 2  on success -> b }\n  stage b { run \"b\"  max 2  on success -> a }\n  stage c { run \"c\"  on failure -> t }\n  stage t { needs b  run \"t\" }",
    );
    assert!(with_code(&text, Code::NeedMayNotRun).is_empty());
}

// ---- F0106 ----

#[test]
fn max_on_a_stage_that_runs_once_warns() {
    let d = expect(
        &flow("  stage build { max 3  run \"make\" }"),
        Code::MaxOffCycle,
        "3",
        "`max 3` never applies: stage `build` runs at most once",
    );
    assert_eq!(d.severity, crate::Severity::Warning);
    assert!(d.help.as_deref().unwrap().contains("remove `max`"));
}

#[test]
fn max_on_a_loop_or_a_poll_is_fine() {
    clean(&flow(
        "  stage build { run \"b\"  on success -> test }\n  stage test { needs build  run \"t\"  on failure -> fix }\n  stage fix { needs test  max 3  run \"f\"  on success -> test }",
    ));
    clean(&flow(
        "  stage wait { max 5  run \"w\"  on exit 1 -> again after 1s }",
    ));
}

#[test]
fn max_on_a_stage_routed_to_twice_is_fine() {
    // Two stages route to notify: it may run twice, so `max 1` applies.
    clean(&flow(
        "  stage a { run \"a\"  on failure -> notify }\n  stage b { run \"b\"  on failure -> notify }\n  stage notify { max 1  run \"n\" }",
    ));
    // One router, but it is itself visited twice (a poll).
    clean(&flow(
        "  stage wait { max 3  run \"w\"  on exit 1 -> again after 1s  on exit 2 -> log }\n  stage log { max 3  run \"l\" }",
    ));
}

#[test]
fn max_on_a_route_target_with_one_router_warns() {
    let found = with_code(
        &flow("  stage a { run \"a\"  on failure -> notify }\n  stage notify { max 2  run \"n\" }"),
        Code::MaxOffCycle,
    );
    assert_eq!(found.len(), 1);
    assert!(found[0]
        .0
        .message
        .contains("at most one stage routes to it"));
}

#[test]
fn out_of_range_max_is_only_f0022() {
    let c = check(&flow("  stage a { max 0  run \"x\" }"));
    assert_eq!(codes(&c), [Code::BadValue]);
}

// ---- F0107 ----

fn all_exits() -> String {
    (1..=255)
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn retry_when_every_failing_exit_is_routed_warns() {
    let text = flow(&format!(
        "  stage a {{ retry 2  run \"x\"  on exit {} -> b }}\n  stage b {{ run \"y\" }}",
        all_exits()
    ));
    let d = expect(
        &text,
        Code::RetryNeverUsed,
        "retry 2",
        "can only follow a crash",
    );
    assert_eq!(d.severity, crate::Severity::Warning);
}

#[test]
fn retry_with_an_unrouted_exit_or_a_timeout_is_fine() {
    let some = (1..=254)
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    clean(&flow(&format!(
        "  stage a {{ retry 2  run \"x\"  on exit {some} -> b }}\n  stage b {{ run \"y\" }}"
    )));
    // Timeouts are retried.
    clean(&flow(&format!(
        "  stage a {{ retry 2  timeout 1m  run \"x\"  on exit {} -> b }}\n  stage b {{ run \"y\" }}",
        all_exits()
    )));
    // `on failure` applies after the retries.
    clean(&flow(
        "  stage a { retry 2  run \"x\"  on failure -> b }\n  stage b { run \"y\" }",
    ));
}

// ---- F0108 ----

#[test]
fn on_success_after_on_exit_zero_is_dead() {
    let text = flow(
        "  stage a { run \"x\"  on exit 0, 2 -> b  on success -> c }\n  stage b { run \"y\" }\n  stage c { run \"z\" }",
    );
    let found = with_code(&text, Code::DeadRoute);
    assert_eq!(found.len(), 1, "{found:#?}");
    let (d, span) = &found[0];
    assert_eq!(span, "on success -> c");
    assert!(d.message.contains("`on exit 0` takes every success first"));
    assert_eq!(d.labels.len(), 2);
}

#[test]
fn on_timeout_without_a_stage_timeout_is_dead() {
    let (d, span) = one(&flow(
        "  stage a { run \"x\"  on timeout -> b }\n  stage b { run \"y\" }",
    ));
    assert_eq!(d.code, Code::DeadRoute);
    assert_eq!(span, "on timeout -> b");
    assert!(d.message.contains("stage `a` has no timeout"));
}

/// Issue 7 §2: `idle` is a time limit of the stage's own: `on timeout`
/// fires when it expires.
#[test]
fn on_timeout_with_an_idle_limit_is_live() {
    clean(&flow(
        "  stage a { idle 5m  run \"x\"  on timeout -> b }\n  stage b { run \"y\" }",
    ));
}

#[test]
fn live_routes_are_fine() {
    clean(&flow(
        "  stage a { timeout 1m  run \"x\"  on timeout -> b  on exit 2 -> b2  on failure -> c  on success -> d }\n  stage b { run \"y\" }\n  stage b2 { run \"y\" }\n  stage c { run \"z\" }\n  stage d { run \"w\" }",
    ));
}

/// Issue 7 §3: an approval stage needs no `run`, takes no script settings,
/// and its decisions are distinct words that its `status` routes name.
#[test]
fn approval_stages_are_checked() {
    clean(&flow(
        "  stage gate { approval \"approved\", \"rejected\"  timeout 1h  on status \"approved\" -> b  on status \"rejected\" -> c  on timeout -> c }\n  stage b { run \"y\" }\n  stage c { run \"z\" }",
    ));
    let (d, span) = one(&flow(
        "  stage gate { approval \"ok\"  timeout 1h  run \"make\" }",
    ));
    assert_eq!(d.code, Code::ApprovalMisuse);
    assert_eq!(span, "\"make\"");
    let (d, span) = one(&flow(
        "  stage gate { approval \"looks good\"  timeout 1h }",
    ));
    assert_eq!(d.code, Code::ApprovalMisuse);
    assert_eq!(span, "\"looks good\"");
    let (d, span) = one(&flow(
        "  stage gate { approval \"ok\", \"ok\"  timeout 1h }",
    ));
    assert_eq!(d.code, Code::ApprovalMisuse);
    assert!(d.message.contains("given twice"), "{}", d.message);
    assert_eq!(span, "\"ok\"");
    let (d, _) = one(&flow(
        "  stage gate { approval \"ok\"  timeout 1h  on status \"okay\" -> b }\n  stage b { run \"y\" }",
    ));
    assert_eq!(d.code, Code::DeadRoute);
    assert!(d.message.contains("decides only ok"), "{}", d.message);
}

#[test]
fn builtin_stages_take_no_script_settings_and_a_plain_name() {
    // A clean builtin stage: no script, no F0020.
    let text = flow("  stage a { run builtin \"fetch_issue\"  timeout 1m }");
    clean(&text);
    let checked = check(&text);
    let pipeline = checked.pipeline.expect("clean");
    assert_eq!(pipeline.stages[0].builtin.as_deref(), Some("fetch_issue"));
    assert_eq!(pipeline.builtins(), ["fetch_issue"]);
    let (d, span) = one(&flow(
        "  stage a { run builtin \"fetch\"  timeout 1m  shell \"sh\" }",
    ));
    assert_eq!(d.code, Code::BuiltinMisuse);
    assert_eq!(span, "\"sh\"");
    let (d, span) = one(&flow(
        "  stage a { run builtin \"fetch\"  timeout 1m  idle 5s }",
    ));
    assert_eq!(d.code, Code::BuiltinMisuse);
    assert_eq!(span, "5s");
    let (d, span) = one(&flow(
        "  stage a { run builtin \"fetch issue\"  timeout 1m }",
    ));
    assert_eq!(d.code, Code::BuiltinMisuse);
    assert_eq!(span, "\"fetch issue\"");
    let (d, span) = one(&flow(
        "  stage a { run builtin \"f\"  approval \"ok\"  timeout 1m }",
    ));
    assert_eq!(d.code, Code::BuiltinMisuse);
    assert_eq!(span, "\"ok\"");
}
