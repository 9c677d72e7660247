//! The pipelines of issue 8 end to end: `pipelines/ai-cleanup.flow` on a
//! real git repository (branches, a worktree, run workspaces) and
//! `pipelines/ai-issue-picker.flow` on a real `flow serve`, both against the
//! scripted GitHub CLI (`tests/fixtures/fake-gh`).

mod support;

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;
use support::repo_root;
use support::serve::{flow, flow_bin, wait_for, Server, DEADLINE};

/// `PATH` with the `flow` under test and the fake `gh` first.
fn test_path() -> String {
    let bin = Path::new(flow_bin())
        .parent()
        .unwrap()
        .display()
        .to_string();
    let gh = repo_root().join("tests/fixtures/fake-gh");
    let path = std::env::var("PATH").unwrap_or_default();
    format!("{bin}:{}:{path}", gh.display())
}

/// `git -C DIR ARGS…` with a fixed identity; panics unless git succeeds;
/// stdout trimmed. `date` (RFC 3339) dates the commit it makes.
fn git_at(dir: &Path, args: &[&str], date: Option<&str>) -> String {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir).args(args);
    for (k, v) in [
        ("GIT_AUTHOR_NAME", "t"),
        ("GIT_AUTHOR_EMAIL", "t@localhost"),
        ("GIT_COMMITTER_NAME", "t"),
        ("GIT_COMMITTER_EMAIL", "t@localhost"),
    ] {
        cmd.env(k, v);
    }
    if let Some(d) = date {
        cmd.env("GIT_AUTHOR_DATE", d).env("GIT_COMMITTER_DATE", d);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn git(dir: &Path, args: &[&str]) -> String {
    git_at(dir, args, None)
}

/// A repository on `main` with one commit, its origin on GitHub (never
/// reached: only its host picks gh for the pull requests).
fn sample_repo(at: &Path) -> PathBuf {
    let repo = at.join("sample");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["commit", "-q", "--allow-empty", "-m", "init"]);
    git(
        &repo,
        &[
            "remote",
            "add",
            "origin",
            "https://github.com/acme/sample.git",
        ],
    );
    repo
}

/// A branch `name` from main with one commit dated `date`.
fn branch_with_commit(repo: &Path, name: &str, date: Option<&str>) {
    git(repo, &["branch", name, "main"]);
    git(repo, &["switch", "-q", name]);
    git_at(repo, &["commit", "-q", "--allow-empty", "-m", name], date);
    git(repo, &["switch", "-q", "main"]);
}

fn local_branches(repo: &Path) -> BTreeSet<String> {
    git(
        repo,
        &["for-each-ref", "--format=%(refname:short)", "refs/heads/"],
    )
    .lines()
    .map(str::to_string)
    .collect()
}

