//! F0007 durations, F0008 param types, F0017 outputs, F0020 run, F0021
//! impossible routes, F0022 bad values, expressions.

use super::*;

#[test]
fn bad_durations() {
    expect(
        &flow("  stage a { run \"x\"  timeout 10x }"),
        Code::BadDuration,
        "10x",
        "`10x` is not a valid duration",
    );
    expect(
        &flow("  stage a { run \"x\"  retry 1 delay 5q }"),
        Code::BadDuration,
        "5q",
        "not a valid duration",
    );
    expect(
        "flow f {\n  timeout 3q\n  stage a { run \"x\"  timeout 1m }\n}\n",
        Code::BadDuration,
        "3q",
        "`3q`",
    );
}

/// `idle` is a timer like `timeout`: valid, at most a year, given once.
#[test]
fn idle_is_a_checked_timer() {
    expect(
        &flow("  stage a { run \"x\"  idle 10x }"),
        Code::BadDuration,
        "10x",
        "`10x` is not a valid duration",
    );
    expect(
        &flow("  stage a { run \"x\"  idle 400d }"),
        Code::BadDuration,
        "400d",
        "",
    );
    expect(
        &flow("  stage a { run \"x\"  idle 1m  idle 2m }"),
        Code::Duplicate,
        "2m",
        "idle",
    );
}

#[test]
fn param_default_of_the_wrong_type() {
    let d = expect(
        &flow("  param retries: int = \"three\"\n  stage a { run \"x\" }"),
        Code::TypeMismatch,
        "\"three\"",
        "expected a value of type `int`, found a string",
    );
    assert!(d.help.unwrap().contains("42"));
    expect(
        &flow("  param xs: list<str> = [\"a\", 2]\n  stage a { run \"x\" }"),
        Code::TypeMismatch,
        "2",
        "type `str`",
    );
}

#[test]
fn unknown_type_and_skill_param() {
    let d = expect(
        &flow("  param n: integer\n  stage a { run \"x\" }"),
        Code::TypeMismatch,
        "integer",
        "unknown type `integer`",
    );
    assert!(d.help.unwrap().starts_with("did you mean `int`?"));
    expect(
        &flow("  param s: skill\n  stage a { run \"x\" }"),
        Code::TypeMismatch,
        "skill",
        "template parameters only",
    );
}

#[test]
fn param_defaults_become_typed_values() {
    let c = check(&flow("  param d: duration = 90s\n  param r: float = 2\n  param l: list<str> = [\"a\"]\n  stage a { run \"x\" }"));
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    use crate::ir::Value;
    let p = c.pipeline.unwrap();
    let defaults: Vec<_> = p
        .params
        .iter()
        .map(|p| p.default.clone().unwrap())
        .collect();
    assert_eq!(
        defaults,
        [
            Value::Duration(std::time::Duration::from_secs(90)),
            Value::Float(2.0),
            Value::List(vec!["a".into()])
        ]
    );
}

#[test]
fn outputs_that_escape() {
    expect(
        &flow("  stage a { run \"x\"  outputs ../secret.txt }"),
        Code::OutputEscapes,
        "../secret.txt",
        "climbs out",
    );
    expect(
        &flow("  stage a { run \"x\"  outputs \"/etc/passwd\" }"),
        Code::OutputEscapes,
        "\"/etc/passwd\"",
        "is absolute",
    );
}

#[test]
fn stage_without_run() {
    expect(
        &flow("  stage build { timeout 1m }"),
        Code::MissingRun,
        "build",
        "stage `build` has no `run`",
    );
}

#[test]
fn impossible_routes() {
    let text = flow("  stage a { run \"x\"  on status \"DONE\" -> b }\n  stage b { run \"y\" }");
    expect(
        &text,
        Code::ImpossibleRoute,
        "status \"DONE\"",
        "reports no status",
    );
    let text = flow("  stage a { run \"x\"  on exit 256 -> b }\n  stage b { run \"y\" }");
    expect(
        &text,
        Code::ImpossibleRoute,
        "256",
        "exit code 256 cannot occur",
    );
}

#[test]
fn bad_values() {
    expect(
        &flow("  stage a { run \"x\"  max 0 }"),
        Code::BadValue,
        "0",
        "`max 0` must be at least 1",
    );
    expect(
        &flow("  stage a { run \"x\"  retry -1 }"),
        Code::BadValue,
        "-1",
        "`retry -1` is out of range",
    );
    expect(
        &flow("  stage a { run \"x\"  retry 1 backoff 0.5 }"),
        Code::BadValue,
        "0.5",
        "backoff `0.5`",
    );
    expect(
        &flow("  concurrency 0\n  stage a { run \"x\" }"),
        Code::BadValue,
        "0",
        "`concurrency 0`",
    );
    expect(
        &flow("  stage a { run \"x\"  status yaml }"),
        Code::BadValue,
        "yaml",
        "unknown status format `yaml`",
    );
}

