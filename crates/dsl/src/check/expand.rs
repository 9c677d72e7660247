//! A stage after template expansion: the template's body, then the stage's
//! own items; list-like items (`needs`, `outputs`, `optional outputs`,
//! `env`, routes) add,
//! single settings replace. Every item keeps the file it comes from, so a
//! diagnostic about a template's item points into the library file.

use super::exprs::TemplateScope;
use super::skills::SkillUse;
use super::templates::{self, ArgEnv, LibRef};
use crate::ast::{
    BudgetDecl, DurationLit, Expr, Ident, ParamOr, RetryDecl, RouteDecl, Spanned, StageDecl,
    StageItem,
};
use crate::diagnostic::Diagnostic;
use crate::load::Loaded;
use crate::span::{SourceId, Span};

/// A reference to an AST node with the file it is in.
#[derive(Debug)]
pub(crate) struct At<'a, T> {
    /// The file.
    pub src: SourceId,
    /// The node.
    pub node: &'a T,
    /// True when it comes from the stage's template (its expressions see
    /// the template's parameters, [`Expanded::template`]).
    pub from_template: bool,
}

impl<T> Clone for At<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for At<'_, T> {}

/// An `env NAME = EXPR` item with its file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EnvAt<'a> {
    /// The file.
    pub src: SourceId,
    /// True when it comes from the stage's template.
    pub from_template: bool,
    /// The variable.
    pub name: &'a Ident,
    /// Its expression.
    pub expr: &'a Expr,
}

/// One stage with its template merged in.
#[derive(Debug, Clone)]
pub(crate) struct Expanded<'a> {
    /// The declaration.
    pub decl: &'a StageDecl,
    /// The flow's file.
    pub src: SourceId,
    /// The library of its template, if built from one.
    pub library: Option<LibRef>,
    /// Template arguments (defaults included) as env: upper-cased name →
    /// text, and `NAME_FILE` → library file for `skill` parameters.
    pub args_env: Vec<(String, ArgEnv)>,
    /// The skills its `skill` arguments name.
    pub skills: Vec<SkillUse>,
    /// What the template's expressions see: its parameters with the
    /// arguments of this stage (defaults included).
    pub template: TemplateScope,
    /// `needs`, the template's first.
    pub needs: Vec<At<'a, Ident>>,
    /// `run` (a script). A stage's own `run` replaces its template's
    /// `run builtin`, and the other way round.
    pub run: Option<At<'a, Spanned<String>>>,
    /// `run builtin "NAME"`: the name of the program's builtin.
    pub builtin: Option<At<'a, Spanned<String>>>,
    /// `timeout`.
    pub timeout: Option<At<'a, Spanned<DurationLit>>>,
    /// `grace`.
    pub grace: Option<At<'a, Spanned<DurationLit>>>,
    /// `idle`.
    pub idle: Option<At<'a, Spanned<DurationLit>>>,
    /// `budget`.
    pub budget: Option<At<'a, BudgetDecl>>,
    /// `approval`: the decisions a person may give.
    pub approval: Option<At<'a, Vec<Spanned<String>>>>,
    /// `retry`.
    pub retry: Option<At<'a, RetryDecl>>,
    /// `outputs` (required).
    pub outputs: Vec<At<'a, Spanned<String>>>,
    /// `optional outputs`.
    pub optional_outputs: Vec<At<'a, Spanned<String>>>,
    /// `shell` (the stage's, else its template's).
    pub shell: Option<At<'a, Spanned<String>>>,
    /// `when`.
    pub when: Option<At<'a, Expr>>,
    /// `env` items.
    pub env: Vec<EnvAt<'a>>,
    /// `status`.
    pub status: Option<At<'a, Ident>>,
    /// `max`.
    pub max: Option<At<'a, ParamOr<Spanned<i64>>>>,
    /// `allow_failure`.
    pub allow_failure: Option<At<'a, Span>>,
    /// `ends run`.
    pub ends_run: Option<At<'a, Ident>>,
    /// Routes, the template's first.
    pub routes: Vec<At<'a, RouteDecl>>,
}

impl<'a> Expanded<'a> {
    /// True with `status json` (own or from the template).
    pub fn status_json(&self) -> bool {
        self.status.is_some_and(|s| s.node.node == "json")
    }

