//! `flow check`'s diagnostics as LSP diagnostics, grouped by file.
//!
//! Each has `source: "flow"` and its code (`F0003`). No web page explains
//! the codes, so there is no `codeDescription` link: the message ends with
//! the help line and `flow explain F0003`, and hovering the range shows the
//! code's whole explanation (see `hover`). Secondary labels become
//! `relatedInformation`. A diagnostic of a file an editor cannot open (the
//! embedded `std`) is shown on the document's first line, naming its file.

use super::analysis::Files;
use super::text::{Encoding, Lines};
use flow_dsl::{Diagnostic, Severity, SourceId};
use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Position, Range,
    Uri,
};
use std::collections::BTreeMap;

/// `diagnostics` (of `analysis`'s files) by file URI; the document's own
/// URI is always present (an empty list clears what was shown).
pub fn by_file(
    analysis: &Files,
    diagnostics: &[Diagnostic],
    doc: &Uri,
    encoding: Encoding,
) -> Vec<(Uri, Vec<lsp_types::Diagnostic>)> {
    let mut files: BTreeMap<String, (Uri, Vec<lsp_types::Diagnostic>)> = BTreeMap::new();
    files.insert(doc.as_str().to_string(), (doc.clone(), Vec::new()));
    let mut lines: BTreeMap<SourceId, Lines> = BTreeMap::new();
    for d in diagnostics {
        let (uri, mut out) = match analysis.uri_of(d.source, doc) {
            Some(uri) => {
                let lines = lines
                    .entry(d.source)
                    .or_insert_with(|| Lines::new(analysis.text_of(d.source), encoding));
                (uri, convert_at(d, lines.range(d.span())))
            }
            None => {
                let at = Range::new(Position::new(0, 0), Position::new(0, 0));
                let mut out = convert_at(d, at);
                let name = &analysis.sources.get(d.source).name;
                out.message = format!("{name}: {}", out.message);
                (doc.clone(), out)
            }
        };
        out.related_information = related(d, analysis, doc, encoding);
        files
            .entry(uri.as_str().to_string())
            .or_insert_with(|| (uri.clone(), Vec::new()))
            .1
            .push(out);
    }
    files.into_values().collect()
}

/// One diagnostic at `range`: severity, code, and the message with its
/// primary label, help and `flow explain` pointer.
fn convert_at(d: &Diagnostic, range: Range) -> lsp_types::Diagnostic {
    let mut message = d.message.clone();
    if let Some(label) = d.labels.first().filter(|l| !l.message.is_empty()) {
        message += &format!(" ({})", label.message);
    }
    if let Some(help) = &d.help {
        message += &format!("\nhelp: {help}");
    }
    message += &format!("\nflow explain {}", d.code);
    lsp_types::Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.as_str().to_string())),
        code_description: None,
        source: Some("flow".to_string()),
        message,
        related_information: None,
        tags: None,
        data: None,
    }
}

/// The secondary labels, where they point into a file an editor can open.
fn related(
    d: &Diagnostic,
    analysis: &Files,
    doc: &Uri,
    encoding: Encoding,
) -> Option<Vec<DiagnosticRelatedInformation>> {
    if d.labels.len() < 2 {
        return None;
    }
    let uri = analysis.uri_of(d.source, doc)?;
    let lines = Lines::new(analysis.text_of(d.source), encoding);
    let related: Vec<_> = d
        .labels
        .iter()
        .skip(1)
        .map(|l| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), lines.range(l.span)),
            message: l.message.clone(),
        })
        .collect();
    (!related.is_empty()).then_some(related)
}
