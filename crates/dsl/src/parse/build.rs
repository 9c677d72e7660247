//! The AST builder's state, shared by the parser and the pest reference:
//! the diagnostics found while building, and the block-level ones (junk,
//! an unclosed block). Leaf values are in `values.rs`.

use super::errors::{found_at, junk_error, Level};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::{SourceId, Span};

/// Builds the AST of one file and collects the diagnostics found on the way.
pub(super) struct Builder<'t> {
    pub(super) text: &'t str,
    pub(super) source: SourceId,
    pub(super) diags: Vec<Diagnostic>,
    /// The opening brackets of `text`, once counted (for pest's stack).
    brackets: Option<usize>,
}

impl<'t> Builder<'t> {
    /// A builder for `text`, whose diagnostics point into `source`.
    pub(super) fn new(text: &'t str, source: SourceId) -> Self {
        Builder {
            text,
            source,
            diags: Vec::new(),
            brackets: None,
        }
    }

    /// Reports the first junk of a block; later ones are usually its echoes.
    pub(super) fn junk(&mut self, start: usize, level: Level, reported: &mut bool) {
        if !*reported {
            *reported = true;
            let (text, source) = (self.text, self.source);
            let brackets = *self.brackets.get_or_insert_with(|| super::brackets(text));
            let explained =
                super::on_pest_stack(brackets, || junk_error(text, source, start, level));
            let d = explained.unwrap_or_else(|why| {
                let (found, span) = found_at(text, start);
                Diagnostic::new(Code::Syntax, source, span, format!("unexpected {found}"))
                    .label("not expected here")
                    .help(format!(
                        "this syntax error could not be explained further ({why})"
                    ))
            });
            self.diags.push(d);
        }
    }

    /// A block still open at the end of the file. Not reported after another
    /// syntax error, which has most likely swallowed its `}`.
    pub(super) fn unclosed(&mut self, open: Span, what: &str) {
        if self.diags.iter().any(|d| d.code == Code::Syntax) {
            return;
        }
        let end = self.text.len();
        let d = Diagnostic::new(
            Code::Syntax,
            self.source,
            Span::new(end, end),
            "missing `}` at the end of the file",
        )
        .label(format!("expected `}}` to close {what}"))
        .secondary(open, "opened here")
        .help(format!("add `}}` after the last item of {what}"));
        self.diags.push(d);
    }
}
