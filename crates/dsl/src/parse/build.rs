//! The AST builder's state, shared by the parser and the pest reference:
//! the diagnostics found while building, and the block-level ones (junk,
//! an unclosed block). Leaf values are in `values.rs`.

use super::errors::{junk_error, Level};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::{SourceId, Span};

/// Builds the AST of one file and collects the diagnostics found on the way.
pub(super) struct Builder<'t> {
    pub(super) text: &'t str,
    pub(super) source: SourceId,
    pub(super) diags: Vec<Diagnostic>,
}

impl<'t> Builder<'t> {
    /// A builder for `text`, whose diagnostics point into `source`.
    pub(super) fn new(text: &'t str, source: SourceId) -> Self {
        Builder {
            text,
            source,
            diags: Vec::new(),
        }
    }

    /// Reports the first junk of a block; later ones are usually its echoes.
    pub(super) fn junk(&mut self, start: usize, level: Level, reported: &mut bool) {
        if !*reported {
            *reported = true;
            self.diags
                .push(junk_error(self.text, self.source, start, level));
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