/// `flow runs --json` in `proj`.
fn runs(proj: &Path) -> Vec<Value> {
    let out = flow()
        .current_dir(proj)
        .args(["runs", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The newest run of `flow_name` in `proj`.
fn newest_run(proj: &Path, flow_name: &str) -> Value {
    runs(proj)
        .into_iter()
        .rfind(|r| r["flow"] == flow_name)
        .unwrap_or_else(|| panic!("no run of {flow_name}"))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The `name` fields of `cleanup.json`'s `list` ("removed" or "kept") of `kind`.
fn names(report: &Value, list: &str, kind: &str) -> BTreeSet<String> {
    report[list]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == kind)
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn cleanup_removes_merged_and_abandoned_branches_and_ended_workspaces_keeping_open_prs() {
    let tmp = tempfile::tempdir().unwrap();
    let gh_dir = tmp.path().join("gh");
    std::fs::create_dir_all(&gh_dir).unwrap();
    let repo = sample_repo(tmp.path());
    let old = Some("2026-01-01T00:00:00Z");
    git(&repo, &["branch", "ai/1-merged", "main"]); // nothing beyond main
    branch_with_commit(&repo, "ai/2-abandoned", old);
    branch_with_commit(&repo, "ai/3-open-pr", old); // old, but its PR is open
    branch_with_commit(&repo, "ai/4-fresh", None);
    branch_with_commit(&repo, "ai/6-closed-pr", old); // its PR is no longer open
    branch_with_commit(&repo, "feature/old", old); // not ai/: never touched
    std::fs::write(
        gh_dir.join("prs.json"),
        json!([
            {"headRefName": "ai/3-open-pr", "state": "OPEN"},
            {"headRefName": "ai/6-closed-pr", "state": "CLOSED"}
        ])
        .to_string(),
    )
    .unwrap();

    // A project whose runs leave things in their workspaces.
    let proj = tmp.path().join("proj");
    std::fs::create_dir_all(&proj).unwrap();
    let gate = tmp.path().join("gate");
    std::fs::write(
        proj.join("leave.flow"),
        "flow leave {\n  timeout 5m\n  stage a { run \"echo x > $FLOW_WORKSPACE/left.txt\" }\n}\n",
    )
    .unwrap();
    std::fs::write(
        proj.join("hold.flow"),
        format!(
            "flow hold {{\n  timeout 5m\n  stage a {{ run \"echo x > $FLOW_WORKSPACE/busy.txt; while [ ! -e {} ]; do sleep 0.1; done\" }}\n}}\n",
            gate.display()
        ),
    )
    .unwrap();
    let run_flow = |args: &[&str]| {
        let out = flow()
            .current_dir(&proj)
            .env("PATH", test_path())
            .env("FAKE_GH_DIR", &gh_dir)
            .args(["run"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "flow run {args:?}: {out:?}");
    };
    run_flow(&["leave.flow", "--quiet"]);
    let ended = newest_run(&proj, "leave");
    let ended_ws = proj.join(ended["dir"].as_str().unwrap()).join("workspace");
    assert!(ended_ws.join("left.txt").exists());
    // ai-implement's layout: the ended run's worktree in its workspace.
    let worktree = ended_ws.join("repo");
    git(
        &repo,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "ai/5-worktree",
            worktree.to_str().unwrap(),
            "main",
        ],
    );
    // A worktree made by hand, on an ai/ branch: kept, and so its branch.
    let manual = tmp.path().join("manual");
    git(
        &repo,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "ai/7-manual",
            manual.to_str().unwrap(),
            "main",
        ],
    );
    // A run still going: its workspace stays.
    let mut holder: Child = flow()
        .current_dir(&proj)
        .args(["run", "hold.flow", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut busy_ws = PathBuf::new();
    wait_for("the holding run to start", || {
        let Some(r) = runs(&proj).into_iter().find(|r| r["flow"] == "hold") else {
            return false;
        };
        busy_ws = proj.join(r["dir"].as_str().unwrap()).join("workspace");
        busy_ws.join("busy.txt").exists()
    });

    let before = local_branches(&repo);
    let cleanup = repo_root().join("pipelines/ai-cleanup.flow");
    let cleanup = cleanup.to_str().unwrap();
    let args = |dry: bool| {
        let mut a = vec![
            cleanup.to_string(),
            "--quiet".into(),
            "--repo".into(),
            repo.display().to_string(),
            "--workspace_age".into(),
            "0s".into(),
            "--branch_age".into(),
            "7d".into(),
        ];
        if dry {
            a.push("--dry_run".into());
        }
        a
    };
    let dry: Vec<String> = args(true);
    run_flow(&dry.iter().map(String::as_str).collect::<Vec<_>>());
    let dry_report = read_json(
        &proj
            .join(newest_run(&proj, "ai-cleanup")["dir"].as_str().unwrap())
            .join("artifacts/cleanup/cleanup.json"),
    );
    assert_eq!(dry_report["dry_run"], true, "{dry_report}");
    assert_eq!(local_branches(&repo), before, "a dry run removes nothing");
    assert!(ended_ws.join("left.txt").exists());
    assert!(worktree.join(".git").exists());

    let real: Vec<String> = args(false);
    run_flow(&real.iter().map(String::as_str).collect::<Vec<_>>());
    let report = read_json(
        &proj
            .join(newest_run(&proj, "ai-cleanup")["dir"].as_str().unwrap())
            .join("artifacts/cleanup/cleanup.json"),
    );
    assert_eq!(report["dry_run"], false, "{report}");
    let removed_branches = set(&[
        "ai/1-merged",
        "ai/2-abandoned",
        "ai/5-worktree",
        "ai/6-closed-pr",
    ]);
    assert_eq!(
        names(&report, "removed", "branch"),
        removed_branches,
        "{report}"
    );
    assert_eq!(
        names(&report, "kept", "branch"),
        set(&["ai/3-open-pr", "ai/4-fresh", "ai/7-manual"]),
        "{report}"
    );
    assert_eq!(
        names(&report, "kept", "worktree"),
        set(&[manual.to_str().unwrap()]),
        "{report}"
    );
    // The dry run said the same.
    assert_eq!(names(&dry_report, "removed", "branch"), removed_branches);
    let why = |name: &str| {
        report["removed"]
            .as_array()
            .unwrap()
            .iter()
            .chain(report["kept"].as_array().unwrap())
            .find(|d| d["name"] == name)
            .map(|d| d["why"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert!(why("ai/1-merged").contains("merged into main"));
    assert!(why("ai/2-abandoned").starts_with("abandoned"));
    assert!(why("ai/3-open-pr").contains("open pull request"));

    // The repository itself.
    assert_eq!(
        local_branches(&repo),
        set(&[
            "ai/3-open-pr",
            "ai/4-fresh",
            "ai/7-manual",
            "feature/old",
            "main"
        ])
    );
    let worktrees = git(&repo, &["worktree", "list", "--porcelain"]);
    assert_eq!(worktrees.matches("worktree ").count(), 2, "{worktrees}");
    assert!(manual.join(".git").exists());
    assert!(!worktree.exists());
    // The ended run's workspace is emptied, the running one's is not.
    assert!(ended_ws.is_dir() && std::fs::read_dir(&ended_ws).unwrap().next().is_none());
    assert!(names(&report, "removed", "workspace").contains(&ended_ws.display().to_string()));
    assert!(busy_ws.join("busy.txt").exists());
    assert!(names(&report, "kept", "workspace").contains(&busy_ws.display().to_string()));

    std::fs::write(&gate, "").unwrap();
    let t = Instant::now();
    while holder.try_wait().unwrap().is_none() {
        assert!(t.elapsed() < DEADLINE, "the holding run did not end");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn cleanup_fails_without_deleting_when_open_prs_cannot_be_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = sample_repo(tmp.path());
    branch_with_commit(&repo, "ai/2-abandoned", Some("2026-01-01T00:00:00Z"));
    let before = local_branches(&repo);
    // gh on PATH, but it cannot answer (no FAKE_GH_DIR): gh failing.
    let out = flow()
        .current_dir(tmp.path())
        .env("PATH", test_path())
        .env_remove("FAKE_GH_DIR")
        .arg("run")
        .arg(repo_root().join("pipelines/ai-cleanup.flow"))
        .arg("--quiet")
        .arg("--repo")
        .arg(&repo)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(local_branches(&repo), before);
}

/// A running `flow serve` with the fake gh on its PATH.
fn serve_with_gh(proj: &Path, gh_dir: &Path) -> Server {
    let path = test_path();
    Server::start_with(
        proj,
        "127.0.0.1:0",
        &["--jobs", "4"],
        &[("PATH", &path), ("FAKE_GH_DIR", gh_dir.to_str().unwrap())],
    )
}

/// A stand-in for ai-implement (same params): one run at a time, each
/// holding until `gate` exists, so the submitted runs stay live.
fn stub_implement(gate: &Path) -> String {
    format!(
        r#"flow ai-implement {{
  param issue: int
  param repo: path = "."
  param tracker: str = "local"
  param agent: str = "claude"
  concurrency 1
  timeout 10m
  stage work {{ run "while [ ! -e {} ]; do sleep 0.2; done" }}
}}
"#,
        gate.display()
    )
}

fn labels(gh_dir: &Path, number: u64) -> BTreeSet<String> {
    let issues = read_json(&gh_dir.join("issues.json"));
    issues
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["number"] == number)
        .unwrap()["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn picker_submits_one_ai_implement_run_per_ready_issue_once_and_skips_when_ten_wait() {
    let tmp = tempfile::tempdir().unwrap();
    let gh_dir = tmp.path().join("gh");
    std::fs::create_dir_all(&gh_dir).unwrap();
    let repo = sample_repo(tmp.path());
    std::fs::write(
        gh_dir.join("issues.json"),
        json!([
            {"number": 1, "state": "OPEN", "labels": [{"name": "ai-ready"}, {"name": "bug"}]},
            {"number": 2, "state": "OPEN", "labels": [{"name": "ai-ready"}]},
            {"number": 3, "state": "OPEN", "labels": [{"name": "question"}]},
            {"number": 4, "state": "CLOSED", "labels": [{"name": "ai-ready"}]}
        ])
        .to_string(),
    )
    .unwrap();
    let proj = tmp.path().join("proj");
    std::fs::create_dir_all(proj.join("pipelines")).unwrap();
    std::fs::copy(
        repo_root().join("pipelines/ai-issue-picker.flow"),
        proj.join("pipelines/ai-issue-picker.flow"),
    )
    .unwrap();
    let gate = tmp.path().join("gate");
    std::fs::write(
        proj.join("pipelines/ai-implement.flow"),
        stub_implement(&gate),
    )
    .unwrap();
    let s = serve_with_gh(&proj, &gh_dir);
    let pick = json!({"flow": "ai-issue-picker", "params": {
        "tracker": "github", "repo": repo.display().to_string(), "repo_name": "sample", "agent": "fake"}});

    // First pick: issues 1 and 2.
    let first = s.submit(pick.clone());
    let run = s.wait_finished(&first);
    assert_eq!(run["outcome"], "succeeded", "{run}\n{}", s.output());
    let implement = s.runs_of("ai-implement");
    let keys: BTreeSet<String> = implement
        .iter()
        .map(|r| r["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        keys,
        set(&["ai-implement-sample-1", "ai-implement-sample-2"]),
        "{implement:?}"
    );
    for r in &implement {
        assert_eq!(r["parent"], json!(first), "{r}");
        assert_eq!(r["params"]["tracker"], "github", "{r}");
        assert_eq!(r["params"]["agent"], "fake", "{r}");
        assert_eq!(
            r["params"]["repo"],
            json!(repo.display().to_string()),
            "{r}"
        );
        // A queued run shows its params as submitted (text); a started one typed.
        let n = match &r["params"]["issue"] {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        assert_eq!(r["key"], json!(format!("ai-implement-sample-{n}")));
    }
    assert_eq!(labels(&gh_dir, 1), set(&["bug", "ai-in-progress"]));
    assert_eq!(labels(&gh_dir, 2), set(&["ai-in-progress"]));
    assert_eq!(labels(&gh_dir, 3), set(&["question"]));
    assert_eq!(
        labels(&gh_dir, 4),
        set(&["ai-ready"]),
        "a closed issue is not picked"
    );

    // Someone labels issue 1 ai-ready again while its run is live: the key
    // refuses the duplicate, nothing new is submitted.
    let mut issues = read_json(&gh_dir.join("issues.json"));
    issues[0]["labels"] = json!([{"name": "ai-ready"}]);
    std::fs::write(gh_dir.join("issues.json"), issues.to_string()).unwrap();
    let second = s.submit(pick.clone());
    let run = s.wait_finished(&second);
    assert_eq!(run["outcome"], "succeeded", "{run}\n{}", s.output());
    assert_eq!(s.runs_of("ai-implement").len(), 2);
    let picked = read_json(
        &proj
            .join(".flow/runs")
            .join(&second)
            .join("artifacts/pick/picked.json"),
    );
    assert_eq!(picked["submitted"], json!([]), "{picked}");
    assert_eq!(picked["already"][0]["issue"], 1, "{picked}");
    assert_eq!(labels(&gh_dir, 1), set(&["ai-in-progress"]));

    // Ten ai-implement runs waiting (queued or pending): the picker skips.
    for k in 0..9 {
        s.submit(json!({"flow": "ai-implement", "key": format!("other-{k}"), "params": {"issue": 100 + k}}));
    }
    wait_for("ten ai-implement runs to wait", || {
        s.runs_of("ai-implement")
            .iter()
            .filter(|r| r["state"] == "queued" || r["state"] == "pending")
            .count()
            >= 10
    });
    let mut issues = read_json(&gh_dir.join("issues.json"));
    issues[2]["labels"] = json!([{"name": "ai-ready"}]);
    std::fs::write(gh_dir.join("issues.json"), issues.to_string()).unwrap();
    let third = s.submit(pick);
    let run = s.wait_finished(&third);
    assert_eq!(run["outcome"], "skipped", "{run}\n{}", s.output());
    assert_eq!(s.runs_of("ai-implement").len(), 11);
    assert_eq!(
        labels(&gh_dir, 3),
        set(&["ai-ready"]),
        "a skipped pick relabels nothing"
    );
    std::fs::write(&gate, "").unwrap();
}

/// `flow-tracker ARGS…` (std's script) in `dir` with `env`; (exit code, stdout).
fn tracker(dir: &Path, env: &[(&str, &Path)], args: &[&str]) -> (Option<i32>, String) {
    let glab = repo_root().join("tests/fixtures/fake-glab");
    let mut cmd = Command::new(repo_root().join("std-skills/bin/flow-tracker"));
    cmd.current_dir(dir)
        .args(args)
        .env("PATH", format!("{}:{}", glab.display(), test_path()));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.code() != Some(2),
        "usage error: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), stdout)
}

#[test]
fn tracker_labels_and_open_request_branches_on_gitlab_and_local_files() {
    let tmp = tempfile::tempdir().unwrap();
    let glab_dir = tmp.path().join("glab");
    std::fs::create_dir_all(&glab_dir).unwrap();
    let repo = sample_repo(tmp.path());
    git(
        &repo,
        &[
            "remote",
            "set-url",
            "origin",
            "git@gitlab.com:acme/sample.git",
        ],
    );
    // 150 open issues labelled ai-ready: more than one page of 100.
    let mut issues: Vec<Value> = (1..=150)
        .map(|n| json!({"iid": n, "state": "opened", "labels": ["ai-ready"]}))
        .collect();
    issues.push(json!({"iid": 151, "state": "closed", "labels": ["ai-ready"]}));
    issues.push(json!({"iid": 152, "state": "opened", "labels": ["bug"]}));
    std::fs::write(
        glab_dir.join("issues.json"),
        Value::from(issues).to_string(),
    )
    .unwrap();
    std::fs::write(
        glab_dir.join("mrs.json"),
        json!([
            {"source_branch": "ai/1-x", "state": "opened"},
            {"source_branch": "ai/2-y", "state": "merged"}
        ])
        .to_string(),
    )
    .unwrap();
    let gitlab = [
        ("TRACKER", Path::new("gitlab")),
        ("FAKE_GLAB_DIR", &glab_dir),
    ];
    let (code, out) = tracker(&repo, &gitlab, &["issues-labelled", "ai-ready"]);
    assert_eq!(code, Some(0));
    let expected: Vec<String> = (1..=150).map(|n| n.to_string()).collect();
    assert_eq!(out.lines().collect::<Vec<_>>(), expected);
    let (code, _) = tracker(
        &repo,
        &gitlab,
        &["relabel", "7", "ai-ready", "ai-in-progress"],
    );
    assert_eq!(code, Some(0));
    let (_, out) = tracker(&repo, &gitlab, &["issues-labelled", "ai-in-progress"]);
    assert_eq!(out, "7\n");
    let (code, out) = tracker(&repo, &gitlab, &["pr-branches"]);
    assert_eq!((code, out.as_str()), (Some(0), "ai/1-x\n"));

    // Local issues: the `labels:` line of issues/<N>.md.
    std::fs::create_dir_all(repo.join("issues")).unwrap();
    std::fs::write(
        repo.join("issues/3.md"),
        "# Three\n\nlabels: bug, ai-ready\n\nText.\n",
    )
    .unwrap();
    std::fs::write(repo.join("issues/12.md"), "# Twelve\n\nlabels: ai-ready\n").unwrap();
    std::fs::write(repo.join("issues/5.md"), "# Five\n\nNo labels.\n").unwrap();
    std::fs::write(repo.join("issues/notes.md"), "labels: ai-ready\n").unwrap();
    let local = [("TRACKER", Path::new("local"))];
    let (_, out) = tracker(&repo, &local, &["issues-labelled", "ai-ready"]);
    assert_eq!(out, "3\n12\n");
    tracker(
        &repo,
        &local,
        &["relabel", "3", "ai-ready", "ai-in-progress"],
    );
    tracker(
        &repo,
        &local,
        &["relabel", "5", "ai-ready", "ai-in-progress"],
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("issues/3.md")).unwrap(),
        "# Three\n\nlabels: bug, ai-in-progress\n\nText.\n"
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("issues/5.md")).unwrap(),
        "# Five\nlabels: ai-in-progress\n\nNo labels.\n"
    );
    let (_, out) = tracker(&repo, &local, &["issues-labelled", "ai-ready"]);
    assert_eq!(out, "12\n");
    let (code, _) = tracker(&repo, &local, &["relabel", "99", "a", "b"]);
    assert_eq!(code, Some(1), "no issues/99.md");

    // No code host: no open requests.
    git(&repo, &["remote", "remove", "origin"]);
    let (code, out) = tracker(&repo, &local, &["pr-branches"]);
    assert_eq!((code, out.as_str()), (Some(0), ""));
}

#[test]
fn picker_leaves_the_issues_ready_when_a_submission_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let gh_dir = tmp.path().join("gh");
    std::fs::create_dir_all(&gh_dir).unwrap();
    let repo = sample_repo(tmp.path());
    std::fs::write(
        gh_dir.join("issues.json"),
        json!([{"number": 8, "state": "OPEN", "labels": [{"name": "ai-ready"}]}]).to_string(),
    )
    .unwrap();
    // No ai-implement flow is served: the server refuses the submission.
    let proj = tmp.path().join("proj");
    std::fs::create_dir_all(proj.join("pipelines")).unwrap();
    std::fs::copy(
        repo_root().join("pipelines/ai-issue-picker.flow"),
        proj.join("pipelines/ai-issue-picker.flow"),
    )
    .unwrap();
    let s = serve_with_gh(&proj, &gh_dir);
    let id = s.submit(json!({"flow": "ai-issue-picker", "params": {
        "tracker": "github", "repo": repo.display().to_string()}}));
    let run = s.wait_finished(&id);
    assert_eq!(run["outcome"], "failed", "{run}");
    let picked = read_json(
        &proj
            .join(".flow/runs")
            .join(&id)
            .join("artifacts/pick/picked.json"),
    );
    assert_eq!(picked["failed"][0]["issue"], 8, "{picked}");
    assert_eq!(picked["submitted"], json!([]), "{picked}");
    assert_eq!(
        labels(&gh_dir, 8),
        set(&["ai-ready"]),
        "picked again at the next tick"
    );
}
