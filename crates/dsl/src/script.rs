//! The `run` scripts of a file, for tools that check them (shellcheck, in the
//! CLI): each script's text as bash runs it, the variables flow gives it, and
//! the way back from a (line, column) of the script to a byte of the file.
//!
//! The crate runs no process; `flow check` does, with [`ScriptSite`]s from
//! [`crate::Checked::scripts`]. A script's text differs from the file's bytes:
//! `"…"` escapes are resolved (`\t` is one character of the script, two of
//! the file) and a `"""…"""` block loses its first line break, its common
//! indent and its `\r`s. [`ScriptSite::locate`] redoes that work with a byte
//! map (`parse::strings`), only for the scripts that have findings.

use crate::ast::{self, FlowItem, Literal, StageItem, TypeName};
use crate::ir::{default_shell, shell_argv};
use crate::load::LoadedLibrary;
use crate::parse::strings::{dedent_mapped, unescape_mapped, Mapped};
use crate::span::{SourceId, Span};

/// The `FLOW_*` variables every attempt gets (docs/language.md).
pub const FLOW_VARS: &[&str] = &[
    "FLOW_RUN_ID",
    "FLOW_NONCE",
    "FLOW_FLOW",
    "FLOW_STAGE",
    "FLOW_ATTEMPT",
    "FLOW_VISIT",
    "FLOW_WORKSPACE",
    "FLOW_RUN_DIR",
    "FLOW_SECRET_NAMES",
    "FLOW_USAGE_FILE",
];

/// One `run` script of the checked file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptSite {
    /// The file it is written in.
    pub source: SourceId,
    /// The string literal, quotes included.
    pub span: Span,
    /// The script as bash receives it (escapes resolved, block dedented).
    pub text: String,
    /// Names of the variables flow exports to it, sorted: params and lets
    /// (upper-cased), flow and stage `env`, secrets, template parameters
    /// (upper-cased, plus `NAME_FILE` for a `skill`), `FLOW_*`.
    pub vars: Vec<String>,
    /// The command line that runs it ([`crate::ir::Stage::shell`]): the
    /// stage's `shell`, else its template's, else the flow's, else
    /// [`crate::ir::DEFAULT_SHELL`]. A template's own script: the
    /// template's, else the file's flow's, else the default.
    pub shell: Vec<String>,
}

/// A script's positions mapped to file offsets; made by [`ScriptSite::locate`].
#[derive(Debug, Clone)]
pub struct ScriptMap {
    mapped: Mapped,
    /// Where to point when the file does not hold this script (never with
    /// the file the site came from): the literal's start.
    fallback: usize,
}

impl ScriptSite {
    /// The shellcheck dialect (`--shell=…`) of [`Self::shell`]: `bash`,
    /// `sh`, `dash` or `ksh`, from the file name of its program (the word
    /// after `env` for `/usr/bin/env bash`); `None` for any other program
    /// (`python3`, `zsh`, `node` …), whose scripts shellcheck cannot read.
    pub fn shell_dialect(&self) -> Option<&'static str> {
        let mut words = self.shell.iter().map(|w| w.rsplit('/').next().unwrap_or(w));
        let mut program = words.next()?;
        if program == "env" {
            program = words.find(|w| !w.starts_with('-') && !w.contains('='))?;
        }
        match program {
            "bash" => Some("bash"),
            "sh" => Some("sh"),
            "dash" => Some("dash"),
            "ksh" | "ksh93" | "mksh" | "pdksh" => Some("ksh"),
            _ => None,
        }
    }

    /// Builds the map from script positions to offsets of `file_text` (the
    /// text of [`Self::source`]).
    pub fn locate(&self, file_text: &str) -> ScriptMap {
        let literal = file_text.get(self.span.start..self.span.end).unwrap_or("");
        // `file_text` may not be the site's file: strip the quotes only
        // where they are, so slicing never cuts a character.
        let block = literal
            .strip_prefix("\"\"\"")
            .and_then(|l| l.strip_suffix("\"\"\""));
        let quoted = literal.strip_prefix('"').and_then(|l| l.strip_suffix('"'));
        let mapped = if let Some(body) = block {
            dedent_mapped(body, self.span.start + 3)
        } else if let Some(body) = quoted {
            unescape_mapped(body, self.span.start + 1)
        } else {
            Mapped::default()
        };
        let mapped = if mapped.text == self.text {
            mapped
        } else {
            Mapped::default()
        };
        ScriptMap {
            mapped,
            fallback: self.span.start,
        }
    }

    /// Byte offset in `file_text` of 1-based `line` and `col` of the script,
    /// columns counted in characters (a tab is one), as shellcheck's `json1`
    /// format reports them. Clamped to the script; the end of the script maps
    /// to the end of its last line. For several positions, [`Self::locate`]
    /// once and ask the map.
    pub fn offset_of(&self, line: usize, col: usize, file_text: &str) -> usize {
        self.locate(file_text).offset(line, col)
    }
}

