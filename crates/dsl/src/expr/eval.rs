//! Evaluating compiled expressions at run time.

use super::budget::OVER_BUDGET;
use super::MAX_OPERATIONS;
use rhai::{Dynamic, Engine, EvalAltResult, Scope, AST};

/// Evaluates `ast` in `scope` to any value.
pub fn eval_dynamic(engine: &Engine, ast: &AST, scope: &mut Scope) -> Result<Dynamic, String> {
    super::budget::metered(|| engine.eval_ast_with_scope::<Dynamic>(scope, ast))
        .map_err(|e| describe(&e))
}

/// Evaluates a condition (`skip if`, `when`); anything but a bool is an
/// error, not "truthy".
pub fn eval_bool(engine: &Engine, ast: &AST, scope: &mut Scope) -> Result<bool, String> {
    let value = eval_dynamic(engine, ast, scope)?;
    value.as_bool().map_err(|_| {
        format!(
            "the condition must be true or false, but it gave {}",
            show(&value)
        )
    })
}

/// Evaluates a value exported as text (`env`, `let`): strings as they are,
/// ints, floats, bools and chars in their usual spelling, arrays of those
/// joined with `,` (as list params are). `()`, maps and other values are
/// errors.
pub fn eval_string(engine: &Engine, ast: &AST, scope: &mut Scope) -> Result<String, String> {
    let value = eval_dynamic(engine, ast, scope)?;
    dynamic_text(&value).ok_or_else(|| {
        format!(
            "the expression must give text, a number or a bool, but it gave {}",
            show(&value)
        )
    })
}

/// The text a value is exported as: a string, int, float, bool or char as
/// written; an array of those joined by `,` (as `list<str>` params are);
/// `None` for anything else (maps, `()`, nested arrays).
pub fn dynamic_text(value: &Dynamic) -> Option<String> {
    if let Some(text) = scalar_text(value) {
        return Some(text);
    }
    let items = value.clone().into_array().ok()?;
    let texts: Option<Vec<String>> = items.iter().map(scalar_text).collect();
    texts.map(|t| t.join(","))
}

/// The text of a string, int, float, bool or char.
fn scalar_text(value: &Dynamic) -> Option<String> {
    if let Ok(i) = value.as_int() {
        Some(i.to_string())
    } else if let Ok(x) = value.as_float() {
        Some(x.to_string())
    } else if let Ok(b) = value.as_bool() {
        Some(b.to_string())
    } else if let Ok(c) = value.as_char() {
        Some(c.to_string())
    } else if value.is_string() {
        value.clone().into_string().ok()
    } else {
        None
    }
}

/// "a string (\"abc\")", "() (no value)".
fn show(value: &Dynamic) -> String {
    if value.is_unit() {
        return "() (no value)".to_string();
    }
    let mut text = format!("{value:?}");
    if text.chars().count() > 60 {
        text = text.chars().take(57).collect::<String>() + "...";
    }
    format!("{} ({text})", value.type_name())
}

/// A runtime error in words a flow author knows.
fn describe(err: &EvalAltResult) -> String {
    if over_budget_in(err) {
        over_budget()
    } else {
        err.to_string()
    }
}

/// True when the operation limit stopped the evaluation, however deep in
/// closure calls (rhai wraps errors of nested calls).
fn over_budget_in(err: &EvalAltResult) -> bool {
    match err {
        EvalAltResult::ErrorTooManyOperations(_) => true,
        EvalAltResult::ErrorTerminated(token, _) => {
            token.clone().into_string().is_ok_and(|t| t == OVER_BUDGET)
        }
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => over_budget_in(inner),
        _ => false,
    }
}

