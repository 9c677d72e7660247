//! `process::run_attempt` with real bash processes under a real supervisor:
//! exit codes, timeouts and process-group kills, cancellation, output
//! streaming, masking, status json.

mod common;

use flow_runtime::output::{Masker, MemorySink, NullSink, OutputSink};
use flow_runtime::process::{run_attempt, AttemptReport, AttemptSpec};
use flow_runtime::supervisor::Supervisor;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A supervisor of this crate's `flow-supervisor`, as a run starts it.
fn supervisor() -> Arc<Supervisor> {
    Arc::new(Supervisor::start(&common::supervisor()).expect("supervisor starts"))
}

/// An attempt of `script` (written to `dir/script`) in `dir`, with the
/// default shell.
fn spec(dir: &Path, script: &str) -> AttemptSpec {
    let file = dir.join("script");
    std::fs::write(&file, script).unwrap();
    AttemptSpec {
        shell: flow_dsl::ir::DEFAULT_SHELL
            .iter()
            .map(|s| s.to_string())
            .collect(),
        script_file: file,
        command: None,
        cwd: dir.to_path_buf(),
        env: vec![],
        timeout: None,
        idle: None,
        usage_file: None,
        budget: None,
        grace: Duration::from_secs(5),
        log_path: dir.join("logs/attempt.log"),
        label: "st".into(),
        masker: Arc::new(Masker::default()),
        status_json: false,
    }
}

async fn run(spec: AttemptSpec) -> AttemptReport {
    run_with(spec, Arc::new(NullSink)).await
}

async fn run_with(spec: AttemptSpec, sink: Arc<dyn OutputSink>) -> AttemptReport {
    let (_tx, rx) = watch::channel(false);
    let sup = supervisor();
    let r = run_attempt(&sup, spec, sink, rx, |_| {}).await;
    sup.shutdown().await;
    r
}

/// Pids recorded by a script, one per line.
fn pids(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("pids"))
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

/// A process is gone: no /proc entry (a zombie would still have one).
fn assert_gone(pid: i32) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"));
    assert!(
        status.is_err(),
        "process {pid} still exists: {:?}",
        status.ok().and_then(|s| s.lines().nth(2).map(String::from))
    );
}

#[tokio::test]
async fn exit_code_and_log() {
    let tmp = tempfile::tempdir().unwrap();
    let r = run(spec(tmp.path(), "echo out; echo err >&2; exit 3")).await;
    assert_eq!(r.exit_code, Some(3));
    assert_eq!(r.signal, None);
    assert!(!r.timed_out && !r.cancelled);
    assert!(r.pid.is_some());
    let log = std::fs::read_to_string(tmp.path().join("logs/attempt.log")).unwrap();
    assert!(log.contains("out\n") && log.contains("err\n"), "{log:?}");
    assert_eq!(r.log_bytes as usize, log.len());
}

#[tokio::test]
async fn script_is_passed_byte_for_byte_to_the_given_shell() {
    let tmp = tempfile::tempdir().unwrap();
    let script =
        "false\nprintf '%s\\n' \"it's \\\"quoted\\\" \\$HOME\"\ncat <<'X'\n  $not_expanded\nX\n";
    let mut s = spec(tmp.path(), script);
    s.shell = vec!["bash".into(), "--noprofile".into(), "--norc".into()];
    let r = run(s).await;
    assert_eq!(
        r.exit_code,
        Some(0),
        "no -e: `false` does not stop the script"
    );
    let log = std::fs::read_to_string(tmp.path().join("logs/attempt.log")).unwrap();
    assert_eq!(log, "it's \"quoted\" $HOME\n  $not_expanded\n");
}

#[tokio::test]
async fn env_and_cwd_reach_the_script() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spec(
        tmp.path(),
        "echo \"$ISSUE|$PWD\" > out.txt; read x || echo no-stdin > stdin.txt",
    );
    s.env = vec![("ISSUE".into(), "42 \"quoted\"".into())];
    let r = run(s).await;
    assert_eq!(r.exit_code, Some(0));
    let out = std::fs::read_to_string(tmp.path().join("out.txt")).unwrap();
    let cwd = tmp.path().canonicalize().unwrap();
    assert_eq!(out, format!("42 \"quoted\"|{}\n", cwd.display()));
    assert!(tmp.path().join("stdin.txt").exists(), "stdin is /dev/null");
}

#[tokio::test]
async fn timeout_kills_the_whole_group_quickly() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spec(
        tmp.path(),
        "echo $$ > pids; sleep 300 & echo $! >> pids; (sleep 300; echo never) & echo $! >> pids; sleep 300; wait",
    );
    s.timeout = Some(Duration::from_secs(1));
    let t = Instant::now();
    let r = run(s).await;
    let took = t.elapsed();
    assert!(r.timed_out);
    assert_eq!(r.exit_code, None);
    assert_eq!(r.signal, Some(15));
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    let pids = pids(tmp.path());
    assert_eq!(pids.len(), 3);
    for pid in pids {
        assert_gone(pid);
    }
}

