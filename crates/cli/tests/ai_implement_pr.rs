//! End-to-end tests of ai-implement's tail after the pull request (issue 7
//! §4) and of its trackers: the real `flow` binary, the sample repository,
//! the scripted agent, and scripted stand-ins for `gh`, `glab` and `acli`
//! (`tests/fixtures/fake-*`), which accept only their CLI's documented flags
//! and record every call in `calls.jsonl`.
//!
//! The sample repository gets an `origin` whose configured URL is on GitHub
//! (or GitLab) and which git rewrites (`url.<bare>.insteadOf`) to a local
//! bare repository, so pushes are real and checkable.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{git, read_journal, root_file, Run, Sandbox};

fn pipeline() -> PathBuf {
    root_file("pipelines/ai-implement.flow")
}

fn agent() -> String {
    root_file("tests/fixtures/fake-agent")
        .to_str()
        .expect("utf-8 path")
        .to_string()
}

/// A code host for the sample repository: a bare "origin" behind a
/// GitHub/GitLab URL, and the folder of the CLI stand-in's state.
struct Host {
    /// `FAKE_GH_DIR` / `FAKE_GLAB_DIR` / `FAKE_ACLI_DIR`: scripted answers, `calls.jsonl`.
    dir: PathBuf,
    /// The bare repository pushes land in.
    bare: PathBuf,
    /// `PATH` with the stand-ins first.
    path: String,
}

impl Host {
    /// Adds `origin` = `url` (rewritten to a fresh bare repository) to the
    /// sample repository, pushes `main`, and puts the stand-ins on `PATH`.
    fn new(sandbox: &Sandbox, url: &str) -> Host {
        let base = sandbox.tmp.path().canonicalize().unwrap();
        let bare = base.join("origin.git");
        git(
            &base,
            &["init", "--quiet", "--bare", bare.to_str().unwrap()],
        );
        sandbox.git(&["remote", "add", "origin", url]);
        sandbox.git(&["config", &format!("url.{}.insteadOf", bare.display()), url]);
        sandbox.git(&["push", "--quiet", "origin", "main"]);
        let dir = base.join("host");
        std::fs::create_dir_all(&dir).unwrap();
        let fixtures = root_file("tests/fixtures");
        let path = format!(
            "{}:{}:{}:{}",
            fixtures.join("fake-gh").display(),
            fixtures.join("fake-glab").display(),
            fixtures.join("fake-acli").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Host { dir, bare, path }
    }

    /// Writes a scripted answer file (`pr-states`, `inline.json`, …).
    fn script(&self, name: &str, text: &str) {
        std::fs::write(self.dir.join(name), text).unwrap();
    }

    /// The recorded calls, in order: `{"argv": [...], "body": …}`.
    fn calls(&self) -> Vec<Value> {
        match std::fs::read_to_string(self.dir.join("calls.jsonl")) {
            Ok(text) => text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Calls whose argv starts with `prefix`.
    fn calls_of(&self, prefix: &[&str]) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|c| {
                let argv = c["argv"].as_array().unwrap();
                argv.len() >= prefix.len() && prefix.iter().zip(argv).all(|(p, a)| a == p)
            })
            .collect()
    }

    /// Calls whose argv has `word` anywhere.
    fn calls_with(&self, word: &str) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|c| c["argv"].as_array().unwrap().iter().any(|a| a == word))
            .collect()
    }

    /// The environment a run needs to find the stand-ins.
    fn env<'a>(&'a self, var: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("PATH", self.path.as_str()),
            (var, self.dir.to_str().unwrap()),
        ]
    }
}

