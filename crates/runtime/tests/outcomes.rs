//! Honest outcomes (issue 6): what used to read as success or hang.
//! Each test names the defect it guards against.

mod common;

use common::Flow;
use flow_dsl::ir::{Pipeline, RouteOn};
use flow_runtime::journal::read_journal;
use flow_runtime::output::OutputSink;
use flow_runtime::run::{run, RunOptions, RunReport};
use flow_runtime::scheduler::{RunOutcome, StageOutcome};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Keeps output lines and notices apart.
#[derive(Default)]
struct Sink {
    lines: Mutex<String>,
    notices: Mutex<Vec<String>>,
}

impl Sink {
    fn notices(&self) -> Vec<String> {
        self.notices.lock().unwrap().clone()
    }
}

impl OutputSink for Sink {
    fn lines(&self, label: &str, chunk: &[u8]) {
        let text = flow_runtime::output::prefix_lines(label, chunk);
        self.lines.lock().unwrap().push_str(&text);
    }
    fn notice(&self, text: &str) {
        self.notices.lock().unwrap().push(text.to_string());
    }
}

async fn go_with(p: &Pipeline, base: &Path, jobs: usize) -> (RunReport, Arc<Sink>) {
    let sink = Arc::new(Sink::default());
    let opts = RunOptions {
        base_dir: base.to_path_buf(),
        jobs,
        sink: Some(sink.clone()),
        ..RunOptions::default()
    };
    let r = run(p, opts).await.expect("run carried out");
    (r, sink)
}

async fn go(p: &Pipeline, base: &Path) -> (RunReport, Arc<Sink>) {
    go_with(p, base, 4).await
}

fn outcome<'r>(r: &'r RunReport, stage: &str) -> &'r StageOutcome {
    let s = r.stages.iter().find(|s| s.name == stage).unwrap();
    s.outcome
        .as_ref()
        .unwrap_or_else(|| panic!("{stage} never settled"))
}

fn failed_reason(r: &RunReport, stage: &str) -> String {
    match outcome(r, stage) {
        StageOutcome::Failed { reason, .. } => reason.clone(),
        other => panic!("{stage}: {other:?}"),
    }
}

fn journal(r: &RunReport) -> Vec<serde_json::Value> {
    read_journal(&r.run_dir.join("journal.jsonl")).unwrap()
}

fn started(r: &RunReport) -> Vec<String> {
    journal(r)
        .iter()
        .filter(|e| e["event"] == "stage_started")
        .map(|e| e["stage"].as_str().unwrap().to_string())
        .collect()
}

/// A declared output that matched nothing was a journal-only warning: the
/// stage "succeeded" and its consumer ran without the file.
#[tokio::test]
async fn a_required_output_that_matches_nothing_fails_the_attempt() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .stage("a", "echo hi > other.txt", |s| {
            s.outputs(&["report.md"]);
        })
        .stage("b", "true", |s| {
            s.needs(&["a"]);
        })
        .build();
    let (r, _) = go(&p, tmp.path()).await;
    assert_eq!(r.outcome, RunOutcome::Failed("a".into()));
    assert_eq!(failed_reason(&r, "a"), "output `report.md` matched nothing");
    assert_eq!(started(&r), ["a"], "the consumer never starts");
}

#[tokio::test]
async fn an_optional_output_may_match_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .stage("a", "echo hi > got.txt", |s| {
            s.outputs(&["got.txt"]).optional_outputs(&["maybe.patch"]);
        })
        .build();
    let (r, sink) = go(&p, tmp.path()).await;
    assert_eq!(r.outcome, RunOutcome::Succeeded, "{:?}", sink.notices());
    assert!(r.run_dir.join("artifacts/a/got.txt").exists());
}

