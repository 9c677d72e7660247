//! `flow stats [--flow F] [--since D] [--json]`: success and escalation
//! rates, loop visits, stage durations (p50/p95) and agent cost of the
//! project's finished runs (computed by `flow_runtime::store::stats`).

use super::history::{now_ms, span, Base, Out};
use flow_runtime::store::stats::{self, AlertReport, FlowStats};
use flow_runtime::store::{RunDirStore, RunHistory};
use std::time::Duration;

/// Arguments of `flow stats`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only runs of this flow.
    #[arg(long)]
    pub flow: Option<String>,
    /// Only runs started within this long before now (`7d`, `12h`).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub since: Option<Duration>,
    /// One JSON array, an object per flow (see docs/cli.md).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub base: Base,
}

/// Prints the statistics. Exit 0, or 2 when the runs cannot be read.
pub fn run(args: &Args) -> u8 {
    let store = RunDirStore::new(args.base.dir());
    let entries = match store.list(args.flow.as_deref(), None) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "error: reading the runs in {}: {e}",
                args.base.dir().display()
            );
            return crate::EXIT_USAGE;
        }
    };
    let since = args
        .since
        .map(|d| now_ms() - i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let all = of_entries(&store, &entries, since);
    let mut out = Out::new();
    if args.json {
        let text = serde_json::to_string(&all).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        out.line(&text);
        return 0;
    }
    if all.is_empty() {
        eprintln!("no runs in {}", args.base.dir().join("runs").display());
        return 0;
    }
    for (i, s) in all.iter().enumerate() {
        if i > 0 && !out.line("") {
            return 0;
        }
        for line in render(s) {
            if !out.line(&line) {
                return 0;
            }
        }
    }
    0
}

/// The figures of `entries` (started at or after Unix ms `since`, when
/// given): the one selection `flow stats` and `GET /api/stats` share, so
/// the dashboard shows the same numbers. Runs without a readable journal
/// (queued ones) count for nothing.
pub fn of_entries(
    store: &RunDirStore,
    entries: &[flow_runtime::store::RunEntry],
    since: Option<i64>,
) -> Vec<FlowStats> {
    let histories: Vec<RunHistory> = entries
        .iter()
        .filter(|e| match (since, e.started_ms) {
            (Some(from), Some(at)) => at >= from,
            (Some(_), None) => false,
            (None, _) => true,
        })
        .filter_map(|e| RunHistory::read(&store.run_root(&e.id)).ok())
        .collect();
    stats::compute(&histories)
}

fn percent(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// One flow's statistics, line by line.
fn render(s: &FlowStats) -> Vec<String> {
    let outcomes: Vec<String> = s.outcomes.iter().map(|(o, n)| format!("{o} {n}")).collect();
    let mut lines = vec![format!(
        "flow {}  {} finished run{} ({}){}",
        s.flow,
        s.runs,
        if s.runs == 1 { "" } else { "s" },
        outcomes.join(", "),
        if s.unfinished > 0 {
            format!(", {} not finished", s.unfinished)
        } else {
            String::new()
        }
    )];
    lines.push(format!(
        "success rate {}  escalation rate {}",
        percent(s.success_rate),
        percent(s.escalation_rate)
    ));
    if let Some(usage) = &s.usage {
        let per_run = s
            .cost_per_run_usd
            .map(|c| format!("  (${c:.3} per run)"))
            .unwrap_or_default();
        lines.push(format!("usage {}{per_run}", usage.summary()));
    }
    let width = s.stages.keys().map(String::len).max().unwrap_or(5).max(5);
    lines.push(format!(
        "{:<width$}  {:>4}  {:>9}  {:>6}  {:>9}  {:>9}",
        "stage", "runs", "succeeded", "visits", "p50", "p95"
    ));
    for (name, st) in &s.stages {
        lines.push(format!(
            "{name:<width$}  {:>4}  {:>9}  {:>6}  {:>9}  {:>9}",
            st.runs,
            st.succeeded,
            format!("{:.1}/{}", st.mean_visits, st.max_visits),
            span(st.p50_ms),
            span(st.p95_ms),
        ));
    }
    if !s.alerts.is_empty() {
        let crossed = s.alerts.iter().filter(|a| a.crossed).count();
        lines.push(format!("alerts: {crossed} of {} crossed", s.alerts.len()));
        let width = s.alerts.iter().map(|a| a.alert.len()).max().unwrap_or(0);
        for a in &s.alerts {
            let mark = if a.crossed {
                "⚠ crossed"
            } else if a.value.is_some() {
                "✓ ok     "
            } else {
                "- no data"
            };
            let value = a
                .value
                .map(|v| value_text(a, v))
                .unwrap_or_else(|| "not measured".into());
            lines.push(format!("  {mark}  {:<width$}  (now {value})", a.alert));
        }
    }
    lines
}

/// An alert's value in its unit, as a person reads it.
fn value_text(a: &AlertReport, v: f64) -> String {
    match a.unit {
        "share" => percent(v),
        "usd" => format!("${v:.3}"),
        // Milliseconds of a stage's time: whole, never negative.
        "ms" => span(v.max(0.0) as u64),
        _ => format!("{v:.1}"),
    }
}
