//! Helpers for end-to-end tests that run the real `flow` binary on the
//! pipelines of this repository, against a sample git repository made by
//! `tests/fixtures/make-sample-repo.sh` and the scripted agent
//! `tests/fixtures/fake-agent`.
//!
//! A [`Sandbox`] owns two temporary folders: `repo` (the sample project) and
//! `cwd` (where `flow run` is started, so `.flow/runs/` lands there).
//! [`Sandbox::run`] returns a [`Run`]: the process output plus the run's
//! journal, read into JSON values, with small queries on it.

#![allow(dead_code)] // each test binary uses a different part of this module

pub mod serve;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The repository root (the folder with `pipelines/` and `tests/fixtures/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// Absolute path of a file of the repository, e.g. `pipelines/ai-implement.flow`.
pub fn root_file(rel: &str) -> PathBuf {
    repo_root().join(rel)
}

/// Folders of the repository that hold shipped `.flow` files.
const SHIPPED_FLOW_FOLDERS: &[&str] = &[
    "pipelines",
    "std-skills",
    "tests",
    "crates/dsl/src/parse/tests/examples",
    "bench",
    "editors",
    "examples",
];

/// Every `.flow` file shipped in the repository (pipelines, the std library,
/// conformance cases, fixtures, parser examples, bench flows, the editors'
/// test files, the embedding examples), sorted;
/// syntax-error cases included.
pub fn shipped_flows() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            // An editor's npm packages may hold Flow (the JavaScript type
            // checker's) `*.js.flow` files.
            if p.is_dir() && e.file_name() != "node_modules" {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "flow") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for d in SHIPPED_FLOW_FOLDERS {
        walk(&repo_root().join(d), &mut out);
    }
    out.sort();
    assert!(out.len() > 100, "corpus too small: {}", out.len());
    out
}

/// Variables of the outer environment that would change what the pipeline's
/// scripts do if a test inherited them (e.g. when the tests themselves run
/// inside a flow stage).
const SCRUBBED_ENV: &[&str] = &[
    "FAKE_AGENT_SCRIPT",
    "FAKE_AGENT_PIDS",
    "FAKE_AGENT_LOG",
    "FAKE_GH_DIR",
    "FAKE_GLAB_DIR",
    "FAKE_ACLI_DIR",
    "JIRA_PROJECT",
    "FAKE_AGENT_ENV_LOG",
    "FAKE_TOOL_LOG",
    "AGENT_CONTEXT",
    "FLOW_REPO_DIR",
    "FLOW_OUTPUT_DIR",
    "FLOW_PROMPT_FILE",
    "FLOW_LIB",
    "FLOW_WORKSPACE",
    "FLOW_RUN_DIR",
    "AGENT_ARGS",
    "TEST_COMMAND",
    "SETUP_COMMAND",
    "GIT_DIR",
    "GIT_WORK_TREE",
];

/// A sample repository and a working directory, both temporary.
pub struct Sandbox {
    /// Keeps the folders alive; removed on drop.
    pub tmp: tempfile::TempDir,
    /// The sample git repository (`--repo`).
    pub repo: PathBuf,
    /// The cwd of `flow run`: `.flow/runs/` is created here.
    pub cwd: PathBuf,
}

impl Sandbox {
    /// Makes the sample repository with `make-sample-repo.sh` and an empty cwd.
    pub fn new() -> Sandbox {
        Sandbox::with_fixture("make-sample-repo.sh")
    }

    /// Makes the sample repository with `tests/fixtures/SCRIPT` (e.g.
    /// `make-sample-package.sh`) and an empty cwd.
    pub fn with_fixture(script: &str) -> Sandbox {
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = tmp.path().canonicalize().expect("canonical tempdir");
        let repo = base.join("sample");
        let cwd = base.join("cwd");
        std::fs::create_dir_all(&cwd).expect("cwd");
        let out = Command::new("bash")
            .arg(root_file(&format!("tests/fixtures/{script}")))
            .arg(&repo)
            .output()
            .expect("run the sample repository's script");
        assert!(
            out.status.success(),
            "{script} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Sandbox { tmp, repo, cwd }
    }

    /// `flow run FLOW --repo <sample> --issue 1 --agent <fake-agent> --quiet`
    /// with the fake agent's `scenario` and extra environment.
    pub fn run(&self, flow: &Path, scenario: &str, env: &[(&str, &str)]) -> Run {
        let agent = root_file("tests/fixtures/fake-agent");
        let agent = agent.to_str().expect("utf-8 path");
        self.run_with(flow, "1", agent, scenario, env)
    }

    /// `flow run FLOW --repo <sample> --issue ISSUE --agent AGENT --quiet`
    /// with the fake agent's `scenario` and extra environment.
    pub fn run_with(
        &self,
        flow: &Path,
        issue: &str,
        agent: &str,
        scenario: &str,
        env: &[(&str, &str)],
    ) -> Run {
        self.run_full(flow, issue, agent, scenario, env, &[])
    }

    /// [`Sandbox::run_with`] with more arguments after the others
    /// (`--tracker github`, `--pr_poll 1s`, `--setup_command "…"` …).
    pub fn run_full(
        &self,
        flow: &Path,
        issue: &str,
        agent: &str,
        scenario: &str,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Run {
        let mut cmd = self.flow_command(scenario);
        cmd.arg("run")
            .arg(flow)
            .arg("--repo")
            .arg(&self.repo)
            .args(["--issue", issue, "--agent", agent, "--quiet"])
            .args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        self.finish(cmd)
    }

    /// `flow run FLOW --repo <sample> --issue 1 --agent <fake-agent> --quiet
    /// ARGS…` with the fake agent's `scenario`, not started: a test adds
    /// its environment, then runs it with [`Sandbox::finish`] or spawns it.
    pub fn run_command(&self, flow: &Path, scenario: &str, args: &[&str]) -> Command {
        let agent = root_file("tests/fixtures/fake-agent");
        let mut cmd = self.flow_command(scenario);
        cmd.arg("run")
            .arg(flow)
            .arg("--repo")
            .arg(&self.repo)
            .args(["--issue", "1", "--quiet", "--agent"])
            .arg(agent)
            .args(args);
        cmd
    }

    /// Runs `cmd` (a `flow run` in `cwd`) to its end and reads the run.
    pub fn finish(&self, mut cmd: Command) -> Run {
        let started = Instant::now();
        let output = cmd.output().expect("spawn flow");
        self.read_run(output, started.elapsed())
    }

    /// The run of `cwd` after `flow` ended with `output`.
    pub fn read_run(&self, output: Output, elapsed: Duration) -> Run {
        let run_dir = self.only_run_dir();
        let journal = match &run_dir {
            Some(dir) => read_journal(&dir.join("journal.jsonl")),
            None => Vec::new(),
        };
        Run {
            output,
            elapsed,
            run_dir,
            journal,
        }
    }

    /// A `flow` command (no arguments yet) started in `cwd` with the
    /// environment of [`Sandbox::run_with`]: scrubbed, a git identity, the
    /// fake agent's `scenario`.
    pub fn flow_command(&self, scenario: &str) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_flow"));
        cmd.current_dir(&self.cwd);
        for name in SCRUBBED_ENV {
            cmd.env_remove(name);
        }
        cmd.env("GIT_AUTHOR_NAME", "flow e2e")
            .env("GIT_AUTHOR_EMAIL", "flow-e2e@example.invalid")
            .env("GIT_COMMITTER_NAME", "flow e2e")
            .env("GIT_COMMITTER_EMAIL", "flow-e2e@example.invalid")
            .env("NO_COLOR", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("FAKE_AGENT_SCRIPT", scenario);
        cmd
    }

    /// The single run folder under `cwd/.flow/runs/`, if there is one.
    fn only_run_dir(&self) -> Option<PathBuf> {
        let runs = self.cwd.join(".flow/runs");
        let entries: Vec<PathBuf> = std::fs::read_dir(&runs)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        assert!(
            entries.len() <= 1,
            "more than one run in {}",
            runs.display()
        );
        entries.into_iter().next()
    }

    /// `git -C <sample repo> ARGS…`; panics unless git succeeds; stdout trimmed.
    pub fn git(&self, args: &[&str]) -> String {
        git(&self.repo, args)
    }

    /// The branches of the sample repo named `ai/…`.
    pub fn ai_branches(&self) -> Vec<String> {
        self.git(&["branch", "--list", "--format=%(refname:short)", "ai/*"])
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// `git -C DIR ARGS…`; panics unless git succeeds; stdout trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("spawn git");
    assert!(
        out.status.success(),
        "git {args:?} in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Reads `journal.jsonl` into one JSON value per line.
pub fn read_journal(path: &Path) -> Vec<Value> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad journal line {l:?}: {e}")))
        .collect()
}

/// One finished `flow run`.
pub struct Run {
    /// Exit status, stdout, stderr of `flow`.
    pub output: Output,
    /// Wall time of `flow run`.
    pub elapsed: Duration,
    /// `.flow/runs/<run-id>/`, if the run got that far.
    pub run_dir: Option<PathBuf>,
    /// The journal's events, in order.
    pub journal: Vec<Value>,
}

impl Run {
    /// The exit code of `flow`.
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// stderr as text.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// A readable dump for assertion messages: exit code, stderr, journal.
    pub fn explain(&self) -> String {
        let journal: Vec<String> = self.journal.iter().map(Value::to_string).collect();
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}\n--- journal\n{}",
            self.code(),
            String::from_utf8_lossy(&self.output.stdout),
            self.stderr(),
            journal.join("\n")
        )
    }

    /// The run folder; panics if the run made none.
    pub fn dir(&self) -> &Path {
        self.run_dir.as_deref().expect("the run made no run folder")
    }

    /// Events named `event` (e.g. `stage_started`), in order.
    pub fn events(&self, event: &str) -> Vec<&Value> {
        self.journal
            .iter()
            .filter(|e| e["event"] == event)
            .collect()
    }

    /// Events named `event` about `stage`, in order.
    pub fn stage_events(&self, event: &str, stage: &str) -> Vec<&Value> {
        self.events(event)
            .into_iter()
            .filter(|e| e["stage"] == stage)
            .collect()
    }

    /// The one event named `event`; panics if there is not exactly one.
    pub fn one(&self, event: &str) -> &Value {
        let all = self.events(event);
        assert_eq!(all.len(), 1, "want one {event} event\n{}", self.explain());
        all[0]
    }

    /// The run's outcome from `run_finished`.
    pub fn outcome(&self) -> String {
        self.one("run_finished")["outcome"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The run nonce from `run_started`.
    pub fn nonce(&self) -> String {
        self.one("run_started")["nonce"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// A stage's final state: the outcome of its last `stage_settled`,
    /// `skipped` if it was skipped, `none` if the journal never mentions it.
    pub fn stage_outcome(&self, stage: &str) -> String {
        let last = self.journal.iter().rev().find(|e| {
            e["stage"] == stage && (e["event"] == "stage_settled" || e["event"] == "stage_skipped")
        });
        match last {
            Some(e) if e["event"] == "stage_skipped" => "skipped".into(),
            Some(e) => e["outcome"].as_str().unwrap_or_default().to_string(),
            None => "none".into(),
        }
    }

    /// Asserts each `(stage, outcome)` pair against [`Run::stage_outcome`].
    pub fn assert_stages(&self, want: &[(&str, &str)]) {
        let got: Vec<(String, String)> = want
            .iter()
            .map(|(s, _)| (s.to_string(), self.stage_outcome(s)))
            .collect();
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(s, o)| (s.to_string(), o.to_string()))
            .collect();
        assert_eq!(got, want, "stage outcomes\n{}", self.explain());
    }

    /// The `routed` events as `(from, on, to)`, in order.
    pub fn routes(&self) -> Vec<(String, String, String)> {
        self.events("routed")
            .into_iter()
            .map(|e| {
                let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                (s("from"), s("on"), s("to"))
            })
            .collect()
    }

    /// The names of the stages that started an attempt, in order (repeats kept).
    pub fn started(&self) -> Vec<String> {
        self.events("stage_started")
            .into_iter()
            .map(|e| e["stage"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// `artifacts/<stage>/<file>` of the run.
    pub fn artifact(&self, stage: &str, file: &str) -> PathBuf {
        self.dir().join("artifacts").join(stage).join(file)
    }

    /// The text of an artifact; panics (with the journal) if it is missing.
    pub fn artifact_text(&self, stage: &str, file: &str) -> String {
        let path = self.artifact(stage, file);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("artifact {}: {e}\n{}", path.display(), self.explain()))
    }

    /// The text of `logs/<stage>.<visit>.<attempt>.log`.
    pub fn log(&self, stage: &str, visit: u32, attempt: u32) -> String {
        let path = self
            .dir()
            .join("logs")
            .join(format!("{stage}.{visit}.{attempt}.log"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("log {}: {e}", path.display()))
    }

    /// The pipeline's checkout, `$FLOW_WORKSPACE/repo`.
    pub fn worktree(&self) -> PathBuf {
        self.dir().join("workspace/repo")
    }

    /// Asserts that the `finally cleanup` stage ran once and succeeded, and
    /// that it removed the checkout and std.setup's environment.
    pub fn assert_cleaned_up(&self) {
        assert_eq!(
            self.stage_events("stage_started", "cleanup").len(),
            1,
            "cleanup did not run once\n{}",
            self.explain()
        );
        assert_eq!(
            self.stage_outcome("cleanup"),
            "succeeded",
            "{}",
            self.explain()
        );
        let last_stage = self
            .journal
            .iter()
            .rev()
            .find(|e| e["event"] == "stage_settled")
            .map(|e| e["stage"].clone());
        assert_eq!(
            last_stage,
            Some(Value::from("cleanup")),
            "cleanup is not last"
        );
        assert!(
            !self.worktree().exists(),
            "the checkout {} is still there",
            self.worktree().display()
        );
        let env = self.dir().join("workspace/setup");
        assert!(
            !env.exists(),
            "std.setup's environment {} is still there",
            env.display()
        );
    }
}

/// True while process `pid` exists and is not a zombie (read from
/// `/proc/<pid>/stat`; a missing entry means gone).
pub fn process_alive(pid: u32) -> bool {
    match proc_stat(pid) {
        Some((state, _)) => state != 'Z' && state != 'X',
        None => false,
    }
}

/// `(state, process group)` of a process from `/proc/<pid>/stat`.
fn proc_stat(pid: u32) -> Option<(char, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses,
    // so the fields are counted from the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, pgrp))
}

/// Live (non-zombie) processes whose process group is `pgid`.
pub fn live_group_members(pgid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| matches!(proc_stat(pid), Some((s, g)) if g == pgid && s != 'Z' && s != 'X'))
        .collect()
}

/// Waits up to `limit` for `done` to hold; returns whether it did. Signals
/// are delivered asynchronously, so a just-killed process may take a moment
/// to disappear from `/proc`.
pub fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if done() {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
