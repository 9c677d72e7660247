//! F0102: a route target that needs a stage which may not have run when a
//! route starts it (the need's files are then absent, as the language
//! decides for a route target whose need did not run).
//!
//! The model is the scheduler's. A stage that no route points to ("plain")
//! starts once all its needs succeeded; a route target starts when a stage
//! routes to it, and then waits only for needs that can still run. So a
//! route target `T` may start without its need `N` when some stage `X` that
//! routes to `T` can start in a run where `N` has not run — computed as the
//! least fixpoint `free`: a plain stage is free when all its needs are free
//! and none is `N`; a route target is free when a free stage other than `N`
//! routes to it.
//!
//! Not reported (deliberately, to stay precise):
//! - a need that runs in every run that goes on: a plain stage whose needs
//!   are all such stages, none with a route that could divert it (an entry
//!   stage, say); the route target waits for it;
//! - `when` conditions: they depend on data, not on the graph;
//! - stages that can never run (F0006 says so already).
//!
//! A route target written to cope with an absent need (a handler that
//! reads whatever the stages before it left) silences this warning with
//! `# flow: allow(F0102)` on the line before the `needs`.

use super::expand::Expanded;
use super::graph::Edges;
use crate::ast::RouteOn;
use crate::diagnostic::{Code, Diagnostic};
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The graph in the shape this analysis walks.
struct Graph<'e> {
    edges: &'e Edges,
    /// `targets[i]`: some other stage routes to `i`.
    targets: Vec<bool>,
    /// `routers[t]`: (stage routing to `t`, position of the route), no self-routes.
    routers: Vec<Vec<(usize, usize)>>,
    /// `dependents[n]`: stages that need `n`.
    dependents: Vec<Vec<usize>>,
    /// Stages that can run at all.
    can: Vec<bool>,
    /// Position of each stage's strongly connected component (of needs and
    /// routes) in a topological order: an edge never goes to a lower rank,
    /// so nothing of lower rank than `n` comes after `n`.
    rank: Vec<usize>,
    /// The way to each stage with no need excluded: route hops from a plain
    /// stage (`usize::MAX`: cannot run) and the last route taken.
    hops: Vec<usize>,
    via: Vec<Option<(usize, usize)>>,
}

impl<'e> Graph<'e> {
    fn new(stages: &[Expanded], edges: &'e Edges, can: Vec<bool>) -> Self {
        let n = stages.len();
        let mut routers: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
        for (from, routes) in edges.routes.iter().enumerate() {
            for &(to, pos) in routes {
                if to != from {
                    routers[to].push((from, pos));
                }
            }
        }
        let mut dependents = vec![Vec::new(); n];
        for (stage, needs) in edges.needs.iter().enumerate() {
            for &(need, _) in needs {
                dependents[need].push(stage);
            }
        }
        let mut g = Graph {
            edges,
            targets: edges.route_targets(),
            routers,
            dependents,
            can,
            rank: Vec::new(),
            hops: Vec::new(),
            via: Vec::new(),
        };
        g.rank = g.ranks();
        let all: Vec<usize> = (0..n).collect();
        let (hops, via) = g.shortest(&all, |s| g.can[s], None);
        g.hops = hops;
        g.via = via;
        g
    }

    /// Stages reached from `i` by one `needs` or route edge.
    fn successors(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.dependents[i]
            .iter()
            .copied()
            .chain(self.edges.routes[i].iter().map(|&(to, _)| to))
    }

    /// Stages with an edge to `i`: its needs and the stages routing to it.
    fn predecessors(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.edges.needs[i]
            .iter()
            .map(|&(n, _)| n)
            .chain(self.routers[i].iter().map(|&(r, _)| r))
    }

