//! Expressions at run time and the environment of each attempt.
//!
//! [`Exprs`] evaluates the pipeline's rhai expressions (`skip if`, `let`,
//! `when`, `env`) through `flow_dsl::expr`, in a scope of params and lets
//! (by name), `run`, `stages` (snapshots the driver keeps) and `env` (the
//! environment of `flow run`).
//!
//! [`attempt_env`] builds the variables an attempt gets on top of the
//! inherited environment, later entries winning:
//! params and lets (names upper-cased), flow `env`, secrets, stage `env`
//! (template arguments included; a [`EnvValue::LibraryFile`] such as a
//! `skill` argument's `NAME_FILE` is made absolute against the stage's
//! library folder), then `FLOW_RUN_ID`, `FLOW_NONCE`, `FLOW_FLOW`,
//! `FLOW_STAGE`, `FLOW_ATTEMPT`, `FLOW_VISIT`, `FLOW_WORKSPACE`,
//! `FLOW_RUN_DIR`, `FLOW_USAGE_FILE`, and for template stages `FLOW_LIB`.

use flow_dsl::expr::{self, RunInfo, RunStore, StageSnapshot};
use flow_dsl::ir::{CompiledExpr, EnvValue, Pipeline, Stage};
use rhai::{Dynamic, Engine};
use std::path::Path;
use std::sync::Arc;

use crate::rundir::RunDir;

/// Evaluates a pipeline's expressions with a fixed engine, run info,
/// variables (params, then lets as they are evaluated) and process env.
pub struct Exprs {
    engine: Engine,
    run: RunInfo,
    variables: Vec<(String, Dynamic)>,
    /// Params and lets as exported text, names upper-cased.
    exported: Vec<(String, String)>,
    process_env: Vec<(String, String)>,
}

impl Exprs {
    /// An evaluator for a run; `runs()` is answered by `store`.
    pub fn new(store: Arc<dyn RunStore>, run: RunInfo) -> Exprs {
        Exprs {
            engine: expr::engine(store),
            run,
            variables: Vec::new(),
            exported: Vec::new(),
            process_env: std::env::vars().collect(),
        }
    }

    /// Adds a param value (visible to later expressions, exported as
    /// `$NAME`).
    pub fn add_param(&mut self, name: &str, value: &flow_dsl::ir::Value) {
        self.variables
            .push((name.to_string(), expr::to_dynamic(value)));
        self.exported.push((name.to_uppercase(), value.to_env()));
    }

    /// Evaluates a `let` and adds it like a param.
    pub fn add_let(&mut self, name: &str, e: &CompiledExpr) -> Result<(), String> {
        let value = expr::eval_dynamic(&self.engine, &e.ast, &mut self.scope(e, &[]))?;
        let text = flow_dsl::expr::dynamic_text(&value).ok_or_else(|| {
            format!(
                "`let {name}` must give text, a number, a bool or a list, not {}",
                value.type_name()
            )
        })?;
        self.variables.push((name.to_string(), value));
        self.exported.push((name.to_uppercase(), text));
        Ok(())
    }

    /// Params and lets as exported (`ISSUE=42`).
    pub fn exported(&self) -> &[(String, String)] {
        &self.exported
    }

    /// A condition (`skip if`, `when`).
    pub fn eval_bool(
        &self,
        e: &CompiledExpr,
        stages: &[(String, StageSnapshot)],
    ) -> Result<bool, String> {
        expr::eval_bool(&self.engine, &e.ast, &mut self.scope(e, stages))
    }

    /// A value exported as text (`env`).
    pub fn eval_string(
        &self,
        e: &CompiledExpr,
        stages: &[(String, StageSnapshot)],
    ) -> Result<String, String> {
        expr::eval_string(&self.engine, &e.ast, &mut self.scope(e, stages))
    }

    /// The scope of `e`: params and lets, then `e`'s own bindings (a
    /// template's parameters, which shadow them), `run`, `stages`, `env`.
    fn scope(&self, e: &CompiledExpr, stages: &[(String, StageSnapshot)]) -> rhai::Scope<'static> {
        let bindings = e
            .bindings
            .iter()
            .map(|(name, value)| (name.clone(), expr::to_dynamic(value)));
        expr::runtime_scope(
            self.variables.iter().cloned().chain(bindings),
            &self.run,
            stages.iter().cloned(),
            self.process_env.iter().cloned(),
        )
    }
}

/// Where an attempt runs, for its `FLOW_*` variables.
#[derive(Debug, Clone, Copy)]
pub struct AttemptPlace<'a> {
    /// The run's directory.
    pub run: &'a RunDir,
    /// 1-based visit.
    pub visit: u32,
    /// 1-based attempt.
    pub attempt: u32,
    /// The stage's library folder, for template stages.
    pub lib: Option<&'a Path>,
    /// Every library's folder, by index into `Pipeline::libraries` (for
    /// [`EnvValue::FileOf`]: a skill of another library).
    pub libs: &'a [std::path::PathBuf],
}

