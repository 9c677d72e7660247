//! Builtin stages (`run builtin "NAME"`) run through the `engine` API:
//! they run as attempts under the driver (folder, env, outputs, journal,
//! timeout, cancel, retries, resume), and the engine's handle streams the
//! journal's events and cancels.

mod common;

use flow_runtime::builtin::{BuiltinContext, BuiltinError, BuiltinOutcome, BuiltinResult};
use flow_runtime::engine::{Engine, EngineError};
use flow_runtime::journal::{JournalEvent, RunEvent};
use flow_runtime::run::{Resumed, RunError};
use flow_runtime::scheduler::RunOutcome;
use futures_util::StreamExt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

/// The pipeline of `body` (a flow's items), checked by the real checker.
fn pipeline(body: &str) -> flow_dsl::ir::Pipeline {
    let text = format!("flow t {{\n  timeout 1m\n{body}\n}}\n");
    let checked = flow_dsl::check_source("t.flow", &text, std::path::Path::new("."));
    assert!(!checked.has_errors(), "{:#?}", checked.diagnostics);
    checked.pipeline.expect("a runnable flow")
}

fn engine(body: &str, base: &std::path::Path) -> Engine {
    Engine::new(pipeline(body))
        .base_dir(base)
        .supervisor(common::supervisor())
}

/// The events of a run, in order.
async fn run_to_end(
    engine: &Engine,
    params: Vec<(String, flow_dsl::ir::Value)>,
) -> (Vec<JournalEvent>, flow_runtime::run::RunReport) {
    let mut run = engine.start(params).expect("starts");
    let events: Vec<RunEvent> = run.events().collect().await;
    let report = run.finish().await.expect("runs");
    (events.into_iter().map(|e| e.event).collect(), report)
}

async fn fetch(ctx: BuiltinContext) -> BuiltinResult {
    let issue = ctx.var("ISSUE").ok_or("no ISSUE")?.to_string();
    ctx.log(&format!("fetching issue {issue} in stage {}", ctx.stage()));
    std::fs::write(ctx.dir().join("issue.txt"), format!("issue {issue}\n"))?;
    Ok(BuiltinOutcome::success())
}

#[tokio::test]
async fn a_builtin_runs_as_an_attempt_and_its_outputs_reach_the_next_stage() {
    let base = tempfile::tempdir().unwrap();
    let engine = engine(
        "  param issue: int\n  stage fetch { run builtin \"fetch\"  outputs issue.txt }\n  stage show { needs fetch  run \"grep -q 'issue 42' issue.txt\" }",
        base.path(),
    )
    .builtin("fetch", fetch);
    let (events, report) = run_to_end(
        &engine,
        vec![("issue".into(), flow_dsl::ir::Value::Int(42))],
    )
    .await;
    assert_eq!(report.outcome, RunOutcome::Succeeded, "{events:#?}");
    let started = events
        .iter()
        .find_map(|e| match e {
            JournalEvent::StageStarted { stage, pid, .. } if stage == "fetch" => Some(*pid),
            _ => None,
        })
        .expect("fetch started");
    assert_eq!(started, None, "a builtin has no process");
    assert!(matches!(
        events.first(),
        Some(JournalEvent::RunStarted { .. })
    ));
    assert!(
        matches!(events.last(), Some(JournalEvent::RunFinished { outcome, .. }) if outcome == "succeeded")
    );
    // Its log line is the attempt's log, as a script's output would be.
    let log = std::fs::read_to_string(report.run_dir.join("logs/fetch.1.1.log")).unwrap();
    assert_eq!(log, "fetching issue 42 in stage fetch\n");
    // The stream is the journal, line for line.
    let lines = flow_runtime::journal::read_journal(&report.run_dir.join("journal.jsonl")).unwrap();
    assert_eq!(lines.len(), events.len());
}