impl ScriptMap {
    /// See [`ScriptSite::offset_of`].
    pub fn offset(&self, line: usize, col: usize) -> usize {
        if self.mapped.map.is_empty() {
            return self.fallback;
        }
        let at = crate::span::offset_of(&self.mapped.text, line, col);
        self.mapped.map[at.min(self.mapped.map.len() - 1)]
    }

    /// The file span of the script range from (`line`, `col`) to
    /// (`end_line`, `end_col`), the end exclusive; never reversed.
    pub fn span(&self, line: usize, col: usize, end_line: usize, end_col: usize) -> Span {
        let start = self.offset(line, col);
        let end = self.offset(end_line, end_col).max(start);
        Span::new(start, end)
    }
}

/// Every `run` script written in `file` (read from `source`), in source
/// order: those of its stages and of its own templates. Scripts of `use`d
/// libraries (`std` included) are not here: they are checked with the
/// library's own files. `libraries` (the file's `use`d ones) are read for
/// the `shell` of a stage whose template comes from one.
pub fn collect(file: &ast::File, source: SourceId, libraries: &[LoadedLibrary]) -> Vec<ScriptSite> {
    let mut flow_vars: Vec<String> = FLOW_VARS.iter().map(|v| v.to_string()).collect();
    for flow in &file.flows {
        flow_vars.extend(flow.items.iter().filter_map(flow_var));
    }
    let file_shell = file.flows.first().and_then(|f| flow_shell(&f.items));
    let mut sites = Vec::new();
    for flow in &file.flows {
        let default = flow_shell(&flow.items).unwrap_or_else(default_shell);
        for item in &flow.items {
            let (FlowItem::Stage(stage) | FlowItem::Finally(stage)) = item else {
                continue;
            };
            let mut vars = flow_vars.clone();
            let template = stage
                .template
                .as_ref()
                .and_then(|call| template_of(call, file, libraries));
            let shell = shell_of(&stage.items)
                .or_else(|| template.and_then(|t| shell_of(&t.items)))
                .unwrap_or_else(|| default.clone());
            if let Some(call) = &stage.template {
                vars.push("FLOW_LIB".into());
                vars.extend(call.args.iter().map(|a| a.name.node.to_uppercase()));
                let local = call.library.is_none();
                if let Some(t) = file
                    .templates
                    .iter()
                    .find(|t| local && t.name.node == call.name.node)
                {
                    vars.extend(template_vars(t));
                }
                for arg in &call.args {
                    // A `skill` argument also gives `NAME_FILE`; the type is
                    // only known for local templates, so offer it for any string.
                    if matches!(arg.value.node, Literal::Str(_)) {
                        vars.push(format!("{}_FILE", arg.name.node.to_uppercase()));
                    }
                }
            }
            push_sites(&mut sites, source, &stage.items, vars, &shell);
        }
    }
    for t in &file.templates {
        let mut vars = flow_vars.clone();
        vars.push("FLOW_LIB".into());
        vars.extend(template_vars(t));
        let shell = shell_of(&t.items)
            .or_else(|| file_shell.clone())
            .unwrap_or_else(default_shell);
        push_sites(&mut sites, source, &t.items, vars, &shell);
    }
    sites.sort_by_key(|s| s.span);
    sites
}

/// Where the scripts [`collect`] returns are, without their text or
/// variables (same sites, same order): what suppressions need when no tool
/// will read the scripts, at a fraction of the cost.
pub fn spans(file: &ast::File, source: SourceId) -> Vec<(SourceId, Span)> {
    let stages = file.flows.iter().flat_map(|flow| {
        flow.items.iter().filter_map(|item| match item {
            FlowItem::Stage(stage) | FlowItem::Finally(stage) => Some(&stage.items),
            _ => None,
        })
    });
    let templates = file.templates.iter().map(|t| &t.items);
    let mut spans: Vec<(SourceId, Span)> = stages
        .chain(templates)
        .flatten()
        .filter_map(|item| match item {
            StageItem::Run(script) => Some((source, script.span)),
            _ => None,
        })
        .collect();
    spans.sort_by_key(|&(_, span)| span);
    spans
}

