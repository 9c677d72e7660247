//! The example files parse to the expected AST; spans are checked by slicing
//! the source.

use super::{at, flow, ok, stage};
use crate::ast::*;

const AI_IMPLEMENT: &str = include_str!("examples/ai_implement.flow");
const POLL: &str = include_str!("examples/poll.flow");
const MYLIB: &str = include_str!("examples/mylib.flow");
const ONE_LINE: &str = include_str!("examples/one_line.flow");

#[test]
fn design_pipeline_header() {
    let text = AI_IMPLEMENT;
    let file = ok(text);
    assert_eq!(file.uses.len(), 1);
    assert_eq!(file.uses[0].path, None);
    assert_eq!(file.uses[0].alias.node, "std");
    assert_eq!(at(text, file.uses[0].span), "use std");
    let f = flow(&file);
    assert_eq!(f.name.node, "ai-implement");
    assert_eq!(at(text, f.name.span), "ai-implement");
    assert!(at(text, f.span).starts_with("flow ai-implement {") && at(text, f.span).ends_with('}'));

    let FlowItem::Description(d) = &f.items[0] else {
        panic!("{:?}", f.items[0])
    };
    assert_eq!(
        d.node,
        "Plan, implement, test, verify and open a PR for one issue"
    );
    let FlowItem::Param(p) = &f.items[1] else {
        panic!()
    };
    assert_eq!(
        (p.name.node.as_str(), &p.ty.node, &p.default),
        ("issue", &TypeName::Int, &None)
    );
    assert_eq!(at(text, p.span), "param issue: int");
    let FlowItem::Param(p) = &f.items[2] else {
        panic!()
    };
    assert_eq!(
        p.default.as_ref().map(|d| &d.node),
        Some(&Literal::Str(".".into()))
    );
    assert_eq!(at(text, p.ty.span), "path");
    let FlowItem::Param(p) = &f.items[4] else {
        panic!()
    };
    assert_eq!(p.default.as_ref().map(|d| &d.node), Some(&Literal::Int(10)));
    let FlowItem::Timeout(t) = &f.items[5] else {
        panic!()
    };
    assert_eq!((t.node.0.as_str(), at(text, t.span)), ("3h", "3h"));
    let FlowItem::Concurrency(c) = &f.items[6] else {
        panic!()
    };
    assert_eq!(c.node, 3);
    let FlowItem::SkipIf(e) = &f.items[7] else {
        panic!()
    };
    assert_eq!(
        e.source,
        r#"runs("ai-implement", "pending") >= max_pending"#
    );
    assert_eq!(at(text, e.span), e.source);
    let FlowItem::Let(name, e) = &f.items[8] else {
        panic!()
    };
    assert_eq!(name.node, "branch");
    assert_eq!(e.source, "`ai/${issue}-${run.nonce}`");
    assert_eq!(at(text, e.span), e.source);
}

