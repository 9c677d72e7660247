//! `flow show RUN [--json]`: one run from its journal: each stage's
//! outcome, attempts and visits (exit code or status, duration), artifacts
//! and log paths.

use super::history::{span, Base, Out};
use flow_runtime::store::{RunHistory, StageHistory};

/// Arguments of `flow show`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A run id, a unique prefix of one, or `last`.
    pub run: String,
    /// The run as one JSON object (see docs/cli.md for the shape).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub base: Base,
}

/// Shows the run. Exit 0, or 2 when RUN names no run or its journal
/// cannot be read.
pub fn run(args: &Args) -> u8 {
    let root = match args.base.resolve(&args.run) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let history = match RunHistory::read(&root) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: reading {}: {e}", root.display());
            return crate::EXIT_USAGE;
        }
    };
    let mut out = Out::new();
    if args.json {
        let text =
            serde_json::to_string(&history).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        out.line(&text);
        return 0;
    }
    for line in render(&history) {
        if !out.line(&line) {
            break;
        }
    }
    0
}

/// The human report, line by line.
fn render(h: &RunHistory) -> Vec<String> {
    let mut lines = Vec::new();
    let state = match (&h.outcome, h.duration_ms) {
        (Some(o), Some(ms)) => format!("{o} in {}", span(ms)),
        (Some(o), None) => o.clone(),
        (None, _) => h.state.to_string(),
    };
    lines.push(format!("run {}  flow {}  {state}", h.id, h.flow));
    if let Some(reason) = &h.reason {
        lines.push(format!("reason: {reason}"));
    }
    if let Some(started) = &h.started {
        let file = h
            .file
            .as_deref()
            .map(|f| format!("  file {f}"))
            .unwrap_or_default();
        lines.push(format!("started {started}{file}"));
    }
    if let Some(params) = h.params.as_object().filter(|p| !p.is_empty()) {
        let list: Vec<String> = params
            .iter()
            .map(|(k, v)| match v.as_str() {
                Some(s) => format!("{k}={s}"),
                None => format!("{k}={v}"),
            })
            .collect();
        lines.push(format!("params {}", list.join(" ")));
    }
    lines.push(format!("dir {}", h.dir.display()));
    if let Some(usage) = &h.usage {
        lines.push(format!("usage {}", usage.summary()));
    }
    if h.stages.is_empty() {
        lines.push("no stage ran".into());
    }
    for s in &h.stages {
        lines.push(String::new());
        stage(&mut lines, s);
    }
    lines
}

fn stage(lines: &mut Vec<String>, s: &StageHistory) {
    let how = if s.handled {
        " (handled by a route)"
    } else if s.allowed {
        " (allowed)"
    } else {
        ""
    };
    let count = |n: usize, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    lines.push(format!(
        "{}  {}{how}  {}  {}, {}",
        s.name,
        s.outcome,
        span(s.duration_ms),
        count(s.visits as usize, "visit"),
        count(s.attempts.len(), "attempt")
    ));
    if let Some(reason) = &s.reason {
        lines.push(format!("  reason: {reason}"));
    }
    for a in &s.attempts {
        let took = a.duration_ms.map_or_else(|| "-".into(), span);
        lines.push(format!(
            "  {}.{}  {:<14} {:>8}  {}",
            a.visit,
            a.attempt,
            a.result_text(),
            took,
            a.log.display()
        ));
        if let Some(usage) = &a.usage {
            lines.push(format!("       usage: {}", usage.summary()));
        }
    }
    if !s.artifacts.is_empty() {
        lines.push(format!("  artifacts: {}", s.artifacts.join(", ")));
    }
}