/// The text of a stage attempt's prompt (`stages/<stage>.<v>.<a>/prompt.md`).
fn prompt(run_dir: &Path, stage: &str, visit: u32) -> String {
    let path = run_dir
        .join("stages")
        .join(format!("{stage}.{visit}.1"))
        .join("prompt.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn starts(run: &Run, stage: &str) -> usize {
    run.started().iter().filter(|s| *s == stage).count()
}

#[test]
fn a_merged_pull_request_is_learned_from_and_the_next_plan_reads_the_memory() {
    let sandbox = Sandbox::new();
    let host = Host::new(&sandbox, "https://github.com/acme/sample.git");
    host.script("pr-states", "OPEN\nMERGED\n");
    // Only the bot's own words and a bot account's: none is a person's review.
    host.script(
        "comments.json",
        r#"[{"id": "IC_own", "author": {"login": "flow-bot"}, "body": "Opened by flow.", "url": "u"},
            {"id": "IC_ci", "author": {"login": "ci-helper[bot]"}, "body": "Coverage 98%", "url": "u"}]"#,
    );
    host.script(
        "inline.json",
        r#"[{"id": 55, "user": {"login": "flow-bot"}, "body": "My own note.", "path": "calc.py", "line": 3}]"#,
    );
    let run = sandbox.run_full(
        &pipeline(),
        "1",
        &agent(),
        "happy",
        &host.env("FAKE_GH_DIR"),
        &["--pr_poll", "1s"],
    );
    eprintln!("merged: flow run took {:?}", run.elapsed);
    assert_eq!(run.code(), Some(0), "{}", run.explain());
    assert_eq!(run.outcome(), "succeeded");
    run.assert_stages(&[
        ("create_pr", "succeeded"),
        ("check_pr", "succeeded"),
        ("address_feedback", "skipped"),
        ("reply_feedback", "skipped"),
        ("learn", "succeeded"),
        ("remember", "succeeded"),
        ("notify_blocked", "skipped"),
        ("cleanup", "succeeded"),
    ]);
    assert_eq!(starts(&run, "check_pr"), 2, "open, then merged");
    assert!(run
        .routes()
        .contains(&("check_pr".into(), "success".into(), "learn".into())));

    // The pull request: pushed to origin, opened with gh's documented flags.
    let branch = run.artifact_text("setup", "branch.txt").trim().to_string();
    let opened = host.calls_of(&["pr", "create"]);
    assert_eq!(opened.len(), 1, "{:?}", host.calls());
    assert_eq!(opened[0]["argv"][2], "--head");
    assert_eq!(opened[0]["argv"][3], branch.as_str());
    assert!(opened[0]["body"]
        .as_str()
        .unwrap()
        .starts_with("Implements issues/1.md"));
    assert_eq!(
        git(
            &sandbox.tmp.path().join("origin.git"),
            &["rev-parse", &branch]
        ),
        sandbox.git(&["rev-parse", &branch]),
        "the branch on origin is the run's"
    );
    assert_eq!(
        run.artifact_text("create_pr", "pr-url.txt").trim(),
        "https://github.com/acme/sample/pull/7"
    );
    // The bot's own comments and the bot account's never reach an agent.
    assert!(host.calls_of(&["pr", "comment"]).is_empty());
    assert!(host.calls_with("--method").is_empty(), "{:?}", host.calls());
    let pr: Value = serde_json::from_str(&run.artifact_text("check_pr", "pr.json")).unwrap();
    assert_eq!(pr["state"], "MERGED");
    assert!(!run.artifact("check_pr", "feedback.md").exists());

    // learn's lesson is in the repository's memory, beside the runs.
    let memory = sandbox.cwd.join(".flow/memory/github.com-acme-sample.md");
    let text =
        std::fs::read_to_string(&memory).unwrap_or_else(|e| panic!("{e}\n{}", run.explain()));
    assert!(
        text.contains("- Run `make test`: the tests are unittest, not pytest"),
        "{text}"
    );
    assert!(text.contains(&format!(
        "run {}, issue #1",
        run.one("run_started")["run_id"].as_str().unwrap()
    )));
    // This run had no memory yet: its plan prompt has none.
    assert!(!prompt(run.dir(), "plan", 1).contains("## Memory"));

    // A later run on the same repository: plan's prompt carries the lesson.
    let before: Vec<PathBuf> = run_dirs(&sandbox);
    let out = sandbox
        .flow_command("happy")
        .args(["run", pipeline().to_str().unwrap(), "--repo"])
        .arg(&sandbox.repo)
        .args([
            "--issue",
            "1",
            "--quiet",
            "--pr_poll",
            "1s",
            "--agent",
            &agent(),
        ])
        .env("PATH", &host.path)
        .env("FAKE_GH_DIR", &host.dir)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let second: Vec<PathBuf> = run_dirs(&sandbox)
        .into_iter()
        .filter(|d| !before.contains(d))
        .collect();
    assert_eq!(second.len(), 1);
    let plan = prompt(&second[0], "plan", 1);
    assert!(
        plan.contains("## Memory: lessons from earlier runs on this repository"),
        "{plan}"
    );
    assert!(
        plan.contains("the tests are unittest, not pytest"),
        "{plan}"
    );
    // The memory keeps one entry per run that learned.
    let text = std::fs::read_to_string(&memory).unwrap();
    assert_eq!(text.matches("\n## ").count(), 2, "{text}");
}

