//! The one rhai [`Engine`] configuration used to compile and evaluate every
//! flow expression: strict variables, hard limits, no modules, and `runs()`.

use rhai::{Engine, OptimizationLevel};
use std::sync::Arc;

/// Answers `runs(flow, state)`: how many runs of `flow` the run store holds in
/// `state` (`"running"`, `"pending"`, `"succeeded"`, `"failed"`).
pub trait RunStore: Send + Sync {
    /// Number of runs of `flow` in `state`.
    fn count_runs(&self, flow: &str, state: &str) -> i64;
}

/// A run store that knows no runs: every count is 0. Used by the checker,
/// which compiles expressions but never evaluates `runs()` for real.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRuns;

impl RunStore for NoRuns {
    fn count_runs(&self, _flow: &str, _state: &str) -> i64 {
        0
    }
}

/// Operation budget of one evaluation (see docs/language.md).
pub const MAX_OPERATIONS: u64 = 100_000;
/// Longest string an expression may build, in bytes.
pub const MAX_STRING_SIZE: usize = 1 << 20;
/// Largest array an expression may build.
pub const MAX_ARRAY_SIZE: usize = 100_000;
/// Largest object map an expression may build.
pub const MAX_MAP_SIZE: usize = 100_000;
/// Deepest nesting of function calls (closures calling closures).
pub const MAX_CALL_LEVELS: usize = 32;
/// Deepest nesting of an expression; also bounds the parser's recursion, so a
/// pathological input is a syntax error instead of a stack overflow.
pub const MAX_EXPR_DEPTH: usize = 64;

/// The engine for flow expressions, with `runs(flow, state)` answered by
/// `store`.
///
/// Optimisation is off: the checker walks the AST as written (an optimiser
/// could drop a dead branch holding a misspelt stage name), and expressions
/// are far too small for it to matter at run time. `eval` is disabled
/// because it would compile code the checker never saw; `import` fails
/// because no module resolver is installed; `print`/`debug` are silenced so
/// an expression cannot write to the runner's terminal.
pub fn engine(store: Arc<dyn RunStore>) -> Engine {
    let mut engine = Engine::new();
    engine
        .set_strict_variables(true)
        .set_optimization_level(OptimizationLevel::None)
        .set_max_operations(MAX_OPERATIONS)
        .set_max_string_size(MAX_STRING_SIZE)
        .set_max_array_size(MAX_ARRAY_SIZE)
        .set_max_map_size(MAX_MAP_SIZE)
        .set_max_call_levels(MAX_CALL_LEVELS)
        .set_max_expr_depths(MAX_EXPR_DEPTH, MAX_EXPR_DEPTH)
        .set_max_modules(0)
        .set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new())
        .disable_symbol("eval")
        .on_progress(|_| super::budget::tick(MAX_OPERATIONS))
        .on_print(|_| {})
        .on_debug(|_, _, _| {});
    engine.register_fn("runs", move |flow: &str, state: &str| {
        store.count_runs(flow, state)
    });
    // `sleep` would block a runner thread; `flow check` reports it, and
    // these overrides (registered functions win over packages) refuse it.
    engine.register_fn(
        "sleep",
        |_: rhai::INT| -> Result<(), Box<rhai::EvalAltResult>> {
            Err("`sleep` is not available in flow expressions".into())
        },
    );
    engine.register_fn(
        "sleep",
        |_: rhai::FLOAT| -> Result<(), Box<rhai::EvalAltResult>> {
            Err("`sleep` is not available in flow expressions".into())
        },
    );
    engine
}

/// [`engine`] without strict variables, for reading an expression's names
/// (an editor's index) where an unknown variable is no error.
pub(super) fn reader() -> Engine {
    let mut engine = engine(Arc::new(NoRuns));
    engine.set_strict_variables(false);
    engine
}
