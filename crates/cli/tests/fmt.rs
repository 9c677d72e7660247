//! `flow fmt` (issue 9, Formatter): over every `.flow` file shipped in the
//! repository (pipelines, the std library, conformance cases, fixtures,
//! parser examples, bench flows) formatting is idempotent and changes
//! nothing `flow check` reports; every one of them is already formatted
//! (so CI fails on an unformatted flow); and the command's contract:
//! `--check`, in-place atomic rewrite, `-`, syntax errors, exit codes.

mod support;

use flow_dsl::fmt::{format, FormatError};
use flow_dsl::{check_source, Checked};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use support::repo_root;

/// Folders of the repository that hold shipped `.flow` files.
const CORPUS: &[&str] = &[
    "pipelines",
    "std-skills",
    "tests",
    "crates/dsl/src/parse/tests/examples",
    "bench",
    "examples",
];

/// Shipped flows whose point is their layout, left as written (still in the
/// idempotence and check tests): the parser's examples (`one_line.flow` …)
/// and the conformance case of odd but valid spellings.
const LAYOUT_CASES: &[&str] = &[
    "crates/dsl/src/parse/tests/examples/",
    "tests/check/syntax_ok.flow",
];

/// Every `.flow` file below the corpus folders, sorted.
fn corpus() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "flow") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for d in CORPUS {
        walk(&repo_root().join(d), &mut out);
    }
    out.sort();
    assert!(out.len() > 100, "corpus too small: {}", out.len());
    out
}

/// The conformance cases whose point is a syntax error: they cannot be
/// formatted (their `# expect:` names F0001).
fn has_syntax_error(text: &str) -> bool {
    matches!(format(text), Err(FormatError::Syntax(_)))
}

/// What `flow check` reports, positions aside: each diagnostic's code,
/// severity and message (line numbers in messages masked).
fn report(c: &Checked) -> Vec<String> {
    let mut v: Vec<String> = c
        .diagnostics
        .iter()
        .map(|d| {
            let msg: String = d
                .message
                .split("line ")
                .enumerate()
                .map(|(i, part)| {
                    if i == 0 {
                        part.to_string()
                    } else {
                        format!(
                            "line N{}",
                            part.trim_start_matches(|c: char| c.is_ascii_digit())
                        )
                    }
                })
                .collect();
            format!("{:?} {:?} {msg}", d.code, d.severity)
        })
        .collect();
    v.sort();
    v
}

/// The built pipeline, as data (it is not `Serialize`; its `Debug` holds
/// every field and no span).
fn pipeline(c: &Checked) -> Option<String> {
    c.pipeline.as_ref().map(|p| format!("{p:?}"))
}

