//! `flow check`'s output formats (human, json, github, sarif), `--deny
//! warnings` and exit codes, through the real binary.

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};

/// `flow ARGS` in `dir`, stdout and stderr piped, `NO_COLOR` unset.
fn flow(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flow"))
        .env("FLOW_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env("COLUMNS", "80")
        .args(args)
        .output()
        .expect("flow runs")
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// F0003 at 3:19–3:23.
const BAD: &str = "flow bad {\n  timeout 1m\n  stage a { needs nope  run \"true\" }\n}\n";
/// Only a warning: F0101 at 2:9–2:10.
const WARN: &str = "flow warn {\n  stage a { run \"true\" }\n}\n";
const CLEAN: &str = "flow good {\n  timeout 1m\n  stage a { run \"true\" }\n}\n";
/// F0003 after 3 multi-byte characters on its line (é 2 bytes, € 3, 😀 4
/// and two UTF-16 units): column 35, not byte 41; then F0002 with a
/// secondary label "first declared here" at 3:9.
const UNICODE: &str = "flow u {\n  timeout 1m\n  stage a { run \"echo é€😀\"  needs nope }\n  stage a { run \"true\" }\n}\n";
/// F0019 whose message quotes a path with a comma, colon, percent and
/// newline (the `\n` escape).
const ODD_USE: &str =
    "use \"a,b: 100%\\nz\" as lib\nflow x {\n  timeout 1m\n  stage a { run \"true\" }\n}\n";

fn sarif_validator() -> jsonschema::Validator {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/schemas/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::draft4::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

fn assert_valid_sarif(log: &Value) {
    let validator = sarif_validator();
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF does not validate:\n{}",
        errors.join("\n")
    );
}

#[test]
fn json_keeps_its_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "bad.flow", BAD);
    let out = flow(dir.path(), &["check", "--format", "json", "bad.flow"]);
    assert_eq!(out.status.code(), Some(1));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    let span = json!({"start": 42, "end": 46, "start_line": 3, "start_column": 19, "end_line": 3, "end_column": 23});
    assert_eq!(
        got,
        json!([{
            "file": "bad.flow",
            "code": "F0003",
            "severity": "error",
            "message": "unknown stage `nope`",
            "span": span,
            "labels": [{"span": span, "message": "no such stage"}],
            "help": "`needs` must name a stage of this flow",
        }])
    );
    // One line of JSON on stdout, nothing on stderr.
    assert_eq!(stdout(&out).lines().count(), 1);
    assert_eq!(stderr(&out), "");
}

#[test]
fn json_columns_count_characters() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "u.flow", UNICODE);
    let out = flow(dir.path(), &["check", "--format", "json", "u.flow"]);
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    let span = &got[0]["span"];
    assert_eq!(got[0]["code"], "F0003");
    assert_eq!(
        &UNICODE[span["start"].as_u64().unwrap() as usize..span["end"].as_u64().unwrap() as usize],
        "nope"
    );
    assert_eq!(
        (span["start_line"].clone(), span["start_column"].clone()),
        (json!(3), json!(35))
    );
}

#[test]
fn github_writes_one_escaped_workflow_command_per_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "bad.flow", BAD);
    write(dir.path(), "sub/warn.flow", WARN);
    write(dir.path(), "we,ird:100%.flow", ODD_USE);
    let out = flow(dir.path(), &["check", "--format", "github", "."]);
    assert_eq!(out.status.code(), Some(1));
    // The loader names the library folder relative to the current folder.
    let want = [
        "::error file=bad.flow,line=3,col=19,endLine=3,endColumn=23,title=F0003::unknown stage `nope`%0Ahelp: `needs` must name a stage of this flow".to_string(),
        "::warning file=sub/warn.flow,line=2,col=9,endLine=2,endColumn=10,title=F0101::stage `a` has no timeout%0Ahelp: add `timeout 10m` (any duration) to the stage, or a `timeout` to the flow".to_string(),
        "::error file=we%2Cird%3A100%25.flow,line=1,col=5,endLine=1,endColumn=19,title=F0019::cannot load library `lib` from `a,b: 100%25%0Az`: No such file or directory (os error 2)%0Ahelp: give the path of a folder holding *.flow template files, relative to this file".to_string(),
    ];
    let got = stdout(&out);
    let got: Vec<&str> = got.lines().collect();
    assert_eq!(got, want);
    // The count for people goes to stderr; stdout holds only commands.
    assert_eq!(stderr(&out), "checked 3 files: 2 errors, 1 warning\n");
    // An absolute path below the current folder is made relative to it.
    let base = std::fs::canonicalize(dir.path()).unwrap();
    let abs = base.join("bad.flow");
    let out = flow(
        &base,
        &["check", "--format", "github", abs.to_str().unwrap()],
    );
    assert_eq!(stdout(&out).lines().next(), Some(want[0].as_str()));
}

