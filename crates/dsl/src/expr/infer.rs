//! Type checking of a compiled expression by abstract evaluation: every
//! sub-expression gets a [`Ty`] (the kinds its value may have), from the
//! declared types of params, the inferred types of lets, and what `run`,
//! `stages` and `env` hold. Operators and functions are judged by rhai
//! itself on sample values ([`super::probe`]).
//!
//! A false error on a valid flow is a bug, so only what fails (or is
//! pointless) for **every** kind an operand may have is reported, and
//! anything not understood is [`Ty::DYNAMIC`], which never errs.

use super::extent;
use super::locate::Locator;
use super::probe::{self, Answer};
use super::types::Ty;
use crate::ast;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::{SourceId, Span};
use rhai::{ASTFlags, Engine, Expr, FnCallExpr, Position, Stmt, AST};

/// What the value of a checked expression must be.
#[derive(Debug, Clone, Copy)]
pub enum Want<'a> {
    /// Anything.
    Any,
    /// A bool; the text names the setting (`when`, `skip if`).
    Bool(&'a str),
    /// Something exported as text (text, a number, a bool, a list); the
    /// text names the setting (`env NAME`, `let name`).
    Text(&'a str),
}

/// Most argument-kind combinations probed for one call.
const MAX_COMBINATIONS: usize = 64;

/// Keyword functions: never probed (they act on the engine itself), with
/// the type they give.
const KEYWORD_RESULTS: &[(&str, Ty)] = &[
    ("type_of", Ty::STR),
    ("is_def_var", Ty::BOOL),
    ("is_def_fn", Ty::BOOL),
    ("is_shared", Ty::BOOL),
    ("Fn", Ty::OTHER),
    ("call", Ty::DYNAMIC),
    ("curry", Ty::OTHER),
    ("print", Ty::DYNAMIC),
    ("debug", Ty::DYNAMIC),
];

/// Comparison operators: they give a bool whatever they compare.
const COMPARISONS: &[&str] = &["==", "!=", "<", ">", "<=", ">="];

/// The type of `ast` (compiled from `expr` in file `source`) and its type
/// errors: [`Code::NotBool`] for a condition that is not a bool,
/// [`Code::TypeClash`] for an operator or function given kinds it does not
/// take, a comparison that is always false (or always true), or a
/// [`Want::Text`] value that is a map or `()`.
///
/// `vars` are the typed variables in scope (a later entry shadows an
/// earlier one); other variables are `run`, `stages` and `env`, or unknown.
/// `engine` must be [`super::engine`] with a store without side effects
/// (operators are probed by evaluating them).
pub fn check_types(
    engine: &Engine,
    ast: &AST,
    expr: &ast::Expr,
    vars: &[(String, Ty)],
    want: Want,
    source: SourceId,
) -> (Ty, Vec<Diagnostic>) {
    let loc = Locator::new(expr);
    let mut infer = Infer {
        engine,
        vars,
        loc: &loc,
        text: &expr.source,
        source,
        diags: Vec::new(),
        opaque: false,
    };
    let ty = infer.block(ast.statements());
    if infer.opaque {
        // A block declared or assigned variables: types seen so far may be
        // wrong, so nothing is claimed.
        return (Ty::DYNAMIC, Vec::new());
    }
    let mut diags = infer.diags;
    match want {
        Want::Bool(setting) if !ty.is_never() && !ty.meets(Ty::BOOL) => {
            diags.push(not_bool_whole(setting, ty, loc.whole(), source));
        }
        // Only a map or `()`: no text to export.
        Want::Text(setting) if !ty.is_never() && ty.without(Ty::MAP.or(Ty::UNIT)).is_never() => {
            diags.push(not_text(setting, ty, loc.whole(), source));
        }
        _ => {}
    }
    diags.sort_by_key(|d| d.span());
    (ty, diags)
}

/// Where a chain step stands, for the variables whose shape is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// Nothing known about the shape.
    Unknown,
    /// `stages`.
    Stages,
    /// `stages.X`.
    Stage,
    /// `run`.
    Run,
    /// `env`.
    Env,
}

