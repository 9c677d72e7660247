//! End-to-end tests of `pipelines/phases.flow` (issue 7 §5): the phases run
//! in order, the gate refuses a pull request without a compaction record
//! for the branch's HEAD, and a run killed mid-phase resumes without redoing
//! the phases that finished, to the same end as an uninterrupted run.
//! The real `flow` binary, the sample repository and the scripted agent
//! `tests/fixtures/fake-agent`.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::{eventually, read_journal, root_file, Run, Sandbox};

fn pipeline() -> PathBuf {
    root_file("pipelines/phases.flow")
}

/// The last outcome of every stage the journal mentions.
fn outcomes(run: &Run) -> BTreeMap<String, String> {
    [
        "setup",
        "discussion",
        "execute",
        "validate",
        "compact",
        "complete",
        "refused",
        "blocked",
        "cleanup",
    ]
    .iter()
    .map(|s| (s.to_string(), run.stage_outcome(s)))
    .collect()
}

/// The subjects of the commits on the run's branch beyond its base.
fn branch_commits(sandbox: &Sandbox, run: &Run) -> Vec<String> {
    let branch = run.artifact_text("setup", "branch.txt").trim().to_string();
    let base = run.artifact_text("setup", "base.txt").trim().to_string();
    sandbox
        .git(&["log", "--format=%s", &format!("{base}..{branch}")])
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_phases_run_in_order_and_the_pull_request_comes_from_the_compaction_record() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&pipeline(), "happy", &[]);
    assert_eq!(run.code(), Some(0), "{}", run.explain());
    assert_eq!(run.outcome(), "succeeded");
    assert_eq!(
        run.started(),
        [
            "setup",
            "discussion",
            "execute",
            "validate",
            "compact",
            "complete",
            "cleanup"
        ],
        "{}",
        run.explain()
    );
    let routes: Vec<(String, String, String)> = run.routes();
    let want: Vec<(String, String, String)> = [
        ("discussion", "success", "execute"),
        ("execute", "success", "validate"),
        ("validate", "success", "compact"),
        ("compact", "success", "complete"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(routes, want, "{}", run.explain());
    // The pull request's body is the record, which names the branch's HEAD.
    let record = run.artifact_text("compact", "COMPACT.md");
    let branch = run.artifact_text("setup", "branch.txt").trim().to_string();
    let head = sandbox.git(&["rev-parse", &branch]);
    assert!(record.contains(&format!("Head: {head}")), "{record}");
    let body = run.artifact_text("complete", "pr-body.md");
    assert!(body.contains(&format!("Head: {head}")), "{body}");
    assert!(body.contains("## What changed"), "{body}");
    assert_eq!(
        run.artifact_text("complete", "pr-title.txt").trim(),
        "mean() returns the wrong average"
    );
    assert!(run
        .artifact_text("discussion", "DISCUSSION.md")
        .contains("## Acceptance"));
    assert_eq!(
        branch_commits(&sandbox, &run),
        ["Fix mean(): divide by len(values) (#1)"]
    );
    // The execute prompt carried the discussion.
    let prompt = std::fs::read_to_string(run.dir().join("stages/execute.1.1/prompt.md")).unwrap();
    assert!(prompt.contains("## The discussion"), "{prompt}");
    assert!(!run.worktree().exists(), "cleanup removed the worktree");
    // The flow's alerts reach `flow stats`; one successful run crosses none.
    let out = sandbox
        .flow_command("happy")
        .args(["stats", "--json"])
        .output()
        .unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let alerts = stats[0]["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 4, "{alerts:?}");
    assert_eq!(alerts[0]["alert"], "success_rate < 0.8");
    assert!(alerts.iter().all(|a| a["crossed"] == false), "{alerts:?}");
}

/// A record written for another commit than the branch's HEAD is stale:
/// the gate refuses it, no pull request text is made, the run ends `refused`.
#[test]
fn the_gate_refuses_a_stale_compaction_record() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&pipeline(), "compact-stale", &[]);
    assert_eq!(run.code(), Some(1), "{}", run.explain());
    assert_eq!(run.outcome(), "refused", "{}", run.explain());
    assert!(run
        .routes()
        .contains(&("complete".into(), "exit 3".into(), "refused".into())));
    let log = run.log("complete", 1, 1);
    assert!(
        log.contains("gate: the compaction record is for commit"),
        "{log}"
    );
    assert!(
        !run.artifact("complete", "pr-body.md").exists(),
        "no PR text"
    );
    assert!(
        !log.contains("gate: the compaction record names HEAD"),
        "{log}"
    );
}