#[test]
fn sarif_validates_against_the_2_1_0_schema_and_carries_rules_results_and_locations() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pipelines/u.flow", UNICODE);
    write(dir.path(), "pipelines/deeper/warn.flow", WARN);
    write(dir.path(), "pipelines/we,ird:100%.flow", ODD_USE);
    write(dir.path(), "clean.flow", CLEAN);
    let out = flow(
        dir.path(),
        &["check", "--format", "sarif", "clean.flow", "pipelines"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "");
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid_sarif(&log);

    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(log["runs"].as_array().unwrap().len(), 1);
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    let base = std::fs::canonicalize(dir.path()).unwrap();
    assert_eq!(
        run["originalUriBaseIds"]["%SRCROOT%"]["uri"],
        format!("file://{}/", base.display())
    );
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "flow");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), flow_dsl::Code::ALL.len());
    let f0101 = rules.iter().find(|r| r["id"] == "F0101").unwrap();
    assert_eq!(f0101["name"], "NoTimeout");
    assert_eq!(f0101["shortDescription"]["text"], "stage without a timeout");
    assert_eq!(f0101["defaultConfiguration"]["level"], "warning");
    assert!(f0101["help"]["text"].as_str().unwrap().contains("Fix"));

    let results = run["results"].as_array().unwrap();
    let codes: Vec<&str> = results
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    // Files in walk order: deeper/warn.flow, u.flow, we,ird….flow.
    assert_eq!(codes, ["F0101", "F0003", "F0002", "F0019"]);
    for r in results {
        let rule = &rules[r["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(rule["id"], r["ruleId"], "ruleIndex points at the rule");
    }

    let warn = &results[0];
    assert_eq!(warn["level"], "warning");
    let loc = &warn["locations"][0]["physicalLocation"];
    assert_eq!(
        loc["artifactLocation"],
        json!({"uri": "pipelines/deeper/warn.flow", "uriBaseId": "%SRCROOT%"})
    );

    let unknown = &results[1];
    assert_eq!(unknown["level"], "error");
    assert_eq!(
        unknown["message"]["text"],
        "unknown stage `nope`\nhelp: `needs` must name a stage of this flow"
    );
    assert_eq!(unknown["locations"][0]["message"]["text"], "no such stage");
    assert_eq!(
        unknown["locations"][0]["physicalLocation"],
        json!({
            "artifactLocation": {"uri": "pipelines/u.flow", "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": 3, "startColumn": 35, "endLine": 3, "endColumn": 39},
        })
    );
    assert!(unknown.get("relatedLocations").is_none());

    let twice = &results[2];
    assert_eq!(
        twice["locations"][0]["physicalLocation"]["region"]["startLine"],
        4
    );
    assert_eq!(
        twice["relatedLocations"],
        json!([{
            "id": 1,
            "message": {"text": "first declared here"},
            "physicalLocation": {
                "artifactLocation": {"uri": "pipelines/u.flow", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 3, "startColumn": 9, "endLine": 3, "endColumn": 10},
            },
        }])
    );

    let odd = &results[3];
    assert_eq!(
        odd["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "pipelines/we%2Cird%3A100%25.flow"
    );
}

#[test]
fn sarif_of_a_clean_check_is_valid_and_empty() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "clean.flow", CLEAN);
    let out = flow(dir.path(), &["check", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(0));
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid_sarif(&log);
    assert_eq!(log["runs"][0]["results"], json!([]));
}

#[test]
fn the_schema_check_rejects_a_broken_log() {
    // The validator really validates: a level SARIF does not know fails.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "bad.flow", BAD);
    let out = flow(dir.path(), &["check", "--format", "sarif", "bad.flow"]);
    let mut log: Value = serde_json::from_slice(&out.stdout).unwrap();
    log["runs"][0]["results"][0]["level"] = json!("fatal");
    assert!(!sarif_validator().is_valid(&log));
}

#[test]
fn deny_warnings_fails_on_warnings_only() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "warn.flow", WARN);
    write(dir.path(), "clean.flow", CLEAN);
    assert_eq!(
        flow(dir.path(), &["check", "warn.flow"]).status.code(),
        Some(0)
    );
    assert_eq!(
        flow(dir.path(), &["check", "--deny", "warnings", "warn.flow"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        flow(
            dir.path(),
            &[
                "check",
                "warn.flow",
                "--deny",
                "warnings",
                "--format",
                "github"
            ]
        )
        .status
        .code(),
        Some(1)
    );
    assert_eq!(
        flow(dir.path(), &["check", "--deny", "warnings", "clean.flow"])
            .status
            .code(),
        Some(0)
    );
    // Only `warnings` can be denied.
    let out = flow(dir.path(), &["check", "--deny", "everything", "clean.flow"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("warnings"), "{}", stderr(&out));
}

#[test]
fn exit_codes_are_0_clean_1_errors_2_usage() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "clean.flow", CLEAN);
    write(dir.path(), "bad.flow", BAD);
    let code = |args: &[&str]| flow(dir.path(), args).status.code();
    assert_eq!(code(&["check", "clean.flow"]), Some(0));
    assert_eq!(code(&["check", "bad.flow"]), Some(1));
    assert_eq!(code(&["check", "--format", "xml", "clean.flow"]), Some(2));
    assert_eq!(code(&["check", "--no-such-flag", "clean.flow"]), Some(2));
    for format in ["human", "json", "github", "sarif"] {
        assert_eq!(
            code(&["check", "--format", format, "missing.flow"]),
            Some(2),
            "{format}"
        );
    }
}

