//! Issue 7 §1: `std.setup` prepares the run's checkout so its tests run the
//! way the project's CI would, inside the run's workspace and never in the
//! user's environment.
//!
//! Two kinds of tests: `pipelines/ai-implement.flow` end to end on the sample
//! package of `tests/fixtures/make-sample-package.sh` (whose tests import a
//! module its build writes), with the scripted agent; and the small
//! `tests/fixtures/setup-and-test.flow` (std.setup, then std.test) on one
//! project per ecosystem. Every install works offline. Where the promise is
//! "nothing written under ~", `HOME` is an empty folder that must stay empty.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use support::{root_file, Run, Sandbox};

fn pipeline() -> PathBuf {
    root_file("pipelines/ai-implement.flow")
}

/// Variables that would let a tool write somewhere else than `HOME` (a test
/// machine may set them): emptied, which every tool here reads as unset.
const HOME_ELSEWHERE: &[&str] = &[
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "PIP_CACHE_DIR",
    "npm_config_cache",
    "CARGO_HOME",
];

/// An empty folder to be `HOME`, inside the sandbox.
fn empty_home(sandbox: &Sandbox) -> PathBuf {
    let home = sandbox.tmp.path().canonicalize().unwrap().join("home");
    std::fs::create_dir_all(&home).unwrap();
    home
}

