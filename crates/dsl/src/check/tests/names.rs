//! F0002 duplicates, F0003 unknown stages, F0023 several flows.

use super::*;

#[test]
fn duplicate_stage_labels_both() {
    let d = expect(
        &flow("  stage a { run \"x\" }\n  finally a { run \"y\" }"),
        Code::Duplicate,
        "a",
        "stage `a` is declared twice",
    );
    assert_eq!(d.labels.len(), 2);
    assert!(d.labels[1].span.start < d.labels[0].span.start);
}

#[test]
fn duplicate_param_and_let_share_a_namespace() {
    expect(
        &flow("  param x: int = 1\n  let x = 2\n  stage a { run \"x\" }"),
        Code::Duplicate,
        "x",
        "param or let `x`",
    );
}

#[test]
fn duplicate_env_and_secret() {
    expect(
        &flow("  secret TOKEN\n  env TOKEN = \"a\"\n  stage a { run \"x\" }"),
        Code::Duplicate,
        "TOKEN",
        "`TOKEN` is declared twice",
    );
    expect(
        &flow("  stage a { run \"x\"  env A = \"1\"; env A = \"2\" }"),
        Code::Duplicate,
        "A",
        "env variable `A`",
    );
}

#[test]
fn duplicate_setting_in_one_stage_labels_both() {
    let text = flow("  stage a { run \"x\"  timeout 1m  timeout 2m }");
    let d = expect(&text, Code::Duplicate, "2m", "`timeout` is set twice");
    assert_eq!(d.labels.len(), 2);
    assert_eq!(&text[d.labels[1].span.start..d.labels[1].span.end], "1m");
    expect(
        &flow("  stage a { run \"x\"  run \"y\" }"),
        Code::Duplicate,
        "\"y\"",
        "`run` is set twice",
    );
}

#[test]
fn duplicate_template() {
    expect(
        "template t { run \"a\" }\ntemplate t { run \"b\" }\n",
        Code::Duplicate,
        "t",
        "template `t`",
    );
}

#[test]
fn duplicate_flow_setting() {
    expect(
        &flow("  timeout 2h\n  stage a { run \"x\" }"),
        Code::Duplicate,
        "2h",
        "`timeout` is set twice",
    );
}

#[test]
fn unknown_need_suggests_a_name() {
    let d = expect(
        &flow("  stage build { run \"x\" }\n  stage test { needs biuld  run \"y\" }"),
        Code::UnknownStage,
        "biuld",
        "unknown stage `biuld`",
    );
    assert_eq!(d.help.as_deref(), Some("did you mean `build`?"));
}

#[test]
fn unknown_route_target() {
    let d = expect(
        &flow("  stage a { run \"x\"  on failure -> fixx }\n  stage fix { run \"y\" }"),
        Code::UnknownStage,
        "fixx",
        "unknown stage `fixx`",
    );
    assert_eq!(d.help.as_deref(), Some("did you mean `fix`?"));
}

#[test]
fn needing_a_stage_twice() {
    expect(
        &flow("  stage a { run \"x\" }\n  stage b { needs a, a  run \"y\" }"),
        Code::Duplicate,
        "a",
        "`a` is needed twice",
    );
}

#[test]
fn second_flow_is_an_error_on_its_name() {
    let text = "flow one {\n  timeout 1h\n  stage a { run \"x\" }\n}\nflow two {\n  timeout 1h\n  stage a { run \"x\" }\n}\n";
    let c = check(text);
    assert_eq!(codes(&c), [Code::NoFlow]);
    assert_eq!(spanned(&c, &c.diagnostics[0]), "two");
    assert!(c.pipeline.is_none());
}

#[test]
fn template_only_file_checks_clean_without_pipeline() {
    let c = check("template t(x: int = 1) { run \"echo $X\"  timeout 1m }\n");
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    assert!(c.pipeline.is_none());
}
