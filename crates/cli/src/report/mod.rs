//! Rendering diagnostics, one module per `flow check --format`: `human`
//! (miette's graphical report, also used by `flow run`), `json` (the stable
//! array documented in docs/cli.md), `github` (Actions workflow commands) and
//! `sarif` (SARIF 2.1.0 for code scanning).

pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

pub use human::human;

use flow_dsl::span::line_col;
use flow_dsl::Span;

/// The output formats of `flow check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// miette's graphical report on stderr, then a one-line count.
    Human,
    /// One JSON array of diagnostics on stdout.
    Json,
    /// GitHub Actions workflow commands (`::error file=…::…`) on stdout.
    Github,
    /// One SARIF 2.1.0 log on stdout.
    Sarif,
}

/// Where a span is, in 1-based lines and 1-based columns counted in
/// characters (Unicode scalar values); the end is exclusive (the column just
/// after the last character), as in the JSON report and SARIF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Line of the first byte.
    pub start_line: usize,
    /// Column of the first character.
    pub start_column: usize,
    /// Line of the end.
    pub end_line: usize,
    /// Column just after the last character.
    pub end_column: usize,
}

impl Region {
    /// The region of `span` in `text`; offsets past the end or inside a
    /// character are clamped, so the result always lies in the file.
    pub fn of(text: &str, span: Span) -> Region {
        let (start_line, start_column) = line_col(text, span.start);
        let (end_line, end_column) = line_col(text, span.end.max(span.start));
        Region {
            start_line,
            start_column,
            end_line,
            end_column,
        }
    }
}

/// The message with the help appended on its own line, for formats that
/// have a single text field.
pub fn message_with_help(diag: &flow_dsl::Diagnostic) -> String {
    match &diag.help {
        Some(help) => format!("{}\nhelp: {help}", diag.message),
        None => diag.message.clone(),
    }
}

/// A file name relative to `cwd` when it is an absolute path below it,
/// else as given; without leading `./` either way. For formats whose paths
/// are relative to the folder `flow check` ran in (the repository root).
pub fn relative_to(name: &str, cwd: Option<&std::path::Path>) -> String {
    let path = std::path::Path::new(name);
    match cwd.and_then(|c| path.strip_prefix(c).ok()) {
        Some(rel) if path.is_absolute() => relative_name(&rel.to_string_lossy()).to_string(),
        _ => relative_name(name).to_string(),
    }
}

/// A file name without leading `./` (`./pipelines/a.flow` →
/// `pipelines/a.flow`).
pub fn relative_name(name: &str) -> &str {
    let mut name = name;
    while let Some(rest) = name.strip_prefix("./") {
        name = rest.trim_start_matches('/');
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_counts_characters_and_stays_in_the_file() {
        let text = "é€x\nab";
        // `x` is bytes 5..6: the third character of line 1.
        let r = Region::of(text, Span::new(5, 6));
        assert_eq!(
            (r.start_line, r.start_column, r.end_line, r.end_column),
            (1, 3, 1, 4)
        );
        let r = Region::of(text, Span::new(50, 40));
        assert_eq!(
            (r.start_line, r.start_column, r.end_line, r.end_column),
            (2, 3, 2, 3)
        );
    }

    #[test]
    fn relative_name_drops_leading_dot_slashes() {
        assert_eq!(relative_name("./a/b.flow"), "a/b.flow");
        assert_eq!(relative_name(".//./b.flow"), "b.flow");
        assert_eq!(relative_name("../b.flow"), "../b.flow");
        assert_eq!(relative_name("/abs/b.flow"), "/abs/b.flow");
        let cwd = std::path::Path::new("/repo");
        assert_eq!(relative_to("/repo/./p/a.flow", Some(cwd)), "p/a.flow");
        assert_eq!(relative_to("/other/a.flow", Some(cwd)), "/other/a.flow");
        assert_eq!(relative_to("./a.flow", Some(cwd)), "a.flow");
    }
}
