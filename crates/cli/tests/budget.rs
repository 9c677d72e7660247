//! Issue 7 §2: a `budget` stops what crosses it, like a timeout, with its
//! own routable outcome; never retried. Usage comes from a stage's status
//! object or, while it runs, from its `$FLOW_USAGE_FILE`.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn run(dir: &Path, text: &str) -> (Output, Duration) {
    std::fs::write(dir.join("b.flow"), text).unwrap();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_flow"))
        .env("FLOW_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .current_dir(dir)
        .args(["run", "b.flow"])
        .output()
        .unwrap();
    (out, started.elapsed())
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn journal(dir: &Path) -> Vec<serde_json::Value> {
    let runs = dir.join(".flow/runs");
    let run = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    flow_runtime::journal::read_journal(&run.join("journal.jsonl")).unwrap()
}

fn finished(journal: &[serde_json::Value], stage: &str) -> Vec<serde_json::Value> {
    journal
        .iter()
        .filter(|e| e["event"] == "stage_finished" && e["stage"] == stage)
        .cloned()
        .collect()
}

/// A stage that reports its usage as it grows is stopped as soon as it
/// crosses its budget (not at its 60 s timeout), and `on budget` routes.
#[test]
fn a_stage_crossing_its_budget_while_it_runs_is_stopped_and_routed() {
    let dir = tempfile::tempdir().unwrap();
    let flow = r#"flow b {
  timeout 2m
  stage spend {
    timeout 60s
    retry 2
    budget 0.5 usd
    run """
      report() { printf '{"cost_usd": %s, "input_tokens": 10}' "$1" >"$FLOW_USAGE_FILE.tmp" && mv "$FLOW_USAGE_FILE.tmp" "$FLOW_USAGE_FILE"; }
      report 0.2
      sleep 0.3
      report 0.7
      sleep 60
    """
    on budget -> over
  }
  stage over {
    timeout 10s
    run "echo over budget, stopping"
  }
}
"#;
    let (out, took) = run(dir.path(), flow);
    let text = said(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(took < Duration::from_secs(20), "took {took:?}: {text}");
    assert!(text.contains("over budget, stopping"), "{text}");
    let journal = journal(dir.path());
    let spend = finished(&journal, "spend");
    assert_eq!(spend.len(), 1, "over budget is never retried: {spend:?}");
    assert_eq!(spend[0]["over_budget"], true);
    assert_eq!(spend[0]["timed_out"], false);
    assert_eq!(spend[0]["usage"]["cost_usd"], 0.7);
    assert!(text.contains("usage: $0.700"), "{text}");
}

/// The flow's budget bounds the whole run: a later stage whose usage
/// (reported at its end, in its status) crosses what is left ends over
/// budget; unrouted, that fails the run, and says why.
#[test]
fn the_flows_budget_bounds_the_run_across_stages() {
    let dir = tempfile::tempdir().unwrap();
    let flow = r#"flow b {
  timeout 2m
  budget 1000 tokens
  stage first {
    timeout 10s
    status json
    run "echo '{\"status\": \"DONE\", \"usage\": {\"input_tokens\": 500, \"output_tokens\": 100}}'"
  }
  stage second {
    needs first
    timeout 10s
    retry 3
    status json
    run "echo '{\"status\": \"DONE\", \"usage\": {\"input_tokens\": 300, \"output_tokens\": 150}}'"
  }
  stage third {
    needs second
    timeout 10s
    run "echo never"
  }
}
"#;
    let (out, _) = run(dir.path(), flow);
    let text = said(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("over budget"), "{text}");
    let journal = journal(dir.path());
    assert_eq!(finished(&journal, "first")[0].get("over_budget"), None);
    let second = finished(&journal, "second");
    assert_eq!(second.len(), 1, "never retried: {second:?}");
    assert_eq!(second[0]["over_budget"], true);
    assert!(finished(&journal, "third").is_empty(), "{text}");
    assert!(!text.contains("never"), "{text}");
}

/// Under its budget a stage succeeds, with its usage recorded from the
/// file it wrote (no status object needed).
#[test]
fn a_stage_under_its_budget_succeeds_and_its_usage_file_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let flow = r#"flow b {
  timeout 1m
  stage cheap {
    timeout 10s
    budget 1 usd, 1000 tokens
    run "echo '{\"cost_usd\": 0.25, \"output_tokens\": 20}' > \"$FLOW_USAGE_FILE\""
  }
}
"#;
    let (out, _) = run(dir.path(), flow);
    let text = said(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let journal = journal(dir.path());
    let cheap = finished(&journal, "cheap");
    assert_eq!(cheap[0]["usage"]["cost_usd"], 0.25);
    assert_eq!(cheap[0].get("over_budget"), None);
}

/// A stage that puts a FIFO where its usage file goes must not hang flow
/// (opening a FIFO to read waits for a writer): the file is refused, the
/// run ends as the stages do.
#[test]
fn a_fifo_as_the_usage_file_hangs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let flow = r#"flow b {
  timeout 1m
  stage watched {
    timeout 20s
    budget 1 usd
    run "mkfifo \"$FLOW_USAGE_FILE\" && sleep 1"
  }
  stage unwatched {
    timeout 20s
    run "mkfifo \"$FLOW_USAGE_FILE\""
  }
}
"#;
    std::fs::write(dir.path().join("b.flow"), flow).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_flow"))
        .env("FLOW_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .current_dir(dir.path())
        .args(["run", "b.flow", "--quiet"])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("flow hung on a FIFO usage file");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}
