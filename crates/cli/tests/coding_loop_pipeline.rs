//! End-to-end tests of `pipelines/coding-loop.flow` (issue 7 §5): coders in
//! turn, ruff, a tester's pytest tests run by flow, QA passing or failing
//! the round with feedback the next round reads, at most `rounds` rounds,
//! and an empty draft failing the run. ruff and pytest are the scripted
//! stand-ins of `tests/fixtures/bin/` (they record their arguments; the
//! pytest stand-in really runs the test functions).

mod support;

use std::path::PathBuf;
use std::process::Command;
use support::{root_file, Run, Sandbox};

fn pipeline() -> PathBuf {
    root_file("pipelines/coding-loop.flow")
}

fn route(from: &str, on: &str, to: &str) -> (String, String, String) {
    (from.into(), on.into(), to.into())
}

/// `flow run coding-loop.flow --task … --agent <fake-agent> --quiet ARGS…`
/// in the sandbox's cwd, PATH starting with `bin` (if given).
fn loop_command(
    sandbox: &Sandbox,
    scenario: &str,
    bin: Option<&PathBuf>,
    args: &[&str],
) -> Command {
    let mut cmd = sandbox.flow_command(scenario);
    cmd.arg("run")
        .arg(pipeline())
        .args(["--task", "slugify(title) in slug.py", "--quiet", "--agent"])
        .arg(root_file("tests/fixtures/fake-agent"))
        .args(args);
    if let Some(bin) = bin {
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
        cmd.env("PATH", path);
    }
    cmd
}

/// A folder with links to the chosen stand-ins of `tests/fixtures/bin/`.
fn tools(sandbox: &Sandbox, names: &[&str]) -> PathBuf {
    let bin = sandbox.tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for name in names {
        std::os::unix::fs::symlink(
            root_file(&format!("tests/fixtures/bin/{name}")),
            bin.join(name),
        )
        .unwrap();
    }
    bin
}

fn visits(run: &Run, stage: &str) -> usize {
    run.stage_events("stage_started", stage).len()
}

/// Round 1's draft keeps upper case; QA fails it; round 2's coder_a reads
/// QA's feedback in its prompt and fixes it; QA passes; deliver runs.
#[test]
fn qa_feedback_reaches_the_next_round_which_passes() {
    let sandbox = Sandbox::new();
    let bin = tools(&sandbox, &["ruff", "pytest"]);
    let log = sandbox.tmp.path().join("tools.log");
    let mut cmd = loop_command(&sandbox, "qa-fails-once", Some(&bin), &[]);
    cmd.env("FAKE_TOOL_LOG", &log);
    let run = sandbox.finish(cmd);
    assert_eq!(run.code(), Some(0), "{}", run.explain());
    assert_eq!(run.outcome(), "succeeded");
    let routes = run.routes();
    for want in [
        route("coder_a", "success", "coder_b"),
        route("coder_b", "success", "format"),
        route("format", "success", "tester"),
        route("run_tests", "success", "qa"),
        route("qa", "exit 4", "coder_a"),
        route("qa", "success", "deliver"),
    ] {
        assert!(routes.contains(&want), "{want:?} not in {routes:?}");
    }
    assert_eq!(visits(&run, "coder_a"), 2);
    assert_eq!(visits(&run, "coder_b"), 2);
    assert_eq!(visits(&run, "qa"), 2);
    // The feedback of round 1 was in round 2's prompt, and the coder said so.
    let prompt = std::fs::read_to_string(run.dir().join("stages/coder_a.2.1/prompt.md")).unwrap();
    assert!(prompt.contains("## Feedback\n"), "{prompt}");
    assert!(prompt.contains("slugify keeps upper case"), "{prompt}");
    assert!(prompt.contains("## Latest test output"), "{prompt}");
    let first = std::fs::read_to_string(run.dir().join("stages/coder_a.1.1/prompt.md")).unwrap();
    assert!(!first.contains("## Feedback\n"));
    assert!(run
        .artifact_text("coder_a", "result.json")
        .contains("addresses feedback"));
    // The tests ran through flow, failing in round 1 and passing in round 2.
    assert!(run.log("run_tests", 1, 1).contains("1 failed, 1 passed"));
    assert!(run
        .artifact_text("run_tests", "test-output.txt")
        .contains("2 passed"));
    let tools_log = std::fs::read_to_string(&log).unwrap();
    assert_eq!(tools_log.matches("ruff format .").count(), 2, "{tools_log}");
    assert!(
        tools_log.contains("pytest -q -p no:cacheprovider"),
        "{tools_log}"
    );
    let files = run.artifact_text("deliver", "files.txt");
    assert!(
        files.contains("slug.py") && files.contains("tests/test_slug.py"),
        "{files}"
    );
    assert!(run
        .artifact_text("deliver", "draft.patch")
        .contains(".lower()"));
}

