//! Supervision of whole runs with real processes: scripts of any size,
//! processes that leave their group, timeouts, and a supervisor that dies.

mod common;

use common::Flow;
use flow_runtime::run::{run, RunReport};
use flow_runtime::scheduler::{RunOutcome, StageOutcome};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

async fn go(p: &flow_dsl::ir::Pipeline, base: &Path) -> RunReport {
    run(p, common::options(base))
        .await
        .expect("run carried out")
}

/// The first run's workspace under `base`, once it exists.
async fn workspace(base: &Path) -> PathBuf {
    let t = Instant::now();
    loop {
        let found = std::fs::read_dir(base.join("runs"))
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok())
            .map(|e| e.path().join("workspace"))
            .filter(|p| p.exists());
        if let Some(p) = found {
            return p;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "no run started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits for `file` to hold a whole line, and returns its pids.
async fn pids_in(file: &Path) -> Vec<i32> {
    let t = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(file) {
            if text.ends_with('\n') {
                return text
                    .split_whitespace()
                    .map(|p| p.parse().unwrap())
                    .collect();
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{} never written",
            file.display()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A live process (not a zombie) with this pid exists.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat[stat.rfind(')').unwrap() + 1..]
                .split_whitespace()
                .next();
            state != Some("Z")
        }
        Err(_) => false,
    }
}

#[tokio::test]
async fn a_one_mebibyte_script_runs_as_a_stage() {
    let tmp = tempfile::tempdir().unwrap();
    // Regression: `flow check` accepted it, then `bash -c SCRIPT` failed
    // with E2BIG (an argv entry is limited to 128 KiB).
    let mut script = String::from(": '");
    script.push_str(&"x".repeat(1 << 20));
    script.push_str("'\necho ran > \"$FLOW_WORKSPACE/ran\"\n");
    let p = Flow::new("f").stage("big", &script, |_| {}).build();
    let r = go(&p, tmp.path()).await;
    assert_eq!(r.outcome, RunOutcome::Succeeded, "{:?}", r.stages);
    assert!(r.run_dir.join("workspace/ran").exists());
    let file = r.run_dir.join("scripts/big");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), script);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn a_process_that_leaves_its_group_is_killed_by_the_end_of_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    // Regression: `setsid` escaped the group kill and ran on after `flow`.
    let p = Flow::new("f")
        .stage(
            "escape",
            "setsid bash -c 'echo $$ > \"$FLOW_WORKSPACE/escapee\"; exec sleep 300' \
             > /dev/null 2>&1 < /dev/null &\n\
             while [ ! -s \"$FLOW_WORKSPACE/escapee\" ]; do sleep 0.01; done",
            |_| {},
        )
        .stage("after", "sleep 0.2", |s| {
            s.needs(&["escape"]);
        })
        .build();
    let r = go(&p, tmp.path()).await;
    assert_eq!(r.outcome, RunOutcome::Succeeded, "{:?}", r.stages);
    let escapee = pids_in(&r.run_dir.join("workspace/escapee")).await[0];
    assert!(!alive(escapee), "the escapee {escapee} outlived the run");
}

#[tokio::test]
async fn a_stage_killed_at_its_timeout_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .stage(
            "slow",
            "sleep 300 & echo $! >> \"$FLOW_WORKSPACE/pids\"\n\
             setsid sleep 300 > /dev/null 2>&1 < /dev/null & echo $! >> \"$FLOW_WORKSPACE/pids\"\n\
             echo $$ >> \"$FLOW_WORKSPACE/pids\"\n\
             sleep 300",
            |s| {
                s.timeout(Duration::from_millis(500))
                    .grace(Duration::from_millis(500));
            },
        )
        .build();
    let t = Instant::now();
    let r = go(&p, tmp.path()).await;
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(
        r.outcome,
        RunOutcome::Failed("slow".into()),
        "{:?}",
        r.stages
    );
    let pids = pids_in(&r.run_dir.join("workspace/pids")).await;
    assert_eq!(pids.len(), 3);
    for pid in pids {
        assert!(!alive(pid), "{pid} outlived the run");
    }
}

