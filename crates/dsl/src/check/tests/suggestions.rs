//! "Did you mean" diagnostics carry their fix as data
//! ([`crate::Suggestion`]): the span of the misspelt name and the close name.

use super::*;

/// The text under `d`'s suggestion and its replacement.
fn fix(text: &str, d: &Diagnostic) -> (String, String) {
    let s = d.suggestion.as_ref().expect("a suggestion");
    (
        text[s.span.start..s.span.end].to_string(),
        s.replacement.clone(),
    )
}

#[test]
fn unknown_stage_in_needs_and_routes_suggests_the_close_stage() {
    let text = flow("  stage build { run \"true\" }\n  stage test { needs biuld  run \"true\"  on failure -> buidl }");
    let c = check(&text);
    let fixes: Vec<_> = c
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::UnknownStage)
        .map(|d| fix(&text, d))
        .collect();
    assert_eq!(
        fixes,
        [
            ("biuld".to_string(), "build".to_string()),
            ("buidl".to_string(), "build".to_string())
        ]
    );
}

#[test]
fn unknown_variable_and_stage_ref_suggest_in_the_expression() {
    let text =
        flow("  param issue: int = 1\n  stage a {\n    when isue > 0\n    run \"true\"\n  }");
    let d = expect(&text, Code::UnknownVariable, "isue", "unknown variable");
    assert_eq!(fix(&text, &d), ("isue".into(), "issue".into()));
    let text = flow("  stage a { run \"true\" }\n  stage b {\n    needs a\n    when stages.a.outcom == \"x\"\n    run \"true\"\n  }");
    let d = expect(&text, Code::UnknownStageRef, "outcom", "no field");
    assert_eq!(fix(&text, &d), ("outcom".into(), "outcome".into()));
}

#[test]
fn a_stage_named_as_a_variable_gets_no_fix() {
    // Its help says `stages.a`; replacing `a` by another name would be wrong.
    let text = flow("  param b: int = 1\n  stage a { run \"true\" }\n  stage c {\n    needs a\n    when a == 1\n    run \"true\"\n  }");
    let c = check(&text);
    let d = c
        .diagnostics
        .iter()
        .find(|d| d.code == Code::UnknownVariable)
        .expect("F0010");
    assert_eq!(d.suggestion, None);
}

#[test]
fn unknown_type_and_template_argument_suggest() {
    let text = flow("  param n: itn = 1\n  stage a { run \"true\" }");
    let c = check(&text);
    let d = c
        .diagnostics
        .iter()
        .find(|d| d.code == Code::TypeMismatch)
        .expect("unknown type");
    assert_eq!(fix(&text, d), ("itn".into(), "int".into()));
    let text = format!(
        "template t(count: int = 1) {{ run \"true\" }}\n{}",
        flow("  stage a: t(cuont: 2) { }")
    );
    let d = expect(&text, Code::TemplateArgs, "cuont", "no parameter");
    assert_eq!(fix(&text, &d), ("cuont".into(), "count".into()));
}

#[test]
fn no_close_name_no_suggestion() {
    let text = flow("  stage a { needs zzzzzz  run \"true\" }");
    let d = expect(&text, Code::UnknownStage, "zzzzzz", "unknown stage");
    assert_eq!(d.suggestion, None);
}
