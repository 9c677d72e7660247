//! miette's graphical report, for people: colour only on a terminal and
//! without `NO_COLOR`, as wide as the terminal, and the `file:line:column`
//! header counted in characters like every other format.

use flow_dsl::diagnostic::Rendered;
use flow_dsl::span::line_col;
use flow_dsl::{Diagnostic, SourceMap};
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use std::io::IsTerminal;

/// Width used when neither the terminal nor `COLUMNS` tells.
const DEFAULT_WIDTH: usize = 100;

/// Renders one diagnostic as miette's report, for stderr.
pub fn human(diag: &Diagnostic, sources: &SourceMap) -> String {
    let stderr = std::io::stderr();
    let colour = use_colour(stderr.is_terminal(), std::env::var_os("NO_COLOR").is_some());
    let theme = if colour {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let terminal = terminal_size::terminal_size_of(&stderr).map(|(w, _)| usize::from(w.0));
    let columns = std::env::var("COLUMNS").ok();
    let handler =
        GraphicalReportHandler::new_themed(theme).with_width(width(terminal, columns.as_deref()));
    let mut out = String::new();
    let file = sources.get(diag.source);
    if let Some(long) = long_line(diag, &file.text) {
        return without_snippet(diag, &file.name, &file.text, long);
    }
    let report = CharColumns {
        inner: diag.render(sources),
        source: CharSource {
            name: &file.name,
            text: &file.text,
        },
    };
    if handler.render_report(&mut out, &report).is_err() {
        // Rendering can only fail on a formatter error; fall back to one line.
        out = format!("{}: {}\n", diag.code, diag.message);
    }
    out
}

/// The longest source line (bytes) a snippet shows. miette pads with format
/// widths, which panic beyond 65,535 columns; such a line (minified or
/// generated) is unreadable in a terminal anyway.
const MAX_SNIPPET_LINE: usize = 4096;

/// The length of the first line longer than [`MAX_SNIPPET_LINE`] that a
/// snippet of `diag` would show, if one is: the lines its labels touch and
/// one line of context on each side (miette's default).
fn long_line(diag: &Diagnostic, text: &str) -> Option<usize> {
    // Bytes, not `str` slices: a span off a character boundary must not
    // make the error report itself panic.
    let bytes = text.as_bytes();
    diag.labels.iter().find_map(|label| {
        let start = label.span.start.min(bytes.len());
        let end = label.span.end.clamp(start, bytes.len());
        let line_start = |at: usize| bytes[..at].iter().rposition(|b| *b == b'\n');
        let line_end = |at: usize| bytes[at..].iter().position(|b| *b == b'\n').map(|i| at + i);
        // Back to the start of the line before, on to the end of the line after.
        let from = line_start(start).and_then(line_start).map_or(0, |i| i + 1);
        let to = line_end(end)
            .and_then(|i| line_end(i + 1))
            .unwrap_or(bytes.len());
        bytes[from..to]
            .split(|b| *b == b'\n')
            .map(<[u8]>::len)
            .find(|len| *len > MAX_SNIPPET_LINE)
    })
}

/// `diag` without its source snippet: the position and the labels in words.
fn without_snippet(diag: &Diagnostic, name: &str, text: &str, long: usize) -> String {
    let mut out = format!("{}\n\n  × {}\n", diag.code, diag.message);
    for label in &diag.labels {
        let (line, column) = line_col(text, label.span.start.min(text.len()));
        out += &format!("   at {name}:{line}:{column}: {}\n", label.message);
    }
    out += &format!("   (a line of {long} bytes: not shown)\n");
    if let Some(help) = &diag.help {
        out += &format!("  help: {help}\n");
    }
    out + "\n"
}

/// A rendered diagnostic whose source reports character columns.
#[derive(Debug)]
struct CharColumns<'a> {
    inner: Rendered<'a>,
    source: CharSource<'a>,
}

impl std::fmt::Display for CharColumns<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl std::error::Error for CharColumns<'_> {}

impl miette::Diagnostic for CharColumns<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.inner.code()
    }

    fn severity(&self) -> Option<miette::Severity> {
        self.inner.severity()
    }

    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.inner.help()
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.inner.labels()
    }
}

/// A file's text for miette. miette counts the header's column in bytes
/// (and a lone CR as a line break); flow's positions are 1-based lines
/// split at LF and columns in characters, so the header is recomputed.
#[derive(Debug)]
struct CharSource<'a> {
    name: &'a str,
    text: &'a str,
}

impl SourceCode for CharSource<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let contents = self.text.read_span(span, before, after)?;
        // Only a read without context lines (the header) has a column; the
        // context reads start at a line start and keep miette's numbering.
        let (line, column) = if before == 0 && after == 0 {
            let (l, c) = line_col(self.text, span.offset());
            (l - 1, c - 1)
        } else {
            (contents.line(), contents.column())
        };
        Ok(Box::new(
            MietteSpanContents::new_named(
                self.name.to_string(),
                contents.data(),
                *contents.span(),
                line,
                column,
                contents.line_count(),
            )
            .with_language("flow"),
        ))
    }
}

/// Colour only for a terminal, and never when `NO_COLOR` is set (whatever
/// its value, as no-color.org asks).
fn use_colour(is_terminal: bool, no_color: bool) -> bool {
    is_terminal && !no_color
}

/// The terminal's width, else `COLUMNS`, else [`DEFAULT_WIDTH`]; a zero or
/// unparsable value counts as absent.
fn width(terminal: Option<usize>, columns: Option<&str>) -> usize {
    terminal
        .filter(|&w| w > 0)
        .or_else(|| {
            columns
                .and_then(|c| c.trim().parse().ok())
                .filter(|&w| w > 0)
        })
        .unwrap_or(DEFAULT_WIDTH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_needs_a_terminal_and_no_no_color() {
        assert!(use_colour(true, false));
        assert!(!use_colour(true, true));
        assert!(!use_colour(false, false));
    }

    #[test]
    fn width_prefers_the_terminal_then_columns_then_100() {
        assert_eq!(width(Some(120), Some("80")), 120);
        assert_eq!(width(None, Some("80")), 80);
        assert_eq!(width(Some(0), Some(" 72 ")), 72);
        assert_eq!(width(None, Some("wide")), 100);
        assert_eq!(width(None, Some("0")), 100);
        assert_eq!(width(None, None), 100);
    }
}
