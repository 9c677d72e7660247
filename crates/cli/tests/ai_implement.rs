//! End-to-end tests of `pipelines/ai-implement.flow`: the real `flow` binary,
//! the embedded `std` library, a real git repository (the sample project of
//! `tests/fixtures/make-sample-repo.sh`) and the scripted agent
//! `tests/fixtures/fake-agent`, which makes real edits and commits.
//!
//! Each test checks the run's journal (stage outcomes, routes, visits), its
//! artifacts, the branch left in the sample repository, and that the
//! `finally cleanup` stage removed the checkout.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use support::{eventually, git, live_group_members, process_alive, root_file, Run, Sandbox};

fn pipeline() -> PathBuf {
    root_file("pipelines/ai-implement.flow")
}

/// The branch the run made: exactly one `ai/…` branch in the sample repo,
/// equal to setup's `branch.txt`, named `ai/1-<slug>-<run nonce>`.
fn assert_branch(sandbox: &Sandbox, run: &Run) -> String {
    let branches = sandbox.ai_branches();
    assert_eq!(
        branches.len(),
        1,
        "ai branches: {branches:?}\n{}",
        run.explain()
    );
    let branch = branches[0].clone();
    let nonce = run.nonce();
    assert_eq!(nonce.len(), 6, "nonce {nonce:?}");
    assert_eq!(
        branch,
        format!("ai/1-mean-returns-the-wrong-average-{nonce}"),
        "branch name"
    );
    assert_eq!(run.artifact_text("setup", "branch.txt").trim(), branch);
    branch
}

/// For a run whose agent committed nothing: the branch setup made is gone
/// (cleanup deleted it, and said so) and no `ai/…` branch is left. Returns
/// the branch name from `branch.txt`.
fn assert_empty_branch_deleted(sandbox: &Sandbox, run: &Run) -> String {
    let branch = run.artifact_text("setup", "branch.txt").trim().to_string();
    assert_eq!(
        branch,
        format!("ai/1-mean-returns-the-wrong-average-{}", run.nonce())
    );
    assert!(
        sandbox.ai_branches().is_empty(),
        "ai branches: {:?}\n{}",
        sandbox.ai_branches(),
        run.explain()
    );
    let log = run.log("cleanup", 1, 1);
    assert!(
        log.contains(&format!(
            "removed the worktree and the branch {branch}, which had no commits"
        )),
        "{log}"
    );
    branch
}

/// Commits on `branch` beyond setup's `base.txt` (which is the sample's `main`).
fn commits_beyond_base(sandbox: &Sandbox, run: &Run, branch: &str) -> Vec<String> {
    let base = run.artifact_text("setup", "base.txt").trim().to_string();
    assert_eq!(
        base,
        sandbox.git(&["rev-parse", "main"]),
        "base.txt is main"
    );
    let log = sandbox.git(&["log", "--format=%an: %s", &format!("{base}..{branch}")]);
    log.lines().map(str::to_string).collect()
}