fn run_dirs(sandbox: &Sandbox) -> Vec<PathBuf> {
    std::fs::read_dir(sandbox.cwd.join(".flow/runs"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

#[test]
fn review_comments_from_people_are_addressed_pushed_and_answered_once() {
    let sandbox = Sandbox::new();
    let host = Host::new(&sandbox, "https://github.com/acme/sample.git");
    // New comments at the first look; still open twice more; then merged.
    host.script("pr-states", "OPEN\nOPEN\nOPEN\nMERGED\n");
    host.script(
        "inline.json",
        r#"[{"id": 101, "user": {"login": "alice"}, "body": "Please document that values must not be empty.", "path": "calc.py", "line": 10},
            {"id": 102, "user": {"login": "flow-bot"}, "body": "BOT-OWN-INLINE", "path": "calc.py", "line": 11}]"#,
    );
    host.script(
        "comments.json",
        r#"[{"id": "IC_c1", "author": {"login": "carol"}, "body": "Could you mention the issue in the docstring?", "url": "u"},
            {"id": "IC_dep", "author": {"login": "dependabot[bot]"}, "body": "BOT-ACCOUNT-COMMENT", "url": "u"}]"#,
    );
    host.script(
        "reviews.json",
        r#"[{"id": "PRR_a", "author": {"login": "alice"}, "body": "", "state": "APPROVED"}]"#,
    );
    let run = sandbox.run_full(
        &pipeline(),
        "1",
        &agent(),
        "happy",
        &host.env("FAKE_GH_DIR"),
        &["--pr_poll", "1s"],
    );
    eprintln!("review: flow run took {:?}", run.elapsed);
    assert_eq!(run.code(), Some(0), "{}", run.explain());
    run.assert_stages(&[
        ("check_pr", "succeeded"),
        ("address_feedback", "succeeded"),
        ("reply_feedback", "succeeded"),
        ("learn", "succeeded"),
        ("remember", "succeeded"),
    ]);
    // Answered once: the later looks at the same comments find nothing new.
    assert_eq!(starts(&run, "address_feedback"), 1, "{}", run.explain());
    assert_eq!(starts(&run, "reply_feedback"), 1);
    assert_eq!(starts(&run, "check_pr"), 4);

    // The agent saw the people's comments, not the bots'.
    let asked = prompt(run.dir(), "address_feedback", 1);
    assert!(asked.contains("## Feedback\n"), "{asked}");
    assert!(
        asked.contains("### Comment review_comment:101 by @alice on `calc.py`:10"),
        "{asked}"
    );
    assert!(
        asked.contains("Could you mention the issue in the docstring?"),
        "{asked}"
    );
    assert!(
        !asked.contains("BOT-OWN-INLINE") && !asked.contains("BOT-ACCOUNT-COMMENT"),
        "{asked}"
    );

    // Its commit was pushed to the pull request's branch on origin.
    let branch = run.artifact_text("setup", "branch.txt").trim().to_string();
    let bare = &host.bare;
    assert_eq!(
        git(bare, &["log", "-1", "--format=%s", &branch]),
        "Address review comments (#1)"
    );
    assert_eq!(
        git(bare, &["rev-parse", &branch]),
        sandbox.git(&["rev-parse", &branch])
    );

    // One answer per comment, each through the documented endpoint, with
    // the agent's reply from replies.json.
    let inline = host.calls_with("repos/{owner}/{repo}/pulls/7/comments/101/replies");
    assert_eq!(inline.len(), 1, "{:?}", host.calls());
    assert_eq!(
        inline[0]["argv"],
        serde_json::json!([
            "api",
            "--method",
            "POST",
            "repos/{owner}/{repo}/pulls/7/comments/101/replies",
            "-F",
            inline[0]["argv"][5].as_str().unwrap()
        ])
    );
    assert!(inline[0]["body"]
        .as_str()
        .unwrap()
        .starts_with("Done: the docstring says so now."));
    let conversation = host.calls_of(&["pr", "comment"]);
    assert_eq!(conversation.len(), 1, "{:?}", host.calls());
    assert_eq!(
        conversation[0]["argv"][2],
        "https://github.com/acme/sample/pull/7"
    );
    assert_eq!(conversation[0]["argv"][3], "--body-file");
    assert!(host
        .calls_with("repos/{owner}/{repo}/pulls/7/comments/102/replies")
        .is_empty());

    // The answered ids, kept in the run (they survive `flow resume`).
    let answered =
        std::fs::read_to_string(run.dir().join("workspace/pr/answered-comments")).unwrap();
    assert_eq!(answered, "review_comment:101\ncomment:IC_c1\n");
}

/// `pr-answer` run again (a retry, or `flow resume` after a crash mid-way)
/// answers only the comments not answered yet.
#[test]
fn pr_answer_never_answers_a_comment_twice() {
    let sandbox = Sandbox::new();
    let host = Host::new(&sandbox, "https://github.com/acme/sample.git");
    let stage = sandbox.tmp.path().join("stage");
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::write(
        stage.join("feedback.json"),
        r#"[{"id": "review_comment:1", "kind": "review_comment", "author": "alice", "body": "a"},
            {"id": "review_comment:2", "kind": "review_comment", "author": "bob", "body": "b"}]"#,
    )
    .unwrap();
    std::fs::write(
        stage.join("result.json"),
        r#"{"status": "DONE", "summary": "Fixed both"}"#,
    )
    .unwrap();
    let answered = sandbox.tmp.path().join("answered");
    std::fs::write(&answered, "review_comment:1\n").unwrap(); // answered before the crash
    let answer = || {
        let out = Command::new(root_file("std-skills/bin/flow-tracker"))
            .args(["pr-answer", "https://github.com/acme/sample/pull/7"])
            .arg(&stage)
            .arg(&answered)
            .current_dir(&sandbox.repo)
            .env("PATH", &host.path)
            .env("FAKE_GH_DIR", &host.dir)
            .env_remove("FLOW_RUN_ID")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    answer();
    answer();
    let replies: Vec<String> = host
        .calls_with("--method")
        .iter()
        .map(|c| c["argv"][3].as_str().unwrap().to_string())
        .collect();
    assert_eq!(replies, ["repos/{owner}/{repo}/pulls/7/comments/2/replies"]);
    assert_eq!(host.calls_with("--method")[0]["body"], "Fixed both\n");
    assert_eq!(
        std::fs::read_to_string(&answered).unwrap(),
        "review_comment:1\nreview_comment:2\n"
    );
}

#[test]
fn the_github_tracker_reads_the_issue_and_gets_the_blocked_note_with_its_class() {
    let sandbox = Sandbox::new();
    let host = Host::new(&sandbox, "https://github.com/acme/sample.git");
    host.script(
        "issue.json",
        r#"{"title": "mean() is wrong on GitHub", "body": "mean([2, 4]) gives 2.", "url": "https://github.com/acme/sample/issues/1", "number": 1}"#,
    );
    let run = sandbox.run_full(
        &pipeline(),
        "1",
        &agent(),
        "never-fixes",
        &host.env("FAKE_GH_DIR"),
        &["--tracker", "github"],
    );
    assert_eq!(run.code(), Some(1), "{}", run.explain());
    assert_eq!(run.outcome(), "blocked");
    assert_eq!(
        run.artifact_text("setup", "issue.md"),
        "# mean() is wrong on GitHub\n\nmean([2, 4]) gives 2.\n\n(https://github.com/acme/sample/issues/1)\n"
    );
    assert_eq!(
        host.calls_of(&["issue", "view"])[0]["argv"],
        serde_json::json!(["issue", "view", "1", "--json", "title,body,url"])
    );
    let note = run.artifact_text("notify_blocked", "blocked.md");
    assert!(note.contains("## Why it stopped: CODE_ERROR\n"), "{note}");
    assert!(note.contains("`fix_tests` reached its `max`"), "{note}");
    let commented = host.calls_of(&["issue", "comment", "1", "--body-file"]);
    assert_eq!(commented.len(), 1, "{:?}", host.calls());
    assert_eq!(commented[0]["body"], note.as_str());
    assert!(
        host.calls_of(&["pr"]).is_empty(),
        "no pull request for a blocked run"
    );
}

#[test]
fn the_gitlab_tracker_and_merge_request_tail_use_glab() {
    let sandbox = Sandbox::new();
    let host = Host::new(&sandbox, "git@gitlab.com:acme/sample.git");
    host.script(
        "issue.json",
        r#"{"iid": 1, "title": "mean() is wrong on GitLab", "description": "See calc.py.", "web_url": "https://gitlab.com/acme/sample/-/issues/1"}"#,
    );
    host.script("mr-states", "opened\nopened\nmerged\n");
    host.script(
        "discussions.json",
        r#"[{"id": "d1", "notes": [{"id": 501, "author": {"username": "bob"}, "body": "Say values must not be empty.", "system": false, "position": {"new_path": "calc.py", "new_line": 10}}]},
            {"id": "d2", "notes": [{"id": 502, "author": {"username": "bob"}, "body": "approved this merge request", "system": true}]}]"#,
    );
    let run = sandbox.run_full(
        &pipeline(),
        "1",
        &agent(),
        "happy",
        &host.env("FAKE_GLAB_DIR"),
        &["--tracker", "gitlab", "--pr_poll", "1s"],
    );
    assert_eq!(run.code(), Some(0), "{}", run.explain());
    assert!(run
        .artifact_text("setup", "issue.md")
        .starts_with("# mean() is wrong on GitLab\n\nSee calc.py.\n"));
    assert_eq!(
        host.calls_of(&["issue", "view"])[0]["argv"],
        serde_json::json!(["issue", "view", "1", "--output", "json"])
    );
    let created = host.calls_of(&["mr", "create", "--source-branch"]);
    assert_eq!(created.len(), 1, "{:?}", host.calls());
    assert!(created[0]["body"]
        .as_str()
        .unwrap()
        .starts_with("Closes #1."));
    assert_eq!(starts(&run, "address_feedback"), 1, "{}", run.explain());
    let replies = host.calls_with("--method");
    assert_eq!(
        replies.len(),
        1,
        "only bob's note, not the system note: {:?}",
        host.calls()
    );
    assert_eq!(
        replies[0]["argv"][3],
        "projects/:fullpath/merge_requests/7/discussions/d1/notes"
    );
    assert_eq!(run.stage_outcome("learn"), "succeeded");
    let branch = run.artifact_text("setup", "branch.txt").trim().to_string();
    assert_eq!(
        git(&host.bare, &["log", "-1", "--format=%s", &branch]),
        "Address review comments (#1)"
    );
}

