//! Compiling the flow's rhai expressions (F0009–F0012 come from
//! [`crate::expr::compile`], F0026/F0027 from [`crate::expr::check_types`]);
//! every expression goes through a [`Compiler`] method.
//!
//! The compiler knows the types of the variables: params by their declared
//! type ([`Compiler::declare_params`]) and lets by the type inferred from
//! their expression ([`Compiler::compile_let`], in order).
//!
//! An expression written in a template's body is scoped like a function's:
//! it sees the template's own parameters (with their declared types), `run`,
//! `stages` and `env`, never the params or lets of the flow that uses it, so
//! it means the same in every flow and can be checked with the library
//! alone ([`Compiler::compile_in_template`]).

use crate::ast::Expr;
use crate::diagnostic::{Code, Diagnostic};
use crate::expr::{self, ExprScope, Ty, Want};
use crate::ir::{CompiledExpr, Param, Value};
use crate::span::SourceId;
use foldhash::{HashMap, HashMapExt};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Compiles expressions of one flow. Shared by the threads that compile
/// the stages' expressions (`build::compile_stages`): its state is behind
/// locks, held only to read or record, never while compiling.
pub(crate) struct Compiler {
    engine: rhai::Engine,
    stages: Vec<String>,
    /// `stages` as a set: each `stages.X` is one lookup, not a search.
    stage_set: HashSet<String>,
    /// Typed variables declared so far (params, then lets in order).
    types: Mutex<Vec<(String, Ty)>>,
    /// Expressions that compiled and type-checked without a diagnostic, by
    /// text: `None` after the first time (most texts are written once, and
    /// keeping their AST would cost more than it saves), then the clean
    /// results. Templates and repeated settings write the same expression
    /// many times; compiling it again would give the same AST and type (the
    /// stages are the same for the whole flow) and no diagnostic, whose
    /// spans would differ. Results with diagnostics are never kept.
    clean: Mutex<HashMap<String, Option<Vec<Clean>>>>,
}

/// What an expression of a template's body sees: the template's
/// parameters, typed, and (for a stage built from it) their values.
#[derive(Debug, Clone, Default)]
pub(crate) struct TemplateScope {
    /// Parameter names, in declaration order.
    pub names: Vec<String>,
    /// Their types (unknown for a parameter whose type is not valid).
    pub types: Vec<(String, Ty)>,
    /// The values a stage passes, defaults included (empty when the
    /// template is checked on its own); they become [`CompiledExpr::bindings`].
    pub values: Vec<(String, Value)>,
}

/// Whether a diagnostic of a template expression, compiled for one stage,
/// depends on the flow (kept) or only on the template's text (dropped: the
/// template's own check reports it once). `stages.X` names the flow's
/// stages; types can involve them. Syntax, variables and functions do not.
fn depends_on_flow(d: &Diagnostic) -> bool {
    !matches!(
        d.code,
        Code::ExprSyntax | Code::UnknownVariable | Code::UnknownFunction
    )
}

/// A clean result of [`Compiler::compile_as`] and what decided it besides
/// the text.
struct Clean {
    /// A bool was wanted (else text).
    want_bool: bool,
    /// The typed variables in scope.
    vars: Vec<(String, Ty)>,
    /// The compiled expression.
    ast: rhai::AST,
    /// Its type.
    ty: Ty,
}

impl Compiler {
    /// A compiler for a flow with these stage names (what `stages.X` may name).
    pub fn new(stages: Vec<String>) -> Self {
        let mut engine = expr::engine(Arc::new(expr::NoRuns));
        // rhai interns short strings in a 256-entry cache; once full, every
        // new name (a flow has thousands: `stages.u123_a`, literals) scans the
        // whole cache to evict one, which made compiling a large flow cost a
        // third more. Interning only shares memory: off changes no result.
        engine.set_max_strings_interned(0);
        Compiler {
            engine,
            stage_set: stages.iter().cloned().collect(),
            stages,
            types: Mutex::new(Vec::new()),
            clean: Mutex::new(HashMap::new()),
        }
    }

    /// Records the types of the flow's params.
    pub fn declare_params(&self, params: &[Param]) {
        lock(&self.types).extend(params.iter().map(|p| (p.name.clone(), Ty::of_param(p.ty))));
    }

