//! Where an expression ends: the end of the line, `;`, a comment or the `}`
//! of the block, all at bracket depth 0; strings and brackets are skipped.

use super::{at, flow, ok, stage, stage_body};
use crate::ast::{FlowItem, StageItem};

/// The source of `when EXPR…` written as the only stage item line.
fn when(line: &str) -> String {
    match &stage_body(line)[0] {
        StageItem::When(e) => e.source.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn stops_at_comment_but_not_at_object_map() {
    assert_eq!(when("when x > 1   # a comment }"), "x > 1");
    assert_eq!(when("when #{a: 1}.a == 1 # note"), "#{a: 1}.a == 1");
    assert_eq!(when("when x == \"a # b\" # real comment"), "x == \"a # b\"");
}

#[test]
fn stops_at_semicolon_and_closing_brace() {
    let items = stage_body("when a; run \"x\"");
    assert!(matches!(&items[0], StageItem::When(e) if e.source == "a"));
    assert!(matches!(&items[1], StageItem::Run(s) if s.node == "x"));
    let text = "flow f { stage s { when a && b } }";
    let file = ok(text);
    let StageItem::When(e) = &stage(flow(&file), "s").items[0] else {
        panic!()
    };
    assert_eq!(at(text, e.span), "a && b");
}

#[test]
fn braces_and_strings_with_braces_are_skipped() {
    assert_eq!(
        when("when if x { \"}\" } else { '}' } == \"}\""),
        "if x { \"}\" } else { '}' } == \"}\""
    );
    assert_eq!(
        when("when `a ${ x + \"}\" } b` != \"\""),
        "`a ${ x + \"}\" } b` != \"\""
    );
    assert_eq!(
        when(r#"when "say \"hi\" }" == y"#),
        r#""say \"hi\" }" == y"#
    );
}

#[test]
fn brackets_may_span_lines() {
    let text =
        "flow f {\n  let x = max(\n    1, # not a comment in rhai? kept\n    [2,\n     3]\n  )\n  let y = 2\n}\n";
    let file = ok(text);
    let f = flow(&file);
    let FlowItem::Let(_, e) = &f.items[0] else {
        panic!()
    };
    assert_eq!(
        e.source,
        "max(\n    1, # not a comment in rhai? kept\n    [2,\n     3]\n  )"
    );
    assert_eq!(at(text, e.span), e.source);
    assert!(matches!(&f.items[1], FlowItem::Let(n, e) if n.node == "y" && e.source == "2"));
}

#[test]
fn trailing_blanks_are_not_part_of_the_span() {
    let text = "flow f {\n  skip if  a  ==  b   \t\n}\n";
    let file = ok(text);
    let FlowItem::SkipIf(e) = &flow(&file).items[0] else {
        panic!()
    };
    assert_eq!(e.source, "a  ==  b");
    assert_eq!(at(text, e.span), "a  ==  b");
}

#[test]
fn env_values_are_expressions() {
    let items = stage_body("env A = \"x\" + \"y\"\nenv B = 3");
    assert!(
        matches!(&items[0], StageItem::Env(n, e) if n.node == "A" && e.source == "\"x\" + \"y\"")
    );
    assert!(matches!(&items[1], StageItem::Env(n, e) if n.node == "B" && e.source == "3"));
}