#[test]
fn two_routes_for_one_outcome() {
    let text = flow(
        "  stage a { run \"x\"  on exit 2 -> b\n  on exit 3, 2 -> b }\n  stage b { run \"y\" }",
    );
    expect(
        &text,
        Code::Duplicate,
        "exit 3, 2",
        "two routes of stage `a` for `exit 2`",
    );
}

#[test]
fn expressions_see_params_earlier_lets_and_stages() {
    let text = flow(
        "  param n: int = 1\n  let a = n + 1\n  let b = a * 2\n  skip if n > 10\n  env X = `${a}`\n  stage s { run \"x\"; when stages.s.visits < b\n  env Y = n }",
    );
    let c = check(&text);
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let p = c.pipeline.unwrap();
    assert_eq!(
        p.lets.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert!(p.stages[0].when.is_some());
}

#[test]
fn skip_if_sees_params_only() {
    // The runtime evaluates `skip if` before the lets.
    let c = check(&flow(
        "  param n: int = 1\n  let a = 2\n  skip if a > n\n  stage s { run \"x\" }",
    ));
    assert_eq!(codes(&c), [Code::UnknownVariable]);
    assert_eq!(spanned(&c, &c.diagnostics[0]), "a");
}

#[test]
fn let_cannot_see_a_later_let() {
    let c = check(&flow("  let a = b\n  let b = 1\n  stage s { run \"x\" }"));
    assert_eq!(codes(&c), [Code::UnknownVariable]);
    assert_eq!(spanned(&c, &c.diagnostics[0]), "b");
}

#[test]
fn expression_errors_are_collected() {
    let c = check(&flow(
        "  stage s { run \"x\"  when stages.nope.outcome == \"x\"\n  env A = isue }",
    ));
    assert_eq!(
        codes(&c),
        [Code::UnknownStageRef, Code::UnknownVariable],
        "{:#?}",
        c.diagnostics
    );
}

#[test]
fn routes_of_one_outcome_to_different_targets_fan_out() {
    // Issue 7 §7: docs said both fire, the checker said F0002.
    let text = flow(concat!(
        "  stage a { run \"x\"\n  on success -> b\n  on success -> c\n  on exit 2, 3 -> b\n  on exit 3 -> c }\n",
        "  stage b { run \"y\" }\n  stage c { run \"z\" }",
    ));
    let c = check(&text);
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let p = c.pipeline.unwrap();
    assert_eq!(p.stages[0].routes.len(), 4);
}

#[test]
fn one_outcome_twice_to_one_target_is_a_duplicate() {
    // It would visit the target twice, or arm two `again` timers.
    expect(
        &flow("  stage a { run \"x\"\n  on success -> b\n  on success -> b }\n  stage b { run \"y\" }"),
        Code::Duplicate,
        "success",
        "two routes of stage `a` for `success` to `b`",
    );
    expect(
        &flow("  stage a { run \"x\"  max 3\n  on exit 1 -> again after 1s\n  on exit 1 -> again after 2s }"),
        Code::Duplicate,
        "exit 1",
        "two routes of stage `a` for `exit 1` to `again`",
    );
}

// Issue 7 §7: `max` and `again after` accept params.

#[test]
fn max_and_again_take_flow_params_bound_at_run_time() {
    let text = flow(concat!(
        "  param tries: int = 3\n  param wait: duration = 2s\n",
        "  stage a { run \"x\"  max tries\n  on exit 1 -> again after wait }",
    ));
    let c = check(&text);
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let p = c.pipeline.unwrap();
    use crate::ir::{ParamSettingKind, RouteTarget, Value};
    let kinds: Vec<(&str, ParamSettingKind)> = p
        .param_settings
        .iter()
        .map(|s| (s.param.as_str(), s.setting))
        .collect();
    assert_eq!(
        kinds,
        [
            ("wait", ParamSettingKind::Again { route: 0 }),
            ("tries", ParamSettingKind::Max)
        ]
    );
    let bound = p
        .bind_params(&[
            ("tries".into(), Value::Int(7)),
            (
                "wait".into(),
                Value::Duration(std::time::Duration::from_secs(9)),
            ),
        ])
        .unwrap();
    assert_eq!(bound.stages[0].max_visits, Some(7));
    assert_eq!(
        bound.stages[0].routes[0].target,
        RouteTarget::Again(std::time::Duration::from_secs(9))
    );
    let err = p
        .bind_params(&[("tries".into(), Value::Int(0))])
        .unwrap_err();
    assert!(err.contains("param `tries` (for stage `a`)"), "{err}");
    assert!(err.contains("not 0"), "{err}");
}

#[test]
fn a_setting_param_is_typed_and_its_default_checked() {
    expect(
        &flow("  stage a { run \"x\"  max trys\n on exit 1 -> again after 1s }"),
        Code::UnknownSettingParam,
        "trys",
        "`max trys`: the flow has no param `trys`",
    );
    expect(
        &flow("  param tries: str = \"3\"\n  stage a { run \"x\"  max tries\n on exit 1 -> again after 1s }"),
        Code::TypeMismatch,
        "tries",
        "param `tries` is a str, not a int",
    );
    expect(
        &flow("  param tries: int = 0\n  stage a { run \"x\"  max tries\n on exit 1 -> again after 1s }"),
        Code::BadValue,
        "tries",
        "param `tries` defaults to 0",
    );
    expect(
        &flow("  param wait: duration = 400d\n  stage a { run \"x\"  max 2\n on exit 1 -> again after wait }"),
        Code::BadValue,
        "wait",
        "at most 365 days",
    );
}

#[test]
fn a_template_setting_takes_its_parameter() {
    let t = "template poll(limit: int = 2, every: duration = 1s) {\n  run \"x\"\n  max limit\n  on exit 1 -> again after every\n}\n";
    let c = check(&(flow("  stage a: poll(limit: 5, every: 3s) { }\n  stage b: poll() { }") + t));
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let p = c.pipeline.unwrap();
    assert!(p.param_settings.is_empty());
    assert_eq!(p.stages[0].max_visits, Some(5));
    assert_eq!(p.stages[1].max_visits, Some(2));
    assert_eq!(
        p.stages[0].routes[0].target,
        crate::ir::RouteTarget::Again(std::time::Duration::from_secs(3))
    );
    // Out of range where the stage passes it; unknown at the template, alone.
    expect(
        &(flow("  stage a: poll(limit: 0) { }") + t),
        Code::BadValue,
        "poll(limit: 0)",
        "stage `a` passes `limit` = 0 to `max limit`",
    );
    expect(
        "template p(n: int = 2) {\n  run \"x\"\n  max m\n}\n",
        Code::UnknownSettingParam,
        "m",
        "template `p` has no param `m`",
    );
}

#[test]
fn budgets() {
    let ok = check(&flow(
        "  budget 5 usd, 200000 tokens\n  stage a { run \"x\"  budget 0.5 usd  on budget -> b }\n  stage b { run \"y\" }",
    ));
    assert!(ok.diagnostics.is_empty(), "{:#?}", ok.diagnostics);
    let pipeline = ok.pipeline.unwrap();
    let budget = pipeline.budget.unwrap();
    assert_eq!((budget.usd, budget.tokens), (Some(5.0), Some(200_000)));
    assert_eq!(pipeline.stages[0].budget.unwrap().usd, Some(0.5));
    assert_eq!(pipeline.stages[0].budget.unwrap().tokens, None);

    expect(
        &flow("  stage a { run \"x\"  budget 0 usd }"),
        Code::BadValue,
        "0 usd",
        "budget `0 usd` must be more than 0",
    );
    expect(
        &flow("  stage a { run \"x\"  budget 1.5 tokens }"),
        Code::BadValue,
        "1.5 tokens",
        "must be a whole number of tokens",
    );
    expect(
        &flow("  stage a { run \"x\"  budget 1e30 tokens }"),
        Code::BadValue,
        "1e30 tokens",
        "is too large",
    );
    expect(
        &flow("  budget 5 usd, 3 usd\n  stage a { run \"x\" }"),
        Code::BadValue,
        "3 usd",
        "`budget` gives `usd` twice",
    );
    expect(
        &flow("  stage a { run \"x\"  budget 1 usd  budget 2 usd }"),
        Code::Duplicate,
        "budget 2 usd",
        "budget",
    );
    // A budget of the flow makes `on budget` possible on every stage.
    expect(
        &flow("  stage a { run \"x\"  on budget -> b }\n  stage b { run \"y\" }"),
        Code::DeadRoute,
        "on budget -> b",
        "`on budget` can never fire",
    );
    let (d, _) = one(&flow("  stage a { run \"x\"  budget 5 euros }"));
    assert_eq!(d.code, Code::Syntax, "{d:#?}");
}