    fn ranks(&self) -> Vec<usize> {
        let n = self.can.len();
        let mut graph: DiGraph<(), ()> = DiGraph::with_capacity(n, n);
        let nodes: Vec<_> = (0..n).map(|_| graph.add_node(())).collect();
        for i in 0..n {
            for s in self.successors(i) {
                graph.add_edge(nodes[i], nodes[s], ());
            }
        }
        // tarjan_scc gives the components in reverse topological order.
        let sccs = tarjan_scc(&graph);
        let mut rank = vec![0; n];
        for (k, scc) in sccs.iter().enumerate() {
            for node in scc {
                rank[node.index()] = sccs.len() - 1 - k;
            }
        }
        rank
    }

    /// Fewest route hops from a plain free stage to each stage of `within`
    /// (Dijkstra: hops of stages outside `within` come from `self.hops`),
    /// never through `need`.
    fn shortest(
        &self,
        within: &[usize],
        free: impl Fn(usize) -> bool,
        need: Option<usize>,
    ) -> (Vec<usize>, Vec<Option<(usize, usize)>>) {
        let index: HashMap<usize, usize> =
            within.iter().enumerate().map(|(k, &s)| (s, k)).collect();
        let mut hops = vec![usize::MAX; within.len()];
        let mut via = vec![None; within.len()];
        let mut heap = BinaryHeap::new();
        for (k, &s) in within.iter().enumerate() {
            if !free(s) {
                continue;
            }
            if !self.targets[s] {
                hops[k] = 0;
            } else {
                for &(r, pos) in &self.routers[s] {
                    let outside = !index.contains_key(&r) && Some(r) != need && free(r);
                    if outside && self.hops.get(r).is_some_and(|&h| h != usize::MAX) {
                        let h = self.hops[r] + 1;
                        if h < hops[k] {
                            hops[k] = h;
                            via[k] = Some((r, pos));
                        }
                    }
                }
            }
            if hops[k] != usize::MAX {
                heap.push(Reverse((hops[k], s)));
            }
        }
        while let Some(Reverse((h, s))) = heap.pop() {
            if h > hops[index[&s]] || Some(s) == need {
                continue;
            }
            for &(t, pos) in &self.edges.routes[s] {
                let Some(&k) = index.get(&t) else { continue };
                if t != s && self.targets[t] && free(t) && h + 1 < hops[k] {
                    hops[k] = h + 1;
                    via[k] = Some((s, pos));
                    heap.push(Reverse((h + 1, t)));
                }
            }
        }
        (hops, via)
    }
}

/// `sure[i]`: plain stage `i` runs in every run that goes on (its needs are
/// all sure and none has a route that could take a failure elsewhere; a
/// failure nothing routes stops the run). A counting worklist, linear.
fn sure(stages: &[Expanded], g: &Graph) -> Vec<bool> {
    let n = stages.len();
    let diverts = |i: usize| {
        stages[i]
            .routes
            .iter()
            .any(|r| r.node.on.node != RouteOn::Success)
    };
    let eligible = |i: usize| g.can[i] && !g.targets[i] && !stages[i].decl.finally;
    let mut missing: Vec<usize> = g.edges.needs.iter().map(Vec::len).collect();
    let mut sure = vec![false; n];
    let mut queue: Vec<usize> = (0..n).filter(|&i| eligible(i) && missing[i] == 0).collect();
    for &i in &queue {
        sure[i] = true;
    }
    while let Some(i) = queue.pop() {
        if diverts(i) {
            continue;
        }
        for &d in &g.dependents[i] {
            missing[d] -= 1;
            if missing[d] == 0 && eligible(d) && !sure[d] {
                sure[d] = true;
                queue.push(d);
            }
        }
    }
    sure
}

/// The fixpoint for one need `need`: which stages may start in a run where
/// `need` has not run, and for each the route that starts it that way with
/// the fewest route hops from a plain stage. Computed only on the stages
/// that come after `need` and before one of the routers in question; any
/// other stage does not depend on `need`, so the answers without an
/// excluded need ([`Graph::hops`]) hold for it.
/// One stage's answer: free, route hops, last route (router, position).
type Local = (bool, usize, Option<(usize, usize)>);

