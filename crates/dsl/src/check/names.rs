//! Duplicate names (F0002): stages, params and lets, env and secrets,
//! templates, single settings of one body.

use crate::ast::{FlowItem, Ident};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::{SourceId, Span};
use foldhash::{HashMap, HashMapExt};

/// Reports every name of `idents` that repeats an earlier one, on the
/// repetition, with the first occurrence as a secondary label.
pub(crate) fn duplicates<'a>(
    idents: impl IntoIterator<Item = &'a Ident>,
    what: &str,
    source: SourceId,
    diags: &mut Vec<Diagnostic>,
) {
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for ident in idents {
        match seen.get(ident.node.as_str()) {
            Some(first) => diags.push(duplicate(what, &ident.node, ident.span, *first, source)),
            None => {
                seen.insert(&ident.node, ident.span);
            }
        }
    }
}

/// The F0002 diagnostic for `name` declared at `first` and again at `again`.
pub(crate) fn duplicate(
    what: &str,
    name: &str,
    again: Span,
    first: Span,
    source: SourceId,
) -> Diagnostic {
    Diagnostic::new(
        Code::Duplicate,
        source,
        again,
        format!("{what} `{name}` is declared twice"),
    )
    .label("declared again here")
    .secondary(first, "first declared here")
    .help(format!("rename one of them or remove the second {what}"))
}

/// A single setting (`timeout`, `run` …) given twice in one body.
fn duplicate_setting(keyword: &str, again: Span, first: Span, source: SourceId) -> Diagnostic {
    Diagnostic::new(
        Code::Duplicate,
        source,
        again,
        format!("`{keyword}` is set twice"),
    )
    .label("set again here")
    .secondary(first, "first set here")
    .help(format!("`{keyword}` takes one value; remove one of them"))
}

/// Flow-level names: stages (with finally), params and lets (one namespace:
/// both are expression variables and `$NAME`s), env and secrets (both are
/// exported variables), and single flow settings.
pub(crate) fn flow(items: &[FlowItem], source: SourceId, diags: &mut Vec<Diagnostic>) {
    let stages = items.iter().filter_map(|i| match i {
        FlowItem::Stage(s) | FlowItem::Finally(s) => Some(&s.name),
        _ => None,
    });
    duplicates(stages, "stage", source, diags);
    let vars = items.iter().filter_map(|i| match i {
        FlowItem::Param(p) => Some(&p.name),
        FlowItem::Let(name, _) => Some(name),
        _ => None,
    });
    duplicates(vars, "param or let", source, diags);
    let exported = items.iter().filter_map(|i| match i {
        FlowItem::Env(name, _) | FlowItem::Secret(name) => Some(name),
        _ => None,
    });
    duplicates(exported, "env variable or secret", source, diags);
    let settings = items.iter().filter_map(|item| match item {
        FlowItem::Description(d) => Some(("description", d.span)),
        FlowItem::Timeout(t) => Some(("timeout", t.span)),
        FlowItem::Concurrency(c) => Some(("concurrency", c.span)),
        FlowItem::SkipIf(e) => Some(("skip if", e.span)),
        FlowItem::Shell(s) => Some(("shell", s.span)),
        FlowItem::Budget(b) => Some(("budget", b.span)),
        _ => None,
    });
    single_settings(settings, source, diags);
}

/// Reports each single setting (its keyword and span) that repeats an
/// earlier one with the same keyword.
pub(crate) fn single_settings<'a>(
    settings: impl IntoIterator<Item = (&'a str, Span)>,
    source: SourceId,
    diags: &mut Vec<Diagnostic>,
) {
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for (keyword, span) in settings {
        match seen.get(keyword) {
            Some(first) => diags.push(duplicate_setting(keyword, span, *first, source)),
            None => {
                seen.insert(keyword, span);
            }
        }
    }
}