/// A failed attempt keeps its own reason (and its `exit N` route); the
/// missing output is only a warning then.
#[tokio::test]
async fn a_failed_attempt_keeps_its_reason_and_routes_despite_missing_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .stage("a", "exit 3", |s| {
            s.outputs(&["report.md"])
                .route(RouteOn::Exit(vec![3]), "fix");
        })
        .stage("fix", "true", |_| {})
        .build();
    let (r, sink) = go(&p, tmp.path()).await;
    assert_eq!(r.outcome, RunOutcome::Succeeded, "{:?}", sink.notices());
    assert_eq!(failed_reason(&r, "a"), "exit 3");
    assert!(
        sink.notices()
            .iter()
            .any(|n| n == "⚠ a: output `report.md` matched nothing"),
        "{:?}",
        sink.notices()
    );
}

/// A `when` that errored at run time skipped the stage and the run
/// "succeeded".
#[tokio::test]
async fn a_when_that_errors_fails_the_stage_and_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .stage("a", "true", |_| {})
        .stage("b", "touch \"$FLOW_WORKSPACE/b-ran\"", |s| {
            s.needs(&["a"]).when("stages.a.result.missing.field == 1");
        })
        .build();
    let (r, sink) = go(&p, tmp.path()).await;
    assert_eq!(r.outcome, RunOutcome::Failed("b".into()));
    assert_eq!(r.exit_code(), 1);
    let reason = failed_reason(&r, "b");
    assert!(reason.starts_with("`when` failed: "), "{reason}");
    assert!(!r.run_dir.join("workspace/b-ran").exists());
    assert!(
        sink.notices()
            .iter()
            .any(|n| n.starts_with("✗ b failed: `when` failed")),
        "{:?}",
        sink.notices()
    );
}

/// A stage `env` expression that errors fails the attempt unrun (verified:
/// it never read as an empty value).
#[tokio::test]
async fn an_env_expression_that_errors_fails_the_attempt() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .stage("a", "touch \"$FLOW_WORKSPACE/ran\"", |s| {
            s.env_expr("X", "stages.nope.result.x");
        })
        .build();
    let (r, _) = go(&p, tmp.path()).await;
    assert_eq!(r.outcome, RunOutcome::Failed("a".into()));
    assert!(failed_reason(&r, "a").starts_with("env X: "));
    assert!(!r.run_dir.join("workspace/ran").exists());
}

/// A `let` that errors fails the run before any stage (verified).
#[tokio::test]
async fn a_let_that_errors_fails_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .let_("x", "[1][5]")
        .stage("a", "touch \"$FLOW_WORKSPACE/ran\"", |_| {})
        .build();
    let opts = RunOptions {
        base_dir: tmp.path().to_path_buf(),
        quiet: true,
        ..RunOptions::default()
    };
    let err = run(&p, opts).await.unwrap_err();
    assert!(err.to_string().starts_with("let x: "), "{err}");
}

/// With `--jobs 1`, a stage waiting for a slot started after another
/// stage's unhandled failure. Whichever runs first fails; the other must
/// never start.
#[tokio::test]
async fn with_one_job_a_waiting_stage_never_starts_after_a_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .stage("a", "sleep 0.2; exit 1", |_| {})
        .stage("b", "sleep 0.2; exit 1", |_| {})
        .finally("f", "true", |_| {})
        .build();
    let (r, _) = go_with(&p, tmp.path(), 1).await;
    let started = started(&r);
    assert_eq!(started.len(), 2, "one of a/b, then f: {started:?}");
    assert_eq!(started[1], "f");
    let other = if started[0] == "a" { "b" } else { "a" };
    assert_eq!(
        outcome(&r, other),
        &StageOutcome::Skipped("run failed".into())
    );
}

