//! Compile-time diagnostics of expressions, with exact spans.

use super::*;
use crate::ast;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::{SourceId, Span};
use std::sync::Arc;

const VARS: &[&str] = &["x", "s", "a", "b", "issue", "list"];
const STAGES: &[&str] = &["plan", "implement"];

/// Compiles `expr`, the first occurrence of it in `file`.
fn compile_in(file: &str, expr: &str) -> Result<rhai::AST, Vec<Diagnostic>> {
    let start = file.find(expr).expect("expression is in the file");
    let e = ast::Expr {
        source: expr.to_string(),
        span: Span::new(start, start + expr.len()),
    };
    let vars: Vec<String> = VARS.iter().map(|s| s.to_string()).collect();
    let stages: Vec<String> = STAGES.iter().map(|s| s.to_string()).collect();
    let scope = ExprScope {
        variables: &vars,
        stages: &stages,
    };
    let engine = engine(Arc::new(NoRuns));
    let ast = compile(&engine, &e, &scope, SourceId(0))?;
    // Untyped variables: the type checker must find nothing to report in
    // any expression that compiles.
    let typed: Vec<(String, Ty)> = vars.iter().map(|v| (v.clone(), Ty::DYNAMIC)).collect();
    let (_, diags) = check_types(&engine, &ast, &e, &typed, Want::Any, SourceId(0));
    if diags.is_empty() {
        Ok(ast)
    } else {
        Err(diags)
    }
}

