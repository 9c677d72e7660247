//! The formatter's safety net: the formatted text must parse to the same
//! tree (spans aside) with the same comments, in the same order.

use crate::ast::File;

/// `Ok` when `before` and `after` (the formatted text, parsed) differ only
/// in their spans.
pub(super) fn same_tree(before: &File, after: &File) -> Result<(), String> {
    let (a, b) = (without_spans(before), without_spans(after));
    if a == b {
        return Ok(());
    }
    let at = a
        .bytes()
        .zip(b.bytes())
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let near = |s: &str| {
        s.get(at.saturating_sub(60)..(at + 60).min(s.len()))
            .unwrap_or("")
            .to_string()
    };
    Err(format!(
        "the formatted text parses differently: `{}` became `{}`",
        near(&a),
        near(&b)
    ))
}

/// The tree's debug text with every `Span { start: …, end: … }` cut to
/// `Span` (strings are escaped in it, so a `}` inside one is no span's end).
fn without_spans(file: &File) -> String {
    let text = format!("{file:?}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    const OPEN: &str = "Span { start: ";
    while let Some(i) = rest.find(OPEN) {
        out.push_str(&rest[..i]);
        out.push_str("Span");
        rest = &rest[i..];
        rest = rest.find('}').map_or("", |j| &rest[j + 1..]);
    }
    out.push_str(rest);
    out
}
