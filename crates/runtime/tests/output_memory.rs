//! 100 MB of output streams through an attempt with bounded memory and lands
//! in the log byte-for-byte. Alone in its binary: VmHWM is process-wide.

mod common;

use flow_runtime::output::{Masker, NullSink};
use flow_runtime::process::{run_attempt, AttemptSpec};
use flow_runtime::supervisor::Supervisor;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Peak resident memory of this process, in KiB.
fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_megabytes_stream_with_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let before = vm_hwm_kib();
    // 2 M lines of 50 bytes on stdout, plus some stderr interleaved.
    let script = "yes 0123456789012345678901234567890123456789012345678 | head -c 100000000; \
                  for i in 1 2 3; do echo err$i >&2; done";
    let file = tmp.path().join("script");
    std::fs::write(&file, script).unwrap();
    let spec = AttemptSpec {
        // No pipefail: `yes` ends by SIGPIPE once `head` has its bytes.
        shell: vec!["bash".into(), "--noprofile".into(), "--norc".into()],
        script_file: file,
        command: None,
        cwd: tmp.path().to_path_buf(),
        env: vec![],
        timeout: Some(Duration::from_secs(120)),
        idle: None,
        usage_file: None,
        budget: None,
        grace: Duration::from_secs(1),
        log_path: tmp.path().join("big.log"),
        label: "big".into(),
        masker: Arc::new(Masker::new(&["never-appears"])),
        status_json: true,
    };
    let (_tx, rx) = watch::channel(false);
    let t = Instant::now();
    let sup = Supervisor::start(&common::supervisor()).unwrap();
    let r = run_attempt(&sup, spec, Arc::new(NullSink), rx, |_| {}).await;
    sup.shutdown().await;
    let took = t.elapsed();
    assert_eq!(r.exit_code, Some(0), "{r:?}");
    let size = std::fs::metadata(tmp.path().join("big.log")).unwrap().len();
    assert_eq!(size, 100_000_000 + 3 * 5);
    assert_eq!(r.log_bytes, size);
    let grown_mib = (vm_hwm_kib().saturating_sub(before)) / 1024;
    eprintln!("100 MB streamed in {took:?}; VmHWM grew by {grown_mib} MiB");
    assert!(grown_mib < 50, "VmHWM grew by {grown_mib} MiB");
}
