//! `textDocument/hover`: what the name or keyword under the cursor is (a
//! stage's settings and routes, a param's type and default, a template's
//! signature, a skill file's first paragraph), and the explanation of any
//! diagnostic there (`flow explain`).

use super::documents::Context;
use super::keywords;
use flow_dsl::ast::{self, FlowItem, StageItem};
use flow_dsl::index::{Hit, SymbolKind};
use flow_dsl::Span;
use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind, Position};

/// The hover at `pos`, `None` when there is nothing to say.
pub fn hover(ctx: &Context, pos: Position) -> Option<Hover> {
    let offset = ctx.lines.offset(pos);
    let text = ctx.analysis.text();
    let mut parts: Vec<String> = Vec::new();
    let mut range: Option<Span> = None;
    match ctx.analysis.index().at(offset) {
        Some(hit) => {
            if let Some((body, span)) = describe(ctx, hit) {
                parts.push(body);
                range = Some(span);
            }
        }
        None => {
            let word = word_at(text, offset);
            if let Some(line) = keywords::describe(&text[word.start..word.end]) {
                parts.push(line.to_string());
                range = Some(word);
            }
        }
    }
    for d in &ctx.analysis.checked.diagnostics {
        let span = d.span();
        if d.source == ctx.analysis.main && span.start <= offset && offset <= span.end {
            parts.push(format!(
                "**{}** ({}): {}\n\n{}",
                d.code,
                d.code.title(),
                d.message,
                d.code.explanation()
            ));
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: parts.join("\n\n---\n\n"),
        }),
        range: range.map(|s| ctx.lines.range(s)),
    })
}

/// The identifier around `offset` (`[A-Za-z0-9_-]`), possibly empty.
pub fn word_at(text: &str, offset: usize) -> Span {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let offset = offset.min(text.len());
    let start = text[..offset]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word(*c))
        .last()
        .map_or(offset, |(i, _)| i);
    let end = text[offset..]
        .char_indices()
        .find(|(_, c)| !is_word(*c))
        .map_or(text.len(), |(i, _)| offset + i);
    Span::new(start, end)
}

/// Markdown for what `hit` names, and the span it covers.
fn describe(ctx: &Context, hit: Hit) -> Option<(String, Span)> {
    let a = ctx.analysis;
    let ix = a.index();
    let text = a.text();
    match hit {
        Hit::Symbol(i, span) => {
            let sym = &ix.symbols[i];
            let body = match sym.kind {
                SymbolKind::Stage => stage(a.text(), &a.file, sym.def)?,
                SymbolKind::Template => {
                    let t = a.file.templates.iter().find(|t| t.name.span == sym.def)?;
                    code(&signature(text, t, None))
                }
                SymbolKind::Flow => {
                    let f = a.file.flows.iter().find(|f| f.name.span == sym.def)?;
                    flow(text, f)
                }
                SymbolKind::TemplateParam => {
                    code(&format!("{} (template parameter)", slice(text, sym.decl)))
                }
                SymbolKind::Param | SymbolKind::Let | SymbolKind::Env => {
                    code(&one_line(slice(text, keyword_start(text, sym.decl))))
                }
                SymbolKind::Secret => code(&format!("secret {}", sym.name)),
            };
            Some((body, span))
        }
        Hit::CallTemplate(c) | Hit::CallLibrary(c) => {
            let call = &ix.calls[c].call;
            let (source, t) = a.template(call)?;
            let lib = call.library.as_ref().map(|l| l.node.as_str());
            let span = match hit {
                Hit::CallLibrary(_) => call.library.as_ref()?.span,
                _ => call.name.span,
            };
            let mut body = code(&signature(a.text_of(source), t, lib));
            body += &format!("\n\nfrom `{}`", a.checked.sources.get(source).name);
            Some((body, span))
        }
        Hit::CallArgName(c, arg) => {
            let call = &ix.calls[c].call;
            let (source, t) = a.template(call)?;
            let name = &call.args[arg].name;
            let p = t.params.iter().find(|p| p.name.node == name.node)?;
            let body = code(&format!(
                "{} (parameter of `{}`)",
                slice(a.text_of(source), p.span),
                t.name.node
            ));
            Some((body, name.span))
        }
        Hit::CallArgValue(c, arg) => {
            let call = &ix.calls[c].call;
            let value = &call.args[arg].value;
            let ast::Literal::Str(s) = &value.node else {
                return None;
            };
            let skill = a.skill(call, s)?;
            let file = a.checked.sources.get(skill);
            let body = format!(
                "skill `{s}` (`{}`)\n\n{}",
                file.name,
                first_paragraph(&file.text)
            );
            Some((body, value.span))
        }
        Hit::Use(u) => {
            let item = &ix.uses[u];
            let lib = a.library(&item.alias.node)?;
            let names: Vec<String> = lib
                .templates
                .iter()
                .map(|t| format!("`{}.{}`", lib.name, t.template.name.node))
                .collect();
            let skills: Vec<String> = lib.skills.keys().map(|k| format!("`{k}`")).collect();
            let body = format!(
                "library `{}`\n\ntemplates: {}\n\nskills: {}",
                lib.name,
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                },
                if skills.is_empty() {
                    "none".into()
                } else {
                    skills.join(", ")
                }
            );
            Some((body, item.span))
        }
    }
}

/// A fenced `flow` code block.
fn code(text: &str) -> String {
    format!("```flow\n{text}\n```")
}

fn slice(text: &str, span: Span) -> &str {
    text.get(span.start..span.end).unwrap_or("")
}

/// The first line of `text` (a `let` with a long expression is cut).
fn one_line(text: &str) -> String {
    match text.split_once('\n') {
        Some((first, _)) => format!("{first} …"),
        None => text.to_string(),
    }
}

