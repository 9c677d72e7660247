//! What rhai does with an operator or function for given kinds of
//! arguments, learnt by asking rhai: the call is evaluated once on sample
//! values of those kinds ([`Ty::sample`]) and the answer is cached. This
//! follows rhai's real rules (`"a" + 1` concatenates, `"a" - 1` has no
//! function) without restating them.
//!
//! The engine must be one whose registered functions have no side effects
//! (the checker's engine answers `runs()` from `NoRuns`).

use super::types::Ty;
use rhai::{Dynamic, Engine, EvalAltResult, Scope};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// What one call does for one combination of argument kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Answer {
    /// It exists and gave a value of this kind.
    Gives(Ty),
    /// It exists (it failed on the samples for another reason: the result
    /// is unknown).
    Exists,
    /// No function takes these kinds.
    Missing,
}

/// Answers, by (function, argument kinds).
type Cache = Mutex<HashMap<(String, Vec<Ty>), Answer>>;

/// True when `name` is an operator (`+`, `==`, `!`, `..`), not an identifier.
pub(super) fn is_operator(name: &str) -> bool {
    !name.is_empty() && !name.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// What calling `name` with arguments of the single kinds `args` does
/// (`name` an operator for 1 or 2 arguments, or a function name). None when
/// some argument has no sample (see [`Ty::sample`]).
pub(super) fn call(engine: &Engine, name: &str, args: &[Ty]) -> Option<Answer> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (name.to_string(), args.to_vec());
    if let Some(answer) = cache.lock().ok().and_then(|c| c.get(&key).copied()) {
        return Some(answer);
    }
    let samples: Option<Vec<Dynamic>> = args.iter().map(|t| t.sample()).collect();
    let samples = samples?;
    let names: Vec<String> = (0..args.len()).map(|i| format!("arg{i}")).collect();
    let script = match (is_operator(name), names.as_slice()) {
        (true, [a]) => format!("{name} {a}"),
        (true, [a, b]) => format!("{a} {name} {b}"),
        (true, _) => return None,
        (false, _) => format!("{name}({})", names.join(", ")),
    };
    let mut scope = Scope::new();
    for (n, v) in names.iter().zip(samples) {
        scope.push_dynamic(n.as_str(), v);
    }
    // Metered: the engine's operation budget bounds a function that loops.
    let result = super::budget::metered(|| engine.eval_with_scope::<Dynamic>(&mut scope, &script));
    let answer = match result {
        Ok(value) => Answer::Gives(Ty::of_value(&value)),
        Err(err) => match *err {
            EvalAltResult::ErrorFunctionNotFound(ref sig, _) if is_this_call(sig, name) => {
                Answer::Missing
            }
            _ => Answer::Exists,
        },
    };
    if let Ok(mut c) = cache.lock() {
        c.insert(key, answer);
    }
    Some(answer)
}

/// True when a "function not found" signature (`- (i64, ())`) is about the
/// called function itself, not one it called.
fn is_this_call(signature: &str, name: &str) -> bool {
    signature
        .strip_prefix(name)
        .is_some_and(|rest| rest.starts_with(" (") || rest.starts_with('('))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{engine, NoRuns};
    use std::sync::Arc;

    #[test]
    fn follows_rhai() {
        let e = engine(Arc::new(NoRuns));
        let gives = |t| Some(Answer::Gives(t));
        assert_eq!(call(&e, "+", &[Ty::STR, Ty::INT]), gives(Ty::STR));
        assert_eq!(call(&e, "+", &[Ty::INT, Ty::FLOAT]), gives(Ty::FLOAT));
        assert_eq!(call(&e, "-", &[Ty::STR, Ty::INT]), Some(Answer::Missing));
        assert_eq!(call(&e, "-", &[Ty::STR]), Some(Answer::Missing));
        assert_eq!(call(&e, "!", &[Ty::BOOL]), gives(Ty::BOOL));
        assert_eq!(call(&e, "==", &[Ty::INT, Ty::STR]), gives(Ty::BOOL));
        assert_eq!(call(&e, "contains", &[Ty::ARRAY, Ty::STR]), gives(Ty::BOOL));
        assert_eq!(call(&e, "len", &[Ty::INT]), Some(Answer::Missing));
        assert_eq!(call(&e, "trim", &[Ty::STR]), gives(Ty::UNIT));
        assert_eq!(call(&e, "runs", &[Ty::STR, Ty::STR]), gives(Ty::INT));
        assert_eq!(call(&e, "parse_int", &[Ty::STR]), gives(Ty::INT));
        assert_eq!(call(&e, "+", &[Ty::OTHER, Ty::INT]), None);
    }
}
