//! `compile`: an `ast::Expr` to a rhai AST, or every problem found in it.

use super::functions::KnownFunctions;
use super::locate::Locator;
use super::suggest::{help_for, with_fix};
use super::syntax::syntax_error;
use super::walk::Checker;
use super::{ExprScope, GLOBALS};
use crate::ast;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::SourceId;
use rhai::{Dynamic, Engine, ParseErrorType, Scope, AST};
use std::collections::HashSet;

/// Most undefined variables reported for one expression (each costs a
/// re-parse).
const MAX_UNKNOWN_VARIABLES: usize = 32;

/// Compiles `expr` with `engine` (made by [`super::engine`]) and checks it
/// against `scope`.
///
/// Reports every problem it can, each with a span in the file `source`:
/// a syntax error ([`Code::ExprSyntax`], then nothing else can be checked),
/// each undefined variable ([`Code::UnknownVariable`]), each call of an unknown
/// function or with a wrong number of arguments ([`Code::UnknownFunction`]),
/// each `stages.X` naming no stage and `stages.X.f` naming no stage field
/// ([`Code::UnknownStageRef`]).
///
/// `expr.source` must be the text of the file at `expr.span.start`: spans are
/// computed from positions inside it.
pub fn compile(
    engine: &Engine,
    expr: &ast::Expr,
    scope: &ExprScope,
    source: SourceId,
) -> Result<AST, Vec<Diagnostic>> {
    compile_checked(engine, expr, scope, None, source)
}

/// [`compile`] for a caller that compiles many expressions against one
/// scope: `stage_set` holds exactly the names of `scope.stages`, so each
/// `stages.X` is found in constant time (a search of the list made
/// `flow check` quadratic in the number of stages).
pub fn compile_indexed(
    engine: &Engine,
    expr: &ast::Expr,
    scope: &ExprScope,
    stage_set: &HashSet<String>,
    source: SourceId,
) -> Result<AST, Vec<Diagnostic>> {
    compile_checked(engine, expr, scope, Some(stage_set), source)
}

fn compile_checked(
    engine: &Engine,
    expr: &ast::Expr,
    scope: &ExprScope,
    stage_set: Option<&HashSet<String>>,
    source: SourceId,
) -> Result<AST, Vec<Diagnostic>> {
    let loc = Locator::new(expr);
    if expr.source.trim().is_empty() {
        let d = Diagnostic::new(Code::ExprSyntax, source, loc.whole(), "empty expression")
            .label("expected an expression here")
            .help("write a rhai expression, e.g. `issue != \"\"`");
        return Err(vec![d]);
    }
    let allowed: Vec<&str> = scope
        .variables
        .iter()
        .map(String::as_str)
        .chain(GLOBALS.iter().copied())
        .collect();
    let mut names = Scope::new();
    for name in &allowed {
        names.push_dynamic(*name, Dynamic::UNIT);
    }

    // rhai stops at the first undefined variable: declare it and parse
    // again, so one pass reports all of them.
    let mut diags = Vec::new();
    let mut unknown = 0;
    let ast = loop {
        let err = match engine.compile_expression_with_scope(&names, &expr.source) {
            Ok(ast) => break Some(ast),
            Err(err) => err,
        };
        match *err.0 {
            ParseErrorType::VariableUndefined(ref name)
                if unknown < MAX_UNKNOWN_VARIABLES && !names.contains(name) =>
            {
                unknown += 1;
                let span = loc.token(err.1, name);
                let d = Diagnostic::new(
                    Code::UnknownVariable,
                    source,
                    span,
                    format!("unknown variable `{name}`"),
                )
                .label("not defined here")
                .help(unknown_variable_help(name, &allowed, scope));
                // A stage's name is not misspelt: its help says `stages.NAME`.
                let d = if scope.stages.iter().any(|s| s == name) {
                    d
                } else {
                    with_fix(d, name, span, allowed.iter().copied())
                };
                diags.push(d);
                names.push_dynamic(name.clone(), Dynamic::UNIT);
            }
            ref kind => {
                diags.push(syntax_error(kind, err.1, &loc, source));
                break None;
            }
        }
    };

    if let Some(ast) = &ast {
        let known = KnownFunctions::of(engine);
        let checker = Checker {
            known: &known,
            scope,
            stage_set,
            loc: &loc,
            source,
        };
        diags.extend(checker.check(ast));
    }
    match ast {
        Some(ast) if diags.is_empty() => Ok(ast),
        _ => {
            diags.sort_by_key(|d| d.span());
            Err(diags)
        }
    }
}

/// The help of an unknown variable that resembles no name in scope.
pub(crate) const SCOPE_HELP: &str = "an expression sees the params, the `let`s declared before it (`skip if` sees params only), `run`, `stages` and `env`; declare it with `param`, or with `let` above this line";

/// Help for an unknown variable: a stage or environment variable read
/// without `stages.`/`env.`, else the closest allowed name.
fn unknown_variable_help(name: &str, allowed: &[&str], scope: &ExprScope) -> String {
    if scope.stages.iter().any(|s| s == name) {
        return format!("stages are read through `stages`: write `stages.{name}`");
    }
    help_for(name, allowed.iter().copied(), || {
        let upper = name.chars().any(|c| c.is_ascii_uppercase())
            && !name.chars().any(|c| c.is_ascii_lowercase());
        if upper {
            format!("environment variables are read through `env`: write `env.{name}`")
        } else {
            SCOPE_HELP.to_string()
        }
    })
}
