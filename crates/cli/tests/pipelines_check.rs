//! Every pipeline shipped in `pipelines/` checks clean with
//! `flow check --deny warnings` (issue 7 §5): no error, no warning, no
//! shellcheck finding, with the `std` library embedded in this binary.

mod support;

use std::process::Command;
use support::repo_root;

#[test]
fn every_shipped_pipeline_checks_clean_with_deny_warnings() {
    let dir = repo_root().join("pipelines");
    let mut flows: Vec<_> = std::fs::read_dir(&dir)
        .expect("pipelines/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "flow"))
        .collect();
    flows.sort();
    for name in [
        "ai-cleanup",
        "ai-implement",
        "ai-issue-picker",
        "coding-loop",
        "phases",
        "sdlc",
    ] {
        assert!(
            flows.iter().any(|p| p.ends_with(format!("{name}.flow"))),
            "pipelines/{name}.flow is missing: {flows:?}"
        );
    }
    for flow in &flows {
        let out = Command::new(env!("CARGO_BIN_EXE_flow"))
            .env("FLOW_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
            .current_dir(repo_root())
            .args(["check", "--deny", "warnings"])
            .arg(flow)
            .output()
            .expect("spawn flow");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}:\n{stdout}{stderr}",
            flow.display()
        );
        assert!(
            format!("{stdout}{stderr}").contains("0 errors, 0 warnings"),
            "{}:\n{stdout}{stderr}",
            flow.display()
        );
    }
}
