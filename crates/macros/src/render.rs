//! A diagnostic as the text of a `compile_error!`: one line naming the
//! flow file, line, column, severity and code, then the message's labels
//! and the help, as `flow check`'s report gives them (without the source
//! excerpt: rustc shows the macro call).

use flow_dsl::span::line_col;
use flow_dsl::{Checked, Diagnostic};

/// `path/to/x.flow:3:17: F0003: unknown stage `biuld`` (a warning says
/// `warning F0101:`; only errors are rendered today) then
/// `  = note: …` for each secondary label and `  = help: …`.
pub(crate) fn render(d: &Diagnostic, checked: &Checked) -> String {
    let file = checked.sources.get(d.source);
    let span = d.span();
    let (line, column) = line_col(&file.text, span.start);
    let severity = if d.is_error() { "" } else { "warning " };
    let mut out = format!(
        "{}:{line}:{column}: {severity}{}: {}",
        file.name,
        d.code.as_str(),
        d.message
    );
    if let Some(primary) = d.labels.first().filter(|l| !l.message.is_empty()) {
        out.push_str(&format!(" ({})", primary.message));
    }
    for label in d.labels.iter().skip(1).filter(|l| !l.message.is_empty()) {
        let (l, c) = line_col(&file.text, label.span.start);
        out.push_str(&format!(
            "\n  = note: {}:{l}:{c}: {}",
            file.name, label.message
        ));
    }
    if let Some(help) = &d.help {
        out.push_str(&format!("\n  = help: {help}"));
    }
    out
}