/// The template a call names: one of `file` (no library), or of the
/// `use`d library of that alias; `None` when there is no such template.
fn template_of<'a>(
    call: &ast::TemplateCall,
    file: &'a ast::File,
    libraries: &'a [LoadedLibrary],
) -> Option<&'a ast::Template> {
    let name = &call.name.node;
    match &call.library {
        None => file.templates.iter().find(|t| t.name.node == *name),
        Some(alias) => libraries
            .iter()
            .find(|l| l.name == alias.node)?
            .templates
            .iter()
            .map(|lt| &lt.template)
            .find(|t| t.name.node == *name),
    }
}

/// The argv of a body's `shell` setting (the last one), if it has one.
fn shell_of(items: &[StageItem]) -> Option<Vec<String>> {
    items.iter().rev().find_map(|i| match i {
        StageItem::Shell(text) => Some(shell_argv(&text.node)),
        _ => None,
    })
}

/// The argv of a flow's `shell` setting, if it has one.
fn flow_shell(items: &[FlowItem]) -> Option<Vec<String>> {
    items.iter().find_map(|i| match i {
        FlowItem::Shell(text) => Some(shell_argv(&text.node)),
        _ => None,
    })
}

/// The variable a flow-level item exports, if any.
fn flow_var(item: &FlowItem) -> Option<String> {
    match item {
        FlowItem::Param(p) => Some(p.name.node.to_uppercase()),
        FlowItem::Let(name, _) => Some(name.node.to_uppercase()),
        FlowItem::Env(name, _) | FlowItem::Secret(name) => Some(name.node.clone()),
        _ => None,
    }
}

/// A template's parameters as its scripts see them, and its `env` names.
fn template_vars(t: &ast::Template) -> Vec<String> {
    let mut vars = Vec::new();
    for p in &t.params {
        let upper = p.name.node.to_uppercase();
        if p.ty.node == TypeName::Skill {
            vars.push(format!("{upper}_FILE"));
        }
        vars.push(upper);
    }
    vars.extend(t.items.iter().filter_map(|i| match i {
        StageItem::Env(name, _) => Some(name.node.clone()),
        _ => None,
    }));
    vars
}

