//! `flow runs [--flow F] [--state S] [--json]`: the runs of the project,
//! oldest first, from the run index (`.flow/flow.db`, rebuilt from the
//! journals when missing).

use super::history::{now_ms, span, when, Base, Out};
use flow_runtime::store::{RunDirStore, RunEntry, RunState};

/// Arguments of `flow runs`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only runs of this flow.
    #[arg(long)]
    pub flow: Option<String>,
    /// Only runs in this state: queued, starting, pending, running, interrupted,
    /// finished, or an outcome (succeeded, failed, cancelled, …).
    #[arg(long)]
    pub state: Option<String>,
    /// One JSON array (see docs/cli.md for the shape).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub base: Base,
}

/// Lists the runs. Exit 0, or 2 when the index cannot be read.
pub fn run(args: &Args) -> u8 {
    let store = RunDirStore::new(args.base.dir());
    let runs = match store.list(args.flow.as_deref(), args.state.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "error: reading the runs in {}: {e}",
                args.base.dir().display()
            );
            return crate::EXIT_USAGE;
        }
    };
    let mut out = Out::new();
    if args.json {
        let all: Vec<serde_json::Value> = runs.iter().map(json).collect();
        out.line(&serde_json::Value::Array(all).to_string());
        return 0;
    }
    if runs.is_empty() {
        eprintln!("no runs in {}", args.base.dir().join("runs").display());
        return 0;
    }
    let flow_width = runs.iter().map(|r| r.flow.len()).max().unwrap_or(4).max(4);
    let state_width = runs
        .iter()
        .map(|r| r.state.word().len())
        .max()
        .unwrap_or(5)
        .max(5);
    let header = format!(
        "{:<24} {:<flow_width$} {:<state_width$} {:<19} DURATION",
        "RUN", "FLOW", "STATE", "STARTED"
    );
    if !out.line(header.trim_end()) {
        return 0;
    }
    for r in &runs {
        let line = format!(
            "{:<24} {:<flow_width$} {:<state_width$} {:<19} {}",
            r.id,
            r.flow,
            r.state.word(),
            when(r.started_ms),
            duration(r).map_or_else(|| "-".into(), span)
        );
        if !out.line(&line) {
            break;
        }
    }
    0
}

/// Finished: its wall time; alive: so far; interrupted: unknown.
fn duration(r: &RunEntry) -> Option<u64> {
    let start = r.started_ms?;
    let end = match (&r.state, r.finished_ms) {
        (RunState::Finished(_), end) => end?,
        (state, _) if state.is_alive() => now_ms(),
        _ => return None,
    };
    u64::try_from(end.saturating_sub(start)).ok()
}

fn json(r: &RunEntry) -> serde_json::Value {
    let (state, outcome) = match &r.state {
        RunState::Finished(o) => ("finished", Some(o.as_str())),
        s => (s.word(), None),
    };
    let time = |ms: Option<i64>| {
        ms.and_then(|ms| u64::try_from(ms).ok())
            .and_then(|ms| std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_millis(ms)))
            .map(flow_runtime::rundir::rfc3339)
    };
    serde_json::json!({
        "id": r.id,
        "flow": r.flow,
        "state": state,
        "outcome": outcome,
        "alive": r.state.is_alive(),
        "started": time(r.started_ms),
        "finished": time(r.finished_ms),
        "duration_ms": duration(r),
        "params": r.params,
        "key": r.key,
        "parent": r.parent,
        "description": r.description,
        "submitted": time(r.submitted_ms),
        "pid": r.pid,
        "file": r.file,
        "dir": r.root.display().to_string(),
    })
}
