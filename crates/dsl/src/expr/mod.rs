//! Flow expressions: rhai, compiled and checked against what a flow declares,
//! then evaluated by the runtime.
//!
//! ```text
//! ast::Expr ──compile (syntax, variables, functions, stage refs)──▶ rhai::AST ──eval_*──▶ value
//! ```
//!
//! Every expression sees the flow's params and earlier lets by name, plus
//! [`GLOBALS`]: `run` (id, nonce, flow), `stages` (stage name → map of
//! [`STAGE_FIELDS`]) and `env` (the environment of `flow run`).
//!
//! ```
//! use flow_dsl::{ast, expr, SourceId, Span};
//! use std::sync::Arc;
//!
//! let engine = expr::engine(Arc::new(expr::NoRuns));
//! let src = "issue > 3";
//! let e = ast::Expr { source: src.into(), span: Span::new(0, src.len()) };
//! let vars = ["issue".to_string()];
//! let scope = expr::ExprScope { variables: &vars, stages: &[] };
//! let compiled = expr::compile(&engine, &e, &scope, SourceId(0)).unwrap();
//! let mut values = expr::placeholder_scope_with(&scope, &[("issue", 42_i64.into())]);
//! assert_eq!(expr::eval_bool(&engine, &compiled, &mut values), Ok(true));
//! ```

mod budget;
mod compile;
mod engine;
mod eval;
mod extent;
mod functions;
mod infer;
mod locate;
mod names;
mod probe;
mod suggest;
mod syntax;
mod types;
mod value;
mod walk;

#[cfg(test)]
mod infer_tests;
#[cfg(test)]
mod tests;

pub(crate) use compile::SCOPE_HELP;
pub use compile::{compile, compile_indexed};
pub use engine::{
    engine, NoRuns, RunStore, MAX_ARRAY_SIZE, MAX_CALL_LEVELS, MAX_EXPR_DEPTH, MAX_MAP_SIZE,
    MAX_OPERATIONS, MAX_STRING_SIZE,
};
pub use eval::{dynamic_text, eval_bool, eval_dynamic, eval_string};
pub use infer::{check_types, Want};
pub use names::{names, ExprName};
pub use types::Ty;
pub use value::{
    json_to_dynamic, placeholder_scope, placeholder_scope_with, runtime_scope, to_dynamic, RunInfo,
    StageSnapshot,
};

/// Fields of every entry of `stages` (see docs/language.md).
pub const STAGE_FIELDS: &[&str] = &[
    "outcome",
    "exit_code",
    "status",
    "result",
    "attempts",
    "visits",
    "duration",
];

/// Variables every expression sees besides params and lets.
pub const GLOBALS: &[&str] = &["run", "stages", "env"];

/// What an expression may refer to.
#[derive(Debug, Clone, Copy)]
pub struct ExprScope<'a> {
    /// Params and the lets declared before the expression, by name.
    pub variables: &'a [String],
    /// Every stage of the flow, by name.
    pub stages: &'a [String],
}
