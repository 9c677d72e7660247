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
        supervisor: common::supervisor().into(),
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
        supervisor: common::supervisor().into(),
        ..RunOptions::default()
    };
    let r = run(&sleepy(1), o).await.unwrap();
    let ev = events(&r);
    assert!(ts_of(&ev, "run_queued").is_none(), "{ev:?}");
    assert!(ts_of(&ev, "run_admitted").is_some(), "{ev:?}");
}

/// Writes a journal for a run of `flow` that was admitted and is running
/// stages, recorded with `pid`, whose lock nobody holds (its `flow` died).
fn dead_run(base: &Path, id: &str, flow: &str, pid: u32) {
    let dir = base.join("runs").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    let text = [
        serde_json::json!({"ts": "2026-11-21T02:53:00.000Z", "event": "run_started", "flow": flow,
            "run_id": id, "nonce": "abcdef", "params": {}, "file": null, "pid": pid}),
        serde_json::json!({"ts": "2026-11-21T02:53:00.100Z", "event": "run_admitted", "waited_ms": 0}),
        serde_json::json!({"ts": "2026-11-21T02:53:00.200Z", "event": "stage_started",
            "stage": "nap", "visit": 1, "attempt": 1, "pid": pid, "dir": "x"}),
    ]
    .iter()
    .map(|v| format!("{v}\n"))
    .collect::<String>();
    std::fs::write(dir.join("journal.jsonl"), text).unwrap();
}

/// Issue 6: a dead run's slot was judged alive by `kill(pid, 0)`, so a
/// reused pid blocked the queue. Here the dead run's recorded pid is this
/// very (alive) process; its lock is free, so the slot is free at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_a_dead_run_whose_pid_was_reused_holds_no_slot() {
    let tmp = tempfile::tempdir().unwrap();
    dead_run(
        tmp.path(),
        "20000101T000000Z-dead00",
        "f",
        std::process::id(),
    );
    let mut p = Flow::new("f").stage("a", "true", |_| {}).build();
    p.concurrency = Some(1);
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        run(&p, opts(tmp.path())),
    )
    .await
    .expect("the run waited for a dead run's slot")
    .unwrap();
    assert_eq!(r.outcome, RunOutcome::Succeeded);
    let ev = events(&r);
    assert!(ts_of(&ev, "run_queued").is_none(), "{ev:?}");
    let store = RunDirStore::new(tmp.path());
    assert_eq!(store.count("f", "interrupted", None).unwrap(), 1);
}

/// Issue 6: a run counted itself in `runs(flow, "running")` once admitted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_runs_never_counts_the_asking_run() {
    let tmp = tempfile::tempdir().unwrap();
    let mut p = Flow::new("f")
        .let_(
            "seen",
            r#"runs("f", "running") + runs("f", "starting") + runs("f", "pending")"#,
        )
        .stage("a", "echo \"$SEEN\" > \"$FLOW_WORKSPACE/seen\"", |_| {})
        .build();
    p.concurrency = Some(1);
    let r = run(&p, opts(tmp.path())).await.unwrap();
    assert_eq!(r.outcome, RunOutcome::Succeeded);
    let seen = std::fs::read_to_string(r.run_dir.join("workspace/seen")).unwrap();
    assert_eq!(seen.trim(), "0", "the admitted run counted itself");
}

/// Notices with the journal as it was when each was shown.
struct NoticeSink {
    base: std::path::PathBuf,
    seen: std::sync::Mutex<Vec<(String, String)>>,
}

impl flow_runtime::output::OutputSink for NoticeSink {
    fn lines(&self, _label: &str, _chunk: &[u8]) {}
    fn notice(&self, text: &str) {
        let mut journals = String::new();
        for d in std::fs::read_dir(self.base.join("runs")).unwrap().flatten() {
            journals.push_str(
                &std::fs::read_to_string(d.path().join("journal.jsonl")).unwrap_or_default(),
            );
        }
        self.seen.lock().unwrap().push((text.to_string(), journals));
    }
}

