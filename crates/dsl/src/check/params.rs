//! Param and template-parameter declarations: type names, duplicate names,
//! and defaults of the declared type (F0002, F0007, F0008). Also turns a
//! literal into a typed [`Value`] (used for template arguments too).

use super::{durations, names};
use crate::ast::{Literal, ParamDecl, Spanned, TypeName};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{ParamType, Value};
use crate::span::SourceId;

/// The type names a user can write, for help lines.
const TYPES: &str = "int, float, bool, str, path, duration, list<str>";

/// A checked declaration: its type (if known) and default value (if any and valid).
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    /// The declared type; `None` when the name was unknown (already reported).
    pub ty: Option<ParamType>,
    /// The default, converted to the type; `None` when absent or invalid.
    pub default: Option<Value>,
}

/// Checks `params` (flow params when `template` is false, template
/// parameters otherwise: only those may be `skill`).
pub(crate) fn check(
    params: &[&ParamDecl],
    template: bool,
    source: SourceId,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Checked> {
    let what = if template {
        "template parameter"
    } else {
        "param"
    };
    // Flow params share one namespace with lets and are checked with them
    // (names::flow); template parameters are checked here.
    if template {
        names::duplicates(params.iter().map(|p| &p.name), what, source, diags);
    }
    params
        .iter()
        .map(|p| {
            let ty = resolve_type(&p.ty, template, source, diags);
            let default = match (ty, &p.default) {
                (Some(ty), Some(lit)) => typed(lit, ty, source, diags),
                _ => None,
            };
            Checked { ty, default }
        })
        .collect()
}

/// The [`ParamType`] a type name stands for, without diagnostics (`None`
/// for an unknown name; `skill` is accepted: [`resolve_type`] says where it
/// is allowed).
pub(crate) fn param_type(ty: &TypeName) -> Option<ParamType> {
    Some(match ty {
        TypeName::Int => ParamType::Int,
        TypeName::Float => ParamType::Float,
        TypeName::Bool => ParamType::Bool,
        TypeName::Str => ParamType::Str,
        TypeName::Path => ParamType::Path,
        TypeName::Duration => ParamType::Duration,
        TypeName::ListStr => ParamType::ListStr,
        TypeName::Skill => ParamType::Skill,
        TypeName::Other(_) => return None,
    })
}

/// The [`ParamType`] of a type name; reports unknown names and `skill` where
/// it is not allowed.
pub(crate) fn resolve_type(
    ty: &Spanned<TypeName>,
    allow_skill: bool,
    source: SourceId,
    diags: &mut Vec<Diagnostic>,
) -> Option<ParamType> {
    match &ty.node {
        TypeName::Skill if !allow_skill => {
            diags.push(
                Diagnostic::new(
                    Code::TypeMismatch,
                    source,
                    ty.span,
                    "`skill` is a type for template parameters only",
                )
                .label("not allowed for a flow param")
                .help(format!("use `str` (flow param types: {TYPES})")),
            );
            None
        }
        TypeName::Other(name) => {
            let mut known: Vec<&str> = TYPES.split(", ").collect();
            if allow_skill {
                known.push("skill");
            }
            let mut d = Diagnostic::new(
                Code::TypeMismatch,
                source,
                ty.span,
                format!("unknown type `{name}`"),
            )
            .label("not a type");
            d = match super::suggest::did_you_mean(name, known.iter().copied()) {
                Some(s) => d.help(format!("{s} (types: {})", known.join(", "))),
                None => d.help(format!("types: {}", known.join(", "))),
            };
            d = super::suggest::with_fix(d, name, ty.span, known.iter().copied());
            diags.push(d);
            None
        }
        known => param_type(known),
    }
}

/// `lit` as a value of type `ty`, or a [`Code::TypeMismatch`] (or, for a
/// malformed duration, [`Code::BadDuration`]) diagnostic.
pub(crate) fn typed(
    lit: &Spanned<Literal>,
    ty: ParamType,
    source: SourceId,
    diags: &mut Vec<Diagnostic>,
) -> Option<Value> {
    let value = match (&lit.node, ty) {
        (Literal::Int(i), ParamType::Int) => Value::Int(*i),
        (Literal::Int(i), ParamType::Float) => Value::Float(*i as f64),
        (Literal::Float(x), ParamType::Float) => Value::Float(*x),
        (Literal::Bool(b), ParamType::Bool) => Value::Bool(*b),
        (Literal::Str(s), ParamType::Str | ParamType::Path | ParamType::Skill) => {
            Value::Str(s.clone())
        }
        (Literal::Duration(d), ParamType::Duration) => Value::Duration(durations::check(
            &Spanned::new(d.clone(), lit.span),
            source,
            diags,
        )?),
        (Literal::List(items), ParamType::ListStr) => {
            let mut out = Vec::new();
            for item in items {
                match &item.node {
                    Literal::Str(s) => out.push(s.clone()),
                    other => {
                        diags.push(mismatch(item.span, "str", other, source));
                        return None;
                    }
                }
            }
            Value::List(out)
        }
        (other, ty) => {
            diags.push(mismatch(lit.span, &ty.to_string(), other, source));
            return None;
        }
    };
    Some(value)
}

fn mismatch(
    span: crate::span::Span,
    expected: &str,
    found: &Literal,
    source: SourceId,
) -> Diagnostic {
    Diagnostic::new(
        Code::TypeMismatch,
        source,
        span,
        format!(
            "expected a value of type `{expected}`, found {}",
            describe(found)
        ),
    )
    .label(format!("not {}", with_article(expected)))
    .help(example(expected))
}

/// "a string", "an integer" … for messages.
pub(crate) fn describe(lit: &Literal) -> &'static str {
    match lit {
        Literal::Str(_) => "a string",
        Literal::Int(_) => "an integer",
        Literal::Float(_) => "a float",
        Literal::Bool(_) => "a bool",
        Literal::Duration(_) => "a duration",
        Literal::List(_) => "a list",
    }
}

fn example(ty: &str) -> String {
    let e = match ty {
        "int" => "42",
        "float" => "1.5",
        "bool" => "true",
        "duration" => "30s",
        "list<str>" => "[\"a\", \"b\"]",
        _ => "\"text\"",
    };
    format!("write {}, e.g. {e}", with_article(ty))
}

/// `a str`, `an int` (the type names as written in flows).
fn with_article(ty: &str) -> String {
    let article = if ty.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {ty}")
}