#[test]
fn an_unreadable_path_is_exit_2_after_checking_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "tree/bad.flow", BAD);
    write(dir.path(), "tree/clean.flow", CLEAN);
    // A link to nowhere cannot be read, even by root.
    std::os::unix::fs::symlink("nowhere.flow", dir.path().join("tree/gone.flow")).unwrap();
    // A link to a folder is not followed (a loop cannot recurse).
    std::os::unix::fs::symlink(".", dir.path().join("tree/loop")).unwrap();

    let out = flow(dir.path(), &["check", "tree"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("error: tree/gone.flow: No such file or directory"),
        "{err}"
    );
    assert!(
        err.contains("F0003"),
        "the other files are still checked: {err}"
    );
    assert!(
        err.ends_with("checked 2 files: 1 error, 0 warnings; 1 path could not be read\n"),
        "{err}"
    );

    // Machine formats: the diagnostics of the rest on stdout, the I/O
    // error on stderr only.
    let out = flow(
        dir.path(),
        &["check", "--format", "json", "tree", "missing.flow"],
    );
    assert_eq!(out.status.code(), Some(2));
    let diags: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(diags.as_array().unwrap().len(), 1);
    let err = stderr(&out);
    assert!(
        err.contains("error: missing.flow: no such file or folder"),
        "{err}"
    );
    assert!(err.contains("error: tree/gone.flow:"), "{err}");

    // SARIF also records it as a failed invocation, and still validates.
    let out = flow(dir.path(), &["check", "--format", "sarif", "tree"]);
    assert_eq!(out.status.code(), Some(2));
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid_sarif(&log);
    let invocation = &log["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let note = &invocation["toolExecutionNotifications"][0];
    assert_eq!(note["level"], "error");
    assert!(note["message"]["text"]
        .as_str()
        .unwrap()
        .starts_with("tree/gone.flow: "));
}

#[test]
fn a_file_that_is_not_utf8_is_a_diagnostic_not_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("latin1.flow"), b"flow caf\xe9 {}\n").unwrap();
    let out = flow(dir.path(), &["check", "--format", "json", "latin1.flow"]);
    assert_eq!(out.status.code(), Some(1));
    let diags: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(diags[0]["code"], "F0019");
}

#[test]
fn piped_output_has_no_colour_and_machine_formats_own_stdout() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "bad.flow", BAD);
    write(dir.path(), "warn.flow", WARN);
    // NO_COLOR unset, but stderr is a pipe: no escape codes.
    let out = flow(dir.path(), &["check", "."]);
    let err = stderr(&out);
    assert!(!err.contains('\u{1b}'), "{err}");
    assert!(err.contains("bad.flow:3:19"), "{err}");
    assert_eq!(stdout(&out), "", "human output is all on stderr");
    for format in ["json", "github", "sarif"] {
        let out = flow(dir.path(), &["check", "--format", format, "."]);
        let text = stdout(&out);
        assert!(!text.contains('\u{1b}'), "{format}: {text}");
        assert!(!stderr(&out).contains('\u{1b}'), "{format}");
        match format {
            "github" => assert!(text.lines().all(|l| l.starts_with("::")), "{text}"),
            _ => {
                serde_json::from_str::<Value>(&text).unwrap();
            }
        }
    }
}