/// (code, the file text under the primary span, message, help) of each
/// diagnostic of `expr` written in `file`.
fn diags_in(file: &str, expr: &str) -> Vec<(Code, String, String, String)> {
    let diags = compile_in(file, expr).expect_err("expected diagnostics");
    diags
        .iter()
        .map(|d| {
            let s = d.span();
            assert!(
                s.start <= s.end && s.end <= file.len(),
                "{s:?} out of {file:?}"
            );
            let text = file
                .get(s.start..s.end)
                .expect("span on char boundaries")
                .to_string();
            (
                d.code,
                text,
                d.message.clone(),
                d.help.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// Like [`diags_in`] with the expression as the whole file.
fn diags(expr: &str) -> Vec<(Code, String, String, String)> {
    diags_in(expr, expr)
}

#[test]
fn ordinary_expressions_compile_clean() {
    let ok = [
        "x.len()",
        "len(s)",
        "s.contains(\"a\")",
        "s.to_upper()",
        "s.to_lower() == \"x\"",
        "a + 1 > b",
        "-a + 1 >= b * 2 - 3 / 4 % 5",
        "!a && (b || x) ",
        "a != b",
        "if a { 1 } else { 2 }",
        "if a { 1 } else if b { 2 } else { 3 }",
        "switch x { 1 => \"one\", _ => \"many\" }",
        "`ai/${issue}-${run.nonce}`",
        "`${run.id} ${run.flow}`",
        "runs(\"f\", \"pending\") >= 3",
        "runs(run.flow, \"running\") == 0",
        "stages.plan.result.complexity == \"XL\"",
        "stages.plan.status == \"OK\" && stages.implement.outcome == \"succeeded\"",
        "stages.plan.exit_code == 0 || stages.plan.attempts > 2 || stages.plan.visits < 3",
        "stages.plan.duration > 1.5",
        "stages[\"plan\"].status",
        "stages.plan[\"result\"]",
        "stages.len()",
        "stages.keys().len() > 0",
        "[1, 2].contains(2)",
        "2 in [1, 2]",
        "\"x\" in list",
        "\"x\" in s",
        "\"k\" in #{k: 1}",
        "x.sub_string(0, 3)",
        "x.sub_string(1)",
        "parse_int(\"3\")",
        "parse_float(\"3.5\") > 1.0",
        "env.HOME",
        "env[\"HOME\"] ?? \"/\"",
        "abs(-1)",
        "x.abs()",
        "x ?? 3",
        "#{a: 1}.a",
        "#{a: #{b: [1, 2]}}.a.b[0]",
        "x.starts_with(\"a\")",
        "x.ends_with(\"a\")",
        "to_string(3)",
        "3.to_string()",
        "s.split(\",\")",
        "s.split(\",\").len() == 2",
        "x.trim()",
        "s.replace(\"a\", \"b\")",
        "s.index_of(\"a\") >= 0",
        "s.pad(10, \" \")",
        "type_of(x) == \"string\"",
        "x.type_of()",
        "is_def_var(\"x\")",
        "Fn(\"abs\").call(-1)",
        "(|v| v + 1).call(2)",
        "[1, 2, 3].map(|v| v * 2).filter(|v| v > 2).len()",
        "[1, 2, 3].reduce(|sum, v| sum + v, 0)",
        "list.map(|v| v.to_upper()).contains(\"A\")",
        "(1..10).contains(3)",
        "range(0, 3).len()",
        "max(a, b) + min(a, b)",
        "x.is_empty()",
        "list.len() > 0 && list[0] == \"a\"",
        "list[-1]",
        "s[0] == 'a'",
        "x.to_int() + 1",
        "x.to_float()",
        "to_json(#{a: 1})",
        "parse_json(\"{}\")",
        "\"a\" + 1 + 2.5 + true",
        "s.chars().len()",
        "s.bytes",
        "s.len",
        "x.is_even",
        "(a)",
        "()",
        "true",
        "42",
        "\"multi\" +\n  \"line\"",
        "print(x)",
        "debug(x)",
        "x.to_debug()",
        "timestamp()",
        "curry(Fn(\"max\"), 1).call(2)",
        "is_def_fn(\"abs\", 1)",
        "'c'.to_string()",
        "x.sort()",
        "[3, 1].sort()",
        "x.round()",
        "(x * 1.5).floor()",
        "sqrt(2.0) < 2.0",
        "issue.to_string().len() <= 6",
        "`${issue}`.len()",
        "\"é€😀\".len() == 3",
        "stages.plan.result?.complexity ?? \"S\"",
        "stages?.plan?.result?[\"k\"]",
        "\"x\" !in list",
        "!(a && b)",
        "a in [\"x\", \"y\"]",
        "s.split(\",\").map(|v| v + a).len()",
        "parse_int(env.N ?? \"0\") > 1",
        "env[\"PATH\"].split(\":\")",
        "stages.plan.result.items.filter(|i| i.done).len()",
        "s.index_of('a')",
        "s.contains('a')",
        "s.sub_string(1, 2).to_upper()",
        "(stages.plan.duration / 60.0).round()",
        "switch x { 1..3 => true, _ => false }",
        "x.max(3)",
        "s.get(0)",
        "list.sort_by(|p, q| p.len() - q.len())",
        "x.as_string()",
        "x == ()",
        "type_of(x) == \"()\"",
        "x.bytes()",
        "s.chars().len()",
        "s.to_chars()[0]",
        "#{a: 1}.keys().len() + #{a: 1}.values().len()",
        "x.is_odd",
        "2 ** 3 == 8",
        "(1 << 2) | 1 & 3 ^ 2",
        "x.int",
        "int(2.5)",
        "to_float(1)",
        "to_int(2.5)",
        "x.to_hex()",
        "list.filter(|v| v.starts_with(\"b\")).is_empty()",
        "list.index_of(\"a\") != -1",
        "list.some(|v| v == \"a\") && list.all(|v| v != \"\")",
        "list.dedup()",
        "list.reverse()",
        "list + [\"c\"]",
        "list.find(|v| v == \"a\") ?? \"none\"",
        "#{a: 1} + #{b: 2}",
        "s.trim().len() > 0",
        "x.call(1)",
        "a.curry(1)",
    ];
    let mut failures = Vec::new();
    for expr in ok {
        if let Err(ds) = compile_in(expr, expr) {
            failures.push(format!(
                "{expr:?}: {:?}",
                ds.iter().map(|d| &d.message).collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "false errors:\n{}",
        failures.join("\n")
    );
}

#[test]
fn syntax_error_points_at_the_problem() {
    let d = diags("a ==");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].0, Code::ExprSyntax);
    assert_eq!(
        d[0].1, "=",
        "points at the last character of an incomplete expression"
    );
    assert!(d[0].2.contains("ends too early"), "{}", d[0].2);

    let d = diags("a = 1");
    assert_eq!((d[0].0, d[0].1.as_str()), (Code::ExprSyntax, "="));
    assert!(d[0].3.contains("=="), "help suggests ==: {}", d[0].3);

    let d = diags("a ? 1 : 2");
    assert_eq!((d[0].0, d[0].1.as_str()), (Code::ExprSyntax, "?"));
    assert!(d[0].3.contains("if"), "{}", d[0].3);

    let d = diags("let y = 1");
    assert_eq!((d[0].0, d[0].1.as_str()), (Code::ExprSyntax, "let"));

    let d = diags("loop { }");
    assert_eq!((d[0].0, d[0].1.as_str()), (Code::ExprSyntax, "loop"));

    let d = diags("3 ++ 4");
    assert_eq!((d[0].0, d[0].1.as_str()), (Code::ExprSyntax, "++"));

    let d = diags("\"abc");
    assert_eq!((d[0].0, d[0].1.as_str()), (Code::ExprSyntax, "\""));
    assert!(d[0].2.contains("unterminated"), "{}", d[0].2);

    let d = diags("eval(\"1\")");
    assert_eq!((d[0].0, d[0].1.as_str()), (Code::ExprSyntax, "eval"));

    let d = diags("m::abs(1)");
    assert_eq!((d[0].0, d[0].1.as_str()), (Code::ExprSyntax, "m"));
}

#[test]
fn syntax_error_on_second_line_of_a_mid_line_expression() {
    let file = "flow f {\n  skip if \"é€\" == issue && (a +\n      b\n}\n";
    let expr = "\"é€\" == issue && (a +\n      b";
    let d = diags_in(file, expr);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].0, Code::ExprSyntax);
    assert_eq!(
        d[0].1, "b",
        "the missing `)` is reported at the end: {:?}",
        d[0]
    );
    assert!(d[0].2.contains("`)`"), "{}", d[0].2);
}

#[test]
fn empty_expression_is_a_syntax_error() {
    let d = diags_in("when   ", "  ");
    assert_eq!(d[0].0, Code::ExprSyntax);
    assert!(d[0].2.contains("empty"));
}

#[test]
fn unknown_variable_has_its_span_and_a_suggestion() {
    let d = diags("isue > 3");
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].0, d[0].1.as_str()), (Code::UnknownVariable, "isue"));
    assert_eq!(d[0].2, "unknown variable `isue`");
    assert_eq!(d[0].3, "did you mean `issue`?");

    let d = diags("stagse.plan");
    assert_eq!(d[0].3, "did you mean `stages`?");

    let d = diags("zzzzzz");
    assert!(d[0].3.contains("param"), "{}", d[0].3);

    let d = diags("plan.status");
    assert_eq!(
        d[0].3,
        "stages are read through `stages`: write `stages.plan`"
    );

    let d = diags("HOME + \"/x\"");
    assert_eq!(
        d[0].3,
        "environment variables are read through `env`: write `env.HOME`"
    );
}

