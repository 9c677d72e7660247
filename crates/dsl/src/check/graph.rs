//! The stage graph: resolving `needs` and route targets to stage indices
//! (F0003 unknown stage, F0024 finally misuse), `needs` cycles (F0004) and
//! route cycles without a `max` (F0005).

use super::expand::Expanded;
use super::suggest;
use crate::ast::RouteTargetDecl;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::{SourceId, Span};
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
use std::collections::VecDeque;

/// Resolved edges of every stage (indices into the stage list).
#[derive(Debug, Clone, Default)]
pub(crate) struct Edges {
    /// `needs[i]`: (needed stage, position in `stages[i].needs`).
    pub needs: Vec<Vec<(usize, usize)>>,
    /// `routes[i]`: (target stage, position in `stages[i].routes`), for
    /// routes to a stage (not `again`).
    pub routes: Vec<Vec<(usize, usize)>>,
}

impl Edges {
    /// `route_target[i]`: some other stage routes to stage `i`.
    pub fn route_targets(&self) -> Vec<bool> {
        let mut targets = vec![false; self.routes.len()];
        for (from, routes) in self.routes.iter().enumerate() {
            for &(to, _) in routes {
                if to != from {
                    targets[to] = true;
                }
            }
        }
        targets
    }

    /// `routers[i]`: the stages with a route to stage `i`, each once, in
    /// stage order; a stage's route to itself is left out.
    pub fn routers(&self) -> Vec<Vec<usize>> {
        let mut routers: Vec<Vec<usize>> = vec![Vec::new(); self.routes.len()];
        for (from, routes) in self.routes.iter().enumerate() {
            for &(to, _) in routes {
                // `from` only grows, so a repeat is the last one pushed.
                if to != from && routers[to].last() != Some(&from) {
                    routers[to].push(from);
                }
            }
        }
        routers
    }
}

fn unknown_stage(
    name: &str,
    span: Span,
    src: SourceId,
    what: &str,
    stages: &[Expanded],
) -> Diagnostic {
    let names = || stages.iter().map(|s| s.decl.name.node.as_str());
    let help = suggest::did_you_mean(name, names())
        .unwrap_or_else(|| format!("{what} must name a stage of this flow"));
    let d = Diagnostic::new(
        Code::UnknownStage,
        src,
        span,
        format!("unknown stage `{name}`"),
    )
    .label("no such stage")
    .help(help);
    suggest::with_fix(d, name, span, names())
}

/// Resolves every `needs` and route target, reporting unknown names, a
/// repeated need, and misuses of `finally` stages.
pub(crate) fn resolve(stages: &[Expanded], diags: &mut Vec<Diagnostic>) -> Edges {
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, s) in stages.iter().enumerate() {
        index.entry(s.decl.name.node.as_str()).or_insert(i);
    }
    let mut edges = Edges::default();
    for stage in stages {
        let mut needs = Vec::new();
        let mut seen: HashMap<usize, Span> = HashMap::new();
        for (pos, need) in stage.needs.iter().enumerate() {
            let Some(&target) = index.get(need.node.node.as_str()) else {
                diags.push(unknown_stage(
                    &need.node.node,
                    need.node.span,
                    need.src,
                    "`needs`",
                    stages,
                ));
                continue;
            };
            if let Some(first) = seen.get(&target) {
                let mut d = Diagnostic::new(
                    Code::Duplicate,
                    need.src,
                    need.node.span,
                    format!("`{}` is needed twice", need.node.node),
                )
                .label("needed again here")
                .help("remove the second mention");
                if need.src == stage.src {
                    d = d.secondary(*first, "first needed here");
                }
                diags.push(d);
                continue;
            }
            seen.insert(target, need.node.span);
            if stages[target].decl.finally && !stage.decl.finally {
                diags.push(
                    Diagnostic::new(Code::FinallyMisuse, need.src, need.node.span, format!(
                        "stage `{}` needs `{}`, a finally stage, which runs only after every other stage",
                        stage.decl.name.node, need.node.node
                    ))
                    .label("a finally stage")
                    .help("remove the need; a finally stage can need ordinary stages, not the other way round"),
                );
                continue;
            }
            needs.push((target, pos));
        }
        edges.needs.push(needs);

        let mut routes = Vec::new();
        for (pos, route) in stage.routes.iter().enumerate() {
            if stage.decl.finally {
                diags.push(
                    Diagnostic::new(
                        Code::FinallyMisuse,
                        route.src,
                        route.node.span,
                        format!("finally stage `{}` has a route", stage.decl.name.node),
                    )
                    .label("routes are not allowed here")
                    .help("finally stages run once, after everything else; remove the route"),
                );
                continue;
            }
            let RouteTargetDecl::Stage(name) = &route.node.target else {
                continue;
            };
            let Some(&target) = index.get(name.node.as_str()) else {
                diags.push(unknown_stage(
                    &name.node, name.span, route.src, "a route", stages,
                ));
                continue;
            };
            if stages[target].decl.finally {
                diags.push(
                    Diagnostic::new(
                        Code::FinallyMisuse,
                        route.src,
                        name.span,
                        format!("route to finally stage `{}`", name.node),
                    )
                    .label("a finally stage")
                    .help("remove the route; finally stages run anyway, after every other stage"),
                );
                continue;
            }
            routes.push((target, pos));
        }
        edges.routes.push(routes);
    }
    edges
}

