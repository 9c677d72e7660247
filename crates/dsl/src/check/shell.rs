//! The `shell` setting (flow, stage, template): its text must give a
//! command line (F0022). How a text becomes an argv is [`ir::shell_argv`].
//!
//! [`ir::shell_argv`]: crate::ir::shell_argv

use crate::ast::Spanned;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::SourceId;

/// Reports a `shell` text that cannot be a command line: blank, quoted
/// words (the text is split at whitespace, quotes are not understood), or
/// GitHub's `{0}` placeholder (flow appends the script's path itself).
pub(crate) fn check(text: &Spanned<String>, source: SourceId, diags: &mut Vec<Diagnostic>) {
    let t = &text.node;
    let problem = if t.trim().is_empty() {
        Some((
            "`shell` is empty".to_string(),
            "name the program that runs the script, e.g. `shell \"bash\"`, `shell \"sh -eu\"` or `shell \"python3\"`",
        ))
    } else if t.contains(['"', '\'', '\\']) {
        Some((
            format!("`shell \"{}\"` has quotes or backslashes", t.escape_default()),
            "the text is split at spaces and quotes are not understood: write plain words, e.g. `shell \"bash -x\"`",
        ))
    } else if t.contains("{0}") {
        Some((
            format!("`shell \"{t}\"` has a `{{0}}` placeholder"),
            "flow adds the script's file as the last argument itself: remove `{0}`",
        ))
    } else {
        None
    };
    if let Some((message, help)) = problem {
        diags.push(
            Diagnostic::new(Code::BadValue, source, text.span, message)
                .label("not a command line")
                .help(help),
        );
    }
}