/// Runs `make test` on a fresh checkout of `rev`; true if the tests pass.
fn tests_pass_at(sandbox: &Sandbox, rev: &str) -> bool {
    let dir = sandbox
        .tmp
        .path()
        .join(format!("check-{}", rev.replace('/', "_")));
    git(
        &sandbox.repo,
        &[
            "worktree",
            "add",
            "--quiet",
            "--detach",
            dir.to_str().unwrap(),
            rev,
        ],
    );
    let out = Command::new("make")
        .arg("test")
        .current_dir(&dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("spawn make");
    git(
        &sandbox.repo,
        &["worktree", "remove", "--force", dir.to_str().unwrap()],
    );
    out.status.success()
}

#[test]
fn happy_path_opens_a_branch_with_the_fix() {
    let sandbox = Sandbox::new();
    let calls = sandbox.tmp.path().join("agent-calls.log");
    let run = sandbox.run(
        &pipeline(),
        "happy",
        &[("FAKE_AGENT_LOG", calls.to_str().unwrap())],
    );
    eprintln!("happy path: flow run took {:?}", run.elapsed);

    assert_eq!(run.code(), Some(0), "{}", run.explain());
    assert_eq!(run.outcome(), "succeeded");
    run.assert_stages(&[
        ("setup", "succeeded"),
        ("prepare", "succeeded"),
        ("plan", "succeeded"),
        ("implement", "succeeded"),
        ("unit_test", "succeeded"),
        ("fix_tests", "skipped"),
        ("self_verify", "succeeded"),
        ("create_pr", "succeeded"),
        ("notify_blocked", "skipped"),
        ("cleanup", "succeeded"),
    ]);
    assert_eq!(
        run.started(),
        [
            "setup",
            "prepare",
            "plan",
            "implement",
            "unit_test",
            "self_verify",
            "create_pr",
            "cleanup"
        ],
        "each stage ran once, in order"
    );
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap(),
        "plan plan happy\nimplement implement happy\nself_verify code-review happy\n",
        "the agent was called for plan, implement and review, with their skills"
    );
    run.assert_cleaned_up();
    assert_eq!(
        sandbox
            .git(&["worktree", "list", "--porcelain"])
            .matches("worktree ")
            .count(),
        1,
        "only the sample's own worktree is left"
    );

    // The branch: named after the issue and the run nonce, with the agent's fix.
    let branch = assert_branch(&sandbox, &run);
    assert_eq!(
        commits_beyond_base(&sandbox, &run, &branch),
        ["Fake Agent: Fix mean(): divide by len(values) (#1)"]
    );
    assert!(
        !tests_pass_at(&sandbox, "main"),
        "the sample's bug makes main fail"
    );
    assert!(tests_pass_at(&sandbox, &branch), "the branch's tests pass");

    // Artifacts.
    assert!(run
        .artifact_text("setup", "issue.md")
        .starts_with("# mean() returns the wrong average\n"));
    assert!(run
        .artifact_text("plan", "PLAN.md")
        .contains("divide by len(values)"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&run.artifact_text("implement", "result.json"))
            .unwrap()["status"],
        "DONE"
    );
    let tests = run.artifact_text("unit_test", "test-output.txt");
    assert!(
        tests.contains("test_mean") && tests.contains("OK"),
        "{tests}"
    );
    assert_eq!(
        run.artifact_text("create_pr", "pr-title.txt"),
        "mean() returns the wrong average\n"
    );
    let body = run.artifact_text("create_pr", "pr-body.md");
    assert!(
        body.starts_with("Implements issues/1.md: mean() returns the wrong average"),
        "{body}"
    );
    assert!(
        body.contains("- Fix mean(): divide by len(values) (#1)"),
        "{body}"
    );
    assert!(
        body.contains("## Plan") && body.contains("## Review"),
        "{body}"
    );
    assert!(
        body.contains(run.one("run_started")["run_id"].as_str().unwrap()),
        "{body}"
    );
    assert!(
        !run.artifact("create_pr", "pr-url.txt").exists(),
        "no GitHub remote: no PR"
    );
    assert!(
        !run.artifact("cleanup", "uncommitted.patch").exists(),
        "nothing was left uncommitted"
    );
}

#[test]
fn failing_tests_go_through_fix_tests_and_back() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&pipeline(), "tests-fail-then-fix", &[]);
    eprintln!("fix loop: flow run took {:?}", run.elapsed);

    assert_eq!(run.code(), Some(0), "{}", run.explain());
    assert_eq!(run.outcome(), "succeeded");
    run.assert_stages(&[
        ("setup", "succeeded"),
        ("prepare", "succeeded"),
        ("plan", "succeeded"),
        ("implement", "succeeded"),
        ("unit_test", "succeeded"),
        ("fix_tests", "succeeded"),
        ("self_verify", "succeeded"),
        ("create_pr", "succeeded"),
        ("notify_blocked", "skipped"),
        ("cleanup", "succeeded"),
    ]);

    // unit_test: visit 1 fails (handled by the route), visit 2 succeeds.
    let visits: Vec<u64> = run
        .stage_events("stage_started", "unit_test")
        .iter()
        .map(|e| e["visit"].as_u64().unwrap())
        .collect();
    assert_eq!(visits, [1, 2], "unit_test visits");
    let settled: Vec<(String, bool)> = run
        .stage_events("stage_settled", "unit_test")
        .iter()
        .map(|e| {
            (
                e["outcome"].as_str().unwrap().to_string(),
                e["handled"] == true,
            )
        })
        .collect();
    assert_eq!(
        settled,
        [
            ("failed".to_string(), true),
            ("succeeded".to_string(), false)
        ]
    );
    assert_eq!(run.stage_events("stage_started", "fix_tests").len(), 1);
    assert_eq!(run.stage_outcome("check_pr"), "skipped");
    assert_eq!(
        run.routes(),
        [
            ("implement", "success", "unit_test"),
            ("unit_test", "failure", "fix_tests"),
            ("fix_tests", "success", "unit_test"),
            ("unit_test", "success", "self_verify"),
            ("self_verify", "success", "create_pr"),
            // The pull request's tail: the route fires, and check_pr's
            // `when` skips it (no pull request was opened: no GitHub).
            ("create_pr", "success", "check_pr"),
        ]
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    );

    // The first test run saw the wrong fix; the artifact is the last visit's.
    let first = run.log("unit_test", 1, 1);
    assert!(first.contains("FAIL: test_mean"), "{first}");
    let last = run.artifact_text("unit_test", "test-output.txt");
    assert!(last.contains("OK") && !last.contains("FAIL"), "{last}");
    assert!(run
        .artifact_text("fix_tests", "findings.md")
        .contains("denominator"));

    let branch = assert_branch(&sandbox, &run);
    assert_eq!(
        commits_beyond_base(&sandbox, &run, &branch),
        [
            "Fake Agent: Fix mean(): the denominator is len(values) (#1)",
            "Fake Agent: Fix mean() denominator (#1)",
        ]
    );
    assert!(tests_pass_at(&sandbox, &branch));
    run.assert_cleaned_up();
}

