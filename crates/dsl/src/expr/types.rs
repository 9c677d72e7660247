//! The types the checker tracks for expression values: a set of rhai value
//! kinds. A set, because some values have one of several kinds
//! (`stages.X.status` is a string or `()`); [`Ty::DYNAMIC`] (every kind) is
//! "unknown" and never leads to a diagnostic.

use crate::ir::ParamType;
use rhai::Dynamic;

/// The kinds an expression's value may have when its evaluation succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ty(u16);

/// Every kind, with its name (as flow authors read it) and article.
const KINDS: &[(Ty, &str, &str)] = &[
    (Ty::INT, "int", "an"),
    (Ty::FLOAT, "float", "a"),
    (Ty::BOOL, "bool", "a"),
    (Ty::STR, "str", "a"),
    (Ty::CHAR, "char", "a"),
    (Ty::ARRAY, "array", "an"),
    (Ty::MAP, "map", "a"),
    (Ty::UNIT, "()", ""),
    (Ty::OTHER, "other value", "an"),
];

impl Ty {
    /// No value: the evaluation never succeeds (already reported).
    pub const NEVER: Ty = Ty(0);
    /// `INT` (i64).
    pub const INT: Ty = Ty(1);
    /// `FLOAT` (f64).
    pub const FLOAT: Ty = Ty(1 << 1);
    /// `true` / `false`.
    pub const BOOL: Ty = Ty(1 << 2);
    /// A string.
    pub const STR: Ty = Ty(1 << 3);
    /// A character (`'a'`, `s[0]`).
    pub const CHAR: Ty = Ty(1 << 4);
    /// An array.
    pub const ARRAY: Ty = Ty(1 << 5);
    /// An object map.
    pub const MAP: Ty = Ty(1 << 6);
    /// `()`.
    pub const UNIT: Ty = Ty(1 << 7);
    /// Anything else (function pointers, ranges, timestamps, blobs, …).
    pub const OTHER: Ty = Ty(1 << 8);
    /// Unknown: any kind.
    pub const DYNAMIC: Ty = Ty((1 << 9) - 1);

    /// The type of a param of type `ty` as expressions see it (see
    /// [`super::to_dynamic`]).
    pub fn of_param(ty: ParamType) -> Ty {
        match ty {
            ParamType::Int | ParamType::Duration => Ty::INT,
            ParamType::Float => Ty::FLOAT,
            ParamType::Bool => Ty::BOOL,
            ParamType::Str | ParamType::Path | ParamType::Skill => Ty::STR,
            ParamType::ListStr => Ty::ARRAY,
        }
    }

    /// The kind of a value.
    pub fn of_value(value: &Dynamic) -> Ty {
        if value.is_int() {
            Ty::INT
        } else if value.is_float() {
            Ty::FLOAT
        } else if value.is_bool() {
            Ty::BOOL
        } else if value.is_string() {
            Ty::STR
        } else if value.is_char() {
            Ty::CHAR
        } else if value.is_array() {
            Ty::ARRAY
        } else if value.is_map() {
            Ty::MAP
        } else if value.is_unit() {
            Ty::UNIT
        } else {
            Ty::OTHER
        }
    }

    /// Either kind.
    pub fn or(self, other: Ty) -> Ty {
        Ty(self.0 | other.0)
    }

    /// These kinds without those of `other`.
    pub fn without(self, other: Ty) -> Ty {
        Ty(self.0 & !other.0)
    }

    /// True when some kind is in both.
    pub fn meets(self, other: Ty) -> bool {
        self.0 & other.0 != 0
    }

    /// True when no value is possible.
    pub fn is_never(self) -> bool {
        self.0 == 0
    }

    /// The single kinds making up this type.
    pub fn kinds(self) -> impl Iterator<Item = Ty> {
        KINDS.iter().map(|k| k.0).filter(move |k| self.meets(*k))
    }

    /// "`int`", "`str` or `()`".
    pub fn name(self) -> String {
        let names: Vec<String> = KINDS
            .iter()
            .filter(|k| self.meets(k.0))
            .map(|k| format!("`{}`", k.1))
            .collect();
        match names.as_slice() {
            [] => "no value".to_string(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} or {last}", init.join(", ")),
        }
    }

    /// "an `int`", "a `str` or `()`", "`()`".
    pub fn with_article(self) -> String {
        let article = KINDS.iter().find(|k| self.meets(k.0)).map_or("", |k| k.2);
        if article.is_empty() {
            self.name()
        } else {
            format!("{article} {}", self.name())
        }
    }

    /// A value of this single kind for probing rhai (see `probe`); None for
    /// [`Ty::OTHER`] and sets of kinds.
    pub(super) fn sample(self) -> Option<Dynamic> {
        // Non-zero, non-empty samples: `x / n` and `s[0]` succeed, so a
        // failure means the operation does not exist for these kinds.
        Some(match self {
            Ty::INT => Dynamic::from_int(1),
            Ty::FLOAT => Dynamic::from_float(1.5),
            Ty::BOOL => Dynamic::TRUE,
            Ty::STR => Dynamic::from("1"),
            Ty::CHAR => Dynamic::from_char('a'),
            Ty::ARRAY => Dynamic::from_array(vec![Dynamic::from("1")]),
            Ty::MAP => Dynamic::from_map(rhai::Map::new()),
            Ty::UNIT => Dynamic::UNIT,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_naturally() {
        assert_eq!(Ty::INT.with_article(), "an `int`");
        assert_eq!(Ty::STR.or(Ty::UNIT).with_article(), "a `str` or `()`");
        assert_eq!(Ty::UNIT.with_article(), "`()`");
        assert_eq!(
            Ty::INT.or(Ty::FLOAT).or(Ty::UNIT).name(),
            "`int`, `float` or `()`"
        );
    }

    #[test]
    fn samples_have_their_kind() {
        for kind in Ty::DYNAMIC.kinds() {
            match kind.sample() {
                Some(v) => assert_eq!(Ty::of_value(&v), kind),
                None => assert_eq!(kind, Ty::OTHER),
            }
        }
        assert_eq!(Ty::DYNAMIC.kinds().count(), 9);
        assert!(Ty::STR.or(Ty::INT).sample().is_none());
    }
}