#[test]
fn design_pipeline_stages() {
    let text = AI_IMPLEMENT;
    let file = ok(text);
    let f = flow(&file);
    let names: Vec<_> = f
        .items
        .iter()
        .filter_map(|i| match i {
            FlowItem::Stage(s) => Some(s.name.node.as_str()),
            FlowItem::Finally(s) => Some(s.name.node.as_str()).filter(|_| s.finally),
            _ => None,
        })
        .collect();
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

    let setup = stage(f, "setup");
    assert!(setup.template.is_none());
    let StageItem::Run(script) = &setup.items[1] else {
        panic!("{:?}", setup.items)
    };
    assert_eq!(
        script.node,
        "git clone --quiet \"$REPO\" \"$FLOW_WORKSPACE/repo\"\n\
         git -C \"$FLOW_WORKSPACE/repo\" switch -c \"$BRANCH\"\n\
         std-issue show \"$ISSUE\" > issue.md"
    );
    assert!(
        at(text, script.span).starts_with("\"\"\"\n") && at(text, script.span).ends_with("\"\"\"")
    );
    let StageItem::Outputs(outs) = &setup.items[2] else {
        panic!()
    };
    assert_eq!(outs[0].node, "issue.md");

    let plan = stage(f, "plan");
    let call = plan.template.as_ref().expect("template call");
    assert_eq!(call.library.as_ref().map(|l| l.node.as_str()), Some("std"));
    assert_eq!(call.name.node, "agent");
    assert_eq!(at(text, call.span), "std.agent(skill: \"plan\")");
    assert_eq!(call.args[0].name.node, "skill");
    assert_eq!(call.args[0].value.node, Literal::Str("plan".into()));
    assert_eq!(at(text, call.args[0].value.span), "\"plan\"");
    let StageItem::Retry(r) = &plan.items[2] else {
        panic!()
    };
    assert_eq!(r.count.node, 2);
    assert_eq!(r.delay.as_ref().map(|d| d.node.0.as_str()), Some("30s"));
    assert_eq!(r.backoff.as_ref().map(|b| b.node), Some(2.0));
    assert_eq!(at(text, r.span), "retry 2 delay 30s backoff 2");
    let StageItem::Route(route) = &plan.items[4] else {
        panic!()
    };
    assert!(matches!(&route.on.node, RouteOn::Status(s) if s.node == "BLOCKED"));
    assert_eq!(at(text, route.on.span), "status \"BLOCKED\"");
    assert!(matches!(&route.target, RouteTargetDecl::Stage(t) if t.node == "notify_blocked"));
    assert_eq!(
        at(text, route.span),
        "on status \"BLOCKED\" -> notify_blocked"
    );

    let implement = stage(f, "implement");
    let StageItem::Needs(needs) = &implement.items[0] else {
        panic!()
    };
    assert_eq!(
        needs.iter().map(|n| at(text, n.span)).collect::<Vec<_>>(),
        ["setup", "plan"]
    );
    let StageItem::Env(name, e) = &implement.items[2] else {
        panic!()
    };
    assert_eq!(name.node, "MODEL");
    assert_eq!(
        e.source,
        r#"if stages.plan.result.complexity == "XL" { "opus" } else { "sonnet" }"#
    );
    assert_eq!(at(text, e.span), e.source);
    let StageItem::Route(route) = &implement.items[4] else {
        panic!()
    };
    assert!(matches!(&route.on.node, RouteOn::Exit(c) if c.iter().map(|c| c.node).eq([3])));

    let unit = stage(f, "unit_test");
    let call = unit.template.as_ref().expect("template call");
    assert!(call.args.is_empty());
    assert_eq!(at(text, call.span), "std.test()");

    assert!(
        matches!(&stage(f, "fix_tests").items[1], StageItem::Max(ParamOr::Value(m)) if m.node == 3)
    );
    let verify = stage(f, "self_verify");
    // needs, outputs (the skill's review.md, F0116), route.
    assert_eq!(verify.items.len(), 3);
    let create = stage(f, "create_pr");
    assert!(matches!(&create.items[1], StageItem::Run(s) if s.node == "gh pr create --fill"));
    assert!(matches!(&create.items[2], StageItem::Timeout(t) if t.node.0 == "2m"));
    let blocked = stage(f, "notify_blocked");
    assert!(
        matches!(&blocked.items[1], StageItem::Run(s) if s.node == "std-issue comment \"$ISSUE\" < blocked.md")
    );
    assert!(matches!(&blocked.items[2], StageItem::EndsRun(n) if n.node == "blocked"));

    let cleanup = stage(f, "cleanup");
    assert!(cleanup.finally);
    assert!(
        matches!(&cleanup.items[1], StageItem::Run(s) if s.node == "rm -rf \"$FLOW_WORKSPACE/repo\"")
    );
    assert!(at(text, cleanup.span).starts_with("finally cleanup {"));
}