#[test]
fn the_jira_tracker_reads_the_work_item_and_comments_the_blocked_note() {
    let sandbox = Sandbox::new();
    let host = Host::new(&sandbox, "https://example.org/acme/sample.git");
    host.script(
        "workitem.json",
        r#"{"key": "ACME-1", "self": "https://acme.atlassian.net/rest/api/3/issue/10001",
            "fields": {"summary": "mean() is wrong in Jira",
                       "description": {"type": "doc", "version": 1, "content": [
                         {"type": "paragraph", "content": [{"type": "text", "text": "mean([2, 4]) gives 2."}]}]}}}"#,
    );
    let run = sandbox.run_full(
        &pipeline(),
        "1",
        &agent(),
        "blocked",
        &host.env("FAKE_ACLI_DIR"),
        &["--tracker", "jira:ACME"],
    );
    assert_eq!(run.code(), Some(1), "{}", run.explain());
    assert_eq!(
        run.artifact_text("setup", "issue.md"),
        "# mean() is wrong in Jira\n\nmean([2, 4]) gives 2.\n\n(https://acme.atlassian.net/browse/ACME-1)\n"
    );
    assert_eq!(
        host.calls_of(&["jira", "workitem", "view"])[0]["argv"],
        serde_json::json!([
            "jira",
            "workitem",
            "view",
            "ACME-1",
            "--json",
            "--fields",
            "summary,description"
        ])
    );
    let commented = host.calls_of(&[
        "jira",
        "workitem",
        "comment",
        "create",
        "--key",
        "ACME-1",
        "--body-file",
    ]);
    assert_eq!(commented.len(), 1, "{:?}", host.calls());
    let body = commented[0]["body"].as_str().unwrap();
    assert!(body.contains("## Why it stopped: BLOCKED\n"), "{body}");
    // The journal says the same as blocked.md.
    let journal = read_journal(&run.dir().join("journal.jsonl"));
    assert!(journal
        .iter()
        .any(|e| e["event"] == "routed" && e["to"] == "notify_blocked"));
}

