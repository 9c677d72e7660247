//! End-to-end tests of `pipelines/sdlc.flow` (issue 7 §5): the issue's type
//! routes to its prompt template, the review feedback loop goes back to
//! build, document and deploy_prepare run in parallel, a person's approval
//! gates the deployment, and no decision within the approval window
//! escalates with the context files. The real `flow` binary, the sample
//! repository and the scripted agent `tests/fixtures/fake-agent`.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};
use support::{read_journal, root_file, Run, Sandbox};

fn pipeline() -> PathBuf {
    root_file("pipelines/sdlc.flow")
}

fn route(from: &str, on: &str, to: &str) -> (String, String, String) {
    (from.into(), on.into(), to.into())
}

/// Waits until the run of `sandbox` journals that `stage` waits for a
/// decision; panics after 60 s (with what `flow` printed so far).
fn wait_for_approval(sandbox: &Sandbox, stage: &str, child: &mut Child) {
    let runs = sandbox.cwd.join(".flow/runs");
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let journal = std::fs::read_dir(&runs)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(Result::ok)
            .map(|d| d.path().join("journal.jsonl"));
        if let Some(journal) = journal.filter(|j| j.exists()) {
            if read_journal(&journal)
                .iter()
                .any(|e| e["event"] == "approval_requested" && e["stage"] == stage)
            {
                return;
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("flow ended ({status}) before {stage} waited");
        }
        assert!(Instant::now() < until, "{stage} never waited");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `flow approve last STAGE --decision WORD [--message TEXT]` in the sandbox.
fn approve(sandbox: &Sandbox, stage: &str, decision: &str, message: Option<&str>) {
    let mut cmd = sandbox.flow_command("happy");
    cmd.args(["approve", "last", stage, "--decision", decision]);
    if let Some(m) = message {
        cmd.args(["--message", m]);
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `cmd` in the background, gives `decision` to approve_deploy when it
/// waits, and reads the finished run.
fn run_with_decision(
    sandbox: &Sandbox,
    mut cmd: Command,
    decision: &str,
    message: Option<&str>,
) -> Run {
    let started = Instant::now();
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_approval(sandbox, "approve_deploy", &mut child);
    approve(sandbox, "approve_deploy", decision, message);
    let out = child.wait_with_output().unwrap();
    sandbox.read_run(out, started.elapsed())
}

/// `--issue_type hotfix` is a patch: classify routes to plan_patch, whose
/// prompt template reached the agent; the review asks for changes once, so
/// build runs twice; document and deploy_prepare both follow the approving
/// review; the approval lets deploy and verify run.
#[test]
fn a_patch_is_planned_with_its_template_reworked_after_review_and_deployed_once_approved() {
    let sandbox = Sandbox::new();
    let cmd = sandbox.run_command(
        &pipeline(),
        "review-rejects-once",
        &["--issue_type", "hotfix"],
    );
    let run = run_with_decision(&sandbox, cmd, "approved", Some("ship it"));
    assert_eq!(run.code(), Some(0), "{}", run.explain());
    assert_eq!(run.outcome(), "succeeded");
    let routes = run.routes();
    for want in [
        route("classify", "status \"patch\"", "plan_patch"),
        route("plan_patch", "success", "build"),
        route("review", "exit 4", "build"),
        route("review", "success", "document"),
        route("review", "success", "deploy_prepare"),
        route("approve_deploy", "status \"approved\"", "deploy"),
        route("deploy", "success", "verify"),
    ] {
        assert!(
            routes.contains(&want),
            "{want:?} not in {routes:?}\n{}",
            run.explain()
        );
    }
    for other in [
        "plan_feature",
        "plan_bug",
        "plan_task",
        "plan_default",
        "escalate",
    ] {
        assert_eq!(run.stage_outcome(other), "skipped", "{other}");
    }
    assert!(run
        .artifact_text("plan_patch", "PLAN.md")
        .contains("Issue type: patch"));
    assert_eq!(run.stage_events("stage_started", "build").len(), 2);
    // The second build had the review's words and the plan (AGENT_CONTEXT).
    let prompt = std::fs::read_to_string(run.dir().join("stages/build.2.1/prompt.md")).unwrap();
    assert!(prompt.contains("## Code review"), "{prompt}");
    assert!(
        prompt.contains("## Context: plan_patch/PLAN.md"),
        "{prompt}"
    );
    assert!(prompt.contains("Issue type: patch"), "{prompt}");
    // document and deploy_prepare ran side by side: both started before
    // either settled.
    let position = |event: &str, stage: &str| {
        run.journal
            .iter()
            .position(|e| e["event"] == event && e["stage"] == stage)
            .unwrap()
    };
    let first_settle =
        position("stage_settled", "document").min(position("stage_settled", "deploy_prepare"));
    assert!(position("stage_started", "document") < first_settle);
    assert!(position("stage_started", "deploy_prepare") < first_settle);
    assert!(run
        .artifact_text("deploy_prepare", "release-notes.md")
        .contains("- Revise mean() after review (#1)"));
    assert_eq!(
        run.artifact_text("approve_deploy", "message.md").trim(),
        "ship it"
    );
    let tag = format!("deploy/1-{}", run.nonce());
    let deployed = run
        .artifact_text("deploy", "deployed.txt")
        .trim()
        .to_string();
    assert_eq!(
        sandbox.git(&["rev-parse", &format!("{tag}^{{commit}}")]),
        deployed
    );
}

/// The issue names its type (`Type: Feature`) and no `--issue_type` is
/// given; a rejected deployment escalates with the person's words.
#[test]
fn the_issues_own_type_line_routes_and_a_rejection_escalates() {
    let sandbox = Sandbox::new();
    let issue = sandbox.repo.join("issues/1.md");
    let text = std::fs::read_to_string(&issue).unwrap();
    std::fs::write(&issue, format!("{text}\nType: Feature\n")).unwrap();
    let cmd = sandbox.run_command(&pipeline(), "happy", &[]);
    let run = run_with_decision(&sandbox, cmd, "rejected", Some("not this week"));
    assert_eq!(run.code(), Some(1), "{}", run.explain());
    assert_eq!(run.outcome(), "escalated");
    let routes = run.routes();
    assert!(routes.contains(&route("classify", "status \"feature\"", "plan_feature")));
    assert!(routes.contains(&route("approve_deploy", "status \"rejected\"", "escalate")));
    assert_eq!(run.stage_outcome("deploy"), "skipped");
    let escalation = run.artifact_text("escalate", "escalation.md");
    assert!(
        escalation.contains("## approve_deploy/message.md"),
        "{escalation}"
    );
    assert!(escalation.contains("not this week"), "{escalation}");
    assert!(
        escalation.contains("## plan_feature/PLAN.md"),
        "{escalation}"
    );
}

/// No decision within the approval window: the timeout routes to escalate,
/// whose escalation.md has the context files (the plan, the review, the
/// test output). The window is shortened in a copy of the flow (`timeout`
/// takes no param).
#[test]
fn no_decision_within_the_approval_window_escalates_with_the_context() {
    let sandbox = Sandbox::new();
    let text = std::fs::read_to_string(pipeline()).unwrap();
    let window = "timeout 48h  # the approval window";
    assert!(text.contains(window), "the approval window moved");
    let short = sandbox.tmp.path().join("sdlc.flow");
    std::fs::write(
        &short,
        text.replace(window, "timeout 2s  # the approval window"),
    )
    .unwrap();
    let run =
        sandbox.finish(sandbox.run_command(Path::new(&short), "happy", &["--issue_type", "bug"]));
    assert_eq!(run.code(), Some(1), "{}", run.explain());
    assert_eq!(run.outcome(), "escalated", "{}", run.explain());
    let routes = run.routes();
    assert!(routes.contains(&route("classify", "status \"bug\"", "plan_bug")));
    assert!(
        routes.contains(&route("approve_deploy", "timeout", "escalate")),
        "{routes:?}"
    );
    let escalation = run.artifact_text("escalate", "escalation.md");
    for part in [
        "## plan_bug/PLAN.md",
        "## review/review.md",
        "## Last test output",
        "## review said",
    ] {
        assert!(escalation.contains(part), "{part} missing:\n{escalation}");
    }
    assert_eq!(run.stage_outcome("deploy"), "skipped");
}

/// A build that commits nothing is a failed quality gate: escalated at once,
/// nothing is tested, reviewed or deployed.
#[test]
fn a_build_that_did_nothing_escalates() {
    let sandbox = Sandbox::new();
    let run =
        sandbox.finish(sandbox.run_command(&pipeline(), "does-nothing", &["--issue_type", "task"]));
    assert_eq!(run.outcome(), "escalated", "{}", run.explain());
    assert!(run
        .routes()
        .contains(&route("build", "exit 2, 5, 6", "escalate")));
    for stage in [
        "test",
        "review",
        "document",
        "deploy_prepare",
        "approve_deploy",
        "deploy",
    ] {
        assert_eq!(run.stage_outcome(stage), "skipped", "{stage}");
    }
}

/// Per-phase permissions: review is `read-only`, so a reviewer that edits
/// the code breaks its contract (NO_STATUS, exit 5) and escalates, however
/// it approved; nothing is documented or deployed.
#[test]
fn a_read_only_review_that_edits_the_code_escalates() {
    let sandbox = Sandbox::new();
    let run =
        sandbox.finish(sandbox.run_command(&pipeline(), "review-edits", &["--issue_type", "bug"]));
    assert_eq!(run.outcome(), "escalated", "{}", run.explain());
    assert!(run
        .routes()
        .contains(&route("review", "exit 2, 5", "escalate")));
    assert!(run
        .artifact_text("review", "result.json")
        .contains("NO_STATUS"));
    for stage in ["document", "deploy_prepare", "deploy"] {
        assert_eq!(run.stage_outcome(stage), "skipped", "{stage}");
    }
}

/// The flow's `budget 20 usd`: every agent stage reports $6; the fourth
/// (document) takes the run over it, ends `budget` and escalates through its
/// `on failure`; nothing is deployed. `flow stats` then flags the flow's
/// `alert cost_usd > 5`.
#[test]
fn a_run_over_its_budget_escalates_and_stats_flag_its_cost() {
    let sandbox = Sandbox::new();
    let mut cmd = sandbox.run_command(&pipeline(), "happy", &["--issue_type", "bug"]);
    cmd.env("FAKE_AGENT_COST", "6");
    let run = sandbox.finish(cmd);
    assert_eq!(run.outcome(), "escalated", "{}", run.explain());
    assert!(run
        .routes()
        .contains(&route("document", "failure", "escalate")));
    let document = run.stage_events("stage_finished", "document");
    assert_eq!(document[0]["over_budget"], true, "{}", run.explain());
    assert_eq!(run.stage_outcome("approve_deploy"), "skipped");
    let out = sandbox
        .flow_command("happy")
        .args(["stats", "--json"])
        .output()
        .unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cost = stats[0]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["alert"] == "cost_usd > 5")
        .cloned()
        .unwrap();
    assert_eq!(cost["value"], 24.0);
    assert_eq!(cost["crossed"], true);
}
