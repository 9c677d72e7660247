//! `run::run` end to end with real processes and the real scheduler.

mod common;

use common::Flow;
use flow_dsl::ir::{ParamType, Pipeline, RouteOn, Value};
use flow_runtime::journal::read_journal;
use flow_runtime::output::MemorySink;
use flow_runtime::run::{run, RunOptions, RunReport};
use flow_runtime::scheduler::{RunOutcome, StageOutcome};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn opts(base: &Path) -> RunOptions {
    RunOptions {
        base_dir: base.to_path_buf(),
        quiet: true,
        jobs: 4,
        supervisor: common::supervisor().into(),
        ..RunOptions::default()
    }
}

async fn go(p: &Pipeline, base: &Path) -> RunReport {
    run(p, opts(base)).await.expect("run carried out")
}

fn events(r: &RunReport) -> Vec<serde_json::Value> {
    read_journal(&r.run_dir.join("journal.jsonl")).unwrap()
}

/// `event` names, with the stage when there is one (`stage_started:a`).
fn event_names(r: &RunReport) -> Vec<String> {
    events(r)
        .iter()
        .map(|e| {
            let name = e["event"].as_str().unwrap().to_string();
            match e.get("stage").and_then(|s| s.as_str()) {
                Some(s) => format!("{name}:{s}"),
                None => name,
            }
        })
        .collect()
}

fn read(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()))
}

fn summary<'r>(r: &'r RunReport, stage: &str) -> &'r flow_runtime::run::StageSummary {
    r.stages.iter().find(|s| s.name == stage).unwrap()
}

#[tokio::test]
async fn needs_receive_artifacts_and_journal_is_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .stage(
            "a",
            "mkdir -p sub; echo issue > issue.md; echo deep > sub/x; echo junk > junk",
            |s| {
                s.outputs(&["issue.md", "sub"]);
            },
        )
        .stage("b", "cat issue.md sub/x > got.txt; test ! -e junk", |s| {
            s.needs(&["a"]).outputs(&["got.txt"]);
        })
        .build();
    let r = go(&p, tmp.path()).await;
    assert_eq!(r.outcome, RunOutcome::Succeeded);
    assert_eq!(r.exit_code(), 0);
    assert_eq!(read(r.run_dir.join("artifacts/b/got.txt")), "issue\ndeep\n");
    assert!(r.run_dir.join("stages/b.1.1/issue.md").exists());
    // Both stages printed nothing: a silent attempt has no log file.
    assert!(!r.run_dir.join("logs/a.1.1.log").exists());
    assert!(r.run_dir.join("logs").is_dir());
    assert_eq!(
        event_names(&r),
        [
            "run_started",
            "stage_started:a",
            "stage_finished:a",
            "stage_settled:a",
            "stage_started:b",
            "stage_finished:b",
            "stage_settled:b",
            "run_finished"
        ]
    );
    let ev = events(&r);
    assert_eq!(ev[0]["flow"], "f");
    assert_eq!(ev[0]["run_id"], r.run_id.as_str());
    assert_eq!(ev[2]["exit_code"], 0);
    assert!(ev[1]["pid"].as_u64().is_some());
    assert_eq!(ev[7]["outcome"], "succeeded");
    assert_eq!(summary(&r, "b").attempts, 1);
}

