//! The language conformance suite: every `tests/check/*.flow` and
//! `tests/run/*.flow` of the repository.
//!
//! - `tests/check/NAME.flow` starts with `# expect: F0003, F0101` (or
//!   `# expect: clean`): the exact multiset of diagnostic codes `flow check`
//!   must report. Its human report (no colour, width 80) is snapshotted in
//!   `NAME.stderr`, its JSON report in `NAME.json`.
//! - `tests/run/NAME.flow` starts with `# expect: run=failed a=succeeded b=skipped …`
//!   (optionally `# args: --x 1`): the run's outcome and the final outcome of
//!   each listed stage, read from the run's journal.
//!
//! `BLESS=1 cargo test --test conformance` rewrites the snapshots; the
//! `# expect:` lines are never rewritten, so a wrong regeneration is caught.

use std::path::{Path, PathBuf};
use std::process::Command;

fn suite_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests")
        .join(kind)
}

fn cases(kind: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(suite_dir(kind))
        .expect("tests folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "flow"))
        .collect();
    v.sort();
    v
}

/// The value of the first `# KEY: …` header line.
fn header(text: &str, key: &str) -> Option<String> {
    let prefix = format!("# {key}:");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_string()))
}

fn flow() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_flow"));
    // The shellcheck cache goes to cargo's temp folder, not ~/.cache.
    c.env("FLOW_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"));
    c.env("NO_COLOR", "1").env("COLUMNS", "80");
    c
}

#[test]
fn check_cases_report_exactly_their_expected_diagnostics() {
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    let all = cases("check");
    assert!(!all.is_empty(), "no check cases found");
    for case in all {
        let text = std::fs::read_to_string(&case).unwrap();
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let Some(expect) = header(&text, "expect") else {
            failures.push(format!("{name}: missing `# expect:` header"));
            continue;
        };
        let mut want: Vec<String> = if expect == "clean" {
            vec![]
        } else {
            expect.split(',').map(|c| c.trim().to_string()).collect()
        };
        want.sort();
        let dir = case.parent().unwrap();
        let out = flow()
            .current_dir(dir)
            .args(["check", "--format", "json", &name])
            .output()
            .unwrap();
        let json: serde_json::Value = match serde_json::from_slice(&out.stdout) {
            Ok(j) => j,
            Err(e) => {
                failures.push(format!(
                    "{name}: bad json ({e}): {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
                continue;
            }
        };
        let mut got: Vec<String> = json
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap().to_string())
            .collect();
        got.sort();
        if got != want {
            failures.push(format!("{name}: expected codes {want:?}, got {got:?}"));
        }
        let has_errors = json
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["severity"] == "error");
        if out.status.code() != Some(i32::from(has_errors)) {
            failures.push(format!(
                "{name}: exit {:?} with errors={has_errors}",
                out.status.code()
            ));
        }
        let pretty = serde_json::to_string_pretty(&json).unwrap() + "\n";
        snapshot(&case.with_extension("json"), &pretty, bless, &mut failures);
        // The human report, snapshotted.
        let human = flow()
            .current_dir(dir)
            .args(["check", &name])
            .output()
            .unwrap();
        let rendered = String::from_utf8_lossy(&human.stderr).to_string();
        snapshot(
            &case.with_extension("stderr"),
            &rendered,
            bless,
            &mut failures,
        );
    }
    assert!(
        failures.is_empty(),
        "{} check case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn run_cases_end_with_their_expected_outcomes() {
    let mut failures = Vec::new();
    let all = cases("run");
    assert!(!all.is_empty(), "no run cases found");
    for case in all {
        let text = std::fs::read_to_string(&case).unwrap();
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let Some(expect) = header(&text, "expect") else {
            failures.push(format!("{name}: missing `# expect:` header"));
            continue;
        };
        let extra: Vec<String> = header(&text, "args")
            .map(|a| a.split_whitespace().map(String::from).collect())
            .unwrap_or_default();
        let work = tempfile::tempdir().unwrap();
        let out = flow()
            .current_dir(work.path())
            .arg("run")
            .arg(&case)
            .arg("--quiet")
            .args(&extra)
            .output()
            .unwrap();
        let outcomes = match journal_outcomes(work.path()) {
            Ok(o) => o,
            Err(e) => {
                failures.push(format!(
                    "{name}: {e}; stderr: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
                continue;
            }
        };
        for pair in expect.split_whitespace() {
            let Some((stage, want)) = pair.split_once('=') else {
                continue;
            };
            let got = outcomes.get(stage).map(String::as_str).unwrap_or("(none)");
            if got != want {
                failures.push(format!("{name}: {stage}: expected {want}, got {got}"));
            }
        }
        let run_ok = outcomes
            .get("run")
            .is_some_and(|o| o == "succeeded" || o == "skipped");
        if out.status.success() != run_ok {
            failures.push(format!(
                "{name}: exit status {:?} disagrees with the run outcome",
                out.status.code()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} run case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Compares `got` with the snapshot file (or rewrites it with `BLESS=1`).
fn snapshot(path: &Path, got: &str, bless: bool, failures: &mut Vec<String>) {
    if bless {
        std::fs::write(path, got).unwrap();
        return;
    }
    match std::fs::read_to_string(path) {
        Ok(expected) if expected == got => {}
        Ok(expected) => failures.push(format!(
            "{} differs (BLESS=1 to update)\n--- expected\n{expected}\n--- got\n{got}",
            path.display()
        )),
        Err(_) => failures.push(format!("no snapshot {} (run with BLESS=1)", path.display())),
    }
}

/// Final outcome per stage (`stage_settled` events, last wins) and the run's
/// (`run` → `run_finished`), from the only run under `dir/.flow/runs`.
fn journal_outcomes(dir: &Path) -> Result<std::collections::HashMap<String, String>, String> {
    let runs = dir.join(".flow/runs");
    let run = std::fs::read_dir(&runs)
        .map_err(|e| format!("no run folder {} ({e})", runs.display()))?
        .filter_map(|e| e.ok())
        .next()
        .ok_or("no run")?
        .path();
    let journal = std::fs::read_to_string(run.join("journal.jsonl"))
        .map_err(|e| format!("no journal: {e}"))?;
    let mut map = std::collections::HashMap::new();
    for line in journal.lines() {
        let ev: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("bad journal line {line}: {e}"))?;
        match ev["event"].as_str() {
            Some("stage_settled") => {
                map.insert(
                    ev["stage"].as_str().unwrap_or("").to_string(),
                    ev["outcome"].as_str().unwrap_or("").to_string(),
                );
            }
            Some("stage_skipped") => {
                map.insert(
                    ev["stage"].as_str().unwrap_or("").to_string(),
                    "skipped".to_string(),
                );
            }
            Some("run_finished") => {
                map.insert(
                    "run".to_string(),
                    ev["outcome"].as_str().unwrap_or("").to_string(),
                );
            }
            _ => {}
        }
    }
    Ok(map)
}