/// One walk.
struct Infer<'a> {
    engine: &'a Engine,
    vars: &'a [(String, Ty)],
    loc: &'a Locator<'a>,
    /// The expression's text.
    text: &'a str,
    source: SourceId,
    diags: Vec<Diagnostic>,
    /// Set when a block declares or assigns variables.
    opaque: bool,
}

impl Infer<'_> {
    /// The type of a block: that of its last statement, `()` when empty.
    fn block(&mut self, stmts: &[Stmt]) -> Ty {
        let mut ty = Ty::UNIT;
        for stmt in stmts {
            ty = self.stmt(stmt);
        }
        ty
    }

    fn stmt(&mut self, stmt: &Stmt) -> Ty {
        match stmt {
            Stmt::Expr(e) => self.expr(e),
            Stmt::FnCall(call, pos) => self.call(call, *pos, None),
            Stmt::Block(b) => self.block(b.as_ref().as_ref()),
            Stmt::Noop(_) => Ty::UNIT,
            Stmt::If(flow, _) => {
                self.condition(&flow.expr, "`if`");
                let body = self.block(flow.body.as_ref());
                let branch = self.block(flow.branch.as_ref());
                body.or(branch)
            }
            Stmt::Switch(switch, _) => {
                self.expr(&switch.0);
                let cases = &switch.1;
                let mut ty = if cases.def_case.is_some() {
                    Ty::NEVER
                } else {
                    Ty::UNIT
                };
                for case in &cases.expressions {
                    self.expr(&case.lhs);
                    ty = ty.or(self.expr(&case.rhs));
                }
                ty
            }
            _ => {
                self.opaque = true;
                Ty::DYNAMIC
            }
        }
    }

    fn expr(&mut self, e: &Expr) -> Ty {
        self.value(e).0
    }

    /// The type of `e` and, for `run`, `stages` and `env` chains, where it
    /// stands.
    fn value(&mut self, e: &Expr) -> (Ty, Path) {
        let ty = match e {
            Expr::DynamicConstant(v, _) => Ty::of_value(v),
            Expr::BoolConstant(..) => Ty::BOOL,
            Expr::IntegerConstant(..) => Ty::INT,
            Expr::FloatConstant(..) => Ty::FLOAT,
            Expr::CharConstant(..) => Ty::CHAR,
            Expr::StringConstant(..) => Ty::STR,
            Expr::InterpolatedString(parts, _) => {
                for part in parts.iter() {
                    self.expr(part);
                }
                Ty::STR
            }
            Expr::Array(items, _) => {
                for item in items.iter() {
                    self.expr(item);
                }
                Ty::ARRAY
            }
            Expr::Map(map, _) => {
                for (_, value) in map.0.iter() {
                    self.expr(value);
                }
                Ty::MAP
            }
            Expr::Unit(_) => Ty::UNIT,
            Expr::Variable(v, ..) => return self.variable(v.1.as_str(), !v.2.is_empty()),
            Expr::Stmt(block) => self.block(block.as_ref().as_ref()),
            Expr::FnCall(call, pos) => self.call(call, *pos, None),
            Expr::MethodCall(call, _) => {
                for arg in call.args.iter() {
                    self.expr(arg);
                }
                Ty::DYNAMIC
            }
            Expr::Dot(chain, flags, _) | Expr::Index(chain, flags, _) => {
                let indexed = matches!(e, Expr::Index(..));
                let recv = self.value(&chain.lhs);
                return self.chain(recv, indexed, *flags, &chain.rhs);
            }
            Expr::And(items, _) | Expr::Or(items, _) => {
                let op = if matches!(e, Expr::And(..)) {
                    "&&"
                } else {
                    "||"
                };
                for item in items.iter() {
                    self.condition(item, &format!("`{op}`"));
                }
                Ty::BOOL
            }
            Expr::Coalesce(items, _) => {
                let mut ty = Ty::NEVER;
                let last = items.len().saturating_sub(1);
                for (i, item) in items.iter().enumerate() {
                    let t = self.expr(item);
                    ty = ty.or(if i == last { t } else { t.without(Ty::UNIT) });
                }
                ty
            }
            _ => Ty::DYNAMIC,
        };
        (ty, Path::Unknown)
    }

    fn variable(&self, name: &str, qualified: bool) -> (Ty, Path) {
        if qualified {
            return (Ty::DYNAMIC, Path::Unknown);
        }
        if let Some((_, ty)) = self.vars.iter().rev().find(|(n, _)| n == name) {
            return (*ty, Path::Unknown);
        }
        match name {
            "stages" => (Ty::MAP, Path::Stages),
            "run" => (Ty::MAP, Path::Run),
            "env" => (Ty::MAP, Path::Env),
            _ => (Ty::DYNAMIC, Path::Unknown),
        }
    }

    /// The rest of a chain after `recv`: `rhs` of a `.` (or `[` when
    /// `indexed`) node with `flags`. rhai nests chains to the right: without
    /// `BREAK`, a `Dot`/`Index` rhs is the next segment and the rest.
    fn chain(
        &mut self,
        recv: (Ty, Path),
        indexed: bool,
        flags: ASTFlags,
        rhs: &Expr,
    ) -> (Ty, Path) {
        let optional = flags.contains(ASTFlags::NEGATED);
        if !flags.contains(ASTFlags::BREAK) {
            if let Expr::Dot(inner, f, _) | Expr::Index(inner, f, _) = rhs {
                let next = self.step(recv, indexed, optional, &inner.lhs);
                return self.chain(next, matches!(rhs, Expr::Index(..)), *f, &inner.rhs);
            }
        }
        self.step(recv, indexed, optional, rhs)
    }

    /// One step of a chain: `recv.seg` or `recv[seg]`.
    fn step(&mut self, recv: (Ty, Path), indexed: bool, optional: bool, seg: &Expr) -> (Ty, Path) {
        let (ty, path) = if indexed {
            let key = match seg {
                Expr::StringConstant(s, _) => Some(s.as_str()),
                _ => None,
            };
            let index = self.expr(seg);
            match (recv.1, key) {
                (Path::Stages, Some(_)) => (Ty::MAP, Path::Stage),
                (Path::Stage, Some(field)) => (stage_field(field), Path::Unknown),
                (Path::Run, Some(field)) => (run_field(field), Path::Unknown),
                (Path::Env, _) if index == Ty::STR => (Ty::STR.or(Ty::UNIT), Path::Unknown),
                _ if recv.0 == Ty::STR && index == Ty::INT => (Ty::CHAR, Path::Unknown),
                _ => (Ty::DYNAMIC, Path::Unknown),
            }
        } else {
            match seg {
                Expr::Property(p, _) => {
                    let name = p.2.as_str();
                    match recv.1 {
                        Path::Stages => (Ty::MAP, Path::Stage),
                        Path::Stage => (stage_field(name), Path::Unknown),
                        Path::Run => (run_field(name), Path::Unknown),
                        Path::Env => (Ty::STR.or(Ty::UNIT), Path::Unknown),
                        Path::Unknown => (Ty::DYNAMIC, Path::Unknown),
                    }
                }
                Expr::MethodCall(call, pos) => (self.call(call, *pos, Some(recv.0)), Path::Unknown),
                other => (self.expr(other).or(Ty::DYNAMIC), Path::Unknown),
            }
        };
        if optional && recv.0.meets(Ty::UNIT) {
            (ty.or(Ty::UNIT), path)
        } else {
            (ty, path)
        }
    }

    /// Checks that `e` is a bool where `what` (an `if`, `&&`) needs one.
    fn condition(&mut self, e: &Expr, what: &str) {
        let ty = self.expr(e);
        if ty.is_never() || ty.meets(Ty::BOOL) {
            return;
        }
        let span = self
            .extent(e)
            .unwrap_or_else(|| self.loc.char_at(self.loc.local(e.position())));
        self.diags.push(
            Diagnostic::new(
                Code::NotBool,
                self.source,
                span,
                format!("{what} needs a bool, but this is {}", ty.with_article()),
            )
            .label(format!("this is {}", ty.with_article()))
            .help(bool_help(ty)),
        );
    }

    /// The type of a call (`recv` is the receiver's type for a method call).
    fn call(&mut self, call: &FnCallExpr, pos: Position, recv: Option<Ty>) -> Ty {
        let mut args: Vec<Ty> = recv.into_iter().collect();
        let name = call.name.as_str();
        if name == "!" && call.op_token.is_some() && call.args.len() == 1 {
            self.condition(&call.args[0], "`!`");
            return Ty::BOOL;
        }
        for arg in call.args.iter() {
            args.push(self.expr(arg));
        }
        if call.is_qualified() {
            return Ty::DYNAMIC;
        }
        if let Some((_, ty)) = KEYWORD_RESULTS.iter().find(|k| k.0 == name) {
            return *ty;
        }
        if args.iter().any(|t| t.is_never()) {
            // Never evaluated: its problem is already reported.
            return Ty::NEVER;
        }
        let Some(combos) = combinations(&args) else {
            return fallback(name, self.written(call, pos));
        };
        let mut ty = Ty::NEVER;
        let mut exists = false;
        for combo in &combos {
            match probe::call(self.engine, name, combo) {
                Some(Answer::Gives(t)) => {
                    exists = true;
                    ty = ty.or(t);
                }
                Some(Answer::Exists) | None => {
                    exists = true;
                    ty = Ty::DYNAMIC;
                }
                Some(Answer::Missing) => {}
            }
        }
        if !exists {
            let d = self.clash(call, pos, recv.is_some(), &args);
            self.diags.push(d);
            return Ty::NEVER;
        }
        if let Some(d) = self.pointless_comparison(call, pos, &args) {
            self.diags.push(d);
        }
        ty
    }

    /// F0027 for a call no function takes.
    fn clash(&self, call: &FnCallExpr, pos: Position, method: bool, args: &[Ty]) -> Diagnostic {
        let name = call.name.as_str();
        let written = self.written(call, pos);
        let span = self.loc.token(pos, written);
        let listed = args.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ");
        let d = if call.op_token.is_some() && probe::is_operator(name) || written != name {
            // `x in c` is `contains(c, x)`: speak of the operands as written.
            let mut shown = args.to_vec();
            let mut operands: Vec<&Expr> = call.args.iter().collect();
            if written.ends_with("in") {
                shown.reverse();
                operands.reverse();
            }
            let listed = shown
                .iter()
                .map(|t| t.name())
                .collect::<Vec<_>>()
                .join(" and ");
            let message = match shown.as_slice() {
                [a] => format!("`{written}` cannot be applied to {}", a.with_article()),
                [a, b] => format!(
                    "`{written}` cannot be applied to {} and {}",
                    a.with_article(),
                    b.with_article()
                ),
                _ => format!("`{written}` cannot be applied to ({listed})"),
            };
            let mut d = Diagnostic::new(Code::TypeClash, self.source, span, message)
                .label(format!("no `{written}` for {listed}"));
            for (e, t) in operands.into_iter().zip(shown.iter().copied()) {
                if let Some(s) = self.extent(e) {
                    d = d.secondary(s, format!("this is {}", t.with_article()));
                }
            }
            d.help(operator_help(written, args))
        } else {
            let message = match (method, args) {
                (true, [recv]) => format!("`{name}()` cannot be called on {}", recv.with_article()),
                (true, [recv, rest @ ..]) => format!(
                    "`{name}` cannot be called on {} with ({})",
                    recv.with_article(),
                    rest.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
                ),
                _ => format!("`{name}` cannot be called with ({listed})"),
            };
            Diagnostic::new(Code::TypeClash, self.source, span, message)
                .label(if method {
                    "no version of it takes these types".to_string()
                } else {
                    format!("no `{name}` takes ({listed})")
                })
                .help(format!(
                    "convert the arguments to types `{name}` takes, e.g. with `to_string()`, `parse_int()` or `parse_float()`"
                ))
        };
        d
    }

    /// F0027 for `==`, `<`, … between kinds that never compare equal or in
    /// order (rhai gives `false` instead of an error).
    fn pointless_comparison(
        &self,
        call: &FnCallExpr,
        pos: Position,
        args: &[Ty],
    ) -> Option<Diagnostic> {
        let name = call.name.as_str();
        if call.op_token.is_none() || !COMPARISONS.contains(&name) {
            return None;
        }
        let [a, b] = args else { return None };
        let (ca, cb) = (comparable_class(*a)?, comparable_class(*b)?);
        if ca == cb {
            return None;
        }
        let always = if name == "!=" { "true" } else { "false" };
        let mut d = Diagnostic::new(
            Code::TypeClash,
            self.source,
            self.loc.token(pos, name),
            format!(
                "`{name}` between {} and {} is always {always}",
                a.with_article(),
                b.with_article()
            ),
        )
        .label(format!("compares {} with {}", a.name(), b.name()));
        for (e, t) in call.args.iter().zip([a, b]) {
            if let Some(s) = self.extent(e) {
                d = d.secondary(s, format!("this is {}", t.with_article()));
            }
        }
        Some(d.help(
            "values of different types are never equal in rhai: convert one side, e.g. `issue.to_string() == \"42\"` or `issue == parse_int(text)`",
        ))
    }

    /// The operator or function as written: `x in c` is compiled to
    /// `contains(c, x)` (with no operator token), `x !in c` to `!` of it.
    fn written<'c>(&self, call: &'c FnCallExpr, pos: Position) -> &'c str {
        match &call.op_token {
            Some(token) => token.literal_syntax(),
            None if call.name == "contains"
                && self
                    .text
                    .get(self.loc.local(pos)..)
                    .is_some_and(|rest| rest.starts_with("in")) =>
            {
                "in"
            }
            None => call.name.as_str(),
        }
    }

    /// The span of a sub-expression, when its end can be told.
    fn extent(&self, e: &Expr) -> Option<Span> {
        let local = |p: Position| self.loc.local(p);
        let start = local(e.start_position());
        let end = extent::end(e, self.text, &local)?;
        (end > start && end <= self.text.len()).then(|| self.loc.span_at(start, end - start))
    }
}

