//! SIGTERM to `flow` cancels the run: running stages are killed, `finally`
//! stages still run, the outcome is Cancelled (exit 130). Alone in its
//! binary because it signals the test process itself.

mod common;

use common::Flow;
use flow_runtime::journal::read_journal;
use flow_runtime::run::{run, RunOptions};
use flow_runtime::scheduler::RunOutcome;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_cancels_the_run_and_finally_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .stage(
            "long",
            "echo $$ > \"$FLOW_WORKSPACE/pid\"; sleep 300",
            |s| {
                s.grace(Duration::from_secs(1));
            },
        )
        .stage("next", "true", |s| {
            s.needs(&["long"]);
        })
        .finally("cleanup", "touch \"$FLOW_WORKSPACE/cleaned\"", |_| {})
        .build();
    let opts = RunOptions {
        base_dir: tmp.path().to_path_buf(),
        quiet: true,
        handle_signals: true,
        supervisor: common::supervisor().into(),
        ..RunOptions::default()
    };
    let t = Instant::now();
    let handle = tokio::spawn(async move { run(&p, opts).await });
    // Wait until the stage is running, then signal ourselves.
    let runs = tmp.path().join("runs");
    let pid_file = loop {
        let found = std::fs::read_dir(&runs)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok())
            .map(|e| e.path().join("workspace/pid"))
            .filter(|p| p.exists());
        if let Some(p) = found {
            break p;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "stage never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    kill(Pid::this(), Signal::SIGTERM).unwrap();
    let r = tokio::time::timeout(Duration::from_secs(5), handle)
        .await
        .expect("run ends")
        .unwrap()
        .unwrap();
    assert_eq!(r.outcome, RunOutcome::Cancelled);
    assert_eq!(r.exit_code(), 130);
    assert!(r.run_dir.join("workspace/cleaned").exists(), "finally ran");
    let stage_pid = std::fs::read_to_string(pid_file).unwrap();
    assert!(!std::path::Path::new(&format!("/proc/{}", stage_pid.trim())).exists());
    let events = read_journal(&r.run_dir.join("journal.jsonl")).unwrap();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"cancel_requested"), "{names:?}");
    assert_eq!(events.last().unwrap()["outcome"], "cancelled");
}
