//! `flow serve` end to end: a real server on loopback, spoken to over HTTP.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::serve::{read_events, request, wait_for, Project, Server};

const HELLO: &str = r#"
flow hello {
  param who: str = "world"
  timeout 5m
  stage greet {
    run "echo hello $WHO; mkdir -p out; echo data > out/file.txt; echo '{\"status\":\"DONE\",\"links\":{\"pr\":\"https://x/pull/1\"}}'"
    status json
    outputs "out/file.txt"
  }
}
"#;

/// A run that appends its param to `$LOG` and waits a little: order and
/// overlap can be read from the journals.
const SLOW: &str = r#"
flow slow {
  param n: int = 0
  timeout 5m
  stage work {
    run "sleep 0.3"
  }
}
"#;

#[test]
fn a_submitted_run_succeeds_and_the_api_shows_its_stages_links_logs_and_artifacts() {
    let p = Project::new(&[("hello", HELLO)]);
    let s = p.serve(&[]);
    let id = s.submit(
        json!({"flow": "hello", "key": "k1", "description": "say **hi**",
        "params": {"who": "api"}}),
    );
    let run = s.wait_finished(&id);
    assert_eq!(run["outcome"], "succeeded", "{run}");
    assert_eq!(run["flow"], "hello");
    assert_eq!(run["key"], "k1");
    assert_eq!(run["description"], "say **hi**");
    assert_eq!(run["params"]["who"], "api");
    assert_eq!(run["links"]["pr"], "https://x/pull/1");
    let stage = &run["stages"][0];
    assert_eq!(stage["name"], "greet");
    assert_eq!(stage["outcome"], "succeeded");
    assert_eq!(stage["attempts"][0]["exit_code"], 0);
    assert_eq!(stage["links"]["pr"], "https://x/pull/1");
    assert!(stage["artifacts"]
        .as_array()
        .unwrap()
        .contains(&json!("out/file.txt")));
    // The journal keeps the links.
    let journal = p.journal(&id);
    let finished = journal
        .iter()
        .find(|e| e["event"] == "stage_finished")
        .unwrap();
    assert_eq!(finished["links"]["pr"], "https://x/pull/1");
    assert_eq!(journal[0]["key"], "k1");
    // Listing and filters.
    let (_, all) = s.get("/api/runs?flow=hello&state=finished");
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert!(all[0].get("links").is_none(), "no details unless asked");
    let (_, none) = s.get("/api/runs?flow=other");
    assert_eq!(none, json!([]));
    let (_, detailed) = s.get("/api/runs?details=true&limit=1");
    assert_eq!(detailed[0]["links"]["pr"], "https://x/pull/1");
    assert!(detailed[0]["duration_ms"].is_u64());
    let second = s.submit(json!({"flow": "hello"}));
    s.wait_finished(&second);
    let (_, newest) = s.get("/api/runs?limit=1");
    assert_eq!(newest.as_array().unwrap().len(), 1);
    assert_eq!(newest[0]["id"], json!(second));
    // Logs.
    let (status, logs) = s.get(&format!("/api/runs/{id}/logs/greet?tail=5"));
    assert_eq!(status, 200);
    assert!(
        logs["lines"]
            .as_array()
            .unwrap()
            .contains(&json!("hello api")),
        "{logs}"
    );
    // Artifact download; no escape.
    let agent = support::serve::agent();
    let mut r = agent
        .get(&format!(
            "{}/api/runs/{id}/artifacts/greet/out/file.txt",
            s.url
        ))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let header = |r: &ureq::http::Response<ureq::Body>, name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert_eq!(header(&r, "content-type"), "application/octet-stream");
    assert_eq!(
        header(&r, "content-disposition"),
        "attachment; filename=\"file.txt\""
    );
    assert_eq!(r.body_mut().read_to_string().unwrap(), "data\n");
    // To open in the browser: text, sandboxed.
    let mut r = agent
        .get(&format!(
            "{}/api/runs/{id}/artifacts/greet/out/file.txt?view=true",
            s.url
        ))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(header(&r, "content-type").starts_with("text/plain"));
    assert!(header(&r, "content-disposition").starts_with("inline"));
    assert!(header(&r, "content-security-policy").contains("sandbox"));
    assert_eq!(r.body_mut().read_to_string().unwrap(), "data\n");
    for bad in [
        "greet/../../journal.jsonl",
        "greet/%2e%2e/%2e%2e/journal.jsonl",
        "..%2F..%2Fjournal.jsonl/x",
        "greet/out/..%2F..%2F..%2Fjournal.jsonl",
    ] {
        let (status, _) = s.get(&format!("/api/runs/{id}/artifacts/{bad}"));
        assert!(status == 400 || status == 404, "{bad}: {status}");
    }
    // `flow runs` sees the server's run in the same store.
    let out = support::serve::flow()
        .current_dir(p.path())
        .args(["runs"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&id));
}