/// Every combination of single kinds of `args`; None when some argument may
/// be a kind without samples or there are too many.
fn combinations(args: &[Ty]) -> Option<Vec<Vec<Ty>>> {
    let mut combos: Vec<Vec<Ty>> = vec![Vec::new()];
    for arg in args {
        if arg.meets(Ty::OTHER) {
            return None;
        }
        let kinds: Vec<Ty> = arg.kinds().collect();
        if combos.len() * kinds.len() > MAX_COMBINATIONS {
            return None;
        }
        combos = combos
            .iter()
            .flat_map(|c| {
                kinds.iter().map(move |k| {
                    let mut next = c.clone();
                    next.push(*k);
                    next
                })
            })
            .collect();
    }
    Some(combos)
}

/// The type of a call (`written` as the operator or name) whose arguments
/// are not all known.
fn fallback(name: &str, written: &str) -> Ty {
    if COMPARISONS.contains(&written) || written == "in" || written == "!in" {
        Ty::BOOL
    } else {
        match name {
            "len" => Ty::INT,
            "to_string" | "type_of" => Ty::STR,
            _ => Ty::DYNAMIC,
        }
    }
}

/// Kinds that compare only among themselves: numbers, text, bools, arrays,
/// maps. None for `()` and unknowns (`x == ()` is a fine test).
fn comparable_class(ty: Ty) -> Option<u8> {
    Some(match ty {
        Ty::INT | Ty::FLOAT => 0,
        Ty::STR | Ty::CHAR => 1,
        Ty::BOOL => 2,
        Ty::ARRAY => 3,
        Ty::MAP => 4,
        _ => return None,
    })
}