#[tokio::test]
async fn environment_of_an_attempt() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("envflow")
        .param("issue", ParamType::Int, None)
        .param("agent", ParamType::Str, Some(Value::Str("claude".into())))
        .param("tags", ParamType::ListStr, Some(Value::List(vec!["x".into(), "y".into()])))
        .secret("GH_TOKEN")
        .let_("branch", "`ai/${issue}-${run.nonce}`")
        .env("MODE", "\"fast\"")
        .stage(
            "show",
            r#"for v in ISSUE AGENT TAGS BRANCH MODE GH_TOKEN MODEL LIT FLOW_RUN_ID FLOW_NONCE FLOW_FLOW FLOW_STAGE FLOW_ATTEMPT FLOW_VISIT FLOW_WORKSPACE FLOW_RUN_DIR; do
                 printf '%s=%s\n' "$v" "${!v}" >> "$FLOW_WORKSPACE/env.txt"
               done
               echo "token is $GH_TOKEN""#,
            |s| {
                s.env_expr("MODEL", "if agent == \"claude\" { \"opus\" } else { \"x\" }").env_literal("LIT", "lit $HOME");
            },
        )
        .build();
    let mut o = opts(tmp.path());
    o.params = vec![("issue".into(), Value::Int(42))];
    o.secrets = vec![("GH_TOKEN".into(), "ghp_supersecret".into())];
    let sink = Arc::new(MemorySink::default());
    o.sink = Some(sink.clone());
    o.quiet = false;
    let r = run(&p, o).await.unwrap();
    assert_eq!(r.outcome, RunOutcome::Succeeded);
    let env = read(r.run_dir.join("workspace/env.txt"));
    let nonce = r.run_id.rsplit('-').next().unwrap();
    let expected = [
        "ISSUE=42".to_string(),
        "AGENT=claude".into(),
        "TAGS=x,y".into(),
        format!("BRANCH=ai/42-{nonce}"),
        "MODE=fast".into(),
        "GH_TOKEN=ghp_supersecret".into(),
        "MODEL=opus".into(),
        "LIT=lit $HOME".into(),
        format!("FLOW_RUN_ID={}", r.run_id),
        format!("FLOW_NONCE={nonce}"),
        "FLOW_FLOW=envflow".into(),
        "FLOW_STAGE=show".into(),
        "FLOW_ATTEMPT=1".into(),
        "FLOW_VISIT=1".into(),
        format!("FLOW_WORKSPACE={}", r.run_dir.join("workspace").display()),
        format!("FLOW_RUN_DIR={}", r.run_dir.display()),
    ];
    assert_eq!(env.lines().collect::<Vec<_>>(), expected);
    // The secret is masked in the log and the live output, not in files the stage writes.
    let log = read(r.run_dir.join("logs/show.1.1.log"));
    assert_eq!(log, "token is ***\n");
    assert_eq!(sink.text(), "[show] token is ***\n");
}

#[tokio::test]
async fn missing_param_and_secret_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .param("issue", ParamType::Int, None)
        .stage("a", "true", |_| {})
        .build();
    let err = run(&p, opts(tmp.path())).await.unwrap_err();
    assert!(err.to_string().contains("issue"), "{err}");
    let p = Flow::new("f")
        .secret("FLOW_TEST_SURELY_UNSET_SECRET")
        .stage("a", "true", |_| {})
        .build();
    let err = run(&p, opts(tmp.path())).await.unwrap_err();
    assert!(
        err.to_string().contains("FLOW_TEST_SURELY_UNSET_SECRET"),
        "{err}"
    );
}

#[tokio::test]
async fn status_json_feeds_result_json_and_expressions() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .stage(
            "plan",
            "echo thinking; echo '{\"status\":\"DONE\",\"complexity\":\"XL\"}'; echo bye",
            |s| {
                s.status_json();
            },
        )
        .stage("implement", "echo \"$MODEL\" > model.txt", |s| {
            s.needs(&["plan"])
                .outputs(&["model.txt"])
                .env_expr(
                    "MODEL",
                    "if stages.plan.result.complexity == \"XL\" { \"opus\" } else { \"sonnet\" }",
                )
                .when("stages.plan.status == \"DONE\" && stages.plan.outcome == \"succeeded\"");
        })
        .build();
    let r = go(&p, tmp.path()).await;
    assert_eq!(r.outcome, RunOutcome::Succeeded);
    let result: serde_json::Value =
        serde_json::from_str(&read(r.run_dir.join("artifacts/plan/result.json"))).unwrap();
    assert_eq!(result["complexity"], "XL");
    assert_eq!(
        read(r.run_dir.join("artifacts/implement/model.txt")),
        "opus\n"
    );
    let finished = events(&r)
        .into_iter()
        .find(|e| e["event"] == "stage_finished")
        .unwrap();
    assert_eq!(finished["status"], "DONE");
}

#[tokio::test]
async fn stage_timeout_kills_and_fails_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .stage(
            "slow",
            "sleep 300 & echo $! > \"$FLOW_WORKSPACE/pid\"; sleep 300; wait",
            |s| {
                s.timeout(Duration::from_secs(1))
                    .grace(Duration::from_secs(1));
            },
        )
        .stage("after", "true", |s| {
            s.needs(&["slow"]);
        })
        .build();
    let t = Instant::now();
    let r = go(&p, tmp.path()).await;
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(r.outcome, RunOutcome::Failed("slow".into()));
    assert_eq!(r.exit_code(), 1);
    assert!(matches!(
        summary(&r, "after").outcome,
        Some(StageOutcome::Skipped(_))
    ));
    let pid = read(r.run_dir.join("workspace/pid"));
    assert!(
        !Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "background sleep survived"
    );
    let finished = events(&r)
        .into_iter()
        .find(|e| e["event"] == "stage_finished")
        .unwrap();
    assert_eq!(finished["timed_out"], true);
}

