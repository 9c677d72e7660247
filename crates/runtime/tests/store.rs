//! The run store through real runs: `runs(flow, state)` in `skip if`, and
//! `concurrency N` queueing a second run until the first finishes.

mod common;

use common::Flow;
use flow_dsl::ir::Pipeline;
use flow_runtime::journal::read_journal;
use flow_runtime::run::{run, RunOptions, RunReport};
use flow_runtime::scheduler::RunOutcome;
use flow_runtime::store::{ProjectStore, RunDirStore, Slot};
use std::path::Path;
use std::sync::Arc;

fn opts(base: &Path) -> RunOptions {
    RunOptions {
        base_dir: base.to_path_buf(),
        quiet: true,
        jobs: 2,
        store: Arc::new(RunDirStore::new(base)),
        ..RunOptions::default()
    }
}

fn events(r: &RunReport) -> Vec<serde_json::Value> {
    read_journal(&r.run_dir.join("journal.jsonl")).unwrap()
}

/// The `ts` of the first event named `name`.
fn ts_of(events: &[serde_json::Value], name: &str) -> Option<String> {
    events
        .iter()
        .find(|e| e["event"] == name)
        .map(|e| e["ts"].as_str().unwrap().to_string())
}

fn sleepy(concurrency: u32) -> Pipeline {
    let mut p = Flow::new("f").stage("nap", "sleep 1", |_| {}).build();
    p.concurrency = Some(concurrency);
    p
}

#[tokio::test]
async fn store_runs_in_skip_if_sees_earlier_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .skip_if(r#"runs("f", "succeeded") >= 1"#)
        .stage("a", "true", |_| {})
        .build();
    let first = run(&p, opts(tmp.path())).await.unwrap();
    assert!(!first.skipped);
    assert_eq!(first.outcome, RunOutcome::Succeeded);
    let second = run(&p, opts(tmp.path())).await.unwrap();
    assert!(
        second.skipped,
        "the first run succeeded, so the second skips"
    );
    let store = RunDirStore::new(tmp.path());
    assert_eq!(store.count("f", "succeeded", None).unwrap(), 1);
    assert_eq!(store.count("f", "skipped", None).unwrap(), 1);
    assert_eq!(store.count("f", "finished", None).unwrap(), 2);
}

#[tokio::test]
async fn store_running_run_does_not_count_itself_in_skip_if() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .skip_if(r#"runs("f", "running") + runs("f", "pending") > 0"#)
        .stage("a", "true", |_| {})
        .build();
    let r = run(&p, opts(tmp.path())).await.unwrap();
    assert!(!r.skipped, "a run is `starting` while its `skip if` runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_concurrency_one_queues_the_second_run_until_the_first_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let p = sleepy(1);
    let (a, b) = tokio::join!(run(&p, opts(tmp.path())), run(&p, opts(tmp.path())));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.outcome, RunOutcome::Succeeded);
    assert_eq!(b.outcome, RunOutcome::Succeeded);
    let (ea, eb) = (events(&a), events(&b));
    let queued_a = ts_of(&ea, "run_queued").is_some();
    let queued_b = ts_of(&eb, "run_queued").is_some();
    assert!(queued_a != queued_b, "exactly one run waits: {ea:?} {eb:?}");
    let (first, second) = if queued_b { (&ea, &eb) } else { (&eb, &ea) };
    let first_done = ts_of(first, "run_finished").unwrap();
    let second_stage = ts_of(second, "stage_started").unwrap();
    assert!(
        second_stage >= first_done,
        "the queued run's stage started at {second_stage}, before the first run ended at {first_done}"
    );
    let admitted = second
        .iter()
        .find(|e| e["event"] == "run_admitted")
        .unwrap();
    assert!(admitted["waited_ms"].as_u64().unwrap() >= 500, "{admitted}");
    let queued = second.iter().find(|e| e["event"] == "run_queued").unwrap();
    assert_eq!(queued["concurrency"], 1);
    assert_eq!(queued["running"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_concurrency_two_runs_both_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let p = sleepy(2);
    let (a, b) = tokio::join!(run(&p, opts(tmp.path())), run(&p, opts(tmp.path())));
    for r in [a.unwrap(), b.unwrap()] {
        assert_eq!(r.outcome, RunOutcome::Succeeded);
        let ev = events(&r);
        assert!(ts_of(&ev, "run_queued").is_none(), "{ev:?}");
        assert!(ts_of(&ev, "run_admitted").is_some(), "{ev:?}");
    }
}

/// Busy for the first `busy` asks, then admits; counts every call.
struct ScriptedStore {
    busy: u32,
    asks: std::sync::Mutex<u32>,
}

impl flow_dsl::expr::RunStore for ScriptedStore {
    fn count_runs(&self, _flow: &str, _state: &str) -> i64 {
        7
    }
}

impl ProjectStore for ScriptedStore {
    fn take_slot(
        &self,
        _flow: &str,
        _own_id: &str,
        _limit: u32,
        record: &mut dyn FnMut(&Slot) -> std::io::Result<()>,
    ) -> std::io::Result<Slot> {
        let mut asks = self.asks.lock().unwrap();
        *asks += 1;
        if *asks <= self.busy {
            let slot = Slot::Queued {
                running: 3,
                ahead: 0,
                first: *asks == 1,
            };
            if *asks == 1 {
                record(&slot)?;
            }
            return Ok(slot);
        }
        record(&Slot::Taken)?;
        Ok(Slot::Taken)
    }
}

#[tokio::test]
async fn store_given_in_options_answers_both_runs_and_concurrency() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(ScriptedStore {
        busy: 2,
        asks: std::sync::Mutex::new(0),
    });
    let mut p = Flow::new("f")
        .let_("seen", r#"runs("f", "running")"#)
        .stage("a", "echo \"$SEEN\" > \"$FLOW_WORKSPACE/seen\"", |_| {})
        .build();
    p.concurrency = Some(1);
    let o = RunOptions {
        store: store.clone(),
        ..opts(tmp.path())
    };
    let r = run(&p, o).await.unwrap();
    assert_eq!(r.outcome, RunOutcome::Succeeded);
    assert_eq!(
        *store.asks.lock().unwrap(),
        3,
        "the queue asked the given store"
    );
    let ev = events(&r);
    let queued = ev.iter().find(|e| e["event"] == "run_queued").unwrap();
    assert_eq!(queued["running"], 3);
    assert!(ts_of(&ev, "run_admitted").is_some(), "{ev:?}");
    let seen = std::fs::read_to_string(r.run_dir.join("workspace/seen")).unwrap();
    assert_eq!(seen.trim(), "7", "`runs()` asked the same store");
}

#[tokio::test]
async fn store_default_is_a_run_alone_which_never_queues() {
    let tmp = tempfile::tempdir().unwrap();
    let o = RunOptions {
        base_dir: tmp.path().to_path_buf(),
        quiet: true,
        ..RunOptions::default()
    };
    let r = run(&sleepy(1), o).await.unwrap();
    let ev = events(&r);
    assert!(ts_of(&ev, "run_queued").is_none(), "{ev:?}");
    assert!(ts_of(&ev, "run_admitted").is_some(), "{ev:?}");
}
