//! The pest parser generated from `src/flow.pest`. Nothing outside
//! [`crate::parse`] sees it: the AST carries plain byte spans.

/// The generated parser; its `Rule` enum names the grammar's rules.
#[derive(pest_derive::Parser)]
#[grammar = "flow.pest"]
pub(super) struct FlowParser;