#[tokio::test]
async fn skip_if_true_runs_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .param("n", ParamType::Int, Some(Value::Int(5)))
        .skip_if("n > 3")
        .stage("a", "touch \"$FLOW_WORKSPACE/ran\"", |_| {})
        .build();
    let r = go(&p, tmp.path()).await;
    assert!(r.skipped);
    assert_eq!(r.exit_code(), 0);
    assert!(!r.run_dir.join("workspace/ran").exists());
    assert_eq!(
        event_names(&r),
        ["run_started", "run_skipped", "run_finished"]
    );
    assert_eq!(events(&r)[2]["outcome"], "skipped");
}

#[tokio::test]
async fn when_false_skips_the_stage() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .param("deploy", ParamType::Bool, Some(Value::Bool(false)))
        .stage("a", "true", |_| {})
        .stage("deploy", "touch \"$FLOW_WORKSPACE/ran\"", |s| {
            s.needs(&["a"]).when("deploy");
        })
        .build();
    let r = go(&p, tmp.path()).await;
    assert_eq!(r.outcome, RunOutcome::Succeeded);
    assert!(matches!(
        summary(&r, "deploy").outcome,
        Some(StageOutcome::Skipped(_))
    ));
    assert!(!r.run_dir.join("workspace/ran").exists());
    assert!(event_names(&r).contains(&"stage_skipped:deploy".to_string()));
}

#[tokio::test]
async fn retry_reruns_a_failed_attempt() {
    let tmp = tempfile::tempdir().unwrap();
    // Fails on the first attempt, succeeds on the second.
    let p = Flow::new("f")
        .stage(
            "flaky",
            "echo \"attempt $FLOW_ATTEMPT\"; [ \"$FLOW_ATTEMPT\" -ge 2 ]",
            |s| {
                s.retry(2, Duration::from_millis(100));
            },
        )
        .build();
    let r = go(&p, tmp.path()).await;
    assert_eq!(r.outcome, RunOutcome::Succeeded);
    assert_eq!(summary(&r, "flaky").attempts, 2);
    assert_eq!(read(r.run_dir.join("logs/flaky.1.1.log")), "attempt 1\n");
    assert_eq!(read(r.run_dir.join("logs/flaky.1.2.log")), "attempt 2\n");
    assert!(event_names(&r).contains(&"retry_scheduled:flaky".to_string()));
}

