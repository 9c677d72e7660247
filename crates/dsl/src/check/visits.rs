//! Which stages can be visited more than once, and `max N` on a stage that
//! cannot (F0106).
//!
//! A stage gets a second visit when a route activates it again after a
//! visit. That can happen when it is on a loop (a cycle of routes and
//! `needs`, as F0005 draws it), re-runs itself (`again`), is the target of
//! routes from two or more stages, or is the target of a route from a stage
//! that can itself be visited twice. Otherwise it runs at most once and
//! `max` never applies.

use super::expand::Expanded;
use super::graph::Edges;
use crate::ast::{ParamOr, RouteTargetDecl};
use crate::diagnostic::{Code, Diagnostic};
use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;

/// `multi[i]`: stage `i` may be visited more than once.
pub(crate) fn may_revisit(stages: &[Expanded], edges: &Edges) -> Vec<bool> {
    let n = stages.len();
    let mut g: DiGraph<usize, ()> = DiGraph::with_capacity(n, n);
    let nodes: Vec<_> = (0..n).map(|i| g.add_node(i)).collect();
    let ordinary = |i: usize| !stages[i].decl.finally;
    for (from, routes) in edges.routes.iter().enumerate() {
        for &(to, _) in routes {
            if ordinary(from) && ordinary(to) {
                g.add_edge(nodes[from], nodes[to], ());
            }
        }
    }
    for (stage, needs) in edges.needs.iter().enumerate() {
        for &(need, _) in needs {
            if ordinary(stage) && ordinary(need) {
                g.add_edge(nodes[need], nodes[stage], ());
            }
        }
    }
    let mut multi = vec![false; n];
    for scc in tarjan_scc(&g) {
        let looped = scc.len() > 1 || g.find_edge(scc[0], scc[0]).is_some();
        if looped {
            for node in scc {
                multi[g[node]] = true;
            }
        }
    }
    for (i, stage) in stages.iter().enumerate() {
        if stage
            .routes
            .iter()
            .any(|r| matches!(r.node.target, RouteTargetDecl::Again(_)))
        {
            multi[i] = true;
        }
    }
    // Routers of each stage, without self-routes (those make a loop).
    for (i, r) in edges.routers().iter().enumerate() {
        if r.len() > 1 {
            multi[i] = true;
        }
    }
    // A stage visited twice fires its routes twice: propagate forward.
    let mut stack: Vec<usize> = (0..n).filter(|&i| multi[i]).collect();
    while let Some(s) = stack.pop() {
        for &(to, _) in &edges.routes[s] {
            if !multi[to] {
                multi[to] = true;
                stack.push(to);
            }
        }
    }
    multi
}

/// Reports `max N` on every stage that can be visited only once. An
/// out-of-range `max` is reported as such (F0022) and skipped here.
pub(crate) fn max_off_cycle(stages: &[Expanded], edges: &Edges, diags: &mut Vec<Diagnostic>) {
    let multi = may_revisit(stages, edges);
    for (i, stage) in stages.iter().enumerate() {
        let Some(max) = stage.max else { continue };
        if multi[i] || max.node.literal().is_some_and(|m| m.node < 1) {
            continue;
        }
        let name = &stage.decl.name.node;
        let why = if stage.decl.finally {
            "a finally stage runs once"
        } else {
            "no loop of routes passes through it, it has no `again` route, and at most one stage routes to it"
        };
        diags.push(
            Diagnostic::new(
                Code::MaxOffCycle,
                max.src,
                max.node.span(),
                format!(
                    "`max {}` never applies: stage `{name}` runs at most once ({why})",
                    match max.node {
                        ParamOr::Value(m) => m.node.to_string(),
                        ParamOr::Param(p) => p.node.clone(),
                    }
                ),
            )
            .label("never reached")
            .help("remove `max`, or put it on a stage of the loop it is meant to bound"),
        );
    }
}