/// A pull request nobody merges is watched for `--pr_watch`, not forever:
/// then check_pr ends (exit 5) and learn runs.
#[test]
fn an_open_pull_request_is_watched_for_pr_watch_then_learned_from() {
    let sandbox = Sandbox::new();
    let host = Host::new(&sandbox, "https://github.com/acme/sample.git");
    host.script("pr-states", "OPEN\n");
    let run = sandbox.run_full(
        &pipeline(),
        "1",
        &agent(),
        "happy",
        &host.env("FAKE_GH_DIR"),
        // Without the watch's bound the loop would run into `max 20` and fail.
        &["--pr_poll", "1s", "--pr_watch", "3s", "--pr_checks", "20"],
    );
    assert_eq!(run.code(), Some(0), "{}", run.explain());
    let looks = starts(&run, "check_pr");
    assert!((1..=4).contains(&looks), "{looks} looks\n{}", run.explain());
    let last = run.stage_events("stage_finished", "check_pr");
    assert_eq!(last.last().unwrap()["exit_code"], 5, "{}", run.explain());
    let last_route = run.routes().last().cloned().unwrap();
    assert_eq!(
        (last_route.0.as_str(), last_route.2.as_str()),
        ("learn", "remember"),
        "{}",
        run.explain()
    );
    assert!(
        run.routes()
            .iter()
            .any(|(from, on, to)| from == "check_pr" && on.contains('5') && to == "learn"),
        "{:?}",
        run.routes()
    );
    assert_eq!(run.stage_outcome("remember"), "succeeded");
}

