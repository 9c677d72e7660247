//! The checker: a loaded file ([`Loaded`]) → every diagnostic, and the
//! [`Pipeline`] when there is no error.
//!
//! One file per concern: `names` (duplicates), `params` (types and
//! defaults), `templates` (definitions, calls, arguments, skills),
//! `expand` (template bodies merged into stages), `settings` (one body's
//! values), `stage` (one expanded stage), `graph` (unknown stages,
//! finally misuse, cycles), `reach` (stages that can never run),
//! `routes` (dead routes, unusable retries), `visits` (`max` that never
//! applies), `absent_needs` (needs a route target may start without),
//! `outputs`, `durations`, `shell`, `reserved` (names that would replace
//! `$PATH` & co.), `alerts` (thresholds for `flow stats`), `triggers` (`cron`
//! schedules and `every` intervals of `flow serve`), `exprs` and
//! `build` (AST → IR).

mod absent_needs;
mod ahead;
mod alerts;
mod bounds;
mod budget;
mod build;
mod durations;
mod expand;
mod exprs;
mod front_matter;
mod graph;
mod names;
mod outputs;
mod params;
mod reach;
mod reserved;
pub use reserved::{is_run_option, RUN_OPTIONS};
mod routes;
mod settings;
mod shell;
mod skills;
mod stage;
mod suggest;
mod templates;
mod triggers;
mod visits;

#[cfg(test)]
mod tests;

use crate::ast::{self, FlowItem};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::Pipeline;
use crate::load::Loaded;
use crate::span::SourceId;
use reserved::Kind;

/// Checks everything `loaded` holds: its templates, libraries and flows.
/// The pipeline is `Some` only when the file has exactly one flow and no
/// diagnostic is an error. Diagnostics come sorted by file and position.
pub fn check(loaded: &Loaded) -> (Vec<Diagnostic>, Option<Pipeline>) {
    let mut diags = loaded.diagnostics.clone();
    templates::check_definitions(loaded, &mut diags);
    let mut pipelines = Vec::new();
    for (k, flow) in loaded.file.flows.iter().enumerate() {
        if k > 0 {
            let first = &loaded.file.flows[0].name;
            diags.push(
                Diagnostic::new(
                    Code::NoFlow,
                    loaded.main,
                    flow.name.span,
                    format!("a second flow, `{}`, in one file", flow.name.node),
                )
                .label("second flow")
                .secondary(first.span, "first flow")
                .help("put each flow in its own file"),
            );
        }
        pipelines.push(check_flow(flow, loaded.main, loaded, &mut diags));
    }
    diags.sort_by_key(|d| (d.source, d.span().start, d.span().end));
    // A template's `stages.X` is checked for every stage built from it: one
    // mistake, said once.
    let mut seen = std::collections::HashSet::new();
    diags.retain(|d| seen.insert((d.code, d.source, d.span(), d.message.clone())));
    let ok = !diags.iter().any(Diagnostic::is_error) && pipelines.len() == 1;
    (diags, if ok { pipelines.pop() } else { None })
}

/// Checks one flow and builds its pipeline (meaningful only without errors).
fn check_flow(
    flow: &ast::Flow,
    src: SourceId,
    loaded: &Loaded,
    diags: &mut Vec<Diagnostic>,
) -> Pipeline {
    names::flow(&flow.items, src, diags);
    let decls: Vec<&ast::ParamDecl> = flow
        .items
        .iter()
        .filter_map(|i| match i {
            FlowItem::Param(p) => Some(p),
            _ => None,
        })
        .collect();
    let checked = params::check(&decls, false, src, diags);
    let mut flow_timeout = false;
    for item in &flow.items {
        match item {
            FlowItem::Param(p) => {
                reserved::check(&p.name, Kind::Param, None, src, diags);
                reserved::check_run_option(&p.name, src, diags);
            }
            FlowItem::Let(name, _) => reserved::check(name, Kind::Let, None, src, diags),
            FlowItem::Env(name, _) => reserved::check(name, Kind::Env, None, src, diags),
            FlowItem::Secret(name) => reserved::check(name, Kind::Secret, None, src, diags),
            FlowItem::Timeout(t) => {
                durations::check_timer(t, src, diags);
                // One that is too long is reported; not also every stage's F0101.
                flow_timeout |= durations::parse(&t.node).is_some();
            }
            FlowItem::Shell(text) => shell::check(text, src, diags),
            FlowItem::Budget(b) => budget::check(b, src, diags),
            FlowItem::Concurrency(c) if c.node < 1 || c.node > i64::from(u32::MAX) => diags.push(
                Diagnostic::new(
                    Code::BadValue,
                    src,
                    c.span,
                    if c.node < 1 {
                        format!("`concurrency {}` must be at least 1", c.node)
                    } else {
                        format!(
                            "`concurrency {}` is too large (at most {})",
                            c.node,
                            u32::MAX
                        )
                    },
                )
                .label("out of range")
                .help("write how many runs of this flow may run at once, e.g. `concurrency 3`"),
            ),
            _ => {}
        }
    }
    let stages: Vec<expand::Expanded> = flow
        .items
        .iter()
        .filter_map(|i| match i {
            FlowItem::Stage(s) | FlowItem::Finally(s) => {
                Some(expand::expand(s, src, loaded, diags))
            }
            _ => None,
        })
        .collect();
    let typed: Vec<_> = decls.iter().copied().zip(&checked).collect();
    let ahead = ahead::Ahead::new(flow, src, &typed, &stages);
    let stages = &stages[..];
    // The stages' expressions compile on other cores while the checks
    // below run (see `ahead`).
    std::thread::scope(|scope| {
        let helpers = ahead.start(scope, stages);
        let flow_budget = flow.items.iter().any(|i| matches!(i, FlowItem::Budget(_)));
        for s in stages {
            settings::body(&s.decl.items, src, diags);
            stage::check(s, flow_timeout, diags);
            routes::check(s, flow_budget, diags);
            bounds::stage(s, &decls, diags);
            skills::check_stage(s, loaded, diags);
        }
        let edges = graph::resolve(stages, diags);
        let on_cycle = graph::needs_cycles(stages, &edges, diags);
        graph::route_cycles(stages, &edges, diags);
        let can_run = reach::can_run(stages, &edges);
        reach::unreachable(stages, &edges, &can_run, &on_cycle, diags);
        reach::route_targets_off_path(stages, &edges, diags);
        absent_needs::check(stages, &edges, can_run, diags);
        visits::max_off_cycle(stages, &edges, diags);
        outputs::check_clashes(stages, &edges.needs, diags);
        let stage_names: Vec<&str> = stages.iter().map(|s| s.decl.name.node.as_str()).collect();
        let alerts = alerts::check(&flow.items, &stage_names, src, diags);
        let triggers = triggers::check(&flow.items, src, diags);
        let input = build::Input {
            alerts,
            triggers,
            flow,
            src,
            loaded,
            stages,
            edges: &edges,
        };
        build::pipeline(&input, &ahead, helpers, diags)
    })
}
