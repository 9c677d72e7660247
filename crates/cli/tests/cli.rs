//! The `flow` command's contract: exit codes, output formats, params.

use std::path::Path;
use std::process::{Command, Output};

fn flow(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flow"))
        .env("FLOW_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("flow runs")
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

const GOOD: &str =
    "flow good {\n  timeout 1m\n  param n: int = 1\n  stage a { run \"test $N = 7\" }\n}\n";
const BAD: &str = "flow bad {\n  timeout 1m\n  stage a { needs nope  run \"true\" }\n}\n";

#[test]
fn check_exits_0_when_clean_1_on_errors_2_on_a_missing_path() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.flow", GOOD);
    write(dir.path(), "bad.flow", BAD);
    assert_eq!(
        flow(dir.path(), &["check", "good.flow"]).status.code(),
        Some(0)
    );
    assert_eq!(
        flow(dir.path(), &["check", "bad.flow"]).status.code(),
        Some(1)
    );
    assert_eq!(
        flow(dir.path(), &["check", "missing.flow"]).status.code(),
        Some(2)
    );
    // A folder: every *.flow below it, errors from any file fail the check.
    let out = flow(dir.path(), &["check", "."]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("checked 2 files: 1 error"));
}

#[test]
fn check_json_gives_file_code_severity_spans_and_help() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "bad.flow", BAD);
    let out = flow(dir.path(), &["check", "--format", "json", "bad.flow"]);
    let diags: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &diags[0];
    assert_eq!(d["file"], "bad.flow");
    assert_eq!(d["code"], "F0003");
    assert_eq!(d["severity"], "error");
    let (start, end) = (
        d["span"]["start"].as_u64().unwrap() as usize,
        d["span"]["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&BAD[start..end], "nope");
    assert_eq!(d["span"]["start_line"], 3);
    assert_eq!(d["span"]["start_column"], 19);
    assert!(d["help"].is_string());
}

#[test]
fn human_report_names_the_file_line_and_code_without_colour_when_piped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "bad.flow", BAD);
    let err = String::from_utf8(flow(dir.path(), &["check", "bad.flow"]).stderr).unwrap();
    assert!(err.contains("F0003"), "{err}");
    assert!(err.contains("bad.flow:3:19"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "colour escape in piped output: {err}"
    );
}

#[test]
fn explain_describes_every_code_and_rejects_unknown_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = flow(dir.path(), &["explain", "f0004"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("F0004 (error): needs cycle"), "{text}");
    assert!(text.contains("Fix:"));
    let list = String::from_utf8(flow(dir.path(), &["explain"]).stdout).unwrap();
    assert!(list.lines().count() >= 20);
    assert_eq!(
        flow(dir.path(), &["explain", "F9999"]).status.code(),
        Some(2)
    );
}

#[test]
fn graph_prints_needs_and_routes_as_dot_and_mermaid() {
    let dir = tempfile::tempdir().unwrap();
    let text = "flow g {\n  timeout 1m\n  stage a-b { run \"true\"  on failure -> c }\n  stage c { run \"true\" }\n  stage d { needs a-b  run \"true\" }\n}\n";
    write(dir.path(), "g.flow", text);
    let dot = String::from_utf8(flow(dir.path(), &["graph", "g.flow"]).stdout).unwrap();
    assert!(dot.contains("\"a-b\" -> \"d\";"), "{dot}");
    assert!(
        dot.contains("\"a-b\" -> \"c\" [style=dashed, label=\"failure\"]"),
        "{dot}"
    );
    let mermaid =
        String::from_utf8(flow(dir.path(), &["graph", "g.flow", "--format", "mermaid"]).stdout)
            .unwrap();
    assert!(
        mermaid.contains("s0[\"a-b\"]")
            && mermaid.contains("s0 --> s2")
            && mermaid.contains("s0 -. \"failure\" .-> s1"),
        "{mermaid}"
    );
}