    /// Every output pattern, required ones first.
    pub fn all_outputs(&self) -> impl Iterator<Item = &At<'a, Spanned<String>>> {
        self.outputs.iter().chain(&self.optional_outputs)
    }

    /// Merges `items` of file `src` (the template's body when
    /// `from_template`) over what is there.
    fn apply(&mut self, items: &'a [StageItem], src: SourceId, from_template: bool) {
        let ft = from_template;
        for item in items {
            match item {
                StageItem::Needs(n) => self.needs.extend(n.iter().map(|node| At {
                    src,
                    node,
                    from_template: ft,
                })),
                StageItem::Run(r) => {
                    self.builtin = None;
                    self.run = Some(At {
                        src,
                        from_template: ft,
                        node: r,
                    })
                }
                StageItem::RunBuiltin(b) => {
                    self.run = None;
                    self.builtin = Some(At {
                        src,
                        from_template: ft,
                        node: b,
                    })
                }
                StageItem::Timeout(t) => {
                    self.timeout = Some(At {
                        src,
                        from_template: ft,
                        node: t,
                    })
                }
                StageItem::Grace(g) => {
                    self.grace = Some(At {
                        src,
                        from_template: ft,
                        node: g,
                    })
                }
                StageItem::Idle(d) => {
                    self.idle = Some(At {
                        src,
                        from_template: ft,
                        node: d,
                    })
                }
                StageItem::Budget(b) => {
                    self.budget = Some(At {
                        src,
                        from_template: ft,
                        node: b,
                    })
                }
                StageItem::Approval(a) => {
                    self.approval = Some(At {
                        src,
                        from_template: ft,
                        node: a,
                    })
                }
                StageItem::Retry(r) => {
                    self.retry = Some(At {
                        src,
                        from_template: ft,
                        node: r,
                    })
                }
                StageItem::Outputs(o) => self.outputs.extend(o.iter().map(|node| At {
                    src,
                    node,
                    from_template: ft,
                })),
                StageItem::OptionalOutputs(o) => {
                    self.optional_outputs.extend(o.iter().map(|node| At {
                        src,
                        node,
                        from_template: ft,
                    }))
                }
                StageItem::Shell(s) => {
                    self.shell = Some(At {
                        src,
                        from_template: ft,
                        node: s,
                    })
                }
                StageItem::When(w) => {
                    self.when = Some(At {
                        src,
                        from_template: ft,
                        node: w,
                    })
                }
                StageItem::Env(name, expr) => self.env.push(EnvAt {
                    src,
                    from_template: ft,
                    name,
                    expr,
                }),
                StageItem::Status(s) => {
                    self.status = Some(At {
                        src,
                        from_template: ft,
                        node: s,
                    })
                }
                StageItem::Max(m) => {
                    self.max = Some(At {
                        src,
                        from_template: ft,
                        node: m,
                    })
                }
                StageItem::AllowFailure(s) => {
                    self.allow_failure = Some(At {
                        src,
                        from_template: ft,
                        node: s,
                    })
                }
                StageItem::EndsRun(n) => {
                    self.ends_run = Some(At {
                        src,
                        from_template: ft,
                        node: n,
                    })
                }
                StageItem::Route(r) => self.routes.push(At {
                    src,
                    from_template: ft,
                    node: r,
                }),
            }
        }
    }
}

/// Expands `decl` (of the flow in file `src`): resolves its template call,
/// checks the arguments, and merges the bodies. A template that cannot be
/// resolved is reported and left out (the stage keeps its own items).
pub(crate) fn expand<'a>(
    decl: &'a StageDecl,
    src: SourceId,
    loaded: &'a Loaded,
    diags: &mut Vec<Diagnostic>,
) -> Expanded<'a> {
    let mut stage = Expanded {
        decl,
        src,
        library: None,
        args_env: Vec::new(),
        skills: Vec::new(),
        template: TemplateScope::default(),
        needs: Vec::new(),
        run: None,
        builtin: None,
        timeout: None,
        grace: None,
        idle: None,
        budget: None,
        approval: None,
        retry: None,
        outputs: Vec::new(),
        optional_outputs: Vec::new(),
        shell: None,
        when: None,
        env: Vec::new(),
        status: None,
        max: None,
        allow_failure: None,
        ends_run: None,
        routes: Vec::new(),
    };
    if let Some(call) = &decl.template {
        if let Some(found) = templates::resolve(call, src, loaded, diags) {
            let args = templates::args(call, &found, src, loaded, diags);
            stage.args_env = args.env;
            stage.skills = args.skills;
            stage.template = TemplateScope {
                values: args.values,
                ..templates::scope(found.template)
            };
            stage.library = Some(found.lib);
            stage.apply(&found.template.items, found.source, true);
        }
    }
    stage.apply(&decl.items, src, false);
    stage
}