#[test]
fn every_unknown_variable_is_reported() {
    let d = diags("foo + bar * foo + `${baz}`");
    let found: Vec<(Code, &str)> = d.iter().map(|d| (d.0, d.1.as_str())).collect();
    assert_eq!(
        found,
        [
            (Code::UnknownVariable, "foo"),
            (Code::UnknownVariable, "bar"),
            (Code::UnknownVariable, "baz")
        ]
    );
}

#[test]
fn unknown_variable_after_unicode_on_a_later_line() {
    let file = "stage x {\n  when \"日本\" == s\n    && isue == \"€\"\n}";
    let expr = "\"日本\" == s\n    && isue == \"€\"";
    let d = diags_in(file, expr);
    assert_eq!((d[0].0, d[0].1.as_str()), (Code::UnknownVariable, "isue"));

    // Same line: character columns, not byte columns.
    let file = "  let y = \"日本語\" + isue";
    let d = diags_in(file, "\"日本語\" + isue");
    assert_eq!(d[0].1, "isue");
}

#[test]
fn windows_line_endings_keep_spans_right() {
    let file = "when a +\r\n\t  isue\r\n";
    let d = diags_in(file, "a +\r\n\t  isue");
    assert_eq!((d[0].0, d[0].1.as_str()), (Code::UnknownVariable, "isue"));
}