/// Issue 7 §7: the graph draws `again` loops, `max`, `when`, approval
/// decisions and the flow's description.
#[test]
fn graph_draws_loops_max_when_approvals_and_the_description() {
    let dir = tempfile::tempdir().unwrap();
    let text = "flow g {\n  description \"Poll then ask\"\n  timeout 1h\n  param polls: int = 5\n  param every: duration = 30s\n  stage poll {\n    timeout 1m\n    max polls\n    run \"true\"\n    on exit 10 -> again after every\n    on exit 11 -> again after 2m\n    on success -> review\n  }\n  stage review {\n    approval \"approved\", \"rejected\"\n    timeout 1h\n    on status \"approved\" -> ship\n  }\n  stage ship {\n    when polls > 2\n    timeout 1m\n    max 3\n    run \"true\"\n  }\n}\n";
    write(dir.path(), "g.flow", text);
    let out = flow(dir.path(), &["graph", "g.flow"]);
    let dot = String::from_utf8(out.stdout).unwrap();
    for want in [
        "label=\"g: Poll then ask\";",
        "\"poll\" [shape=box, label=\"poll\\nmax polls\"];",
        "\"review\" [shape=hexagon, label=\"review\\napproval: approved | rejected\"];",
        "\"ship\" [shape=box, label=\"ship\\nmax 3\\nwhen polls > 2\"];",
        "\"poll\" -> \"poll\" [style=dashed, label=\"exit 10: again after every\"];",
        "\"poll\" -> \"poll\" [style=dashed, label=\"exit 11: again after 2m\"];",
    ] {
        assert!(dot.contains(want), "{want}\n{dot}");
    }
    let out = flow(dir.path(), &["graph", "g.flow", "--format", "mermaid"]);
    let mermaid = String::from_utf8(out.stdout).unwrap();
    for want in [
        "---\ntitle: \"g: Poll then ask\"\n---\nflowchart LR\n",
        "s1{\"review<br/>approval: approved | rejected\"}",
        "s0 -. \"exit 10: again after every\" .-> s0",
    ] {
        assert!(mermaid.contains(want), "{want}\n{mermaid}");
    }
}

/// Issue 8: the title lists the flow's triggers, with or without a description.
#[test]
fn graph_titles_list_the_triggers() {
    let dir = tempfile::tempdir().unwrap();
    let text = "flow g {\n  timeout 1m\n  trigger cron \"0 9 * * 1-5\"\n  trigger every 4h\n  stage a { run \"true\" }\n}\n";
    write(dir.path(), "g.flow", text);
    let dot = String::from_utf8(flow(dir.path(), &["graph", "g.flow"]).stdout).unwrap();
    let want = "label=\"g — triggers: cron \\\"0 9 * * 1-5\\\", every 4h\";";
    assert!(dot.contains(want), "{want}\n{dot}");
    write(
        dir.path(),
        "d.flow",
        &text.replace("timeout 1m", "description \"Daily\"\n  timeout 1m"),
    );
    let out = flow(dir.path(), &["graph", "d.flow", "--format", "mermaid"]);
    let mermaid = String::from_utf8(out.stdout).unwrap();
    let want = "title: \"g: Daily — triggers: cron '0 9 * * 1-5', every 4h\"\n";
    assert!(mermaid.contains(want), "{want}\n{mermaid}");
}

