//! SIGTERM to `flow` while its run waits for a `concurrency` slot cancels
//! it: outcome Cancelled (exit 130), no stage ran. Alone in its binary
//! because it signals the test process itself.

mod common;

use common::Flow;
use flow_runtime::journal::read_journal;
use flow_runtime::run::{run, RunOptions};
use flow_runtime::scheduler::RunOutcome;
use flow_runtime::store::RunDirStore;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Journals under `<base>/runs/` holding a `run_queued` event.
fn queued_journals(base: &Path) -> usize {
    let Ok(dirs) = std::fs::read_dir(base.join("runs")) else {
        return 0;
    };
    dirs.filter_map(Result::ok)
        .filter(|d| {
            std::fs::read_to_string(d.path().join("journal.jsonl"))
                .is_ok_and(|t| t.contains("\"event\":\"run_queued\""))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_sigterm_cancels_a_queued_run() {
    let tmp = tempfile::tempdir().unwrap();
    let mut p = Flow::new("f").stage("nap", "sleep 2", |_| {}).build();
    p.concurrency = Some(1);
    let base = tmp.path().to_path_buf();
    let opts = |handle_signals| RunOptions {
        base_dir: base.clone(),
        quiet: true,
        handle_signals,
        store: Arc::new(RunDirStore::new(&base)),
        supervisor: common::supervisor().into(),
        ..RunOptions::default()
    };
    let holder = {
        let (p, o) = (p.clone(), opts(false));
        tokio::spawn(async move { run(&p, o).await })
    };
    // Let the holder take the slot before the second run asks for one.
    let t = Instant::now();
    while !std::fs::read_dir(base.join("runs")).is_ok_and(|d| {
        d.filter_map(Result::ok).any(|e| {
            std::fs::read_to_string(e.path().join("journal.jsonl"))
                .is_ok_and(|t| t.contains("run_admitted"))
        })
    }) {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the holder never ran"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let waiter = {
        let (p, o) = (p.clone(), opts(true));
        tokio::spawn(async move { run(&p, o).await })
    };
    while queued_journals(&base) == 0 {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the second run never queued"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let signalled = Instant::now();
    kill(Pid::this(), Signal::SIGTERM).unwrap();
    let r = waiter.await.unwrap().unwrap();
    assert!(
        signalled.elapsed() < Duration::from_millis(1500),
        "cancel took too long"
    );
    assert_eq!(r.outcome, RunOutcome::Cancelled);
    assert_eq!(r.exit_code(), 130);
    let names: Vec<String> = read_journal(&r.run_dir.join("journal.jsonl"))
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "run_started",
            "run_queued",
            "cancel_requested",
            "run_finished"
        ]
    );
    let held = holder.await.unwrap().unwrap();
    assert_eq!(
        held.outcome,
        RunOutcome::Succeeded,
        "the holder was not signalled"
    );
}