/// Where an edge of a cycle was written.
#[derive(Debug, Clone, Copy)]
struct Written {
    src: SourceId,
    span: Span,
    route: bool,
}

/// The edges of a cycle through `first` (an edge `u -> v` inside `scc`):
/// `first`, then a shortest path from `v` back to `u` within `scc`.
fn cycle_through(
    g: &DiGraph<usize, Written>,
    scc: &HashSet<NodeIndex>,
    first: EdgeIndex,
) -> Vec<EdgeIndex> {
    let Some((u, v)) = g.edge_endpoints(first) else {
        return vec![];
    };
    let mut path = vec![first];
    if u == v {
        return path;
    }
    let mut came_from: HashMap<NodeIndex, EdgeIndex> = HashMap::new();
    let mut queue = VecDeque::from([v]);
    let mut visited = HashSet::from_iter([v]);
    while let Some(n) = queue.pop_front() {
        if n == u {
            break;
        }
        for e in g.edges(n) {
            let t = e.target();
            if scc.contains(&t) && visited.insert(t) {
                came_from.insert(t, e.id());
                queue.push_back(t);
            }
        }
    }
    let mut back = Vec::new();
    let mut n = u;
    while n != v {
        let Some(&e) = came_from.get(&n) else {
            return vec![];
        };
        back.push(e);
        n = g.edge_endpoints(e).map_or(v, |(s, _)| s);
    }
    back.reverse();
    path.extend(back);
    path
}

/// `a -> b -> c -> a` for the cycle `edges`.
fn describe(g: &DiGraph<usize, Written>, stages: &[Expanded], edges: &[EdgeIndex]) -> String {
    let mut names = Vec::new();
    for (i, e) in edges.iter().enumerate() {
        if let Some((s, t)) = g.edge_endpoints(*e) {
            if i == 0 {
                names.push(stages[g[s]].decl.name.node.as_str());
            }
            names.push(stages[g[t]].decl.name.node.as_str());
        }
    }
    names.join(" -> ")
}

/// The nontrivial strongly connected components of `g`, in a stable order
/// (by their smallest stage index), each as a set.
fn components(g: &DiGraph<usize, Written>) -> Vec<HashSet<NodeIndex>> {
    let mut sccs: Vec<Vec<NodeIndex>> = tarjan_scc(g)
        .into_iter()
        .filter(|scc| scc.len() > 1 || g.find_edge(scc[0], scc[0]).is_some())
        .collect();
    for scc in &mut sccs {
        scc.sort();
    }
    sccs.sort();
    sccs.into_iter()
        .map(|scc| scc.into_iter().collect())
        .collect()
}