#[test]
fn a_blocked_agent_ends_the_run_blocked_with_a_note() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&pipeline(), "blocked", &[]);
    eprintln!("blocked: flow run took {:?}", run.elapsed);

    assert_eq!(run.code(), Some(1), "{}", run.explain());
    assert_eq!(run.outcome(), "blocked");
    run.assert_stages(&[
        ("setup", "succeeded"),
        ("prepare", "succeeded"),
        ("plan", "succeeded"),
        ("implement", "failed"),
        ("unit_test", "skipped"),
        ("fix_tests", "skipped"),
        ("self_verify", "skipped"),
        ("create_pr", "skipped"),
        ("notify_blocked", "succeeded"),
        ("cleanup", "succeeded"),
    ]);
    // A routed status is never retried.
    let implement = run.stage_events("stage_finished", "implement");
    assert_eq!(
        implement.len(),
        1,
        "implement was retried\n{}",
        run.explain()
    );
    assert_eq!(implement[0]["exit_code"], 2);
    assert_eq!(implement[0]["status"], "BLOCKED");
    assert_eq!(
        run.stage_events("stage_settled", "implement")[0]["handled"],
        true
    );
    assert_eq!(
        run.routes(),
        [(
            "implement".to_string(),
            "exit 2".to_string(),
            "notify_blocked".to_string()
        )]
    );

    let note = run.artifact_text("notify_blocked", "blocked.md");
    assert!(note.starts_with("# Blocked: issue #1\n"), "{note}");
    assert!(note.contains("## implement said"), "{note}");
    assert!(note.contains("What should mean([]) return?"), "{note}");
    // analyze_failure (flow-analyze-failure) classes it from the journal.
    assert!(note.contains("## Why it stopped: BLOCKED\n"), "{note}");
    let failure: serde_json::Value =
        serde_json::from_str(&run.artifact_text("notify_blocked", "failure.json")).unwrap();
    assert_eq!(failure["class"], "BLOCKED", "{failure}");
    assert_eq!(failure["stage"], "implement", "{failure}");
    assert!(note.contains(run.dir().to_str().unwrap()), "{note}");

    // The agent changed nothing: the empty branch is deleted, and the note says so.
    let branch = assert_empty_branch_deleted(&sandbox, &run);
    assert!(
        note.contains(&format!(
            "Nothing was committed; the empty branch `{branch}` is deleted"
        )),
        "{note}"
    );
    run.assert_cleaned_up();
}

