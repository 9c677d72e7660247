//! Each item kind on its own, with its spans.

use super::{at, flow, ok, stage_body};
use crate::ast::*;

#[test]
fn needs_run_and_settings() {
    let items =
        stage_body("needs a-b, c\nrun \"echo \\$HOME \\\\ \\t\"\ntimeout 10x\ngrace 5s\nmax -1");
    assert!(matches!(&items[0], StageItem::Needs(n) if n[0].node == "a-b" && n[1].node == "c"));
    assert!(matches!(&items[1], StageItem::Run(s) if s.node == "echo $HOME \\ \t"));
    // Durations are kept as written; the checker validates them.
    assert!(matches!(&items[2], StageItem::Timeout(t) if t.node.0 == "10x"));
    assert!(matches!(&items[3], StageItem::Grace(t) if t.node.0 == "5s"));
    assert!(matches!(&items[4], StageItem::Max(ParamOr::Value(m)) if m.node == -1));
}

#[test]
fn retry_forms() {
    let items = stage_body("retry 3\nretry 1 delay 1m\nretry 2 backoff 1.5");
    let StageItem::Retry(r) = &items[0] else {
        panic!()
    };
    assert_eq!(
        (r.count.node, r.delay.is_none(), r.backoff.is_none()),
        (3, true, true)
    );
    let StageItem::Retry(r) = &items[1] else {
        panic!()
    };
    assert_eq!(r.delay.as_ref().map(|d| d.node.0.as_str()), Some("1m"));
    let StageItem::Retry(r) = &items[2] else {
        panic!()
    };
    assert_eq!(
        (r.delay.is_none(), r.backoff.as_ref().map(|b| b.node)),
        (true, Some(1.5))
    );
}