struct Free<'g, 'e> {
    g: &'g Graph<'e>,
    /// Local answers: stage → (free, hops, via).
    local: HashMap<usize, Local>,
}

impl Free<'_, '_> {
    fn free(&self, s: usize) -> bool {
        self.local.get(&s).map_or(self.g.can[s], |l| l.0)
    }
    fn hops(&self, s: usize) -> usize {
        self.local.get(&s).map_or(self.g.hops[s], |l| l.1)
    }
    fn via(&self, s: usize) -> Option<(usize, usize)> {
        self.local.get(&s).map_or(self.g.via[s], |l| l.2)
    }
}

fn free_without<'g, 'e>(need: usize, routers: &[usize], g: &'g Graph<'e>) -> Free<'g, 'e> {
    // Backwards from the routers, not past `need` nor below its rank.
    let mut region: HashSet<usize> = HashSet::new();
    let mut stack: Vec<usize> = routers.to_vec();
    while let Some(s) = stack.pop() {
        if !region.insert(s) || s == need {
            continue;
        }
        stack.extend(
            g.predecessors(s)
                .filter(|&p| p == need || g.rank[p] >= g.rank[need]),
        );
    }
    // Of those, the ones after `need`.
    let mut after: HashSet<usize> = HashSet::new();
    let mut stack: Vec<usize> = g.successors(need).filter(|s| region.contains(s)).collect();
    while let Some(s) = stack.pop() {
        if s != need && after.insert(s) {
            stack.extend(g.successors(s).filter(|t| region.contains(t)));
        }
    }
    // Least fixpoint on `after`; outside it a stage is free when it can run.
    let outside_free = |p: usize| !after.contains(&p) && p != need && g.can[p];
    let mut free: HashSet<usize> = HashSet::new();
    let mut met: HashMap<usize, usize> = HashMap::new();
    let mut work = Vec::new();
    for &s in &after {
        if !g.can[s] {
            continue;
        }
        let now = if g.targets[s] {
            g.routers[s].iter().any(|&(r, _)| outside_free(r))
        } else {
            let m = g.edges.needs[s]
                .iter()
                .filter(|&&(n, _)| outside_free(n))
                .count();
            met.insert(s, m);
            m == g.edges.needs[s].len()
        };
        if now && free.insert(s) {
            work.push(s);
        }
    }
    while let Some(i) = work.pop() {
        for &d in &g.dependents[i] {
            if after.contains(&d) && !g.targets[d] && g.can[d] && !free.contains(&d) {
                let m = met.entry(d).or_insert(0);
                *m += 1;
                if *m == g.edges.needs[d].len() {
                    free.insert(d);
                    work.push(d);
                }
            }
        }
        for &(t, _) in &g.edges.routes[i] {
            if t != i && after.contains(&t) && g.can[t] && free.insert(t) {
                work.push(t);
            }
        }
    }
    let within: Vec<usize> = after.iter().copied().collect();
    let is_free = |s: usize| {
        if after.contains(&s) {
            free.contains(&s)
        } else {
            s != need && g.can[s]
        }
    };
    let (hops, via) = g.shortest(&within, is_free, Some(need));
    let local = within
        .iter()
        .enumerate()
        .map(|(k, &s)| (s, (free.contains(&s), hops[k], via[k])))
        .collect();
    Free { g, local }
}

/// `on exit 2, 3` as written (for paths in messages).
fn outcome_words(on: &RouteOn) -> String {
    match on {
        RouteOn::Success => "on success".into(),
        RouteOn::Failure => "on failure".into(),
        RouteOn::Timeout => "on timeout".into(),
        RouteOn::Budget => "on budget".into(),
        RouteOn::Exit(codes) => {
            let codes: Vec<String> = codes.iter().map(|c| c.node.to_string()).collect();
            format!("on exit {}", codes.join(", "))
        }
        RouteOn::Status(s) => format!("on status {:?}", s.node),
    }
}

