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
