//! Go to definition, find references and rename.
//!
//! Definitions: a stage, param, let, template or template parameter of the
//! document (from `needs`, routes, alerts, expressions, calls); a library's
//! template and its parameters (in the library's file), a skill argument's
//! file, a `use`'s library (its first template file). References: every
//! use in the document (a library template: every call of it). Rename: a
//! stage, param, let, template or template parameter of the document, at
//! its declaration and every use, expressions included.
//!
//! With a workspace (the client named folders), a template's or template
//! parameter's references and rename span every flow file in it
//! (`template_refs`); stages, params and lets belong to one flow and stay
//! in the document.

use super::documents::Context;
use super::template_refs;
use super::workspace::Workspace;
use flow_dsl::index::{Hit, SymbolKind};
use flow_dsl::{SourceId, Span};
use lsp_types::{Location, Position, PrepareRenameResponse, Range, TextEdit, WorkspaceEdit};

/// Where the thing at `pos` is declared.
pub fn definition(ctx: &Context, pos: Position) -> Option<Vec<Location>> {
    let a = ctx.analysis;
    let ix = a.index();
    let found = match ix.at(ctx.lines.offset(pos))? {
        Hit::Symbol(i, _) => location(ctx, a.main, ix.symbols[i].def),
        Hit::CallTemplate(c) => {
            let (source, t) = a.template(&ix.calls[c].call)?;
            location(ctx, source, t.name.span)
        }
        Hit::CallLibrary(c) => {
            let lib = ix.calls[c].call.library.as_ref()?;
            let u = ix.uses.iter().find(|u| u.alias.node == lib.node)?;
            location(ctx, a.main, u.span)
        }
        Hit::CallArgName(c, arg) => {
            let call = &ix.calls[c].call;
            let (source, t) = a.template(call)?;
            let p = t
                .params
                .iter()
                .find(|p| p.name.node == call.args[arg].name.node)?;
            location(ctx, source, p.name.span)
        }
        Hit::CallArgValue(c, arg) => {
            let call = &ix.calls[c].call;
            let flow_dsl::ast::Literal::Str(value) = &call.args[arg].value.node else {
                return None;
            };
            let skill = a.skill(call, value)?;
            location(ctx, skill, Span::new(0, 0))
        }
        Hit::Use(u) => {
            let lib = a.library(&ix.uses[u].alias.node)?;
            let first = lib.templates.first()?;
            location(ctx, first.source, first.template.name.span)
        }
    };
    found.map(|l| vec![l])
}

/// Every use of the thing at `pos` (and its declaration when asked); a
/// template's and template parameter's across the `workspace`, if any.
pub fn references(
    ctx: &Context,
    workspace: &Workspace,
    pos: Position,
    declaration: bool,
) -> Option<Vec<Location>> {
    let a = ctx.analysis;
    let ix = a.index();
    if !workspace.is_empty() {
        if let Some((target, _)) = template_refs::target_at(a, ctx.lines.offset(pos), true) {
            return Some(template_refs::references(
                ctx,
                workspace,
                &target,
                declaration,
            ));
        }
    }
    let spans: Vec<Span> = match ix.at(ctx.lines.offset(pos))? {
        Hit::Symbol(i, _) => {
            let sym = &ix.symbols[i];
            declaration
                .then_some(sym.def)
                .into_iter()
                .chain(sym.refs.iter().copied())
                .collect()
        }
        Hit::CallTemplate(c) | Hit::CallLibrary(c) => {
            let target = &ix.calls[c].call;
            let same = |call: &flow_dsl::ast::TemplateCall| {
                call.name.node == target.name.node
                    && call.library.as_ref().map(|l| &l.node)
                        == target.library.as_ref().map(|l| &l.node)
            };
            ix.calls
                .iter()
                .filter(|s| same(&s.call))
                .map(|s| s.call.name.span)
                .collect()
        }
        _ => return None,
    };
    Some(
        spans
            .into_iter()
            .filter_map(|s| location(ctx, a.main, s))
            .collect(),
    )
}

/// The name to rename at `pos`, if it can be renamed.
pub fn prepare_rename(
    ctx: &Context,
    workspace: &Workspace,
    pos: Position,
) -> Option<PrepareRenameResponse> {
    let span = match workspace_target(ctx, workspace, pos) {
        Some((target, _)) if target.is_embedded() => return None,
        Some((_, span)) => span,
        None => renamable(ctx, pos).ok()?.1,
    };
    Some(PrepareRenameResponse::Range(ctx.lines.range(span)))
}