#[tokio::test]
async fn routes_loop_until_tests_pass() {
    let tmp = tempfile::tempdir().unwrap();
    // unit_test fails until fix_tests has run twice.
    let p = Flow::new("f")
        .stage("setup", "true", |s| {
            s.route(RouteOn::Success, "unit_test");
        })
        .stage("unit_test", "n=$(cat \"$FLOW_WORKSPACE/fixes\" 2>/dev/null || echo 0); [ \"$n\" -ge 2 ]", |s| {
            s.route(RouteOn::Failure, "fix_tests").route(RouteOn::Success, "done");
        })
        .stage(
            "fix_tests",
            "n=$(cat \"$FLOW_WORKSPACE/fixes\" 2>/dev/null || echo 0); echo $((n+1)) > \"$FLOW_WORKSPACE/fixes\"; echo \"visit $FLOW_VISIT\"",
            |s| {
                s.needs(&["unit_test"]).max(3).route(RouteOn::Success, "unit_test");
            },
        )
        .stage("done", "true", |_| {})
        .build();
    let r = go(&p, tmp.path()).await;
    assert_eq!(r.outcome, RunOutcome::Succeeded, "{}", r.summary_table());
    assert_eq!(summary(&r, "unit_test").visits, 3);
    assert_eq!(summary(&r, "fix_tests").visits, 2);
    assert_eq!(summary(&r, "done").outcome, Some(StageOutcome::Succeeded));
    assert_eq!(read(r.run_dir.join("logs/fix_tests.2.1.log")), "visit 2\n");
    let routed: Vec<String> = events(&r)
        .iter()
        .filter(|e| e["event"] == "routed")
        .map(|e| {
            format!(
                "{} {} {}",
                e["from"].as_str().unwrap(),
                e["on"].as_str().unwrap(),
                e["to"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        routed,
        [
            "setup success unit_test",
            "unit_test failure fix_tests",
            "fix_tests success unit_test",
            "unit_test failure fix_tests",
            "fix_tests success unit_test",
            "unit_test success done"
        ]
    );
}

#[tokio::test]
async fn ends_run_outcome_and_exit_route() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .stage("implement", "exit 2", |s| {
            s.route(RouteOn::Exit(vec![2]), "notify_blocked");
        })
        .stage("notify_blocked", "echo blocked", |s| {
            s.ends_run("blocked");
        })
        .build();
    let r = go(&p, tmp.path()).await;
    assert_eq!(r.outcome, RunOutcome::Ended("blocked".into()));
    assert_eq!(r.exit_code(), 1);
    assert_eq!(events(&r).last().unwrap()["outcome"], "blocked");
}

#[tokio::test]
async fn run_timeout_kills_and_runs_finally() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .timeout(Duration::from_secs(1))
        .stage("slow", "sleep 300", |s| {
            s.grace(Duration::from_secs(1));
        })
        .finally("cleanup", "touch \"$FLOW_WORKSPACE/cleaned\"", |_| {})
        .build();
    let t = Instant::now();
    let r = go(&p, tmp.path()).await;
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(r.outcome, RunOutcome::TimedOut);
    assert!(r.run_dir.join("workspace/cleaned").exists());
    let names = event_names(&r);
    assert!(names.contains(&"run_timed_out".to_string()), "{names:?}");
    let finished = events(&r)
        .into_iter()
        .find(|e| e["event"] == "stage_finished")
        .unwrap();
    assert_eq!(finished["cancelled"], true);
}

#[tokio::test]
async fn jobs_cap_concurrent_attempts() {
    let tmp = tempfile::tempdir().unwrap();
    let script = "echo start $(date +%s.%N) >> \"$FLOW_WORKSPACE/t\"; sleep 0.4; echo end $(date +%s.%N) >> \"$FLOW_WORKSPACE/t\"";
    let p = Flow::new("f")
        .stage("a", script, |_| {})
        .stage("b", script, |_| {})
        .stage("c", script, |_| {})
        .build();
    let mut o = opts(tmp.path());
    o.jobs = 1;
    let r = run(&p, o).await.unwrap();
    assert_eq!(r.outcome, RunOutcome::Succeeded);
    // With one job the start/end lines strictly alternate.
    let lines = read(r.run_dir.join("workspace/t"));
    let kinds: Vec<&str> = lines
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(kinds, ["start", "end", "start", "end", "start", "end"]);
}

#[tokio::test]
async fn library_is_materialised_for_template_stages() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .library(
            "std",
            &[
                ("bin/hello", "#!/bin/sh\necho \"hello from $SKILL\"\n"),
                ("skills/plan.md", "# Plan\n"),
            ],
        )
        .stage(
            "plan",
            "\"$FLOW_LIB/bin/hello\"; cat \"$SKILL_FILE\"",
            |s| {
                s.library(0)
                    .env_literal("SKILL", "plan")
                    .env_library_file("SKILL_FILE", "skills/plan.md");
            },
        )
        .build();
    let r = go(&p, tmp.path()).await;
    assert_eq!(
        r.outcome,
        RunOutcome::Succeeded,
        "{}",
        read(r.run_dir.join("logs/plan.1.1.log"))
    );
    assert_eq!(
        read(r.run_dir.join("logs/plan.1.1.log")),
        "hello from plan\n# Plan\n"
    );
}

/// A `skill`-typed template parameter not named `skill` (here `method`) gets
/// `$METHOD_FILE`, the absolute path of the skill file in the library: the
/// checker emits a library-relative file, the runtime makes it absolute.
#[tokio::test]
async fn every_skill_param_exports_an_absolute_file() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    std::fs::create_dir_all(project.join("skills")).unwrap();
    // A front matter: without one `flow check` warns (F0117).
    let skill = "---\nname: tdd\n---\n# TDD\n";
    std::fs::write(project.join("skills/tdd.md"), skill).unwrap();
    let text = r#"
