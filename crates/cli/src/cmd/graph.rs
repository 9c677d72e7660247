//! `flow graph FILE --format dot|mermaid`.

use flow_dsl::ir::{EdgeKind, ParamSettingKind, Pipeline, RouteTarget};
use petgraph::visit::EdgeRef;
use std::path::Path;

/// Graph output formats.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    /// Graphviz dot.
    Dot,
    /// Mermaid flowchart.
    Mermaid,
}

/// Prints the graph of the flow in `file`. Exit 1 if it does not check.
pub fn run(file: &Path, format: Format) -> u8 {
    let Some(pipeline) = crate::cmd::run::load_pipeline(file) else {
        return 1;
    };
    print!("{}", render(&pipeline, format));
    0
}

/// What a stage's node says besides its name: `max N` (or `max PARAM`),
/// `when EXPR`, the decisions of an `approval` stage.
fn notes(p: &Pipeline, i: usize) -> Vec<String> {
    let s = &p.stages[i];
    let mut notes = Vec::new();
    if let Some(decisions) = &s.approval {
        notes.push(format!("approval: {}", decisions.join(" | ")));
    }
    let max_param = p
        .param_settings
        .iter()
        .find(|b| b.stage.0 == i && b.setting == ParamSettingKind::Max);
    match (s.max_visits, max_param) {
        (_, Some(b)) => notes.push(format!("max {}", b.param)),
        (Some(n), None) => notes.push(format!("max {n}")),
        (None, None) => {}
    }
    if let Some(when) = &s.when {
        notes.push(format!("when {}", when.source));
    }
    notes
}

/// The `again` routes of stage `i`: (outcome, delay as written or the
/// param that gives it).
fn again_loops(p: &Pipeline, i: usize) -> Vec<(String, String)> {
    p.stages[i]
        .routes
        .iter()
        .enumerate()
        .filter_map(|(r, route)| {
            let RouteTarget::Again(delay) = route.target else {
                return None;
            };
            let param = p
                .param_settings
                .iter()
                .find(|b| b.stage.0 == i && b.setting == ParamSettingKind::Again { route: r });
            let delay = match param {
                Some(b) => b.param.clone(),
                None => humantime::format_duration(delay).to_string(),
            };
            Some((route.on.to_string(), delay))
        })
        .collect()
}

/// The graph's title: `NAME: DESCRIPTION`, then the triggers
/// (`NAME — triggers: cron "0 * * * *", every 4h`); none when the flow has
/// neither.
fn title(p: &Pipeline) -> Option<String> {
    let mut title = match &p.description {
        Some(d) => format!("{}: {d}", p.name),
        None if p.triggers.is_empty() => return None,
        None => p.name.clone(),
    };
    if !p.triggers.is_empty() {
        let texts: Vec<String> = p.triggers.iter().map(|t| t.text()).collect();
        title.push_str(&format!(" — triggers: {}", texts.join(", ")));
    }
    Some(title)
}

/// The graph as text: needs edges solid, route edges dashed and labelled,
/// `again` routes as dashed loops; nodes carry `max`, `when` and approval
/// decisions; the flow's description and triggers are the graph's title.
pub fn render(p: &Pipeline, format: Format) -> String {
    let mut out = String::new();
    let name = |i: petgraph::graph::NodeIndex| &p.stages[i.index()].name;
    match format {
        Format::Dot => {
            out.push_str(&format!("digraph {:?} {{\n  rankdir=LR;\n", p.name));
            if let Some(title) = title(p) {
                out.push_str(&format!("  label={title:?};\n  labelloc=t;\n"));
            }
            for (i, s) in p.stages.iter().enumerate() {
                let shape = match (s.finally, s.approval.is_some()) {
                    (true, _) => "octagon",
                    (false, true) => "hexagon",
                    (false, false) => "box",
                };
                let mut label = vec![s.name.clone()];
                label.extend(notes(p, i));
                out.push_str(&format!(
                    "  {:?} [shape={shape}, label={:?}];\n",
                    s.name,
                    label.join("\n")
                ));
            }
            for e in p.graph.edge_references() {
                let (a, b) = (name(e.source()), name(e.target()));
                match e.weight() {
                    EdgeKind::Needs => out.push_str(&format!("  {a:?} -> {b:?};\n")),
                    EdgeKind::Route(on) => out.push_str(&format!(
                        "  {a:?} -> {b:?} [style=dashed, label={:?}];\n",
                        on.to_string()
                    )),
                }
            }
            for (i, s) in p.stages.iter().enumerate() {
                for (on, delay) in again_loops(p, i) {
                    out.push_str(&format!(
                        "  {:?} -> {:?} [style=dashed, label={:?}];\n",
                        s.name,
                        s.name,
                        format!("{on}: again after {delay}")
                    ));
                }
            }
            out.push_str("}\n");
        }
        Format::Mermaid => {
            if let Some(title) = title(p) {
                // Mermaid's front matter title (quotes kept out of YAML's way).
                out.push_str(&format!(
                    "---\ntitle: \"{}\"\n---\n",
                    title.replace('"', "'")
                ));
            }
            out.push_str("flowchart LR\n");
            // Ids by index: stage names may contain `-`, which mermaid ids may not,
            // and mapping `-` to `_` would merge `a-b` with `a_b`.
            for (i, s) in p.stages.iter().enumerate() {
                let (l, r) = match (s.finally, s.approval.is_some()) {
                    (true, _) => ("{{", "}}"),
                    (false, true) => ("{", "}"),
                    (false, false) => ("[", "]"),
                };
                let mut label = vec![s.name.clone()];
                label.extend(notes(p, i));
                let label = label.join("<br/>").replace('"', "'");
                out.push_str(&format!("  s{i}{l}\"{label}\"{r}\n"));
            }
            for e in p.graph.edge_references() {
                let (a, b) = (
                    format!("s{}", e.source().index()),
                    format!("s{}", e.target().index()),
                );
                match e.weight() {
                    EdgeKind::Needs => out.push_str(&format!("  {a} --> {b}\n")),
                    EdgeKind::Route(on) => out.push_str(&format!(
                        "  {a} -. \"{}\" .-> {b}\n",
                        on.to_string().replace('"', "'")
                    )),
                }
            }
            for i in 0..p.stages.len() {
                for (on, delay) in again_loops(p, i) {
                    out.push_str(&format!(
                        "  s{i} -. \"{}: again after {delay}\" .-> s{i}\n",
                        on.replace('"', "'")
                    ));
                }
            }
        }
    }
    out
}
