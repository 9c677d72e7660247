//! SIGKILL `flow serve` mid-run and start it again: queued runs are still
//! queued, the interrupted run resumes (`run_resumed` in its journal) and
//! every run ends.

mod support;

use serde_json::json;
use support::serve::{wait_for, Project};

const LONG: &str = r#"
flow long {
  timeout 5m
  stage first { run "echo one" }
  stage wait {
    needs first
    run "sleep 3"
  }
}
"#;

#[test]
fn a_killed_server_keeps_its_queue_and_resumes_its_interrupted_runs() {
    let p = Project::new(&[("long", LONG)]);
    let s = p.serve(&["--jobs", "1"]);
    let a = s.submit(json!({"flow": "long", "key": "a"}));
    let b = s.submit(json!({"flow": "long", "key": "b"}));
    wait_for("run a to be in its sleeping stage", || {
        s.run(&a)["stages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|st| st["name"] == "wait" && st["outcome"] == "running")
    });
    assert_eq!(s.run(&b)["state"], "queued");
    s.kill();

    let s = p.serve(&["--jobs", "1"]);
    // b waits behind a (one job), a sleeps 3 s again after resuming.
    let now_b = s.run(&b);
    assert_eq!(now_b["state"], "queued", "{now_b}");
    // The keys are still held.
    let (status, dup) = s.post("/api/runs", &json!({"flow": "long", "key": "b"}));
    assert_eq!((status, dup["id"].as_str()), (409, Some(b.as_str())));
    let run_a = s.wait_finished(&a);
    assert_eq!(run_a["outcome"], "succeeded", "{run_a}\n{}", s.output());
    let run_b = s.wait_finished(&b);
    assert_eq!(run_b["outcome"], "succeeded", "{run_b}");
    let journal_a = p.journal(&a);
    assert!(
        journal_a.iter().any(|e| e["event"] == "run_resumed"),
        "{journal_a:?}"
    );
    // The stage that had succeeded is not run again.
    let firsts = journal_a
        .iter()
        .filter(|e| e["event"] == "stage_started" && e["stage"] == "first")
        .count();
    assert_eq!(firsts, 1);
    assert!(!p.journal(&b).iter().any(|e| e["event"] == "run_resumed"));
}

#[test]
fn ctrl_c_stops_the_server_even_with_a_stream_open_and_its_run_resumes_later() {
    let p = Project::new(&[("long", LONG)]);
    let s = p.serve(&[]);
    let a = s.submit(json!({"flow": "long"}));
    wait_for("run a to be in its sleeping stage", || {
        s.run(&a)["stages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|st| st["name"] == "wait" && st["outcome"] == "running")
    });
    // An open event stream (a dashboard) must not hold the server up.
    let url = format!("{}/api/runs/{a}/events", s.url);
    let stream = std::thread::spawn(move || support::serve::read_stream(&url, None).len());
    std::thread::sleep(std::time::Duration::from_millis(200));
    let status = s.interrupt();
    assert_eq!(status.code(), Some(0));
    assert!(stream.join().unwrap() >= 1);
    let s = p.serve(&[]);
    let run = s.wait_finished(&a);
    assert_eq!(run["outcome"], "succeeded", "{run}");
    assert!(p.journal(&a).iter().any(|e| e["event"] == "run_resumed"));
}

#[test]
fn an_interrupted_run_that_cannot_resume_is_retried_after_a_wait_not_in_a_loop() {
    let p = Project::new(&[("long", LONG)]);
    let s = p.serve(&[]);
    let a = s.submit(json!({"flow": "long"}));
    wait_for("run a to be in its sleeping stage", || {
        s.run(&a)["stages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|st| st["name"] == "wait" && st["outcome"] == "running")
    });
    s.kill();
    // Its flow changed since it started: `flow resume` refuses it.
    p.write("long", &LONG.replace("sleep 3", "sleep 4"));
    let s = p.serve(&[]);
    let retry = format!("run {a} is interrupted again: resuming it (retry 1)");
    wait_for("the first retry", || s.output().contains(&retry));
    let out = s.output();
    // Resumed once at start, then once more after the first wait: never in
    // a loop meanwhile.
    let first = format!("resuming interrupted run {a}");
    assert_eq!(out.matches(&first).count(), 1, "{out}");
    assert!(!out.contains("(retry 2)"), "{out}");
    // The retried resume refused too (it may hold the run a moment).
    wait_for("run a to be interrupted again", || {
        s.run(&a)["state"] == "interrupted"
    });
    // The refusal is in the run's own log.
    let said = std::fs::read_to_string(p.run_root(&a).join("serve.log")).unwrap();
    assert!(said.contains("changed"), "{said}");
}