#[tokio::test]
async fn background_children_die_when_the_leader_exits() {
    let tmp = tempfile::tempdir().unwrap();
    // The leader exits at once; its background child keeps stdout open.
    let s = spec(tmp.path(), "sleep 300 & echo $! > pids; echo done");
    let t = Instant::now();
    let r = run(s).await;
    assert_eq!(r.exit_code, Some(0));
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "took {:?}",
        t.elapsed()
    );
    assert_gone(pids(tmp.path())[0]);
}

#[tokio::test]
async fn term_ignoring_stage_is_killed_after_grace() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spec(
        tmp.path(),
        "trap '' TERM; echo $$ > pids; sleep 300 & echo $! >> pids; wait",
    );
    s.timeout = Some(Duration::from_millis(500));
    s.grace = Duration::from_secs(1);
    let t = Instant::now();
    let r = run(s).await;
    let took = t.elapsed();
    assert!(r.timed_out);
    assert_eq!(r.signal, Some(9), "SIGKILLed");
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(3),
        "took {took:?}"
    );
    for pid in pids(tmp.path()) {
        assert_gone(pid);
    }
}

#[tokio::test]
async fn cancel_terminates_the_group() {
    let tmp = tempfile::tempdir().unwrap();
    let s = spec(
        tmp.path(),
        "echo $$ > pids; sleep 300 & echo $! >> pids; wait",
    );
    let (tx, rx) = watch::channel(false);
    let sup = supervisor();
    let h = tokio::spawn(async move { run_attempt(&sup, s, Arc::new(NullSink), rx, |_| {}).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    tx.send(true).unwrap();
    let r = tokio::time::timeout(Duration::from_secs(3), h)
        .await
        .unwrap()
        .unwrap();
    assert!(r.cancelled && !r.timed_out);
    for pid in pids(tmp.path()) {
        assert_gone(pid);
    }
}

#[tokio::test]
async fn on_started_gets_the_pid() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tx, rx) = watch::channel(false);
    let mut seen = None;
    let sup = supervisor();
    let r = run_attempt(
        &sup,
        spec(tmp.path(), "echo $$ > pids"),
        Arc::new(NullSink),
        rx,
        |pid| seen = Some(pid),
    )
    .await;
    assert_eq!(seen, r.pid);
    assert_eq!(pids(tmp.path()), vec![r.pid.unwrap() as i32]);
}

#[tokio::test]
async fn spawn_failure_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spec(tmp.path(), "true");
    s.cwd = tmp.path().join("missing");
    let r = run(s).await;
    assert!(r.pid.is_none());
    assert!(
        r.error.as_deref().unwrap().contains("cannot start"),
        "{:?}",
        r.error
    );
    assert!(r.to_result().error.is_some());
}

#[tokio::test]
async fn secrets_are_masked_in_log_and_live_output() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spec(
        tmp.path(),
        "echo \"token=$TOK\"; echo \"$TOK\" >&2; echo plain",
    );
    s.env = vec![("TOK".into(), "s3cr3t-value".into())];
    s.masker = Arc::new(Masker::new(&["s3cr3t-value"]));
    let sink = Arc::new(MemorySink::default());
    let r = run_with(s, sink.clone()).await;
    assert_eq!(r.exit_code, Some(0));
    let log = std::fs::read_to_string(tmp.path().join("logs/attempt.log")).unwrap();
    assert!(!log.contains("s3cr3t"), "{log}");
    assert!(
        log.contains("token=***\n") && log.contains("plain\n"),
        "{log}"
    );
    let live = sink.text();
    assert!(!live.contains("s3cr3t"), "{live}");
    assert!(
        live.contains("[st] token=***\n")
            && live.contains("[st] ***\n")
            && live.contains("[st] plain\n"),
        "{live}"
    );
}

#[tokio::test]
async fn status_json_is_read_from_stdout_only() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spec(
        tmp.path(),
        "echo '{\"status\":\"OLD\"}'; echo 'result: {\"status\":\"DONE\",\"x\":{\"y\":1}}'; echo '{\"status\":\"ERR\"}' >&2; echo bye",
    );
    s.status_json = true;
    let r = run(s).await;
    assert_eq!(r.status().as_deref(), Some("DONE"));
    assert_eq!(r.status_json.as_ref().unwrap()["x"]["y"], 1);
    assert_eq!(r.to_result().status.as_deref(), Some("DONE"));
}

