//! Syntax errors: code, exact span, wording in plain words, a help line, and
//! the AST of what did parse.

use super::{errs, flow, stage};
use crate::diagnostic::{Code, Diagnostic};
use crate::parse::parse;
use crate::span::SourceId;

/// The single diagnostic for `text`, checked to be a syntax error whose
/// primary span covers `spanned`, with a label and a help line.
fn one(text: &str, spanned: &str) -> Diagnostic {
    let diags = errs(text);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = diags.into_iter().next().expect("one diagnostic");
    assert_eq!(d.code, Code::Syntax);
    assert_eq!(&text[d.span().start..d.span().end], spanned, "{d:#?}");
    assert!(
        !d.labels[0].message.is_empty() && d.help.is_some(),
        "{d:#?}"
    );
    d
}

#[test]
fn misspelt_stage_item() {
    let d = one("flow f {\n  stage a {\n    runn \"x\"\n  }\n}\n", "runn");
    assert!(
        d.labels[0]
            .message
            .contains("expected a stage item (`run`, `needs`, `timeout`"),
        "{d:?}"
    );
    assert!(d.labels[0].message.ends_with("or `}`"), "{d:?}");
    assert_eq!(d.help.as_deref(), Some("did you mean `run`?"));
}

#[test]
fn missing_value_points_at_what_follows() {
    let d = one("flow f {\n  stage a { timeout }\n}\n", "}");
    assert_eq!(d.labels[0].message, "expected a duration such as `30s`");
    assert_eq!(d.message, "expected a duration such as `30s`, found `}`");
    // `run builtin "NAME"` is the other spelling of `run`.
    let d = one("flow f { stage a { run x } }", "x");
    assert_eq!(
        d.labels[0].message,
        "expected a quoted string, a `\"\"\"` block or `builtin`"
    );
    let d = one("flow f { stage a { when } }", "}");
    assert_eq!(d.labels[0].message, "expected an expression");
    let d = one("flow f { stage a { on success b } }", "b");
    assert_eq!(d.labels[0].message, "expected `->`");
    let d = one("flow {\n}", "{");
    assert_eq!(d.labels[0].message, "expected a name");
}

#[test]
fn error_at_the_end_of_a_line_has_an_empty_span_there() {
    let text = "flow f {\n  stage a { retry\n  }\n}";
    let d = one(text, "");
    assert_eq!(
        d.span().start,
        text.find("retry").map(|i| i + 5).unwrap_or(0)
    );
    assert!(d.message.ends_with("found the end of the line"), "{d:?}");
    // Not when the line ends in a comment: the comment is not the place.
    let text = "flow f {\n  stage a { retry # how many?\n  }\n}";
    one(text, "}");
}

#[test]
fn unclosed_strings_and_blocks() {
    let d = one("flow f {\n  stage a { run \"abc\n  }\n}\n", "\"abc");
    assert_eq!(d.message, "unclosed string");
    let d = one(
        "flow f {\n  stage a { run \"\"\"\n  echo\n  }\n}\n",
        "\"\"\"",
    );
    assert_eq!(d.message, "unclosed `\"\"\"` block");
    let d = one("flow f {\n  stage a {\n    run \"x\"\n  }\n", "");
    assert_eq!(d.labels[0].message, "expected `}` to close flow `f`");
    assert_eq!(d.labels.len(), 2, "points at the opening brace too");
    let d = one("flow f { env X = foo(1, \n }", "(");
    assert_eq!(d.message, "unclosed `(`");
    let d = one("flow f { stage a { timeout 1m } } }", "}");
    assert_eq!(d.message, "unmatched `}`");
}

#[test]
fn missing_brace_before_the_next_stage() {
    let text = "flow f {\n  stage a {\n    run \"x\"\n\n  stage b { run \"y\" }\n}\n";
    let d = one(text, "stage");
    assert_eq!(d.message, "missing `}` before this `stage`");
}

#[test]
fn items_at_the_wrong_level() {
    let d = one("flow f {\n  run \"x\"\n}\n", "run");
    assert!(
        d.help
            .as_deref()
            .unwrap_or("")
            .contains("put it inside `stage NAME { … }`"),
        "{d:?}"
    );
    let d = one("flwo f {}\n", "flwo");
    assert_eq!(d.labels[0].message, "expected `use`, `flow` or `template`");
    assert_eq!(d.help.as_deref(), Some("did you mean `flow`?"));
    let d = one("use foo\n", "foo");
    assert!(d.help.as_deref().unwrap_or("").contains("use std"), "{d:?}");
}

#[test]
fn invalid_values() {
    let d = one("flow f { let my-var = 3 }", "-");
    assert_eq!(d.message, "a let name cannot contain `-`");
    let d = one("flow f { stage a { run \"a \\q\" } }", "\\q");
    assert_eq!(d.message, "unknown escape `\\q`");
    let d = one(
        "flow f { param x: int = 99999999999999999999 }",
        "99999999999999999999",
    );
    assert_eq!(d.message, "number out of range");
    let d = one("flow f { stage a: std.agent(skill: plan) { } }", "plan");
    assert!(d.labels[0].message.starts_with("expected a value"), "{d:?}");
}

#[test]
fn one_error_per_block_and_the_rest_still_parses() {
    let text = "flow f {\n  stage a { retry x }\n  stage b { max }\n  stage c { run \"ok\" }\n}\n";
    let (file, diags) = parse(text, SourceId(0));
    let spans: Vec<&str> = diags
        .iter()
        .map(|d| &text[d.span().start..d.span().end])
        .collect();
    assert_eq!(spans, ["x", "}"]);
    let f = flow(&file);
    assert_eq!(f.items.len(), 3);
    assert_eq!(stage(f, "c").items.len(), 1);
    // Two mistakes in one stage: only the first is reported.
    let diags = errs("flow f { stage a {\n runn \"x\"\n tmeout 1m\n} }");
    assert_eq!(diags.len(), 1);
}

#[test]
fn a_broken_stage_header_loses_only_that_stage() {
    let text = "flow f {\n  stage a: std.agent(skill: plan) {\n    needs b\n  }\n  stage b { run \"x\" }\n}\n";
    let (file, diags) = parse(text, SourceId(0));
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let f = flow(&file);
    assert_eq!(f.items.len(), 1);
    assert_eq!(stage(f, "b").items.len(), 1);
}