/// Every path below `dir`, relative to it (empty when `dir` is empty).
fn files_below(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            found.push(path.strip_prefix(dir).unwrap().display().to_string());
            if path.is_dir() && !path.is_symlink() {
                todo.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The run's `setup.json` (std.setup's record), from the stage `stage`.
fn setup_record(run: &Run, stage: &str) -> Value {
    serde_json::from_str(&run.artifact_text(stage, "setup.json")).unwrap_or_else(|e| {
        panic!(
            "setup.json: {e}\n{}",
            run.artifact_text(stage, "setup.json")
        )
    })
}

/// The commands std.setup ran, in order, from its record.
fn commands(record: &Value) -> Vec<String> {
    record["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["command"].as_str().unwrap().to_string())
        .collect()
}

/// Commits `files` (path, contents) to the sample repository.
fn commit_files(sandbox: &Sandbox, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = sandbox.repo.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
    sandbox.git(&["add", "-A", "-f", "."]);
    sandbox.git(&[
        "-c",
        "user.name=flow tests",
        "-c",
        "user.email=flow-tests@example.invalid",
        "commit",
        "--quiet",
        "-m",
        "fixture files",
    ]);
}

/// The issue's case: a Python package whose tests import a module its build
/// writes (like setuptools-scm's `_version.py`). std.setup installs it in a
/// venv of the run (offline: pip may not reach an index), std.test and the
/// agents run in that venv, the fix goes through, and nothing is written
/// under `HOME`; cleanup removes the venv.
#[test]
fn a_package_whose_tests_import_a_built_module_is_installed_before_its_tests() {
    let sandbox = Sandbox::with_fixture("make-sample-package.sh");
    let home = empty_home(&sandbox);
    let agent_env = sandbox.tmp.path().join("agent-env.log");
    let mut env: Vec<(&str, &str)> = HOME_ELSEWHERE.iter().map(|v| (*v, "")).collect();
    env.extend([
        ("HOME", home.to_str().unwrap()),
        ("PIP_NO_INDEX", "1"),
        ("UV_OFFLINE", "1"),
        ("FAKE_AGENT_ENV_LOG", agent_env.to_str().unwrap()),
    ]);
    let run = sandbox.run(&pipeline(), "happy", &env);
    eprintln!("package: flow run took {:?}", run.elapsed);

    assert_eq!(run.code(), Some(0), "{}", run.explain());
    run.assert_stages(&[
        ("setup", "succeeded"),
        ("prepare", "succeeded"),
        ("plan", "succeeded"),
        ("implement", "succeeded"),
        ("unit_test", "succeeded"),
        ("fix_tests", "skipped"),
        ("create_pr", "succeeded"),
    ]);
    assert_eq!(run.stage_events("stage_started", "unit_test").len(), 1);

    // What was detected and run, printed and saved.
    let record = setup_record(&run, "prepare");
    let venv = run.dir().join("workspace/setup/venv");
    assert_eq!(record["source"], "detected", "{record}");
    assert_eq!(record["ecosystems"], serde_json::json!(["python"]));
    assert_eq!(record["venv"], venv.to_str().unwrap(), "{record}");
    assert_eq!(record["exit_code"], 0);
    let ran = commands(&record);
    assert_eq!(ran.len(), 2, "{ran:?}");
    assert!(ran[0].contains("venv"), "{ran:?}");
    assert!(ran[1].ends_with("install -e '.[test]'"), "{ran:?}");
    let log = run.log("prepare", 1, 1);
    assert!(log.contains("found: python"), "{log}");
    assert!(log.contains("install -e '.[test]'"), "{log}");
    assert!(run
        .artifact_text("prepare", "setup-output.txt")
        .contains("Successfully installed calc-1.0.2"));

    // The tests ran in the venv and imported the built module.
    let tests = run.artifact_text("unit_test", "test-output.txt");
    assert!(
        tests.contains("test_version_from_the_build") && tests.contains("OK"),
        "{tests}"
    );
    assert!(run
        .log("unit_test", 1, 1)
        .contains("using the environment of std.setup"));
    // So did every agent.
    let agents = std::fs::read_to_string(&agent_env).unwrap();
    let python = venv.join("bin/python3");
    assert_eq!(agents.lines().count(), 3, "{agents}");
    for line in agents.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(
            fields[1..],
            [venv.to_str().unwrap(), python.to_str().unwrap()],
            "{line}"
        );
    }

    assert_eq!(
        files_below(&home),
        Vec::<String>::new(),
        "written under HOME"
    );
    // pip wrote no cache offline; had it needed one, it was the run's own:
    // every folder the environment names is in the run's workspace.
    let setup_dir = run.dir().join("workspace/setup");
    let vars = record["environment"].as_object().unwrap();
    assert!(vars["PIP_CACHE_DIR"]
        .as_str()
        .unwrap()
        .starts_with(setup_dir.to_str().unwrap()));
    for (name, value) in vars {
        let value = value.as_str().unwrap();
        if value.contains('/') {
            assert!(
                value.starts_with(setup_dir.to_str().unwrap()),
                "{name}={value} is outside {}",
                setup_dir.display()
            );
        }
    }
    run.assert_cleaned_up();
}

/// The repository's hook `.flow/setup.sh` runs instead of detection (here
/// it installs nothing), and the same package's tests then fail on the
/// module only the build writes: std.setup's install is what makes them pass.
#[test]
fn the_hook_runs_instead_of_detection_and_without_the_build_the_tests_fail() {
    let sandbox = Sandbox::with_fixture("make-sample-package.sh");
    commit_files(
        &sandbox,
        &[(".flow/setup.sh", "echo \"hook: the project's own setup\"\n")],
    );
    let run = sandbox.run(&pipeline(), "happy", &[("PIP_NO_INDEX", "1")]);

    assert_eq!(run.outcome(), "blocked", "{}", run.explain());
    let record = setup_record(&run, "prepare");
    assert_eq!(record["source"], "hook", "{record}");
    let ran = commands(&record);
    assert_eq!(ran.len(), 2, "{ran:?}");
    assert!(
        ran[0].contains("venv"),
        "the environment is made first: {ran:?}"
    );
    assert_eq!(ran[1], "bash .flow/setup.sh");
    assert!(run
        .log("prepare", 1, 1)
        .contains("hook: the project's own setup"));
    let first = run.log("unit_test", 1, 1);
    assert!(
        first.contains("No module named 'calc_version'"),
        "the tests did not need the build:\n{first}"
    );
    run.assert_cleaned_up();
}

/// A setup that fails (here the hook) ends the run blocked before any agent
/// runs, and the note carries the setup's output.
#[test]
fn a_failing_setup_ends_the_run_blocked_with_its_output() {
    let sandbox = Sandbox::new();
    commit_files(
        &sandbox,
        &[(
            ".flow/setup.sh",
            "echo 'cannot reach the package index' >&2\nexit 3\n",
        )],
    );
    let calls = sandbox.tmp.path().join("agent-calls.log");
    let run = sandbox.run(
        &pipeline(),
        "happy",
        &[("FAKE_AGENT_LOG", calls.to_str().unwrap())],
    );

    assert_eq!(run.code(), Some(1), "{}", run.explain());
    assert_eq!(run.outcome(), "blocked");
    run.assert_stages(&[
        ("setup", "succeeded"),
        ("prepare", "failed"),
        ("plan", "skipped"),
        ("implement", "skipped"),
        ("notify_blocked", "succeeded"),
    ]);
    assert_eq!(
        run.stage_events("stage_finished", "prepare")[0]["exit_code"],
        3
    );
    assert_eq!(
        run.routes(),
        [(
            "prepare".to_string(),
            "failure".to_string(),
            "notify_blocked".to_string()
        )]
    );
    assert!(!calls.exists(), "an agent ran");
    let record = setup_record(&run, "prepare");
    assert_eq!(record["exit_code"], 3, "{record}");
    assert_eq!(record["steps"][0]["exit_code"], 3, "{record}");
    let note = run.artifact_text("notify_blocked", "blocked.md");
    assert!(
        note.contains("## Setting up the project failed (prepare)"),
        "{note}"
    );
    assert!(note.contains("cannot reach the package index"), "{note}");
    run.assert_cleaned_up();
}

/// `--setup_command` wins over the repository's hook (and detection).
#[test]
fn the_setup_command_param_wins_over_the_hook() {
    let sandbox = Sandbox::new();
    commit_files(
        &sandbox,
        &[(".flow/setup.sh", "echo 'the hook ran'\nexit 3\n")],
    );
    let agent = root_file("tests/fixtures/fake-agent");
    let run = sandbox.run_full(
        &pipeline(),
        "1",
        agent.to_str().unwrap(),
        "happy",
        &[],
        &["--setup_command", "echo from-the-param"],
    );

    assert_eq!(run.code(), Some(0), "{}", run.explain());
    let record = setup_record(&run, "prepare");
    assert_eq!(record["source"], "setup_command", "{record}");
    assert_eq!(commands(&record), ["echo from-the-param"]);
    let log = run.log("prepare", 1, 1);
    assert!(log.contains("from-the-param"), "{log}");
    assert!(!log.contains("the hook ran"), "{log}");
    run.assert_cleaned_up();
}

/// `flow run tests/fixtures/setup-and-test.flow` on the folder `project`,
/// with `HOME` an empty folder (returned) and `extra` environment.
fn setup_and_test(sandbox: &Sandbox, project: &Path, extra: &[(&str, &str)]) -> (Run, PathBuf) {
    let home = empty_home(sandbox);
    let mut cmd = sandbox.flow_command("happy");
    cmd.arg("run")
        .arg(root_file("tests/fixtures/setup-and-test.flow"))
        .arg("--quiet")
        .env("FLOW_REPO_DIR", project)
        .env("HOME", &home);
    for name in HOME_ELSEWHERE {
        cmd.env(name, "");
    }
    // rustup finds its toolchains under HOME unless told where they are.
    if std::env::var_os("RUSTUP_HOME").is_none() {
        if let Some(real) = std::env::var_os("HOME") {
            cmd.env("RUSTUP_HOME", Path::new(&real).join(".rustup"));
        }
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    (sandbox.finish(cmd), home)
}

/// Writes `files` (path, contents) under a new folder `name` of the sandbox.
fn project(sandbox: &Sandbox, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = sandbox.tmp.path().canonicalize().unwrap().join(name);
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
    dir
}

/// Rust: `cargo fetch` with a CARGO_HOME of the run's own (in env.sh, which
/// std.test applies); a Makefile `setup` target is reported, not run, when an
/// ecosystem was found; nothing is written under `HOME`.
#[test]
fn a_rust_crate_is_fetched_with_its_own_cargo_home() {
    let sandbox = Sandbox::new();
    let dir = project(
        &sandbox,
        "crate",
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
            ),
            (
                "src/lib.rs",
                "#[test]\nfn adds() {\n    assert_eq!(1 + 1, 2);\n}\n",
            ),
            ("Makefile", "setup:\n\ttouch made-setup\n"),
        ],
    );
    let (run, home) = setup_and_test(&sandbox, &dir, &[]);

    assert_eq!(run.code(), Some(0), "{}", run.explain());
    let record = setup_record(&run, "prepare");
    assert_eq!(record["ecosystems"], serde_json::json!(["rust"]));
    assert_eq!(commands(&record), ["cargo fetch"]);
    assert!(
        record["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("'make setup' exists but was not run"),
        "{record}"
    );
    assert!(!dir.join("made-setup").exists());
    let env_sh = std::fs::read_to_string(run.dir().join("workspace/env.sh")).unwrap();
    let cargo_home = run.dir().join("workspace/setup/cargo-home");
    assert!(
        env_sh.contains(&format!("export CARGO_HOME={}\n", cargo_home.display())),
        "{env_sh}"
    );
    assert!(run
        .artifact_text("unit_test", "test-output.txt")
        .contains("test adds ... ok"));
    assert_eq!(
        files_below(&home),
        Vec::<String>::new(),
        "written under HOME"
    );
}

/// No ecosystem, a Makefile `setup` target: it is the project's own setup,
/// and runs.
#[test]
fn a_makefile_setup_target_runs_when_no_ecosystem_is_found() {
    let sandbox = Sandbox::new();
    let dir = project(
        &sandbox,
        "plain",
        &[(
            "Makefile",
            "setup:\n\techo made > made-setup\n\ntest:\n\ttest -f made-setup\n",
        )],
    );
    let (run, _) = setup_and_test(&sandbox, &dir, &[]);

    assert_eq!(run.code(), Some(0), "{}", run.explain());
    let record = setup_record(&run, "prepare");
    assert_eq!(record["source"], "make", "{record}");
    assert_eq!(commands(&record), ["make setup"]);
    assert_eq!(run.stage_outcome("unit_test"), "succeeded");
}

/// Node without a lock file: `npm install --no-package-lock` runs the
/// package's `prepare` script (a build step the tests need) and leaves no
/// new lock file in the checkout; npm's cache is in the workspace, not ~.
/// Skipped (with a message) where npm is not installed.
#[test]
fn a_node_package_is_installed_without_writing_a_lock_file_or_home() {
    if std::process::Command::new("npm")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: npm is not installed");
        return;
    }
    let sandbox = Sandbox::new();
    let dir = project(
        &sandbox,
        "pkg",
        &[
            (
                "package.json",
                r#"{"name": "tiny", "version": "1.0.0", "private": true,
 "scripts": {"prepare": "node gen.js", "test": "node test.js"}}
"#,
            ),
            (
                "gen.js",
                "require('fs').writeFileSync('generated.js', 'module.exports = 42;\\n');\n",
            ),
            (
                "test.js",
                "if (require('./generated.js') !== 42) process.exit(1);\nconsole.log('generated ok');\n",
            ),
        ],
    );
    let (run, home) = setup_and_test(&sandbox, &dir, &[]);

    assert_eq!(run.code(), Some(0), "{}", run.explain());
    let record = setup_record(&run, "prepare");
    assert_eq!(record["ecosystems"], serde_json::json!(["node"]));
    assert_eq!(
        commands(&record),
        ["npm install --no-audit --no-fund --no-package-lock"]
    );
    assert!(!dir.join("package-lock.json").exists());
    assert!(run
        .artifact_text("unit_test", "test-output.txt")
        .contains("generated ok"));
    assert_eq!(
        files_below(&home),
        Vec::<String>::new(),
        "written under HOME"
    );
}