#[test]
fn formatting_every_shipped_flow_is_idempotent_and_changes_nothing_check_reports() {
    let mut syntax = Vec::new();
    for path in corpus() {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        if has_syntax_error(&text) {
            assert!(
                text.contains("F0001"),
                "{name}: a syntax error in a case that does not expect one"
            );
            syntax.push(name);
            continue;
        }
        let once = format(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let twice = format(&once).unwrap_or_else(|e| panic!("{name} (formatted): {e}"));
        assert_eq!(once, twice, "{name}: formatting twice changed it again");
        let dir = path.parent().unwrap();
        let file = path.file_name().unwrap().to_string_lossy();
        let before = check_source(&file, &text, dir);
        let after = check_source(&file, &once, dir);
        assert_eq!(
            report(&before),
            report(&after),
            "{name}: check reports differ"
        );
        assert_eq!(
            pipeline(&before),
            pipeline(&after),
            "{name}: the pipeline differs"
        );
    }
    // The syntax-error cases are few and known; the rest were all formatted.
    assert!(syntax.len() < 10, "{syntax:?}");
}

fn flow(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flow"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("spawn flow")
}

/// What CI checks: `flow fmt --check` over every shipped flow that parses
/// (but the [`LAYOUT_CASES`]).
#[test]
fn every_shipped_flow_is_formatted() {
    let root = repo_root();
    let files: Vec<String> = corpus()
        .into_iter()
        .filter(|p| {
            let rel = p.strip_prefix(&root).unwrap().to_string_lossy().to_string();
            !LAYOUT_CASES.iter().any(|c| rel.starts_with(c))
        })
        .filter(|p| !has_syntax_error(&std::fs::read_to_string(p).unwrap()))
        .map(|p| p.display().to_string())
        .collect();
    let mut args = vec!["fmt", "--check"];
    args.extend(files.iter().map(String::as_str));
    let out = flow(&repo_root(), &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "run `flow fmt` on these:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

const UGLY: &str = "flow f {\n    stage a { run \"echo hi\" ; timeout   5m }   # why\n}\n";
const PRETTY: &str = "flow f {\n  stage a {\n    run \"echo hi\"\n    timeout 5m\n  }  # why\n}\n";

#[test]
fn check_prints_a_diff_changes_nothing_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.flow"), UGLY).unwrap();
    std::fs::write(dir.path().join("b.flow"), PRETTY).unwrap();
    let out = flow(dir.path(), &["fmt", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("--- ./a.flow\n+++ ./a.flow\n"), "{stdout}");
    assert!(stdout.contains("+    timeout 5m\n"), "{stdout}");
    assert!(!stdout.contains("b.flow"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 file(s) not formatted"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.flow")).unwrap(),
        UGLY
    );
}

#[test]
fn fmt_rewrites_in_place_keeping_permissions_then_has_nothing_to_do() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sub/a.flow");
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(&file, UGLY).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = flow(dir.path(), &["fmt"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), PRETTY);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o640);
    // No temporary file left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let out = flow(dir.path(), &["fmt", "--check", "sub/a.flow"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_file_with_syntax_errors_is_reported_as_check_does_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let bad = "flow f {\n    stage a { bogus 1 }\n}\n";
    std::fs::write(dir.path().join("bad.flow"), bad).unwrap();
    std::fs::write(dir.path().join("ok.flow"), UGLY).unwrap();
    let out = flow(dir.path(), &["fmt"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let check = Command::new(env!("CARGO_BIN_EXE_flow"))
        .current_dir(dir.path())
        .args(["check", "bad.flow"])
        .output()
        .unwrap();
    let check_stderr = String::from_utf8_lossy(&check.stderr);
    let first = check_stderr.lines().next().unwrap();
    assert!(first.contains("F0001"), "{check_stderr}");
    assert!(stderr.contains(first), "{stderr}\n---\n{check_stderr}");
    assert!(stderr.contains("bad.flow: not formatted"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("bad.flow")).unwrap(),
        bad
    );
    // The other file was still formatted.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ok.flow")).unwrap(),
        PRETTY
    );
}

#[test]
fn dash_formats_standard_input_to_standard_output() {
    use std::io::Write;
    let run = |args: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_flow"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(UGLY.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run(&["fmt", "-"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), PRETTY);
    let out = run(&["fmt", "--check", "-"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("+++ <stdin>"));
}

#[test]
fn a_missing_path_is_exit_2_after_the_others() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.flow"), UGLY).unwrap();
    let out = flow(dir.path(), &["fmt", "nope.flow", "a.flow"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.flow: no such file"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.flow")).unwrap(),
        PRETTY
    );
}

#[test]
fn a_symbolic_link_is_followed_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("real.flow"), UGLY).unwrap();
    std::os::unix::fs::symlink("real.flow", dir.path().join("link.flow")).unwrap();
    let out = flow(dir.path(), &["fmt", "link.flow"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(std::fs::symlink_metadata(dir.path().join("link.flow"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("real.flow")).unwrap(),
        PRETTY
    );
}

#[test]
fn a_crlf_file_stays_crlf() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.flow");
    std::fs::write(&file, UGLY.replace('\n', "\r\n")).unwrap();
    let out = flow(dir.path(), &["fmt", "w.flow"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        PRETTY.replace('\n', "\r\n")
    );
}
