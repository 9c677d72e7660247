//! Checker tests: small `.flow` texts through [`crate::check_source`], each
//! asserting the exact code, the text under the primary span, and the message.

mod alerts;
mod example;
mod graph;
mod names;
mod robust;
mod rules;
mod run_safety;
mod suggestions;
mod templates;
mod triggers;
mod values;

use crate::diagnostic::{Code, Diagnostic};
use crate::{check_source, Checked};
use std::path::Path;

/// Checks `text` with `dir` as its folder.
pub(super) fn check_in(dir: &Path, text: &str) -> Checked {
    check_source("test.flow", text, dir)
}

/// Checks `text` (its folder: a fresh empty one).
pub(super) fn check(text: &str) -> Checked {
    let dir = tempfile::tempdir().expect("temp dir");
    check_in(dir.path(), text)
}

/// The codes of all diagnostics.
pub(super) fn codes(c: &Checked) -> Vec<Code> {
    c.diagnostics.iter().map(|d| d.code).collect()
}

/// The source text under a diagnostic's primary label.
pub(super) fn spanned<'a>(c: &'a Checked, d: &Diagnostic) -> &'a str {
    let text = &c.sources.get(d.source).text;
    &text[d.span().start..d.span().end]
}

/// The one diagnostic of `text` (fails if there are others) and the text under its span.
pub(super) fn one(text: &str) -> (Diagnostic, String) {
    let c = check(text);
    assert_eq!(
        c.diagnostics.len(),
        1,
        "expected one diagnostic, got {:#?}",
        c.diagnostics
    );
    let d = c.diagnostics[0].clone();
    let s = spanned(&c, &d).to_string();
    (d, s)
}

/// `body` inside `flow f { timeout 1h … }` (the flow timeout keeps F0101 quiet).
pub(super) fn flow(body: &str) -> String {
    format!("flow f {{\n  timeout 1h\n{body}\n}}\n")
}

/// Asserts `text` has exactly one diagnostic, with `code`, primary span text
/// `span` and a message containing `message`.
#[track_caller]
pub(super) fn expect(text: &str, code: Code, span: &str, message: &str) -> Diagnostic {
    let (d, s) = one(text);
    assert_eq!(d.code, code, "{d:#?}");
    assert_eq!(s, span, "{d:#?}");
    assert!(
        d.message.contains(message),
        "message {:?} lacks {message:?}",
        d.message
    );
    d
}