#[tokio::test]
async fn a_builtin_error_is_a_failed_attempt_with_its_exit_code_retried_then_routed() {
    let base = tempfile::tempdir().unwrap();
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let engine = engine(
        "  stage push { run builtin \"push\"  retry 1  on exit 3 -> notify }\n  stage notify { run \"true\" }",
        base.path(),
    )
    .builtin("push", move |_ctx: BuiltinContext| {
        let calls = counted.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<BuiltinOutcome, _>(BuiltinError::new("rejected").with_exit_code(3))
        }
    });
    let (events, report) = run_to_end(&engine, Vec::new()).await;
    // `on exit 3` names the code: a routed (handled) failure, not retried.
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(report.outcome, RunOutcome::Succeeded, "{events:#?}");
    assert!(events.iter().any(|e| matches!(e, JournalEvent::StageFinished { stage, exit_code: Some(3), .. } if stage == "push")));
    assert!(events.iter().any(
        |e| matches!(e, JournalEvent::Routed { from, to, .. } if from == "push" && to == "notify")
    ));
    let log = std::fs::read_to_string(report.run_dir.join("logs/push.1.1.log")).unwrap();
    assert_eq!(log, "error: rejected\n");

    // Any other failure is retried.
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let engine = engine_with_retry(base.path()).builtin("flaky", move |_ctx: BuiltinContext| {
        let calls = counted.clone();
        async move {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(BuiltinError::new("try again"))
            } else {
                Ok(BuiltinOutcome::success())
            }
        }
    });
    let (_, report) = run_to_end(&engine, Vec::new()).await;
    assert_eq!(report.outcome, RunOutcome::Succeeded);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

fn engine_with_retry(base: &std::path::Path) -> Engine {
    engine("  stage flaky { run builtin \"flaky\"  retry 2 }", base)
}