/// Jira issues with GitHub pull requests: the tracker and the code host are
/// independent; the pull request names the Jira work item.
#[test]
fn jira_issues_get_github_pull_requests_that_name_them() {
    let sandbox = Sandbox::new();
    let host = Host::new(&sandbox, "https://github.com/acme/sample.git");
    host.script(
        "workitem.json",
        r#"{"key": "ACME-1", "self": "https://acme.atlassian.net/rest/api/3/issue/10001",
            "fields": {"summary": "mean() is wrong in Jira", "description": "Plain text."}}"#,
    );
    host.script("pr-states", "MERGED\n");
    let dir = host.dir.to_str().unwrap();
    let mut env = host.env("FAKE_GH_DIR");
    env.push(("FAKE_ACLI_DIR", dir));
    let run = sandbox.run_full(
        &pipeline(),
        "1",
        &agent(),
        "happy",
        &env,
        &["--tracker", "jira:ACME"],
    );
    assert_eq!(run.code(), Some(0), "{}", run.explain());
    let opened = host.calls_of(&["pr", "create"]);
    assert_eq!(opened.len(), 1, "{:?}", host.calls());
    let body = opened[0]["body"].as_str().unwrap();
    assert!(
        body.starts_with(
            "Implements https://acme.atlassian.net/browse/ACME-1: mean() is wrong in Jira\n"
        ),
        "{body}"
    );
    assert_eq!(host.calls_of(&["jira", "workitem", "view"]).len(), 1);
    assert_eq!(run.stage_outcome("learn"), "succeeded");
}

