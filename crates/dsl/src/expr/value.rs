//! Values as rhai sees them, and the scopes expressions are evaluated in.

use super::ExprScope;
use crate::ir;
use rhai::{Array, Dynamic, Map, Scope, FLOAT, INT};

/// A flow value as rhai sees it: int → INT, float → FLOAT, bool, str/path →
/// string, duration → INT seconds, `list<str>` → array of strings.
pub fn to_dynamic(v: &ir::Value) -> Dynamic {
    match v {
        ir::Value::Int(i) => Dynamic::from_int(*i as INT),
        ir::Value::Float(x) => Dynamic::from_float(*x as FLOAT),
        ir::Value::Bool(b) => Dynamic::from_bool(*b),
        ir::Value::Str(s) => Dynamic::from(s.clone()),
        ir::Value::Duration(d) => Dynamic::from_int(d.as_secs().min(INT::MAX as u64) as INT),
        ir::Value::List(l) => Dynamic::from_array(l.iter().cloned().map(Dynamic::from).collect()),
    }
}

/// JSON as rhai sees it: null → `()`, numbers → INT when they fit, else
/// FLOAT, arrays → arrays, objects → object maps.
pub fn json_to_dynamic(v: &serde_json::Value) -> Dynamic {
    use serde_json::Value as J;
    match v {
        J::Null => Dynamic::UNIT,
        J::Bool(b) => Dynamic::from_bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or(FLOAT::NAN)),
        },
        J::String(s) => Dynamic::from(s.clone()),
        J::Array(a) => Dynamic::from_array(a.iter().map(json_to_dynamic).collect::<Array>()),
        J::Object(o) => Dynamic::from_map(
            o.iter()
                .map(|(k, v)| (k.as_str().into(), json_to_dynamic(v)))
                .collect::<Map>(),
        ),
    }
}

/// The `run` variable's fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunInfo {
    /// The run id (`20261121T025300Z-a1b2c3`).
    pub id: String,
    /// The run's nonce (`a1b2c3`).
    pub nonce: String,
    /// The flow's name.
    pub flow: String,
}

impl RunInfo {
    /// `#{id, nonce, flow}`.
    pub fn to_dynamic(&self) -> Dynamic {
        let mut m = Map::new();
        m.insert("id".into(), self.id.clone().into());
        m.insert("nonce".into(), self.nonce.clone().into());
        m.insert("flow".into(), self.flow.clone().into());
        Dynamic::from_map(m)
    }
}

/// What an expression sees of one stage as `stages.NAME` (the fields of
/// [`super::STAGE_FIELDS`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StageSnapshot {
    /// `"pending"`, `"running"`, `"succeeded"`, `"failed"` or `"skipped"`.
    pub outcome: String,
    /// The last attempt's exit code; `()` when none exited.
    pub exit_code: Option<i64>,
    /// `status` of a `status json` stage; `()` otherwise.
    pub status: Option<String>,
    /// The parsed `result.json`; `()` when absent.
    pub result: Option<serde_json::Value>,
    /// Attempts so far (of the latest visit).
    pub attempts: i64,
    /// Visits so far.
    pub visits: i64,
    /// Seconds spent so far.
    pub duration: f64,
}

impl StageSnapshot {
    /// A stage that has not started.
    pub fn pending() -> Self {
        StageSnapshot {
            outcome: "pending".into(),
            exit_code: None,
            status: None,
            result: None,
            attempts: 0,
            visits: 0,
            duration: 0.0,
        }
    }

    /// The object map an expression sees.
    pub fn to_dynamic(&self) -> Dynamic {
        let opt = |v: Option<Dynamic>| v.unwrap_or(Dynamic::UNIT);
        let mut m = Map::new();
        m.insert("outcome".into(), self.outcome.clone().into());
        m.insert(
            "exit_code".into(),
            opt(self.exit_code.map(Dynamic::from_int)),
        );
        m.insert("status".into(), opt(self.status.clone().map(Dynamic::from)));
        m.insert(
            "result".into(),
            opt(self.result.as_ref().map(json_to_dynamic)),
        );
        m.insert("attempts".into(), Dynamic::from_int(self.attempts));
        m.insert("visits".into(), Dynamic::from_int(self.visits));
        m.insert("duration".into(), Dynamic::from_float(self.duration));
        Dynamic::from_map(m)
    }
}

/// The scope an expression is evaluated in: `run`, `stages`, `env`, then
/// `variables` (params and lets, in order; a later one shadows).
pub fn runtime_scope<'s>(
    variables: impl IntoIterator<Item = (String, Dynamic)>,
    run: &RunInfo,
    stages: impl IntoIterator<Item = (String, StageSnapshot)>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Scope<'s> {
    let stages: Map = stages
        .into_iter()
        .map(|(n, s)| (n.into(), s.to_dynamic()))
        .collect();
    let env: Map = env.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    let mut scope = Scope::new();
    scope.push_dynamic("run", run.to_dynamic());
    scope.push_dynamic("stages", Dynamic::from_map(stages));
    scope.push_dynamic("env", Dynamic::from_map(env));
    for (name, value) in variables {
        scope.push_dynamic(name, value);
    }
    scope
}

/// A scope with the shape of the real one: `run` with empty strings, every
/// stage pending, an empty `env`, every variable `()`.
pub fn placeholder_scope(scope: &ExprScope) -> Scope<'static> {
    placeholder_scope_with(scope, &[])
}

/// Like [`placeholder_scope`], with `values` for some variables (by name);
/// the others are `()`.
pub fn placeholder_scope_with(scope: &ExprScope, values: &[(&str, Dynamic)]) -> Scope<'static> {
    let vars = scope.variables.iter().map(|name| {
        let value = values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone());
        (name.clone(), value.unwrap_or(Dynamic::UNIT))
    });
    let stages = scope
        .stages
        .iter()
        .map(|s| (s.clone(), StageSnapshot::pending()));
    runtime_scope(vars, &RunInfo::default(), stages, std::iter::empty())
}