/// Adds a site for each `run` in `items`, with `vars` and the items' `env`,
/// run by `shell`.
fn push_sites(
    sites: &mut Vec<ScriptSite>,
    source: SourceId,
    items: &[StageItem],
    mut vars: Vec<String>,
    shell: &[String],
) {
    vars.extend(items.iter().filter_map(|i| match i {
        StageItem::Env(name, _) => Some(name.node.clone()),
        _ => None,
    }));
    vars.sort();
    vars.dedup();
    for item in items {
        if let StageItem::Run(script) = item {
            sites.push(ScriptSite {
                source,
                span: script.span,
                text: script.node.clone(),
                vars: vars.clone(),
                shell: shell.to_vec(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sites(text: &str) -> Vec<ScriptSite> {
        let (file, diags) = crate::parse::parse(text, SourceId(0));
        assert!(diags.is_empty(), "{diags:?}");
        collect(&file, SourceId(0), &[])
    }

    fn slice(text: &str, s: Span) -> &str {
        &text[s.start..s.end]
    }

    /// The file text at the offset of script (line, col).
    fn at<'t>(site: &ScriptSite, text: &'t str, line: usize, col: usize) -> &'t str {
        &text[site.offset_of(line, col, text)..]
    }

    #[test]
    fn spans_are_the_sites_of_collect() {
        let text = "template t(x: str) {\n  run \"echo t\"\n}\nflow f {\n  stage b: t(x: \"1\") {}\n  stage a {\n    run \"echo a\"\n    run \"\"\"\n      echo a2\n    \"\"\"\n  }\n  finally z { run \"echo z\" }\n}\n";
        let (file, diags) = crate::parse::parse(text, SourceId(3));
        assert!(diags.is_empty(), "{diags:?}");
        let expected: Vec<_> = collect(&file, SourceId(3), &[])
            .iter()
            .map(|s| (s.source, s.span))
            .collect();
        assert_eq!(expected.len(), 4);
        assert_eq!(spans(&file, SourceId(3)), expected);
    }

    #[test]
    fn single_line_string_with_escapes() {
        let text = "flow f {\n  stage a { run \"printf '\\t%s\\n' \\\"$x\\\" é $y\" }\n}\n";
        let s = &sites(text)[0];
        assert_eq!(s.text, "printf '\t%s\n' \"$x\" é $y");
        // Script line 1 col 9 is the tab, written `\t` in the file.
        assert!(at(s, text, 1, 9).starts_with("\\t%s"));
        // After the `\n` escape the script is on line 2: ` "$x" é $y`.
        assert!(at(s, text, 2, 4).starts_with("$x\\\" é"));
        // Columns are characters: `$y` is after the two-byte é.
        assert!(at(s, text, 2, 10).starts_with("$y\""));
        let map = s.locate(text);
        assert_eq!(slice(text, map.span(2, 10, 2, 12)), "$y");
    }

    #[test]
    fn triple_quoted_with_indent_tabs_and_unicode() {
        let text = "flow f {\n  stage a {\n    run \"\"\"\n      echo → ok\n      \tcp $src \"$DST\"\n    \"\"\"\n  }\n}\n";
        let s = &sites(text)[0];
        assert_eq!(s.text, "echo → ok\n\tcp $src \"$DST\"");
        // A tab is one column (shellcheck json1): `$src` is column 5 of line 2.
        let map = s.locate(text);
        assert_eq!(slice(text, map.span(2, 5, 2, 9)), "$src");
        assert!(at(s, text, 1, 6).starts_with("→ ok"));
        // Past the end: the end of the script, before the closing indent.
        assert!(at(s, text, 9, 1).starts_with("\n    \"\"\""));
    }

    #[test]
    fn crlf_file() {
        let text = "flow f {\r\n  stage a {\r\n    run \"\"\"\r\n      a=1\r\n      rm -rf $dir/\r\n    \"\"\"\r\n  }\r\n}\r\n";
        let s = &sites(text)[0];
        assert_eq!(s.text, "a=1\nrm -rf $dir/");
        let map = s.locate(text);
        assert_eq!(slice(text, map.span(2, 8, 2, 13)), "$dir/");
        // The end of line 1 stops before its `\r`.
        assert_eq!(slice(text, map.span(1, 1, 1, 4)), "a=1");
        assert_eq!(slice(text, map.span(1, 1, 2, 1)), "a=1\r\n      ");
    }

    #[test]
    fn vars_follow_what_flow_exports() {
        let text = r#"
            flow f {
              param repo: str
              let n = 1
              env lower = "x"
              secret token
              stage a {
                env here = "1"
                run "echo"
              }
              stage b: local(skill: "plan") { run "echo" }
            }
            template local(skill: skill, mode: str = "x") {
              env tmpl = "y"
              run "echo"
            }
        "#;
        let all = sites(text);
        assert_eq!(all.len(), 3);
        let has = |s: &ScriptSite, v: &str| s.vars.iter().any(|x| x == v);
        for v in ["REPO", "N", "lower", "token", "FLOW_RUN_ID", "here"] {
            assert!(has(&all[0], v), "{v}");
        }
        assert!(!has(&all[0], "FLOW_LIB"));
        for v in ["SKILL", "SKILL_FILE", "MODE", "tmpl", "FLOW_LIB", "REPO"] {
            assert!(has(&all[1], v), "{v}");
            assert!(has(&all[2], v), "{v}");
        }
        assert!(!has(&all[1], "here"));
    }

    #[test]
    fn each_site_has_the_shell_that_runs_it() {
        let text = r#"
            template py { shell "python3"  run "print(1)" }
            template plain { run "echo" }
            flow f {
              shell "sh -eu"
              stage a { run "echo" }
              stage b: py() { }
              stage c: py() { shell "bash"  run "echo" }
              stage d { shell "/usr/bin/env dash"  run "echo" }
            }
        "#;
        let all = sites(text);
        // Own templates: their shell, else the file's flow's.
        assert_eq!(all[0].shell, ["python3"]);
        assert_eq!(all.len(), 5);
        let dialects: Vec<_> = all.iter().map(|s| s.shell_dialect()).collect();
        assert_eq!(
            dialects,
            [None, Some("sh"), Some("sh"), Some("bash"), Some("dash")]
        );
        assert_eq!(
            all[3].shell,
            crate::ir::DEFAULT_SHELL
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_different_file_text_cut_inside_a_character_does_not_panic() {
        let text = "flow f { stage a { run \"echo $x\" } }\n";
        let s = &sites(text)[0];
        // Same span over another text: a quote, then an `é` whose second
        // byte is the last one of the span.
        let other = format!("{}\"abcdefé more", " ".repeat(s.span.start));
        assert!(other.get(s.span.start..s.span.end).is_some());
        assert_eq!(s.offset_of(1, 2, &other), s.span.start);
    }

    #[test]
    fn a_different_file_text_points_at_the_literal() {
        let text = "flow f { stage a { run \"echo $x\" } }\n";
        let s = &sites(text)[0];
        assert_eq!(
            s.offset_of(1, 6, "completely different text here"),
            s.span.start
        );
    }
}
