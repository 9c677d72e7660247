//! The comments of a parsed file.
//!
//! The grammar skips comments silently (`COMMENT` is a `_` rule), so they are
//! found in the gaps between the leaf pairs of the tree: every byte of the
//! text is either inside some token (a keyword, a string, a `"""` script, an
//! expression, a junk line …) or skipped as `WHITESPACE`/`COMMENT`. A `#` in
//! a gap therefore starts a comment, and a `#` inside a string or script,
//! which is part of a token, never does.

use super::P;
use crate::ast::Spanned;
use crate::span::Span;
use pest::Token;

/// Every comment in `text`, given the `file` pair parsed from it, in order.
/// Each spans from its `#` to the end of its line, a trailing `\r` excluded.
pub(super) fn collect(text: &str, file: &P) -> Vec<Spanned<String>> {
    let mut comments = Vec::new();
    // Only a `#` can start a comment: past the last one there is nothing to
    // find, so the walk stops there (most files have few, near the top).
    let Some(last_hash) = text.rfind('#') else {
        return comments;
    };
    let mut gap_start = 0;
    // The tokens come in order; a leaf is a start right followed by its
    // end. The leaves are sorted and disjoint; a parent may overhang its
    // last child, so only leaves count. (Tokens, not `flatten`: asking each
    // pair for its children cost more than parsing the comments.)
    let mut open = None;
    for token in file.clone().into_inner().tokens() {
        match token {
            Token::Start { pos, .. } => open = Some(pos.pos()),
            Token::End { pos, .. } => {
                let Some(start) = open.take() else { continue };
                if start > gap_start {
                    in_gap(text, gap_start, start, &mut comments);
                }
                gap_start = gap_start.max(pos.pos());
                if gap_start > last_hash {
                    break;
                }
            }
        }
    }
    in_gap(text, gap_start, text.len(), &mut comments);
    comments
}

/// The comments in `text[start..end]`, a run of blanks and comments.
fn in_gap(text: &str, start: usize, end: usize, out: &mut Vec<Spanned<String>>) {
    let Some(gap) = text.get(start..end) else {
        return;
    };
    let mut at = 0;
    while let Some(hash) = gap[at..].find('#') {
        let from = at + hash;
        let to = gap[from..].find('\n').map_or(gap.len(), |i| from + i);
        let body = gap[from..to].strip_suffix('\r').unwrap_or(&gap[from..to]);
        out.push(Spanned::new(
            body.to_string(),
            Span::new(start + from, start + from + body.len()),
        ));
        at = to;
    }
}
