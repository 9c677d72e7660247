//! Checks on a parsed expression that rhai does not make: every function
//! called exists with that many arguments, and every `stages.X.field` names a
//! stage of the flow and a field stages have.

use super::functions::{describe_arity, KnownFunctions, Verdict};
use super::locate::Locator;
use super::suggest::{help_for, list, with_fix};
use super::{ExprScope, STAGE_FIELDS};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::SourceId;
use rhai::{ASTNode, Expr, FnCallExpr, Position, AST};
use std::collections::HashSet;

/// Everything one walk needs.
pub(super) struct Checker<'a> {
    /// Functions the engine can call.
    pub(super) known: &'a KnownFunctions<'a>,
    /// What the expression may refer to.
    pub(super) scope: &'a ExprScope<'a>,
    /// The names of `scope.stages` as a set, when the caller has one.
    pub(super) stage_set: Option<&'a HashSet<String>>,
    /// Positions → file spans.
    pub(super) loc: &'a Locator<'a>,
    /// The file of the expression.
    pub(super) source: SourceId,
}

impl Checker<'_> {
    /// All function and stage-reference problems of `ast`, in source order.
    pub(super) fn check(&self, ast: &AST) -> Vec<Diagnostic> {
        let mut diags = Vec::new();
        ast.walk(&mut |path: &[ASTNode]| {
            if let Some(ASTNode::Expr(expr)) = path.last() {
                match expr {
                    Expr::FnCall(call, pos) => diags.extend(self.call(call, *pos, false)),
                    Expr::MethodCall(call, pos) => diags.extend(self.call(call, *pos, true)),
                    Expr::Dot(chain, ..) if is_stages(&chain.lhs) => {
                        diags.extend(self.stage_ref(&chain.rhs, false))
                    }
                    Expr::Index(chain, ..) if is_stages(&chain.lhs) => {
                        diags.extend(self.stage_ref(&chain.rhs, true))
                    }
                    _ => {}
                }
            }
            true
        });
        diags.sort_by_key(|d| d.span());
        diags
    }

    /// A call of a function by name (`abs(x)`) or as a method (`x.len()`).
    fn call(&self, call: &FnCallExpr, pos: Position, method: bool) -> Option<Diagnostic> {
        // Operators (`a + b`, `!a`, `1..3`) resolve to built-ins; qualified
        // names (`m::f`) are already a parse error (no modules exist).
        if call.op_token.is_some() || call.is_qualified() {
            return None;
        }
        let name = call.name.as_str();
        let shift = usize::from(method);
        let written = if method {
            format!("x.{name}(…)")
        } else {
            format!("{name}(…)")
        };
        let span = self.loc.token(pos, name);
        match self.known.check(name, call.args.len() + shift) {
            Verdict::Ok => None,
            Verdict::UnknownName => Some(
                Diagnostic::new(
                    Code::UnknownFunction,
                    self.source,
                    span,
                    format!("unknown function `{name}`"),
                )
                .label("no such function")
                .help(help_for(name, self.known.names(), || {
                    "expressions can call rhai's standard functions and `runs(flow, state)`"
                        .to_string()
                })),
            ),
            Verdict::WrongArity(ranges) => {
                let args = call.args.len();
                Some(
                    Diagnostic::new(
                        Code::UnknownFunction,
                        self.source,
                        span,
                        format!("`{written}` {}, not {args}", describe_arity(&ranges, shift)),
                    )
                    .label(format!(
                        "called with {args} argument{}",
                        if args == 1 { "" } else { "s" }
                    )),
                )
            }
            Verdict::Forbidden(why) => Some(
                Diagnostic::new(
                    Code::UnknownFunction,
                    self.source,
                    span,
                    format!("`{name}` is not available in flow expressions"),
                )
                .label("not available")
                .help(format!("`{name}` is disabled because {why}")),
            ),
        }
    }

    /// `rest` follows `stages.` (or `stages[` when `indexed`): its first
    /// segment must be a stage and the segment after that a stage field.
    fn stage_ref(&self, rest: &Expr, indexed: bool) -> Option<Diagnostic> {
        let (segment, after) = split(rest);
        let (name, span) = self.key(segment, indexed)?;
        let known = match self.stage_set {
            Some(set) => set.contains(name),
            None => self.scope.stages.iter().any(|s| s == name),
        };
        if !known {
            let stages: Vec<&str> = self.scope.stages.iter().map(String::as_str).collect();
            let d = Diagnostic::new(
                Code::UnknownStageRef,
                self.source,
                span,
                format!("unknown stage `{name}`"),
            )
            .label("no stage of this flow has this name")
            .help(help_for(name, stages.iter().copied(), || {
                format!("the stages of this flow are {}", list(&stages))
            }));
            return Some(with_fix(d, name, span, stages.iter().copied()));
        }
        let (field_indexed, field_rest) = after?;
        let (field, span) = self.key(split(field_rest).0, field_indexed)?;
        if STAGE_FIELDS.contains(&field) {
            return None;
        }
        let d = Diagnostic::new(
            Code::UnknownStageRef,
            self.source,
            span,
            format!("stages have no field `{field}`"),
        )
        .label("unknown field")
        .help(help_for(field, STAGE_FIELDS.iter().copied(), || {
            format!("the fields of a stage are {}", list(STAGE_FIELDS))
        }));
        Some(with_fix(d, field, span, STAGE_FIELDS.iter().copied()))
    }

    /// The literal key of one segment of a property chain: `.name` when not
    /// `indexed`, `["name"]` when `indexed`. None for anything computed.
    fn key<'e>(&self, segment: &'e Expr, indexed: bool) -> Option<(&'e str, crate::span::Span)> {
        match (segment, indexed) {
            (Expr::Property(prop, pos), false) => {
                let name = prop.2.as_str();
                Some((name, self.loc.token(*pos, name)))
            }
            (Expr::StringConstant(s, pos), true) => {
                // The position is the opening quote; point at the text inside.
                let quote = self.loc.local(*pos);
                let inner = self.loc.token_at(quote + 1, s);
                Some((s.as_str(), inner))
            }
            _ => None,
        }
    }
}

/// True for the bare variable `stages`.
pub(super) fn is_stages(expr: &Expr) -> bool {
    matches!(expr, Expr::Variable(v, ..) if v.1 == "stages" && v.2.is_empty())
}

/// The first segment of a chain and, if the chain goes on, whether the next
/// step is an index (`[…]`) and the rest. rhai nests chains to the right:
/// `a.b.c` is `Dot(a, Dot(Property b, Property c))`.
pub(super) fn split(expr: &Expr) -> (&Expr, Option<(bool, &Expr)>) {
    match expr {
        Expr::Dot(chain, ..) => (&chain.lhs, Some((false, &chain.rhs))),
        Expr::Index(chain, ..) => (&chain.lhs, Some((true, &chain.rhs))),
        other => (other, None),
    }
}
