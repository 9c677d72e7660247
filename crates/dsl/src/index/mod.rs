//! A symbol index of one parsed file, for editors (`flow lsp`): where each
//! flow, stage, param, let, env, secret, template and template parameter is
//! declared and every place the file uses it (`needs`, routes, alerts,
//! `max`/`again after` params, template calls and their argument names,
//! and names inside expressions). Pure: built from an [`ast::File`].
//!
//! Names resolve as the checker scopes them (docs/language.md): a flow's
//! expressions see its params and lets and `stages.NAME` its stages; a
//! template's expressions see only its own parameters. A name that resolves
//! to nothing (a typo the checker reports) is not a reference.

use crate::ast::{self, FlowItem, Ident, ParamOr, RouteTargetDecl, StageItem};
use crate::expr::{names, ExprName};
use crate::span::Span;

#[cfg(test)]
mod tests;

/// What a [`Symbol`] declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolKind {
    /// `flow NAME { … }`.
    Flow,
    /// `stage NAME` or `finally NAME`.
    Stage,
    /// `param NAME: TYPE` of a flow.
    Param,
    /// `let NAME = EXPR`.
    Let,
    /// A flow's `env NAME = EXPR`.
    Env,
    /// `secret NAME`.
    Secret,
    /// `template NAME(…) { … }`.
    Template,
    /// A parameter of a template.
    TemplateParam,
}

/// Where a name is visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The whole file (flows, templates).
    File,
    /// The flow `file.flows[i]`.
    Flow(usize),
    /// The template `file.templates[i]`.
    Template(usize),
}

/// One declared name and its uses in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Symbol {
    /// What it is.
    pub kind: SymbolKind,
    /// The name as written.
    pub name: String,
    /// Where it is visible.
    pub scope: Scope,
    /// The name in its declaration.
    pub def: Span,
    /// The whole declaration (a stage's block, a param's line).
    pub decl: Span,
    /// Every use, in source order (the declaration not included).
    pub refs: Vec<Span>,
}

/// A call of a template (`std.agent(skill: "plan")` or `mine(…)`), kept
/// so a caller that knows the libraries can resolve it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallSite {
    /// The stage built from it (an index into [`Index::symbols`]).
    pub stage: usize,
    /// The call as written.
    pub call: ast::TemplateCall,
}

/// The symbols of one file and the sites that point outside it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Index {
    /// Every declaration, in source order within each scope.
    pub symbols: Vec<Symbol>,
    /// Every template call.
    pub calls: Vec<CallSite>,
    /// Every `use` item.
    pub uses: Vec<ast::Use>,
}

/// What is at an offset of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    /// A symbol's declaration or one of its uses (the span is the name there).
    Symbol(usize, Span),
    /// The library name of a call (`std` in `std.agent`).
    CallLibrary(usize),
    /// The template name of a call (`agent`), not resolved to a symbol of
    /// this file.
    CallTemplate(usize),
    /// The name of argument `arg` of call `call`, not resolved here.
    CallArgName(usize, usize),
    /// The value of argument `arg` of call `call` (a skill's name, say).
    CallArgValue(usize, usize),
    /// The alias or path of a `use` item.
    Use(usize),
}

impl Index {
    /// Indexes `file`.
    pub fn build(file: &ast::File) -> Index {
        let mut ix = Index {
            uses: file.uses.clone(),
            ..Index::default()
        };
        for (ti, t) in file.templates.iter().enumerate() {
            ix.declare(SymbolKind::Template, &t.name, t.span, Scope::File);
            for p in &t.params {
                ix.declare(
                    SymbolKind::TemplateParam,
                    &p.name,
                    p.span,
                    Scope::Template(ti),
                );
            }
        }
        for (fi, flow) in file.flows.iter().enumerate() {
            ix.declare(SymbolKind::Flow, &flow.name, flow.span, Scope::File);
            let scope = Scope::Flow(fi);
            for item in &flow.items {
                match item {
                    FlowItem::Param(p) => ix.declare(SymbolKind::Param, &p.name, p.span, scope),
                    FlowItem::Let(name, e) => {
                        ix.declare(SymbolKind::Let, name, name.span.join(e.span), scope)
                    }
                    FlowItem::Env(name, e) => {
                        ix.declare(SymbolKind::Env, name, name.span.join(e.span), scope)
                    }
                    FlowItem::Secret(name) => {
                        ix.declare(SymbolKind::Secret, name, name.span, scope)
                    }
                    FlowItem::Stage(s) | FlowItem::Finally(s) => {
                        ix.declare(SymbolKind::Stage, &s.name, s.span, scope)
                    }
                    _ => {}
                }
            }
        }
        for (ti, t) in file.templates.iter().enumerate() {
            ix.stage_items(&t.items, Scope::Template(ti));
        }
        for (fi, flow) in file.flows.iter().enumerate() {
            let scope = Scope::Flow(fi);
            for item in &flow.items {
                match item {
                    FlowItem::SkipIf(e) | FlowItem::Let(_, e) | FlowItem::Env(_, e) => {
                        ix.expr(e, scope)
                    }
                    FlowItem::Alert(a) => {
                        if let Some(s) = &a.stage {
                            ix.use_name(SymbolKind::Stage, s, scope);
                        }
                    }
                    FlowItem::Stage(s) | FlowItem::Finally(s) => {
                        if let Some(call) = &s.template {
                            ix.call(call, &s.name, scope, file);
                        }
                        ix.stage_items(&s.items, scope);
                    }
                    _ => {}
                }
            }
        }
        for s in &mut ix.symbols {
            s.refs.sort();
            s.refs.dedup();
        }
        ix
    }

