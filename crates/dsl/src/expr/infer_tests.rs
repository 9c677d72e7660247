//! Type checking of expressions ([`check_types`]): exact spans of F0026 and
//! F0027, and a long list of valid typed expressions that must stay clean.

use super::*;
use crate::ast;
use crate::diagnostic::Code;
use crate::span::{SourceId, Span};
use std::sync::Arc;

/// The typed variables every test expression sees (as params would be).
fn vars() -> Vec<(String, Ty)> {
    [
        ("issue", Ty::INT),
        ("title", Ty::STR),
        ("ratio", Ty::FLOAT),
        ("force", Ty::BOOL),
        ("labels", Ty::ARRAY),
        ("wait", Ty::of_param(crate::ir::ParamType::Duration)),
        ("repo", Ty::of_param(crate::ir::ParamType::Path)),
        ("anything", Ty::DYNAMIC),
    ]
    .iter()
    .map(|(n, t)| (n.to_string(), *t))
    .collect()
}

/// One diagnostic: code, the text under its primary span, message, and the
/// (text, message) of each secondary label.
type Found = (Code, String, String, Vec<(String, String)>);

/// The type and diagnostics of `expr`, written at its first occurrence in
/// `file`. Compile errors fail the test.
fn check_in(file: &str, expr: &str, want: Want) -> (Ty, Vec<Found>) {
    let start = file.find(expr).expect("expression is in the file");
    let e = ast::Expr {
        source: expr.to_string(),
        span: Span::new(start, start + expr.len()),
    };
    let typed = vars();
    let names: Vec<String> = typed.iter().map(|v| v.0.clone()).collect();
    let stages = vec!["plan".to_string(), "build".to_string()];
    let scope = ExprScope {
        variables: &names,
        stages: &stages,
    };
    let engine = engine(Arc::new(NoRuns));
    let ast = compile(&engine, &e, &scope, SourceId(0))
        .unwrap_or_else(|d| panic!("{expr:?} does not compile: {d:?}"));
    let (ty, diags) = check_types(&engine, &ast, &e, &typed, want, SourceId(0));
    let text = |s: Span| {
        assert!(s.start <= s.end && s.end <= file.len(), "{s:?} in {file:?}");
        file.get(s.start..s.end)
            .expect("char boundaries")
            .to_string()
    };
    let found = diags
        .iter()
        .map(|d| {
            assert_eq!(d.labels[0].span, d.span());
            let secondary = d.labels[1..]
                .iter()
                .map(|l| (text(l.span), l.message.clone()))
                .collect();
            (d.code, text(d.span()), d.message.clone(), secondary)
        })
        .collect();
    (ty, found)
}

fn check(expr: &str, want: Want) -> (Ty, Vec<Found>) {
    check_in(expr, expr, want)
}

/// The single diagnostic of `expr`: (code, text under the span, message).
fn one(expr: &str, want: Want) -> (Code, String, String) {
    let (_, found) = check(expr, want);
    assert_eq!(found.len(), 1, "{expr:?}: {found:?}");
    let (code, text, message, _) = found.into_iter().next().expect("one");
    (code, text, message)
}

fn owned(code: Code, text: &str, message: &str) -> (Code, String, String) {
    (code, text.to_string(), message.to_string())
}

