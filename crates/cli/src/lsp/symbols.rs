//! `textDocument/documentSymbol`: the outline. Each `use`; each flow with
//! its params, lets, env, secrets, triggers, alerts and stages; each
//! template with its parameters.

use super::documents::Context;
use flow_dsl::ast::{FlowItem, Ident};
use flow_dsl::Span;
use lsp_types::{DocumentSymbol, SymbolKind};

/// The document's outline.
pub fn symbols(ctx: &Context) -> Vec<DocumentSymbol> {
    let file = &ctx.analysis.file;
    let text = ctx.analysis.text();
    let slice = |s: Span| text.get(s.start..s.end).unwrap_or("").to_string();
    let mut out = Vec::new();
    for u in &file.uses {
        out.push(symbol(
            ctx,
            &u.alias.node,
            "use",
            SymbolKind::NAMESPACE,
            u.span,
            u.alias.span,
            None,
        ));
    }
    for f in &file.flows {
        let mut children = Vec::new();
        for item in &f.items {
            let child = match item {
                FlowItem::Param(p) => named(ctx, &p.name, "param", SymbolKind::VARIABLE, p.span),
                FlowItem::Let(n, e) => {
                    named(ctx, n, "let", SymbolKind::VARIABLE, n.span.join(e.span))
                }
                FlowItem::Env(n, e) => {
                    named(ctx, n, "env", SymbolKind::CONSTANT, n.span.join(e.span))
                }
                FlowItem::Secret(n) => named(ctx, n, "secret", SymbolKind::CONSTANT, n.span),
                FlowItem::Trigger(t) => symbol(
                    ctx,
                    &slice(t.span),
                    "trigger",
                    SymbolKind::EVENT,
                    t.span,
                    t.span,
                    None,
                ),
                FlowItem::Alert(a) => symbol(
                    ctx,
                    &slice(a.span),
                    "alert",
                    SymbolKind::EVENT,
                    a.span,
                    a.span,
                    None,
                ),
                FlowItem::Stage(s) | FlowItem::Finally(s) => {
                    let detail = if s.finally { "finally" } else { "stage" };
                    named(ctx, &s.name, detail, SymbolKind::FUNCTION, s.span)
                }
                _ => continue,
            };
            children.push(child);
        }
        out.push(symbol(
            ctx,
            &f.name.node,
            "flow",
            SymbolKind::CLASS,
            f.span,
            f.name.span,
            Some(children),
        ));
    }
    for t in &file.templates {
        let children = t
            .params
            .iter()
            .map(|p| {
                named(
                    ctx,
                    &p.name,
                    "parameter",
                    SymbolKind::TYPE_PARAMETER,
                    p.span,
                )
            })
            .collect();
        out.push(symbol(
            ctx,
            &t.name.node,
            "template",
            SymbolKind::INTERFACE,
            t.span,
            t.name.span,
            Some(children),
        ));
    }
    out.sort_by_key(|s| (s.range.start.line, s.range.start.character));
    out
}

fn named(
    ctx: &Context,
    name: &Ident,
    detail: &str,
    kind: SymbolKind,
    whole: Span,
) -> DocumentSymbol {
    symbol(
        ctx,
        &name.node,
        detail,
        kind,
        whole.join(name.span),
        name.span,
        None,
    )
}

#[allow(deprecated)] // `deprecated` is a field LSP keeps for old clients
fn symbol(
    ctx: &Context,
    name: &str,
    detail: &str,
    kind: SymbolKind,
    whole: Span,
    selection: Span,
    children: Option<Vec<DocumentSymbol>>,
) -> DocumentSymbol {
    DocumentSymbol {
        name: name.to_string(),
        detail: Some(detail.to_string()),
        kind,
        tags: None,
        deprecated: None,
        range: ctx.lines.range(whole),
        selection_range: ctx.lines.range(selection),
        children,
    }
}