#[test]
fn unknown_variable_inside_a_closure() {
    let d = diags("[1].map(|v| v + zz)");
    assert_eq!((d[0].0, d[0].1.as_str()), (Code::UnknownVariable, "zz"));
}

#[test]
fn unknown_function_has_its_span_and_a_suggestion() {
    let file = "flow f {\n  skip if rnus(\"ai\", \"pending\") > 3\n}";
    let d = diags_in(file, "rnus(\"ai\", \"pending\") > 3");
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].0, d[0].1.as_str()), (Code::UnknownFunction, "rnus"));
    assert_eq!(d[0].2, "unknown function `rnus`");
    assert_eq!(d[0].3, "did you mean `runs`?");

    let d = diags("x.lenn()");
    assert_eq!((d[0].0, d[0].1.as_str()), (Code::UnknownFunction, "lenn"));
    assert_eq!(d[0].3, "did you mean `len`?");

    let d = diags("frobnicate_all_the_things()");
    assert!(d[0].3.contains("runs(flow, state)"), "{}", d[0].3);
}

#[test]
fn wrong_number_of_arguments_is_reported() {
    let d = diags("abs(1, 2)");
    assert_eq!((d[0].0, d[0].1.as_str()), (Code::UnknownFunction, "abs"));
    assert_eq!(d[0].2, "`abs(…)` takes 1 argument, not 2");

    let d = diags("runs(\"f\")");
    assert_eq!(d[0].2, "`runs(…)` takes 2 arguments, not 1");

    let d = diags("x.sub_string(0, 1, 2)");
    assert_eq!(
        (d[0].0, d[0].1.as_str()),
        (Code::UnknownFunction, "sub_string")
    );
    assert_eq!(d[0].2, "`x.sub_string(…)` takes 1 or 2 arguments, not 3");

    let d = diags("x.len(1)");
    assert_eq!(d[0].2, "`x.len(…)` takes no arguments, not 1");
}

#[test]
fn unknown_functions_inside_closures_and_interpolation() {
    let d = diags("[1].map(|v| frob(v)) + `${nope()}`");
    let found: Vec<&str> = d.iter().map(|d| d.1.as_str()).collect();
    assert_eq!(found, ["frob", "nope"]);
}

#[test]
fn sleep_is_refused() {
    let d = diags("sleep(10)");
    assert_eq!((d[0].0, d[0].1.as_str()), (Code::UnknownFunction, "sleep"));
    assert!(d[0].2.contains("not available"));
}

#[test]
fn unknown_stage_has_its_span_and_a_suggestion() {
    let file = "stage b {\n  when stages.plna.status == \"OK\"\n}";
    let d = diags_in(file, "stages.plna.status == \"OK\"");
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].0, d[0].1.as_str()), (Code::UnknownStageRef, "plna"));
    assert_eq!(d[0].2, "unknown stage `plna`");
    assert_eq!(d[0].3, "did you mean `plan`?");

    let d = diags("stages.zzzzz");
    assert_eq!(d[0].3, "the stages of this flow are `plan` or `implement`");

    let d = diags("stages[\"plna\"].status");
    assert_eq!((d[0].0, d[0].1.as_str()), (Code::UnknownStageRef, "plna"));
}

