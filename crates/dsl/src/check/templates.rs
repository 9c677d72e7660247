//! Templates: checking their definitions, resolving `lib.name(…)` calls
//! (F0013), and checking call arguments (F0014, F0008, F0015).

use super::exprs::{self, Compiler, TemplateScope};
use super::reserved::{self, Kind};
use super::skills::{self, SkillUse};
use super::{names, params, settings, suggest};
use crate::ast::{ParamDecl, Template, TemplateCall};
use crate::diagnostic::{Code, Diagnostic};
use crate::expr::Ty;
use crate::ir::{ParamType, Value};
use crate::load::Loaded;
use crate::span::{SourceId, Span};
use std::collections::{BTreeMap, HashMap};

/// Where a stage's template comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LibRef {
    /// `Loaded::libraries[i]`.
    Library(usize),
    /// A template of the flow's own file (its library is the file's folder).
    Local,
}

/// A resolved template call.
#[derive(Debug, Clone)]
pub(crate) struct Found<'a> {
    /// The template.
    pub template: &'a Template,
    /// The file that defines it.
    pub source: SourceId,
    /// Its library.
    pub lib: LibRef,
    /// How to name it in messages (`std.agent`).
    pub display: String,
    /// The skills of its library.
    pub skills: &'a BTreeMap<String, SourceId>,
}

/// The value of a template argument's env variable, before the pipeline's
/// library indexes are known.
#[derive(Debug, Clone)]
pub(crate) enum ArgEnv {
    /// Fixed text (the argument's value).
    Text(String),
    /// `skills/NAME.md` of a library (a `skill` argument's `NAME_FILE`).
    File(LibRef, String),
}

/// Checks every template definition: of the main file and of each library.
pub(crate) fn check_definitions(loaded: &Loaded, diags: &mut Vec<Diagnostic>) {
    // No stages: a template's `stages.X` is checked where a flow uses it.
    let compiler = Compiler::new(Vec::new());
    names::duplicates(
        loaded.file.templates.iter().map(|t| &t.name),
        "template",
        loaded.main,
        diags,
    );
    for t in &loaded.file.templates {
        definition(t, loaded.main, &loaded.local_skills, &compiler, diags);
    }
    for lib in &loaded.libraries {
        let mut first: HashMap<&str, (SourceId, Span)> = HashMap::new();
        for lt in &lib.templates {
            let name = &lt.template.name;
            match first.get(name.node.as_str()) {
                Some(&(src, span)) => {
                    let mut d =
                        names::duplicate("template", &name.node, name.span, span, lt.source);
                    if src != lt.source {
                        d.labels.truncate(1);
                        d.message = format!(
                            "template `{}` is declared twice in library `{}` (also in another file of it)",
                            name.node, lib.name
                        );
                    }
                    diags.push(d);
                }
                None => {
                    first.insert(&name.node, (lt.source, name.span));
                }
            }
            definition(&lt.template, lt.source, &lib.skills, &compiler, diags);
        }
    }
}

/// Checks one template: its parameters, defaults and body.
fn definition(
    t: &Template,
    source: SourceId,
    skills: &BTreeMap<String, SourceId>,
    compiler: &Compiler,
    diags: &mut Vec<Diagnostic>,
) {
    let decls: Vec<&ParamDecl> = t.params.iter().collect();
    let checked = params::check(&decls, true, source, diags);
    for p in &t.params {
        reserved::check(
            &p.name,
            Kind::TemplateParam,
            Some(&p.ty.node),
            source,
            diags,
        );
    }
    for (p, c) in t.params.iter().zip(&checked) {
        if let (Some(ParamType::Skill), Some(Value::Str(skill)), Some(lit)) =
            (c.ty, &c.default, &p.default)
        {
            check_skill(skill, lit.span, skills, source, diags);
        }
    }
    settings::body(&t.items, source, diags);
    super::bounds::definition(t, source, diags);
    exprs::check_template(compiler, &t.items, &scope(t), source, diags);
}

/// The scope of `t`'s expressions: its parameters, typed, without values.
pub(crate) fn scope(t: &Template) -> TemplateScope {
    TemplateScope {
        names: t.params.iter().map(|p| p.name.node.clone()).collect(),
        types: t
            .params
            .iter()
            .map(|p| {
                let ty = params::param_type(&p.ty.node).map_or(Ty::DYNAMIC, Ty::of_param);
                (p.name.node.clone(), ty)
            })
            .collect(),
        values: Vec::new(),
    }
}

