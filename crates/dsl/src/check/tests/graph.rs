//! F0004 needs cycles, F0005 route cycles, F0006 unreachable stages, F0018,
//! F0024 finally misuse, F0103.

use super::*;

#[test]
fn needs_cycle_reports_the_whole_path() {
    let text = flow("  stage a { needs c  run \"x\" }\n  stage b { needs a  run \"x\" }\n  stage c { needs b  run \"x\" }");
    let d = expect(&text, Code::NeedsCycle, "c", "a -> c -> b -> a");
    assert_eq!(d.labels.len(), 3);
}

#[test]
fn self_need_is_a_cycle() {
    expect(
        &flow("  stage a { needs a  run \"x\" }"),
        Code::NeedsCycle,
        "a",
        "a -> a",
    );
}

#[test]
fn route_cycle_without_max() {
    let text = flow("  stage test { run \"t\"  on failure -> fix }\n  stage fix { run \"f\"  on success -> test }");
    let c = check(&text);
    // Both are route targets of each other, so both are also unreachable
    // (F0006); this test is about F0005.
    let d = c
        .diagnostics
        .iter()
        .find(|d| d.code == Code::UnboundedLoop)
        .expect("F0005");
    assert_eq!(spanned(&c, d), "on failure -> fix");
    assert!(d.message.contains("test -> fix -> test"), "{}", d.message);
    assert!(d.help.as_deref().unwrap().contains("max"));
}

#[test]
fn route_cycle_with_max_is_fine() {
    let text = flow(
        "  stage build { run \"b\"  on success -> test }\n  stage test { needs build  run \"t\"  on failure -> fix }\n  stage fix { needs test  max 3  run \"f\"  on success -> test }",
    );
    let c = check(&text);
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    assert!(c.pipeline.is_some());
}

#[test]
fn self_route_without_max() {
    expect(
        &flow("  stage a { run \"x\"  on failure -> a }"),
        Code::UnboundedLoop,
        "on failure -> a",
        "a -> a",
    );
}

#[test]
fn route_target_nobody_reaches_is_unreachable() {
    let text = flow("  stage a { run \"x\" }\n  stage b { run \"x\"  on success -> c }\n  stage c { run \"x\"  on success -> b }\n");
    let c = check(&text);
    let unreachable: Vec<&str> = c
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::Unreachable)
        .map(|d| spanned(&c, d))
        .collect();
    assert_eq!(unreachable, ["b", "c"]);
    assert!(c.diagnostics.iter().any(|d| d.code == Code::UnboundedLoop));
}

#[test]
fn stage_needing_an_unreachable_stage_is_unreachable() {
    let text = flow(
        "  stage a { run \"x\"  max 2  on success -> b }\n  stage b { run \"x\"  max 2  on success -> a }\n  stage c { needs b  run \"x\" }",
    );
    let c = check(&text);
    let msgs: Vec<&str> = c.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        codes(&c),
        [Code::Unreachable, Code::Unreachable, Code::Unreachable],
        "{msgs:#?}"
    );
    assert!(msgs[2].contains("it needs `b`, which can never run"));
}

#[test]
fn again_needs_a_bound() {
    let text = "flow f {\n  stage w { timeout 1m  run \"x\"  on exit 10 -> again after 1m }\n}\n";
    expect(
        text,
        Code::UnboundedAgain,
        "on exit 10 -> again after 1m",
        "re-runs itself with no bound",
    );
    let c = check(&flow(
        "  stage w { run \"x\"  on exit 10 -> again after 1m }",
    ));
    assert!(
        c.diagnostics.is_empty(),
        "flow timeout bounds it: {:#?}",
        c.diagnostics
    );
}

#[test]
fn route_to_finally() {
    expect(
        &flow("  stage a { run \"x\"  on failure -> clean }\n  finally clean { run \"y\" }"),
        Code::FinallyMisuse,
        "clean",
        "route to finally stage `clean`",
    );
}

#[test]
fn route_on_finally() {
    expect(
        &flow("  stage a { run \"x\" }\n  finally clean { run \"y\"  on failure -> a }"),
        Code::FinallyMisuse,
        "on failure -> a",
        "finally stage `clean` has a route",
    );
}

#[test]
fn needing_a_finally_stage() {
    expect(
        &flow("  stage a { needs clean  run \"x\" }\n  finally clean { run \"y\" }"),
        Code::FinallyMisuse,
        "clean",
        "a finally stage",
    );
    let c = check(&flow(
        "  stage a { run \"x\"  outputs a.txt }\n  finally clean { needs a  run \"y\" }",
    ));
    assert!(
        c.diagnostics.is_empty(),
        "finally may need ordinary stages: {:#?}",
        c.diagnostics
    );
}

#[test]
fn route_target_off_the_normal_path_warns() {
    let text = flow(
        "  stage build { run \"b\" }\n  stage test { needs build  run \"t\" }\n  stage fix { run \"f\"  on success -> test }",
    );
    let d = expect(
        &text,
        Code::RouteTargetNotOnPath,
        "test",
        "not when `build` succeeds",
    );
    assert_eq!(d.severity, crate::Severity::Warning);
    let c = check(&text);
    assert!(
        c.pipeline.is_some(),
        "a warning does not block the pipeline"
    );
}

#[test]
fn failure_handler_does_not_warn() {
    let text = flow(
        "  stage setup { run \"s\" }\n  stage plan { needs setup  run \"p\"  on failure -> notify }\n  stage notify { needs setup  run \"n\" }",
    );
    let c = check(&text);
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let p = c.pipeline.unwrap();
    assert!(p.stage_named("notify").unwrap().route_target);
    assert!(!p.stage_named("plan").unwrap().route_target);
}

#[test]
fn output_clash_between_two_needs() {
    let text = flow(
        "  stage a { run \"x\"  outputs out/report.txt }\n  stage b { run \"x\"  outputs report.txt, *.log }\n  stage c { needs a, b  run \"x\" }",
    );
    let d = expect(
        &text,
        Code::OutputClash,
        "b",
        "`a` and `b` both output `report.txt`",
    );
    assert_eq!(d.labels.len(), 2);
    let c = check(&flow("  stage a { run \"x\"  outputs *.txt }\n  stage b { run \"x\"  outputs *.txt }\n  stage c { needs a, b  run \"x\" }"));
    assert!(
        c.diagnostics.is_empty(),
        "globs are not compared: {:#?}",
        c.diagnostics
    );
}

#[test]
fn stage_without_timeout_warns() {
    let text = "flow f {\n  stage a { run \"x\" }\n  finally b { run \"y\" }\n}\n";
    let c = check(text);
    assert_eq!(codes(&c), [Code::NoTimeout, Code::NoTimeout]);
    assert_eq!(spanned(&c, &c.diagnostics[1]), "b");
    assert!(c.pipeline.is_some());
    let c = check("flow f {\n  stage a { run \"x\"  timeout 1m }\n}\n");
    assert!(c.diagnostics.is_empty());
}