#[test]
fn a_hanging_agent_is_killed_on_timeout_and_the_run_ends_blocked() {
    // The real timeout is 45m and a retry waits 1m: a copy of the pipeline
    // with only those shortened (and a short grace) keeps the test quick.
    let sandbox = Sandbox::new();
    let text = std::fs::read_to_string(pipeline()).unwrap();
    let mut short = text.clone();
    for (from, to) in [
        ("    timeout 45m\n", "    timeout 3s\n    grace 1s\n"),
        ("    retry 1 delay 1m\n", "    retry 1 delay 1s\n"),
    ] {
        assert_eq!(
            text.matches(from).count(),
            1,
            "{from:?} is not unique in the pipeline"
        );
        short = short.replace(from, to);
    }
    let flow_file = sandbox.tmp.path().join("ai-implement-short.flow");
    std::fs::write(&flow_file, short).unwrap();
    let pids_file = sandbox.tmp.path().join("agent.pids");

    let run = sandbox.run(
        &flow_file,
        "hang",
        &[("FAKE_AGENT_PIDS", pids_file.to_str().unwrap())],
    );
    eprintln!("hang: flow run took {:?}", run.elapsed);
    assert!(
        run.elapsed < Duration::from_secs(30),
        "took {:?}",
        run.elapsed
    );

    assert_eq!(run.code(), Some(1), "{}", run.explain());
    assert_eq!(run.outcome(), "blocked");
    run.assert_stages(&[
        ("setup", "succeeded"),
        ("prepare", "succeeded"),
        ("plan", "succeeded"),
        ("implement", "failed"),
        ("unit_test", "skipped"),
        ("fix_tests", "skipped"),
        ("self_verify", "skipped"),
        ("create_pr", "skipped"),
        ("notify_blocked", "succeeded"),
        ("cleanup", "succeeded"),
    ]);

    // Both attempts (the first and its one retry) timed out and were killed.
    let attempts = run.stage_events("stage_finished", "implement");
    assert_eq!(attempts.len(), 2, "{}", run.explain());
    for (i, a) in attempts.iter().enumerate() {
        assert_eq!(a["attempt"], i as u64 + 1);
        assert_eq!(a["timed_out"], true, "{a}");
        assert_eq!(a["exit_code"], serde_json::Value::Null, "{a}");
        let ms = a["duration_ms"].as_u64().unwrap();
        assert!((3000..6000).contains(&ms), "attempt took {ms}ms: {a}");
    }
    assert_eq!(run.events("retry_scheduled").len(), 1);
    assert_eq!(
        run.stage_events("stage_settled", "implement")[0]["reason"],
        "timeout"
    );
    // No `on timeout` route: `on failure` takes it, after the retry.
    assert_eq!(
        run.routes(),
        [(
            "implement".to_string(),
            "failure".to_string(),
            "notify_blocked".to_string()
        )]
    );
    let note = run.artifact_text("notify_blocked", "blocked.md");
    assert!(note.starts_with("# Blocked: issue #1\n"), "{note}");
    assert!(note.contains("## Why it stopped: TIMEOUT\n"), "{note}");

    // Nothing the agent started survives: neither the processes it reported
    // (one line of 3 pids per attempt) nor anything in either attempt's
    // process group.
    let reported = std::fs::read_to_string(&pids_file).expect("the fake agent wrote its pids");
    assert_eq!(
        reported.lines().count(),
        2,
        "one line per attempt: {reported:?}"
    );
    let pids: Vec<u32> = reported
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 6, "{pids:?}");
    let groups: Vec<u32> = run
        .stage_events("stage_started", "implement")
        .iter()
        .map(|e| e["pid"].as_u64().unwrap() as u32)
        .collect();
    assert_eq!(groups.len(), 2);
    let all_gone = eventually(Duration::from_secs(3), || {
        pids.iter().all(|&p| !process_alive(p))
            && groups.iter().all(|&g| live_group_members(g).is_empty())
    });
    assert!(
        all_gone,
        "still alive: pids {:?}, group members {:?}",
        pids.iter()
            .filter(|&&p| process_alive(p))
            .collect::<Vec<_>>(),
        groups
            .iter()
            .map(|&g| live_group_members(g))
            .collect::<Vec<_>>()
    );

    assert_empty_branch_deleted(&sandbox, &run);
    run.assert_cleaned_up();
}

#[test]
fn a_missing_agent_cli_fails_setup_before_anything_else() {
    let sandbox = Sandbox::new();
    let run = sandbox.run_with(
        &pipeline(),
        "1",
        "definitely-not-an-agent-cli",
        "happy",
        &[],
    );
    eprintln!("missing agent: flow run took {:?}", run.elapsed);

    assert_eq!(run.code(), Some(1), "{}", run.explain());
    assert_eq!(run.outcome(), "failed");
    assert_eq!(run.one("run_finished")["reason"], "setup");
    assert_eq!(
        run.started(),
        ["setup", "cleanup"],
        "only setup and cleanup ran"
    );
    run.assert_stages(&[
        ("setup", "failed"),
        ("prepare", "skipped"),
        ("plan", "skipped"),
        ("implement", "skipped"),
        ("unit_test", "skipped"),
        ("fix_tests", "skipped"),
        ("self_verify", "skipped"),
        ("create_pr", "skipped"),
        ("notify_blocked", "skipped"),
        ("cleanup", "succeeded"),
    ]);
    assert_eq!(
        run.stage_events("stage_finished", "setup")[0]["exit_code"],
        127
    );
    let log = run.log("setup", 1, 1);
    assert!(
        log.contains("'definitely-not-an-agent-cli' not found") && log.contains("--agent"),
        "{log}"
    );
    // Checked before the worktree: no branch, no checkout.
    assert!(sandbox.ai_branches().is_empty());
    assert!(!run.artifact("setup", "branch.txt").exists());
    run.assert_cleaned_up();
}

