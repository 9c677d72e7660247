//! Issue 7 §2: std.agent with each agent CLI's machine-readable mode and
//! permissions. The CLIs are stand-ins under tests/fixtures/fake-*/, written
//! from each CLI's documented flags and output; they record their
//! arguments, one per line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A project folder with a git repository (the agent's working directory)
/// and a flow with one std.agent stage.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(stage_args: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        // The agent works in a clone at $FLOW_WORKSPACE/repo, as in ai-implement.
        std::fs::write(
            dir.path().join("t.flow"),
            format!(
                "use std\nflow t {{\n  timeout 1m\n  param agent: str = \"claude\"\n  stage setup {{\n    run \"git clone -q {} \\\"$FLOW_WORKSPACE/repo\\\"\"\n  }}\n  stage plan: std.agent(skill: \"plan\"{stage_args}) {{\n    needs setup\n    outputs PLAN.md\n  }}\n}}\n",
                dir.path().join("repo").display()
            ),
        )
        .unwrap();
        let root = &dir.path().join("repo");
        std::fs::create_dir(root).unwrap();
        std::fs::write(root.join("calc.py"), "def mean(xs): return sum(xs)\n").unwrap();
        for args in [
            &["init", "-q", "."][..],
            &["add", "calc.py"],
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-qm",
                "init",
            ],
        ] {
            let ok = Command::new("git")
                .args(args)
                .current_dir(root)
                .status()
                .unwrap();
            assert!(ok.success());
        }
        Project { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `flow run t.flow --agent AGENT` with the stand-in CLIs first on PATH.
    fn run(&self, agent: &str) -> Output {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
        let path = ["fake-claude", "fake-codex", "fake-gemini"]
            .iter()
            .map(|d| fixtures.join(d).display().to_string())
            .chain([std::env::var("PATH").unwrap()])
            .collect::<Vec<_>>()
            .join(":");
        Command::new(env!("CARGO_BIN_EXE_flow"))
            .env("FLOW_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
            .env("PATH", path)
            .env("FAKE_CLAUDE_ARGS", self.path().join("args.txt"))
            .env("FAKE_CODEX_ARGS", self.path().join("args.txt"))
            .env("FAKE_GEMINI_ARGS", self.path().join("args.txt"))
            .current_dir(self.path())
            .args(["run", "t.flow", "--agent", agent])
            .output()
            .unwrap()
    }

    /// The arguments the stand-in CLI got, one per line.
    fn args(&self) -> String {
        std::fs::read_to_string(self.path().join("args.txt")).unwrap()
    }

    fn run_dir(&self) -> PathBuf {
        let runs = self.path().join(".flow/runs");
        std::fs::read_dir(&runs)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path()
    }

    fn artifact(&self, file: &str) -> String {
        std::fs::read_to_string(self.run_dir().join("artifacts/plan").join(file)).unwrap()
    }

    /// The first attempt's `usage` object in `flow show last --json`.
    fn attempt_usage(&self) -> serde_json::Value {
        let show = Command::new(env!("CARGO_BIN_EXE_flow"))
            .current_dir(self.path())
            .args(["show", "last", "--json"])
            .output()
            .unwrap();
        let history: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
        history["stages"][1]["attempts"][0]["usage"].clone()
    }
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn codex_runs_in_json_mode_and_its_usage_is_recorded() {
    let project = Project::new("");
    let out = project.run("codex");
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(
        said(&out).contains("usage: 1200 input + 80 output tokens, 1 turn"),
        "{}",
        said(&out)
    );
    let args = project.args();
    assert!(args.starts_with("exec\n"), "{args}");
    assert!(args.ends_with("--json\n-\n"), "{args}");
    // plan is read-only: codex's writable workspace is the stage directory.
    assert!(
        args.contains("--sandbox\nworkspace-write\n--cd\n"),
        "{args}"
    );
    assert!(args.contains("--skip-git-repo-check\n"), "{args}");
    let usage = project.attempt_usage();
    assert_eq!(
        usage["input_tokens"], 1200,
        "cached tokens are part of codex's input"
    );
    assert_eq!(usage["output_tokens"], 80);
    assert_eq!(usage["turns"], 1);
    assert_eq!(usage["session_id"], "thread-7");
    let conversation = project.artifact("conversation.md");
    assert!(
        conversation.contains("[command] bash -lc 'cat calc.py' (exit 0)\nI wrote PLAN.md.\n"),
        "{conversation}"
    );
    assert!(
        !conversation.contains("\"type\""),
        "raw events in {conversation}"
    );
    assert!(project.artifact("PLAN.md").starts_with("# Plan"));
}

#[test]
fn gemini_runs_in_json_mode_and_a_read_only_plan_comes_from_its_answer() {
    let project = Project::new("");
    let out = project.run("gemini");
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let args = project.args();
    assert!(
        args.contains("--approval-mode\ndefault\n--output-format\njson\n-p\n"),
        "{args}"
    );
    let usage = project.attempt_usage();
    assert_eq!(usage["input_tokens"], 2400);
    assert_eq!(usage["output_tokens"], 100, "thoughts count as output");
    assert_eq!(usage["turns"], 2);
    assert_eq!(usage["model"], "gemini-test-pro");
    assert_eq!(usage["session_id"], "gem-session-3");
    // gemini may not write files when read-only: its answer is the plan,
    // without the status line.
    let plan = project.artifact("PLAN.md");
    assert_eq!(plan, "# Plan\n\nFix the denominator in mean().\n");
    let conversation = project.artifact("conversation.md");
    assert!(
        conversation.starts_with("Loaded cached credentials.\n# Plan\n"),
        "{conversation}"
    );
}

#[test]
fn permissions_map_to_claudes_flags() {
    // plan's front matter says read-only.
    let project = Project::new("");
    let out = project.run("claude");
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let args = project.args();
    assert!(args.contains("--permission-mode\ndefault\n"), "{args}");
    assert!(args.contains("\nRead\nGrep\nGlob\nLS\nEdit(//"), "{args}");
    assert!(
        args.contains("--disallowedTools\nBash(git commit:*)\nBash(git push:*)\n"),
        "{args}"
    );
    assert!(!args.contains("acceptEdits"), "{args}");

    // The stage's argument wins over the skill's default.
    let project = Project::new(", permissions: \"edit\"");
    let out = project.run("claude");
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let args = project.args();
    assert!(
        args.contains("--permission-mode\nacceptEdits\n--allowedTools\nBash\n--disallowedTools\nBash(git push:*)\n"),
        "{args}"
    );

    let project = Project::new(", permissions: \"full\"");
    assert_eq!(project.run("claude").status.code(), Some(0));
    assert!(project
        .args()
        .contains("--permission-mode\nbypassPermissions\n"));
    let project = Project::new(", permissions: \"full\", model: \"gpt-test\"");
    assert_eq!(project.run("codex").status.code(), Some(0));
    assert!(project.args().contains("--sandbox\ndanger-full-access\n"));
    assert!(project.args().contains("--model\ngpt-test\n"));
    // codex names no model in its events: the one asked for is recorded.
    assert_eq!(project.attempt_usage()["model"], "gpt-test");
}

#[test]
fn a_permissions_word_that_means_nothing_is_refused() {
    let project = Project::new(", permissions: \"readonly\"");
    let out = project.run("claude");
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(
        said(&out).contains("permissions must be read-only, edit or full, not 'readonly'"),
        "{}",
        said(&out)
    );
    assert!(!project.path().join("args.txt").exists(), "the agent ran");
}

/// Whatever the CLI let it do, a read-only skill that changes the
/// repository has broken its contract: NO_STATUS (exit 5), never DONE.
#[test]
fn a_read_only_agent_that_commits_ends_no_status() {
    let project = Project::new("");
    let agent =
        "echo plan > \"$FLOW_OUTPUT_DIR/PLAN.md\"; echo 'def mean(xs): return 0' > calc.py; \
                 git -c user.name=a -c user.email=a@a commit -qam sneaky; \
                 echo '{\"status\": \"DONE\", \"summary\": \"planned\"}'";
    let out = project.run(agent);
    let text = said(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("plan failed: exit 5"), "{text}");
    assert!(
        text.contains("the skill 'plan' is read-only but the agent changed the repository"),
        "{text}"
    );

    // An edit without a commit is caught too; the skill's own output is not a change.
    let project = Project::new("");
    let agent = "echo plan > PLAN.md; echo x >> calc.py; echo '{\"status\": \"DONE\", \"summary\": \"planned\"}'";
    let out = project.run(agent);
    assert!(
        said(&out).contains("is read-only but the agent changed"),
        "{}",
        said(&out)
    );

    let project = Project::new("");
    let agent = "echo plan > PLAN.md; echo '{\"status\": \"DONE\", \"summary\": \"planned\"}'";
    let out = project.run(agent);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
}
