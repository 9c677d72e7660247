//! What functions an engine can call, by name and number of arguments, so a
//! misspelt or mis-called function is a compile-time diagnostic (rhai itself
//! only notices at run time).

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// Upper bound standing for "any number of arguments".
const ANY: usize = usize::MAX;

/// rhai keywords that parse as function calls but are not registered
/// functions, with the argument counts they accept (receiver included).
const KEYWORD_FNS: &[(&str, usize, usize)] = &[
    ("type_of", 1, 1),
    ("Fn", 1, 1),
    ("call", 1, ANY),
    ("curry", 1, ANY),
    ("is_shared", 1, 1),
    ("is_def_var", 1, 1),
    ("is_def_fn", 2, 3),
    ("print", 0, 1),
    ("debug", 0, 1),
];

/// Functions that exist in rhai but not in flow expressions, with why.
pub(super) const FORBIDDEN: &[(&str, &str)] = &[(
    "sleep",
    "it would block the runner; use a route with `again after D` to wait",
)];

/// Name → accepted argument counts (receiver included for methods).
type Arities = BTreeMap<String, BTreeSet<usize>>;

/// Every callable function of an engine.
pub(super) struct KnownFunctions<'e> {
    /// The standard packages' functions: shared by every engine, collected
    /// once per process and borrowed (cloning them per expression cost a
    /// fifth of `flow check` on a large flow).
    standard: &'static Arities,
    /// The engine whose own registrations these are.
    engine: &'e rhai::Engine,
    /// The engine's own registrations (`runs`, the overridden `sleep` …),
    /// collected at the first call looked up: most expressions call no
    /// function by name, and collecting them for each cost 1% of `flow check`.
    own: OnceCell<Arities>,
}

/// The functions of `engine` callable by name, with or without the standard
/// packages.
fn collect(engine: &rhai::Engine, standard: bool) -> Arities {
    let mut arities = Arities::new();
    let found = engine.collect_fn_metadata(
        None,
        |info| {
            // Getters/setters/indexers (`get$len`) and operators are not
            // called by name.
            let name = info.metadata.name.as_str();
            let is_ident = name.chars().all(|c| c.is_alphanumeric() || c == '_');
            (info.namespace.is_empty() && is_ident && !name.is_empty())
                .then(|| (name.to_string(), info.metadata.num_params))
        },
        standard,
    );
    for (name, n) in found {
        arities.entry(name).or_default().insert(n);
    }
    arities
}

/// The verdict on one call.
pub(super) enum Verdict {
    /// The call is fine.
    Ok,
    /// No function has this name.
    UnknownName,
    /// The name exists, not with this many arguments: the accepted counts
    /// (`ANY` as the upper end of a range).
    WrongArity(Vec<(usize, usize)>),
    /// The function exists in rhai but is disabled here, because of the text.
    Forbidden(&'static str),
}

impl<'e> KnownFunctions<'e> {
    /// Collects the functions `engine` knows: registered ones (`runs`), the
    /// standard packages, and keyword functions.
    ///
    /// The standard packages are the same in every `Engine::new()`, so they
    /// are collected once per process (it takes about a millisecond); only
    /// the engine's own registrations are collected when first needed.
    pub(super) fn of(engine: &'e rhai::Engine) -> Self {
        static STANDARD: OnceLock<Arities> = OnceLock::new();
        KnownFunctions {
            standard: STANDARD.get_or_init(|| collect(&rhai::Engine::new(), true)),
            engine,
            own: OnceCell::new(),
        }
    }

    /// The engine's own registrations.
    fn own(&self) -> &Arities {
        self.own.get_or_init(|| collect(self.engine, false))
    }