/// On a real terminal (a pty made by util-linux `script`, when installed)
/// the human report is coloured, unless `NO_COLOR` is set.
#[test]
fn a_terminal_gets_colour_unless_no_color_is_set() {
    let has_script = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_script {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "bad.flow", BAD);
    let on_tty = |no_color: bool| {
        let mut c = Command::new("script");
        c.current_dir(dir.path()).env_remove("NO_COLOR").args([
            "-qec",
            &format!("{} check bad.flow", env!("CARGO_BIN_EXE_flow")),
            "/dev/null",
        ]);
        if no_color {
            c.env("NO_COLOR", "1");
        }
        String::from_utf8_lossy(&c.output().unwrap().stdout).to_string()
    };
    let coloured = on_tty(false);
    assert!(coloured.contains('\u{1b}'), "{coloured}");
    let plain = on_tty(true);
    assert!(
        plain.contains("F0003") && !plain.contains('\u{1b}'),
        "{plain}"
    );
}

/// A flow large enough for `flow check` to tune its allocator (at least
/// 64 KiB of source: see `batch_alloc.rs`) is checked the same as a small
/// one: the clean stages give nothing, the one mistake at the end its
/// diagnostic and exit 1, in every format.
#[test]
fn a_large_flow_is_checked_like_a_small_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("flow big {\n  timeout 1h\n");
    let mut i = 0;
    while text.len() < 128 * 1024 {
        let needs = if i > 0 {
            format!("    needs s{}\n", i - 1)
        } else {
            String::new()
        };
        text += &format!(
            "  stage s{i} {{\n{needs}    timeout 1m\n    run \"echo {i} > out.txt\"\n  }}\n"
        );
        i += 1;
    }
    text += "  stage last {\n    timeout 1m\n    needs nope\n    run \"true\"\n  }\n}\n";
    write(dir.path(), "big.flow", &text);
    let out = flow(dir.path(), &["check", "--shellcheck", "off", "big.flow"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("F0003"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 error, 0 warnings"),
        "{}",
        stderr(&out)
    );
    let json = flow(
        dir.path(),
        &[
            "check",
            "--format",
            "json",
            "--shellcheck",
            "off",
            "big.flow",
        ],
    );
    let all: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(all.as_array().map(Vec::len), Some(1), "{all}");
}

/// A mistake on a line longer than a terminal can show (70,000 columns: a
/// generated file) is reported with its position, without the line.
#[test]
fn a_mistake_on_a_very_long_line_is_reported_without_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "flow wide {{ timeout 1m stage a {{ timeout 1m run \"x\"{}bogus }} }}\n",
        " ".repeat(70_000)
    );
    write(dir.path(), "wide.flow", &text);
    let out = flow(dir.path(), &["check", "--shellcheck", "off", "wide.flow"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("F0001"), "{err}");
    assert!(err.contains("wide.flow:1:70052"), "{err}");
    assert!(err.contains("not shown"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // The long line only as context (the error is on the next, empty line):
    // more brackets than a file may have, all on one line.
    let text = format!("flow many {{ let x = {} }}\n", "(".repeat(300_000));
    write(dir.path(), "many.flow", &text);
    let out = flow(dir.path(), &["check", "--shellcheck", "off", "many.flow"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("opening brackets in one file"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A FIFO or a link to nothing where a flow file is expected is reported as
/// what it is (not "no such file"), and never read (a FIFO would block).
#[test]
fn a_fifo_or_a_dangling_link_is_named_for_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    nix::unistd::mkfifo(&dir.path().join("pipe.flow"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    std::os::unix::fs::symlink("nowhere.flow", dir.path().join("link.flow")).unwrap();
    for (file, why) in [
        ("pipe.flow", "not a regular file"),
        ("link.flow", "a link to nothing"),
    ] {
        let out = flow(dir.path(), &["check", "--shellcheck", "off", file]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("{file}: {why}")),
            "{}",
            stderr(&out)
        );
        let out = flow(dir.path(), &["run", file]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("{file}: {why}")),
            "{}",
            stderr(&out)
        );
    }
}
