//! Turning rhai positions (1-based line, 1-based *character* column, relative
//! to the expression) into byte spans in the file holding the expression.

use crate::ast;
use crate::span::{offset_of, Span};
use rhai::Position;

/// Maps positions inside one expression onto its file.
pub(super) struct Locator<'a> {
    /// The expression's text.
    source: &'a str,
    /// Byte offset of the expression in its file.
    base: usize,
}

impl<'a> Locator<'a> {
    /// A locator for `expr`, whose `source` starts at `expr.span.start`.
    pub(super) fn new(expr: &'a ast::Expr) -> Self {
        Locator {
            source: &expr.source,
            base: expr.span.start,
        }
    }

    /// Byte offset inside the expression of `pos` (the end for a position
    /// rhai does not know).
    pub(super) fn local(&self, pos: Position) -> usize {
        match pos.line() {
            // `position()` is None at the start of a line: column 0.
            Some(line) => offset_of(self.source, line, pos.position().unwrap_or(0)),
            None => self.source.len(),
        }
    }

    /// The whole expression.
    pub(super) fn whole(&self) -> Span {
        Span::new(self.base, self.base + self.source.len())
    }

    /// `len` bytes from `local` (a byte offset inside the expression),
    /// clamped to the expression.
    pub(super) fn span_at(&self, local: usize, len: usize) -> Span {
        let start = local.min(self.source.len());
        let end = (start + len).min(self.source.len());
        Span::new(self.base + start, self.base + end)
    }

    /// The span of `text` at `pos` when the source really holds it there,
    /// else the character at `pos`.
    pub(super) fn token(&self, pos: Position, text: &str) -> Span {
        self.token_at(self.local(pos), text)
    }

    /// Like [`Locator::token`] at a byte offset inside the expression.
    pub(super) fn token_at(&self, local: usize, text: &str) -> Span {
        let local = local.min(self.source.len());
        if !self.source.is_char_boundary(local) {
            return self.span_at(local, 0);
        }
        if !text.is_empty() && self.source[local..].starts_with(text) {
            self.span_at(local, text.len())
        } else {
            self.char_at(local)
        }
    }

    /// One character at `local`; at the end of the expression, its last
    /// non-blank character (an error "at the end" is about what comes last).
    pub(super) fn char_at(&self, local: usize) -> Span {
        let src = self.source;
        let local = local.min(src.len());
        match src[local..].chars().next().filter(|c| !c.is_whitespace()) {
            Some(c) => self.span_at(local, c.len_utf8()),
            None => {
                let trimmed = src[..local].trim_end();
                match trimmed.char_indices().next_back() {
                    Some((i, c)) => self.span_at(i, c.len_utf8()),
                    None => self.span_at(local, 0),
                }
            }
        }
    }
}