#[test]
fn run_checks_params_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.flow", GOOD);
    let out = flow(dir.path(), &["run", "good.flow", "--n", "seven"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`seven` is not an int"));
    let out = flow(dir.path(), &["run", "good.flow", "--m", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unexpected argument '--m'"));
    assert!(!dir.path().join(".flow").exists(), "nothing ran");
    // The right value runs and succeeds; the wrong one runs and fails.
    assert_eq!(
        flow(dir.path(), &["run", "good.flow", "--quiet", "--n", "7"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        flow(dir.path(), &["run", "good.flow", "--quiet"])
            .status
            .code(),
        Some(1)
    );
}

/// A flow with builtin stages checks, but only a program that registers
/// them can run it: `flow run` names them and makes nothing.
#[test]
fn check_accepts_builtin_stages_and_run_refuses_them_naming_each() {
    let dir = tempfile::tempdir().unwrap();
    let text = "flow b {\n  timeout 1m\n  stage a { run builtin \"fetch\" }\n  stage b { needs a  run builtin \"push-pr\" }\n  stage c { needs b  run \"true\" }\n}\n";
    write(dir.path(), "b.flow", text);
    let out = flow(dir.path(), &["check", "b.flow"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = flow(dir.path(), &["run", "b.flow"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not registered: `fetch`, `push-pr`"),
        "{stderr}"
    );
    assert!(!dir.path().join(".flow").exists(), "no run was made");
}

#[test]
fn run_refuses_a_file_that_does_not_check_or_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "bad.flow", BAD);
    let out = flow(dir.path(), &["run", "bad.flow"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was run"));
    assert!(!dir.path().join(".flow").exists());
    assert_eq!(
        flow(dir.path(), &["run", "missing.flow"]).status.code(),
        Some(2)
    );
}

#[test]
fn secrets_file_values_reach_the_stage_and_are_masked_in_logs() {
    let dir = tempfile::tempdir().unwrap();
    let text = "flow s {\n  timeout 1m\n  secret API_TOKEN\n  stage a { run \"test \\\"$API_TOKEN\\\" = 'p4ss w0rd' && echo token=$API_TOKEN\" }\n}\n";
    write(dir.path(), "s.flow", text);
    write(dir.path(), "secrets.env", "# test\nAPI_TOKEN='p4ss w0rd'\n");
    let out = Command::new(env!("CARGO_BIN_EXE_flow"))
        .env("FLOW_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .current_dir(dir.path())
        .env_remove("API_TOKEN")
        .args(["run", "s.flow", "--secrets-file", "secrets.env"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let live = String::from_utf8_lossy(&out.stdout);
    assert!(
        live.contains("[a] token=***") && !live.contains("p4ss"),
        "{live}"
    );
    let runs = dir.path().join(".flow/runs");
    let run = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let log = std::fs::read_to_string(run.join("logs/a.1.1.log")).unwrap();
    assert_eq!(log, "token=***\n");
    // Without the file, a missing secret stops the run before any stage.
    let out = Command::new(env!("CARGO_BIN_EXE_flow"))
        .env("FLOW_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .current_dir(dir.path())
        .env_remove("API_TOKEN")
        .args(["run", "s.flow"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("API_TOKEN"));
}

#[test]
fn quiet_run_shows_the_tail_of_the_failing_stage_log() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "f.flow",
        "flow f {\n  timeout 1m\n  stage a { run \"echo the reason; exit 4\" }\n}\n",
    );
    let out = flow(dir.path(), &["run", "f.flow", "--quiet"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("stage `a` failed; its log:") && err.contains("  | the reason"),
        "{err}"
    );
}

/// Issue 6: values `flow check` accepted made `flow run` panic (exit 101, no
/// `run_finished`): `retry … backoff 1e20` (Duration overflow) and a huge
/// flow `timeout` (Instant overflow). They are diagnostics now, and `flow
/// run` refuses the file before anything runs.
#[test]
fn run_refuses_values_it_could_not_honour_instead_of_panicking() {
    for (name, text, code) in [
        (
            "backoff.flow",
            "flow b {\n  timeout 1m\n  stage a { retry 3 delay 1s backoff 1e20\n  run \"exit 1\" }\n}\n",
            "F0022",
        ),
        (
            "backoff_digits.flow",
            "flow b {\n  timeout 1m\n  stage a { retry 3 delay 1s backoff 100000000000000000000\n  run \"exit 1\" }\n}\n",
            "F0022",
        ),
        (
            "timeout.flow",
            "flow t {\n  timeout 999999999999d\n  stage a { run \"true\" }\n}\n",
            "F0007",
        ),
        (
            "path.flow",
            "flow p {\n  timeout 1m\n  param path: path = \".\"\n  stage a { run \"ls\" }\n}\n",
            "F0028",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), name, text);
        let out = flow(dir.path(), &["run", name]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains(code), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert!(!dir.path().join(".flow").exists(), "{name}");
    }
}
/// Every file under `dir`, recursively (links not followed).
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                todo.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

/// Issue 6: secrets appeared in result.json, the journal, expression
/// errors on the terminal. A canary secret that a stage prints (stdout,
/// stderr), returns as its `status json` (status and fields), uses as an
/// output's name (a FIFO: reported, skipped) and that a failing `when`
/// quotes, appears in no file of the run and nowhere on the terminal. Only
/// the stage's own directory may hold it (its FIFO's name: the stage wrote it).
#[test]
fn a_canary_secret_appears_in_nothing_flow_writes() {
    const CANARY: &str = "canary-7f3a9";
    let dir = tempfile::tempdir().unwrap();
    let text = r#"flow canary {
  timeout 1m
  secret TOKEN
  stage a {
    status json
    outputs *.txt
    run """
      echo "live: $TOKEN"
      echo "to stderr: $TOKEN" >&2
      mkfifo "$TOKEN.txt"
      echo ok > ok.txt
      printf '{"status": "%s", "token": "%s", "nested": {"k": "x%sy"}}\n' "$TOKEN" "$TOKEN" "$TOKEN"
    """
  }
  stage b {
    needs a
    when parse_int(stages.a.result.token) > 0
    run "true"
  }
}
"#;
    write(dir.path(), "canary.flow", text);
    write(dir.path(), "secrets.env", &format!("TOKEN={CANARY}\n"));
    let out = Command::new(env!("CARGO_BIN_EXE_flow"))
        .env("FLOW_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .current_dir(dir.path())
        .args(["run", "canary.flow", "--secrets-file", "secrets.env"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("`when` failed"), "{stderr}");
    assert!(!stdout.contains(CANARY), "{stdout}");
    assert!(!stderr.contains(CANARY), "{stderr}");
    let runs = dir.path().join(".flow");
    let files = files_under(&runs);
    assert!(files.iter().any(|f| f.ends_with("artifacts/a/result.json")));
    assert!(files.iter().any(|f| f.ends_with("journal.jsonl")));
    for f in &files {
        if std::fs::symlink_metadata(f).unwrap().file_type().is_file() {
            let bytes = std::fs::read(f).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(CANARY), "{}: {text}", f.display());
        }
        let name = f.strip_prefix(&runs).unwrap().to_string_lossy();
        if name.contains(CANARY) {
            assert!(name.contains("/stages/a.1.1/"), "{name}");
        }
    }
}

/// Issue 6: `--secrets-file` parse errors showed the value.
#[test]
fn a_bad_secrets_file_names_the_line_not_the_value() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.flow", GOOD);
    write(dir.path(), "bad.env", "A=1\nB=\"canary-unclosed-7f3a9\n");
    let out = flow(
        dir.path(),
        &["run", "good.flow", "--secrets-file", "bad.env"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.env:2:"), "{err}");
    assert!(!err.contains("canary"), "{err}");
}

/// Issue 6: `flow run … | head` exited 101 (a panic on the closed pipe).
/// Printing stops; the run goes on to the end and is journaled.
#[test]
fn a_closed_output_pipe_stops_printing_not_the_run() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "many.flow",
        "flow many {\n  timeout 1m\n  stage a { run \"seq 1 40000\" }\n  stage b { needs a  run \"touch $FLOW_WORKSPACE/b-ran\" }\n}\n",
    );
    // `flow run many.flow 2>&1 | head -1`
    // O_CLOEXEC: the child must not inherit the read end (it would keep
    // the pipe open).
    let (reader, writer) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_flow"))
        .env("FLOW_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .current_dir(dir.path())
        .args(["run", "many.flow"])
        .stdout(std::process::Stdio::from(writer.try_clone().unwrap()))
        .stderr(std::process::Stdio::from(writer))
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(std::fs::File::from(reader))
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty());
    // The reader is dropped here: the pipe is closed.
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "no panic");
    let run = std::fs::read_dir(dir.path().join(".flow/runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(run.join("workspace/b-ran").exists(), "the run went on");
    let journal = std::fs::read_to_string(run.join("journal.jsonl")).unwrap();
    let last = journal.lines().last().unwrap();
    assert!(last.contains("\"run_finished\""), "{last}");
}

/// Issue 6: std's `conversation.md` (written by `flow-agent`, not through
/// flow's masked output) held the secrets an agent printed. The agent here
/// prints a canary secret and a short one; the canary is in
/// no file of the run, and a short secret does not corrupt the text.
#[test]
fn std_agent_conversation_masks_the_secrets() {
    const CANARY: &str = "canary-c0nv3rs4t10n";
    let dir = tempfile::tempdir().unwrap();
    let text = r#"use std

flow talk {
  timeout 1m
  param agent: str = "sh -c 'cat >/dev/null; echo \"said $TOKEN and $SHORT\"; echo \"{\\\"status\\\": \\\"DONE\\\", \\\"summary\\\": \\\"said it\\\"}\"'"
  secret TOKEN
  secret SHORT
  stage plan: std.agent(skill: "plan") { }
}
"#;
    write(dir.path(), "talk.flow", text);
    write(
        dir.path(),
        "secrets.env",
        &format!("TOKEN=\"{CANARY}\"\nSHORT=ab\n"),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_flow"))
        .env("FLOW_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .current_dir(dir.path())
        .args(["run", "talk.flow", "--secrets-file", "secrets.env"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let files = files_under(&dir.path().join(".flow"));
    let conversation = files
        .iter()
        .find(|f| f.ends_with("artifacts/plan/conversation.md"))
        .expect("conversation.md collected");
    let said = std::fs::read_to_string(conversation).unwrap();
    assert!(said.contains("said *** and ab"), "{said}");
    for f in &files {
        if std::fs::symlink_metadata(f).unwrap().file_type().is_file() {
            let bytes = std::fs::read(f).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(CANARY), "{}: {text}", f.display());
        }
    }
}

/// Issue 7 §3: `flow approve` against a real `flow run` in another process:
/// a word that is not a decision is exit 1, a good one lets the run go on
/// with the message, and a second decision for a run that is over is exit 1.
#[test]
fn approve_gives_a_waiting_stage_its_decision() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "gate.flow",
        "flow gate {\n  timeout 1m\n  stage review {\n    approval \"approved\", \"rejected\"\n    timeout 30s\n    on status \"approved\" -> ship\n    on timeout -> ship\n  }\n  stage ship {\n    needs review\n    timeout 10s\n    run \"cat message.md\"\n  }\n}\n",
    );
    let running = Command::new(env!("CARGO_BIN_EXE_flow"))
        .env("FLOW_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .current_dir(dir.path())
        .args(["run", "gate.flow"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let waiting = loop {
        let out = flow(
            dir.path(),
            &["approve", "last", "review", "--decision", "maybe"],
        );
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        if err.contains("one of approved, rejected") {
            break out;
        }
        assert!(std::time::Instant::now() < until, "never waited: {err}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(waiting.status.code(), Some(1));
    let out = flow(
        dir.path(),
        &[
            "approve",
            "last",
            "review",
            "--decision",
            "approved",
            "--message",
            "go ahead",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done = running.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert_eq!(done.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("[ship] go ahead"), "{stdout}");
    assert!(stdout.contains("decided \"approved\""), "{stdout}");
    let again = flow(
        dir.path(),
        &["approve", "last", "review", "--decision", "approved"],
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("the run is over"));
}

/// Issue 7 §2: std.agent runs claude in its machine-readable mode
/// (`--output-format stream-json --verbose`), saves the conversation as
/// text a person reads, and records the usage claude reports, per attempt
/// and for the run (a stand-in `claude` written from its documented
/// output).
#[test]
fn std_agent_records_claudes_usage_and_keeps_the_conversation_readable() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "t.flow",
        "use std\nflow t {\n  timeout 1m\n  param agent: str = \"claude\"\n  stage plan: std.agent(skill: \"plan\", model: \"opus\", max_turns: 5) {\n    outputs PLAN.md\n  }\n}\n",
    );
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/fake-claude");
    let path = format!("{}:{}", fixtures.display(), std::env::var("PATH").unwrap());
    let args_file = dir.path().join("claude-args.txt");
    let out = Command::new(env!("CARGO_BIN_EXE_flow"))
        .env("FLOW_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .env("PATH", path)
        .env("FAKE_CLAUDE_ARGS", &args_file)
        .current_dir(dir.path())
        .args(["run", "t.flow"])
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("usage: $0.012, 150 input + 45 output tokens, 3 turns"),
        "{said}"
    );
    let args = std::fs::read_to_string(&args_file).unwrap();
    assert!(
        args.contains("--output-format\nstream-json\n--verbose\n"),
        "{args}"
    );
    assert!(args.contains("--model\nopus\n"), "{args}");
    assert!(args.contains("--max-turns\n5\n"), "{args}");
    let show = flow(dir.path(), &["show", "last", "--json"]);
    let history: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(history["usage"]["cost_usd"], 0.0123);
    let usage = &history["stages"][0]["attempts"][0]["usage"];
    assert_eq!(usage["input_tokens"], 150, "cached tokens count as input");
    assert_eq!(usage["model"], "claude-test-1");
    assert_eq!(usage["session_id"], "sess-42");
    let runs = dir.path().join(".flow/runs");
    let run = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let conversation = std::fs::read_to_string(run.join("artifacts/plan/conversation.md")).unwrap();
    assert!(
        conversation.starts_with("Reading the code.\n[tool] Read\n"),
        "{conversation}"
    );
    assert!(
        !conversation.contains("\"type\""),
        "raw events in {conversation}"
    );
}

/// Issue 7 §7: a param that gives `max` is checked before anything runs: a
/// value out of range stops `flow run` with a clear error and no run.
#[test]
fn a_param_for_max_out_of_range_stops_the_run_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "p.flow",
        "flow p {\n  timeout 1m\n  param polls: int = 3\n  stage poll {\n    timeout 10s\n    max polls\n    run \"true\"\n  }\n}\n",
    );
    let out = flow(dir.path(), &["run", "p.flow", "--polls", "0"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("`max` must be from 1"), "{err}");
    let runs = dir.path().join(".flow/runs");
    let count = std::fs::read_dir(&runs).map_or(0, |d| d.count());
    assert_eq!(count, 0, "a run was started");
    assert_eq!(
        flow(dir.path(), &["run", "p.flow", "--polls", "2"])
            .status
            .code(),
        Some(0)
    );
}

/// `flow explain | head` panicked on the closed pipe (exit 101): every
/// command that prints a listing stops quietly when its reader is gone.
#[test]
fn explain_into_a_closed_pipe_does_not_panic() {
    // A pipe whose read end is closed before flow writes: every write fails
    // with EPIPE, deterministically.
    let (read, write) = nix::unistd::pipe().unwrap();
    drop(read);
    let dir = tempfile::tempdir().unwrap();
    for args in [&["explain"][..], &["explain", "F0022"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_flow"))
            .current_dir(dir.path())
            .args(args)
            .stdout(std::process::Stdio::from(write.try_clone().unwrap()))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
}