/// The run's secrets never reach the files std.setup writes itself
/// (setup-output.txt, setup.json): a canary secret that the hook prints, and
/// that the setup command names, is found in no file of the run.
#[test]
fn a_secret_printed_during_setup_is_in_no_file_of_the_run() {
    let sandbox = Sandbox::new();
    let canary = "canary-3f9c1e-secret";
    let dir = project(
        &sandbox,
        "secretive",
        &[(
            ".flow/setup.sh",
            "echo \"the token is $DEPLOY_TOKEN\"\necho \"$DEPLOY_TOKEN\" >&2\n",
        )],
    );
    let flow_file = sandbox.tmp.path().join("secret-setup.flow");
    std::fs::write(
        &flow_file,
        "use std\n\nflow secret_setup {\n  secret DEPLOY_TOKEN\n  param setup_command: str = \"\"\n  stage prepare: std.setup() { }\n}\n",
    )
    .unwrap();
    for setup_command in [
        "",
        "bash .flow/setup.sh # $DEPLOY_TOKEN canary-3f9c1e-secret",
    ] {
        let _ = std::fs::remove_dir_all(sandbox.cwd.join(".flow"));
        let mut cmd = sandbox.flow_command("happy");
        cmd.arg("run")
            .arg(&flow_file)
            .args(["--quiet", "--setup_command", setup_command])
            .env("FLOW_REPO_DIR", &dir)
            .env("DEPLOY_TOKEN", canary);
        let run = sandbox.finish(cmd);

        assert_eq!(run.code(), Some(0), "{}", run.explain());
        let output = run.artifact_text("prepare", "setup-output.txt");
        assert!(output.contains("the token is ***"), "{output}");
        let mut files = 0;
        for rel in files_below(run.dir()) {
            let path = run.dir().join(&rel);
            if path.is_file() {
                files += 1;
                let bytes = std::fs::read(&path).unwrap();
                assert!(
                    !String::from_utf8_lossy(&bytes).contains(canary),
                    "the secret is in {rel} (setup_command {setup_command:?})"
                );
            }
        }
        assert!(files > 5, "only {files} files were searched");
    }
}

