//! `flow fmt`: one canonical layout for `.flow` files.
//!
//! Pure: text in, text out; the CLI reads and writes the files. The layout
//! is built from the parsed tree, the comments the parser found and the
//! source text (every value is copied from it by its span), so what a file
//! means cannot change, only the blanks between its tokens:
//!
//! - two spaces per level; one item per line (items written on one line,
//!   or separated by `;`, are split); a block is `header {` … `}`, an empty
//!   one `header {}`;
//! - one space between words, `, ` in lists, `name: type = default`,
//!   `on success -> next`; strings, numbers and durations as written;
//!   `"""` scripts and expressions byte for byte (their inner lines too);
//! - a comment stays where it is: after code on the same line (trailing
//!   comments of consecutive one-line items are aligned, two spaces after
//!   the longest), or on its own line before the next item or `}`;
//! - blank lines between items are kept, several as one; none at the start
//!   or end of a block; a stage, flow or template block is always set apart
//!   by one (before the comments right above it);
//! - a comment between the tokens of one item (or of a block's header)
//!   leaves that item as written;
//! - the items on the line below a `# flow: allow(…)` comment stay as
//!   written when the layout would spread that line (several items, or a
//!   block with an item on its header line): the comment silences only
//!   that line;
//! - line breaks as the file's first line ends (`\n` or `\r\n`); the file
//!   ends with one.
//!
//! A result that differs from the text is parsed again and compared with
//! the original tree (spans aside) before it is returned, so a layout bug is
//! an error, never a changed file.

mod blocks;
mod items;
mod layout;
mod source;
mod verify;

#[cfg(test)]
mod tests;

use crate::diagnostic::Diagnostic;
use crate::parse::parse;
use crate::span::SourceId;

/// Why a text could not be formatted.
#[derive(Debug)]
#[non_exhaustive]
pub enum FormatError {
    /// It has syntax errors (the parser's diagnostics, in `SourceId(0)`):
    /// such a file is never formatted.
    Syntax(Vec<Diagnostic>),
    /// The formatter could not keep the file's meaning (a bug in it): the
    /// message says where.
    Internal(String),
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormatError::Syntax(d) => write!(f, "{} syntax error(s): not formatted", d.len()),
            FormatError::Internal(why) => write!(
                f,
                "the formatter could not keep this file's meaning (a bug in flow fmt; the file is left as it is): {why}"
            ),
        }
    }
}

impl std::error::Error for FormatError {}

/// Formats one `.flow` file's text.
///
/// # Errors
/// [`FormatError::Syntax`] when the text has syntax errors;
/// [`FormatError::Internal`] when the result would not parse to the same
/// tree (a bug: the text is then better left alone).
///
/// ```
/// let text = "flow f{stage a{run \"echo hi\"; timeout   5m}}";
/// let out = flow_dsl::fmt::format(text).unwrap();
/// assert_eq!(out, "flow f {\n  stage a {\n    run \"echo hi\"\n    timeout 5m\n  }\n}\n");
/// ```
pub fn format(text: &str) -> Result<String, FormatError> {
    let (file, diags) = parse(text, SourceId(0));
    if !diags.is_empty() {
        return Err(FormatError::Syntax(diags));
    }
    let src = source::Source::new(text, &file.comments);
    let eol = src.line_break();
    let mut walker = blocks::Walker::new(src);
    walker.file(&file).map_err(FormatError::Internal)?;
    let out = walker.lines.render(eol);
    if out == text {
        // Already formatted: the same text is the same tree.
        return Ok(out);
    }
    let (again, diags) = parse(&out, SourceId(0));
    if let Some(d) = diags.first() {
        return Err(FormatError::Internal(format!(
            "the formatted text does not parse: {}",
            d.message
        )));
    }
    verify::same_tree(&file, &again).map_err(FormatError::Internal)?;
    Ok(out)
}
