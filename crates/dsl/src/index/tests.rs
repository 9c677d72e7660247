//! Index tests: a small file, each name's declaration and uses asserted by
//! the text under their spans.

use super::*;
use crate::parse::parse;
use crate::span::SourceId;

const FILE: &str = r#"use std

template poll(limit: int = 3) {
  max limit
  when limit > 1
  run "true"
}

flow demo {
  param issue: int = 1
  param every: duration = 30s
  let title = `#${issue}`
  secret TOKEN
  alert p95(build) > 10m
  stage build {
    when issue > 0 && title != ""
    run "make"
    on exit 3 -> again after every
  }
  stage test: poll(limit: 2) {
    needs build
    when stages.build.outcome == "succeeded"
    on failure -> build
  }
  stage plan: std.agent(skill: "plan") { }
}
"#;

fn index() -> Index {
    let (file, diags) = parse(FILE, SourceId(0));
    assert!(diags.is_empty(), "{diags:#?}");
    Index::build(&file)
}

/// The texts under `spans`, with the line (1-based) of each.
fn texts(spans: &[Span]) -> Vec<(usize, &'static str)> {
    spans
        .iter()
        .map(|s| {
            let line = FILE[..s.start].matches('\n').count() + 1;
            (line, &FILE[s.start..s.end])
        })
        .collect()
}

fn symbol(ix: &Index, kind: SymbolKind, name: &str) -> Symbol {
    ix.symbols
        .iter()
        .find(|s| s.kind == kind && s.name == name)
        .unwrap_or_else(|| panic!("no {kind:?} {name}"))
        .clone()
}

#[test]
fn a_stage_is_used_by_needs_routes_alerts_and_expressions() {
    let ix = index();
    let build = symbol(&ix, SymbolKind::Stage, "build");
    assert_eq!(texts(&[build.def]), [(15, "build")]);
    assert_eq!(
        texts(&build.refs),
        [(14, "build"), (21, "build"), (22, "build"), (23, "build")]
    );
    assert_eq!(build.scope, Scope::Flow(0));
}

#[test]
fn params_and_lets_are_used_in_expressions_and_settings() {
    let ix = index();
    let issue = symbol(&ix, SymbolKind::Param, "issue");
    assert_eq!(texts(&issue.refs), [(12, "issue"), (16, "issue")]);
    let every = symbol(&ix, SymbolKind::Param, "every");
    assert_eq!(texts(&every.refs), [(18, "every")]);
    let title = symbol(&ix, SymbolKind::Let, "title");
    assert_eq!(texts(&title.refs), [(16, "title")]);
    assert_eq!(symbol(&ix, SymbolKind::Secret, "TOKEN").refs, []);
}

#[test]
fn a_template_parameter_is_seen_in_its_body_and_in_call_arguments() {
    let ix = index();
    let limit = symbol(&ix, SymbolKind::TemplateParam, "limit");
    assert_eq!(
        texts(&limit.refs),
        [(4, "limit"), (5, "limit"), (20, "limit")]
    );
    let poll = symbol(&ix, SymbolKind::Template, "poll");
    assert_eq!(texts(&poll.refs), [(20, "poll")]);
}

#[test]
fn library_calls_and_uses_are_kept_for_the_caller() {
    let ix = index();
    assert_eq!(ix.calls.len(), 2);
    let lib = &ix.calls[1].call;
    assert_eq!(lib.library.as_ref().map(|l| l.node.as_str()), Some("std"));
    assert_eq!(ix.symbols[ix.calls[1].stage].name, "plan");
    assert_eq!(ix.uses.len(), 1);
}

#[test]
fn at_finds_the_name_under_an_offset_or_just_after_it() {
    let ix = index();
    let needs = FILE.find("needs build").expect("needs") + "needs ".len();
    let build = ix.find(SymbolKind::Stage, "build", Scope::Flow(0));
    for offset in [needs, needs + 2, needs + 5] {
        match ix.at(offset) {
            Some(Hit::Symbol(i, span)) => {
                assert_eq!(Some(i), build);
                assert_eq!(&FILE[span.start..span.end], "build");
            }
            other => panic!("{other:?} at {offset}"),
        }
    }
    let agent = FILE.find("agent").expect("agent");
    assert_eq!(ix.at(agent + 1), Some(Hit::CallTemplate(1)));
    let skill = FILE.find("\"plan\"").expect("plan");
    assert_eq!(ix.at(skill + 2), Some(Hit::CallArgValue(1, 0)));
    assert_eq!(ix.at(FILE.find("std").expect("use") + 1), Some(Hit::Use(0)));
    assert_eq!(ix.at(FILE.find("make").expect("make")), None);
}

#[test]
fn unresolved_names_are_no_references() {
    let text =
        "flow f {\n  stage a {\n    needs nope\n    when missing > 1\n    run \"x\"\n  }\n}\n";
    let (file, _) = parse(text, SourceId(0));
    let ix = Index::build(&file);
    assert!(ix.symbols.iter().all(|s| s.refs.is_empty()), "{ix:#?}");
}
