//! `max PARAM` and `again after PARAM`: a setting whose value is a param.
//!
//! In a template's body the name is one of the template's parameters: the
//! definition is checked once ([`definition`]: the name exists, has the
//! right type, its default is in range), and each stage built from the
//! template gets the value it passes (checked for range). In a stage's own
//! items the name is a flow param: its type and its default are checked
//! here, and the pipeline records the setting
//! ([`crate::ir::ParamSetting`]) so the runtime binds the run's value before
//! anything runs ([`crate::ir::Pipeline::bind_params`]).

use super::expand::Expanded;
use super::params;
use crate::ast::{Ident, ParamDecl, ParamOr, RouteTargetDecl, StageItem, Template};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{self, ParamType, Value};
use crate::span::SourceId;

/// Which setting a param gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Setting {
    /// `max`: an int from 1 to `u32::MAX`.
    Max,
    /// `again after`: a duration of at most [`ir::MAX_DURATION`].
    Again,
}

impl Setting {
    fn keyword(self) -> &'static str {
        match self {
            Setting::Max => "max",
            Setting::Again => "again after",
        }
    }

    fn ty(self) -> ParamType {
        match self {
            Setting::Max => ParamType::Int,
            Setting::Again => ParamType::Duration,
        }
    }
}

fn check_value(setting: Setting, value: &Value) -> Result<(), String> {
    match setting {
        Setting::Max => ir::max_visits_of(value).map(|_| ()),
        Setting::Again => ir::again_delay_of(value).map(|_| ()),
    }
}

fn unknown(
    name: &Ident,
    setting: Setting,
    decls: &[&ParamDecl],
    whose: &str,
    src: SourceId,
) -> Diagnostic {
    let candidates = || decls.iter().map(|d| d.name.node.as_str());
    let help = super::suggest::did_you_mean(&name.node, candidates()).unwrap_or_else(|| {
        format!(
            "declare it (`{}: {}`), or write the value",
            name.node,
            setting.ty()
        )
    });
    let d = Diagnostic::new(
        Code::UnknownSettingParam,
        src,
        name.span,
        format!(
            "`{} {}`: {whose} has no param `{}`",
            setting.keyword(),
            name.node,
            name.node
        ),
    )
    .label("no such param")
    .help(help);
    super::suggest::with_fix(d, &name.node, name.span, candidates())
}

fn wrong_type(name: &Ident, setting: Setting, ty: ParamType, src: SourceId) -> Diagnostic {
    Diagnostic::new(
        Code::TypeMismatch,
        src,
        name.span,
        format!(
            "`{} {}`: param `{}` is a {ty}, not a {}",
            setting.keyword(),
            name.node,
            name.node,
            setting.ty()
        ),
    )
    .label(format!("needs a {}", setting.ty()))
    .help(format!("declare `{}: {}`", name.node, setting.ty()))
}

fn out_of_range(name: &Ident, message: String, src: SourceId) -> Diagnostic {
    Diagnostic::new(Code::BadValue, src, name.span, message)
        .label("out of range")
        .help(format!("give `{}` a value in range", name.node))
}

/// Checks a param named by a setting: exists, has the type, default in range.
fn check_decl(
    name: &Ident,
    setting: Setting,
    decls: &[&ParamDecl],
    whose: &str,
    src: SourceId,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(decl) = decls.iter().find(|d| d.name.node == name.node) else {
        diags.push(unknown(name, setting, decls, whose, src));
        return;
    };
    let Some(ty) = params::param_type(&decl.ty.node) else {
        return; // an unknown type is reported on the declaration
    };
    if ty != setting.ty() {
        diags.push(wrong_type(name, setting, ty, src));
        return;
    }
    if let Some(default) = &decl.default {
        if let Some(value) = params::typed(default, ty, src, &mut Vec::new()) {
            if let Err(why) = check_value(setting, &value) {
                diags.push(out_of_range(
                    name,
                    format!(
                        "param `{}` defaults to {}: {why}",
                        name.node,
                        value.to_env()
                    ),
                    src,
                ));
            }
        }
    }
}

/// The settings of `items` that name a param.
fn named(items: &[StageItem]) -> Vec<(&Ident, Setting)> {
    let mut out = Vec::new();
    for item in items {
        match item {
            StageItem::Max(ParamOr::Param(p)) => out.push((p, Setting::Max)),
            StageItem::Route(r) => {
                if let RouteTargetDecl::Again(ParamOr::Param(p)) = &r.target {
                    out.push((p, Setting::Again));
                }
            }
            _ => {}
        }
    }
    out
}

/// Checks a template's `max`/`again after` that name a parameter.
pub(crate) fn definition(t: &Template, src: SourceId, diags: &mut Vec<Diagnostic>) {
    let decls: Vec<&ParamDecl> = t.params.iter().collect();
    let whose = format!("template `{}`", t.name.node);
    for (name, setting) in named(&t.items) {
        check_decl(name, setting, &decls, &whose, src, diags);
    }
}

/// Checks a stage's own `max`/`again after` that name a flow param.
pub(crate) fn stage(stage: &Expanded, flow_params: &[&ParamDecl], diags: &mut Vec<Diagnostic>) {
    for (name, setting) in named(&stage.decl.items) {
        check_decl(name, setting, flow_params, "the flow", stage.src, diags);
    }
}

/// What a setting that names a param resolves to in one stage.
pub(crate) enum Resolved {
    /// A template parameter: the value this stage passes (valid).
    Value(Value),
    /// A flow param, bound at run time.
    FlowParam(String),
    /// Reported, or the argument was invalid (reported elsewhere).
    Invalid,
}

/// Resolves `name` (written in the template's body when `from_template`)
/// for `stage`; a template argument out of range is reported at the call.
pub(crate) fn resolve(
    name: &Ident,
    setting: Setting,
    from_template: bool,
    stage: &Expanded,
    diags: &mut Vec<Diagnostic>,
) -> Resolved {
    if !from_template {
        return Resolved::FlowParam(name.node.clone());
    }
    let Some((_, value)) = stage.template.values.iter().find(|(n, _)| *n == name.node) else {
        return Resolved::Invalid;
    };
    match check_value(setting, value) {
        Ok(()) => Resolved::Value(value.clone()),
        Err(why) => {
            if let Some(call) = &stage.decl.template {
                diags.push(
                    Diagnostic::new(
                        Code::BadValue,
                        stage.src,
                        call.span,
                        format!(
                            "stage `{}` passes `{}` = {} to `{} {}`: {why}",
                            stage.decl.name.node,
                            name.node,
                            value.to_env(),
                            setting.keyword(),
                            name.node
                        ),
                    )
                    .label("out of range")
                    .help(format!("pass `{}` a value in range", name.node)),
                );
            }
            Resolved::Invalid
        }
    }
}