/// The message for an evaluation stopped by the operation limit.
fn over_budget() -> String {
    format!("the expression took more than {MAX_OPERATIONS} operations and was stopped")
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use crate::{ast, ir, SourceId, Span};
    use std::sync::{Arc, Mutex};

    /// A store that answers from a table and records the questions.
    #[derive(Default)]
    struct Table {
        asked: Mutex<Vec<(String, String)>>,
    }

    impl RunStore for Table {
        fn count_runs(&self, flow: &str, state: &str) -> i64 {
            if let Ok(mut asked) = self.asked.lock() {
                asked.push((flow.into(), state.into()));
            }
            if (flow, state) == ("ai", "pending") {
                4
            } else {
                0
            }
        }
    }

    const VARS: &[&str] = &["issue", "budget", "labels", "ratio", "dry"];

    fn compiled(engine: &rhai::Engine, src: &str) -> rhai::AST {
        let e = ast::Expr {
            source: src.into(),
            span: Span::new(0, src.len()),
        };
        let vars: Vec<String> = VARS.iter().map(|s| s.to_string()).collect();
        let stages = vec!["plan".to_string(), "build".to_string()];
        let scope = ExprScope {
            variables: &vars,
            stages: &stages,
        };
        match compile(engine, &e, &scope, SourceId(0)) {
            Ok(ast) => ast,
            Err(d) => panic!("{src:?} does not compile: {d:?}"),
        }
    }

    fn real_scope() -> rhai::Scope<'static> {
        let vars = [
            ("issue", ir::Value::Int(42)),
            (
                "budget",
                ir::Value::Duration(std::time::Duration::from_secs(90)),
            ),
            ("labels", ir::Value::List(vec!["bug".into(), "ui".into()])),
            ("ratio", ir::Value::Float(0.5)),
            ("dry", ir::Value::Bool(false)),
        ];
        let plan = StageSnapshot {
            outcome: "succeeded".into(),
            exit_code: Some(0),
            status: Some("OK".into()),
            result: Some(
                serde_json::json!({"complexity": "XL", "files": [1, 2], "score": 0.25, "n": null}),
            ),
            attempts: 1,
            visits: 1,
            duration: 2.5,
        };
        let run = RunInfo {
            id: "20261121T025300Z-a1b2c3".into(),
            nonce: "a1b2c3".into(),
            flow: "ai".into(),
        };
        runtime_scope(
            vars.iter().map(|(n, v)| (n.to_string(), to_dynamic(v))),
            &run,
            [
                ("plan".to_string(), plan),
                ("build".to_string(), StageSnapshot::pending()),
            ],
            [("HOME".to_string(), "/home/me".to_string())],
        )
    }

    fn eval_b(engine: &rhai::Engine, src: &str) -> Result<bool, String> {
        eval_bool(engine, &compiled(engine, src), &mut real_scope())
    }

    fn eval_s(engine: &rhai::Engine, src: &str) -> Result<String, String> {
        eval_string(engine, &compiled(engine, src), &mut real_scope())
    }

    #[test]
    fn runs_asks_the_store() {
        let store = Arc::new(Table::default());
        let engine = engine(store.clone());
        assert_eq!(
            eval_b(&engine, "runs(run.flow, \"pending\") >= 3"),
            Ok(true)
        );
        assert_eq!(
            eval_b(&engine, "runs(\"other\", \"pending\") >= 3"),
            Ok(false)
        );
        let asked = store.asked.lock().map(|a| a.clone()).unwrap_or_default();
        assert_eq!(
            asked,
            [
                ("ai".to_string(), "pending".to_string()),
                ("other".into(), "pending".into())
            ]
        );
        let no_runs = super::super::engine(Arc::new(NoRuns));
        assert_eq!(eval_b(&no_runs, "runs(\"ai\", \"pending\") == 0"), Ok(true));
    }

    #[test]
    fn conditions_see_params_run_stages_and_env() {
        let e = engine(Arc::new(NoRuns));
        for src in [
            "issue == 42",
            "budget == 90",
            "labels.contains(\"ui\") && labels.len() == 2",
            "ratio < 1.0",
            "!dry",
            "run.nonce == \"a1b2c3\" && run.id.ends_with(run.nonce)",
            "stages.plan.result.complexity == \"XL\"",
            "stages.plan.result.files.len() == 2 && stages.plan.result.score == 0.25",
            "stages.plan.result.n == ()",
            "stages.plan.status == \"OK\" && stages.plan.exit_code == 0",
            "stages.plan.duration > 2.0 && stages.plan.attempts == 1 && stages.plan.visits == 1",
            "stages.build.outcome == \"pending\" && stages.build.exit_code == ()",
            "stages.build.result == ()",
            "env.HOME == \"/home/me\"",
            "env.NOT_SET == ()",
            "(env.NOT_SET ?? \"x\") == \"x\"",
        ] {
            assert_eq!(eval_b(&e, src), Ok(true), "{src}");
        }
    }

    #[test]
    fn a_non_bool_condition_is_an_error() {
        let e = engine(Arc::new(NoRuns));
        let err = eval_b(&e, "issue + 1").unwrap_err();
        assert!(err.contains("true or false") && err.contains("43"), "{err}");
        let err = eval_b(&e, "stages.plan.result.nothing").unwrap_err();
        assert!(err.contains("no value"), "{err}");
    }

    #[test]
    fn strings_are_made_from_scalars_and_lists() {
        let e = engine(Arc::new(NoRuns));
        assert_eq!(
            eval_s(&e, "`ai/${issue}-${run.nonce}`").as_deref(),
            Ok("ai/42-a1b2c3")
        );
        assert_eq!(eval_s(&e, "issue").as_deref(), Ok("42"));
        assert_eq!(eval_s(&e, "ratio").as_deref(), Ok("0.5"));
        assert_eq!(eval_s(&e, "3.0").as_deref(), Ok("3"));
        assert_eq!(eval_s(&e, "dry").as_deref(), Ok("false"));
        assert_eq!(eval_s(&e, "'c'").as_deref(), Ok("c"));
        assert_eq!(eval_s(&e, "labels").as_deref(), Ok("bug,ui"));
        assert!(eval_s(&e, "#{a: 1}").unwrap_err().contains("map"));
        assert!(eval_s(&e, "stages.build.status")
            .unwrap_err()
            .contains("no value"));
        assert!(eval_s(&e, "[#{}]").is_err());
    }

    #[test]
    fn runaway_expressions_are_stopped() {
        let e = engine(Arc::new(NoRuns));
        // The operation budget is what stops them (asserted by the error);
        // a wall-clock bound here only measured the machine's load.
        for src in [
            // Closures called by native functions count too (rhai alone
            // restarts the count in each closure call).
            "blob(90000, 1).to_array().map(|v| v + 1).len()",
            "blob(1000, 0).to_array().map(|a| blob(1000, 0).to_array().map(|b| b + a).len()).len()",
            "blob(50000, 1).to_array().reduce(|sum, v| sum + v, 0)",
        ] {
            let ast = compiled(&e, src);
            let err = eval_dynamic(&e, &ast, &mut real_scope()).unwrap_err();
            assert!(err.contains("100000 operations"), "{src}: {err}");
        }
        // Small work is fine, and the budget is per evaluation.
        for _ in 0..3 {
            let ast = compiled(&e, "blob(100, 2).to_array().reduce(|sum, v| sum + v, 0)");
            assert_eq!(
                eval_dynamic(&e, &ast, &mut real_scope()).map(|v| v.as_int()),
                Ok(Ok(200))
            );
        }
    }

    #[test]
    fn huge_values_are_refused() {
        let e = engine(Arc::new(NoRuns));
        let ast = compiled(&e, "\"x\".pad(100000000, \"y\")");
        assert!(eval_dynamic(&e, &ast, &mut real_scope()).is_err());
        let ast = compiled(&e, "range(0, 100000000).map(|v| v)");
        assert!(eval_dynamic(&e, &ast, &mut real_scope()).is_err());
    }

    #[test]
    fn runtime_errors_are_errors_not_panics() {
        let e = engine(Arc::new(NoRuns));
        for src in [
            "issue / 0",
            "labels[10]",
            "parse_int(\"x\")",
            "stages.build.result.x",
            "Fn(\"nope\").call()",
        ] {
            let ast = compiled(&e, src);
            assert!(eval_dynamic(&e, &ast, &mut real_scope()).is_err(), "{src}");
        }
    }

    #[test]
    fn placeholder_scope_has_the_real_shape() {
        let e = engine(Arc::new(NoRuns));
        let vars = vec!["issue".to_string()];
        let stages = vec!["plan".to_string()];
        let scope = ExprScope {
            variables: &vars,
            stages: &stages,
        };
        let check = |src: &str, mut s: rhai::Scope| {
            let ex = ast::Expr {
                source: src.into(),
                span: Span::new(0, src.len()),
            };
            let ast = compile(&e, &ex, &scope, SourceId(0)).map_err(|d| format!("{d:?}"))?;
            eval_bool(&e, &ast, &mut s)
        };
        let src =
            "issue == () && stages.plan.outcome == \"pending\" && run.id == \"\" && env.HOME == ()";
        assert_eq!(check(src, placeholder_scope(&scope)), Ok(true));
        let with = placeholder_scope_with(&scope, &[("issue", rhai::Dynamic::from_int(7))]);
        assert_eq!(check("issue == 7", with), Ok(true));
    }

    #[test]
    fn json_maps_onto_rhai_values() {
        let v = json_to_dynamic(
            &serde_json::json!({"a": [1, 2.5, "s", true, null], "big": 18446744073709551615u64}),
        );
        let m = v.cast::<rhai::Map>();
        let a = m["a"].clone().into_array().unwrap_or_default();
        assert_eq!(a[0].as_int(), Ok(1));
        assert_eq!(a[1].as_float(), Ok(2.5));
        assert_eq!(a[2].clone().into_string().as_deref(), Ok("s"));
        assert_eq!(a[3].as_bool(), Ok(true));
        assert!(a[4].is_unit());
        assert!(m["big"].is_float());
    }
}