/// flow-analyze-failure's classes, one synthetic journal each: the last
/// route into the stage and the attempt that took it decide.
#[test]
fn analyze_failure_classes_the_attempt_that_routed_to_the_stage() {
    let cases: &[(&str, &str, &str, &str)] = &[
        // (stage_finished fields, settled reason, log text, class)
        (
            r#""exit_code": null, "timed_out": true, "idle": true, "status": null"#,
            "timeout",
            "",
            "TIMEOUT",
        ),
        (
            r#""exit_code": 1, "timed_out": false, "status": "FAILED""#,
            "exit 1",
            "Error: 429 Too Many Requests\n",
            "TRANSIENT",
        ),
        (
            r#""exit_code": 1, "timed_out": false, "status": "FAILED""#,
            "exit 1",
            "segfault in the agent\n",
            "TRANSIENT",
        ),
        (
            r#""exit_code": 5, "timed_out": false, "status": "NO_STATUS""#,
            "exit 5",
            "",
            "TRANSIENT",
        ),
        (
            r#""exit_code": 78, "timed_out": false, "status": null"#,
            "exit 78",
            "",
            "BLOCKED",
        ),
        (
            r#""exit_code": 2, "timed_out": false, "status": "BLOCKED""#,
            "exit 2",
            "rate limit? no: a question\n",
            "BLOCKED",
        ),
        (
            r#""exit_code": 3, "timed_out": false, "status": "TESTS_FAILING""#,
            "max visits (3) reached",
            "",
            "CODE_ERROR",
        ),
        (
            r#""exit_code": null, "timed_out": false, "over_budget": true, "status": null"#,
            "over budget",
            "Error: 503 while stopping\n",
            "BLOCKED",
        ),
    ];
    for (i, (finished, reason, log, class)) in cases.iter().enumerate() {
        let run = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(run.path().join("logs")).unwrap();
        std::fs::write(run.path().join("logs/work.1.1.log"), log).unwrap();
        let journal = format!(
            "{{\"event\": \"stage_started\", \"stage\": \"work\", \"visit\": 1, \"attempt\": 1}}\n\
             {{\"event\": \"stage_finished\", \"stage\": \"work\", \"visit\": 1, \"attempt\": 1, {finished}}}\n\
             {{\"event\": \"stage_settled\", \"stage\": \"work\", \"outcome\": \"failed\", \"reason\": \"{reason}\"}}\n\
             {{\"event\": \"routed\", \"from\": \"work\", \"on\": \"failure\", \"to\": \"notify\"}}\n\
             {{\"event\": \"stage_started\", \"stage\": \"notify\", \"visit\": 1, \"attempt\": 1}}\n"
        );
        std::fs::write(run.path().join("journal.jsonl"), journal).unwrap();
        let json = run.path().join("failure.json");
        let out = Command::new(root_file("std-skills/bin/flow-analyze-failure"))
            .arg(&json)
            .env("FLOW_RUN_DIR", run.path())
            .env("FLOW_STAGE", "notify")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "case {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.starts_with(&format!("## Why it stopped: {class}\n")),
            "case {i}: {text}"
        );
        let got: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(got["class"], *class, "case {i}: {got}");
        assert_eq!(got["stage"], "work", "case {i}");
    }
    // No route into the stage: UNKNOWN, and still a note.
    let run = tempfile::tempdir().unwrap();
    let out = Command::new(root_file("std-skills/bin/flow-analyze-failure"))
        .env("FLOW_RUN_DIR", run.path())
        .env("FLOW_STAGE", "notify")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("## Why it stopped: UNKNOWN\n"));
}