#[tokio::test]
async fn big_unterminated_output_is_kept_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    // 1 MB with no newline at all, then a trailing partial line.
    let s = spec(
        tmp.path(),
        "head -c 1000000 /dev/zero | tr '\\0' 'x'; printf 'end'",
    );
    let sink = Arc::new(MemorySink::default());
    let r = run_with(s, sink.clone()).await;
    assert_eq!(r.exit_code, Some(0));
    let log = std::fs::read(tmp.path().join("logs/attempt.log")).unwrap();
    assert_eq!(log.len(), 1_000_003);
    assert!(log.ends_with(b"xend"));
    assert!(sink.text().ends_with("end\n"));
}

#[tokio::test]
async fn default_shell_stops_at_a_failing_command_or_pipeline() {
    let tmp = tempfile::tempdir().unwrap();
    // Regression: without `-eo pipefail` both scripts succeeded.
    let r = run(spec(tmp.path(), "false\ntouch after-false")).await;
    assert_eq!(r.exit_code, Some(1));
    assert!(!tmp.path().join("after-false").exists());
    let r = run(spec(tmp.path(), "false | true\ntouch after-pipe")).await;
    assert_eq!(r.exit_code, Some(1));
    assert!(!tmp.path().join("after-pipe").exists());
}

#[tokio::test]
async fn another_shell_runs_the_script_file() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spec(
        tmp.path(),
        "import sys\nprint('from', sys.argv[0].rsplit('/', 1)[-1])\n",
    );
    s.shell = vec!["python3".into()];
    let sink = Arc::new(MemorySink::default());
    let r = run_with(s, sink.clone()).await;
    assert_eq!(r.exit_code, Some(0), "{r:?}");
    assert_eq!(sink.text(), "[st] from script\n");
}

#[tokio::test]
async fn a_one_mebibyte_script_runs() {
    let tmp = tempfile::tempdir().unwrap();
    // Regression: as one argv entry (`bash -c SCRIPT`) anything over
    // 128 KiB failed with E2BIG before the shell started.
    let mut script = String::from("n=0\n");
    while script.len() < 1 << 20 {
        script.push_str("n=$((n + 1)) # padding padding padding padding padding\n");
    }
    script.push_str("echo \"$n\" > count\n");
    let lines = script.lines().count() - 2;
    let r = run(spec(tmp.path(), &script)).await;
    assert_eq!(r.exit_code, Some(0), "{r:?}");
    let count = std::fs::read_to_string(tmp.path().join("count")).unwrap();
    assert_eq!(count.trim(), lines.to_string());
}

#[tokio::test]
async fn a_missing_shell_is_a_spawn_failure_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spec(tmp.path(), "true");
    s.shell = vec!["no-such-shell-here".into(), "-e".into()];
    let r = run(s).await;
    assert!(r.pid.is_none());
    let error = r.error.unwrap_or_default();
    assert!(
        error.contains("cannot start `no-such-shell-here`"),
        "{error}"
    );
}