/// The variables of one attempt (see the module docs for the order).
/// `secrets` are `(name, value)`. An `env` expression that fails to evaluate
/// is an error naming the variable.
pub fn attempt_env(
    exprs: &Exprs,
    pipeline: &Pipeline,
    stage: &Stage,
    secrets: &[(String, String)],
    place: AttemptPlace<'_>,
    stages: &[(String, StageSnapshot)],
) -> Result<Vec<(String, String)>, String> {
    let mut env: Vec<(String, String)> = exprs.exported().to_vec();
    for (name, e) in &pipeline.env {
        let v = exprs
            .eval_string(e, stages)
            .map_err(|m| format!("flow env {name}: {m}"))?;
        env.push((name.clone(), v));
    }
    env.extend(secrets.iter().cloned());
    let path = |p: &Path| p.to_string_lossy().into_owned();
    for (name, value) in &stage.env {
        let v = match value {
            EnvValue::Literal(text) => text.clone(),
            EnvValue::LibraryFile(file) => match place.lib {
                Some(lib) => path(&lib.join(file)),
                None => {
                    return Err(format!(
                        "env {name}: `{file}` is a library file, but the stage has no library"
                    ))
                }
            },
            EnvValue::FileOf { library, file } => match place.libs.get(*library) {
                Some(lib) => path(&lib.join(file)),
                None => return Err(format!("env {name}: `{file}` names no library of the run")),
            },
            EnvValue::Expr(e) => exprs
                .eval_string(e, stages)
                .map_err(|m| format!("env {name}: {m}"))?,
        };
        env.push((name.clone(), v));
    }
    let run = place.run;
    env.extend([
        ("FLOW_RUN_ID".to_string(), run.id.clone()),
        ("FLOW_NONCE".to_string(), run.nonce.clone()),
        ("FLOW_FLOW".to_string(), pipeline.name.clone()),
        ("FLOW_STAGE".to_string(), stage.name.clone()),
        ("FLOW_ATTEMPT".to_string(), place.attempt.to_string()),
        ("FLOW_VISIT".to_string(), place.visit.to_string()),
        ("FLOW_WORKSPACE".to_string(), path(&run.workspace())),
        ("FLOW_RUN_DIR".to_string(), path(&run.root)),
        (
            "FLOW_USAGE_FILE".to_string(),
            path(&crate::rundir::usage_file(
                &run.root,
                &stage.name,
                place.visit,
                place.attempt,
            )),
        ),
        // Names only, never values: what a stage writes itself (std's
        // `conversation.md`) can mask the secrets it was given.
        ("FLOW_SECRET_NAMES".to_string(), secret_names(secrets)),
    ]);
    if let Some(lib) = place.lib {
        env.push(("FLOW_LIB".to_string(), path(lib)));
    }
    Ok(dedup_last_wins(env))
}

/// The names of the run's secrets, separated by spaces (`FLOW_SECRET_NAMES`).
fn secret_names(secrets: &[(String, String)]) -> String {
    let names: Vec<&str> = secrets.iter().map(|(n, _)| n.as_str()).collect();
    names.join(" ")
}

/// Keeps the last value of each name, in the order of first appearance.
fn dedup_last_wins(env: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(env.len());
    for (k, v) in env {
        match out.iter_mut().find(|(n, _)| *n == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled(src: &str) -> CompiledExpr {
        // A lenient engine: the real one rejects unknown variables at compile time.
        let ast = rhai::Engine::new().compile_expression(src).unwrap();
        CompiledExpr {
            source: src.into(),
            ast,
            bindings: Vec::new(),
        }
    }

    fn exprs() -> Exprs {
        let run = RunInfo {
            id: "RID".into(),
            nonce: "abc123".into(),
            flow: "f".into(),
        };
        let mut x = Exprs::new(Arc::new(expr::NoRuns), run);
        x.add_param("issue", &flow_dsl::ir::Value::Int(42));
        x.add_param(
            "tags",
            &flow_dsl::ir::Value::List(vec!["a".into(), "b".into()]),
        );
        x
    }

    #[test]
    fn lets_see_params_and_run_and_are_exported() {
        let mut x = exprs();
        x.add_let("branch", &compiled("`ai/${issue}-${run.nonce}`"))
            .unwrap();
        x.add_let("n", &compiled("tags.len() + issue")).unwrap();
        let ex = x.exported();
        assert!(ex.contains(&("ISSUE".into(), "42".into())));
        assert!(ex.contains(&("TAGS".into(), "a,b".into())));
        assert!(ex.contains(&("BRANCH".into(), "ai/42-abc123".into())));
        assert!(ex.contains(&("N".into(), "44".into())));
        assert!(x.add_let("bad", &compiled("#{a: 1}")).is_err());
    }

    #[test]
    fn conditions_see_stage_snapshots() {
        let x = exprs();
        let mut plan = StageSnapshot::pending();
        plan.outcome = "succeeded".into();
        plan.result = Some(serde_json::json!({"complexity": "XL"}));
        let stages = vec![("plan".to_string(), plan)];
        assert_eq!(
            x.eval_bool(
                &compiled("stages.plan.result.complexity == \"XL\""),
                &stages
            ),
            Ok(true)
        );
        assert!(
            x.eval_bool(&compiled("issue"), &stages).is_err(),
            "not a bool"
        );
        assert_eq!(
            x.eval_string(
                &compiled("if stages.plan.outcome == \"succeeded\" { \"opus\" } else { \"x\" }"),
                &stages
            ),
            Ok("opus".into())
        );
    }

    #[test]
    fn later_values_win() {
        let env = dedup_last_wins(vec![
            ("A".into(), "1".into()),
            ("B".into(), "2".into()),
            ("A".into(), "3".into()),
        ]);
        assert_eq!(
            env,
            vec![("A".to_string(), "3".to_string()), ("B".into(), "2".into())]
        );
    }
}