/// reply_feedback fails after answering one comment of two (the host
/// answers 502 once): its retry answers only the other one, because the
/// answered ids live in the run's workspace, not in the attempt's folder.
#[test]
fn a_retried_reply_feedback_answers_only_what_was_not_answered() {
    let sandbox = Sandbox::new();
    let host = Host::new(&sandbox, "https://github.com/acme/sample.git");
    host.script("pr-states", "OPEN\nMERGED\n");
    host.script(
        "inline.json",
        r#"[{"id": 201, "user": {"login": "alice"}, "body": "First point.", "path": "calc.py", "line": 10},
            {"id": 202, "user": {"login": "bob"}, "body": "Second point.", "path": "calc.py", "line": 11}]"#,
    );
    // The pipeline with its 30 s retry delays shortened, to keep the test quick.
    let text = std::fs::read_to_string(pipeline()).unwrap();
    assert!(text.contains("  stage reply_feedback: std.tracker() {\n    needs setup, check_pr, address_feedback\n    timeout 10m\n    retry 1 delay 30s\n"));
    let flow_file = sandbox.tmp.path().join("ai-implement-short.flow");
    std::fs::write(
        &flow_file,
        text.replace("retry 1 delay 30s", "retry 1 delay 1s"),
    )
    .unwrap();
    let mut env = host.env("FAKE_GH_DIR");
    env.push(("FAKE_GH_FAIL_REPLY_TO", "202"));
    let run = sandbox.run_full(
        &flow_file,
        "1",
        &agent(),
        "happy",
        &env,
        &["--pr_poll", "1s"],
    );
    assert_eq!(run.code(), Some(0), "{}", run.explain());
    assert_eq!(
        run.stage_events("stage_finished", "reply_feedback").len(),
        2,
        "{}",
        run.explain()
    );
    let replies: Vec<String> = host
        .calls_with("--method")
        .iter()
        .map(|c| c["argv"][3].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        replies,
        [
            "repos/{owner}/{repo}/pulls/7/comments/201/replies", // attempt 1
            "repos/{owner}/{repo}/pulls/7/comments/202/replies", // attempt 1: 502
            "repos/{owner}/{repo}/pulls/7/comments/202/replies", // the retry: 202 only
        ]
    );
    let retry_log = run.log("reply_feedback", 1, 2);
    assert!(
        retry_log.contains("already answered: review_comment:201"),
        "{retry_log}"
    );
    assert_eq!(
        std::fs::read_to_string(run.dir().join("workspace/pr/answered-comments")).unwrap(),
        "review_comment:201\nreview_comment:202\n"
    );
}
