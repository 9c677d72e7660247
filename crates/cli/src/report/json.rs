//! The JSON report: one array on stdout, one object per diagnostic. The
//! shape is documented in docs/cli.md and is stable: fields are only added.

use super::Region;
use flow_dsl::{Diagnostic, SourceMap, Span};
use serde_json::{json, Value};

/// One diagnostic as a JSON object:
/// `{file, code, severity, message, span, labels: [{span, message}], help}`
/// where a span is `{start, end, start_line, start_column, end_line, end_column}`
/// (byte offsets; 1-based lines; 1-based columns in characters).
pub fn object(diag: &Diagnostic, sources: &SourceMap) -> Value {
    let file = sources.get(diag.source);
    let span = |s: Span| {
        let r = Region::of(&file.text, s);
        json!({
            "start": s.start,
            "end": s.end,
            "start_line": r.start_line,
            "start_column": r.start_column,
            "end_line": r.end_line,
            "end_column": r.end_column,
        })
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