/// A venv left incomplete by an earlier attempt (killed while `python3 -m
/// venv` installed pip, e.g. by a timeout) is made again, not reused: the
/// retry would otherwise fail on "No module named pip" for good.
#[test]
fn an_incomplete_venv_of_an_earlier_attempt_is_made_again() {
    let sandbox = Sandbox::with_fixture("make-sample-package.sh");
    let workspace = sandbox.tmp.path().canonicalize().unwrap().join("workspace");
    let venv = workspace.join("setup/venv");
    let made = std::process::Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(made.success());
    let stage = sandbox.tmp.path().join("stage");
    std::fs::create_dir_all(&stage).unwrap();
    let out = std::process::Command::new("bash")
        .arg(root_file("std-skills/bin/flow-setup"))
        .current_dir(&stage)
        .env("FLOW_WORKSPACE", &workspace)
        .env("FLOW_REPO_DIR", &sandbox.repo)
        .env("PIP_NO_INDEX", "1")
        .env_remove("SETUP_COMMAND")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("incomplete (no pip): making it again"),
        "{stdout}"
    );
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(stage.join("setup.json")).unwrap()).unwrap();
    let ran = commands(&record);
    assert!(ran[0].contains("venv"), "{ran:?}");
    assert!(ran[1].ends_with("install -e '.[test]'"), "{ran:?}");
}