#[test]
fn routes() {
    let items = stage_body(
        "on success -> b\non failure->c\non timeout -> d\non exit 2, 3 -> e\non status \"BLOCKED\" -> f\non exit 10 -> again after 2m",
    );
    let routes: Vec<_> = items
        .iter()
        .map(|i| match i {
            StageItem::Route(r) => r,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(routes[0].on.node, RouteOn::Success);
    assert_eq!(routes[1].on.node, RouteOn::Failure);
    assert!(matches!(&routes[1].target, RouteTargetDecl::Stage(s) if s.node == "c"));
    assert_eq!(routes[2].on.node, RouteOn::Timeout);
    assert!(matches!(&routes[3].on.node, RouteOn::Exit(c) if c.len() == 2 && c[1].node == 3));
    assert!(matches!(&routes[4].on.node, RouteOn::Status(s) if s.node == "BLOCKED"));
    assert!(
        matches!(&routes[5].target, RouteTargetDecl::Again(ParamOr::Value(d)) if d.node.0 == "2m")
    );
}

#[test]
fn status_allow_failure_ends_run() {
    let items = stage_body("status json allow_failure ends run blocked");
    assert!(matches!(&items[0], StageItem::Status(s) if s.node == "json"));
    assert!(matches!(&items[1], StageItem::AllowFailure(_)));
    assert!(matches!(&items[2], StageItem::EndsRun(n) if n.node == "blocked"));
}

#[test]
fn outputs_paths_and_strings() {
    let items = stage_body("outputs issue.md, dir/*.txt, ../x, \"a b.txt\", /abs # comment");
    let StageItem::Outputs(outs) = &items[0] else {
        panic!()
    };
    let outs: Vec<_> = outs.iter().map(|o| o.node.as_str()).collect();
    assert_eq!(outs, ["issue.md", "dir/*.txt", "../x", "a b.txt", "/abs"]);
}

#[test]
fn raw_run_block_keeps_script_bytes() {
    let body = "run \"\"\"\n      echo \"$VAR\" 'single' \\\n        back\\slash\n\n      done  \n    \"\"\"";
    let items = stage_body(body);
    let StageItem::Run(s) = &items[0] else {
        panic!()
    };
    assert_eq!(s.node, "echo \"$VAR\" 'single' \\\n  back\\slash\n\ndone  ");
}

#[test]
fn param_types_and_literals() {
    let text = "flow f {\n param a: int = -3\n param b: float = 1.5\n param c: bool = false\n param d: duration = 1h30m\n param e: list<str> = []\n param f: list < str >\n param g: strange\n param h: path\n}";
    let file = ok(text);
    let params: Vec<&ParamDecl> = flow(&file)
        .items
        .iter()
        .map(|i| match i {
            FlowItem::Param(p) => p,
            other => panic!("{other:?}"),
        })
        .collect();
    let defaults: Vec<_> = params
        .iter()
        .map(|p| p.default.as_ref().map(|d| d.node.clone()))
        .collect();
    assert_eq!(
        defaults,
        [
            Some(Literal::Int(-3)),
            Some(Literal::Float(1.5)),
            Some(Literal::Bool(false)),
            Some(Literal::Duration(DurationLit("1h30m".into()))),
            Some(Literal::List(vec![])),
            None,
            None,
            None
        ]
    );
    assert_eq!(params[5].ty.node, TypeName::ListStr);
    assert_eq!(at(text, params[5].ty.span), "list < str >");
    assert_eq!(params[6].ty.node, TypeName::Other("strange".into()));
    assert_eq!(at(text, params[6].ty.span), "strange");
    assert_eq!(params[7].ty.node, TypeName::Path);
    assert_eq!(
        at(
            text,
            params[0]
                .default
                .as_ref()
                .map(|d| d.span)
                .unwrap_or_default()
        ),
        "-3"
    );
}

#[test]
fn description_may_be_a_raw_block_and_use_forms() {
    let text =
        "use std\nuse \"./lib\" as lib\nflow f { description \"\"\"\n  long\n  text\n\"\"\" }";
    let file = ok(text);
    assert_eq!(file.uses.len(), 2);
    assert_eq!(file.uses[1].alias.node, "lib");
    assert!(matches!(&flow(&file).items[0], FlowItem::Description(d) if d.node == "long\ntext"));
}

#[test]
fn keywords_can_be_names() {
    // No reserved words: a stage may be called `run`, a need may name it.
    let text =
        "flow f { stage run { run \"x\" } stage b { needs run run \"y\" on success -> stage } }";
    let file = ok(text);
    assert_eq!(flow(&file).items.len(), 2);
}

#[test]
fn empty_flow_and_empty_file() {
    assert!(flow(&ok("flow f {}")).items.is_empty());
    let file = ok("  # only a comment\n\n");
    assert!(file.flows.is_empty() && file.uses.is_empty() && file.templates.is_empty());
}

#[test]
fn shell_optional_outputs_and_backoff_exponents() {
    let items = stage_body(
        "shell \"sh -eu\"\noptional outputs a.log, \"b c.txt\", out/*\nretry 1 backoff 1e1\noutputs x",
    );
    assert!(matches!(&items[0], StageItem::Shell(s) if s.node == "sh -eu"));
    let StageItem::OptionalOutputs(o) = &items[1] else {
        panic!("{:?}", items[1])
    };
    let names: Vec<&str> = o.iter().map(|p| p.node.as_str()).collect();
    assert_eq!(names, ["a.log", "b c.txt", "out/*"]);
    assert!(
        matches!(&items[2], StageItem::Retry(r) if r.backoff.as_ref().map(|b| b.node) == Some(10.0))
    );
    assert!(matches!(&items[3], StageItem::Outputs(o) if o[0].node == "x"));
    assert_eq!(items[1].keyword(), "optional outputs");
    let text = "flow f {\n  shell \"python3\"\n  stage a { run \"print(1)\" }\n}\n";
    let file = ok(text);
    let FlowItem::Shell(s) = &flow(&file).items[0] else {
        panic!()
    };
    assert_eq!(
        (s.node.as_str(), at(text, s.span)),
        ("python3", "\"python3\"")
    );
}
