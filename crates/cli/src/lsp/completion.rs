//! `textDocument/completion`, by what is before the cursor on its line:
//! stage names after `needs`, `->` and `stages.`; stage fields after
//! `stages.X.`; params after `max` and `again after`; variables in
//! expressions (`when`, `skip if`, `let`, `env`); templates (std's and
//! every library's, with their required parameters) after `stage NAME:`;
//! a call's parameter names; skill names in a call's string argument; and
//! the keywords that may start an item where the cursor is.

use super::documents::Context;
use super::keywords::{self, Place};
use flow_dsl::ast::{self, FlowItem, TypeName};
use flow_dsl::index::{Scope, SymbolKind};
use lsp_types::{CompletionItem, CompletionItemKind, InsertTextFormat, Position};

/// The completions at `pos`.
pub fn complete(ctx: &Context, pos: Position) -> Option<Vec<CompletionItem>> {
    let text = ctx.analysis.text();
    let offset = ctx.lines.offset(pos);
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let prefix = &text[line_start..offset];
    let word_len = prefix
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .map(char::len_utf8)
        .sum::<usize>();
    let before = &prefix[..prefix.len() - word_len];
    let (place, scope) = place_at(&ctx.analysis.file, offset);
    let c = Completer { ctx, scope };
    let trimmed = before.trim_end();
    let head = before.trim_start();

    if let Some(rest) = before.strip_suffix('.') {
        if rest.ends_with("stages") && !rest.ends_with("_stages") {
            return Some(c.stages());
        }
        if let Some(stage_part) = rest.rsplit_once("stages.").map(|(_, s)| s) {
            if !stage_part.is_empty() && stage_part.chars().all(is_word_char) {
                return Some(fields());
            }
        }
        if let Some(call) = header_call(head) {
            return Some(c.templates(Some(call)));
        }
    }
    if let Some(call) = open_call(text, offset, line_start) {
        return Some(c.call_completions(call, before));
    }
    if (head.starts_with("stage ") || head.starts_with("finally ")) && trimmed.ends_with(':') {
        return Some(c.templates(None));
    }
    if trimmed.ends_with("->") {
        return Some(c.stages());
    }
    if head.starts_with("needs") && (trimmed.ends_with("needs") || trimmed.ends_with(',')) {
        return Some(c.stages());
    }
    if trimmed.ends_with("max") || trimmed.ends_with("again after") {
        return Some(c.params(place));
    }
    if is_expression(head) {
        return Some(c.variables());
    }
    if before.trim().is_empty() {
        return Some(
            keywords::starting(place)
                .map(|(k, _, doc)| CompletionItem {
                    label: k.to_string(),
                    kind: Some(CompletionItemKind::KEYWORD),
                    detail: Some(doc.to_string()),
                    ..Default::default()
                })
                .collect(),
        );
    }
    None
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// True when the line's text so far is inside an expression.
fn is_expression(head: &str) -> bool {
    let after_eq = |kw: &str| head.starts_with(kw) && head.contains('=');
    head.starts_with("when ")
        || head.starts_with("skip if ")
        || after_eq("let ")
        || after_eq("env ")
}

/// `stage NAME: LIB.` → `Some("LIB")`.
fn header_call(head: &str) -> Option<&str> {
    let rest = head
        .strip_prefix("stage ")
        .or_else(|| head.strip_prefix("finally "))?;
    let (_, call) = rest.split_once(':')?;
    let lib = call.trim().strip_suffix('.')?;
    lib.chars().all(is_word_char).then_some(lib)
}

/// The template call whose parentheses hold the cursor, on the stage
/// header line.
fn open_call(text: &str, offset: usize, line_start: usize) -> Option<&str> {
    let prefix = &text[line_start..offset];
    let head = prefix.trim_start();
    if !(head.starts_with("stage ") || head.starts_with("finally ")) {
        return None;
    }
    let open = prefix.rfind('(')?;
    if prefix[open..].contains(')') {
        return None;
    }
    let (_, call) = prefix[..open].split_once(':')?;
    Some(call.trim())
}

/// Where `offset` is: the kind of block and the scope of its names.
fn place_at(file: &ast::File, offset: usize) -> (Place, Scope) {
    let inside = |s: flow_dsl::Span| s.start < offset && offset < s.end;
    for (ti, t) in file.templates.iter().enumerate() {
        if inside(t.span) {
            return (Place::Stage, Scope::Template(ti));
        }
    }
    for (fi, f) in file.flows.iter().enumerate() {
        if inside(f.span) {
            let in_stage = f.items.iter().any(|i| match i {
                FlowItem::Stage(s) | FlowItem::Finally(s) => inside(s.span),
                _ => false,
            });
            let place = if in_stage { Place::Stage } else { Place::Flow };
            return (place, Scope::Flow(fi));
        }
    }
    (Place::File, Scope::File)
}

/// The fields of `stages.X`.
fn fields() -> Vec<CompletionItem> {
    flow_dsl::expr::STAGE_FIELDS
        .iter()
        .map(|f| CompletionItem {
            label: f.to_string(),
            kind: Some(CompletionItemKind::FIELD),
            ..Default::default()
        })
        .collect()
}

struct Completer<'a> {
    ctx: &'a Context<'a>,
    scope: Scope,
}