#[test]
fn bad_submissions_get_json_errors() {
    let p = Project::new(&[
        ("hello", HELLO),
        (
            "broken",
            "flow broken { stage a { needs nope run \"true\" } }",
        ),
    ]);
    let s = p.serve(&[]);
    let (status, e) = s.post("/api/runs", &json!({"flow": "nope"}));
    assert_eq!(status, 404, "{e}");
    assert!(e["error"].as_str().unwrap().contains("nope"));
    let (status, e) = s.post(
        "/api/runs",
        &json!({"flow": "hello", "params": {"whom": "x"}}),
    );
    assert_eq!(status, 400, "{e}");
    assert!(e["error"].as_str().unwrap().contains("whom"));
    let (status, e) = s.post("/api/runs", &json!({"flow": "broken"}));
    assert_eq!(status, 404, "{e}");
    assert!(!e["diagnostics"].as_array().unwrap().is_empty(), "{e}");
    let (status, _) = s.post("/api/runs", &json!({"flaw": "hello"}));
    assert_eq!(status, 400);
    let (status, _) = s.get("/api/runs/not-a-run");
    assert_eq!(status, 400);
    let (status, _) = s.get("/api/runs/20260101T000000Z-abcdef");
    assert_eq!(status, 404);
}

#[test]
fn concurrent_submits_of_one_key_make_one_run_and_name_it_to_the_others() {
    let p = Project::new(&[("slow", SLOW)]);
    let s = p.serve(&["--jobs", "1"]);
    let url = s.url.clone();
    let answers: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let url = url.clone();
                scope.spawn(move || {
                    request(
                        &url,
                        "POST",
                        "/api/runs",
                        Some(&json!({"flow": "slow", "key": "same"})),
                        &[("Content-Type", "application/json")],
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created: Vec<&Value> = answers
        .iter()
        .filter(|(st, _)| *st == 201)
        .map(|(_, v)| v)
        .collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    let id = created[0]["id"].as_str().unwrap();
    for (status, v) in &answers {
        assert!(
            *status == 201 || (*status == 409 && v["id"] == id),
            "{status} {v}"
        );
    }
    let (_, runs) = s.get("/api/runs");
    assert_eq!(runs.as_array().unwrap().len(), 1);
    // Once finished, the key is free again.
    s.wait_finished(id);
    let again = s.submit(json!({"flow": "slow", "key": "same"}));
    assert_ne!(again, id);
}

#[test]
fn queued_runs_start_in_submission_order_and_jobs_bounds_them() {
    let p = Project::new(&[("slow", SLOW)]);
    let s = p.serve(&["--jobs", "2"]);
    let ids: Vec<String> = (0..6)
        .map(|n| s.submit(json!({"flow": "slow", "params": {"n": n}})))
        .collect();
    for id in &ids {
        s.wait_finished(id);
    }
    // (start, end) of each run, from its journal.
    let spans: Vec<(String, String)> = ids
        .iter()
        .map(|id| {
            let j = p.journal(id);
            let at = |ev: &str| {
                j.iter().find(|e| e["event"] == ev).unwrap()["ts"]
                    .as_str()
                    .unwrap()
                    .to_string()
            };
            (at("run_started"), at("run_finished"))
        })
        .collect();
    // First come, first served with 2 slots: run j starts only once a slot
    // freed after runs 0..j were started, so at most one of them is still
    // running when it starts (children start in submission order; two
    // started together may journal their start in either order).
    for (j, (start, _)) in spans.iter().enumerate() {
        let earlier_live = spans[..j].iter().filter(|(_, e)| e > start).count();
        assert!(earlier_live <= 1, "run {j} started early: {spans:?}");
    }
    // Never more than 2 at once: at each start, count runs live then.
    for (start, _) in &spans {
        let live = spans
            .iter()
            .filter(|(s0, e0)| s0 <= start && start < e0)
            .count();
        assert!(live <= 2, "{live} runs at once at {start}: {spans:?}");
    }
}

#[test]
fn a_broken_flow_is_shown_with_diagnostics_and_an_edit_is_checked_again() {
    let p = Project::new(&[
        ("hello", HELLO),
        (
            "later",
            "flow later { stage a { needs nope run \"true\" } }",
        ),
    ]);
    let s = p.serve(&[]);
    let (_, flows) = s.get("/api/flows");
    let names: Vec<&str> = flows["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["hello"]);
    let broken = &flows["broken"][0];
    assert!(broken["file"].as_str().unwrap().ends_with("later.flow"));
    let diag = &broken["diagnostics"][0];
    assert!(diag["code"].as_str().unwrap().starts_with('F'), "{diag}");
    assert!(diag["span"]["start_line"].as_u64().is_some());
    // Fixed on disk: served without a restart.
    p.write(
        "later",
        "flow later {\n  timeout 1m\n  stage a { run \"true\" }\n}\n",
    );
    wait_for("the fixed flow to be served", || {
        let (_, f) = s.get("/api/flows");
        f["flows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "later")
            && f["broken"].as_array().unwrap().is_empty()
    });
    let id = s.submit(json!({"flow": "later"}));
    assert_eq!(s.wait_finished(&id)["outcome"], "succeeded");
    // Broken again: no longer served.
    p.write("hello", "flow hello { stage }");
    wait_for("the broken flow to leave", || {
        let (_, f) = s.get("/api/flows");
        !f["flows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "hello")
    });
    let (status, _) = s.post("/api/runs", &json!({"flow": "hello"}));
    assert_eq!(status, 404);
}

#[test]
fn a_cron_trigger_fires_runs() {
    let p = Project::new(&[(
        "tick",
        "flow tick {\n  trigger cron \"* * * * * * *\"\n  timeout 1m\n  stage a { run \"true\" }\n}\n",
    )]);
    let s = p.serve(&[]);
    wait_for("two trigger runs to finish", || {
        let (_, runs) = s.get("/api/runs?flow=tick&state=finished");
        runs.as_array().unwrap().len() >= 2
    });
    let (_, runs) = s.get("/api/runs?flow=tick");
    let first = &runs[0];
    assert!(
        first["description"]
            .as_str()
            .unwrap()
            .starts_with("trigger tick "),
        "{first}"
    );
}

#[test]
fn sse_gives_every_journal_line_live_and_resumes_after_last_event_id() {
    let p = Project::new(&[("slow", SLOW)]);
    let s = p.serve(&["--jobs", "1"]);
    // Live: subscribed while the run is queued or running.
    let id = s.submit(json!({"flow": "slow"}));
    let events = read_events(&s.url, &id, None);
    let journal = p.journal(&id);
    assert_eq!(events.len(), journal.len());
    for (n, (eid, data)) in events.iter().enumerate() {
        assert_eq!(*eid, n as u64 + 1);
        assert_eq!(*data, journal[n]);
    }
    // Reconnection: only the lines after the one it had.
    let rest = read_events(&s.url, &id, Some(2));
    assert_eq!(rest.first().unwrap().0, 3);
    assert_eq!(rest.len(), journal.len() - 2);
}

#[test]
fn cancel_ends_a_running_run_and_a_queued_one() {
    let p = Project::new(&[(
        "long",
        "flow long {\n  timeout 5m\n  stage a { run \"sleep 60\" }\n}\n",
    )]);
    let s = p.serve(&["--jobs", "1"]);
    let running = s.submit(json!({"flow": "long"}));
    let queued = s.submit(json!({"flow": "long"}));
    wait_for("the first run to run its stage", || {
        s.run(&running)["stages"][0]["outcome"] == "running"
    });
    assert_eq!(s.run(&queued)["state"], "queued");
    // `flow prune` never drops a queued submission.
    let prune = support::serve::flow()
        .current_dir(p.path())
        .args(["prune", "--keep", "0"])
        .output()
        .unwrap();
    assert!(prune.status.success(), "{prune:?}");
    assert_eq!(s.run(&queued)["state"], "queued");
    let (status, v) = s.post(&format!("/api/runs/{queued}/cancel"), &json!({}));
    assert_eq!(status, 200, "{v}");
    assert_eq!(s.run(&queued)["outcome"], "cancelled");
    // `flow cancel` too cancels a queued run.
    let queued2 = s.submit(json!({"flow": "long"}));
    let cancel = support::serve::flow()
        .current_dir(p.path())
        .args(["cancel", &queued2])
        .output()
        .unwrap();
    assert_eq!(cancel.status.code(), Some(0), "{cancel:?}");
    assert_eq!(s.run(&queued2)["outcome"], "cancelled");
    let (status, v) = s.post(&format!("/api/runs/{running}/cancel"), &json!({}));
    assert_eq!(status, 202, "{v}");
    assert_eq!(s.wait_finished(&running)["outcome"], "cancelled");
    let (status, _) = s.post(&format!("/api/runs/{running}/cancel"), &json!({}));
    assert_eq!(status, 409);
}

#[test]
fn approve_gives_the_gate_its_decision() {
    let gate = r#"
flow gate {
  timeout 5m
  stage review {
    approval "yes", "no"
    on status "yes" -> ship
  }
  stage ship { run "echo shipped" }
}
"#;
    let p = Project::new(&[("gate", gate)]);
    let s = p.serve(&[]);
    let id = s.submit(json!({"flow": "gate"}));
    wait_for("the gate to wait", || {
        p.journal(&id)
            .iter()
            .any(|e| e["event"] == "approval_requested")
    });
    // A gate waiting for its decision reads `waiting`, as docs/api.md says.
    let (_, run) = s.get(&format!("/api/runs/{id}"));
    let review = run["stages"]
        .as_array()
        .and_then(|stages| stages.iter().find(|st| st["name"] == "review"))
        .cloned();
    assert_eq!(
        review.map(|st| st["outcome"].clone()),
        Some(json!("waiting")),
        "{run}"
    );
    let (status, v) = s.post(
        &format!("/api/runs/{id}/approve"),
        &json!({"stage": "review", "decision": "maybe"}),
    );
    assert_eq!(status, 409, "{v}");
    let (status, v) = s.post(
        &format!("/api/runs/{id}/approve"),
        &json!({"stage": "review", "decision": "yes", "message": "go"}),
    );
    assert_eq!(status, 200, "{v}");
    let run = s.wait_finished(&id);
    assert_eq!(run["outcome"], "succeeded", "{run}");
    assert!(run["stages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|st| st["name"] == "ship" && st["outcome"] == "succeeded"));
}

#[test]
fn flow_submit_inside_a_stage_reaches_the_server_and_records_the_parent() {
    let parent = r#"
flow parent {
  timeout 5m
  stage spawn {
    run "flow submit child --key c-1 --n 7 > $FLOW_WORKSPACE/child-id; if flow submit child --key c-1 --n 8; then exit 1; else test $? -eq 3; fi"
  }
}
"#;
    let child = "flow child {\n  param n: int\n  timeout 5m\n  stage a { run \"echo $N\" }\n}\n";
    let p = Project::new(&[("parent", parent), ("child", child)]);
    // One job: the child waits in the queue while its parent runs, so its
    // key is surely live at the second submission.
    let s = p.serve(&["--jobs", "1"]);
    let id = s.submit(json!({"flow": "parent"}));
    let run = s.wait_finished(&id);
    assert_eq!(run["outcome"], "succeeded", "{run}\n{}", s.output());
    let child_id = std::fs::read_to_string(p.run_root(&id).join("workspace/child-id")).unwrap();
    let child_run = s.wait_finished(child_id.trim());
    assert_eq!(child_run["parent"], json!(id));
    assert_eq!(child_run["key"], "c-1");
    assert_eq!(child_run["params"]["n"], 7);
    assert_eq!(child_run["outcome"], "succeeded");
}

#[test]
fn flow_submit_exit_codes() {
    let p = Project::new(&[("slow", SLOW)]);
    let s = p.serve(&["--jobs", "1"]);
    let submit = |args: &[&str]| {
        support::serve::flow()
            .args(["submit"])
            .args(args)
            .args(["--server", &s.url])
            .output()
            .unwrap()
    };
    let first = submit(&["slow", "--key", "x", "--n", "1"]);
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    let id = String::from_utf8(first.stdout).unwrap().trim().to_string();
    let dup = submit(&["slow", "--key", "x"]);
    assert_eq!(dup.status.code(), Some(3));
    assert_eq!(String::from_utf8(dup.stdout).unwrap().trim(), id);
    let bad = submit(&["slow", "--n", "one"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not an int"));
    let unreachable = support::serve::flow()
        .args(["submit", "slow", "--server", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(unreachable.status.code(), Some(1));
    std::thread::sleep(Duration::from_millis(10));
}

#[test]
fn resume_continues_a_failed_run() {
    let p = Project::new(&[]);
    let ok = p.path().join("ok");
    p.write(
        "flaky",
        &format!(
            "flow flaky {{\n  timeout 5m\n  stage a {{ run \"test -f {}\" }}\n}}\n",
            ok.display()
        ),
    );
    let s = p.serve(&[]);
    let id = s.submit(json!({"flow": "flaky"}));
    assert_eq!(s.wait_finished(&id)["outcome"], "failed");
    std::fs::write(&ok, "").unwrap();
    let (status, v) = s.post(&format!("/api/runs/{id}/resume"), &json!({}));
    assert_eq!(status, 202, "{v}");
    wait_for("the resumed run to succeed", || {
        s.run(&id)["outcome"] == "succeeded"
    });
    assert!(p.journal(&id).iter().any(|e| e["event"] == "run_resumed"));
    // The journal stream goes on past the first `run_finished`.
    let all = support::serve::read_stream(&format!("{}/api/runs/{id}/events", s.url), None);
    assert_eq!(all.len(), p.journal(&id).len());
    assert_eq!(all.last().unwrap().1["outcome"], "succeeded");
    let (status, _) = s.post(&format!("/api/runs/{id}/resume"), &json!({}));
    assert_eq!(status, 409);
}

#[test]
fn a_flow_at_its_concurrency_waits_without_holding_up_other_flows() {
    let one = "flow one {\n  concurrency 1\n  timeout 5m\n  stage a { run \"sleep 1.5\" }\n}\n";
    let p = Project::new(&[("one", one), ("slow", SLOW)]);
    let s = p.serve(&["--jobs", "3"]);
    let ones: Vec<String> = (0..3).map(|_| s.submit(json!({"flow": "one"}))).collect();
    let other = s.submit(json!({"flow": "slow"}));
    // The other flow's run is not stuck behind the queued `one` runs.
    let other_run = s.wait_finished(&other);
    assert_eq!(other_run["outcome"], "succeeded");
    for id in &ones {
        assert_eq!(s.wait_finished(id)["outcome"], "succeeded");
    }
    let spans: Vec<(String, String)> = ones
        .iter()
        .map(|id| {
            let j = p.journal(id);
            let ts = |ev: &str| {
                j.iter().find(|e| e["event"] == ev).unwrap()["ts"]
                    .as_str()
                    .unwrap()
                    .to_string()
            };
            (ts("run_started"), ts("run_finished"))
        })
        .collect();
    for w in spans.windows(2) {
        assert!(
            w[0].1 <= w[1].0,
            "runs of a concurrency-1 flow overlap: {spans:?}"
        );
    }
    let other_start = p.journal(&other)[0]["ts"].as_str().unwrap().to_string();
    assert!(other_start < spans[1].0, "{other_start} vs {spans:?}");
    // None of them had to wait in `pending`: the server held them in its queue.
    for id in &ones {
        assert!(!p.journal(id).iter().any(|e| e["event"] == "run_queued"));
    }
}

#[test]
fn a_stage_log_streams_live_and_resumes_after_last_event_id_and_stats_are_served() {
    let talk = "flow talk {\n  timeout 5m\n  stage say { run \"echo one; sleep 0.3; echo two; sleep 0.3; echo three\" }\n}\n";
    let p = Project::new(&[("talk", talk)]);
    let s = p.serve(&[]);
    let id = s.submit(json!({"flow": "talk"}));
    let url = format!("{}/api/runs/{id}/logs/say/events", s.url);
    let events = support::serve::read_stream(&url, None);
    let lines: Vec<&str> = events
        .iter()
        .map(|(_, v)| v["line"].as_str().unwrap())
        .collect();
    assert_eq!(lines, ["one", "two", "three"]);
    assert_eq!(events[0].1["attempt"], 1);
    let rest = support::serve::read_stream(&url, Some(&events[0].0));
    let lines: Vec<&str> = rest
        .iter()
        .map(|(_, v)| v["line"].as_str().unwrap())
        .collect();
    assert_eq!(lines, ["two", "three"]);
    let (status, stats) = s.get("/api/stats?flow=talk");
    assert_eq!(status, 200);
    assert_eq!(stats[0]["flow"], "talk", "{stats}");
    let (status, _) = s.get("/api/stats?since=soon");
    assert_eq!(status, 400);
}

#[test]
fn a_submission_that_cannot_begin_ends_failed_with_the_reason_and_frees_its_key() {
    let needy = "flow needy {\n  secret SERVE_TEST_ABSENT_SECRET_X\n  timeout 1m\n  stage a { run \"true\" }\n}\n";
    let p = Project::new(&[("needy", needy)]);
    let s = p.serve(&[]);
    let id = s.submit(json!({"flow": "needy", "key": "n"}));
    let run = s.wait_finished(&id);
    assert_eq!(run["outcome"], "failed");
    assert!(
        run["reason"]
            .as_str()
            .unwrap()
            .contains("SERVE_TEST_ABSENT_SECRET_X"),
        "{run}"
    );
    let again = s.submit(json!({"flow": "needy", "key": "n"}));
    assert_ne!(again, id);
}

#[test]
fn the_history_commands_see_and_cancel_a_server_run() {
    let p = Project::new(&[(
        "long",
        "flow long {\n  timeout 5m\n  stage a { run \"echo started; sleep 60\" }\n}\n",
    )]);
    let s = p.serve(&[]);
    let id = s.submit(json!({"flow": "long", "key": "cli"}));
    wait_for("the stage to run", || {
        s.run(&id)["stages"][0]["outcome"] == "running"
    });
    let cli = |args: &[&str]| {
        support::serve::flow()
            .current_dir(p.path())
            .args(args)
            .output()
            .unwrap()
    };
    let show = cli(&["show", &id]);
    assert!(show.status.success(), "{show:?}");
    let runs = cli(&["runs", "--json", "--state", "running"]);
    let listed: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(listed[0]["key"], "cli");
    assert!(listed[0]["submitted"].is_string());
    // `flow cancel` signals the run's own `flow run`, never the server.
    let cancel = cli(&["cancel", &id]);
    assert_eq!(cancel.status.code(), Some(0), "{cancel:?}");
    assert_eq!(s.wait_finished(&id)["outcome"], "cancelled");
    let (status, _) = s.get("/api/flows");
    assert_eq!(status, 200, "the server is still up");
}

#[test]
fn secrets_file_reaches_every_run() {
    let needy = "flow needy {\n  secret SERVE_TEST_SECRET_Y\n  timeout 1m\n  stage a { run \"test \\\"$SERVE_TEST_SECRET_Y\\\" = hunter2-hunter2\" }\n}\n";
    let p = Project::new(&[("needy", needy)]);
    let secrets = p.path().join("secrets.env");
    std::fs::write(&secrets, "SERVE_TEST_SECRET_Y=hunter2-hunter2\n").unwrap();
    let s = p.serve(&["--secrets-file", secrets.to_str().unwrap()]);
    let id = s.submit(json!({"flow": "needy"}));
    assert_eq!(s.wait_finished(&id)["outcome"], "succeeded");
}

#[test]
fn a_flow_in_a_new_folder_is_served_and_runs_are_not_watched() {
    let p = Project::new(&[("hello", HELLO)]);
    let s = Server::start(p.path(), "127.0.0.1:0", &["."]);
    let id = s.submit(json!({"flow": "hello"}));
    s.wait_finished(&id);
    std::fs::create_dir_all(p.path().join("pipelines/more")).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    std::fs::write(
        p.path().join("pipelines/more/extra.flow"),
        "flow extra {\n  timeout 1m\n  stage a { run \"true\" }\n}\n",
    )
    .unwrap();
    wait_for("the new folder's flow to be served", || {
        let (_, f) = s.get("/api/flows");
        f["flows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "extra")
    });
    // A run writes under .flow/: no reload is announced for it (once the
    // reloads of the changes above are over).
    std::thread::sleep(Duration::from_millis(1000));
    let reloads = s.output().matches("checked again").count();
    let id = s.submit(json!({"flow": "extra"}));
    s.wait_finished(&id);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        s.output().matches("checked again").count(),
        reloads,
        "{}",
        s.output()
    );
}

#[test]
fn the_runs_changes_stream_live_over_one_sse_stream() {
    let p = Project::new(&[("hello", HELLO)]);
    let s = p.serve(&[]);
    let url = format!("{}/api/events", s.url);
    let mut id = String::new();
    let events = support::serve::read_until(
        &url,
        || id = s.submit(json!({"flow": "hello", "key": "live-1", "description": "say *hi*"})),
        |v| v["state"] == "finished",
    );
    let mine: Vec<&Value> = events
        .iter()
        .map(|(_, v)| v)
        .filter(|v| v["id"] == id.as_str())
        .collect();
    let last = mine.last().expect("the run's changes");
    assert_eq!(last["state"], "finished", "{events:?}");
    assert_eq!(last["outcome"], "succeeded");
    // As `GET /api/runs?details=true` lists it.
    assert_eq!(last["key"], "live-1");
    assert_eq!(last["description"], "say *hi*");
    assert_eq!(last["links"]["pr"], "https://x/pull/1", "{last}");
    // Ids count up.
    let ids: Vec<u64> = events
        .iter()
        .filter_map(|(i, _)| i.as_ref()?.parse().ok())
        .collect();
    assert!(
        !ids.is_empty() && ids.windows(2).all(|w| w[0] < w[1]),
        "{ids:?}"
    );
    // A pruned run is sent as removed.
    let mut gone = false;
    let events = support::serve::read_until(
        &url,
        || {
            let out = support::serve::flow()
                .current_dir(p.path())
                .args(["prune", "--keep", "0"])
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
        },
        |v| {
            gone = v["id"] == id.as_str() && v["removed"] == true;
            gone
        },
    );
    assert!(gone, "{events:?}");
}

#[test]
fn a_queued_runs_params_are_typed_as_a_started_runs() {
    let typed = "flow typed {\n  param n: int\n  param wait: duration = 1m\n  param tags: list<str> = []\n  param on: bool = false\n  timeout 5m\n  stage a { run \"true\" }\n}\n";
    let long = "flow long {\n  timeout 5m\n  stage a { run \"sleep 60\" }\n}\n";
    let p = Project::new(&[("typed", typed), ("long", long)]);
    let s = p.serve(&["--jobs", "1"]);
    let blocker = s.submit(json!({"flow": "long"}));
    wait_for("the blocker to run", || {
        s.run(&blocker)["state"] == "running"
    });
    let id = s.submit(json!({"flow": "typed",
        "params": {"n": "3", "wait": "2m", "tags": "a, b", "on": "yes"}}));
    let queued = s.run(&id);
    assert_eq!(queued["state"], "queued");
    let want = json!({"n": 3, "wait": 120, "tags": ["a", "b"], "on": true});
    assert_eq!(queued["params"], want);
    // The list says the same.
    let (_, runs) = s.get("/api/runs?state=queued");
    assert_eq!(runs[0]["params"], want, "{runs}");
    let (status, _) = s.post(&format!("/api/runs/{blocker}/cancel"), &json!({}));
    assert_eq!(status, 202);
    let done = s.wait_finished(&id);
    assert_eq!(done["outcome"], "succeeded", "{done}");
    assert_eq!(done["params"], want);
}

#[test]
fn api_stats_are_flow_stats_numbers() {
    let long = "flow long {\n  timeout 5m\n  stage a { run \"sleep 60\" }\n}\n";
    let p = Project::new(&[("hello", HELLO), ("slow", SLOW), ("long", long)]);
    let s = p.serve(&["--jobs", "1"]);
    let a = s.submit(json!({"flow": "hello"}));
    let b = s.submit(json!({"flow": "slow"}));
    s.wait_finished(&a);
    s.wait_finished(&b);
    // One more that is running (and stays so) while both are asked.
    let c = s.submit(json!({"flow": "long"}));
    wait_for("run c to run", || s.run(&c)["state"] == "running");
    let (status, api) = s.get("/api/stats");
    assert_eq!(status, 200);
    let out = support::serve::flow()
        .current_dir(p.path())
        .args(["stats", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    let figures = |v: &Value| -> Vec<Value> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|f| json!([f["flow"], f["runs"], f["success_rate"], f["outcomes"]]))
            .collect()
    };
    assert_eq!(figures(&api), figures(&cli), "api {api}\ncli {cli}");
    let flows: Vec<&Value> = api.as_array().unwrap().iter().map(|f| &f["flow"]).collect();
    assert!(
        flows.contains(&&json!("hello")) && flows.contains(&&json!("slow")),
        "{api}"
    );
    let (status, _) = s.post(&format!("/api/runs/{c}/cancel"), &json!({}));
    assert_eq!(status, 202);
    s.wait_finished(&c);
}