/// A record that names no commit at all is no record: refused too.
#[test]
fn the_gate_refuses_a_record_that_names_no_commit() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&pipeline(), "compact-no-head", &[]);
    assert_eq!(run.outcome(), "refused", "{}", run.explain());
    assert!(run
        .log("complete", 1, 1)
        .contains("the compaction record is for commit 'none'"));
    assert!(!run.artifact("complete", "pr-body.md").exists());
}

/// An agent that says DONE without committing (NOTHING_DONE) never reaches
/// the gate: the run ends `blocked` before compaction.
#[test]
fn an_execute_phase_that_did_nothing_blocks_before_compaction() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&pipeline(), "does-nothing", &[]);
    assert_eq!(run.outcome(), "blocked", "{}", run.explain());
    assert!(run
        .routes()
        .contains(&("execute".into(), "exit 2, 5, 6".into(), "blocked".into())));
    assert_eq!(run.stage_outcome("compact"), "skipped");
    assert_eq!(run.stage_outcome("complete"), "skipped");
}

/// SIGKILL `flow` while `validate` runs; `flow resume last` keeps setup,
/// discussion and execute (no agent call is repeated), redoes validate, and
/// ends as an uninterrupted run does: same outcomes, same commits.
#[test]
fn a_run_killed_mid_phase_resumes_without_redoing_finished_phases() {
    // The uninterrupted run, for comparison.
    let calm = Sandbox::new();
    let slow_tests = ["--test_command", "sleep 2 && make test"];
    let whole = calm.finish(calm.run_command(&pipeline(), "happy", &slow_tests));
    assert_eq!(whole.outcome(), "succeeded", "{}", whole.explain());

    let sandbox = Sandbox::new();
    let calls = sandbox.tmp.path().join("agent-calls.log");
    let mut cmd = sandbox.run_command(&pipeline(), "happy", &slow_tests);
    cmd.env("FAKE_AGENT_LOG", &calls);
    let mut child = cmd.spawn().unwrap();
    let runs = sandbox.cwd.join(".flow/runs");
    let validating = || {
        let Ok(mut dirs) = std::fs::read_dir(&runs) else {
            return false;
        };
        let Some(Ok(dir)) = dirs.next() else {
            return false;
        };
        let journal = dir.path().join("journal.jsonl");
        journal.exists()
            && read_journal(&journal)
                .iter()
                .any(|e| e["event"] == "stage_started" && e["stage"] == "validate")
    };
    assert!(
        eventually(Duration::from_secs(60), validating),
        "validate never started"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let started = Instant::now();
    let out = sandbox
        .flow_command("happy")
        .args(["resume", "last", "--quiet"])
        .env("FAKE_AGENT_LOG", &calls)
        .output()
        .unwrap();
    let run = sandbox.read_run(out, started.elapsed());
    assert_eq!(run.code(), Some(0), "{}", run.explain());
    let attempts: Vec<String> = run
        .events("stage_started")
        .iter()
        .map(|e| format!("{} {}", e["stage"].as_str().unwrap(), e["attempt"]))
        .collect();
    assert_eq!(
        attempts,
        [
            "setup 1",
            "discussion 1",
            "execute 1",
            "validate 1",
            "validate 2",
            "compact 1",
            "complete 1",
            "cleanup 1"
        ],
        "the finished phases ran once; only the lost validate attempt ran again"
    );
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap(),
        "discussion discuss happy\nexecute implement happy\ncompact compact happy\n",
        "no agent call was repeated"
    );
    assert_eq!(outcomes(&run), outcomes(&whole));
    assert_eq!(
        branch_commits(&sandbox, &run),
        branch_commits(&calm, &whole)
    );
    let branch = run.artifact_text("setup", "branch.txt").trim().to_string();
    assert!(branch.ends_with(&run.nonce()), "{branch}");
    let head = sandbox.git(&["rev-parse", &branch]);
    assert!(run
        .artifact_text("complete", "pr-body.md")
        .contains(&format!("Head: {head}")));
}