impl Completer<'_> {
    fn item(label: &str, kind: CompletionItemKind, detail: String) -> CompletionItem {
        CompletionItem {
            label: label.to_string(),
            kind: Some(kind),
            detail: Some(detail),
            ..Default::default()
        }
    }

    /// The stages of the flow around the cursor.
    fn stages(&self) -> Vec<CompletionItem> {
        let ix = self.ctx.analysis.index();
        ix.in_scope(self.scope)
            .filter(|s| s.kind == SymbolKind::Stage)
            .map(|s| Self::item(&s.name, CompletionItemKind::MODULE, "stage".into()))
            .collect()
    }

    /// Names an expression may read here.
    fn variables(&self) -> Vec<CompletionItem> {
        let ix = self.ctx.analysis.index();
        let text = self.ctx.analysis.text();
        let mut out: Vec<CompletionItem> = ix
            .in_scope(self.scope)
            .filter(|s| {
                matches!(
                    s.kind,
                    SymbolKind::Param | SymbolKind::Let | SymbolKind::TemplateParam
                )
            })
            .map(|s| {
                let decl = text.get(s.decl.start..s.decl.end).unwrap_or("");
                let detail = decl.lines().next().unwrap_or("").to_string();
                Self::item(&s.name, CompletionItemKind::VARIABLE, detail)
            })
            .collect();
        for g in flow_dsl::expr::GLOBALS {
            out.push(Self::item(g, CompletionItemKind::MODULE, "global".into()));
        }
        out
    }

    /// Params usable by `max` / `again after` here.
    fn params(&self, _place: Place) -> Vec<CompletionItem> {
        let kind = match self.scope {
            Scope::Template(_) => SymbolKind::TemplateParam,
            _ => SymbolKind::Param,
        };
        let ix = self.ctx.analysis.index();
        ix.in_scope(self.scope)
            .filter(|s| s.kind == kind)
            .map(|s| Self::item(&s.name, CompletionItemKind::VARIABLE, "param".into()))
            .collect()
    }

    /// Templates: this file's and each library's (`std.agent(…)`), or only
    /// those of library `lib` (after `lib.`).
    fn templates(&self, lib: Option<&str>) -> Vec<CompletionItem> {
        let a = self.ctx.analysis;
        let mut out = Vec::new();
        if lib.is_none() {
            for t in &a.file.templates {
                out.push(template_item(&t.name.node, t, a.text()));
            }
        }
        for l in &a.libraries {
            if lib.is_some_and(|want| want != l.name) {
                continue;
            }
            for t in &l.templates {
                let label = match lib {
                    Some(_) => t.template.name.node.clone(),
                    None => format!("{}.{}", l.name, t.template.name.node),
                };
                out.push(template_item(&label, &t.template, a.text_of(t.source)));
            }
        }
        out
    }

    /// Inside `call(`: parameter names, or skill names in a string.
    fn call_completions(&self, call: &str, before: &str) -> Vec<CompletionItem> {
        let a = self.ctx.analysis;
        let (lib, name) = match call.split_once('.') {
            Some((l, n)) => (Some(l), n),
            None => (None, call),
        };
        let template = match lib {
            None => a.file.templates.iter().find(|t| t.name.node == name),
            Some(l) => a.library(l).and_then(|l| {
                l.templates
                    .iter()
                    .find(|t| t.template.name.node == name)
                    .map(|t| &t.template)
            }),
        };
        if before.ends_with('"') {
            return self.skills(lib);
        }
        let Some(t) = template else {
            return Vec::new();
        };
        t.params
            .iter()
            .map(|p| CompletionItem {
                label: p.name.node.clone(),
                kind: Some(CompletionItemKind::FIELD),
                insert_text: Some(format!("{}: ", p.name.node)),
                ..Default::default()
            })
            .collect()
    }

    /// Skill names a call of a template of `lib` (or of this file) can
    /// pass: its library's, `./NAME` beside the flow, `LIB.NAME` of others.
    fn skills(&self, lib: Option<&str>) -> Vec<CompletionItem> {
        let a = self.ctx.analysis;
        let mut out = Vec::new();
        for name in a.local_skills.keys() {
            let label = if lib.is_none() {
                name.clone()
            } else {
                format!("./{name}")
            };
            out.push(Self::item(
                &label,
                CompletionItemKind::FILE,
                "skill beside the flow".into(),
            ));
        }
        for l in &a.libraries {
            for name in l.skills.keys() {
                let label = if Some(l.name.as_str()) == lib {
                    name.clone()
                } else {
                    format!("{}.{name}", l.name)
                };
                out.push(Self::item(
                    &label,
                    CompletionItemKind::FILE,
                    format!("skill of `{}`", l.name),
                ));
            }
        }
        out
    }
}

/// A template as a completion: `label(req: "…")` as a snippet with a
/// placeholder per parameter without a default.
fn template_item(label: &str, t: &ast::Template, text: &str) -> CompletionItem {
    let mut args = Vec::new();
    for p in t.params.iter().filter(|p| p.default.is_none()) {
        let n = args.len() + 1;
        let quoted = matches!(p.ty.node, TypeName::Str | TypeName::Skill | TypeName::Path);
        args.push(if quoted {
            format!("{}: \"${{{n}}}\"", p.name.node)
        } else {
            format!("{}: ${{{n}}}", p.name.node)
        });
    }
    let params: Vec<&str> = t
        .params
        .iter()
        .map(|p| text.get(p.span.start..p.span.end).unwrap_or(""))
        .collect();
    CompletionItem {
        label: label.to_string(),
        kind: Some(CompletionItemKind::FUNCTION),
        detail: Some(format!("template {}({})", t.name.node, params.join(", "))),
        insert_text: Some(format!("{label}({})", args.join(", "))),
        insert_text_format: Some(InsertTextFormat::SNIPPET),
        ..Default::default()
    }
}
