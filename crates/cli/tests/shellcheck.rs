//! `flow check --shellcheck …`: shellcheck findings at the right line and
//! column of the `.flow` file. Needs `shellcheck` installed (CI installs it).

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn flow(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flow"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        // shellcheck itself every time (the cache has its own tests).
        .env("FLOW_CACHE_DIR", "off")
        .args(args)
        .output()
        .expect("flow runs")
}

/// `flow check --format json --shellcheck require` of `text`: the F0105
/// diagnostics as (line, column, end line, end column, message, spanned text).
fn findings(text: &str) -> Vec<(u64, u64, u64, u64, String, String)> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.flow"), text).unwrap();
    let out = flow(
        dir.path(),
        &[
            "check",
            "--format",
            "json",
            "--shellcheck",
            "require",
            "f.flow",
        ],
    );
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diags: Value = serde_json::from_slice(&out.stdout).unwrap();
    diags
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "F0105")
        .map(|d| {
            let s = &d["span"];
            let n = |k: &str| s[k].as_u64().unwrap();
            let spanned = text[n("start") as usize..n("end") as usize].to_string();
            (
                n("start_line"),
                n("start_column"),
                n("end_line"),
                n("end_column"),
                d["message"].as_str().unwrap().to_string(),
                spanned,
            )
        })
        .collect()
}

fn has(
    found: &[(u64, u64, u64, u64, String, String)],
    line: u64,
    col: u64,
    code: &str,
    spanned: &str,
) {
    assert!(
        found
            .iter()
            .any(|f| f.0 == line && f.1 == col && f.4.starts_with(code) && f.5 == spanned),
        "no {code} at {line}:{col} on `{spanned}` in {found:#?}"
    );
}

#[test]
fn findings_land_on_the_flow_file_line_and_column() {
    let text = r#"flow f {
  timeout 1m
  stage a {
    run "rm -rf $dir/"
  }
  stage b {
    run """
      set -eu
      cd "$FLOW_WORKSPACE"
      cp -r $SRC	"out é"
    """
  }
  stage c { run "printf '%s\n' \"ok\" é $x" }
}
"#;
    let found = findings(text);
    // `run "rm -rf $dir/"`: line 4, `$dir` at column 17.
    has(&found, 4, 17, "SC2086: Double quote", "$dir");
    has(&found, 4, 17, "SC2115", "$dir/");
    has(&found, 4, 17, "SC2154: dir is referenced", "$dir");
    // Line 3 of the `"""` script is line 10 of the file; the indent is not
    // the script's, so `$SRC` is column 7 + 6 of the file.
    has(&found, 10, 13, "SC2086", "$SRC");
    // After escapes (`\n`, `\"`) and a two-byte é, `$x` is still found.
    has(&found, 13, 41, "SC2086", "$x");
    has(&found, 13, 41, "SC2154", "$x");
    assert_eq!(found.len(), 6, "{found:#?}");
}

#[test]
fn tabs_crlf_and_shellcheck_directives() {
    let text = "flow f {\r\n  timeout 1m\r\n  stage a {\r\n    run \"\"\"\r\n\t# shellcheck disable=SC2086\r\n\techo $A\r\n\t\tls $B\r\n    \"\"\"\r\n  }\r\n  stage b {\r\n    run \"\"\"\r\n\techo ok\r\n\t\tls $b\r\n    \"\"\"\r\n  }\r\n}\r\n";
    let found = findings(text);
    // The file-wide directive silences stage a; in b, `$b` after two tabs
    // (the first is indent) is column 6 of the file (tabs count one).
    has(&found, 13, 6, "SC2086", "$b");
    has(&found, 13, 6, "SC2154", "$b");
    assert_eq!(found.len(), 2, "{found:#?}");
}

#[test]
fn variables_flow_exports_are_not_unassigned() {
    let text = r#"flow f {
  timeout 1m
  param repo: str = "x"
  env lower_name = "1"
  secret api_token
  stage a {
    env mine = "2"
    run """
      #!/usr/bin/env bash
      # shellcheck disable=SC2034
      echo "$REPO" "$lower_name" "$api_token" "$mine" "$FLOW_RUN_ID"
      echo "$unknown"
    """
  }
}
"#;
    let found = findings(text);
    // Only `$unknown` is unassigned; the lines after the inserted `export`
    // are reported where they are in the file.
    has(&found, 12, 13, "SC2154: unknown is referenced", "$unknown");
    assert_eq!(found.len(), 1, "{found:#?}");
}

