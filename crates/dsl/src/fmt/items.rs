//! The canonical text of one item, header or literal, built from the AST.
//!
//! Every value is copied from the source by its span (strings as written,
//! `"""` scripts and expressions byte for byte, numbers and durations as
//! spelled); only the blanks and punctuation between them are chosen here:
//! one space between words, `, ` between list entries, `: ` and ` = ` in
//! declarations, ` -> ` in routes.

use super::source::Source;
use crate::ast::{
    AlertDecl, BudgetDecl, FlowItem, Literal, ParamDecl, ParamOr, RetryDecl, RouteDecl, RouteOn,
    RouteTargetDecl, Spanned, StageDecl, StageItem, Template, TemplateCall, TriggerKind, Use,
};

/// Joins the texts of `spans` with `, `.
fn list<T>(src: &Source, items: &[Spanned<T>]) -> String {
    items
        .iter()
        .map(|i| src.slice(i.span))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A default value or template argument: lists re-spaced, the rest as written.
pub(super) fn literal(src: &Source, lit: &Spanned<Literal>) -> String {
    match &lit.node {
        Literal::List(items) => {
            let inner: Vec<String> = items.iter().map(|i| literal(src, i)).collect();
            format!("[{}]", inner.join(", "))
        }
        _ => src.slice(lit.span).to_string(),
    }
}

/// `name: type [= default]` (a flow or template parameter).
fn param(src: &Source, p: &ParamDecl) -> String {
    // The grammar allows blanks inside `list < str >`; none are kept.
    let ty: String = src.slice(p.ty.span).chars().filter(|c| *c != ' ').collect();
    let mut out = format!("{}: {ty}", p.name.node);
    if let Some(d) = &p.default {
        out.push_str(" = ");
        out.push_str(&literal(src, d));
    }
    out
}

/// `budget 5 usd, 200000 tokens`.
fn budget(src: &Source, b: &BudgetDecl) -> String {
    let limits: Vec<String> = b
        .limits
        .iter()
        .map(|l| {
            src.slice(l.span)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    format!("budget {}", limits.join(", "))
}

fn alert(src: &Source, a: &AlertDecl) -> String {
    let stage = a
        .stage
        .as_ref()
        .map_or(String::new(), |s| format!("({})", s.node));
    format!(
        "alert {}{stage} {} {}",
        a.metric.node,
        a.op.node,
        src.slice(a.value.span)
    )
}

fn retry(src: &Source, r: &RetryDecl) -> String {
    let mut out = format!("retry {}", src.slice(r.count.span));
    if let Some(d) = &r.delay {
        out.push_str(" delay ");
        out.push_str(src.slice(d.span));
    }
    if let Some(b) = &r.backoff {
        out.push_str(" backoff ");
        out.push_str(src.slice(b.span));
    }
    out
}

fn route(src: &Source, r: &RouteDecl) -> String {
    let on = match &r.on.node {
        RouteOn::Success => "success".to_string(),
        RouteOn::Failure => "failure".to_string(),
        RouteOn::Timeout => "timeout".to_string(),
        RouteOn::Budget => "budget".to_string(),
        RouteOn::Exit(codes) => format!("exit {}", list(src, codes)),
        RouteOn::Status(s) => format!("status {}", src.slice(s.span)),
    };
    let target = match &r.target {
        RouteTargetDecl::Stage(s) => s.node.clone(),
        RouteTargetDecl::Again(after) => format!("again after {}", src.slice(after.span())),
    };
    format!("on {on} -> {target}")
}

/// `use std` or `use "path" as alias`.
pub(super) fn use_item(src: &Source, u: &Use) -> String {
    match &u.path {
        None => "use std".to_string(),
        Some(p) => format!("use {} as {}", src.slice(p.span), u.alias.node),
    }
}

/// A flow item other than a stage.
pub(super) fn flow_item(src: &Source, item: &FlowItem) -> String {
    match item {
        FlowItem::Description(s) => format!("description {}", src.slice(s.span)),
        FlowItem::Param(p) => format!("param {}", param(src, p)),
        FlowItem::Timeout(d) => format!("timeout {}", src.slice(d.span)),
        FlowItem::Concurrency(n) => format!("concurrency {}", src.slice(n.span)),
        FlowItem::SkipIf(e) => format!("skip if {}", src.slice(e.span)),
        FlowItem::Let(n, e) => format!("let {} = {}", n.node, src.slice(e.span)),
        FlowItem::Env(n, e) => format!("env {} = {}", n.node, src.slice(e.span)),
        FlowItem::Secret(n) => format!("secret {}", n.node),
        FlowItem::Shell(s) => format!("shell {}", src.slice(s.span)),
        FlowItem::Alert(a) => alert(src, a),
        FlowItem::Budget(b) => budget(src, b),
        FlowItem::Trigger(t) => match &t.kind {
            TriggerKind::Cron(s) => format!("trigger cron {}", src.slice(s.span)),
            TriggerKind::Every(d) => format!("trigger every {}", src.slice(d.span)),
        },
        FlowItem::Stage(s) | FlowItem::Finally(s) => stage_header(src, s),
    }
}

/// An item of a stage or template body.
pub(super) fn stage_item(src: &Source, item: &StageItem) -> String {
    match item {
        StageItem::Needs(names) => format!("needs {}", list(src, names)),
        StageItem::Run(s) => format!("run {}", src.slice(s.span)),
        StageItem::RunBuiltin(s) => format!("run builtin {}", src.slice(s.span)),
        StageItem::Timeout(d) => format!("timeout {}", src.slice(d.span)),
        StageItem::Grace(d) => format!("grace {}", src.slice(d.span)),
        StageItem::Idle(d) => format!("idle {}", src.slice(d.span)),
        StageItem::Budget(b) => budget(src, b),
        StageItem::Approval(words) => format!("approval {}", list(src, words)),
        StageItem::Retry(r) => retry(src, r),
        StageItem::Outputs(o) => format!("outputs {}", list(src, o)),
        StageItem::OptionalOutputs(o) => format!("optional outputs {}", list(src, o)),
        StageItem::Shell(s) => format!("shell {}", src.slice(s.span)),
        StageItem::When(e) => format!("when {}", src.slice(e.span)),
        StageItem::Env(n, e) => format!("env {} = {}", n.node, src.slice(e.span)),
        StageItem::Status(f) => format!("status {}", f.node),
        StageItem::Max(m) => format!("max {}", src.slice(m.span())),
        StageItem::AllowFailure(_) => "allow_failure".to_string(),
        StageItem::EndsRun(n) => format!("ends run {}", n.node),
        StageItem::Route(r) => route(src, r),
    }
}

fn template_call(src: &Source, call: &TemplateCall) -> String {
    let args: Vec<String> = call
        .args
        .iter()
        .map(|a| format!("{}: {}", a.name.node, literal(src, &a.value)))
        .collect();
    let library = call
        .library
        .as_ref()
        .map_or(String::new(), |l| format!("{}.", l.node));
    format!("{library}{}({})", call.name.node, args.join(", "))
}

/// `stage NAME[: CALL] {` or `finally NAME {`.
pub(super) fn stage_header(src: &Source, s: &StageDecl) -> String {
    let keyword = if s.finally { "finally" } else { "stage" };
    match &s.template {
        Some(call) => format!("{keyword} {}: {} {{", s.name.node, template_call(src, call)),
        None => format!("{keyword} {} {{", s.name.node),
    }
}

/// `template NAME(PARAMS) {`.
pub(super) fn template_header(src: &Source, t: &Template) -> String {
    let params: Vec<String> = t.params.iter().map(|p| param(src, p)).collect();
    format!("template {}({}) {{", t.name.node, params.join(", "))
}

/// Where a flow item's last token ends.
pub(super) fn flow_item_end(item: &FlowItem) -> usize {
    match item {
        FlowItem::Description(s) | FlowItem::Shell(s) => s.span.end,
        FlowItem::Param(p) => p.span.end,
        FlowItem::Timeout(d) => d.span.end,
        FlowItem::Concurrency(n) => n.span.end,
        FlowItem::SkipIf(e) | FlowItem::Let(_, e) | FlowItem::Env(_, e) => e.span.end,
        FlowItem::Secret(n) => n.span.end,
        FlowItem::Alert(a) => a.span.end,
        FlowItem::Budget(b) => b.span.end,
        FlowItem::Trigger(t) => t.span.end,
        FlowItem::Stage(s) | FlowItem::Finally(s) => s.span.end,
    }
}

/// The word a flow item starts with.
pub(super) fn flow_item_keyword(item: &FlowItem) -> &'static str {
    match item {
        FlowItem::Description(_) => "description",
        FlowItem::Param(_) => "param",
        FlowItem::Timeout(_) => "timeout",
        FlowItem::Concurrency(_) => "concurrency",
        FlowItem::SkipIf(_) => "skip",
        FlowItem::Let(..) => "let",
        FlowItem::Env(..) => "env",
        FlowItem::Secret(_) => "secret",
        FlowItem::Shell(_) => "shell",
        FlowItem::Alert(_) => "alert",
        FlowItem::Budget(_) => "budget",
        FlowItem::Trigger(_) => "trigger",
        FlowItem::Stage(_) => "stage",
        FlowItem::Finally(_) => "finally",
    }
}

/// Where a stage item's last token ends.
pub(super) fn stage_item_end(item: &StageItem) -> usize {
    let last = |v: &[Spanned<String>]| v.last().map_or(0, |s| s.span.end);
    match item {
        StageItem::Needs(names) => last(names),
        StageItem::Run(s) | StageItem::RunBuiltin(s) | StageItem::Shell(s) => s.span.end,
        StageItem::Timeout(d) | StageItem::Grace(d) | StageItem::Idle(d) => d.span.end,
        StageItem::Budget(b) => b.span.end,
        StageItem::Approval(v) | StageItem::Outputs(v) | StageItem::OptionalOutputs(v) => last(v),
        StageItem::Retry(r) => r.span.end,
        StageItem::When(e) | StageItem::Env(_, e) => e.span.end,
        StageItem::Status(f) | StageItem::EndsRun(f) => f.span.end,
        StageItem::Max(m) => match m {
            ParamOr::Value(v) => v.span.end,
            ParamOr::Param(p) => p.span.end,
        },
        StageItem::AllowFailure(s) => s.end,
        StageItem::Route(r) => r.span.end,
    }
}