#[test]
fn unknown_stage_field_has_its_span() {
    let d = diags("stages.plan.stauts == \"OK\"");
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].0, d[0].1.as_str()), (Code::UnknownStageRef, "stauts"));
    assert_eq!(d[0].2, "stages have no field `stauts`");
    assert_eq!(d[0].3, "did you mean `status`?");

    let d = diags("stages[\"plan\"][\"reslt\"]");
    assert_eq!((d[0].0, d[0].1.as_str()), (Code::UnknownStageRef, "reslt"));

    let d = diags("stages.plan.zzzzzzz");
    assert!(d[0].3.contains("outcome"), "{}", d[0].3);
}

#[test]
fn stage_refs_inside_unicode_multiline_expressions() {
    let file = "flow f {\n  stage c {\n    when \"€\" != s ||\n      stages.implemnt.outcome == \"failed\"\n  }\n}";
    let expr = "\"€\" != s ||\n      stages.implemnt.outcome == \"failed\"";
    let d = diags_in(file, expr);
    assert_eq!(
        (d[0].0, d[0].1.as_str()),
        (Code::UnknownStageRef, "implemnt")
    );
    assert_eq!(d[0].3, "did you mean `implement`?");
}

#[test]
fn all_kinds_are_reported_together_in_source_order() {
    let d = diags("rnus(isue) && stages.plna.status == \"x\" && stages.plan.stat");
    let found: Vec<(Code, &str)> = d.iter().map(|d| (d.0, d.1.as_str())).collect();
    assert_eq!(
        found,
        [
            (Code::UnknownFunction, "rnus"),
            (Code::UnknownVariable, "isue"),
            (Code::UnknownStageRef, "plna"),
            (Code::UnknownStageRef, "stat"),
        ]
    );
}

#[test]
fn never_panics_and_spans_stay_in_the_file() {
    let mut inputs: Vec<String> = [
        "",
        " ",
        "\n",
        "\"",
        "`",
        "`${",
        "`${x",
        "#{",
        "#{a:",
        "[",
        "(",
        ")",
        "]",
        "}",
        "..",
        "é",
        "日本",
        "😀 +",
        "x.",
        "x..",
        ".x",
        "stages.",
        "stages[",
        "stages[\"",
        "stages[1]",
        "stages.plan.",
        "stages.plan[",
        "|",
        "|x|",
        "||",
        "\\",
        "'",
        "'ab'",
        "0x",
        "1e",
        "1.2.3",
        "\u{0}",
        "\r\n",
        "a\r\nb",
        "\t\tx +",
        "x ?? ",
        "fn",
        "import",
        "this",
        "global::x",
        "Fn(",
        "x.call(",
        "stages.plan.result.",
        "\"é\" + ",
        "switch",
        "if",
        "if x {",
        "while",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    inputs.push("(".repeat(10_000));
    inputs.push("[".repeat(500) + "]".repeat(500).as_str());
    inputs.push("-".repeat(5_000) + "1");
    inputs.push("x.".repeat(2_000) + "len()");
    inputs.push("é".repeat(1_000) + " isue");
    // A cheap pseudo-random mix of the characters that matter.
    let alphabet: Vec<char> = "ax. ([{}])\"`$é😀\n+-=!?|#:,;'\\0123stages"
        .chars()
        .collect();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..400 {
        let len = (seed % 24) as usize;
        let mut s = String::new();
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            s.push(alphabet[(seed % alphabet.len() as u64) as usize]);
        }
        inputs.push(s);
    }
    for input in inputs {
        let file = format!("when {input} // trailing");
        if let Err(ds) = compile_in(&file, &input) {
            assert!(!ds.is_empty());
            for d in ds {
                let s = d.span();
                assert!(s.end <= file.len() && s.start <= s.end, "{input:?}: {s:?}");
                assert!(
                    file.get(s.start..s.end).is_some(),
                    "{input:?}: {s:?} splits a char"
                );
            }
        }
    }
}