/// The edits that rename the symbol at `pos` to `new_name` (a template or
/// template parameter across the `workspace`, if any). `Err` when nothing
/// renamable is there or the name is not a valid one.
pub fn rename(
    ctx: &Context,
    workspace: &Workspace,
    pos: Position,
    new_name: &str,
) -> Result<WorkspaceEdit, String> {
    if let Some((target, _)) = workspace_target(ctx, workspace, pos) {
        valid_name(template_refs::kind(&target), new_name)?;
        return template_refs::rename(ctx, workspace, &target, new_name);
    }
    let (i, _) = renamable(ctx, pos)?;
    let ix = ctx.analysis.index();
    let sym = &ix.symbols[i];
    valid_name(sym.kind, new_name)?;
    if ix
        .in_scope(sym.scope)
        .any(|s| s.name == new_name && same_namespace(s.kind, sym.kind))
    {
        return Err(format!("`{new_name}` is already declared here"));
    }
    let text = ctx.analysis.text();
    if sym.kind == SymbolKind::Stage
        && new_name.contains('-')
        && sym.refs.iter().any(|r| text[..r.start].ends_with('.'))
    {
        return Err(format!(
            "`{new_name}`: an expression reads this stage as `stages.NAME`, which cannot hold `-` \
             (write `stages[\"NAME\"]` there first)"
        ));
    }
    let mut spans: Vec<Span> = std::iter::once(sym.def)
        .chain(sym.refs.iter().copied())
        .collect();
    spans.sort();
    let edits: Vec<TextEdit> = spans
        .into_iter()
        .map(|s| TextEdit::new(ctx.lines.range(s), new_name.to_string()))
        .collect();
    Ok(super::actions::edit_of(ctx.uri, edits))
}

/// The template or template parameter at `pos` (a declaration, a call, an
/// argument name), when there is a workspace to rename it across.
fn workspace_target(
    ctx: &Context,
    workspace: &Workspace,
    pos: Position,
) -> Option<(template_refs::Target, Span)> {
    if workspace.is_empty() {
        return None;
    }
    template_refs::target_at(ctx.analysis, ctx.lines.offset(pos), false)
}

/// The symbol at `pos` that may be renamed, and the span of its name there.
fn renamable(ctx: &Context, pos: Position) -> Result<(usize, Span), String> {
    let ix = ctx.analysis.index();
    match ix.at(ctx.lines.offset(pos)) {
        Some(Hit::Symbol(i, span)) => match ix.symbols[i].kind {
            SymbolKind::Secret | SymbolKind::Env | SymbolKind::Flow => Err(format!(
                "a {:?} is named in scripts and run history: rename it by hand",
                ix.symbols[i].kind
            )
            .to_lowercase()),
            _ => Ok((i, span)),
        },
        _ => Err("no stage, param, let or template here".into()),
    }
}

/// Stages and params live in different namespaces; params and lets share one.
fn same_namespace(a: SymbolKind, b: SymbolKind) -> bool {
    let vars = |k| matches!(k, SymbolKind::Param | SymbolKind::Let);
    a == b || (vars(a) && vars(b))
}

/// A name the language accepts for `kind`: `[A-Za-z_][A-Za-z0-9_-]*`, and
/// no `-` in a name expressions read as a variable (rhai would read a
/// subtraction).
fn valid_name(kind: SymbolKind, name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !first_ok || !rest_ok {
        return Err(format!(
            "`{name}` is not a name: a letter or `_`, then letters, digits, `_` or `-`"
        ));
    }
    let variable = matches!(
        kind,
        SymbolKind::Param | SymbolKind::Let | SymbolKind::TemplateParam
    );
    if variable && name.contains('-') {
        return Err(format!(
            "`{name}`: expressions read this name as a variable, which cannot hold `-`"
        ));
    }
    Ok(())
}

/// The location of `span` in `source`, when an editor can open that file.
pub fn location(ctx: &Context, source: SourceId, span: Span) -> Option<Location> {
    let a = ctx.analysis;
    let uri = a.uri_of(source, ctx.uri)?;
    let range: Range = if source == a.main {
        ctx.lines.range(span)
    } else {
        super::text::Lines::new(a.text_of(source), ctx.encoding).range(span)
    };
    Some(Location::new(uri, range))
}