#[tokio::test]
async fn attempts_start_with_no_blocked_signal() {
    let tmp = tempfile::tempdir().unwrap();
    // The supervisor blocks SIGCHLD for its signalfd and runs in its own
    // session: a stage must inherit neither a blocked signal nor an ignored
    // SIGHUP, SIGINT, SIGTERM or SIGCHLD.
    let s = spec(
        tmp.path(),
        "grep -E '^Sig(Blk|Ign)' /proc/self/status > sigs",
    );
    let r = run(s).await;
    assert_eq!(r.exit_code, Some(0), "{r:?}");
    let sigs = std::fs::read_to_string(tmp.path().join("sigs")).unwrap();
    let mask = |name: &str| {
        let line = sigs.lines().find(|l| l.starts_with(name)).unwrap();
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    assert_eq!(mask("SigBlk:"), 0, "{sigs}");
    let bit = |sig: u32| 1u64 << (sig - 1);
    // What this test process was started with ignored (`nohup`, a
    // background job of a shell without job control) is inherited, as
    // with make and bash; nothing more.
    let ours = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = ours.lines().find(|l| l.starts_with("SigIgn:")).unwrap();
    let inherited = u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_eq!(
        mask("SigIgn:") & (bit(1) | bit(2) | bit(15) | bit(17)) & !inherited,
        0,
        "{sigs}"
    );
}

#[tokio::test]
async fn the_supervisor_is_the_parent_and_its_death_fails_the_attempt() {
    let tmp = tempfile::tempdir().unwrap();
    let s = spec(
        tmp.path(),
        "sleep 300 & echo $! > pids; echo $$ >> pids; wait",
    );
    let (_tx, rx) = watch::channel(false);
    let sup = supervisor();
    let sup_pid = sup.pid().unwrap() as i32;
    let h = {
        let sup = sup.clone();
        tokio::spawn(async move { run_attempt(&sup, s, Arc::new(NullSink), rx, |_| {}).await })
    };
    let t = Instant::now();
    while pids_written(tmp.path()) < 2 {
        assert!(t.elapsed() < Duration::from_secs(10), "stage never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let leader = pids(tmp.path())[1];
    assert_eq!(parent_of(leader), sup_pid, "the supervisor is the parent");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sup_pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let r = tokio::time::timeout(Duration::from_secs(3), h)
        .await
        .expect("the attempt ends when its supervisor dies")
        .unwrap();
    let error = r.error.clone().unwrap_or_default();
    assert!(error.contains("supervisor process died"), "{error}");
    assert_eq!(r.exit_code, None);
    assert!(r.to_result().error.is_some(), "the attempt fails: {r:?}");
    for pid in pids(tmp.path()) {
        assert_gone(pid);
    }
    // The next attempt gets a new supervisor.
    let (_tx, rx) = watch::channel(false);
    let next = run_attempt(
        &sup,
        spec(tmp.path(), "echo $PPID > parent"),
        Arc::new(NullSink),
        rx,
        |_| {},
    )
    .await;
    assert_eq!(next.exit_code, Some(0), "{next:?}");
    let parent: u32 = std::fs::read_to_string(tmp.path().join("parent"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(Some(parent), sup.pid());
    assert_ne!(parent as i32, sup_pid);
    sup.shutdown().await;
}

/// Lines in the `pids` file so far.
fn pids_written(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("pids"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

/// The parent pid of a live process.
fn parent_of(pid: i32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    rest.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn an_empty_shell_means_the_default_one() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spec(tmp.path(), "false\ntouch after-false");
    s.shell = vec![];
    let r = run(s).await;
    assert_eq!(r.exit_code, Some(1), "-e stops the script: {r:?}");
    assert!(!tmp.path().join("after-false").exists());
}

/// Issue 7 §2: `idle D` ends an attempt that prints nothing for D, like a
/// timeout, and kills its whole group.
#[tokio::test]
async fn idle_ends_a_silent_attempt_like_a_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spec(
        tmp.path(),
        "echo started; echo $$ > pids; sleep 300 & echo $! >> pids; sleep 300",
    );
    s.idle = Some(Duration::from_millis(400));
    let t = Instant::now();
    let r = run(s).await;
    let took = t.elapsed();
    assert!(r.timed_out && r.idle, "{r:?}");
    assert!(r.to_result().timed_out && r.to_result().idle);
    assert_eq!(r.signal, Some(15));
    assert!(took >= Duration::from_millis(400), "took {took:?}");
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    for pid in pids(tmp.path()) {
        assert_gone(pid);
    }
}

/// Output, on stdout or stderr, resets the idle clock: a stage that keeps
/// talking runs as long as it needs.
#[tokio::test]
async fn output_on_either_stream_keeps_an_attempt_alive() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spec(
        tmp.path(),
        "for i in 1 2 3 4 5 6; do echo out $i; sleep 0.15; echo err $i >&2; sleep 0.15; done",
    );
    s.idle = Some(Duration::from_millis(500));
    let r = run(s).await;
    assert_eq!(r.exit_code, Some(0), "{r:?}");
    assert!(!r.timed_out && !r.idle);
}

/// Issue 6: a process that leaves the group (`setsid`) and keeps the output
/// pipe open must not hold its attempt for long after the leader exited:
/// the attempt ends within [`DRAIN_LIMIT`] (2 s) and keeps all that the
/// group printed.
#[tokio::test]
async fn an_escapee_holding_the_output_pipe_delays_its_attempt_at_most_the_drain_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let s = spec(
        tmp.path(),
        // The leader waits until the escapee has its own group (pgrp, field
        // 5 of /proc/PID/stat, is its pid): killed before `setsid` ran, it
        // would not escape and the test would prove nothing.
        "echo before; setsid sleep 30 & pid=$!; echo $pid > pids; \
         until [ \"$(cut -d' ' -f5 /proc/$pid/stat 2>/dev/null)\" = \"$pid\" ]; do sleep 0.01; done; \
         echo after",
    );
    let t = Instant::now();
    let r = run(s).await;
    let took = t.elapsed();
    assert_eq!(r.exit_code, Some(0), "{r:?}");
    assert!(
        took >= flow_runtime::process::DRAIN_LIMIT,
        "took {took:?}: nothing escaped"
    );
    assert!(
        took < flow_runtime::process::DRAIN_LIMIT + Duration::from_millis(1500),
        "took {took:?}"
    );
    let log = std::fs::read_to_string(tmp.path().join("logs/attempt.log")).unwrap();
    assert_eq!(log, "before\nafter\n");
    assert!(
        r.error.as_deref().unwrap_or("").contains("still open"),
        "{r:?}"
    );
    for pid in pids(tmp.path()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}
