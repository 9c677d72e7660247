//! `flow-dsl`: the `.flow` language.
//!
//! ```text
//! text ──parse──▶ ast::File ──load──▶ + libraries (use, templates) ──check──▶ ir::Pipeline
//! ```
//!
//! Every phase collects all the [`Diagnostic`]s it can instead of stopping at
//! the first. Only [`load`] reads files; the rest is pure.
#![deny(missing_docs)]

pub mod ast;
pub mod diagnostic;
pub mod ir;
pub mod span;

pub use diagnostic::{Code, Diagnostic, Label, Severity};
pub use span::{SourceId, SourceMap, Span};