/// A FIFO named like an output hung `flow` for good. It is skipped and
/// reported; the other outputs are kept; the run ends at once.
#[tokio::test]
async fn a_fifo_named_like_an_output_does_not_hang_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .timeout(Duration::from_secs(60))
        .stage("a", "mkfifo out.txt; echo ok > ok.txt", |s| {
            s.outputs(&["*.txt"]);
        })
        .stage("b", "cat ok.txt", |s| {
            s.needs(&["a"]);
        })
        .build();
    let t = Instant::now();
    let (r, sink) = tokio::time::timeout(Duration::from_secs(20), go(&p, tmp.path()))
        .await
        .expect("the run ends");
    assert!(t.elapsed() < Duration::from_secs(10));
    assert_eq!(r.outcome, RunOutcome::Succeeded, "{:?}", sink.notices());
    assert!(r.run_dir.join("artifacts/a/ok.txt").exists());
    assert!(std::fs::symlink_metadata(r.run_dir.join("artifacts/a/out.txt")).is_err());
    assert!(sink
        .notices()
        .contains(&"⚠ a: outputs skipped: `out.txt` is a FIFO, not a file".to_string()));
    let warned = journal(&r)
        .iter()
        .any(|e| e["event"] == "warning" && e["message"].as_str().unwrap().contains("FIFO"));
    assert!(warned, "journaled too");
}

/// One dangling-symlink output dropped all of a stage's outputs, and the
/// next stage read the files of an earlier failed attempt.
#[tokio::test]
async fn a_dangling_link_drops_nothing_and_no_earlier_attempt_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let script = r#"
        if [ "$FLOW_ATTEMPT" = 1 ]; then echo one > old.txt; exit 1; fi
        echo two > new.txt
        ln -s nowhere bad.txt
    "#;
    let p = Flow::new("f")
        .stage("a", script, |s| {
            s.outputs(&["*.txt"]).retry(1, Duration::ZERO);
        })
        .stage("b", "cat new.txt; test ! -e old.txt", |s| {
            s.needs(&["a"]);
        })
        .build();
    let (r, sink) = go(&p, tmp.path()).await;
    assert_eq!(r.outcome, RunOutcome::Succeeded, "{:?}", sink.notices());
    let arts = r.run_dir.join("artifacts/a");
    assert_eq!(
        std::fs::read_to_string(arts.join("new.txt")).unwrap(),
        "two\n"
    );
    assert!(!arts.join("old.txt").exists());
    assert!(sink
        .notices()
        .contains(&"⚠ a: outputs skipped: `bad.txt` is a dangling link".to_string()));
}

/// An artifact copy that hit ENOSPC left a truncated file and the stage
/// succeeded. Here the stage mounts a 1 MiB tmpfs over `artifacts/` (root
/// only; skipped elsewhere), so its 2 MiB output is copied, not linked.
#[tokio::test]
async fn a_full_disk_while_collecting_fails_the_attempt() {
    let tmp = tempfile::tempdir().unwrap();
    let script = r#"
        mount -t tmpfs -o size=1m tmpfs "$FLOW_RUN_DIR/artifacts" 2>/dev/null || exit 42
        head -c 2097152 /dev/zero > big.bin
    "#;
    let p = Flow::new("f")
        .stage("a", script, |s| {
            s.outputs(&["big.bin"]);
        })
        .build();
    let (r, _) = go(&p, tmp.path()).await;
    let arts = r.run_dir.join("artifacts");
    let listing = std::fs::read_dir(&arts).map(|d| d.count());
    let unmounted = matches!(
        outcome(&r, "a"),
        StageOutcome::Failed { reason, .. } if reason == "exit 42"
    );
    if unmounted {
        eprintln!("skipped: cannot mount a tmpfs here (not root?)");
        return;
    }
    let _ = std::process::Command::new("umount").arg(&arts).status();
    let reason = failed_reason(&r, "a");
    assert!(reason.contains("No space left on device"), "{reason}");
    assert_eq!(listing.unwrap(), 0, "no partial copy left");
    assert_eq!(r.outcome, RunOutcome::Failed("a".into()));
}