#[test]
fn a_bad_param_is_rejected_before_a_run_starts() {
    let sandbox = Sandbox::new();
    let agent = root_file("tests/fixtures/fake-agent");
    let run = sandbox.run_with(
        &pipeline(),
        "notanumber",
        agent.to_str().unwrap(),
        "happy",
        &[],
    );

    assert_eq!(run.code(), Some(2), "{}", run.explain());
    let err = run.stderr();
    assert!(
        err.contains("--issue") && err.contains("notanumber"),
        "{err}"
    );
    assert!(!sandbox.cwd.join(".flow").exists(), "a run folder was made");
    assert!(sandbox.ai_branches().is_empty());
}

/// A repository without a `.gitignore` for Python's by-products, an agent
/// that runs the tests itself (leaving `__pycache__/`) and leaves its fix
/// uncommitted: flow-agent commits the fix but no `.pyc`, create_pr makes no
/// commit of by-products alone, and cleanup saves no patch of them.
#[test]
fn build_and_test_byproducts_are_never_committed() {
    let sandbox = Sandbox::new();
    sandbox.git(&["rm", "--quiet", ".gitignore"]);
    sandbox.git(&[
        "-c",
        "user.name=flow tests",
        "-c",
        "user.email=flow-tests@example.invalid",
        "commit",
        "--quiet",
        "-m",
        "No .gitignore",
    ]);
    // Python writes bytecode unless PYTHONDONTWRITEBYTECODE is non-empty: an
    // empty value undoes the sandbox's default, as in a user's shell.
    let run = sandbox.run(
        &pipeline(),
        "runs-tests-uncommitted",
        &[("PYTHONDONTWRITEBYTECODE", "")],
    );
    assert_eq!(run.code(), Some(0), "{}", run.explain());
    assert_eq!(run.outcome(), "succeeded");
    let implement = run.log("implement", 1, 1);
    assert!(
        implement.contains("the tests left __pycache__/ in the repository"),
        "the agent made no by-products, so this test proves nothing:\n{implement}"
    );

    let branch = assert_branch(&sandbox, &run);
    assert_eq!(
        commits_beyond_base(&sandbox, &run, &branch),
        ["flow e2e: implement: mean() divides by len(values); tests pass"],
        "flow-agent's commit only: none of by-products in create_pr"
    );
    let files = sandbox.git(&["ls-tree", "-r", "--name-only", &branch]);
    assert!(
        !files.contains("__pycache__") && !files.contains(".pyc"),
        "by-products committed:\n{files}"
    );
    assert!(tests_pass_at(&sandbox, &branch));
    assert!(
        run.log("create_pr", 1, 1)
            .contains("only build/test by-products are uncommitted"),
        "{}",
        run.log("create_pr", 1, 1)
    );
    assert!(
        !run.artifact("cleanup", "uncommitted.patch").exists(),
        "a patch of by-products only"
    );
    run.assert_cleaned_up();
}

/// `--repo` naming a folder that is not a git repository fails setup with
/// git's reason, instead of trying to clone the folder.
#[test]
fn a_repo_folder_that_is_not_git_fails_setup_clearly() {
    let mut sandbox = Sandbox::new();
    let plain = sandbox.tmp.path().canonicalize().unwrap().join("plain");
    std::fs::create_dir_all(plain.join("issues")).unwrap();
    std::fs::copy(sandbox.repo.join("issues/1.md"), plain.join("issues/1.md")).unwrap();
    sandbox.repo = plain.clone();
    let run = sandbox.run(&pipeline(), "happy", &[("GIT_CEILING_DIRECTORIES", "/")]);

    assert_eq!(run.code(), Some(1), "{}", run.explain());
    assert_eq!(run.one("run_finished")["reason"], "setup");
    let log = run.log("setup", 1, 1);
    assert!(
        log.contains(&format!(
            "setup: --repo {} is a folder but not a git repository (git says: not a git repository",
            plain.display()
        )),
        "{log}"
    );
    assert!(!log.contains("cloning"), "{log}");
    run.assert_cleaned_up();
}