/// What a Python project asks to be installed with for its tests (extras,
/// PEP 735 dependency groups) is read the same with a TOML parser and, on a
/// Python without one (3.10 and older, no tomli), from the text: a test
/// extra wins over dev, include-group is followed, comments and `]` inside
/// strings do not end an array.
#[test]
fn the_test_extras_and_groups_are_read_with_or_without_a_toml_parser() {
    let sandbox = Sandbox::new();
    let dir = project(
        &sandbox,
        "wants",
        &[
            (
                "pyproject.toml",
                r#"[build-system]
requires = ["setuptools"]  # a comment

[project]
name = "x"
dependencies = ["requests"]

[project.optional-dependencies]
docs = ["sphinx"]
"testing" = [
  "pytest>=7",  # the runner
  'pytest-cov',
]
dev = ["tox"]

[dependency-groups]
test = ["hypothesis", {include-group = "lint"}]
lint = ["ruff"]
dev = ["pre-commit"]
tests = [
  "coverage[toml]",
  "pytest-xdist",
]
"#,
            ),
            (
                "no-parser/tomllib.py",
                "raise ImportError('simulated: no TOML parser')\n",
            ),
            (
                "no-parser/tomli.py",
                "raise ImportError('simulated: no TOML parser')\n",
            ),
        ],
    );
    let want = "extras: testing\ngroup: hypothesis\ngroup: ruff\ngroup: coverage[toml]\ngroup: pytest-xdist\n";
    for no_parser in [false, true] {
        let mut cmd = std::process::Command::new("python3");
        cmd.arg(root_file("std-skills/bin/flow-setup-wants.py"))
            .args(["test tests testing", "dev develop development"])
            .current_dir(&dir)
            .env_remove("PYTHONPATH");
        if no_parser {
            cmd.env("PYTHONPATH", dir.join("no-parser"));
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            want,
            "without a TOML parser: {no_parser}"
        );
    }
}
