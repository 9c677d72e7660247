//! The liveness rule: which stages could still be (re-)activated.
//!
//! A stage is *live* when it is reachable, along `needs` edges (need →
//! dependent) and route edges (source → target), from an *active* stage:
//! one that is running, waiting for a timer, or queued by a route. A need
//! that is live is not final: its dependent waits. When deciding about a
//! waiting stage `W`, paths through `W` itself do not count (`W` cannot act
//! before it is decided), which is what lets `fix_tests needs unit_test` +
//! `fix_tests on success -> unit_test` start when `unit_test` fails.

use flow_dsl::ir::{Pipeline, RouteTarget};

/// Successor lists of the ordinary (non-`finally`) stages.
#[derive(Debug, Clone)]
pub(super) struct Edges {
    /// `dependents[a]`: the stages that need `a`.
    pub dependents: Vec<Vec<usize>>,
    /// `successors[a]`: dependents and route targets of `a`.
    successors: Vec<Vec<usize>>,
    /// Some stage has a route or is a route target: liveness matters.
    pub dynamic: bool,
}

impl Edges {
    /// Builds the edges from the stages' `needs` and `routes` (the pipeline's
    /// graph is not consulted, so a hand-built pipeline only needs its
    /// stages right). Out-of-range ids are ignored.
    pub(super) fn new(pipeline: &Pipeline) -> Self {
        let n = pipeline.stages.len();
        let mut dependents = vec![Vec::new(); n];
        let mut successors = vec![Vec::new(); n];
        let mut dynamic = false;
        for stage in &pipeline.stages {
            let b = stage.id.0;
            if b >= n {
                continue;
            }
            dynamic |= stage.route_target || !stage.routes.is_empty();
            for need in &stage.needs {
                if need.0 < n {
                    dependents[need.0].push(b);
                    if !stage.finally && !pipeline.stages[need.0].finally {
                        successors[need.0].push(b);
                    }
                }
            }
            if stage.finally {
                continue;
            }
            for route in &stage.routes {
                if let RouteTarget::Stage(t) = route.target {
                    if t.0 < n && t.0 != b && !pipeline.stages[t.0].finally {
                        successors[b].push(t.0);
                    }
                }
            }
        }
        Edges {
            dependents,
            successors,
            dynamic,
        }
    }

    /// Marks in `seen` every stage reachable from `from` (itself included),
    /// never entering `skip`. Already-marked stages are not walked again,
    /// so growing one set from many sources costs O(stages + edges) overall.
    pub(super) fn mark_from(&self, from: usize, skip: Option<usize>, seen: &mut [bool]) {
        if Some(from) == skip || seen[from] {
            return;
        }
        seen[from] = true;
        let mut stack = vec![from];
        while let Some(a) = stack.pop() {
            for &b in &self.successors[a] {
                if Some(b) != skip && !seen[b] {
                    seen[b] = true;
                    stack.push(b);
                }
            }
        }
    }

    /// The stages reachable from `sources`, avoiding `skip`.
    pub(super) fn reach(
        &self,
        sources: impl IntoIterator<Item = usize>,
        skip: Option<usize>,
    ) -> Vec<bool> {
        let mut seen = vec![false; self.successors.len()];
        for s in sources {
            self.mark_from(s, skip, &mut seen);
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(successors: Vec<Vec<usize>>) -> Edges {
        Edges {
            dependents: vec![],
            successors,
            dynamic: true,
        }
    }

    #[test]
    fn reach_follows_edges_from_every_source() {
        let e = edges(vec![vec![1], vec![2], vec![], vec![0]]);
        assert_eq!(e.reach([1], None), vec![false, true, true, false]);
        assert_eq!(e.reach([3], None), vec![true, true, true, true]);
    }

    #[test]
    fn reach_never_passes_through_the_excluded_stage() {
        // 0 -> 1 -> 2 -> 0 (a loop) ; deciding about 1: 0 is not reachable
        // from 2 except through 1.
        let e = edges(vec![vec![1], vec![2], vec![0]]);
        assert_eq!(e.reach([1], Some(1)), vec![false, false, false]);
        assert_eq!(e.reach([2], Some(1)), vec![true, false, true]);
    }
}
