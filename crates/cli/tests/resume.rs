//! `flow resume`: what it continues, what it never runs again, what it
//! refuses. The real binary; runs interrupted with SIGKILL, SIGINT, or
//! ending failed / `ends run`.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;
use support::{eventually, live_group_members};

fn flow(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flow"))
        .env("FLOW_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("flow runs")
}

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_flow"))
        .env("FLOW_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("flow starts")
}

fn the_run(dir: &Path) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(dir.join(".flow/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "one run");
    runs[0].clone()
}

/// The run folder once `flow run` has made it (`.flow/runs/` may exist
/// empty a moment before): for conditions polled while the run starts.
fn started_run(dir: &Path) -> Option<PathBuf> {
    let runs: Vec<PathBuf> = std::fs::read_dir(dir.join(".flow/runs"))
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    (runs.len() == 1).then(|| runs[0].clone())
}

fn journal(dir: &Path) -> Vec<Value> {
    flow_runtime::journal::read_journal(&the_run(dir).join("journal.jsonl")).unwrap()
}

/// The last settle (or skip) of `stage`: `succeeded`, `failed`, `skipped`.
fn outcome(events: &[Value], stage: &str) -> String {
    events
        .iter()
        .rev()
        .find(|e| {
            (e["event"] == "stage_settled" || e["event"] == "stage_skipped") && e["stage"] == stage
        })
        .map(|e| {
            if e["event"] == "stage_skipped" {
                "skipped".to_string()
            } else {
                e["outcome"].as_str().unwrap().to_string()
            }
        })
        .unwrap_or_else(|| "none".into())
}

fn run_outcome(events: &[Value]) -> String {
    let last = events.iter().rev().find(|e| e["event"] == "run_finished");
    last.map_or("none".into(), |e| e["outcome"].as_str().unwrap().into())
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Kills `flow` with SIGKILL once `ready` holds, then waits for the stage
/// processes it had started to end (no supervisor kills them yet).
fn kill_when(dir: &Path, mut child: Child, ready: impl Fn() -> bool) {
    assert!(eventually(Duration::from_secs(20), &ready), "never ready");
    child.kill().unwrap();
    child.wait().unwrap();
    wait_for_stages(dir);
}

/// Waits until no process of any attempt of the run is alive.
fn wait_for_stages(dir: &Path) {
    let pids: Vec<u32> = journal(dir)
        .iter()
        .filter(|e| e["event"] == "stage_started")
        .filter_map(|e| e["pid"].as_u64())
        .map(|p| p as u32)
        .collect();
    assert!(
        eventually(Duration::from_secs(20), || pids
            .iter()
            .all(|p| live_group_members(*p).is_empty())),
        "stage processes left"
    );
}

const CHAIN: &str = r#"flow chain {
  stage a { run "echo a >> $FLOW_WORKSPACE/trace" }
  stage b {
    needs a
    run """
      echo "b $FLOW_ATTEMPT $FLOW_RUN_ID $FLOW_NONCE $GREETING" >> $FLOW_WORKSPACE/trace
      touch $FLOW_WORKSPACE/b-started
      sleep 2
    """
  }
  stage c { needs b  run "echo c >> $FLOW_WORKSPACE/trace" }
  finally cleanup { run "echo cleanup >> $FLOW_WORKSPACE/trace" }
  param greeting: str = "hi"
}
"#;

#[test]
fn a_killed_run_goes_on_from_where_it_was_with_its_params_id_and_nonce() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.flow"), CHAIN).unwrap();
    let child = spawn(dir.path(), &["run", "f.flow", "--greeting", "hello"]);
    let run = || the_run(dir.path());
    kill_when(dir.path(), child, || {
        started_run(dir.path()).is_some_and(|r| r.join("workspace/b-started").exists())
    });
    let out = flow(dir.path(), &["resume", "last"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace = lines(&run().join("workspace/trace"));
    let id = run().file_name().unwrap().to_string_lossy().to_string();
    let nonce = id.rsplit('-').next().unwrap().to_string();
    // `a` succeeded before the kill and never ran again; `b`'s lost attempt
    // became attempt 2, with the original params, run id and nonce.
    assert_eq!(
        trace,
        [
            "a".to_string(),
            format!("b 1 {id} {nonce} hello"),
            format!("b 2 {id} {nonce} hello"),
            "c".into(),
            "cleanup".into()
        ]
    );
    let events = journal(dir.path());
    assert_eq!(
        events
            .iter()
            .filter(|e| e["event"] == "run_resumed")
            .count(),
        1
    );
    assert_eq!(run_outcome(&events), "succeeded");
    // Resuming a run that succeeded does nothing.
    let again = flow(dir.path(), &["resume", &id[..10]]);
    assert_eq!(again.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already succeeded"));
    assert_eq!(lines(&run().join("workspace/trace")).len(), 5);
}

#[test]
fn a_torn_last_line_is_cut_and_the_run_resumed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.flow"), CHAIN).unwrap();
    let child = spawn(dir.path(), &["run", "f.flow"]);
    let run = || the_run(dir.path());
    kill_when(dir.path(), child, || {
        started_run(dir.path()).is_some_and(|r| r.join("workspace/b-started").exists())
    });
    // A crash in the middle of a line (a multi-byte character cut too).
    let path = run().join("journal.jsonl");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice("{\"ts\":\"2026\",\"event\":\"stage_fini\u{e9}".as_bytes());
    bytes.pop();
    std::fs::write(&path, &bytes).unwrap();
    let out = flow(dir.path(), &["resume", "last"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every line of the journal parses: the torn one was cut, not glued to
    // the next.
    let text = std::fs::read_to_string(&path).unwrap();
    for line in text.lines() {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    }
    assert_eq!(run_outcome(&journal(dir.path())), "succeeded");
}

#[test]
fn a_changed_flow_is_refused_unless_forced_and_a_live_run_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.flow"), CHAIN).unwrap();
    let mut child = spawn(dir.path(), &["run", "f.flow"]);
    let run = || the_run(dir.path());
    assert!(eventually(Duration::from_secs(20), || {
        started_run(dir.path()).is_some_and(|r| r.join("workspace/b-started").exists())
    }));
    // Still running: refused, and it is left alone.
    let live = flow(dir.path(), &["resume", "last"]);
    assert_eq!(live.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&live.stderr).contains("is still running"),
        "{}",
        String::from_utf8_lossy(&live.stderr)
    );
    child.kill().unwrap();
    child.wait().unwrap();
    wait_for_stages(dir.path());

    std::fs::write(dir.path().join("f.flow"), CHAIN.replace("echo c", "echo C")).unwrap();
    let out = flow(dir.path(), &["resume", "last"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let file = dir.path().canonicalize().unwrap().join("f.flow");
    assert!(
        err.contains(&format!("{} (changed)", file.display())) && err.contains("--force"),
        "{err}"
    );
    assert!(!journal(dir.path())
        .iter()
        .any(|e| e["event"] == "run_resumed"));
    let forced = flow(dir.path(), &["resume", "last", "--force"]);
    assert_eq!(forced.status.code(), Some(0));
    let trace = lines(&run().join("workspace/trace"));
    assert!(trace.contains(&"C".to_string()), "{trace:?}");
    let resumed = journal(dir.path());
    let resumed = resumed
        .iter()
        .find(|e| e["event"] == "run_resumed")
        .unwrap();
    assert_eq!(
        resumed["changed"][0],
        format!("{} (changed)", file.display())
    );
}

#[test]
fn a_failed_run_redoes_the_failed_stage_only_and_runs_finally_again() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"flow f {
  stage a { run "echo a >> $FLOW_WORKSPACE/trace" }
  stage b {
    needs a
    retry 1
    run "echo b$FLOW_ATTEMPT >> $FLOW_WORKSPACE/trace; test -e $FLOW_WORKSPACE/fixed"
  }
  stage c { needs b  run "echo c >> $FLOW_WORKSPACE/trace" }
  finally cleanup { run "echo cleanup >> $FLOW_WORKSPACE/trace" }
}
"#;
    std::fs::write(dir.path().join("f.flow"), text).unwrap();
    let first = flow(dir.path(), &["run", "f.flow", "--quiet"]);
    assert_eq!(first.status.code(), Some(1));
    let run = the_run(dir.path());
    std::fs::write(run.join("workspace/fixed"), "").unwrap();
    let out = flow(dir.path(), &["resume", "last", "--quiet"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // b's third attempt is the redone one: not counted against `retry 1`.
    assert_eq!(
        lines(&run.join("workspace/trace")),
        ["a", "b1", "b2", "cleanup", "b3", "c", "cleanup"]
    );
    let events = journal(dir.path());
    assert_eq!(outcome(&events, "b"), "succeeded");
    assert_eq!(run_outcome(&events), "succeeded");
}

#[test]
fn an_ended_run_redoes_the_attempt_that_routed_to_the_ends_run_stage() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"flow f {
  stage plan {
    run "echo plan >> $FLOW_WORKSPACE/trace; test -e $FLOW_WORKSPACE/unblocked || exit 2"
    on exit 2 -> notify_blocked
  }
  stage notify_blocked { ends run blocked  run "echo blocked >> $FLOW_WORKSPACE/trace" }
  stage ship { needs plan  run "echo ship >> $FLOW_WORKSPACE/trace" }
}
"#;
    std::fs::write(dir.path().join("f.flow"), text).unwrap();
    let first = flow(dir.path(), &["run", "f.flow", "--quiet"]);
    assert_eq!(first.status.code(), Some(1));
    assert_eq!(run_outcome(&journal(dir.path())), "blocked");
    let run = the_run(dir.path());
    std::fs::write(run.join("workspace/unblocked"), "").unwrap();
    let out = flow(dir.path(), &["resume", "last", "--quiet"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        lines(&run.join("workspace/trace")),
        ["plan", "blocked", "plan", "ship"]
    );
    assert_eq!(run_outcome(&journal(dir.path())), "succeeded");
}

#[test]
fn a_cancelled_run_goes_on_and_max_counts_the_visits_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"flow f {
  stage start { run "true"  on success -> check }
  stage check {
    run "echo check $FLOW_VISIT >> $FLOW_WORKSPACE/trace; exit 1"
    on failure -> fix
  }
  stage fix {
    max 3
    run """
      echo fix $FLOW_VISIT $FLOW_ATTEMPT >> $FLOW_WORKSPACE/trace
      if [ "$FLOW_VISIT" = 2 ] && [ ! -e $FLOW_WORKSPACE/cancelled ]; then
        touch $FLOW_WORKSPACE/cancelled; sleep 5
      fi
    """
    on success -> check
    on failure -> give_up
  }
  stage give_up { run "echo give_up >> $FLOW_WORKSPACE/trace" }
}
"#;
    std::fs::write(dir.path().join("f.flow"), text).unwrap();
    let child = spawn(dir.path(), &["run", "f.flow"]);
    let run = || the_run(dir.path());
    assert!(eventually(Duration::from_secs(20), || {
        started_run(dir.path()).is_some_and(|r| r.join("workspace/cancelled").exists())
    }));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert_eq!(run_outcome(&journal(dir.path())), "cancelled");
    let out = flow(dir.path(), &["resume", "last", "--quiet"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // fix visit 2 was killed and is redone as attempt 2; the 4th route to
    // fix hits `max 3` counting the visits before the cancel.
    assert_eq!(
        lines(&run().join("workspace/trace")),
        [
            "check 1", "fix 1 1", "check 2", "fix 2 1", "fix 2 2", "check 3", "fix 3 1", "check 4",
            "give_up"
        ]
    );
    let events = journal(dir.path());
    assert_eq!(outcome(&events, "fix"), "failed");
    assert_eq!(outcome(&events, "give_up"), "succeeded");
    assert_eq!(run_outcome(&events), "succeeded");
}

/// `flow resume` looked for a `flow-supervisor` program beside `flow`, which
/// `cargo install` does not put there: an installed `flow` could run a flow
/// but not resume it. A `flow` copied alone into a folder runs a flow that
/// fails once, then resumes it to success through `flow __supervisor`.
#[test]
fn an_installed_flow_alone_resumes_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let exe = bin.join("flow");
    std::fs::copy(env!("CARGO_BIN_EXE_flow"), &exe).unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    std::fs::write(
        work.join("once.flow"),
        "flow once {\n  timeout 1m\n  stage a { run \"test -e $FLOW_WORKSPACE/again || { touch $FLOW_WORKSPACE/again; exit 1; }\" }\n}\n",
    )
    .unwrap();
    let installed = |args: &[&str]| {
        Command::new(&exe)
            .env("FLOW_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .current_dir(&work)
            .args(args)
            .output()
            .unwrap()
    };
    let first = installed(&["run", "once.flow", "--quiet"]);
    assert_eq!(first.status.code(), Some(1), "{first:?}");
    let resumed = installed(&["resume", "last", "--quiet"]);
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert_eq!(resumed.status.code(), Some(0), "{stderr}");
    assert_eq!(outcome(&journal(&work), "a"), "succeeded");
}