/// `a --on failure--> b --on success--> t`: the route hops that start `t`
/// from a plain stage, the last hop being `last` (router, route position).
fn describe_path(stages: &[Expanded], free: &Free, t: usize, last: (usize, usize)) -> String {
    let mut hops = vec![(last, t)];
    let mut at = last.0;
    // `via` follows strictly decreasing hop counts, so this ends.
    while let Some(prev) = free.via(at) {
        hops.push((prev, at));
        at = prev.0;
    }
    hops.reverse();
    let mut text = stages[at].decl.name.node.clone();
    for ((from, pos), to) in hops {
        let on = outcome_words(&stages[from].routes[pos].node.on.node);
        text.push_str(&format!(" --{on}--> {}", stages[to].decl.name.node));
    }
    text
}

/// Reports, for every route target and each of its needs, one shortest
/// route path by which it can start before that need ran.
pub(crate) fn check(
    stages: &[Expanded],
    edges: &Edges,
    can: Vec<bool>,
    diags: &mut Vec<Diagnostic>,
) {
    let g = Graph::new(stages, edges, can);
    let sure = sure(stages, &g);
    // (need, target, position in the target's needs) still in question.
    let mut open: Vec<(usize, usize, usize)> = Vec::new();
    for (t, stage) in stages.iter().enumerate() {
        if !g.targets[t] || stage.decl.finally || !g.can[t] {
            continue;
        }
        for &(need, pos) in &edges.needs[t] {
            if need == t || !g.can[need] || sure[need] {
                continue;
            }
            // Quick answer: every router is the need, or a plain stage
            // that needs it directly, so the need ran.
            let covered = g.routers[t].iter().all(|&(x, _)| {
                x == need
                    || !g.can[x]
                    || (!g.targets[x] && edges.needs[x].iter().any(|&(m, _)| m == need))
            });
            if !covered {
                open.push((need, t, pos));
            }
        }
    }
    open.sort_unstable();
    let mut k = 0;
    while k < open.len() {
        let need = open[k].0;
        let end = open[k..]
            .iter()
            .position(|o| o.0 != need)
            .map_or(open.len(), |p| k + p);
        let mut routers: Vec<usize> = open[k..end]
            .iter()
            .flat_map(|&(_, t, _)| g.routers[t].iter().map(|&(x, _)| x))
            .filter(|&x| x != need)
            .collect();
        routers.sort_unstable();
        routers.dedup();
        let free = free_without(need, &routers, &g);
        while k < end {
            let (_, t, pos) = open[k];
            k += 1;
            let best = g.routers[t]
                .iter()
                .filter(|&&(x, _)| x != need && free.free(x) && free.hops(x) != usize::MAX)
                .min_by_key(|&&(x, _)| (free.hops(x), x));
            let Some(&last) = best else { continue };
            diags.push(report(stages, &free, need, t, pos, last));
        }
    }
}

fn report(
    stages: &[Expanded],
    free: &Free,
    need: usize,
    t: usize,
    pos: usize,
    last: (usize, usize),
) -> Diagnostic {
    let stage = &stages[t];
    let (name, need_name) = (&stage.decl.name.node, &stages[need].decl.name.node);
    let path = describe_path(stages, free, t, last);
    let at = stage.needs[pos];
    let mut d = Diagnostic::new(
        Code::NeedMayNotRun,
        at.src,
        at.node.span,
        format!("stage `{name}` needs `{need_name}`, which may not have run: `{name}` can start via {path} before `{need_name}` ran"),
    )
    .label(format!("may not have run when `{name}` starts"))
    .help(format!(
        "`{need_name}`'s files are then absent: if `{name}`'s script copes with that, write `# flow: allow(F0102)` on the line before; otherwise route to `{name}` only after `{need_name}` ran, or drop the need"
    ));
    let (router, route_pos) = last;
    let route = stages[router].routes[route_pos];
    if route.src == at.src {
        d = d.secondary(
            route.node.span,
            format!("starts `{name}` before `{need_name}` ran"),
        );
    }
    d
}