#[test]
fn poll_example() {
    let text = POLL;
    let file = ok(text);
    let f = flow(&file);
    let FlowItem::Param(p) = &f.items[1] else {
        panic!()
    };
    assert_eq!(p.ty.node, TypeName::ListStr);
    assert_eq!(at(text, p.ty.span), "list<str>");
    let Some(Literal::List(items)) = p.default.as_ref().map(|d| &d.node) else {
        panic!()
    };
    assert_eq!(
        items.iter().map(|i| at(text, i.span)).collect::<Vec<_>>(),
        ["\"ci\"", "\"flaky\""]
    );
    assert!(matches!(&f.items[2], FlowItem::Secret(s) if s.node == "GH_TOKEN"));
    assert!(
        matches!(&f.items[3], FlowItem::Env(n, e) if n.node == "API" && e.source == "\"https://api.github.com\"")
    );

    let wait = stage(f, "wait");
    assert!(matches!(&wait.items[1], StageItem::Grace(g) if g.node.0 == "5s"));
    assert!(
        matches!(&wait.items[2], StageItem::When(e) if e.source == r#"pr > 0 && env.CI != "false""#)
    );
    let StageItem::Route(again) = &wait.items[4] else {
        panic!()
    };
    assert!(matches!(&again.target, RouteTargetDecl::Again(d) if at(text, d.span()) == "2m"));
    let StageItem::Route(exits) = &wait.items[5] else {
        panic!()
    };
    let RouteOn::Exit(codes) = &exits.on.node else {
        panic!()
    };
    assert_eq!(codes.iter().map(|c| c.node).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(at(text, exits.on.span), "exit 2, 3");
    let StageItem::Route(t) = &wait.items[6] else {
        panic!()
    };
    assert_eq!(t.on.node, RouteOn::Timeout);
    assert!(
        matches!(&wait.items[7], StageItem::AllowFailure(s) if at(text, *s) == "allow_failure")
    );

    let report = stage(f, "report");
    assert!(matches!(&report.items[0], StageItem::Status(s) if s.node == "json"));
    let StageItem::Outputs(outs) = &report.items[1] else {
        panic!()
    };
    let outs: Vec<_> = outs.iter().map(|o| o.node.as_str()).collect();
    assert_eq!(outs, ["report file.txt", "logs/*.log", "../shared/x"]);
    let StageItem::Run(s) = &report.items[2] else {
        panic!()
    };
    assert_eq!(
        s.node,
        "# tab-indented script\necho \"done\" > 'report file.txt'"
    );
}

#[test]
fn library_example() {
    let text = MYLIB;
    let file = ok(text);
    assert!(file.flows.is_empty());
    let u = &file.uses[0];
    assert_eq!(
        u.path.as_ref().map(|p| p.node.as_str()),
        Some("../lib/mylib")
    );
    assert_eq!(at(text, u.alias.span), "mine");
    assert_eq!(at(text, u.span), "use \"../lib/mylib\" as mine");

    let t = &file.templates[0];
    assert_eq!(t.name.node, "agent");
    let params: Vec<_> = t
        .params
        .iter()
        .map(|p| (p.name.node.as_str(), p.ty.node.clone()))
        .collect();
    assert_eq!(
        params,
        [
            ("skill", TypeName::Skill),
            ("agent", TypeName::Str),
            ("tries", TypeName::Int),
            ("ratio", TypeName::Float),
            ("extra", TypeName::Str)
        ]
    );
    assert_eq!(at(text, t.params[1].span), "agent: str = \"claude\"");
    assert_eq!(
        t.params[2].default.as_ref().map(|d| &d.node),
        Some(&Literal::Int(-1))
    );
    assert_eq!(
        t.params[3].default.as_ref().map(|d| &d.node),
        Some(&Literal::Float(0.5))
    );
    assert_eq!(t.items.len(), 4);
    assert!(matches!(&t.items[3], StageItem::Run(s) if s.node == "\"$FLOW_LIB/bin/flow-agent\""));

    let shell = &file.templates[1];
    assert!(shell.params.is_empty());
    assert_eq!(shell.items.len(), 1);
}

#[test]
fn one_line_blocks() {
    let text = ONE_LINE;
    let file = ok(text);
    let f = flow(&file);
    let setup = stage(f, "setup");
    assert_eq!(setup.items.len(), 2);
    assert!(matches!(&setup.items[1], StageItem::Timeout(t) if t.node.0 == "1m"));
    let notify = stage(f, "notify");
    assert!(
        matches!(&notify.items[0], StageItem::Needs(n) if n.len() == 1 && n[0].node == "setup")
    );
    assert!(matches!(&notify.items[1], StageItem::Run(s) if s.node == "echo hi"));
    let local = stage(f, "local");
    assert!(local.items.is_empty());
    let call = local.template.as_ref().expect("call");
    assert_eq!(call.library, None);
    assert_eq!(call.name.node, "agent");
    let args: Vec<_> = call
        .args
        .iter()
        .map(|a| (a.name.node.as_str(), a.value.node.clone()))
        .collect();
    assert_eq!(
        args,
        [
            ("skill", Literal::Str("plan".into())),
            ("fast", Literal::Bool(true)),
            ("wait", Literal::Duration(DurationLit("30s".into())))
        ]
    );
}