/// The type of a field of `stages.X`.
fn stage_field(field: &str) -> Ty {
    match field {
        "outcome" => Ty::STR,
        "exit_code" => Ty::INT.or(Ty::UNIT),
        "status" => Ty::STR.or(Ty::UNIT),
        "attempts" | "visits" => Ty::INT,
        "duration" => Ty::FLOAT,
        // `result` is any JSON; unknown fields are reported elsewhere.
        _ => Ty::DYNAMIC,
    }
}

/// The type of a field of `run`.
fn run_field(field: &str) -> Ty {
    match field {
        "id" | "nonce" | "flow" => Ty::STR,
        _ => Ty::DYNAMIC,
    }
}

/// How to turn a value of type `ty` into a bool.
fn bool_help(ty: Ty) -> String {
    if ty == Ty::STR.or(Ty::UNIT) {
        "compare it, e.g. `== \"OK\"` (false too when there is no value)".to_string()
    } else if !ty.without(Ty::INT.or(Ty::FLOAT)).meets(Ty::DYNAMIC) {
        "compare it with a number, e.g. `> 0`".to_string()
    } else if !ty.without(Ty::STR.or(Ty::CHAR)).meets(Ty::DYNAMIC) {
        "compare it with text, e.g. `== \"yes\"`, or test it is not empty: `!= \"\"`".to_string()
    } else if ty == Ty::ARRAY {
        "test its contents, e.g. `.contains(\"x\")` or `.len() > 0`".to_string()
    } else {
        "compare it with a value, e.g. `== …`, to get `true` or `false`".to_string()
    }
}