    /// Judges a call of `name` with `args` arguments (receiver included).
    pub(super) fn check(&self, name: &str, args: usize) -> Verdict {
        if let Some((_, why)) = FORBIDDEN.iter().find(|(n, _)| *n == name) {
            return Verdict::Forbidden(why);
        }
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        for set in [self.standard.get(name), self.own().get(name)]
            .into_iter()
            .flatten()
        {
            ranges.extend(set.iter().map(|&n| (n, n)));
        }
        ranges.extend(
            KEYWORD_FNS
                .iter()
                .filter(|k| k.0 == name)
                .map(|k| (k.1, k.2)),
        );
        if ranges.is_empty() {
            Verdict::UnknownName
        } else if ranges.iter().any(|&(lo, hi)| lo <= args && args <= hi) {
            Verdict::Ok
        } else {
            ranges.sort_unstable();
            ranges.dedup();
            Verdict::WrongArity(ranges)
        }
    }

    /// Every callable name (for suggestions).
    pub(super) fn names(&self) -> impl Iterator<Item = &str> {
        let forbidden = |n: &&str| !FORBIDDEN.iter().any(|f| f.0 == *n);
        let own = self
            .own()
            .keys()
            .filter(|n| !self.standard.contains_key(*n));
        self.standard
            .keys()
            .chain(own)
            .map(String::as_str)
            .chain(KEYWORD_FNS.iter().map(|k| k.0))
            .filter(forbidden)
    }
}

/// "takes 1 or 2 arguments", with `shift` subtracted from every count (1 for
/// method calls, whose receiver is not written between the parentheses).
pub(super) fn describe_arity(ranges: &[(usize, usize)], shift: usize) -> String {
    let mut counts: Vec<String> = Vec::new();
    let mut plural = false;
    for &(lo, hi) in ranges {
        // A method call always has its receiver, so zero-argument functions
        // cannot be methods; skip them rather than underflow.
        let Some(lo) = lo.checked_sub(shift) else {
            continue;
        };
        if hi == ANY {
            counts.push(format!("{lo} or more"));
            plural = true;
        } else {
            let hi = hi - shift;
            if lo == hi {
                counts.push(lo.to_string());
                plural |= lo != 1;
            } else {
                counts.push(format!("{lo} to {hi}"));
                plural = true;
            }
        }
    }
    let joined = match counts.as_slice() {
        [] => return "cannot be called this way".to_string(),
        [one] if one == "0" => return "takes no arguments".to_string(),
        [one] => one.clone(),
        [init @ .., last] => {
            plural = true;
            format!("{} or {last}", init.join(", "))
        }
    };
    format!("takes {joined} argument{}", if plural { "s" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arity_reads_naturally() {
        assert_eq!(describe_arity(&[(1, 1)], 0), "takes 1 argument");
        assert_eq!(describe_arity(&[(1, 1)], 1), "takes no arguments");
        assert_eq!(
            describe_arity(&[(2, 2), (3, 3)], 1),
            "takes 1 or 2 arguments"
        );
        assert_eq!(
            describe_arity(&[(0, 0), (1, 1), (2, 2)], 0),
            "takes 0, 1 or 2 arguments"
        );
        assert_eq!(describe_arity(&[(1, ANY)], 0), "takes 1 or more arguments");
        assert_eq!(describe_arity(&[(0, 0)], 1), "cannot be called this way");
    }

    #[test]
    fn knows_std_and_flow_functions() {
        let engine = super::super::engine(std::sync::Arc::new(super::super::NoRuns));
        let known = KnownFunctions::of(&engine);
        assert!(matches!(known.check("runs", 2), Verdict::Ok));
        assert!(matches!(known.check("runs", 1), Verdict::WrongArity(_)));
        assert!(matches!(known.check("sub_string", 3), Verdict::Ok));
        assert!(matches!(known.check("type_of", 1), Verdict::Ok));
        assert!(matches!(known.check("call", 5), Verdict::Ok));
        assert!(matches!(known.check("rnus", 2), Verdict::UnknownName));
        assert!(matches!(known.check("sleep", 1), Verdict::Forbidden(_)));
        assert!(!known
            .names()
            .any(|n| n.contains('$') || n == "+" || n == "sleep"));
    }
}
