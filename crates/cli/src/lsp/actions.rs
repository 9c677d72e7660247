//! Quick fixes (`textDocument/codeAction`) and formatting
//! (`textDocument/formatting`).

use super::documents::Context;
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, Range, TextEdit, Uri, WorkspaceEdit,
};
use std::collections::HashMap;

/// A quick fix for each diagnostic in `range` that proposes a name
/// ([`flow_dsl::Suggestion`]): replace the misspelt name with it.
pub fn quick_fixes(ctx: &Context, range: Range) -> Vec<CodeActionOrCommand> {
    let a = ctx.analysis;
    let want = ctx.lines.span(range);
    let mut out = Vec::new();
    for d in &a.checked.diagnostics {
        let Some(s) = &d.suggestion else { continue };
        let span = d.span();
        let touches = span.start <= want.end && want.start <= span.end;
        if d.source != a.main || !touches {
            continue;
        }
        let diagnostic =
            super::diagnostics::by_file(&a.files(), std::slice::from_ref(d), ctx.uri, ctx.encoding)
                .into_iter()
                .find(|(u, _)| u == ctx.uri)
                .and_then(|(_, mut l)| l.pop());
        let from = a.text().get(s.span.start..s.span.end).unwrap_or("");
        let edit = TextEdit::new(ctx.lines.range(s.span), s.replacement.clone());
        out.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: format!("Replace `{from}` with `{}`", s.replacement),
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: diagnostic.map(|d| vec![d]),
            edit: Some(edit_of(ctx.uri, vec![edit])),
            is_preferred: Some(true),
            ..Default::default()
        }));
    }
    out
}

/// `flow fmt`'s layout of the document as one edit of the whole text (none
/// when already formatted). `Err` when the text cannot be formatted (a
/// syntax error): the message says why.
pub fn format(ctx: &Context) -> Result<Vec<TextEdit>, String> {
    let text = ctx.analysis.text();
    let formatted = flow_dsl::fmt::format(text).map_err(|e| format!("flow fmt: {e}"))?;
    if formatted == text {
        return Ok(Vec::new());
    }
    Ok(vec![TextEdit::new(ctx.lines.whole(), formatted)])
}

/// A workspace edit of one document.
// lsp-types keys the edit's map by `Uri`, whose lazily filled parse cache
// clippy sees as interior mutability; its hash and equality are the text's.
#[allow(clippy::mutable_key_type)]
pub fn edit_of(uri: &Uri, edits: Vec<TextEdit>) -> WorkspaceEdit {
    let mut changes = HashMap::new();
    changes.insert(uri.clone(), edits);
    WorkspaceEdit::new(changes)
}
