//! Names that cannot break the shell (F0028): a param, let, env variable,
//! secret or template parameter whose environment name would replace one
//! that the shell, the programs a script runs, or flow itself rely on.
//! Params, lets and template parameters are exported upper-cased
//! (`param path` is `$PATH`); env variables and secrets as written.

use crate::ast::{Ident, TypeName};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::SourceId;

/// Names a flow may not set, each with the reason.
const NAMES: &[(&str, &str)] = &[
    (
        "PATH",
        "commands are looked up in its folders: replaced, every command is \"not found\"",
    ),
    (
        "HOME",
        "git, ssh and the agent CLIs read their configuration and credentials under it",
    ),
    (
        "IFS",
        "it decides how the shell splits words (shells reset it at start, so the value would be lost anyway)",
    ),
    (
        "BASH_ENV",
        "bash runs the file it names before every script",
    ),
    (
        "ENV",
        "sh, and bash in POSIX mode, run the file it names at start",
    ),
    ("SHELLOPTS", "bash turns on every option it lists at start"),
    ("BASHOPTS", "bash turns on every `shopt` option it lists at start"),
    (
        "BASH_XTRACEFD",
        "bash writes its `set -x` trace to the file descriptor it names",
    ),
    ("BASH_COMPAT", "bash behaves like the older version it names"),
    (
        "POSIXLY_CORRECT",
        "bash and the GNU tools switch to POSIX behaviour when it is set",
    ),
    ("CDPATH", "`cd DIR` would look for DIR in its folders first"),
    ("GLOBIGNORE", "globs would leave out the files it matches"),
    (
        "PS4",
        "bash expands it, commands included, before every line `set -x` traces",
    ),
    ("PWD", "the shell keeps it equal to the working folder"),
    ("OLDPWD", "the shell keeps it equal to the previous working folder"),
    ("SHELL", "programs run their own commands with `$SHELL -c`"),
];

/// Prefixes of names a flow may not set, each with the reason.
const PREFIXES: &[(&str, &str)] = &[
    (
        "LD_",
        "the dynamic loader reads LD_* (LD_PRELOAD, LD_LIBRARY_PATH …) in every program it starts",
    ),
    (
        "DYLD_",
        "the macOS loader reads DYLD_* (DYLD_INSERT_LIBRARIES …) in every program it starts",
    ),
    (
        "FLOW_",
        "flow sets its own FLOW_* variables (FLOW_RUN_ID, FLOW_WORKSPACE, FLOW_LIB …) in every stage, and may add more",
    ),
];

/// Why flow refuses to set the environment variable `name`, if it does.
pub(crate) fn why_reserved(name: &str) -> Option<&'static str> {
    NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .or_else(|| PREFIXES.iter().find(|(p, _)| name.starts_with(p)))
        .map(|(_, why)| *why)
}

/// What declares a name, which says how it is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `param NAME` (upper-cased).
    Param,
    /// `let NAME` (upper-cased).
    Let,
    /// `env NAME` (as written).
    Env,
    /// `secret NAME` (as written).
    Secret,
    /// A template parameter (upper-cased; a `skill` one also `NAME_FILE`).
    TemplateParam,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Param => "param",
            Kind::Let => "let",
            Kind::Env => "env",
            Kind::Secret => "secret",
            Kind::TemplateParam => "template parameter",
        }
    }

    fn upper_cased(self) -> bool {
        matches!(self, Kind::Param | Kind::Let | Kind::TemplateParam)
    }
}

/// Reports `name` (declared as `kind`; `ty` for template parameters, whose
/// `skill` type also exports `NAME_FILE`) when a variable it exports is
/// reserved.
pub(crate) fn check(
    name: &Ident,
    kind: Kind,
    ty: Option<&TypeName>,
    source: SourceId,
    diags: &mut Vec<Diagnostic>,
) {
    let exported = if kind.upper_cased() {
        name.node.to_uppercase()
    } else {
        name.node.clone()
    };
    let mut names = vec![exported.clone()];
    if ty == Some(&TypeName::Skill) {
        names.push(format!("{exported}_FILE"));
    }
    let Some((var, why)) = names
        .into_iter()
        .find_map(|n| why_reserved(&n).map(|why| (n, why)))
    else {
        return;
    };
    let label = if var == name.node {
        format!("replaces `${var}`")
    } else {
        format!("exported as `${var}`")
    };
    let renamed = if name.node.chars().any(|c| c.is_lowercase()) {
        format!("my_{}", name.node)
    } else {
        format!("MY_{}", name.node)
    };
    let renamed = if name.node == "path" && kind == Kind::Param {
        "repo_path".to_string()
    } else {
        renamed
    };
    let mut help = format!("rename it, e.g. `{} {renamed}`", kind.word());
    if var == "PATH" && kind == Kind::Env {
        help.push_str(
            "; to add a folder to `$PATH`, write `export PATH=\"/opt/tool/bin:$PATH\"` in the script",
        );
    }
    diags.push(
        Diagnostic::new(
            Code::ReservedName,
            source,
            name.span,
            format!(
                "{} `{}` would replace `${var}`: {why}",
                kind.word(),
                name.node
            ),
        )
        .label(label)
        .help(help),
    );
}

/// The options of `flow run FILE` besides the flow's params (long names):
/// a param's option (`--NAME`, and `--NA-ME` for `NA_ME`) may not be one of
/// them, or the command line could not tell the two apart.
pub const RUN_OPTIONS: &[&str] = &[
    "jobs",
    "quiet",
    "runs-dir",
    "secrets-file",
    "submitted",
    "help",
];

/// Whether param `name`'s option (`--name`, or with `-` for each `_`) is one
/// of [`RUN_OPTIONS`].
pub fn is_run_option(name: &str) -> bool {
    let dashed = name.replace('_', "-");
    RUN_OPTIONS.contains(&name) || RUN_OPTIONS.contains(&dashed.as_str())
}

/// Reports a param whose command-line option is one of `flow run`'s own
/// (F0038).
pub(crate) fn check_run_option(name: &Ident, source: SourceId, diags: &mut Vec<Diagnostic>) {
    if !is_run_option(&name.node) {
        return;
    }
    let option = name.node.replace('_', "-");
    diags.push(
        Diagnostic::new(
            Code::RunOptionParam,
            source,
            name.span,
            format!(
                "param `{}` would be given as `--{option}`, which is an option of `flow run` itself",
                name.node
            ),
        )
        .label("named like a run option")
        .help(format!("rename it, e.g. `param {}_value`", name.node)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_options_are_matched_with_dashes_or_underscores() {
        for name in [
            "jobs",
            "runs_dir",
            "runs-dir",
            "secrets_file",
            "submitted",
            "help",
        ] {
            assert!(is_run_option(name), "{name}");
        }
        for name in ["job", "runs", "dir", "quiet_mode", "issue"] {
            assert!(!is_run_option(name), "{name}");
        }
    }

    #[test]
    fn reserved_names_and_prefixes() {
        for name in [
            "PATH",
            "HOME",
            "IFS",
            "LD_PRELOAD",
            "FLOW_LIB",
            "FLOW_X",
            "BASH_ENV",
        ] {
            assert!(why_reserved(name).is_some(), "{name}");
        }
        for name in ["path", "PATHS", "TMPDIR", "LD", "FLOW", "MY_PATH", "LANG"] {
            assert!(why_reserved(name).is_none(), "{name}");
        }
    }
}