#[test]
fn valid_typed_expressions_are_clean() {
    let any = [
        "issue + 1",
        "issue * 2 - 3",
        "issue / 2 + issue % 2",
        "issue + ratio",
        "ratio * 2",
        "title + issue",
        "issue + title",
        "\"#\" + issue",
        "title + \"-\" + issue + ratio + force",
        "`${title}-${issue}`",
        "wait + 60",
        "wait / 60 > 5",
        "issue == 1.0",
        "issue ** 2 + (issue << 1)",
        "title.len() > 0",
        "labels.contains(\"bug\")",
        "\"bug\" in labels",
        "\"a\" in title",
        "'a' in title",
        "\"bug\" !in labels",
        "labels.len() == 0",
        "labels[0] == \"x\"",
        "labels.map(|l| l.to_upper()).len()",
        "title.to_upper() == \"X\"",
        "title.sub_string(0, 2)",
        "sub_string(title, 1)",
        "parse_int(title) + issue",
        "issue.to_string() == title",
        "title[0] == 'a'",
        "'a' == title",
        "title < \"m\"",
        "title + 'c'",
        "if force { 1 } else { 2 }",
        "if issue > 3 { \"big\" } else { \"small\" }",
        "if issue > 3 { \"big\" }",
        "stages.plan.status == \"OK\"",
        "stages.plan.exit_code == 0",
        "(stages.plan.exit_code ?? 1) > 0",
        "stages.plan.exit_code + 1",
        "stages.plan.result?.complexity ?? \"S\"",
        "stages.plan.result.complexity == \"XL\"",
        "stages.plan.result.count + 1",
        "stages.plan.duration > 1.5",
        "stages.plan.duration / 60.0",
        "stages.plan.attempts + stages.plan.visits",
        "stages.plan.outcome == \"failed\"",
        "stages[\"plan\"].status == \"OK\"",
        "stages.plan[\"status\"] ?? \"\"",
        "env.HOME ?? \"/\"",
        "env.N + \"x\"",
        "env[\"N\"] + \"x\"",
        "parse_int(env.N ?? \"0\") > issue",
        "run.id + \"-\" + issue",
        "runs(run.flow, \"running\") < issue",
        "title == ()",
        "stages.plan.status == ()",
        "issue in [1, 2]",
        "[issue, title]",
        "#{a: issue}.a + 1",
        "switch issue { 1 => \"a\", _ => \"b\" }",
        "issue.max(3) + max(issue, 3)",
        "ratio.floor()",
        "issue.abs()",
        "title.split(\",\").len()",
        "labels + [\"x\"]",
        "force == true",
        "force != false",
        "anything + 1",
        "anything - title",
        "anything == 3",
        "-issue",
        "-ratio",
        "repo + \"/src\"",
        "repo.ends_with(\".git\")",
        "type_of(issue) == \"i64\"",
        "Fn(\"abs\").call(issue)",
        "(|v| v + 1).call(issue)",
        "title.trim()",
        "#{a: 1} + #{b: 2}",
        "1..issue",
        "(0..issue).contains(1)",
        "stages.plan.status + \"!\"",
    ];
    let conditions = [
        "force",
        "issue > 0",
        "!force",
        "force && issue > 3 || title == \"x\"",
        "stages.plan.status == \"OK\"",
        "stages.plan.result.ok",
        "stages.plan.result?.ok ?? false",
        "if force { true } else { issue > 1 }",
        "labels.contains(\"x\")",
        "env.CI == \"true\"",
        "anything",
        "title.is_empty()",
        "issue.is_even",
        "switch issue { 1 => true, _ => false }",
    ];
    let texts = [
        "issue",
        "title",
        "labels",
        "ratio",
        "force",
        "#{a: 1}.a",
        "stages.plan.result",
        "stages.plan.status",
        "stages.plan.exit_code",
        "env.HOME",
        "`${title}-${issue}`",
        "anything",
        "title.to_upper()",
    ];
    let cases = any
        .iter()
        .map(|e| (e, Want::Any))
        .chain(conditions.iter().map(|e| (e, Want::Bool("when"))))
        .chain(texts.iter().map(|e| (e, Want::Text("env X"))));
    let mut failures = Vec::new();
    for (expr, want) in cases {
        let (_, found) = check(expr, want);
        if !found.is_empty() {
            failures.push(format!("{expr:?}: {found:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "false errors:\n{}",
        failures.join("\n")
    );
}

#[test]
fn inferred_types() {
    let ty = |e| check(e, Want::Any).0;
    assert_eq!(ty("issue + 1"), Ty::INT);
    assert_eq!(ty("issue + 1.5"), Ty::FLOAT);
    assert_eq!(ty("title + issue"), Ty::STR);
    assert_eq!(ty("stages.plan.status"), Ty::STR.or(Ty::UNIT));
    assert_eq!(ty("stages.plan.status ?? \"\""), Ty::STR);
    assert_eq!(ty("if force { 1 } else { \"a\" }"), Ty::INT.or(Ty::STR));
    assert_eq!(ty("if force { 1 }"), Ty::INT.or(Ty::UNIT));
    assert_eq!(ty("title.len()"), Ty::INT);
    assert_eq!(ty("title[0]"), Ty::CHAR);
    assert_eq!(ty("run.nonce"), Ty::STR);
    assert_eq!(ty("env.HOME"), Ty::STR.or(Ty::UNIT));
    assert_eq!(ty("stages.plan.result.x"), Ty::DYNAMIC);
    assert_eq!(ty("issue == \"x\" || true"), Ty::BOOL);
}

#[test]
fn condition_that_is_not_a_bool() {
    let when = Want::Bool("when");
    assert_eq!(
        one("issue", when),
        owned(
            Code::NotBool,
            "issue",
            "`when` needs a bool, but this is an `int`"
        )
    );
    assert_eq!(
        one("stages.plan.status", Want::Bool("skip if")),
        owned(
            Code::NotBool,
            "stages.plan.status",
            "`skip if` needs a bool, but this is a `str` or `()`"
        )
    );
    assert_eq!(
        one("title.len()", when).2,
        "`when` needs a bool, but this is an `int`"
    );
    assert_eq!(one("if force { 1 } else { 2 }", when).0, Code::NotBool);
    assert_eq!(
        one("issue && force", Want::Any),
        owned(
            Code::NotBool,
            "issue",
            "`&&` needs a bool, but this is an `int`"
        )
    );
    assert_eq!(
        one("force || labels", Want::Any),
        owned(
            Code::NotBool,
            "labels",
            "`||` needs a bool, but this is an `array`"
        )
    );
    assert_eq!(
        one("!title", Want::Any),
        owned(
            Code::NotBool,
            "title",
            "`!` needs a bool, but this is a `str`"
        )
    );
    assert_eq!(
        one("if issue { 1 } else { 2 }", Want::Any),
        owned(
            Code::NotBool,
            "issue",
            "`if` needs a bool, but this is an `int`"
        )
    );
}

#[test]
fn operator_between_incompatible_types() {
    let (_, found) = check("issue - title", Want::Any);
    assert_eq!(
        found,
        [(
            Code::TypeClash,
            "-".to_string(),
            "`-` cannot be applied to an `int` and a `str`".to_string(),
            vec![
                ("issue".to_string(), "this is an `int`".to_string()),
                ("title".to_string(), "this is a `str`".to_string()),
            ]
        )]
    );
    let (_, found) = check("title.len() * \"x\" > 2", Want::Any);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, "*");
    assert_eq!(
        found[0].3,
        [
            ("title.len()".to_string(), "this is an `int`".to_string()),
            ("\"x\"".to_string(), "this is a `str`".to_string()),
        ]
    );
    assert_eq!(
        one("force + 1", Want::Any),
        owned(
            Code::TypeClash,
            "+",
            "`+` cannot be applied to a `bool` and an `int`"
        )
    );
    assert_eq!(
        one("stages.plan.status - 1", Want::Any),
        owned(
            Code::TypeClash,
            "-",
            "`-` cannot be applied to a `str` or `()` and an `int`"
        )
    );
    assert_eq!(
        one("-title", Want::Any),
        owned(Code::TypeClash, "-", "`-` cannot be applied to a `str`")
    );
    assert_eq!(
        one("title in issue", Want::Any),
        owned(
            Code::TypeClash,
            "in",
            "`in` cannot be applied to a `str` and an `int`"
        )
    );
    // One mistake, one diagnostic: what uses a failed value is not reported.
    let (_, found) = check("(issue - title) * 2 > title", Want::Bool("when"));
    assert_eq!(found.len(), 1, "{found:?}");
}

#[test]
fn comparison_that_is_always_false() {
    assert_eq!(
        one("issue == \"42\"", Want::Any),
        owned(
            Code::TypeClash,
            "==",
            "`==` between an `int` and a `str` is always false"
        )
    );
    assert_eq!(
        one("title != 3", Want::Any),
        owned(
            Code::TypeClash,
            "!=",
            "`!=` between a `str` and an `int` is always true"
        )
    );
    assert_eq!(one("labels == \"bug\"", Want::Any).1, "==");
    assert_eq!(one("force > 1", Want::Any).1, ">");
}

#[test]
fn call_with_argument_types_no_function_takes() {
    assert_eq!(
        one("sub_string(issue, 1)", Want::Any),
        owned(
            Code::TypeClash,
            "sub_string",
            "`sub_string` cannot be called with (`int`, `int`)"
        )
    );
    assert_eq!(
        one("issue.len() > 1", Want::Any),
        owned(
            Code::TypeClash,
            "len",
            "`len()` cannot be called on an `int`"
        )
    );
    assert_eq!(
        one("title.contains(issue)", Want::Any),
        owned(
            Code::TypeClash,
            "contains",
            "`contains` cannot be called on a `str` with (`int`)"
        )
    );
}

#[test]
fn exported_value_that_cannot_be_text() {
    assert_eq!(
        one("#{a: issue}", Want::Text("env DATA")),
        owned(
            Code::TypeClash,
            "#{a: issue}",
            "`env DATA` must give text, a number, a bool or a list, but this is a `map`"
        )
    );
    assert_eq!(
        one("title.trim()", Want::Text("let t")).2,
        "`let t` must give text, a number, a bool or a list, but this is `()`"
    );
}

#[test]
fn spans_inside_unicode_and_multiline_files() {
    let file = "when \"日本\" == title &&\r\n  issue - title == \"é\" // x";
    let expr = "\"日本\" == title &&\r\n  issue - title == \"é\"";
    let (_, found) = check_in(file, expr, Want::Bool("when"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, "-");
    assert_eq!(found[0].3[0].0, "issue");
    assert_eq!(found[0].3[1].0, "title");
}

#[test]
fn blocks_that_declare_variables_claim_nothing() {
    // Statement blocks are rare in expressions; what they bind is unknown.
    let e = ast::Expr {
        source: "issue - title".into(),
        span: Span::new(0, 13),
    };
    let engine = engine(Arc::new(NoRuns));
    let ast = engine
        .compile("let title = 1; title - 1")
        .expect("compiles");
    let (ty, found) = check_types(&engine, &ast, &e, &vars(), Want::Bool("when"), SourceId(0));
    assert_eq!((ty, found.len()), (Ty::DYNAMIC, 0));
}

#[test]
fn never_panics_on_odd_typed_expressions() {
    let alphabet: Vec<&str> = vec![
        "issue",
        "title",
        "ratio",
        "force",
        "labels",
        "wait",
        "anything",
        " + ",
        " - ",
        " * ",
        " == ",
        " < ",
        " && ",
        " || ",
        " ?? ",
        "!",
        "(",
        ")",
        "1",
        "1.5",
        "\"é\"",
        "'c'",
        "[",
        "]",
        ".len()",
        ".to_upper()",
        "stages.plan.status",
        "env.X",
        "run.id",
        " in ",
        "#{a: 1}",
        "if force { 1 } else { \"x\" }",
        "()",
        "-",
    ];
    let typed = vars();
    let names: Vec<String> = typed.iter().map(|v| v.0.clone()).collect();
    let stages = vec!["plan".to_string()];
    let scope = ExprScope {
        variables: &names,
        stages: &stages,
    };
    let engine = engine(Arc::new(NoRuns));
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut checked = 0;
    for _ in 0..1_500 {
        let len = 1 + (seed % 7) as usize;
        let mut s = String::new();
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            s.push_str(alphabet[(seed % alphabet.len() as u64) as usize]);
        }
        let file = format!("when {s} # x");
        let e = ast::Expr {
            source: s.clone(),
            span: Span::new(5, 5 + s.len()),
        };
        let Ok(ast) = compile(&engine, &e, &scope, SourceId(0)) else {
            continue;
        };
        checked += 1;
        for want in [Want::Any, Want::Bool("when"), Want::Text("env X")] {
            let (_, diags) = check_types(&engine, &ast, &e, &typed, want, SourceId(0));
            for d in diags {
                for l in &d.labels {
                    assert!(
                        file.get(l.span.start..l.span.end).is_some() && l.span.start <= l.span.end,
                        "{s:?}: {:?}",
                        l.span
                    );
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} inputs compiled");
}
