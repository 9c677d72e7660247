//! The design document's whole pipeline checks clean and builds the
//! expected IR.

use super::*;
use crate::ir::{EdgeKind, EnvValue, RouteOn, RouteTarget, StageId};

const AI_IMPLEMENT: &str = include_str!("../../parse/tests/examples/ai_implement.flow");

#[test]
fn ai_implement_checks_clean_with_std() {
    let c = check(AI_IMPLEMENT);
    // One warning, by design: implement routes to fix_tests (exit 3) before
    // unit_test ran, and fix_tests needs unit_test.
    assert_eq!(codes(&c), [Code::NeedMayNotRun], "{:#?}", c.diagnostics);
    assert!(c.diagnostics[0]
        .message
        .contains("via implement --on exit 3--> fix_tests before `unit_test` ran"));
    let p = c.pipeline.expect("a pipeline");
    assert_eq!(p.name, "ai-implement");
    let names: Vec<&str> = p.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "setup",
            "plan",
            "implement",
            "unit_test",
            "fix_tests",
            "self_verify",
            "create_pr",
            "notify_blocked",
            "cleanup"
        ]
    );
    let id = |n: &str| p.stage_named(n).unwrap().id;
    let targets: Vec<&str> = p
        .stages
        .iter()
        .filter(|s| s.route_target)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        targets,
        [
            "unit_test",
            "fix_tests",
            "self_verify",
            "create_pr",
            "notify_blocked"
        ]
    );
    assert!(p.stage(id("cleanup")).finally);
    assert_eq!(p.stage(id("implement")).needs, [id("setup"), id("plan")]);
    for (i, s) in p.stages.iter().enumerate() {
        assert_eq!(s.id, StageId(i));
        assert_eq!(p.graph[crate::ir::Pipeline::node(s.id)], s.id);
    }
    // Edges: needs point from the need to the stage, routes from the stage to the target.
    let has = |a: &str, b: &str, k: EdgeKind| {
        p.graph
            .edges_connecting(
                crate::ir::Pipeline::node(id(a)),
                crate::ir::Pipeline::node(id(b)),
            )
            .any(|e| *e.weight() == k)
    };
    assert!(has("setup", "plan", EdgeKind::Needs));
    assert!(has(
        "implement",
        "unit_test",
        EdgeKind::Route(RouteOn::Success)
    ));
    assert!(has(
        "implement",
        "notify_blocked",
        EdgeKind::Route(RouteOn::Exit(vec![2]))
    ));
    assert!(has(
        "plan",
        "notify_blocked",
        EdgeKind::Route(RouteOn::Status("BLOCKED".into()))
    ));
    assert!(has(
        "fix_tests",
        "unit_test",
        EdgeKind::Route(RouteOn::Success)
    ));

    // Template expansion: std.agent's body, then the stage's own items.
    let plan = p.stage(id("plan"));
    assert!(plan.status_json);
    assert_eq!(plan.timeout, Some(std::time::Duration::from_secs(15 * 60)));
    assert_eq!(plan.retry.retries, 2);
    assert_eq!(plan.retry.delay, std::time::Duration::from_secs(30));
    assert_eq!(plan.retry.backoff, 2.0);
    assert!(
        plan.outputs.contains(&"conversation.md".to_string())
            && plan.outputs.contains(&"PLAN.md".to_string())
    );
    assert!(plan.script.contains("flow-agent"));
    let lib = plan.library.expect("template stage has a library");
    assert_eq!(p.libraries[lib].name, "std");
    assert!(
        p.libraries[lib].dir.is_none() && p.libraries[lib].files.contains_key("skills/plan.md")
    );
    let literal = |name: &str| {
        plan.env.iter().find_map(|(k, v)| match v {
            EnvValue::Literal(s) if k == name => Some(s.clone()),
            _ => None,
        })
    };
    assert_eq!(literal("SKILL").as_deref(), Some("plan"));
    assert_eq!(
        literal("SKILL_FILE"),
        None,
        "a library file, not literal text"
    );
    assert!(plan.env.iter().any(|(k, v)| k == "SKILL_FILE"
        && matches!(v, EnvValue::LibraryFile(f) if f == "skills/plan.md")));
    assert_eq!(plan.grace, std::time::Duration::from_secs(10));

    let implement = p.stage(id("implement"));
    assert!(implement
        .env
        .iter()
        .any(|(k, v)| k == "MODEL" && matches!(v, EnvValue::Expr(_))));
    assert_eq!(p.stage(id("fix_tests")).max_visits, Some(3));
    assert_eq!(
        p.stage(id("notify_blocked")).ends_run.as_deref(),
        Some("blocked")
    );
    assert_eq!(p.stage(id("create_pr")).library, None);
    assert_eq!(
        p.stage(id("unit_test")).routes[0].target,
        RouteTarget::Stage(id("fix_tests"))
    );

    assert_eq!(p.params.len(), 4);
    assert_eq!(p.params[3].default, Some(crate::ir::Value::Int(10)));
    assert_eq!(p.timeout, Some(std::time::Duration::from_secs(3 * 3600)));
    assert_eq!(p.concurrency, Some(3));
    assert!(p.skip_if.is_some());
    assert_eq!(p.lets.len(), 1);
}
