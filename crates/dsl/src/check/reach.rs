//! Which stages can run at all (F0006), and route targets that look meant
//! for the normal path (F0103).
//!
//! A stage no route points to runs when all its needs have run (an entry
//! stage has none). A route target runs only when a stage that can run
//! routes to it. Finally stages always run. This is a fixpoint from "nothing
//! runs", so stages that only activate each other are found unreachable.

use super::expand::Expanded;
use super::graph::Edges;
use crate::ast::RouteOn;
use crate::diagnostic::{Code, Diagnostic};
use foldhash::HashSet;

/// `can_run[i]` for every stage.
pub(crate) fn can_run(stages: &[Expanded], edges: &Edges) -> Vec<bool> {
    let targets = edges.route_targets();
    let routers = edges.routers();
    let mut can: Vec<bool> = stages.iter().map(|s| s.decl.finally).collect();
    loop {
        let mut changed = false;
        for i in 0..stages.len() {
            if can[i] {
                continue;
            }
            let now = if targets[i] {
                routers[i].iter().any(|&r| can[r])
            } else {
                edges.needs[i].iter().all(|&(n, _)| can[n])
            };
            if now {
                can[i] = true;
                changed = true;
            }
        }
        if !changed {
            return can;
        }
    }
}

/// Reports every stage that can never run (`can`: [`can_run`]). Stages on a `needs` cycle (and
/// those waiting on them) are skipped: the cycle is reported already.
pub(crate) fn unreachable(
    stages: &[Expanded],
    edges: &Edges,
    can: &[bool],
    on_needs_cycle: &HashSet<usize>,
    diags: &mut Vec<Diagnostic>,
) {
    // Stages blocked by a needs cycle, transitively through needs.
    let mut blocked = on_needs_cycle.clone();
    loop {
        let before = blocked.len();
        for (i, needs) in edges.needs.iter().enumerate() {
            if needs.iter().any(|(n, _)| blocked.contains(n)) {
                blocked.insert(i);
            }
        }
        if blocked.len() == before {
            break;
        }
    }
    let targets = edges.route_targets();
    for (i, stage) in stages.iter().enumerate() {
        if can[i] || blocked.contains(&i) {
            continue;
        }
        let name = &stage.decl.name;
        let d = if targets[i] {
            Diagnostic::new(Code::Unreachable, stage.src, name.span, format!(
                "stage `{}` can never run: only routes start it, and no stage that can run routes to it",
                name.node
            ))
            .label("never started")
            .help(format!("route to it from a stage that runs (`on success -> {}`), or remove it", name.node))
        } else {
            let Some(&(need, pos)) = edges.needs[i].iter().find(|(n, _)| !can[*n]) else {
                continue;
            };
            let at = stage.needs[pos];
            let mut d = Diagnostic::new(
                Code::Unreachable,
                stage.src,
                name.span,
                format!(
                    "stage `{}` can never run: it needs `{}`, which can never run",
                    name.node, stages[need].decl.name.node
                ),
            )
            .label("never started")
            .help(format!(
                "make `{}` reachable, or remove this need",
                stages[need].decl.name.node
            ));
            if at.src == stage.src {
                d = d.secondary(at.node.span, "this need never runs");
            }
            d
        };
        diags.push(d);
    }
}

/// Successor lists along needs (need -> dependent) and routes.
fn successors(edges: &Edges) -> Vec<Vec<usize>> {
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); edges.needs.len()];
    for (stage, needs) in edges.needs.iter().enumerate() {
        for &(need, _) in needs {
            next[need].push(stage);
        }
    }
    for (stage, routes) in edges.routes.iter().enumerate() {
        next[stage].extend(routes.iter().map(|&(to, _)| to));
    }
    next
}

/// Whether some stage of `goals` is reachable from `from` (itself
/// included) along `next`; the search stops at the first one found.
/// `seen` is scratch space (all false on entry and on return).
fn reaches_any(from: usize, goals: &[usize], next: &[Vec<usize>], seen: &mut [bool]) -> bool {
    let mut visited = Vec::new();
    let mut stack = vec![from];
    let mut found = false;
    while let Some(s) = stack.pop() {
        if std::mem::replace(&mut seen[s], true) {
            continue;
        }
        visited.push(s);
        if goals.contains(&s) {
            found = true;
            break;
        }
        stack.extend(next[s].iter().copied());
    }
    for s in visited {
        seen[s] = false;
    }
    found
}

/// F0103: a route target that some stage routes to `on success`, with a
/// need after which none of the stages routing to it can come — it reads
/// like a step of the normal path (after that need) but runs only when
/// routed to, so it will not start when the need succeeds.
///
/// Deliberately narrow, to stay quiet on the usual shapes: a handler such
/// as `notify_blocked { needs setup }` reached from stages after `setup`, a
/// loop target one of whose needs routes to it, or `self_verify { needs
/// implement }` routed to from `unit_test` (which comes after `implement`).
pub(crate) fn route_targets_off_path(
    stages: &[Expanded],
    edges: &Edges,
    diags: &mut Vec<Diagnostic>,
) {
    let targets = edges.route_targets();
    let mut next: Option<Vec<Vec<usize>>> = None;
    let mut seen = vec![false; stages.len()];
    let all_routers = edges.routers();
    for (i, stage) in stages.iter().enumerate() {
        if !targets[i] || edges.needs[i].is_empty() {
            continue;
        }
        let routers = &all_routers[i];
        let success_router = routers.iter().find_map(|&from| {
            edges.routes[from].iter().find_map(|&(to, pos)| {
                let route = stages[from].routes[pos];
                (to == i && route.node.on.node == RouteOn::Success).then_some((from, route))
            })
        });
        let Some((from, route)) = success_router else {
            continue;
        };
        let next = next.get_or_insert_with(|| successors(edges));
        let off_path = edges.needs[i]
            .iter()
            .find(|&&(need, _)| !reaches_any(need, routers, next, &mut seen));
        let Some(&(need, pos)) = off_path else {
            continue;
        };
        let need_name = &stages[need].decl.name.node;
        let name = &stage.decl.name.node;
        let mut d = Diagnostic::new(Code::RouteTargetNotOnPath, stage.src, stage.decl.name.span, format!(
            "stage `{name}` is started only by routes, not when `{need_name}` succeeds"
        ))
        .label("a route target")
        .help(format!(
            "add `on success -> {name}` to `{need_name}` if it should run after it, or remove the route from `{}`",
            stages[from].decl.name.node
        ));
        let at = stage.needs[pos];
        if at.src == stage.src {
            d = d.secondary(at.node.span, format!("`{need_name}` does not route here"));
        }
        if route.src == stage.src {
            d = d.secondary(route.node.span, "routes here on success");
        }
        diags.push(d);
    }
}