/// Issue 6: a queued run printed nothing, and admission was not first come,
/// first served (each waiter polled with its own backoff, so a late run
/// could overtake one that had waited for seconds). `a` queues behind the
/// holder; `b` queues later, just before the holder ends: `a` must get in
/// first, and each prints "queued behind K runs" after its `run_queued`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_admission_is_first_come_first_served_and_says_queued() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().to_path_buf();
    let mut hold = Flow::new("f").stage("nap", "sleep 3", |_| {}).build();
    hold.concurrency = Some(1);
    let mut quick = Flow::new("f").stage("a", "true", |_| {}).build();
    quick.concurrency = Some(1);
    let sink = Arc::new(NoticeSink {
        base: base.clone(),
        seen: std::sync::Mutex::new(Vec::new()),
    });
    let with_sink = |sink: Arc<NoticeSink>| RunOptions {
        sink: Some(sink),
        quiet: false,
        ..opts(&base)
    };
    let holder = {
        let (p, o) = (hold.clone(), opts(&base));
        tokio::spawn(async move { run(&p, o).await })
    };
    let admitted = |n: usize| {
        let base = base.clone();
        async move {
            let t = std::time::Instant::now();
            loop {
                let text: String = std::fs::read_dir(base.join("runs"))
                    .map(|d| {
                        d.flatten()
                            .map(|e| {
                                std::fs::read_to_string(e.path().join("journal.jsonl"))
                                    .unwrap_or_default()
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if text.matches("\"event\":\"run_queued\"").count() >= n
                    && text.contains("run_admitted")
                {
                    return;
                }
                assert!(t.elapsed().as_secs() < 10, "nothing queued");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    };
    admitted(0).await;
    let a = {
        let (p, o) = (quick.clone(), with_sink(sink.clone()));
        tokio::spawn(async move { run(&p, o).await })
    };
    admitted(1).await;
    // Late: `a` has waited long enough for a backoff to grow.
    tokio::time::sleep(std::time::Duration::from_millis(2300)).await;
    let b = {
        let (p, o) = (quick.clone(), with_sink(sink.clone()));
        tokio::spawn(async move { run(&p, o).await })
    };
    let (a, b) = (a.await.unwrap().unwrap(), b.await.unwrap().unwrap());
    holder.await.unwrap().unwrap();
    let (ea, eb) = (events(&a), events(&b));
    let (aa, ab) = (
        ts_of(&ea, "run_admitted").unwrap(),
        ts_of(&eb, "run_admitted").unwrap(),
    );
    assert!(
        aa <= ab,
        "b (queued later) was admitted at {ab}, before a at {aa}"
    );
    let qa = ea.iter().find(|e| e["event"] == "run_queued").unwrap();
    let qb = eb.iter().find(|e| e["event"] == "run_queued").unwrap();
    assert_eq!(
        (qa["running"].as_i64(), qa["ahead"].as_i64()),
        (Some(1), Some(0))
    );
    assert_eq!(
        (qb["running"].as_i64(), qb["ahead"].as_i64()),
        (Some(1), Some(1))
    );
    let seen = sink.seen.lock().unwrap();
    let queued: Vec<&(String, String)> = seen
        .iter()
        .filter(|(n, _)| n.contains("queued behind"))
        .collect();
    assert_eq!(queued.len(), 2, "{seen:?}");
    assert!(
        queued[0].0.contains("queued behind 1 run of f"),
        "{}",
        queued[0].0
    );
    assert!(
        queued[1].0.contains("queued behind 2 runs of f"),
        "{}",
        queued[1].0
    );
    for (n, journal) in &queued {
        let lines = journal.matches("\"event\":\"run_queued\"").count();
        assert!(lines >= 1, "`{n}` shown before its run_queued line");
    }
    assert_eq!(queued[1].1.matches("\"event\":\"run_queued\"").count(), 2);
}
