//! Rendering diagnostics: miette's graphical report for people, a JSON array
//! for tools. The JSON shape is documented in docs/cli.md and is stable.

use flow_dsl::span::line_col;
use flow_dsl::{Diagnostic, SourceMap};
use miette::{GraphicalReportHandler, GraphicalTheme};
use serde_json::{json, Value};
use std::io::IsTerminal;

/// Renders one diagnostic as miette's report. Colour only when stderr is a
/// terminal and `NO_COLOR` is unset; width from `COLUMNS` or 100.
pub fn human(diag: &Diagnostic, sources: &SourceMap) -> String {
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let theme = if colour {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100);
    let handler = GraphicalReportHandler::new_themed(theme).with_width(width);
    let mut out = String::new();
    let rendered = diag.render(sources);
    if handler.render_report(&mut out, &rendered).is_err() {
        // Rendering can only fail on a formatter error; fall back to one line.
        out = format!("{}: {}\n", diag.code, diag.message);
    }
    out
}

/// One diagnostic as a JSON object:
/// `{file, code, severity, message, span, labels: [{span, message}], help}`
/// where a span is `{start, end, start_line, start_column, end_line, end_column}`
/// (byte offsets; 1-based lines; 1-based columns in characters).
pub fn json(diag: &Diagnostic, sources: &SourceMap) -> Value {
    let file = sources.get(diag.source);
    let span = |s: flow_dsl::Span| {
        let (sl, sc) = line_col(&file.text, s.start);
        let (el, ec) = line_col(&file.text, s.end);
        json!({"start": s.start, "end": s.end, "start_line": sl, "start_column": sc, "end_line": el, "end_column": ec})
    };
    json!({
        "file": file.name,
        "code": diag.code.as_str(),
        "severity": diag.severity,
        "message": diag.message,
        "span": span(diag.span()),
        "labels": diag.labels.iter().map(|l| json!({"span": span(l.span), "message": l.message})).collect::<Vec<_>>(),
        "help": diag.help,
    })
}