/// How to fix an operator applied to kinds it does not take.
fn operator_help(op: &str, args: &[Ty]) -> String {
    let text = args.iter().any(|t| t.meets(Ty::STR.or(Ty::CHAR)));
    let number = args.iter().any(|t| t.meets(Ty::INT.or(Ty::FLOAT)));
    if op.ends_with("in") {
        "`x in c` needs a container `c` that can hold `x`: a string (of text), an array, or a map (with a text key)".to_string()
    } else if text && number {
        "convert one side: `parse_int(text)` / `parse_float(text)` make a number, `n.to_string()` makes text (`+` alone joins text and numbers)".to_string()
    } else if args.iter().any(|t| t.meets(Ty::UNIT)) {
        "one side may be `()` (no value): give a default first, e.g. `(x ?? 0)`".to_string()
    } else {
        format!("rhai has no `{op}` for these types: convert one side so both are types it takes")
    }
}

/// F0026 for a whole condition.
fn not_bool_whole(setting: &str, ty: Ty, span: Span, source: SourceId) -> Diagnostic {
    Diagnostic::new(
        Code::NotBool,
        source,
        span,
        format!(
            "`{setting}` needs a bool, but this is {}",
            ty.with_article()
        ),
    )
    .label(format!("this is {}", ty.with_article()))
    .help(bool_help(ty))
}

/// F0027 for an exported value that cannot be text.
fn not_text(setting: &str, ty: Ty, span: Span, source: SourceId) -> Diagnostic {
    let help = if ty.meets(Ty::MAP) {
        "export one field (`m.name`) or the whole map as JSON text: `to_json(m)`"
    } else {
        "give a value; note that `trim`, `make_upper` and other in-place string methods give `()`"
    };
    Diagnostic::new(
        Code::TypeClash,
        source,
        span,
        format!(
            "`{setting}` must give text, a number, a bool or a list, but this is {}",
            ty.with_article()
        ),
    )
    .label(format!("this is {}", ty.with_article()))
    .help(help)
}
