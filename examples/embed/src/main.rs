//! `flow-embed [ISSUE] [RUNS_DIR]`: runs `flows/triage.flow`, checked when
//! this program was compiled, with its `fetch-issue` stage implemented
//! below in Rust, and prints the run's events as they happen.
//!
//! The walk-through is docs/embedding.md.

use flow_runtime::builtin::{Builtin, BuiltinContext, BuiltinError, BuiltinOutcome, BuiltinResult};
use flow_runtime::journal::JournalEvent;
use futures_util::StreamExt;
use std::process::ExitCode;

/// The flow, its typed `Params`, its `Builtins` and its engine.
mod triage {
    flow_macros::include_flow!("flows/triage.flow");
}

/// The builtin stage `fetch`: writes the issue's text into the attempt's
/// folder, where the stage's `outputs` pick it up for `count`.
async fn fetch_issue(ctx: BuiltinContext) -> BuiltinResult {
    let issue: i64 = ctx
        .var("ISSUE")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| BuiltinError::new("ISSUE is not a number"))?;
    let text = match issue {
        7 => "The save button does nothing when the title is empty",
        404 => {
            return Err(BuiltinError::new(format!("issue {issue} does not exist")).with_exit_code(4))
        }
        _ => "A generic issue",
    };
    ctx.log(&format!(
        "fetched issue {issue} (attempt {})",
        ctx.attempt()
    ));
    tokio::fs::write(ctx.dir().join("issue.txt"), text).await?;
    Ok(BuiltinOutcome::success())
}

fn main() -> ExitCode {
    // The run's supervisor process is this program started again.
    flow_runtime::engine::supervise_if_asked();
    let mut args = std::env::args().skip(1);
    let issue = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
    let runs_dir = args.next().unwrap_or_else(|| ".flow".into());
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(issue, runs_dir)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(issue: i64, runs_dir: String) -> Result<ExitCode, flow_runtime::engine::EngineError> {
    let builtins = triage::Builtins {
        fetch_issue: Builtin::new(fetch_issue),
    };
    let engine = triage::engine(builtins)?.base_dir(runs_dir);
    let mut run = engine.start(triage::Params::new(issue).values())?;
    let mut events = run.events();
    while let Some(line) = events.next().await {
        println!("{}", describe(&line.event));
    }
    let report = run.finish().await?;
    println!("run {} {}", report.run_id, report.outcome_text());
    Ok(ExitCode::from(
        u8::try_from(report.exit_code()).unwrap_or(1),
    ))
}

/// One line per event worth showing.
fn describe(event: &JournalEvent) -> String {
    match event {
        JournalEvent::RunStarted { flow, run_id, .. } => format!("started {flow} as {run_id}"),
        JournalEvent::StageStarted { stage, attempt, .. } => {
            format!("{stage}: attempt {attempt} started")
        }
        JournalEvent::StageFinished {
            stage, exit_code, ..
        } => {
            format!(
                "{stage}: finished (exit {})",
                exit_code.map_or("-".into(), |c| c.to_string())
            )
        }
        JournalEvent::StageSettled { stage, outcome, .. } => format!("{stage}: {outcome}"),
        JournalEvent::RunFinished { outcome, .. } => format!("run {outcome}"),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}