/// `--repo` as a URL: the branch lives only in the clone, which cleanup keeps
/// (it was not pushed), and create_pr says so instead of naming the URL.
#[test]
fn a_cloned_repo_url_keeps_the_branch_in_the_clone() {
    let mut sandbox = Sandbox::new();
    let origin = sandbox.repo.clone();
    let url = format!("file://{}", origin.display());
    sandbox.repo = PathBuf::from(&url);
    let run = sandbox.run(&pipeline(), "happy", &[]);

    assert_eq!(run.code(), Some(0), "{}", run.explain());
    let clone = run.worktree();
    let pr = run.log("create_pr", 1, 1);
    assert!(
        pr.contains(&format!(
            "is kept only in the clone {} (not pushed)",
            clone.display()
        )),
        "{pr}"
    );
    assert!(!pr.contains(&format!("kept in {url}")), "{pr}");
    assert!(clone.join(".git").is_dir(), "cleanup removed the clone");
    let branch = run.artifact_text("setup", "branch.txt").trim().to_string();
    assert_eq!(git(&clone, &["branch", "--show-current"]), branch);
    assert_eq!(
        git(&clone, &["rev-list", "--count", "origin/main..HEAD"]),
        "1"
    );
    assert!(
        git(&origin, &["branch", "--list", "ai/*"]).is_empty(),
        "the origin got a branch"
    );
}

/// The `/proc` helpers the hang test relies on see a live process group and
/// see it go (so that test cannot pass by looking in the wrong place).
#[test]
fn process_helpers_see_a_group_live_and_gone() {
    use std::os::unix::process::CommandExt;
    let mut child = Command::new("sleep")
        .arg("30")
        .process_group(0)
        .spawn()
        .expect("spawn sleep");
    let pid = child.id();
    assert!(process_alive(pid));
    assert_eq!(live_group_members(pid), [pid]);
    child.kill().unwrap();
    // Killed but not yet waited for: a zombie counts as gone.
    assert!(eventually(Duration::from_secs(3), || !process_alive(pid)));
    assert!(live_group_members(pid).is_empty());
    child.wait().unwrap();
    assert!(!process_alive(pid));
}

/// Issue 7 §2: an agent that ends without a status line, or with one its
/// skill does not allow, is NO_STATUS (exit 5), never a silent DONE; the
/// pipeline routes it to a human without a retry.
#[test]
fn an_agent_without_a_valid_status_is_no_status_never_done() {
    for scenario in ["no-status", "wrong-status"] {
        let sandbox = Sandbox::new();
        let run = sandbox.run(&pipeline(), scenario, &[]);
        assert_eq!(run.code(), Some(1), "{scenario}: {}", run.explain());
        assert_eq!(run.outcome(), "blocked", "{scenario}");
        let implement = run.stage_events("stage_finished", "implement");
        assert_eq!(implement.len(), 1, "{scenario}: retried\n{}", run.explain());
        assert_eq!(implement[0]["exit_code"], 5, "{scenario}");
        assert_eq!(implement[0]["status"], "NO_STATUS", "{scenario}");
        assert_eq!(
            run.routes(),
            [(
                "implement".to_string(),
                "exit 5, 6".to_string(),
                "notify_blocked".to_string()
            )],
            "{scenario}"
        );
        run.assert_stages(&[
            ("implement", "failed"),
            ("unit_test", "skipped"),
            ("create_pr", "skipped"),
            ("notify_blocked", "succeeded"),
        ]);
    }
}

/// Issue 7 §2: an implement agent that says DONE and commits nothing did
/// nothing: NOTHING_DONE (exit 6), routable, not a success.
#[test]
fn an_agent_that_commits_nothing_did_nothing() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&pipeline(), "does-nothing", &[]);
    assert_eq!(run.code(), Some(1), "{}", run.explain());
    assert_eq!(run.outcome(), "blocked");
    let implement = run.stage_events("stage_finished", "implement");
    assert_eq!(implement.len(), 1, "{}", run.explain());
    assert_eq!(implement[0]["exit_code"], 6);
    assert_eq!(implement[0]["status"], "NOTHING_DONE");
    run.assert_stages(&[("implement", "failed"), ("notify_blocked", "succeeded")]);
    assert_empty_branch_deleted(&sandbox, &run);
}