    /// Compiles `e` seeing `variables` (params and lets in scope) and
    /// checks it gives what `want` asks: a bool for a condition
    /// (`Want::Bool("when")`), text for an exported value
    /// (`Want::Text("env NAME")`). Its problems go to `diags`.
    pub fn compile(
        &self,
        want: Want,
        e: &Expr,
        variables: &[String],
        src: SourceId,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<CompiledExpr> {
        let vars = self.in_scope(variables);
        self.compile_as(want, e, variables, vars, src, diags).0
    }

    /// Compiles `e`, written in a template's body, in `scope` (see the
    /// module docs) for a stage built from that template: the result's
    /// [`CompiledExpr::bindings`] are the values the stage passes. Only the
    /// problems that depend on the flow (`stages.X`, types) go to `diags`;
    /// the others belong to the template and [`check_template_expr`]
    /// reports them once.
    pub fn compile_in_template(
        &self,
        want: Want,
        e: &Expr,
        scope: &TemplateScope,
        src: SourceId,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<CompiledExpr> {
        let mut own = Vec::new();
        let compiled = self
            .compile_as(want, e, &scope.names, scope.types.clone(), src, &mut own)
            .0;
        diags.extend(own.into_iter().filter(depends_on_flow));
        compiled.map(|c| CompiledExpr {
            bindings: scope.values.clone(),
            ..c
        })
    }

    /// Compiles `let name = e` (exported as text, too) and records its type
    /// for the expressions after it.
    pub fn compile_let(
        &self,
        name: &str,
        e: &Expr,
        variables: &[String],
        src: SourceId,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<CompiledExpr> {
        let setting = format!("let {name}");
        let vars = self.in_scope(variables);
        let (compiled, ty) = self.compile_as(Want::Text(&setting), e, variables, vars, src, diags);
        // A let whose expression has errors is unknown, so later uses of it
        // are not reported again.
        let ty = if compiled.is_some() { ty } else { Ty::DYNAMIC };
        lock(&self.types).push((name.to_string(), ty));
        compiled
    }

    /// Compiles and type-checks `e` seeing `variables`, typed as `vars`;
    /// the compiled expression (None on any error) and its type.
    fn compile_as(
        &self,
        want: Want,
        e: &Expr,
        variables: &[String],
        vars: Vec<(String, Ty)>,
        src: SourceId,
        diags: &mut Vec<Diagnostic>,
    ) -> (Option<CompiledExpr>, Ty) {
        let want_bool = matches!(want, Want::Bool(_));
        if let Some(Some(seen)) = lock(&self.clean).get(e.source.as_str()) {
            if let Some(hit) = seen
                .iter()
                .find(|c| c.want_bool == want_bool && c.vars == vars)
            {
                let compiled = CompiledExpr {
                    source: e.source.clone(),
                    ast: hit.ast.clone(),
                    bindings: Vec::new(),
                };
                return (Some(compiled), hit.ty);
            }
        }
        let scope = ExprScope {
            variables,
            stages: &self.stages,
        };
        let ast = match expr::compile_indexed(&self.engine, e, &scope, &self.stage_set, src) {
            Ok(ast) => ast,
            Err(errors) => {
                diags.extend(errors);
                return (None, Ty::DYNAMIC);
            }
        };
        let (ty, errors) = expr::check_types(&self.engine, &ast, e, &vars, want, src);
        if !errors.is_empty() {
            diags.extend(errors);
            return (None, ty);
        }
        let mut clean = lock(&self.clean);
        match clean.get_mut(e.source.as_str()) {
            None => {
                clean.insert(e.source.clone(), None);
            }
            Some(slot) => slot.get_or_insert_with(Vec::new).push(Clean {
                want_bool,
                vars,
                ast: ast.clone(),
                ty,
            }),
        }
        let compiled = CompiledExpr {
            source: e.source.clone(),
            ast,
            bindings: Vec::new(),
        };
        (Some(compiled), ty)
    }

    /// The typed variables among `variables` (the names in scope); a name
    /// without a recorded type is unknown.
    fn in_scope(&self, variables: &[String]) -> Vec<(String, Ty)> {
        let types = lock(&self.types);
        variables
            .iter()
            .map(|name| {
                let ty = types
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map_or(Ty::DYNAMIC, |(_, t)| *t);
                (name.clone(), ty)
            })
            .collect()
    }
}

/// `m` locked. A panic while it was held (none is expected) leaves it
/// usable: what it guards is only ever appended to.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Compiles the expressions of a template's body (`when`, `env`) in
/// `scope` (its parameters, no values) and reports their problems, once,
/// at the template: syntax, unknown variables and functions, types. A
/// `stages.X` is checked where a flow uses the template (the stage names
/// are the flow's).
pub(crate) fn check_template(
    compiler: &Compiler,
    items: &[crate::ast::StageItem],
    scope: &TemplateScope,
    src: SourceId,
    diags: &mut Vec<Diagnostic>,
) {
    use crate::ast::StageItem;
    for item in items {
        let mut own = Vec::new();
        match item {
            StageItem::When(e) => {
                compiler.compile_as(
                    Want::Bool("when"),
                    e,
                    &scope.names,
                    scope.types.clone(),
                    src,
                    &mut own,
                );
            }
            StageItem::Env(name, e) => {
                let setting = format!("env {}", name.node);
                compiler.compile_as(
                    Want::Text(&setting),
                    e,
                    &scope.names,
                    scope.types.clone(),
                    src,
                    &mut own,
                );
            }
            _ => {}
        }
        for mut d in own {
            if d.code == Code::UnknownStageRef {
                continue;
            }
            if d.code == Code::UnknownVariable && d.help.as_deref() == Some(expr::SCOPE_HELP) {
                d.help = Some(template_scope_help(&scope.names));
            }
            diags.push(d);
        }
    }
}

/// The help of an unknown variable in a template's expression.
fn template_scope_help(params: &[String]) -> String {
    let list = if params.is_empty() {
        "it has none".to_string()
    } else {
        params
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "a template's expressions see its own parameters ({list}), `run`, `stages` and `env`, not the params or lets of the flow that uses it; declare it as a parameter of the template"
    )
}
