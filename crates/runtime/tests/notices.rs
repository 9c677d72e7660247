//! Journal before report: every live notice of the driver is printed only
//! after the journal holds the event it reports. A sink reads the journal at
//! each notice and checks it.

mod common;

use common::Flow;
use flow_dsl::ir::RouteOn;
use flow_runtime::journal::read_journal;
use flow_runtime::output::OutputSink;
use flow_runtime::run::{run, RunOptions, RunReport};
use flow_runtime::scheduler::RunOutcome;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Keeps the notices; at each one, records what the journal held then.
struct CheckingSink {
    base: PathBuf,
    seen: Mutex<Vec<(String, Vec<serde_json::Value>)>>,
}

impl CheckingSink {
    fn new(base: &Path) -> Arc<CheckingSink> {
        Arc::new(CheckingSink {
            base: base.to_path_buf(),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// The journal of the one run under `base`.
    fn journal_now(&self) -> Vec<serde_json::Value> {
        let runs = std::fs::read_dir(self.base.join("runs")).unwrap();
        let dirs: Vec<PathBuf> = runs.filter_map(Result::ok).map(|e| e.path()).collect();
        assert_eq!(dirs.len(), 1, "one run under the base");
        read_journal(&dirs[0].join("journal.jsonl")).unwrap()
    }

    fn notices(&self) -> Vec<String> {
        let seen = self.seen.lock().unwrap();
        seen.iter().map(|(n, _)| n.clone()).collect()
    }

    /// Each notice starting with `prefix`, with the events named `event`
    /// for `stage` that the journal held when it was printed.
    fn counts(&self, prefix: &str, event: &str, stage: &str) -> Vec<usize> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .map(|(_, journal)| {
                journal
                    .iter()
                    .filter(|e| e["event"] == event && e["stage"] == stage)
                    .count()
            })
            .collect()
    }
}

impl OutputSink for CheckingSink {
    fn lines(&self, _label: &str, _chunk: &[u8]) {}

    fn notice(&self, text: &str) {
        let journal = self.journal_now();
        self.seen.lock().unwrap().push((text.to_string(), journal));
    }
}

async fn go(
    p: &flow_dsl::ir::Pipeline,
    base: &Path,
    sink: Arc<CheckingSink>,
    jobs: usize,
) -> RunReport {
    let opts = RunOptions {
        base_dir: base.to_path_buf(),
        jobs,
        sink: Some(sink),
        supervisor: common::supervisor().into(),
        ..RunOptions::default()
    };
    run(p, opts).await.expect("run carried out")
}

fn event_names(r: &RunReport, name: &str) -> Vec<String> {
    read_journal(&r.run_dir.join("journal.jsonl"))
        .unwrap()
        .iter()
        .filter(|e| e["event"] == name)
        .map(|e| e["stage"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn started_and_wait_notices_follow_their_journal_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .stage("flaky", "[ \"$FLOW_ATTEMPT\" -ge 2 ]", |s| {
            s.retry(1, Duration::from_millis(50));
        })
        .stage("poll", "[ \"$FLOW_VISIT\" -ge 2 ] || exit 10", |s| {
            s.again(RouteOn::Exit(vec![10]), Duration::from_millis(50));
        })
        .build();
    let sink = CheckingSink::new(tmp.path());
    let r = go(&p, tmp.path(), sink.clone(), 4).await;
    assert_eq!(r.outcome, RunOutcome::Succeeded, "{:?}", sink.notices());

    // The n-th `▶ X started` saw at least n `stage_started` lines of X.
    for stage in ["flaky", "poll"] {
        let counts = sink.counts(&format!("▶ {stage} started"), "stage_started", stage);
        assert_eq!(counts.len(), 2, "{stage}: {:?}", sink.notices());
        for (n, seen) in counts.iter().enumerate() {
            assert!(
                *seen > n,
                "{stage}: notice {n} printed before its journal line"
            );
        }
    }
    // A retry delay is a `retry_scheduled`, an `again after` wait an
    // `again_scheduled`; each journaled before its `⏲`.
    assert_eq!(sink.counts("⏲ flaky", "retry_scheduled", "flaky"), [1]);
    assert_eq!(sink.counts("⏲ poll", "again_scheduled", "poll"), [1]);
    assert_eq!(event_names(&r, "retry_scheduled"), ["flaky"]);
    assert_eq!(event_names(&r, "again_scheduled"), ["poll"]);
}

#[tokio::test]
async fn an_attempt_cancelled_before_it_starts_prints_no_start() {
    let tmp = tempfile::tempdir().unwrap();
    // One job slot: `b` waits for it while `a` sleeps; the flow timeout then
    // kills `a` and cancels `b` before it ever runs.
    let p = Flow::new("f")
        .timeout(Duration::from_millis(300))
        .stage("a", "sleep 5", |s| {
            s.grace(Duration::from_millis(100));
        })
        .stage("b", "sleep 5", |s| {
            s.grace(Duration::from_millis(100));
        })
        .build();
    let sink = CheckingSink::new(tmp.path());
    let r = go(&p, tmp.path(), sink.clone(), 1).await;
    assert_eq!(r.outcome, RunOutcome::TimedOut);
    let started: Vec<String> = sink
        .notices()
        .into_iter()
        .filter(|n| n.starts_with('▶'))
        .collect();
    assert_eq!(started, ["▶ a started"]);
    assert_eq!(event_names(&r, "stage_started"), ["a"]);
}
