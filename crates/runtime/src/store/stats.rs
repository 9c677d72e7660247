//! `flow stats`: what the finished runs of a project say, over time: how
//! often a flow succeeds, how often it ends with a named outcome (an
//! escalation, such as `blocked`), how many visits its loops take, how long
//! its stages last (p50/p95), and what its agents cost. Read from each
//! run's journal ([`RunHistory`]); runs still going are counted apart.
//! The flow's `alert`s (those its newest run recorded) are evaluated on
//! these numbers and reported, crossed or not.

use serde::Serialize;
use std::collections::BTreeMap;

use super::history::RunHistory;
use crate::usage::Usage;
use flow_dsl::ir::{Alert, AlertMetric};

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
    /// The flow's `alert`s (as its newest run recorded them), each with
    /// its value and whether it is crossed; empty when it declares none.
    pub alerts: Vec<AlertReport>,
}

/// One `alert` of the flow, evaluated.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertReport {
    /// The alert as written (`p95(build) > 10m`).
    pub alert: String,
    /// The unit of `value` and `threshold`: `share` (0 to 1), `usd`,
    /// `visits` or `ms`.
    pub unit: &'static str,
    /// The metric's value over the counted runs; `None` when nothing
    /// measured it (no finished run, no cost reported, the stage never ran).
    pub value: Option<f64>,
    /// The threshold, in `unit`.
    pub threshold: f64,
    /// True when `value OP threshold` holds.
    pub crossed: bool,
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
    // The newest run says which alerts the flow declares now.
    let newest = runs.iter().max_by(|a, b| a.started.cmp(&b.started));
    if let Some(newest) = newest {
        stats.alerts = newest.alerts.iter().map(|a| evaluate(a, &stats)).collect();
    }
    stats
}

/// The value of `alert`'s metric in `stats`, and whether it is crossed.
fn evaluate(alert: &Alert, stats: &FlowStats) -> AlertReport {
    let counted = stats.runs > 0;
    let stage = alert.stage.as_deref().and_then(|s| stats.stages.get(s));
    let (unit, value) = match alert.metric {
        AlertMetric::SuccessRate => ("share", counted.then_some(stats.success_rate)),
        AlertMetric::EscalationRate => ("share", counted.then_some(stats.escalation_rate)),
        AlertMetric::CostUsd => ("usd", stats.cost_per_run_usd),
        AlertMetric::Visits => ("visits", stage.map(|s| s.mean_visits)),
        AlertMetric::P50 => ("ms", stage.map(|s| s.p50_ms as f64)),
        AlertMetric::P95 => ("ms", stage.map(|s| s.p95_ms as f64)),
    };
    AlertReport {
        alert: alert.text.clone(),
        unit,
        value,
        threshold: alert.threshold,
        crossed: value.is_some_and(|v| alert.op.holds(v, alert.threshold)),
    }
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

    use flow_dsl::ir::AlertOp;

    fn alert(metric: AlertMetric, stage: Option<&str>, op: AlertOp, threshold: f64) -> Alert {
        Alert {
            metric,
            stage: stage.map(str::to_string),
            op,
            threshold,
            text: format!("{} {op:?} {threshold}", metric.name()),
        }
    }

    /// An alert is crossed exactly when its comparison holds on the value;
    /// an unmeasured value (no finished run, no cost, a stage that never
    /// ran) is never crossed, however the comparison reads.
    #[test]
    fn alerts_are_crossed_by_their_value_and_never_without_one() {
        let mut stats = FlowStats {
            runs: 4,
            success_rate: 0.5,
            escalation_rate: 0.25,
            ..FlowStats::default()
        };
        stats.stages.insert(
            "build".into(),
            StageStats {
                runs: 4,
                mean_visits: 2.5,
                p50_ms: 1_000,
                p95_ms: 700_000,
                ..StageStats::default()
            },
        );
        let crossed = |a: Alert| evaluate(&a, &stats).crossed;
        assert!(crossed(alert(
            AlertMetric::SuccessRate,
            None,
            AlertOp::Lt,
            0.8
        )));
        assert!(!crossed(alert(
            AlertMetric::SuccessRate,
            None,
            AlertOp::Lt,
            0.5
        )));
        assert!(crossed(alert(
            AlertMetric::SuccessRate,
            None,
            AlertOp::Le,
            0.5
        )));
        assert!(crossed(alert(
            AlertMetric::EscalationRate,
            None,
            AlertOp::Gt,
            0.2
        )));
        assert!(crossed(alert(
            AlertMetric::P95,
            Some("build"),
            AlertOp::Gt,
            600_000.0
        )));
        assert!(!crossed(alert(
            AlertMetric::P50,
            Some("build"),
            AlertOp::Gt,
            600_000.0
        )));
        assert!(crossed(alert(
            AlertMetric::Visits,
            Some("build"),
            AlertOp::Ge,
            2.5
        )));
        // Not measured: no cost reported, a stage that never ran.
        let cost = evaluate(&alert(AlertMetric::CostUsd, None, AlertOp::Ge, 0.0), &stats);
        assert_eq!((cost.value, cost.crossed), (None, false));
        assert!(!crossed(alert(
            AlertMetric::P95,
            Some("deploy"),
            AlertOp::Ge,
            0.0
        )));
        stats.cost_per_run_usd = Some(6.0);
        let cost = alert(AlertMetric::CostUsd, None, AlertOp::Gt, 5.0);
        assert!(evaluate(&cost, &stats).crossed);
        // No finished run: the rates are not 0, they are unknown.
        let none = FlowStats::default();
        let r = evaluate(
            &alert(AlertMetric::SuccessRate, None, AlertOp::Lt, 0.8),
            &none,
        );
        assert_eq!((r.value, r.crossed), (None, false));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=20).collect();
        assert_eq!(percentile(&v, 50), 10);
        assert_eq!(percentile(&v, 95), 19);
        assert_eq!(percentile(&[7], 95), 7);
        assert_eq!(percentile(&[], 50), 0);
    }
}
