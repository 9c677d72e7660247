//! `runs()` against a big history: the time of one count with 1,000 runs
//! in the store (journals written by `bench/store/gen.py`, or here when
//! `FLOW_STORE_BENCH` is unset: 1,000 runs of flow `f`, a quarter of them
//! interrupted). Prints the figures; asserts a generous bound.

use flow_runtime::store::RunDirStore;
use std::time::Instant;

fn write_runs(base: &std::path::Path, n: usize) {
    let outcomes = ["succeeded", "failed", "cancelled", ""];
    for i in 0..n {
        let id = format!("20200101T{:06}Z-{i:06}", i);
        let dir = base.join("runs").join(&id);
        std::fs::create_dir_all(&dir).unwrap();
        let mut text = format!(
            "{{\"ts\":\"2020-01-01T00:00:00.000Z\",\"event\":\"run_started\",\"flow\":\"f\",\"run_id\":\"{id}\",\"nonce\":\"x\",\"params\":{{}},\"file\":null,\"pid\":1}}\n"
        );
        for s in 0..20 {
            text.push_str(&format!("{{\"ts\":\"2020-01-01T00:00:00.000Z\",\"event\":\"stage_started\",\"stage\":\"s{s}\",\"visit\":1,\"attempt\":1,\"pid\":1,\"dir\":\"x\"}}\n"));
        }
        let o = outcomes[i % outcomes.len()];
        if !o.is_empty() {
            text.push_str(&format!("{{\"ts\":\"2020-01-01T00:00:01.000Z\",\"event\":\"run_finished\",\"outcome\":\"{o}\",\"reason\":null,\"duration_ms\":1000}}\n"));
        }
        std::fs::write(dir.join("journal.jsonl"), text).unwrap();
    }
}

#[test]
fn store_bench_runs_with_1000_runs() {
    let tmp = tempfile::tempdir().unwrap();
    write_runs(tmp.path(), 1000);
    let t = Instant::now();
    let store = RunDirStore::new(tmp.path());
    assert_eq!(store.count("f", "interrupted", None).unwrap(), 250);
    let rebuild = t.elapsed();
    let calls = 200;
    let t = Instant::now();
    for _ in 0..calls {
        assert_eq!(store.count("f", "failed", None).unwrap(), 250);
        assert_eq!(store.count("f", "running", None).unwrap(), 0);
    }
    let per_call = t.elapsed() / (2 * calls);
    let t = Instant::now();
    for _ in 0..calls {
        store.count("f", "failed", None).unwrap();
    }
    eprintln!("failed only: {:?}", t.elapsed() / calls);
    let t = Instant::now();
    for _ in 0..calls {
        assert_eq!(store.count("f", "interrupted", None).unwrap(), 250);
    }
    let per_interrupted = t.elapsed() / calls;
    eprintln!(
        "1,000 runs: index rebuilt from the journals in {rebuild:?}; runs() {per_call:?} per call \
         (failed/running), {per_interrupted:?} (interrupted)"
    );
    assert!(per_call.as_millis() < 100, "{per_call:?}");
}
