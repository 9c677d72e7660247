//! Skill references: the value of a `skill` argument (F0015), and what a
//! stage's skills declare (their front matter, F0036/F0115; their outputs,
//! F0116).
//!
//! A reference is one of:
//! - `"NAME"`: `skills/NAME.md` of the template's own library;
//! - `"LIB.NAME"`: `skills/NAME.md` of the library imported `as LIB` (the
//!   text before the first `.` is the library);
//! - `"./NAME"`: `skills/NAME.md` beside the flow file (the project).

use super::expand::Expanded;
use super::front_matter;
use super::suggest;
use super::templates::{Found, LibRef};
use crate::diagnostic::{Code, Diagnostic};
use crate::load::Loaded;
use crate::span::{SourceId, Span};
use std::collections::BTreeMap;

/// A resolved skill reference.
#[derive(Debug, Clone)]
pub(crate) struct SkillRef {
    /// The library whose `skills/` holds it.
    pub lib: LibRef,
    /// `NAME` (the file is `skills/NAME.md` of [`SkillRef::lib`]).
    pub name: String,
    /// The skill file in the loaded sources.
    pub source: SourceId,
}

/// A skill a stage uses: where the reference is, and the file.
#[derive(Debug, Clone)]
pub(crate) struct SkillUse {
    /// The file holding the reference (the flow, or a library file for a
    /// template's default).
    pub src: SourceId,
    /// The reference's span (the argument's value).
    pub span: Span,
    /// The skill.
    pub skill: SkillRef,
}

/// Resolves the reference `value` (at `span` of `src`) made for a template
/// of `found`, reporting F0015 when it names no skill.
pub(crate) fn resolve(
    value: &str,
    span: Span,
    src: SourceId,
    found: &Found,
    loaded: &Loaded,
    diags: &mut Vec<Diagnostic>,
) -> Option<SkillRef> {
    let missing =
        |message: String, skills: &BTreeMap<String, SourceId>, prefix: &str, add: &str| {
            let names: Vec<String> = skills.keys().map(|k| format!("{prefix}{k}")).collect();
            let known = if names.is_empty() {
                "it has no skills".to_string()
            } else {
                format!("skills: {}", names.join(", "))
            };
            let d = Diagnostic::new(Code::MissingSkill, src, span, message).label("unknown skill");
            let d = match suggest::did_you_mean(value, names.iter().map(String::as_str)) {
                Some(s) => d.help(format!("{s} ({known})")),
                None => d.help(format!("name an existing skill ({known}), or add {add}")),
            };
            suggest::with_fix(
                d,
                value,
                inside_quotes(span),
                names.iter().map(String::as_str),
            )
        };
    if let Some(name) = value.strip_prefix("./") {
        return match loaded.local_skills.get(name) {
            Some(&source) => Some(SkillRef {
                lib: LibRef::Local,
                name: name.to_string(),
                source,
            }),
            None => {
                diags.push(missing(
                    format!(
                        "no skill `{value}`: there is no `skills/{name}.md` beside the flow file"
                    ),
                    &loaded.local_skills,
                    "./",
                    &format!("skills/{name}.md beside the flow file"),
                ));
                None
            }
        };
    }
    let (lib, name, skills, prefix) = match value.split_once('.') {
        Some((alias, name)) => {
            let Some((index, lib)) = loaded
                .libraries
                .iter()
                .enumerate()
                .find(|(_, l)| l.name == alias)
            else {
                if loaded.failed.contains(alias) {
                    return None; // its import was reported
                }
                let names: Vec<&str> = loaded.libraries.iter().map(|l| l.name.as_str()).collect();
                let list = if names.is_empty() {
                    "none is imported".to_string()
                } else {
                    format!("imported: {}", names.join(", "))
                };
                let help = match suggest::did_you_mean(alias, names.iter().copied()) {
                    Some(s) => format!("{s} ({list})"),
                    None => format!(
                        "import it first (`use \"path/to/lib\" as {alias}`), or write `./NAME` for a skill beside the flow file ({list})"
                    ),
                };
                diags.push(
                    Diagnostic::new(
                        Code::MissingSkill,
                        src,
                        span,
                        format!("no skill `{value}`: no library `{alias}` is imported"),
                    )
                    .label("unknown library")
                    .help(help),
                );
                return None;
            };
            (
                LibRef::Library(index),
                name,
                &lib.skills,
                format!("{alias}."),
            )
        }
        None => (found.lib, value, found.skills, String::new()),
    };
    match skills.get(name) {
        Some(&source) => Some(SkillRef {
            lib,
            name: name.to_string(),
            source,
        }),
        None => {
            let whose = if prefix.is_empty() {
                "the library".to_string()
            } else {
                format!("library `{}`", prefix.trim_end_matches('.'))
            };
            diags.push(missing(
                format!("no skill `{value}`: {whose} has no `skills/{name}.md`"),
                skills,
                &prefix,
                &format!("skills/{name}.md to the library"),
            ));
            None
        }
    }
}

/// Checks what a stage's skills declare: each one's front matter (once per
/// file: identical diagnostics are merged), and that the outputs it says it
/// writes are collected by the stage (F0116, at the reference).
pub(crate) fn check_stage(stage: &Expanded, loaded: &Loaded, diags: &mut Vec<Diagnostic>) {
    for u in &stage.skills {
        let text = &loaded.sources.get(u.skill.source).text;
        let fm = front_matter::check(&u.skill.name, text, u.skill.source, diags);
        for out in fm.outputs() {
            let collected = stage.all_outputs().any(|p| {
                p.node.node == out || glob::Pattern::new(&p.node.node).is_ok_and(|g| g.matches(out))
            });
            if !collected {
                diags.push(
                    Diagnostic::new(
                        Code::SkillOutputNotCollected,
                        u.src,
                        u.span,
                        format!(
                            "stage `{}`: skill `{}` writes `{out}`, which the stage does not collect",
                            stage.decl.name.node, u.skill.name
                        ),
                    )
                    .label("this skill")
                    .help(format!(
                        "add `outputs {out}` (or `optional outputs {out}`) to the stage, so the stages that need it get the file"
                    )),
                );
            }
        }
    }
}

/// The text between the quotes of a string literal's span (a skill
/// reference is always a one-line `"…"`).
fn inside_quotes(span: Span) -> Span {
    if span.len() >= 2 {
        Span::new(span.start + 1, span.end - 1)
    } else {
        span
    }
}