#[test]
fn identical_scripts_each_get_their_findings() {
    let mut text = String::from("flow f {\n  timeout 1m\n");
    for i in 0..300 {
        text += &format!("  stage s{i} {{ run \"echo $x\" }}\n");
    }
    text += "}\n";
    let found = findings(&text);
    // SC2086 + SC2154 on each of the 300 lines.
    assert_eq!(found.len(), 600);
    has(&found, 302, 26, "SC2086", "$x");
}

#[test]
fn off_skips_and_require_without_shellcheck_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = "flow f {\n  timeout 1m\n  stage a { run \"echo $x\" }\n}\n";
    std::fs::write(dir.path().join("f.flow"), text).unwrap();
    let out = flow(
        dir.path(),
        &["check", "--format", "json", "--shellcheck", "off", "f.flow"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    // An empty PATH: no shellcheck to find.
    let run = |mode: &str| {
        Command::new(env!("CARGO_BIN_EXE_flow"))
            .current_dir(dir.path())
            .env("PATH", dir.path())
            .args(["check", "--format", "json", "--shellcheck", mode, "f.flow"])
            .output()
            .unwrap()
    };
    let out = run("require");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`shellcheck` is not on PATH"), "{stderr}");
    // auto: silently skipped.
    let out = run("auto");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_help_shows_shellcheck_fix_or_wiki() {
    let dir = tempfile::tempdir().unwrap();
    let text = "flow f {\n  timeout 1m\n  stage a { run \"rm -rf $dir/\" }\n}\n";
    std::fs::write(dir.path().join("f.flow"), text).unwrap();
    let out = flow(
        dir.path(),
        &[
            "check",
            "--format",
            "json",
            "--shellcheck",
            "require",
            "f.flow",
        ],
    );
    let diags: Value = serde_json::from_slice(&out.stdout).unwrap();
    let help = |code: &str| {
        diags
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["message"].as_str().unwrap().starts_with(code))
            .map(|d| d["help"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(
        help("SC2086"),
        "shellcheck's fix: `rm -rf \"$dir\"/`; see https://www.shellcheck.net/wiki/SC2086"
    );
    assert_eq!(help("SC2115"), "see https://www.shellcheck.net/wiki/SC2115");
    assert_eq!(diags[0]["severity"], "warning");
}

#[test]
fn flow_allow_comments_silence_findings() {
    let text = "flow f {\n  timeout 1m\n  stage a {\n    # flow: allow(F0105) the glob is wanted\n    run \"ls $x\"\n  }\n  stage b {\n    # flow: allow(F0105)\n    run \"ls \\\"$X\\\"\"\n  }\n}\n";
    assert!(findings(text).is_empty());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.flow"), text).unwrap();
    let out = flow(
        dir.path(),
        &[
            "check",
            "--format",
            "json",
            "--shellcheck",
            "require",
            "f.flow",
        ],
    );
    let diags: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Stage b's script is clean: its suppression is unused.
    let codes: Vec<_> = diags
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["code"].clone(), d["span"]["start_line"].clone()))
        .collect();
    assert_eq!(codes, vec![(Value::from("F0104"), Value::from(8))]);
}

#[test]
fn a_project_shellcheckrc_applies() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("flows");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(dir.path().join(".shellcheckrc"), "disable=SC2086\n").unwrap();
    let text = "flow f {\n  timeout 1m\n  stage a { run \"ls $x\" }\n}\n";
    std::fs::write(sub.join("f.flow"), text).unwrap();
    let out = flow(
        dir.path(),
        &[
            "check",
            "--format",
            "json",
            "--shellcheck",
            "require",
            "flows/f.flow",
        ],
    );
    let diags: Value = serde_json::from_slice(&out.stdout).unwrap();
    let messages: Vec<_> = diags
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, vec!["SC2154: x is referenced but not assigned."]);
}

#[test]
fn scripts_are_checked_in_the_dialect_of_their_shell_and_others_not_at_all() {
    let text = r#"flow f {
  timeout 1m
  stage py { shell "python3"  run "print('x' if 1 else [)" }
  stage posix { shell "sh -eu"  run "[[ -n $X ]] && echo ok" }
  stage bash { run "[[ -n $X ]] && echo ok" }
}
"#;
    let found = findings(text);
    // sh: `[[` is not POSIX (SC3010); bash accepts it; python is not read.
    has(&found, 4, 38, "SC3010", "[[ -n $X ]]");
    assert!(found.iter().all(|f| f.0 == 4), "{found:#?}");
}