/// QA never passes: after `--rounds 2` rounds the third coder_a visit is
/// refused by `max`, and the run ends `unfinished`. Without ruff,
/// formatting is skipped with a message.
#[test]
fn the_loop_stops_after_its_rounds_and_runs_without_ruff() {
    let sandbox = Sandbox::new();
    let bin = tools(&sandbox, &["pytest"]);
    let run = sandbox.finish(loop_command(
        &sandbox,
        "qa-never-passes",
        Some(&bin),
        &["--rounds", "2"],
    ));
    assert_eq!(run.code(), Some(1), "{}", run.explain());
    assert_eq!(run.outcome(), "unfinished");
    assert_eq!(visits(&run, "coder_a"), 2);
    assert_eq!(visits(&run, "qa"), 2);
    assert!(run
        .routes()
        .contains(&route("coder_a", "failure", "gave_up")));
    assert_eq!(run.stage_outcome("deliver"), "skipped");
    assert!(run
        .log("format", 1, 1)
        .contains("ruff is not installed: formatting skipped"));
    assert!(run
        .log("gave_up", 1, 1)
        .contains("slugify keeps upper case"));
}

/// The coders say DONE and write nothing: the run fails at once.
#[test]
fn an_empty_draft_fails_the_run() {
    let sandbox = Sandbox::new();
    let bin = tools(&sandbox, &["ruff", "pytest"]);
    let run = sandbox.finish(loop_command(&sandbox, "empty-draft", Some(&bin), &[]));
    assert_eq!(run.code(), Some(1), "{}", run.explain());
    assert_eq!(run.outcome(), "failed");
    assert!(run
        .routes()
        .contains(&route("coder_a", "exit 6", "empty_draft")));
    assert_eq!(run.stage_outcome("empty_draft"), "failed");
    assert_eq!(visits(&run, "coder_b"), 0);
    assert!(
        run.stderr().contains("the draft is empty")
            || run.log("empty_draft", 1, 1).contains("the draft is empty")
    );
}

/// Without pytest the run stops at run_tests (exit 78) and says how to get it.
#[test]
fn without_pytest_the_run_says_how_to_get_it() {
    let sandbox = Sandbox::new();
    let bin = tools(&sandbox, &["ruff"]);
    let probe = Command::new("python3")
        .args(["-m", "pytest", "--version"])
        .output();
    if probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: pytest is installed here");
        return;
    }
    let mut cmd = loop_command(&sandbox, "happy", Some(&bin), &[]);
    // Keep a pytest from the outer PATH out.
    let path: Vec<String> = std::env::var("PATH")
        .unwrap()
        .split(':')
        .filter(|d| !std::path::Path::new(d).join("pytest").exists())
        .map(str::to_string)
        .collect();
    cmd.env("PATH", format!("{}:{}", bin.display(), path.join(":")));
    let run = sandbox.finish(cmd);
    assert_eq!(run.outcome(), "failed", "{}", run.explain());
    assert_eq!(run.stage_outcome("run_tests"), "failed");
    assert!(run
        .log("run_tests", 1, 1)
        .contains("pytest is not installed: install it, or run with --install_tools true"));
}
