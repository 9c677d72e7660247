//! Builtin stages: `run builtin "NAME"` runs an async Rust function that
//! the program embedding flow registered under NAME, instead of a script
//! (docs/language.md "Builtin stages", docs/embedding.md).
//!
//! A builtin runs as an attempt under the driver, like a script: the same
//! fresh attempt folder (the needs' outputs copied in), environment
//! (params, `let`s, `env`, secrets, `FLOW_*`), `timeout`, cancel, retries,
//! outputs, journal lines and live notices. What differs: no process (the
//! journal's `stage_started` has no pid), and it stops as a future does:
//! on a timeout or cancel its [`BuiltinContext::cancelled`] fires (as a
//! script gets SIGTERM), and after the stage's `grace` the future is
//! dropped (as a script gets SIGKILL).
//!
//! ```
//! use flow_runtime::builtin::{BuiltinContext, BuiltinError, BuiltinOutcome, Builtins};
//!
//! async fn fetch(ctx: BuiltinContext) -> Result<BuiltinOutcome, BuiltinError> {
//!     let issue = ctx.var("ISSUE").ok_or("no ISSUE")?;
//!     ctx.log(&format!("fetching issue {issue}"));
//!     std::fs::write(ctx.dir().join("issue.json"), "{}")?;
//!     Ok(BuiltinOutcome::success())
//! }
//!
//! let builtins = Builtins::new().with("fetch_issue", fetch);
//! assert!(builtins.get("fetch_issue").is_some());
//! ```

mod attempt;
mod context;

pub(crate) use attempt::{run_builtin, BuiltinSpec};

pub use context::BuiltinContext;

use flow_dsl::ir::Pipeline;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What a builtin's future resolves to.
pub type BuiltinResult = Result<BuiltinOutcome, BuiltinError>;

/// A builtin's future, boxed.
pub type BuiltinFuture = Pin<Box<dyn Future<Output = BuiltinResult> + Send + 'static>>;

/// A function that can be registered as a builtin: called once per
/// attempt with that attempt's [`BuiltinContext`]. Implemented for every
/// `Fn(BuiltinContext) -> impl Future<Output = BuiltinResult>` (an `async
/// fn` included) that is `Send + Sync + 'static`.
pub trait BuiltinFn: Send + Sync + 'static {
    /// Starts one attempt.
    fn call(&self, ctx: BuiltinContext) -> BuiltinFuture;
}

impl<F, Fut> BuiltinFn for F
where
    F: Fn(BuiltinContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = BuiltinResult> + Send + 'static,
{
    fn call(&self, ctx: BuiltinContext) -> BuiltinFuture {
        Box::pin(self(ctx))
    }
}

/// One builtin function, its type erased: the type of each field of the
/// `Builtins` struct that `flow_macros::include_flow!` generates.
#[derive(Clone)]
pub struct Builtin(Arc<dyn BuiltinFn>);

impl Builtin {
    /// Wraps `function`.
    pub fn new(function: impl BuiltinFn) -> Builtin {
        Builtin(Arc::new(function))
    }
}

impl fmt::Debug for Builtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Builtin")
    }
}

/// The builtins a program registers, by name (cheap to clone).
#[derive(Clone, Default)]
pub struct Builtins {
    by_name: BTreeMap<String, Arc<dyn BuiltinFn>>,
}

impl fmt::Debug for Builtins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.by_name.keys()).finish()
    }
}

impl Builtins {
    /// No builtins.
    pub fn new() -> Builtins {
        Builtins::default()
    }

    /// Registers `function` as `name` (replacing an earlier one of that
    /// name) and returns the set, for chaining.
    pub fn with(mut self, name: impl Into<String>, function: impl BuiltinFn) -> Builtins {
        self.register(name, function);
        self
    }

    /// Registers `function` as `name`, replacing an earlier one of that
    /// name.
    pub fn register(&mut self, name: impl Into<String>, function: impl BuiltinFn) -> &mut Self {
        self.by_name.insert(name.into(), Arc::new(function));
        self
    }

    /// Registers a wrapped function as `name` (see [`Builtin`]).
    pub fn insert(&mut self, name: impl Into<String>, function: Builtin) -> &mut Self {
        self.by_name.insert(name.into(), function.0);
        self
    }

    /// The function registered as `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn BuiltinFn>> {
        self.by_name.get(name).cloned()
    }

    /// The registered names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// The builtins `pipeline`'s stages run that are not registered here,
    /// sorted (empty when it can run).
    pub fn missing(&self, pipeline: &Pipeline) -> Vec<String> {
        pipeline
            .builtins()
            .into_iter()
            .filter(|name| !self.by_name.contains_key(*name))
            .map(str::to_string)
            .collect()
    }
}

/// A builtin that finished: its attempt exits 0, as a script that succeeds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuiltinOutcome {
    /// The status object of a stage with `status json` (what a script
    /// prints as its last JSON line): `status` routes, `usage` counts
    /// against `budget`, and it is saved as `result.json`. Ignored by a
    /// stage without `status json`, as a script's JSON output is.
    pub status: Option<Map<String, Value>>,
}

impl BuiltinOutcome {
    /// Success without a status object.
    pub fn success() -> BuiltinOutcome {
        BuiltinOutcome::default()
    }

    /// Success with a status object (for a stage with `status json`).
    pub fn with_status(status: Map<String, Value>) -> BuiltinOutcome {
        BuiltinOutcome {
            status: Some(status),
        }
    }
}

/// A builtin that failed: its attempt fails as a script that exits with
/// [`BuiltinError::exit_code`] (1 unless set), and the message is written to
/// the attempt's log and shown as its output line. The attempt is then
/// retried or routed like any failure (`on exit N` sees the code).
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltinError {
    message: String,
    exit_code: u8,
}

impl BuiltinError {
    /// A failure with `message`, exit code 1.
    pub fn new(message: impl fmt::Display) -> BuiltinError {
        BuiltinError {
            message: message.to_string(),
            exit_code: 1,
        }
    }

    /// The same failure with exit code `code` (for `on exit N` routes).
    /// 0 counts as 1: a failure never reads as success.
    pub fn with_exit_code(mut self, code: u8) -> BuiltinError {
        self.exit_code = code.max(1);
        self
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The exit code the attempt reports (1 to 255).
    pub fn exit_code(&self) -> u8 {
        self.exit_code
    }
}

impl fmt::Display for BuiltinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<std::io::Error> for BuiltinError {
    fn from(e: std::io::Error) -> BuiltinError {
        BuiltinError::new(e)
    }
}

impl From<String> for BuiltinError {
    fn from(message: String) -> BuiltinError {
        BuiltinError::new(message)
    }
}

impl From<&str> for BuiltinError {
    fn from(message: &str) -> BuiltinError {
        BuiltinError::new(message)
    }
}

impl From<serde_json::Error> for BuiltinError {
    fn from(e: serde_json::Error) -> BuiltinError {
        BuiltinError::new(e)
    }
}
