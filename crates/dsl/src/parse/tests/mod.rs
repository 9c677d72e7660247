//! Tests of the parser, one file per concern. Example files live in
//! `examples/` and nowhere else.

mod comments;
mod equivalence;
mod errors;
mod examples;
mod exprs;
mod items;
mod robustness;

use super::parse;
use crate::ast::{File, Flow, FlowItem, StageDecl, StageItem};
use crate::diagnostic::Diagnostic;
use crate::span::{SourceId, Span};

/// Parses `text` and asserts there is no diagnostic.
fn ok(text: &str) -> File {
    let (file, diags) = parse(text, SourceId(0));
    assert!(
        diags.is_empty(),
        "unexpected diagnostics for {text:?}: {diags:#?}"
    );
    file
}

/// Parses `text` and returns its diagnostics, asserting there is at least one.
fn errs(text: &str) -> Vec<Diagnostic> {
    let (_, diags) = parse(text, SourceId(0));
    assert!(!diags.is_empty(), "expected a diagnostic for {text:?}");
    diags
}

/// The source text a span covers.
fn at(text: &str, span: Span) -> &str {
    &text[span.start..span.end]
}

/// The only flow of a file.
fn flow(file: &File) -> &Flow {
    assert_eq!(file.flows.len(), 1, "{file:#?}");
    &file.flows[0]
}

/// The stage (or finally) named `name`.
fn stage<'f>(flow: &'f Flow, name: &str) -> &'f StageDecl {
    flow.items
        .iter()
        .find_map(|i| match i {
            FlowItem::Stage(s) | FlowItem::Finally(s) if s.name.node == name => Some(s),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no stage {name}"))
}

/// The items of the single stage of `flow x { stage s { <body> } }`.
fn stage_body(body: &str) -> Vec<StageItem> {
    let text = format!("flow x {{\n  stage s {{\n{body}\n  }}\n}}\n");
    let file = ok(&text);
    stage(flow(&file), "s").items.clone()
}