#[tokio::test]
async fn a_dead_supervisor_fails_the_running_attempts_leaves_nothing_and_finally_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .stage(
            "a",
            "echo $PPID $$ > \"$FLOW_WORKSPACE/a\"; sleep 300",
            |_| {},
        )
        .stage(
            "b",
            "sleep 300 & echo $! $$ > \"$FLOW_WORKSPACE/b\"; wait",
            |_| {},
        )
        .finally("cleanup", "touch \"$FLOW_WORKSPACE/cleaned\"", |_| {})
        .build();
    let base = tmp.path().to_path_buf();
    let t = Instant::now();
    let handle = tokio::spawn(async move { go(&p, &base).await });
    let ws = workspace(tmp.path()).await;
    let a = pids_in(&ws.join("a")).await;
    let b = pids_in(&ws.join("b")).await;
    let supervisor = a[0];
    assert_ne!(
        supervisor,
        std::process::id() as i32,
        "the stage is a child of flow itself, not of a supervisor"
    );
    kill(Pid::from_raw(supervisor), Signal::SIGKILL).unwrap();
    let r = tokio::time::timeout(Duration::from_secs(5), handle)
        .await
        .expect("the run ends when its supervisor dies")
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(10));
    for name in ["a", "b"] {
        let stage = r.stages.iter().find(|s| s.name == name).unwrap();
        match &stage.outcome {
            Some(StageOutcome::Failed { reason, .. }) => {
                assert!(reason.contains("supervisor process died"), "{reason}")
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    assert!(
        matches!(r.outcome, RunOutcome::Failed(_)),
        "{:?}",
        r.outcome
    );
    assert!(
        r.run_dir.join("workspace/cleaned").exists(),
        "finally ran under a new supervisor"
    );
    for pid in a[1..].iter().chain(&b) {
        // SIGKILL is sent before the run ends; on a loaded machine the
        // process may take a moment to die (the promise: within 1 s).
        let until = Instant::now() + Duration::from_secs(1);
        while alive(*pid) && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!alive(*pid), "{pid} outlived its supervisor by 1 s");
    }
}

/// The supervisor holds `Spawned` back for a moment (a short attempt's is
/// sent with its `Exited`); if it dies meanwhile, `flow` never heard the
/// attempt's pid. The attempt's leader, re-parented to `flow`, is found by
/// its environment and its group killed like the others.
#[tokio::test]
async fn an_attempt_whose_pid_flow_never_heard_dies_with_its_supervisor() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .stage(
            "a",
            "echo $PPID $$ > \"$FLOW_WORKSPACE/a\"; sleep 300 & echo $! >> \"$FLOW_WORKSPACE/a\"; wait",
            |_| {},
        )
        .build();
    let mut opts = common::options(tmp.path());
    // Held for far longer than the test: `flow` never hears the pid.
    let mut command = common::supervisor();
    command.args = vec![flow_runtime::supervisor::HOLD_ARG.into(), "600000".into()];
    opts.supervisor = command.into();
    let handle = tokio::spawn(async move { run(&p, opts).await.expect("run carried out") });
    let ws = workspace(tmp.path()).await;
    let t = Instant::now();
    let pids = loop {
        let pids = pids_in(&ws.join("a")).await;
        if pids.len() == 3 {
            break pids;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "{pids:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    kill(Pid::from_raw(pids[0]), Signal::SIGKILL).unwrap();
    let r = tokio::time::timeout(Duration::from_secs(5), handle)
        .await
        .expect("the run ends when its supervisor dies")
        .unwrap();
    let stage = r.stages.iter().find(|s| s.name == "a").unwrap();
    match &stage.outcome {
        Some(StageOutcome::Failed { reason, .. }) => {
            assert!(reason.contains("supervisor process died"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    for pid in &pids[1..] {
        let until = Instant::now() + Duration::from_secs(1);
        while alive(*pid) && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!alive(*pid), "{pid} outlived its supervisor by 1 s");
    }
}