/// Reports a default skill name with no `skills/NAME.md` in `skills` (a
/// default names a skill of the template's own library).
fn check_skill(
    skill: &str,
    span: Span,
    skills: &BTreeMap<String, SourceId>,
    source: SourceId,
    diags: &mut Vec<Diagnostic>,
) {
    if skills.contains_key(skill) {
        return;
    }
    let mut d = Diagnostic::new(
        Code::MissingSkill,
        source,
        span,
        format!("no skill `{skill}`: the library has no `skills/{skill}.md`"),
    )
    .label("unknown skill");
    let list: Vec<&str> = skills.keys().map(String::as_str).collect();
    let known = if list.is_empty() {
        "it has no skills".to_string()
    } else {
        format!("skills: {}", list.join(", "))
    };
    d = match suggest::did_you_mean(skill, list.iter().copied()) {
        Some(s) => d.help(format!("{s} ({known})")),
        None => d.help(format!(
            "name an existing skill ({known}), or add skills/{skill}.md to the library"
        )),
    };
    diags.push(d);
}

/// Resolves `call` (in file `src`) to a template, or reports F0013.
pub(crate) fn resolve<'a>(
    call: &TemplateCall,
    src: SourceId,
    loaded: &'a Loaded,
    diags: &mut Vec<Diagnostic>,
) -> Option<Found<'a>> {
    let name = &call.name.node;
    let Some(lib_name) = &call.library else {
        let found = loaded.file.templates.iter().find(|t| t.name.node == *name);
        return match found {
            Some(template) => Some(Found {
                template,
                source: loaded.main,
                lib: LibRef::Local,
                display: name.clone(),
                skills: &loaded.local_skills,
            }),
            None => {
                let candidates = || loaded.file.templates.iter().map(|t| t.name.node.as_str());
                let help = suggest::did_you_mean(name, candidates()).unwrap_or_else(|| {
                    "declare `template NAME(…) { … }` in this file, or call a library's template as `lib.NAME(…)`".into()
                });
                let d = Diagnostic::new(
                    Code::UnknownTemplate,
                    src,
                    call.name.span,
                    format!("no template `{name}` in this file"),
                )
                .label("unknown template")
                .help(help);
                diags.push(suggest::with_fix(d, name, call.name.span, candidates()));
                None
            }
        };
    };
    let Some((index, lib)) = loaded
        .libraries
        .iter()
        .enumerate()
        .find(|(_, l)| l.name == lib_name.node)
    else {
        if loaded.failed.contains(&lib_name.node) {
            return None; // its import was reported
        }
        let candidates: Vec<&str> = loaded.libraries.iter().map(|l| l.name.as_str()).collect();
        let help = match suggest::did_you_mean(&lib_name.node, candidates.iter().copied()) {
            Some(s) => s,
            None if lib_name.node == "std" => "add `use std` at the top of the file".into(),
            None => format!(
                "import it first: `use \"path/to/{0}\" as {0}`",
                lib_name.node
            ),
        };
        let d = Diagnostic::new(
            Code::UnknownTemplate,
            src,
            lib_name.span,
            format!("no library `{}` is imported", lib_name.node),
        )
        .label("unknown library")
        .help(help);
        diags.push(suggest::with_fix(
            d,
            &lib_name.node,
            lib_name.span,
            candidates.iter().copied(),
        ));
        return None;
    };
    match lib.templates.iter().find(|t| t.template.name.node == *name) {
        Some(lt) => Some(Found {
            template: &lt.template,
            source: lt.source,
            lib: LibRef::Library(index),
            display: format!("{}.{name}", lib.name),
            skills: &lib.skills,
        }),
        None => {
            let names: Vec<&str> = lib
                .templates
                .iter()
                .map(|t| t.template.name.node.as_str())
                .collect();
            let help = suggest::did_you_mean(name, names.iter().copied()).unwrap_or_else(|| {
                format!(
                    "templates of `{}`: {}",
                    lib.name,
                    if names.is_empty() {
                        "none".into()
                    } else {
                        names.join(", ")
                    }
                )
            });
            let d = Diagnostic::new(
                Code::UnknownTemplate,
                src,
                call.name.span,
                format!("library `{}` has no template `{name}`", lib.name),
            )
            .label("unknown template")
            .help(help);
            diags.push(suggest::with_fix(
                d,
                name,
                call.name.span,
                names.iter().copied(),
            ));
            None
        }
    }
}

/// A template parameter's name and the value a stage passes it.
pub(crate) type Bound = (String, Value);

/// The arguments of one call, checked.
#[derive(Debug, Clone, Default)]
pub(crate) struct Args {
    /// Env entries: the upper-cased parameter name → the value's text, and
    /// for every `skill`-typed parameter, whatever its name, also
    /// `NAME_FILE` → the skill file (`skills/plan.md` of its library).
    pub env: Vec<(String, ArgEnv)>,
    /// Typed values by parameter name (what the template's expressions see).
    pub values: Vec<Bound>,
    /// The skills the `skill` arguments (and defaults) name.
    pub skills: Vec<SkillUse>,
}

