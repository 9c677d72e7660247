//! `flow stats`: what the finished runs of a project say, over time: how
//! often a flow succeeds, how often it ends with a named outcome (an
//! escalation, such as `blocked`), how many visits its loops take, how long
//! its stages last (p50/p95), and what its agents cost. Read from each
//! run's journal ([`RunHistory`]); runs still going are counted apart.

use serde::Serialize;
use std::collections::BTreeMap;

use super::history::RunHistory;
use crate::usage::Usage;

/// Outcome words that are not an `ends run` name.
const PLAIN: &[&str] = &["succeeded", "failed", "skipped", "timed_out", "cancelled"];

/// The statistics of one flow's runs.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FlowStats {
    /// The flow.
    pub flow: String,
    /// Runs counted (finished).
    pub runs: usize,
    /// Runs not finished (running, pending, interrupted), not counted.
    pub unfinished: usize,
    /// Finished runs by outcome word.
    pub outcomes: BTreeMap<String, usize>,
    /// `succeeded` (or `skipped`) runs / finished runs, 0 to 1.
    pub success_rate: f64,
    /// Runs that ended with an `ends run` outcome (`blocked` …) / finished
    /// runs, 0 to 1: how often a person had to step in.
    pub escalation_rate: f64,
    /// Per stage, in name order.
    pub stages: BTreeMap<String, StageStats>,
    /// What the agents used, summed over the counted runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Mean cost of a counted run in US dollars, when any run reported one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_per_run_usd: Option<f64>,
}

/// One stage over the counted runs.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct StageStats {
    /// Runs in which it ran (at least one attempt).
    pub runs: usize,
    /// Of those, runs where its last visit succeeded.
    pub succeeded: usize,
    /// Mean visits per run where it ran (above 1: a loop came back).
    pub mean_visits: f64,
    /// Most visits in one run.
    pub max_visits: u32,
    /// Median of its time per run (the sum of its attempts), milliseconds.
    pub p50_ms: u64,
    /// 95th percentile of the same, milliseconds.
    pub p95_ms: u64,
}

/// Statistics of `runs` (any flows; each flow apart, in name order).
pub fn compute(runs: &[RunHistory]) -> Vec<FlowStats> {
    let mut by_flow: BTreeMap<&str, Vec<&RunHistory>> = BTreeMap::new();
    for r in runs {
        by_flow.entry(r.flow.as_str()).or_default().push(r);
    }
    by_flow
        .into_iter()
        .map(|(flow, runs)| flow_stats(flow, &runs))
        .collect()
}

fn flow_stats(flow: &str, runs: &[&RunHistory]) -> FlowStats {
    let finished: Vec<&&RunHistory> = runs.iter().filter(|r| r.outcome.is_some()).collect();
    let mut stats = FlowStats {
        flow: flow.to_string(),
        runs: finished.len(),
        unfinished: runs.len() - finished.len(),
        ..FlowStats::default()
    };
    let mut durations: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut visits: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for r in &finished {
        let outcome = r.outcome.clone().unwrap_or_default();
        *stats.outcomes.entry(outcome).or_default() += 1;
        for s in r.stages.iter().filter(|s| !s.attempts.is_empty()) {
            let entry = stats.stages.entry(s.name.clone()).or_default();
            entry.runs += 1;
            if s.outcome == "succeeded" {
                entry.succeeded += 1;
            }
            durations
                .entry(s.name.clone())
                .or_default()
                .push(s.duration_ms);
            visits.entry(s.name.clone()).or_default().push(s.visits);
        }
    }
    let share = |n: usize| {
        if stats.runs == 0 {
            0.0
        } else {
            n as f64 / stats.runs as f64
        }
    };
    let count = |words: &[&str]| -> usize {
        stats
            .outcomes
            .iter()
            .filter(|(o, _)| words.contains(&o.as_str()))
            .map(|(_, n)| n)
            .sum()
    };
    stats.success_rate = share(count(&["succeeded", "skipped"]));
    let named: usize = stats
        .outcomes
        .iter()
        .filter(|(o, _)| !PLAIN.contains(&o.as_str()))
        .map(|(_, n)| n)
        .sum();
    stats.escalation_rate = share(named);
    for (name, s) in &mut stats.stages {
        let mut ms = durations.remove(name).unwrap_or_default();
        ms.sort_unstable();
        s.p50_ms = percentile(&ms, 50);
        s.p95_ms = percentile(&ms, 95);
        let v = visits.remove(name).unwrap_or_default();
        s.max_visits = v.iter().copied().max().unwrap_or(0);
        s.mean_visits = if v.is_empty() {
            0.0
        } else {
            f64::from(v.iter().sum::<u32>()) / v.len() as f64
        };
    }
    stats.usage = Usage::total(finished.iter().filter_map(|r| r.usage.as_ref()));
    let costs: Vec<f64> = finished
        .iter()
        .filter_map(|r| r.usage.as_ref().and_then(|u| u.cost_usd))
        .collect();
    if !costs.is_empty() {
        stats.cost_per_run_usd = Some(costs.iter().sum::<f64>() / costs.len() as f64);
    }
    stats
}

/// The `p`th percentile of sorted `values` (nearest rank); 0 when empty.
fn percentile(sorted: &[u64], p: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=20).collect();
        assert_eq!(percentile(&v, 50), 10);
        assert_eq!(percentile(&v, 95), 19);
        assert_eq!(percentile(&[7], 95), 7);
        assert_eq!(percentile(&[], 50), 0);
    }
}
