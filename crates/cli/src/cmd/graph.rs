//! `flow graph FILE --format dot|mermaid`.

use flow_dsl::ir::{EdgeKind, Pipeline};
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

/// The graph as text: needs edges solid, route edges dashed and labelled.
pub fn render(p: &Pipeline, format: Format) -> String {
    let mut out = String::new();
    let name = |i: petgraph::graph::NodeIndex| &p.stages[i.index()].name;
    match format {
        Format::Dot => {
            out.push_str(&format!("digraph {:?} {{\n  rankdir=LR;\n", p.name));
            for s in &p.stages {
                let shape = if s.finally { "octagon" } else { "box" };
                out.push_str(&format!("  {:?} [shape={shape}];\n", s.name));
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
            out.push_str("}\n");
        }
        Format::Mermaid => {
            out.push_str("flowchart LR\n");
            // Ids by index: stage names may contain `-`, which mermaid ids may not,
            // and mapping `-` to `_` would merge `a-b` with `a_b`.
            for (i, s) in p.stages.iter().enumerate() {
                let (l, r) = if s.finally { ("{{", "}}") } else { ("[", "]") };
                out.push_str(&format!("  s{i}{l}\"{}\"{r}\n", s.name));
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
        }
    }
    out
}