/// Checks the arguments of `call` against `found`'s parameters and returns
/// them, defaults included. A parameter whose argument is missing or
/// invalid is left out (it is reported).
pub(crate) fn args(
    call: &TemplateCall,
    found: &Found,
    src: SourceId,
    loaded: &Loaded,
    diags: &mut Vec<Diagnostic>,
) -> Args {
    let params = &found.template.params;
    let signature = || {
        let list: Vec<String> = params
            .iter()
            .map(|p| {
                let ty = params::param_type(&p.ty.node).map_or("?".to_string(), |t| t.to_string());
                if p.default.is_some() {
                    format!("{}: {ty} = …", p.name.node)
                } else {
                    format!("{}: {ty}", p.name.node)
                }
            })
            .collect();
        format!("{}({})", found.display, list.join(", "))
    };
    let mut given: HashMap<&str, Span> = HashMap::new();
    let mut values: HashMap<&str, Value> = HashMap::new();
    let mut refs: HashMap<&str, SkillUse> = HashMap::new();
    for arg in &call.args {
        let name = arg.name.node.as_str();
        if let Some(first) = given.get(name) {
            diags.push(
                Diagnostic::new(
                    Code::TemplateArgs,
                    src,
                    arg.name.span,
                    format!("argument `{name}` is given twice"),
                )
                .label("given again here")
                .secondary(*first, "first given here")
                .help("remove one of them"),
            );
            continue;
        }
        given.insert(name, arg.name.span);
        let Some(param) = params.iter().find(|p| p.name.node == name) else {
            let help =
                match suggest::did_you_mean(name, params.iter().map(|p| p.name.node.as_str())) {
                    Some(s) => format!("{s} (the template is {})", signature()),
                    None => format!("the template is {}", signature()),
                };
            let d = Diagnostic::new(
                Code::TemplateArgs,
                src,
                arg.name.span,
                format!("template `{}` has no parameter `{name}`", found.display),
            )
            .label("unknown argument")
            .help(help);
            diags.push(suggest::with_fix(
                d,
                name,
                arg.name.span,
                params.iter().map(|p| p.name.node.as_str()),
            ));
            continue;
        };
        let Some(ty) = params::param_type(&param.ty.node) else {
            continue;
        };
        if let Some(value) = params::typed(&arg.value, ty, src, diags) {
            if let (ParamType::Skill, Value::Str(skill)) = (ty, &value) {
                let span = arg.value.span;
                match skills::resolve(skill, span, src, found, loaded, diags) {
                    Some(skill) => {
                        refs.insert(name, SkillUse { src, span, skill });
                    }
                    None => continue,
                }
            }
            values.insert(name, value);
        }
    }
    let mut out = Args::default();
    for p in params {
        let name = p.name.node.as_str();
        let value = match (values.remove(name), &p.default) {
            (Some(v), _) => v,
            (None, Some(default)) if !given.contains_key(name) => {
                // Defaults were type-checked on the definition; convert quietly.
                match params::param_type(&p.ty.node)
                    .and_then(|ty| params::typed(default, ty, src, &mut Vec::new()))
                {
                    Some(v) => v,
                    None => continue,
                }
            }
            (None, None) if !given.contains_key(name) => {
                diags.push(
                    Diagnostic::new(
                        Code::TemplateArgs,
                        src,
                        call.span,
                        format!("missing argument `{name}` of template `{}`", found.display),
                    )
                    .label(format!("`{name}` is required"))
                    .help(format!(
                        "pass it by name: `{name}: …` (the template is {})",
                        signature()
                    )),
                );
                continue;
            }
            // Given but invalid: already reported.
            _ => continue,
        };
        let upper = name.to_uppercase();
        let skill_use = match (params::param_type(&p.ty.node), &value) {
            (Some(ParamType::Skill), Value::Str(skill)) => match refs.remove(name) {
                Some(u) => Some(u),
                // A default: a skill of the template's library, checked at
                // the definition (left out here when it is missing).
                None => match found.skills.get(skill.as_str()) {
                    Some(&source) => Some(SkillUse {
                        src: found.source,
                        span: p.default.as_ref().map_or(p.name.span, |d| d.span),
                        skill: skills::SkillRef {
                            lib: found.lib,
                            name: skill.clone(),
                            source,
                        },
                    }),
                    None => continue,
                },
            },
            _ => None,
        };
        out.env.push((upper.clone(), ArgEnv::Text(value.to_env())));
        if let Some(u) = skill_use {
            let file = format!("skills/{}.md", u.skill.name);
            out.env
                .push((format!("{upper}_FILE"), ArgEnv::File(u.skill.lib, file)));
            out.skills.push(u);
        }
        out.values.push((name.to_string(), value));
    }
    out
}
