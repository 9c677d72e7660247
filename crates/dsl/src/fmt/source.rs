//! The text being formatted, its comments, and the trivia between tokens.

use crate::ast::Spanned;
use crate::span::Span;

/// Why formatting stopped: the layout could not be mapped onto the text.
pub(super) type Broken = String;

/// A parsed file's text and comments (in source order, as the parser gives
/// them), with the scanning the layout needs.
pub(super) struct Source<'t> {
    /// The whole file.
    pub text: &'t str,
    comments: &'t [Spanned<String>],
}

impl<'t> Source<'t> {
    /// `text` and its comments, sorted by position.
    pub fn new(text: &'t str, comments: &'t [Spanned<String>]) -> Self {
        Source { text, comments }
    }

    /// The text under `span` (empty when out of range: never panics).
    pub fn slice(&self, span: Span) -> &'t str {
        self.text.get(span.start..span.end).unwrap_or("")
    }

    /// The text `start..end` as written (an item kept as it is).
    pub fn written(&self, start: usize, end: usize) -> Result<String, Broken> {
        self.text
            .get(start..end)
            .map(str::to_string)
            .ok_or_else(|| format!("no text at bytes {start}..{end}"))
    }

    /// The first byte at or after `at` that is not a blank, a `;` (the
    /// grammar's separators) or inside a comment.
    pub fn skip_trivia(&self, mut at: usize) -> usize {
        let bytes = self.text.as_bytes();
        while let Some(b) = bytes.get(at) {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' | b';' => at += 1,
                b'#' => match self.comment_at(at) {
                    Some(c) => at = c.span.end,
                    None => break,
                },
                _ => break,
            }
        }
        at
    }

    /// The comment starting at byte `at`, if any.
    fn comment_at(&self, at: usize) -> Option<&'t Spanned<String>> {
        let i = self.comments.partition_point(|c| c.span.start < at);
        self.comments.get(i).filter(|c| c.span.start == at)
    }

    /// The comments that start in `from..to`.
    pub fn comments_in(&self, from: usize, to: usize) -> &'t [Spanned<String>] {
        let lo = self.comments.partition_point(|c| c.span.start < from);
        let hi = self.comments.partition_point(|c| c.span.start < to);
        self.comments.get(lo..hi.max(lo)).unwrap_or(&[])
    }

    /// How many line breaks `from..to` holds.
    pub fn newlines(&self, from: usize, to: usize) -> usize {
        self.text
            .get(from..to)
            .map_or(0, |s| s.bytes().filter(|b| *b == b'\n').count())
    }

    /// The position of the `{` that opens a block whose header tokens end
    /// at `from`: only trivia and the given punctuation may come before it.
    pub fn open_brace(&self, mut from: usize, punctuation: &[u8]) -> Result<usize, Broken> {
        loop {
            from = self.skip_trivia(from);
            match self.text.as_bytes().get(from) {
                Some(b'{') => return Ok(from),
                Some(b) if punctuation.contains(b) => from += 1,
                _ => return Err(format!("no `{{` where a block opens (byte {from})")),
            }
        }
    }

    /// `Ok` when the text at `at` starts with `word` (the keyword an item
    /// was parsed from); a mismatch means the layout lost its place.
    pub fn expect_word(&self, at: usize, word: &str) -> Result<(), Broken> {
        if self.text.get(at..).is_some_and(|t| t.starts_with(word)) {
            Ok(())
        } else {
            Err(format!("expected `{word}` at byte {at}"))
        }
    }

    /// The line break the file uses: `\r\n` when its first line ends so.
    pub fn line_break(&self) -> &'static str {
        match self.text.find('\n') {
            Some(i) if i > 0 && self.text.as_bytes()[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        }
    }
}