    /// What is at byte `offset`: a name whose span contains it, or ends
    /// right at it (the cursor just after a word).
    pub fn at(&self, offset: usize) -> Option<Hit> {
        let on = |s: Span| s.start <= offset && offset <= s.end;
        for (i, sym) in self.symbols.iter().enumerate() {
            if on(sym.def) {
                return Some(Hit::Symbol(i, sym.def));
            }
            if let Some(r) = sym.refs.iter().find(|r| on(**r)) {
                return Some(Hit::Symbol(i, *r));
            }
        }
        for (i, c) in self.calls.iter().enumerate() {
            if c.call.library.as_ref().is_some_and(|l| on(l.span)) {
                return Some(Hit::CallLibrary(i));
            }
            if on(c.call.name.span) {
                return Some(Hit::CallTemplate(i));
            }
            for (a, arg) in c.call.args.iter().enumerate() {
                if on(arg.name.span) {
                    return Some(Hit::CallArgName(i, a));
                }
                if on(arg.value.span) {
                    return Some(Hit::CallArgValue(i, a));
                }
            }
        }
        self.uses
            .iter()
            .position(|u| on(u.alias.span) || u.path.as_ref().is_some_and(|p| on(p.span)))
            .map(Hit::Use)
    }

    /// The symbol of `kind` named `name` visible in `scope`, if declared.
    pub fn find(&self, kind: SymbolKind, name: &str, scope: Scope) -> Option<usize> {
        self.symbols
            .iter()
            .position(|s| s.kind == kind && s.name == name && s.scope == scope)
    }

    /// The symbols declared in `scope`.
    pub fn in_scope(&self, scope: Scope) -> impl Iterator<Item = &Symbol> {
        self.symbols.iter().filter(move |s| s.scope == scope)
    }

    fn declare(&mut self, kind: SymbolKind, name: &Ident, decl: Span, scope: Scope) {
        self.symbols.push(Symbol {
            kind,
            name: name.node.clone(),
            scope,
            def: name.span,
            decl,
            refs: Vec::new(),
        });
    }

    /// Records a use of `name` as a `kind` of `scope` (nothing when no such
    /// symbol is declared).
    fn use_name(&mut self, kind: SymbolKind, name: &Ident, scope: Scope) {
        self.use_at(kind, &name.node, name.span, scope);
    }

    fn use_at(&mut self, kind: SymbolKind, name: &str, span: Span, scope: Scope) {
        if let Some(i) = self.find(kind, name, scope) {
            self.symbols[i].refs.push(span);
        }
    }

    /// The variables of an expression: a flow's params and lets, or a
    /// template's parameters; its `stages.NAME`.
    fn expr(&mut self, e: &ast::Expr, scope: Scope) {
        for name in names(e) {
            match (name, scope) {
                (ExprName::Variable(v, span), Scope::Template(_)) => {
                    self.use_at(SymbolKind::TemplateParam, &v, span, scope)
                }
                (ExprName::Variable(v, span), _) => {
                    // A let may shadow nothing: params and lets share a namespace.
                    match self.find(SymbolKind::Param, &v, scope) {
                        Some(i) => self.symbols[i].refs.push(span),
                        None => self.use_at(SymbolKind::Let, &v, span, scope),
                    }
                }
                (ExprName::Stage(s, span), Scope::Flow(_)) => {
                    self.use_at(SymbolKind::Stage, &s, span, scope)
                }
                // `stages.X` in a template names the using flow's stages.
                (ExprName::Stage(..), _) => {}
            }
        }
    }

    /// `needs`, route targets, `max`/`again after` params and expressions
    /// of a stage's (or template's) items.
    fn stage_items(&mut self, items: &[StageItem], scope: Scope) {
        let param_kind = match scope {
            Scope::Template(_) => SymbolKind::TemplateParam,
            _ => SymbolKind::Param,
        };
        for item in items {
            match item {
                StageItem::Needs(names) => {
                    for n in names {
                        self.use_name(SymbolKind::Stage, n, scope);
                    }
                }
                StageItem::Route(r) => match &r.target {
                    RouteTargetDecl::Stage(n) => self.use_name(SymbolKind::Stage, n, scope),
                    RouteTargetDecl::Again(ParamOr::Param(p)) => {
                        self.use_name(param_kind, p, scope)
                    }
                    RouteTargetDecl::Again(ParamOr::Value(_)) => {}
                },
                StageItem::Max(ParamOr::Param(p)) => self.use_name(param_kind, p, scope),
                StageItem::When(e) | StageItem::Env(_, e) => self.expr(e, scope),
                _ => {}
            }
        }
    }

    /// A template call of stage `stage`: a template of this file and its
    /// argument names are uses of its symbols; every call is kept.
    fn call(&mut self, call: &ast::TemplateCall, stage: &Ident, scope: Scope, file: &ast::File) {
        let Some(stage) = self.find(SymbolKind::Stage, &stage.node, scope) else {
            return;
        };
        if call.library.is_none() {
            if let Some(ti) = file
                .templates
                .iter()
                .position(|t| t.name.node == call.name.node)
            {
                self.use_name(SymbolKind::Template, &call.name, Scope::File);
                for arg in &call.args {
                    self.use_name(SymbolKind::TemplateParam, &arg.name, Scope::Template(ti));
                }
            }
        }
        self.calls.push(CallSite {
            stage,
            call: call.clone(),
        });
    }
}