/// Reports every `needs` cycle with its whole path (`a -> b -> a`: a needs b,
/// b needs a). Returns the stages on a cycle.
pub(crate) fn needs_cycles(
    stages: &[Expanded],
    edges: &Edges,
    diags: &mut Vec<Diagnostic>,
) -> HashSet<usize> {
    let mut g: DiGraph<usize, Written> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..stages.len()).map(|i| g.add_node(i)).collect();
    for (i, needs) in edges.needs.iter().enumerate() {
        for &(need, pos) in needs {
            let at = stages[i].needs[pos];
            g.add_edge(
                nodes[i],
                nodes[need],
                Written {
                    src: at.src,
                    span: at.node.span,
                    route: false,
                },
            );
        }
    }
    let mut on_cycle = HashSet::new();
    for scc in components(&g) {
        on_cycle.extend(scc.iter().map(|n| g[*n]));
        let Some(&start) = scc.iter().min() else {
            continue;
        };
        let Some(first) = g
            .edges(start)
            .find(|e| scc.contains(&e.target()))
            .map(|e| e.id())
        else {
            continue;
        };
        let cycle = cycle_through(&g, &scc, first);
        let path = describe(&g, stages, &cycle);
        let w = g[first];
        let need = g.edge_endpoints(first).map_or(start, |(_, t)| t);
        let (a, b) = (
            &stages[g[start]].decl.name.node,
            &stages[g[need]].decl.name.node,
        );
        let mut d = Diagnostic::new(Code::NeedsCycle, w.src, w.span, format!("stages wait for each other through `needs`: {path}"))
            .label(format!("`{a}` needs `{b}`"))
            .help("remove one `needs` of the cycle; to loop, route back (`on failure -> …`) through a stage with `max N`");
        for e in &cycle[1..] {
            let w2 = g[*e];
            if w2.src == w.src {
                d = d.secondary(w2.span, "needs");
            }
        }
        diags.push(d);
    }
    on_cycle
}

/// Reports every cycle of routes (with `needs` edges, in execution order)
/// that passes through no stage with `max N`.
pub(crate) fn route_cycles(stages: &[Expanded], edges: &Edges, diags: &mut Vec<Diagnostic>) {
    let mut g: DiGraph<usize, Written> = DiGraph::new();
    // Stages with `max` bound every cycle through them: leave them out, and
    // any cycle left is unbounded. Finally stages take no part in loops.
    let nodes: Vec<Option<NodeIndex>> = stages
        .iter()
        .enumerate()
        .map(|(i, s)| (s.max.is_none() && !s.decl.finally).then(|| g.add_node(i)))
        .collect();
    for (i, routes) in edges.routes.iter().enumerate() {
        for &(to, pos) in routes {
            if let (Some(a), Some(b)) = (nodes[i], nodes[to]) {
                let at = stages[i].routes[pos];
                g.add_edge(
                    a,
                    b,
                    Written {
                        src: at.src,
                        span: at.node.span,
                        route: true,
                    },
                );
            }
        }
    }
    for (i, needs) in edges.needs.iter().enumerate() {
        for &(need, pos) in needs {
            if let (Some(a), Some(b)) = (nodes[need], nodes[i]) {
                let at = stages[i].needs[pos];
                g.add_edge(
                    a,
                    b,
                    Written {
                        src: at.src,
                        span: at.node.span,
                        route: false,
                    },
                );
            }
        }
    }
    for scc in components(&g) {
        let mut inner: Vec<EdgeIndex> = g
            .edge_indices()
            .filter(|e| {
                g[*e].route
                    && g.edge_endpoints(*e)
                        .is_some_and(|(a, b)| scc.contains(&a) && scc.contains(&b))
            })
            .collect();
        inner.sort_by_key(|e| (g[*e].src, g[*e].span.start));
        // Prefer a route written in the flow's file for the primary label.
        let flow_src = stages.first().map(|s| s.src);
        let Some(&first) = inner
            .iter()
            .find(|e| Some(g[**e].src) == flow_src)
            .or(inner.first())
        else {
            continue;
        };
        let cycle = cycle_through(&g, &scc, first);
        let path = describe(&g, stages, &cycle);
        let w = g[first];
        let mut names: Vec<&str> = scc
            .iter()
            .map(|n| stages[g[*n]].decl.name.node.as_str())
            .collect();
        names.sort();
        let suggestion = cycle
            .first()
            .and_then(|e| g.edge_endpoints(*e))
            .map_or("", |(_, t)| stages[g[t]].decl.name.node.as_str());
        let mut d = Diagnostic::new(
            Code::UnboundedLoop,
            w.src,
            w.span,
            format!("routes loop with no `max` on the way: {path}"),
        )
        .label("this route closes the loop")
        .help(format!(
            "add `max N` to one stage of the loop (e.g. `max 3` on `{suggestion}`)"
        ));
        for e in &cycle[1..] {
            let w2 = g[*e];
            if w2.src == w.src {
                d = d.secondary(w2.span, if w2.route { "route" } else { "needs" });
            }
        }
        diags.push(d);
    }
}
