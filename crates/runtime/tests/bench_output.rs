//! W3-style throughput check (ignored by default; run with
//! `cargo test --release -p flow-runtime --test bench_output -- --ignored --nocapture > /dev/null`):
//! 200 MB in 2 M lines through one stage with the terminal echo on.

mod common;

use flow_runtime::output::{Masker, TerminalSink};
use flow_runtime::process::{run_attempt, AttemptSpec};
use flow_runtime::supervisor::Supervisor;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn two_hundred_megabytes_through_the_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let script = "yes 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789 | head -n 2000000 > /dev/null";
    // Baseline: the producer alone.
    let t = Instant::now();
    std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .status()
        .unwrap();
    let baseline = t.elapsed();
    let file = tmp.path().join("script");
    std::fs::write(&file, script.replace(" > /dev/null", "")).unwrap();
    let spec = AttemptSpec {
        // No pipefail: `yes` ends by SIGPIPE, as it does under make.
        shell: vec!["bash".into(), "--noprofile".into(), "--norc".into()],
        script_file: file,
        command: None,
        cwd: tmp.path().to_path_buf(),
        env: vec![],
        timeout: Some(Duration::from_secs(300)),
        idle: None,
        usage_file: None,
        budget: None,
        grace: Duration::from_secs(1),
        log_path: tmp.path().join("big.log"),
        label: "plan".into(),
        masker: Arc::new(Masker::new(&["never-appears"])),
        status_json: false,
    };
    let (_tx, rx) = watch::channel(false);
    let t = Instant::now();
    let sup = Supervisor::start(&common::supervisor()).unwrap();
    let r = run_attempt(&sup, spec, Arc::new(TerminalSink), rx, |_| {}).await;
    sup.shutdown().await;
    let took = t.elapsed();
    assert_eq!(r.exit_code, Some(0));
    assert_eq!(
        std::fs::metadata(tmp.path().join("big.log")).unwrap().len(),
        202_000_000
    );
    eprintln!(
        "producer alone {baseline:?}; through flow {took:?}; overhead {:?}",
        took.saturating_sub(baseline)
    );
}
