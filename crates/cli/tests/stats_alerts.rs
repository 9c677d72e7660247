//! `alert` thresholds declared in a flow, reported by `flow stats` when
//! crossed, in text and `--json` (issue 7 §5). The alerts in force are the
//! ones the flow's newest run recorded.

use std::path::Path;
use std::process::{Command, Output};

fn flow(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flow"))
        .env("FLOW_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

const ALERTS: &str = "  alert success_rate < 0.8\n  alert escalation_rate > 0.9\n  alert p95(a) > 1h\n  alert visits(poll) >= 2\n  alert cost_usd > 5\n";

/// A flow whose stage `a` fails when `--mode fail` (the run then ends
/// `blocked`), and whose `poll` succeeds on its second visit.
fn source(alerts: &str) -> String {
    format!(
        "flow s {{\n  timeout 1m\n  param mode: str = \"ok\"\n{alerts}  stage a {{\n    timeout 10s\n    run \"test \\\"$MODE\\\" != fail\"\n    on failure -> blocked\n  }}\n  stage poll {{\n    needs a\n    timeout 10s\n    max 3\n    run \"test -e \\\"$FLOW_WORKSPACE/seen\\\" || {{ touch \\\"$FLOW_WORKSPACE/seen\\\"; exit 1; }}\"\n    on failure -> again after 10ms\n  }}\n  stage blocked {{\n    timeout 10s\n    run \"true\"\n    ends run blocked\n  }}\n}}\n"
    )
}

fn alerts_json(dir: &Path) -> Vec<serde_json::Value> {
    let out = flow(dir, &["stats", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    all[0]["alerts"].as_array().cloned().unwrap_or_default()
}

#[test]
fn stats_report_the_alerts_a_flow_declares_crossed_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.flow");
    std::fs::write(&file, source(ALERTS)).unwrap();
    let check = flow(dir.path(), &["check", "--deny", "warnings", "s.flow"]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(flow(dir.path(), &["run", "s.flow"]).status.code(), Some(0));
    assert_eq!(
        flow(dir.path(), &["run", "s.flow", "--mode", "fail"])
            .status
            .code(),
        Some(1)
    );

    // The run recorded them.
    let runs = dir.path().join(".flow/runs");
    let first = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let journal = std::fs::read_to_string(first.join("journal.jsonl")).unwrap();
    let started: serde_json::Value = serde_json::from_str(journal.lines().next().unwrap()).unwrap();
    assert_eq!(started["alerts"][2]["metric"], "p95");
    assert_eq!(started["alerts"][2]["stage"], "a");
    assert_eq!(started["alerts"][2]["threshold"], 3_600_000.0);

    let alerts = alerts_json(dir.path());
    let by_text = |t: &str| {
        alerts
            .iter()
            .find(|a| a["alert"] == t)
            .unwrap_or_else(|| panic!("{t} not in {alerts:?}"))
            .clone()
    };
    assert_eq!(alerts.len(), 5, "{alerts:?}");
    // One run of two succeeded: 50% < 80%.
    let rate = by_text("success_rate < 0.8");
    assert_eq!(
        (rate["crossed"].as_bool(), rate["value"].as_f64()),
        (Some(true), Some(0.5))
    );
    assert_eq!(rate["unit"], "share");
    assert_eq!(by_text("escalation_rate > 0.9")["crossed"], false);
    assert_eq!(by_text("p95(a) > 1h")["crossed"], false);
    assert_eq!(by_text("p95(a) > 1h")["unit"], "ms");
    // poll ran in one run, with two visits.
    let visits = by_text("visits(poll) >= 2");
    assert_eq!(
        (visits["crossed"].as_bool(), visits["value"].as_f64()),
        (Some(true), Some(2.0))
    );
    // Nobody reported a cost: not measured, never crossed.
    let cost = by_text("cost_usd > 5");
    assert_eq!(
        (cost["crossed"].as_bool(), cost["value"].is_null()),
        (Some(false), true)
    );

    let text = String::from_utf8(flow(dir.path(), &["stats"]).stdout).unwrap();
    assert!(text.contains("alerts: 2 of 5 crossed"), "{text}");
    assert!(text.contains("⚠ crossed  success_rate < 0.8"), "{text}");
    assert!(text.contains("(now 50%)"), "{text}");
    assert!(text.contains("✓ ok       p95(a) > 1h"), "{text}");
    assert!(text.contains("- no data  cost_usd > 5"), "{text}");

    // The flow drops its alerts: its newest run says so, and stats follow.
    std::fs::write(&file, source("  alert success_rate < 0.1\n")).unwrap();
    assert_eq!(flow(dir.path(), &["run", "s.flow"]).status.code(), Some(0));
    let alerts = alerts_json(dir.path());
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["alert"], "success_rate < 0.1");
    assert_eq!(alerts[0]["crossed"], false);
    std::fs::write(&file, source("")).unwrap();
    assert_eq!(flow(dir.path(), &["run", "s.flow"]).status.code(), Some(0));
    assert!(alerts_json(dir.path()).is_empty());
    let text = String::from_utf8(flow(dir.path(), &["stats"]).stdout).unwrap();
    assert!(!text.contains("alerts:"), "{text}");
}