template coder(method: skill) {
  run """
    case "$METHOD_FILE" in /*) ;; *) echo "not absolute: $METHOD_FILE"; exit 2 ;; esac
    echo "$METHOD"; cat "$METHOD_FILE"
  """
}
flow f {
  stage code: coder(method: "tdd") { timeout 1m }
}
"#;
    let checked = flow_dsl::check_source("f.flow", text, &project);
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    let p = checked.pipeline.expect("a pipeline");
    let r = go(&p, &tmp.path().join("base")).await;
    let log = read(r.run_dir.join("logs/code.1.1.log"));
    assert_eq!(r.outcome, RunOutcome::Succeeded, "{log}");
    assert_eq!(log, format!("tdd\n{skill}"));
}

/// Issue 7 §2: an attempt ended by `idle` is a timeout for routing (`on
/// timeout` fires), journaled with `idle: true`, and said as such.
#[tokio::test]
async fn idle_is_routed_as_a_timeout_and_journaled() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .stage("agent", "echo thinking; sleep 300", |s| {
            s.idle(Duration::from_millis(300))
                .route(RouteOn::Timeout, "escalate");
        })
        .stage("escalate", "echo escalated", |_| {})
        .build();
    let r = go(&p, tmp.path()).await;
    assert_eq!(
        summary(&r, "escalate").outcome,
        Some(StageOutcome::Succeeded)
    );
    let finished: Vec<serde_json::Value> = events(&r)
        .into_iter()
        .filter(|e| e["event"] == "stage_finished" && e["stage"] == "agent")
        .collect();
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0]["timed_out"], true);
    assert_eq!(finished[0]["idle"], true);
    let settled = events(&r)
        .into_iter()
        .find(|e| e["event"] == "stage_settled" && e["stage"] == "agent")
        .unwrap();
    assert!(settled.to_string().contains("idle"), "{settled}");
}

/// Issue 7 §2: the usage a stage reports in its status object is journaled
/// per attempt, summed per stage and run (a retried attempt's included),
/// and read back by the run history (`flow show`).
#[tokio::test]
async fn reported_usage_is_journaled_and_summed() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Flow::new("f")
        .stage(
            "plan",
            r#"echo '{"status": "DONE", "usage": {"cost_usd": 0.25, "input_tokens": 1000, "output_tokens": 200, "turns": 2, "model": "m1", "session_id": "s1"}}'"#,
            |s| {
                s.status_json();
            },
        )
        .stage(
            "implement",
            r#"echo '{"status": "DONE", "usage": {"cost_usd": 0.5, "input_tokens": 3000, "turns": 4}}'; [ "$FLOW_ATTEMPT" -ge 2 ]"#,
            |s| {
                s.needs(&["plan"]).status_json().retry(1, Duration::ZERO);
            },
        )
        .stage("quiet", "true", |_| {})
        .build();
    let r = go(&p, tmp.path()).await;
    assert_eq!(r.exit_code(), 0, "{}", r.summary_table());
    let total = r.usage().unwrap();
    assert_eq!(total.cost_usd, Some(1.25));
    assert_eq!(total.input_tokens, Some(7000));
    assert_eq!(total.output_tokens, Some(200));
    assert_eq!(total.turns, Some(10));
    assert!(
        r.summary_table()
            .contains("usage: $1.250, 7000 input + 200 output tokens, 10 turns"),
        "{}",
        r.summary_table()
    );
    assert_eq!(summary(&r, "quiet").usage, None);
    let finished: Vec<serde_json::Value> = events(&r)
        .into_iter()
        .filter(|e| e["event"] == "stage_finished" && e["stage"] == "plan")
        .collect();
    assert_eq!(finished[0]["usage"]["model"], "m1");
    assert_eq!(finished[0]["usage"]["session_id"], "s1");
    let history = flow_runtime::store::RunHistory::read(&r.run_dir).unwrap();
    assert_eq!(history.usage.as_ref().and_then(|u| u.cost_usd), Some(1.25));
    let implement = history
        .stages
        .iter()
        .find(|s| s.name == "implement")
        .unwrap();
    assert_eq!(implement.attempts.len(), 2);
    assert!(implement
        .attempts
        .iter()
        .all(|a| a.usage.as_ref().unwrap().turns == Some(4)));
    let json = serde_json::to_value(&history).unwrap();
    assert_eq!(json["usage"]["input_tokens"], 7000);
    let attempts_with_usage = json["stages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["attempts"].as_array().unwrap())
        .filter(|a| a["usage"]["turns"].is_u64())
        .count();
    assert_eq!(attempts_with_usage, 3, "{json}");
}