/// With a GitHub origin, `complete` pushes and opens the pull request with
/// `gh` (a stand-in that records its arguments). When a pull request is
/// already open for the branch (an earlier attempt opened it before `flow`
/// died), a second `complete` finds it and opens no other.
#[test]
fn complete_opens_one_pull_request_and_finds_an_open_one_instead_of_a_second() {
    for already_open in [false, true] {
        let sandbox = Sandbox::new();
        let origin = sandbox.tmp.path().join("github.com/owner/repo.git");
        std::fs::create_dir_all(&origin).unwrap();
        support::git(&origin, &["init", "--quiet", "--bare"]);
        sandbox.git(&["remote", "add", "origin", origin.to_str().unwrap()]);
        let bin = sandbox.tmp.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(root_file("tests/fixtures/bin/gh"), bin.join("gh")).unwrap();
        let log = sandbox.tmp.path().join("tools.log");
        let mut cmd = sandbox.run_command(&pipeline(), "happy", &[]);
        cmd.env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env("FAKE_TOOL_LOG", &log)
        .env("FAKE_GH_DIR", sandbox.tmp.path());
        if already_open {
            cmd.env("FAKE_GH_OPEN", "1");
        }
        let run = sandbox.finish(cmd);
        assert_eq!(run.outcome(), "succeeded", "{}", run.explain());
        let branch = run.artifact_text("setup", "branch.txt").trim().to_string();
        assert_eq!(
            support::git(&origin, &["rev-parse", &branch]),
            sandbox.git(&["rev-parse", &branch]),
            "the branch was pushed"
        );
        let calls = std::fs::read_to_string(&log).unwrap();
        assert!(
            calls.contains(&format!("gh pr view {branch} --json url")),
            "{calls}"
        );
        assert_eq!(
            calls.matches("gh pr create").count(),
            usize::from(!already_open),
            "{calls}"
        );
        assert_eq!(
            run.artifact_text("complete", "pr-url.txt").trim(),
            "https://github.com/owner/repo/pull/7"
        );
        if already_open {
            assert!(run
                .log("complete", 1, 1)
                .contains("the pull request is already open"));
        }
    }
}

/// `flow` is SIGKILLed after the execute agent committed its work but before
/// its attempt ended. The resumed attempt finds the work done (the agent
/// says DONE without a new commit): the visit did commit, so it is DONE,
/// not NOTHING_DONE, and the run ends as an uninterrupted one, with the one
/// commit.
#[test]
fn a_crash_after_the_execute_commit_resumes_to_done_not_nothing_done() {
    let sandbox = Sandbox::new();
    let pids = sandbox.tmp.path().join("agent-pids");
    let mut cmd = sandbox.run_command(&pipeline(), "commit-then-hang", &[]);
    cmd.env("FAKE_AGENT_PIDS", &pids);
    let mut child = cmd.spawn().unwrap();
    assert!(eventually(Duration::from_secs(60), || pids.exists()));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for pid in std::fs::read_to_string(&pids).unwrap().split_whitespace() {
        let pid: i32 = pid.parse().unwrap();
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let started = Instant::now();
    let out = sandbox
        .flow_command("happy")
        .args(["resume", "last", "--quiet"])
        .output()
        .unwrap();
    let run = sandbox.read_run(out, started.elapsed());
    assert_eq!(run.outcome(), "succeeded", "{}", run.explain());
    assert_eq!(run.stage_events("stage_started", "execute").len(), 2);
    assert_eq!(
        branch_commits(&sandbox, &run),
        ["Fix mean(): divide by len(values) (#1)"]
    );
}
