//! The comments of a parsed file.
//!
//! The grammar skips comments silently (`COMMENT` is a `_` rule), so they are
//! found in the gaps between the leaf pairs of the tree: every byte of the
//! text is either inside some token (a keyword, a string, a `"""` script, an
//! expression, a junk line …) or skipped as `WHITESPACE`/`COMMENT`. A `#` in
//! a gap therefore starts a comment, and a `#` inside a string or script,
//! which is part of a token, never does.

use super::build::P;
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

#[cfg(test)]
mod tests {
    use crate::parse::parse;
    use crate::span::SourceId;

    fn comments(text: &str) -> Vec<String> {
        let (file, _) = parse(text, SourceId(0));
        for c in &file.comments {
            assert_eq!(&text[c.span.start..c.span.end], c.node, "span of {c:?}");
        }
        file.comments.into_iter().map(|c| c.node).collect()
    }

    #[test]
    fn finds_whole_line_and_trailing_comments() {
        let text = "# top\nflow f { # after brace\n  timeout 1m # trailing\r\n  stage a {\n    # inside\n    run \"x\"\n  }\n}\n# end";
        assert_eq!(
            comments(text),
            ["# top", "# after brace", "# trailing", "# inside", "# end"]
        );
    }

    #[test]
    fn a_hash_inside_a_string_script_or_expression_is_not_a_comment() {
        let text = concat!(
            "flow f {\n",
            "  description \"# not a comment\"\n",
            "  stage a {\n",
            "    run \"\"\"\n",
            "      # flow: allow(F0101)\n",
            "      echo '#'\n",
            "    \"\"\"\n",
            "    when #{a: 1}.a == 1 # real\n",
            "  }\n",
            "}\n",
        );
        assert_eq!(comments(text), ["# real"]);
    }

    #[test]
    fn no_comments_and_empty_text() {
        assert!(comments("").is_empty());
        assert!(comments("flow f { stage a { run \"x\" } }").is_empty());
        assert_eq!(comments("#"), ["#"]);
    }

    #[test]
    fn comments_survive_a_syntax_error_elsewhere() {
        let text = "flow f {\n  # keep\n  bogus thing\n  # also\n}\n";
        let found = comments(text);
        assert!(found.contains(&"# keep".to_string()), "{found:?}");
    }
}
