//! GitHub Actions workflow commands: one `::error …::message` (or
//! `::warning`) line per diagnostic, which the runner turns into an
//! annotation on the file and line.

use super::{message_with_help, relative_to, Region};
use flow_dsl::{Diagnostic, Severity, SourceMap};
use std::path::Path;

/// One diagnostic as a workflow command line (without the newline):
/// `::error file=F,line=L,col=C,endLine=EL,endColumn=EC,title=CODE::message`,
/// the help on a second (escaped) line of the message. The file is relative
/// to `cwd` (the repository root, where the runner resolves it).
pub fn command(diag: &Diagnostic, sources: &SourceMap, cwd: Option<&Path>) -> String {
    let file = sources.get(diag.source);
    let r = Region::of(&file.text, diag.span());
    let kind = match diag.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    format!(
        "::{kind} file={},line={},col={},endLine={},endColumn={},title={}::{}",
        escape_property(&relative_to(&file.name, cwd)),
        r.start_line,
        r.start_column,
        r.end_line,
        r.end_column,
        escape_property(diag.code.as_str()),
        escape_data(&message_with_help(diag)),
    )
}

/// Escapes a command's message: `%`, CR and LF would otherwise end or
/// corrupt the command (the runner decodes these three).
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value: as data, plus `:` (ends the properties) and
/// `,` (separates them).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_escapes_percent_first_then_line_breaks() {
        assert_eq!(escape_data("100%\r\nx: a,b"), "100%25%0D%0Ax: a,b");
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn properties_also_escape_colon_and_comma() {
        assert_eq!(escape_property("C:\\a,b%.flow"), "C%3A\\a%2Cb%25.flow");
    }
}