/// `retry … backoff 1e20` and a huge flow `timeout` panicked (exit 101, no
/// `run_finished`).
#[tokio::test]
async fn huge_backoff_and_flow_timeout_do_not_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .timeout(Duration::MAX)
        .stage("a", "[ \"$FLOW_ATTEMPT\" -ge 2 ] || exit 1", |s| {
            s.retry(3, Duration::ZERO).backoff(1e20);
        })
        .stage("b", "exit 1", |s| {
            s.retry(3, Duration::from_secs(3600)).backoff(1e300);
            s.needs(&["a"]);
        })
        .build();
    // b's second retry would wait "forever": cancel by the flow timeout is
    // not possible (it is huge), so stop watching after b's first retry.
    let sink = Arc::new(Sink::default());
    let opts = RunOptions {
        base_dir: tmp.path().to_path_buf(),
        sink: Some(sink.clone()),
        ..RunOptions::default()
    };
    let handle = tokio::spawn(async move { run(&p, opts).await });
    let t = Instant::now();
    while !sink.notices().iter().any(|n| n.starts_with("⏲ b")) {
        assert!(!handle.is_finished(), "{:?}", sink.notices());
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{:?}",
            sink.notices()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    handle.abort();
    let notices = sink.notices();
    assert!(
        notices.iter().any(|n| n.starts_with("✓ a succeeded")),
        "{notices:?}"
    );
}

/// A failed attempt before a retry was invisible until the stage settled.
#[tokio::test]
async fn a_failed_attempt_before_a_retry_is_shown_with_its_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .stage("a", "[ \"$FLOW_ATTEMPT\" -ge 2 ] || exit 7", |s| {
            s.retry(1, Duration::from_millis(10));
        })
        .stage("b", "[ \"$FLOW_ATTEMPT\" -ge 2 ] || sleep 5", |s| {
            s.retry(1, Duration::ZERO)
                .timeout(Duration::from_millis(200));
            s.grace(Duration::from_millis(100));
        })
        .build();
    let (r, sink) = go(&p, tmp.path()).await;
    assert_eq!(r.outcome, RunOutcome::Succeeded, "{:?}", sink.notices());
    let notices = sink.notices();
    assert!(
        notices.contains(&"⏲ a attempt 1 failed (exit code 7); starts again in 0.0s".to_string()),
        "{notices:?}"
    );
    assert!(
        notices
            .contains(&"↺ b attempt 1 failed (timed out after 0.2s); starts again now".to_string()),
        "{notices:?}"
    );
}

/// A 1-character secret masked every such character of the output. Short
/// secrets are not masked; one warning names each (never its value).
#[tokio::test]
async fn a_short_secret_does_not_corrupt_output_and_is_named_once() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .secret("SHORT")
        .secret("LONG")
        .stage("a", "echo \"banana $LONG\"", |_| {})
        .stage("b", "echo abracadabra", |_| {})
        .build();
    let sink = Arc::new(Sink::default());
    let opts = RunOptions {
        base_dir: tmp.path().to_path_buf(),
        sink: Some(sink.clone()),
        secrets: vec![
            ("SHORT".into(), "a".into()),
            ("LONG".into(), "long-secret".into()),
        ],
        ..RunOptions::default()
    };
    let r = run(&p, opts).await.unwrap();
    assert_eq!(r.outcome, RunOutcome::Succeeded);
    let lines = sink.lines.lock().unwrap().clone();
    assert!(lines.contains("[a] banana ***\n"), "{lines}");
    assert!(lines.contains("[b] abracadabra\n"), "{lines}");
    let warnings: Vec<String> = sink
        .notices()
        .into_iter()
        .filter(|n| n.starts_with('⚠'))
        .collect();
    assert_eq!(
        warnings,
        ["⚠ secret `SHORT` (or a line of it) is shorter than 4 bytes: it is not masked in output"]
    );
    let journaled = journal(&r)
        .iter()
        .filter(|e| e["event"] == "warning")
        .count();
    assert_eq!(journaled, 1);
}