/// A param's or let's declaration span starts at its name: move back to
/// the keyword before it (`param`, `let`, `env`) on the same line.
fn keyword_start(text: &str, span: Span) -> Span {
    let line_start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..span.start];
    let indent = before.len() - before.trim_start().len();
    Span::new(line_start + indent, span.end)
}

/// `template NAME(a: int = 1, b: skill)`, with the library when called
/// through one.
fn signature(text: &str, t: &ast::Template, lib: Option<&str>) -> String {
    let params: Vec<&str> = t.params.iter().map(|p| slice(text, p.span)).collect();
    let name = match lib {
        Some(l) => format!("{l}.{}", t.name.node),
        None => t.name.node.clone(),
    };
    format!("template {name}({})", params.join(", "))
}

/// The flow's name, description and counts.
fn flow(text: &str, f: &ast::Flow) -> String {
    let mut out = format!("flow {}", f.name.node);
    let mut stages = 0;
    let mut params = Vec::new();
    for item in &f.items {
        match item {
            FlowItem::Stage(_) | FlowItem::Finally(_) => stages += 1,
            FlowItem::Param(p) => params.push(slice(text, p.span).to_string()),
            _ => {}
        }
    }
    let mut body = code(&out);
    if let Some(FlowItem::Description(d)) = f
        .items
        .iter()
        .find(|i| matches!(i, FlowItem::Description(_)))
    {
        body += &format!("\n\n{}", d.node);
    }
    out = format!("\n\n{stages} stage{}", if stages == 1 { "" } else { "s" });
    if !params.is_empty() {
        out += &format!("; params: `{}`", params.join("`, `"));
    }
    body + out.as_str()
}

/// A stage's header, settings and routes.
fn stage(text: &str, file: &ast::File, def: Span) -> Option<String> {
    let s = file
        .flows
        .iter()
        .flat_map(|f| &f.items)
        .find_map(|i| match i {
            FlowItem::Stage(s) | FlowItem::Finally(s) if s.name.span == def => Some(s),
            _ => None,
        })?;
    let keyword = if s.finally { "finally" } else { "stage" };
    let mut lines = vec![match &s.template {
        Some(call) => format!("{keyword} {}: {}", s.name.node, slice(text, call.span)),
        None => format!("{keyword} {}", s.name.node),
    }];
    lines.extend(s.items.iter().map(|i| format!("  {}", item(text, i))));
    Some(code(&lines.join("\n")))
}

/// One stage item in a line (a script by its first line).
fn item(text: &str, item: &StageItem) -> String {
    let quoted = |v: &[ast::Spanned<String>]| {
        v.iter()
            .map(|s| slice(text, s.span).to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match item {
        StageItem::Needs(v) => format!(
            "needs {}",
            v.iter()
                .map(|n| n.node.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        StageItem::Run(s) => {
            let first = s.node.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            let more = s.node.trim().lines().count() > 1;
            format!("run \"{}{}\"", first.trim(), if more { " …" } else { "" })
        }
        StageItem::RunBuiltin(name) => format!("run builtin \"{}\"", name.node),
        StageItem::Timeout(d) => format!("timeout {}", d.node.0),
        StageItem::Grace(d) => format!("grace {}", d.node.0),
        StageItem::Idle(d) => format!("idle {}", d.node.0),
        StageItem::Budget(b) => one_line(slice(text, b.span)),
        StageItem::Approval(v) => format!("approval {}", quoted(v)),
        StageItem::Retry(r) => one_line(slice(text, r.span)),
        StageItem::Outputs(v) => format!("outputs {}", quoted(v)),
        StageItem::OptionalOutputs(v) => format!("optional outputs {}", quoted(v)),
        StageItem::Shell(s) => format!("shell {}", slice(text, s.span)),
        StageItem::When(e) => one_line(&format!("when {}", e.source)),
        StageItem::Env(n, e) => one_line(&format!("env {} = {}", n.node, e.source)),
        StageItem::Status(f) => format!("status {}", f.node),
        StageItem::Max(m) => format!("max {}", slice(text, m.span())),
        StageItem::AllowFailure(_) => "allow_failure".into(),
        StageItem::EndsRun(n) => format!("ends run {}", n.node),
        StageItem::Route(r) => one_line(slice(text, r.span)),
    }
}

/// A skill file's first paragraph after its front matter (a heading and
/// the paragraph below it).
pub fn first_paragraph(text: &str) -> String {
    let mut body = text;
    if let Some(rest) = text.strip_prefix("---\n") {
        if let Some(end) = rest.find("\n---") {
            body = rest[end + 4..].trim_start_matches(['-', '\r']);
        }
    }
    let mut out: Vec<&str> = Vec::new();
    for para in body.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        out.push(para);
        let heading_only = para.lines().all(|l| l.starts_with('#'));
        if !heading_only {
            break;
        }
    }
    out.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_stop_at_punctuation_and_take_dashes() {
        let text = "needs re-view, b";
        assert_eq!(word_at(text, 8), Span::new(6, 13));
        assert_eq!(word_at(text, 13), Span::new(6, 13));
        assert_eq!(word_at(text, 0), Span::new(0, 5));
    }

    #[test]
    fn first_paragraph_skips_front_matter() {
        let text = "---\nname: plan\n---\n\n# Plan\n\nWrite a plan.\nShort.\n\nMore.\n";
        assert_eq!(first_paragraph(text), "# Plan\n\nWrite a plan.\nShort.");
        assert_eq!(first_paragraph("Just this.\n\nNot this."), "Just this.");
    }
}
