//! Issue 7 §3: `approval` stages wait for a person's decision without a
//! job slot; `flow approve` (`run::approval::approve`) gives it.

mod common;

use common::Flow;
use flow_dsl::ir::{Pipeline, RouteOn};
use flow_runtime::journal::read_journal;
use flow_runtime::run::approval::approve;
use flow_runtime::run::{run, RunOptions, RunReport};
use flow_runtime::scheduler::StageOutcome;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn opts(base: &Path, jobs: usize) -> RunOptions {
    RunOptions {
        base_dir: base.to_path_buf(),
        quiet: true,
        jobs,
        supervisor: common::supervisor().into(),
        ..RunOptions::default()
    }
}

/// The folder of the only run under `base`, once its journal shows that
/// `stage` waits for a decision.
async fn waiting_run(base: &Path, stage: &str) -> PathBuf {
    journal_shows(base, "approval_requested", stage).await
}

/// The folder of the only run under `base`, once its journal has `event`
/// for `stage`.
async fn journal_shows(base: &Path, event: &str, stage: &str) -> PathBuf {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < until, "no {event} of `{stage}`");
        if let Some(root) = std::fs::read_dir(base.join("runs"))
            .ok()
            .and_then(|mut d| d.next())
            .and_then(Result::ok)
            .map(|e| e.path())
        {
            let journal = read_journal(&root.join("journal.jsonl")).unwrap_or_default();
            if journal
                .iter()
                .any(|e| e["event"] == event && e["stage"] == stage)
            {
                return root;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn gate_flow() -> Pipeline {
    Flow::new("f")
        .stage("plan", "echo plan > PLAN.md", |s| {
            s.outputs(&["PLAN.md"]);
        })
        .stage("review", "", |s| {
            s.needs(&["plan"])
                .approval(&["approved", "rejected"])
                .timeout(Duration::from_secs(30))
                .route(RouteOn::Status("approved".into()), "build")
                .route(RouteOn::Status("rejected".into()), "notify")
                .route(RouteOn::Timeout, "escalate");
        })
        .stage(
            "build",
            "cat message.md > got.txt; cat decision.json",
            |s| {
                s.needs(&["review"]).outputs(&["got.txt"]);
            },
        )
        .stage("notify", "true", |_| {})
        .stage("escalate", "true", |_| {})
        // Starts with the wait and runs beside it although --jobs is 1:
        // the wait holds no slot.
        .stage("side", "sleep 0.5", |s| {
            s.needs(&["plan"]);
        })
        .build()
}

#[tokio::test]
async fn a_decision_is_routed_and_its_message_reaches_the_next_stage() {
    let tmp = tempfile::tempdir().unwrap();
    let p = gate_flow();
    let base = tmp.path().to_path_buf();
    let running = tokio::spawn({
        let (p, base) = (p.clone(), base.clone());
        async move { run(&p, opts(&base, 1)).await.expect("run carried out") }
    });
    let root = waiting_run(&base, "review").await;
    // `side` starts while `review` waits (else this waits forever).
    journal_shows(&base, "stage_started", "side").await;
    // A word the stage does not know is refused, and nothing is written.
    let err = approve(&root, "review", "maybe", None, None).unwrap_err();
    assert!(err.contains("one of approved, rejected"), "{err}");
    let err = approve(&root, "side", "approved", None, None).unwrap_err();
    assert!(err.contains("has not asked for a decision"), "{err}");
    let done = approve(
        &root,
        "review",
        "approved",
        Some("ship it, small tests"),
        Some("ana"),
    )
    .unwrap();
    assert!(done.live);
    let r: RunReport = running.await.unwrap();
    assert_eq!(r.exit_code(), 0, "{}", r.summary_table());
    let outcome = |s: &str| {
        r.stages
            .iter()
            .find(|x| x.name == s)
            .unwrap()
            .outcome
            .clone()
    };
    assert_eq!(outcome("build"), Some(StageOutcome::Succeeded));
    assert_eq!(outcome("side"), Some(StageOutcome::Succeeded));
    assert!(matches!(outcome("notify"), Some(StageOutcome::Skipped(_))));
    assert!(
        r.summary_table().contains("decided \"approved\""),
        "{}",
        r.summary_table()
    );
    let got = std::fs::read_to_string(r.run_dir.join("artifacts/build/got.txt")).unwrap();
    assert_eq!(got, "ship it, small tests\n");
    let decision: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(r.run_dir.join("artifacts/review/decision.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(decision["decision"], "approved");
    assert_eq!(decision["by"], "ana");
    // Read once: kept under its attempt's name; the stage asks no more.
    assert!(r.run_dir.join("approvals/review.1.1.json").exists());
    assert!(!r.run_dir.join("approvals/review.json").exists());
    let err = approve(&r.run_dir, "review", "approved", None, None).unwrap_err();
    assert!(err.contains("the run is over"), "{err}");
    // The wait did not hold the only job slot: `side` started during it.
    let journal = read_journal(&r.run_dir.join("journal.jsonl")).unwrap();
    let at = |event: &str, stage: &str| {
        journal
            .iter()
            .position(|e| e["event"] == event && e["stage"] == stage)
            .unwrap()
    };
    assert!(at("stage_started", "side") < at("stage_finished", "review"));
}

#[tokio::test]
async fn no_decision_in_time_is_a_timeout_and_a_bad_file_is_set_aside() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .stage("review", "", |s| {
            s.approval(&["approved"])
                .timeout(Duration::from_millis(1500))
                .route(RouteOn::Status("approved".into()), "build")
                .route(RouteOn::Timeout, "escalate");
        })
        .stage("build", "true", |_| {})
        .stage("escalate", "true", |_| {})
        .build();
    let base = tmp.path().to_path_buf();
    let running = tokio::spawn({
        let (p, base) = (p.clone(), base.clone());
        async move { run(&p, opts(&base, 2)).await.expect("run carried out") }
    });
    let root = waiting_run(&base, "review").await;
    // A FIFO where the decision file goes is set aside, never opened (it
    // would block the wait for good); then a hand-written file with an
    // unknown decision is not taken either.
    std::fs::create_dir_all(root.join("approvals")).unwrap();
    nix::unistd::mkfifo(
        &root.join("approvals/review.json"),
        nix::sys::stat::Mode::S_IRWXU,
    )
    .unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    while root.join("approvals/review.json").exists() {
        assert!(Instant::now() < until, "the FIFO was never set aside");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    std::fs::write(root.join("approvals/review.json"), r#"{"decision":"yes"}"#).unwrap();
    let r = running.await.unwrap();
    let outcome = |s: &str| {
        r.stages
            .iter()
            .find(|x| x.name == s)
            .unwrap()
            .outcome
            .clone()
    };
    assert_eq!(
        outcome("escalate"),
        Some(StageOutcome::Succeeded),
        "{}",
        r.summary_table()
    );
    assert!(matches!(outcome("build"), Some(StageOutcome::Skipped(_))));
    assert!(r.run_dir.join("approvals/review.json.rejected").exists());
    let journal = read_journal(&r.run_dir.join("journal.jsonl")).unwrap();
    assert!(journal.iter().any(|e| e["event"] == "warning"
        && e["message"]
            .as_str()
            .unwrap()
            .contains("`yes` is not one of")));
}

/// Every file of a run, recursively (for a canary grep).
fn every_file(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            every_file(&path, into);
        } else {
            into.push(path);
        }
    }
}

/// `flow approve` cannot know the run's secrets; a reviewer who quotes
/// one must not leave it in any file of the run (the decision file is
/// kept masked once read, the rejected one too).
#[tokio::test]
async fn a_secret_quoted_in_a_decision_is_in_no_file_of_the_run() {
    const CANARY: &str = "canary-5f3e9a1c-secret";
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .secret("TOKEN")
        .stage("review", "", |s| {
            s.approval(&["approved"])
                .timeout(Duration::from_secs(30))
                .route(RouteOn::Status("approved".into()), "build");
        })
        .stage("build", "cat message.md", |s| {
            s.needs(&["review"]);
        })
        .build();
    let base = tmp.path().to_path_buf();
    let running = tokio::spawn({
        let (p, base) = (p.clone(), base.clone());
        async move {
            let opts = RunOptions {
                secrets: vec![("TOKEN".into(), CANARY.into())],
                ..opts(&base, 2)
            };
            run(&p, opts).await.expect("run carried out")
        }
    });
    let root = waiting_run(&base, "review").await;
    // First a decision the stage does not know (set aside), then a good one.
    std::fs::create_dir_all(root.join("approvals")).unwrap();
    std::fs::write(
        root.join("approvals/review.json"),
        format!(r#"{{"decision":"nope","message":"the token is {CANARY}"}}"#),
    )
    .unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    while !root.join("approvals/review.json.rejected").exists() {
        assert!(
            Instant::now() < until,
            "the bad decision was never set aside"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let message = format!("use {CANARY} to deploy");
    approve(&root, "review", "approved", Some(&message), Some("ana")).unwrap();
    let r = running.await.unwrap();
    assert_eq!(r.exit_code(), 0, "{}", r.summary_table());
    let mut files = Vec::new();
    every_file(&r.run_dir, &mut files);
    assert!(files
        .iter()
        .any(|f| f.ends_with("approvals/review.1.1.json")));
    for file in files {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(
            !text.contains(CANARY),
            "{} holds the secret: {text}",
            file.display()
        );
    }
}