/// Sets its flag when dropped: the builtin's future was dropped.
struct Dropped(Arc<AtomicBool>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_builtin_past_its_timeout_is_told_to_stop_then_dropped_after_grace() {
    let base = tempfile::tempdir().unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    let engine = engine(
        "  stage hang { run builtin \"hang\"  timeout 300ms  grace 200ms }",
        base.path(),
    )
    .builtin("hang", move |_ctx: BuiltinContext| {
        let guard = Dropped(flag.clone());
        async move {
            let _guard = guard;
            // Ignores its cancel signal: only dropping stops it.
            std::future::pending::<BuiltinResult>().await
        }
    });
    let (events, report) = run_to_end(&engine, Vec::new()).await;
    assert!(
        matches!(report.outcome, RunOutcome::Failed(_)),
        "{:?}",
        report.outcome
    );
    assert!(events.iter().any(|e| matches!(
        e,
        JournalEvent::StageFinished {
            timed_out: true,
            ..
        }
    )));
    assert!(dropped.load(Ordering::SeqCst), "the future is dropped");
}

#[tokio::test]
async fn cancel_stops_a_builtin_that_listens_and_the_run_ends_cancelled() {
    let base = tempfile::tempdir().unwrap();
    let engine = engine("  stage wait { run builtin \"wait\" }", base.path()).builtin(
        "wait",
        |ctx: BuiltinContext| async move {
            ctx.cancelled().await;
            ctx.log("stopping");
            Ok(BuiltinOutcome::success())
        },
    );
    let mut run = engine.start(Vec::new()).unwrap();
    let mut events = run.events();
    // Cancel once the builtin runs.
    while let Some(line) = events.next().await {
        if matches!(line.event, JournalEvent::StageStarted { .. }) {
            run.cancel();
            break;
        }
    }
    let rest: Vec<RunEvent> = events.collect().await;
    let report = run.finish().await.unwrap();
    assert_eq!(report.outcome, RunOutcome::Cancelled);
    assert!(rest.iter().any(
        |e| matches!(&e.event, JournalEvent::CancelRequested { signal } if signal == "cancel")
    ));
    assert!(rest.iter().any(|e| matches!(
        &e.event,
        JournalEvent::StageFinished {
            cancelled: true,
            ..
        }
    )));
    // It returned within grace: what it wrote is in its log.
    let log = std::fs::read_to_string(report.run_dir.join("logs/wait.1.1.log")).unwrap();
    assert_eq!(log, "stopping\n");
}

#[tokio::test]
async fn a_pipeline_with_unregistered_builtins_is_refused_before_anything_is_made() {
    let base = tempfile::tempdir().unwrap();
    let engine = engine(
        "  stage a { run builtin \"one\" }\n  stage b { run builtin \"two\" }\n  stage c { run builtin \"one\" }",
        base.path(),
    )
    .builtin("two", fetch);
    assert_eq!(engine.missing_builtins(), ["one"]);
    let run = engine.start(Vec::new()).unwrap();
    match run.finish().await {
        Err(EngineError::Run(RunError::MissingBuiltins(names))) => assert_eq!(names, ["one"]),
        other => panic!("expected MissingBuiltins, got {other:?}"),
    }
    assert!(!base.path().join("runs").exists(), "no run was made");
}

#[tokio::test]
async fn a_panicking_builtin_fails_its_stage_not_the_run_loop() {
    let base = tempfile::tempdir().unwrap();
    let engine = engine("  stage boom { run builtin \"boom\" }", base.path()).builtin(
        "boom",
        |_ctx: BuiltinContext| async move {
            if true {
                panic!("kaboom");
            }
            Ok(BuiltinOutcome::success())
        },
    );
    let (events, report) = run_to_end(&engine, Vec::new()).await;
    assert!(matches!(report.outcome, RunOutcome::Failed(_)));
    assert!(events.iter().any(|e| matches!(e, JournalEvent::StageFinished { error: Some(m), .. } if m.contains("builtin panicked: kaboom"))), "{events:#?}");
}

#[tokio::test]
async fn a_status_object_of_a_builtin_routes_like_a_scripts() {
    let base = tempfile::tempdir().unwrap();
    let engine = engine(
        "  stage review { run builtin \"review\"  status json  on status \"BLOCKED\" -> notify }\n  stage notify { run \"true\" }",
        base.path(),
    )
    .builtin("review", |_ctx: BuiltinContext| async move {
        let status = serde_json::json!({"status": "BLOCKED", "why": "needs a human"});
        Ok(BuiltinOutcome::with_status(status.as_object().cloned().unwrap_or_default()))
    });
    let (events, report) = run_to_end(&engine, Vec::new()).await;
    assert_eq!(report.outcome, RunOutcome::Succeeded, "{events:#?}");
    assert!(events
        .iter()
        .any(|e| matches!(e, JournalEvent::Routed { on, .. } if on.contains("BLOCKED"))));
    let result =
        std::fs::read_to_string(report.run_dir.join("artifacts/review/result.json")).unwrap();
    assert!(result.contains("needs a human"), "{result}");
}

#[tokio::test]
async fn a_failed_run_with_a_builtin_resumes_and_redoes_only_what_failed() {
    let base = tempfile::tempdir().unwrap();
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let engine = engine(
        "  stage first { run \"true\" }\n  stage flaky { needs first  run builtin \"flaky\" }",
        base.path(),
    )
    .builtin("flaky", move |_ctx: BuiltinContext| {
        let calls = counted.clone();
        async move {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(BuiltinError::new("down"))
            } else {
                Ok(BuiltinOutcome::success())
            }
        }
    });
    let (_, report) = run_to_end(&engine, Vec::new()).await;
    assert!(matches!(report.outcome, RunOutcome::Failed(_)));
    // No sources were recorded: only a forced resume goes on.
    let mut resumed = engine.resume(&report.run_id, true).unwrap();
    let events: Vec<RunEvent> = resumed.events().collect().await;
    match resumed.finish().await.unwrap() {
        Resumed::Ran(again) => assert_eq!(again.outcome, RunOutcome::Succeeded),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        events.first().map(|e| &e.event),
        Some(JournalEvent::RunResumed { .. })
    ));
    // `first` succeeded before: not run again.
    assert!(!events
        .iter()
        .any(|e| matches!(&e.event, JournalEvent::StageStarted { stage, .. } if stage == "first")));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_builtin_sees_secrets_but_its_log_and_the_events_are_masked() {
    let base = tempfile::tempdir().unwrap();
    let canary = "canary-secret-1234";
    let engine = engine(
        "  secret TOKEN\n  stage leak { run builtin \"leak\"  status json }",
        base.path(),
    )
    .secret("TOKEN", canary)
    .builtin("leak", |ctx: BuiltinContext| async move {
        let token = ctx.var("TOKEN").unwrap_or_default().to_string();
        ctx.log(&format!("the token is {token}"));
        let status = serde_json::json!({"status": format!("saw {token}")});
        Ok(BuiltinOutcome::with_status(
            status.as_object().cloned().unwrap_or_default(),
        ))
    });
    let mut run = engine.start(Vec::new()).unwrap();
    let events: Vec<RunEvent> = run.events().collect().await;
    let report = run.finish().await.unwrap();
    assert_eq!(report.outcome, RunOutcome::Succeeded);
    let log = std::fs::read_to_string(report.run_dir.join("logs/leak.1.1.log")).unwrap();
    assert_eq!(log, "the token is ***\n");
    let seen = format!("{events:?}");
    assert!(!seen.contains(canary), "{seen}");
    assert!(seen.contains("saw ***"), "{seen}");
}

#[tokio::test]
async fn an_engine_refuses_to_start_the_program_as_its_own_unready_supervisor() {
    // This test binary never calls `supervise_if_asked`.
    let engine = Engine::new(pipeline("  stage a { run \"true\" }"));
    assert!(matches!(
        engine.start(Vec::new()),
        Err(EngineError::NoSupervisor)
    ));
}
