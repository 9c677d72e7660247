//! The run-history commands with the real binary: `flow runs`, `show`,
//! `logs`, `cancel`, `prune`, and how RUN is named.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn flow_cmd(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_flow"));
    c.env("FLOW_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(args);
    c
}

fn flow(dir: &Path, args: &[&str]) -> Output {
    flow_cmd(dir, args).output().expect("flow runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const HELLO: &str = r#"flow hello {
  timeout 1m
  param n: int = 1
  stage build {
    run "echo building $N; mkdir -p out; echo x > out/app"
    outputs "out/app"
  }
  stage test {
    needs build
    run "echo testing; test $N = 1"
    retry 1
  }
}
"#;

const SLOW: &str = r#"flow slow {
  timeout 1m
  stage nap {
    run "echo napping; sleep 30; echo woke"
  }
  stage done {
    needs nap
    run "true"
  }
}
"#;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.flow"), HELLO).unwrap();
    std::fs::write(dir.path().join("slow.flow"), SLOW).unwrap();
    dir
}

/// `flow runs --json`, parsed.
fn runs_json(dir: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["runs", "--json"];
    args.extend_from_slice(extra);
    let o = flow(dir, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_slice::<serde_json::Value>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Starts `flow run slow.flow` and waits until its stage runs (the caller
/// waits for the child; it is killed here if it never gets there).
#[allow(clippy::zombie_processes)] // returned to the caller, which waits
fn start_slow(dir: &Path) -> Child {
    let mut child = flow_cmd(dir, &["run", "slow.flow", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    loop {
        let running = runs_json(dir, &["--state", "running"]);
        if let Some(run) = running.first() {
            let o = flow(dir, &["show", run["id"].as_str().unwrap(), "--json"]);
            let shown: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            if shown["stages"][0]["outcome"] == "running" {
                return child;
            }
        }
        if t.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the slow run never ran: {:?}", runs_json(dir, &[]));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_exit(child: &mut Child, limit: Duration) -> Option<i32> {
    let t = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("flow run did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn history_runs_lists_filters_and_survives_a_deleted_index() {
    let dir = project();
    let d = dir.path();
    assert_eq!(
        flow(d, &["run", "hello.flow", "--quiet"]).status.code(),
        Some(0)
    );
    assert_eq!(
        flow(d, &["run", "hello.flow", "--quiet", "--n", "2"])
            .status
            .code(),
        Some(1)
    );
    let all = runs_json(d, &[]);
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["outcome"], "succeeded");
    assert_eq!(all[1]["outcome"], "failed");
    assert_eq!(all[1]["state"], "finished");
    assert_eq!(all[1]["params"]["n"], 2);
    assert_eq!(all[0]["flow"], "hello");
    assert_eq!(all[0]["alive"], false);
    assert_eq!(runs_json(d, &["--state", "failed"]).len(), 1);
    assert_eq!(runs_json(d, &["--state", "finished"]).len(), 2);
    assert_eq!(runs_json(d, &["--flow", "other"]).len(), 0);
    let human = flow(d, &["runs"]);
    let text = stdout(&human);
    assert!(text.starts_with("RUN"), "{text}");
    assert!(
        text.contains("succeeded") && text.contains("failed"),
        "{text}"
    );

    // The index is a cache: without it, the journals give it back.
    for f in ["flow.db", "flow.db-wal", "flow.db-shm"] {
        let _ = std::fs::remove_file(d.join(".flow").join(f));
    }
    let rebuilt = runs_json(d, &[]);
    assert_eq!(rebuilt, all);
    assert!(d.join(".flow/flow.db").is_file());
}

#[test]
fn history_show_gives_each_stage_its_attempts_artifacts_and_logs() {
    let dir = project();
    let d = dir.path();
    flow(d, &["run", "hello.flow", "--quiet", "--n", "2"]);
    let o = flow(d, &["show", "last", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let run: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(run["outcome"], "failed");
    assert_eq!(run["state"], "finished");
    let build = &run["stages"][0];
    assert_eq!(build["name"], "build");
    assert_eq!(build["outcome"], "succeeded");
    assert_eq!(build["artifacts"], serde_json::json!(["out/app"]));
    let test = &run["stages"][1];
    assert_eq!(test["outcome"], "failed");
    assert_eq!(test["attempts"].as_array().unwrap().len(), 2, "{test}");
    assert_eq!(test["attempts"][1]["exit_code"], 1);
    let log = PathBuf::from(test["attempts"][1]["log"].as_str().unwrap());
    assert!(d.join(&log).is_file(), "{}", log.display());

    let human = stdout(&flow(d, &["show", "last"]));
    assert!(human.contains("test  failed"), "{human}");
    assert!(human.contains("1.2  exit 1"), "{human}");
    assert!(human.contains("artifacts: out/app"), "{human}");
    assert!(human.contains("logs/test.1.2.log"), "{human}");
}

#[test]
fn history_logs_prints_attempts_in_order_or_one_stage() {
    let dir = project();
    let d = dir.path();
    flow(d, &["run", "hello.flow", "--quiet"]);
    let all = stdout(&flow(d, &["logs", "last"]));
    let (b, t) = (
        all.find("building 1").unwrap(),
        all.find("testing").unwrap(),
    );
    assert!(b < t, "{all}");
    assert!(all.contains("==> build (visit 1, attempt 1) <=="), "{all}");
    assert_eq!(stdout(&flow(d, &["logs", "last", "test"])), "testing\n");
    let o = flow(d, &["logs", "last", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no attempt of stage `nope`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn history_run_names_ids_prefixes_and_last_with_clear_errors() {
    let dir = project();
    let d = dir.path();
    let o = flow(d, &["show", "last"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no runs in"), "{}", stderr(&o));
    flow(d, &["run", "hello.flow", "--quiet"]);
    flow(d, &["run", "hello.flow", "--quiet"]);
    let ids: Vec<String> = runs_json(d, &[])
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    // A unique prefix names its run.
    let (a, b) = (&ids[0], &ids[1]);
    let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let unique = &b[..common + 1];
    let shown: serde_json::Value =
        serde_json::from_slice(&flow(d, &["show", unique, "--json"]).stdout).unwrap();
    assert_eq!(shown["id"], b.as_str());
    let last: serde_json::Value =
        serde_json::from_slice(&flow(d, &["show", "last", "--json"]).stdout).unwrap();
    assert_eq!(last["id"], b.as_str(), "last is the run started last");
    // Ambiguous: both candidates listed.
    let o = flow(d, &["show", &a[..common]]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("matches 2 runs") && err.contains(a) && err.contains(b),
        "{err}"
    );
    let o = flow(d, &["logs", "nosuchrun"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no run `nosuchrun`"), "{}", stderr(&o));
}

/// Writes a run that looks alive to a pid check: recorded with `pid` (a
/// live process), not finished, its lock free.
fn fake_dead_run(d: &Path, id: &str, pid: u32) {
    let root = d.join(".flow/runs").join(id);
    std::fs::create_dir_all(&root).unwrap();
    let lines = [
        serde_json::json!({"ts": "2020-01-01T00:00:00.000Z", "event": "run_started", "flow": "slow",
            "run_id": id, "nonce": "dead00", "params": {}, "file": null, "pid": pid}),
        serde_json::json!({"ts": "2020-01-01T00:00:00.100Z", "event": "stage_started",
            "stage": "nap", "visit": 1, "attempt": 1, "pid": pid, "dir": "x"}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(root.join("journal.jsonl"), text).unwrap();
}

#[test]
fn history_cancel_stops_another_process_run_gracefully_and_never_a_dead_one() {
    let dir = project();
    let d = dir.path();
    // A dead run whose pid is now someone else's (a `sleep` of ours): not
    // alive, so nobody is signalled.
    let mut bystander = Command::new("sleep").arg("30").spawn().unwrap();
    fake_dead_run(d, "20200101T000000Z-dead00", bystander.id());
    let o = flow(d, &["cancel", "20200101T000000Z-dead00"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is not running"), "{}", stderr(&o));
    assert!(
        bystander.try_wait().unwrap().is_none(),
        "the reused pid was signalled"
    );
    let _ = bystander.kill();
    let _ = bystander.wait();

    let mut child = start_slow(d);
    let t = Instant::now();
    let o = flow(d, &["cancel", "last"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("cancelled"), "{}", stderr(&o));
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "cancel took {:?}",
        t.elapsed()
    );
    assert_eq!(wait_exit(&mut child, Duration::from_secs(10)), Some(130));
    let last = runs_json(d, &[]).pop().unwrap();
    assert_eq!(last["outcome"], "cancelled");
    // Already finished: says so, exit 1.
    let o = flow(d, &["cancel", "last"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("already finished (cancelled)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn history_logs_follow_ends_when_the_run_ends() {
    let dir = project();
    let d = dir.path();
    std::fs::write(
        d.join("tick.flow"),
        "flow tick {\n  timeout 1m\n  stage a {\n    run \"\"\"\n      for i in 1 2 3; do echo tick $i; sleep 0.3; done\n    \"\"\"\n  }\n}\n",
    )
    .unwrap();
    let mut run = flow_cmd(d, &["run", "tick.flow", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while runs_json(d, &[]).is_empty() {
        assert!(t.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = flow_cmd(d, &["logs", "last", "a", "--follow"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(wait_exit(&mut run, Duration::from_secs(10)), Some(0));
    assert_eq!(stdout(&o).matches("tick").count(), 3, "{}", stdout(&o));
    assert!(stdout(&o).contains("tick 3"), "{}", stdout(&o));
}

#[test]
fn history_prune_keeps_recent_and_active_runs() {
    let dir = project();
    let d = dir.path();
    for _ in 0..3 {
        flow(d, &["run", "hello.flow", "--quiet"]);
    }
    let mut child = start_slow(d);
    let before = runs_json(d, &[]);
    assert_eq!(before.len(), 4);
    // Every finished run is old enough for 0s; the active one stays.
    let o = flow(d, &["prune", "--older-than", "0s"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 3, "{}", stdout(&o));
    assert!(stderr(&o).contains("kept 1 active run"), "{}", stderr(&o));
    let after = runs_json(d, &[]);
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["flow"], "slow");
    assert!(d.join(after[0]["dir"].as_str().unwrap()).is_dir());
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    assert_eq!(wait_exit(&mut child, Duration::from_secs(10)), Some(130));

    for _ in 0..2 {
        flow(d, &["run", "hello.flow", "--quiet"]);
    }
    let o = flow(d, &["prune", "--keep", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let left = runs_json(d, &[]);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["flow"], "hello", "the newest run is kept");
    assert_eq!(std::fs::read_dir(d.join(".flow/runs")).unwrap().count(), 1);
    // Nothing to say which runs: a usage error.
    assert_eq!(flow(d, &["prune"]).status.code(), Some(2));
    // A week is longer than this test: nothing removed.
    let o = flow(d, &["prune", "--older-than", "7d"]);
    assert!(stderr(&o).contains("removed 0 runs"), "{}", stderr(&o));
}

#[test]
fn history_runs_into_a_closed_pipe_does_not_panic() {
    let dir = project();
    let d = dir.path();
    // Enough runs for the listing to outgrow a pipe buffer (64 KiB).
    for i in 0..1500 {
        fake_dead_run(d, &format!("20200101T{:06}Z-abcdef", i), 1);
    }
    let mut child = flow_cmd(d, &["runs"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::BufRead;
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(first.starts_with("RUN"), "{first}");
    } // the read end closes here, like `| head -1`
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}

/// Issue 7 §5: `flow stats` over finished runs: success and escalation
/// rates, loop visits, per-stage counts and durations.
#[test]
fn stats_sum_up_the_finished_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.flow"),
        "flow s {\n  timeout 1m\n  param mode: str = \"ok\"\n  stage a {\n    timeout 10s\n    run \"test \\\"$MODE\\\" != fail\"\n    on failure -> blocked\n  }\n  stage poll {\n    needs a\n    timeout 10s\n    max 3\n    run \"test -e \\\"$FLOW_WORKSPACE/seen\\\" || { touch \\\"$FLOW_WORKSPACE/seen\\\"; exit 1; }\"\n    on failure -> again after 10ms\n  }\n  stage blocked {\n    timeout 10s\n    run \"true\"\n    ends run blocked\n  }\n}\n",
    )
    .unwrap();
    let flow = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_flow"))
            .env("FLOW_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    assert_eq!(flow(&["run", "s.flow"]).status.code(), Some(0));
    assert_eq!(flow(&["run", "s.flow"]).status.code(), Some(0));
    assert_eq!(
        flow(&["run", "s.flow", "--mode", "fail"]).status.code(),
        Some(1)
    );
    let out = flow(&["stats", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &all[0];
    assert_eq!(s["flow"], "s");
    assert_eq!(s["runs"], 3);
    assert_eq!(s["outcomes"]["succeeded"], 2);
    assert_eq!(s["outcomes"]["blocked"], 1);
    assert!((s["success_rate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert!((s["escalation_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    // A poll loop that succeeds on its second visit, in every run that gets there.
    assert_eq!(s["stages"]["poll"]["runs"], 2);
    assert_eq!(s["stages"]["poll"]["max_visits"], 2);
    assert_eq!(s["stages"]["a"]["runs"], 3);
    assert_eq!(s["stages"]["a"]["succeeded"], 2);
    assert!(s.get("usage").is_none(), "no agent reported usage");
    let text = String::from_utf8(flow(&["stats", "--flow", "s"]).stdout).unwrap();
    assert!(
        text.contains("success rate 67%  escalation rate 33%"),
        "{text}"
    );
    let none = flow(&["stats", "--since", "1ms"]);
    assert_eq!(none.status.code(), Some(0));
}
