//! A template's references and rename across the workspace's flow files.
//!
//! A template is named by the file that declares it and its name, never by
//! the alias a `use` gives its library: `mine.review` in one flow and
//! `lib.review` in another are the same template when both `use`s load the
//! same file. Each workspace file is loaded and resolved exactly as its own
//! document would be ([`Analysis::new`], [`Analysis::template`]), so a call
//! counts only where `flow check` would resolve it to that template.

use super::analysis::Analysis;
use super::documents::Context;
use super::text::Lines;
use super::workspace::{canonical, Workspace};
use flow_dsl::index::{Hit, Scope, SymbolKind};
use flow_dsl::{CheckOptions, SourceId, Span};
use lsp_types::{Location, TextEdit, Uri, WorkspaceEdit};
use std::collections::HashMap;
use std::path::PathBuf;

/// Where a template is declared.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Declared {
    /// A file on disk (canonical path).
    Disk(PathBuf),
    /// A file of the embedded `std` (its name): no file to edit.
    Embedded(String),
}

/// A template, or one of its parameters, as the cursor names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    file: Declared,
    template: String,
    /// The parameter's name, for a parameter.
    param: Option<String>,
}

impl Target {
    /// Whether the template is in the embedded `std` (no file to edit).
    pub fn is_embedded(&self) -> bool {
        matches!(self.file, Declared::Embedded(_))
    }
}

/// The template or template parameter at byte `offset` of the document,
/// and the span of its name there: a declaration, a call's template name
/// (or, when `library_too`, its library name), a call's argument name.
pub fn target_at(a: &Analysis, offset: usize, library_too: bool) -> Option<(Target, Span)> {
    let ix = a.index();
    match ix.at(offset)? {
        Hit::Symbol(i, span) => {
            let sym = &ix.symbols[i];
            let (template, param) = match (sym.kind, sym.scope) {
                (SymbolKind::Template, _) => (sym.name.clone(), None),
                (SymbolKind::TemplateParam, Scope::Template(ti)) => (
                    a.file.templates.get(ti)?.name.node.clone(),
                    Some(sym.name.clone()),
                ),
                _ => return None,
            };
            let file = declared(a, a.main);
            let target = Target {
                file,
                template,
                param,
            };
            Some((target, span))
        }
        Hit::CallTemplate(c) => {
            let call = &ix.calls[c].call;
            let (source, t) = a.template(call)?;
            Some((target(a, source, &t.name.node, None), call.name.span))
        }
        Hit::CallLibrary(c) if library_too => {
            let call = &ix.calls[c].call;
            let (source, t) = a.template(call)?;
            let span = call.library.as_ref()?.span;
            Some((target(a, source, &t.name.node, None), span))
        }
        Hit::CallArgName(c, arg) => {
            let call = &ix.calls[c].call;
            let (source, t) = a.template(call)?;
            let name = &call.args[arg].name;
            t.params.iter().find(|p| p.name.node == name.node)?;
            Some((target(a, source, &t.name.node, Some(&name.node)), name.span))
        }
        _ => None,
    }
}

/// Every use of `target` in the workspace (its declaration when asked):
/// the document's first, then the other files' in path order.
pub fn references(
    ctx: &Context,
    workspace: &Workspace,
    target: &Target,
    declaration: bool,
) -> Vec<Location> {
    let mut found = Vec::new();
    each_file(ctx, workspace, target, |uri, a, lines| {
        let (def, uses) = spans_in(a, target);
        let def = def.filter(|_| declaration);
        let mut spans: Vec<Span> = def.into_iter().chain(uses).collect();
        spans.sort();
        found.extend(
            spans
                .into_iter()
                .map(|s| Location::new(uri.clone(), lines.range(s))),
        );
    });
    found
}

/// The edits that rename `target` to `new_name` in every workspace file
/// (and the declaring file, when outside it). `Err` for a template of the
/// embedded `std` or a name already taken where the template (or
/// parameter) is declared or called.
// The edit's map is keyed by `Uri` (see `actions::edit_of` on the lint).
#[allow(clippy::mutable_key_type)]
pub fn rename(
    ctx: &Context,
    workspace: &Workspace,
    target: &Target,
    new_name: &str,
) -> Result<WorkspaceEdit, String> {
    if target.is_embedded() {
        return Err(format!(
            "`{}` is a template of the embedded `std`: it cannot be renamed",
            target.template
        ));
    }
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    let mut taken = false;
    each_file(ctx, workspace, target, |uri, a, lines| {
        taken |= is_taken(a, target, new_name);
        let (def, uses) = spans_in(a, target);
        let mut spans: Vec<Span> = def.into_iter().chain(uses).collect();
        spans.sort();
        if !spans.is_empty() {
            let edits = spans
                .into_iter()
                .map(|s| TextEdit::new(lines.range(s), new_name.to_string()));
            changes.entry(uri.clone()).or_default().extend(edits);
        }
    });
    if taken {
        return Err(format!("`{new_name}` is already declared here"));
    }
    Ok(WorkspaceEdit::new(changes))
}

/// The target's kind, for the rules on names.
pub fn kind(target: &Target) -> SymbolKind {
    match target.param {
        Some(_) => SymbolKind::TemplateParam,
        None => SymbolKind::Template,
    }
}

/// Calls `visit` with the document, then each other workspace file (and
/// the file declaring the template when the walk did not find it), each
/// loaded as its own document would be.
fn each_file(
    ctx: &Context,
    workspace: &Workspace,
    target: &Target,
    mut visit: impl FnMut(&Uri, &Analysis, &Lines),
) {
    visit(ctx.uri, ctx.analysis, &ctx.lines);
    let here = main_path(ctx.analysis);
    let mut files = workspace.files();
    if let Declared::Disk(path) = &target.file {
        if !files.iter().any(|f| &f.path == path) {
            files.extend(workspace.source(path));
        }
    }
    // Diagnostics are not published from here: scripts need no check.
    let options = CheckOptions { scripts: false };
    for file in files {
        // A file that does not spell the template's name cannot call or
        // declare it: not loading it only saves time (nothing is resolved
        // from the text).
        if file.path == here || file.uri == *ctx.uri || !file.text.contains(&target.template) {
            continue;
        }
        let a = Analysis::new(&file.path, &file.text, options);
        let lines = Lines::new(a.text(), ctx.encoding);
        visit(&file.uri, &a, &lines);
    }
}

/// In one loaded file: the name in the target's declaration (when the file
/// declares it) and every other use (calls, argument names, a parameter's
/// uses in the template's body), sorted.
fn spans_in(a: &Analysis, target: &Target) -> (Option<Span>, Vec<Span>) {
    let ix = a.index();
    let mut def = None;
    let mut uses = Vec::new();
    if target.file == declared(a, a.main) {
        let symbol = match &target.param {
            None => ix.find(SymbolKind::Template, &target.template, Scope::File),
            Some(p) => a
                .file
                .templates
                .iter()
                .position(|t| t.name.node == target.template)
                .and_then(|ti| ix.find(SymbolKind::TemplateParam, p, Scope::Template(ti))),
        };
        if let Some(i) = symbol {
            def = Some(ix.symbols[i].def);
            uses.extend(ix.symbols[i].refs.iter().copied());
        }
    }
    for site in &ix.calls {
        let call = &site.call;
        let Some((source, t)) = a.template(call) else {
            continue;
        };
        if !is(a, source, &t.name.node, target) {
            continue;
        }
        match &target.param {
            None => uses.push(call.name.span),
            Some(p) => uses.extend(
                call.args
                    .iter()
                    .filter(|arg| &arg.name.node == p)
                    .map(|arg| arg.name.span),
            ),
        }
    }
    uses.sort();
    uses.dedup();
    uses.retain(|s| Some(*s) != def);
    (def, uses)
}

/// Whether `new_name` is already a template (or parameter) where the
/// target is declared, or in the library a call of it goes through.
fn is_taken(a: &Analysis, target: &Target, new_name: &str) -> bool {
    let ix = a.index();
    let clash = |t: &flow_dsl::ast::Template| t.name.node == new_name;
    if target.file == declared(a, a.main) {
        let declared_here = match &target.param {
            None => a.file.templates.iter().any(|t| t.name.node == new_name),
            Some(_) => a
                .file
                .templates
                .iter()
                .filter(|t| t.name.node == target.template)
                .any(|t| t.params.iter().any(|p| p.name.node == new_name)),
        };
        if declared_here {
            return true;
        }
    }
    ix.calls.iter().any(|site| {
        let call = &site.call;
        let Some((source, t)) = a.template(call) else {
            return false;
        };
        if !is(a, source, &t.name.node, target) {
            return false;
        }
        match &target.param {
            Some(_) => t.params.iter().any(|p| p.name.node == new_name),
            None => match &call.library {
                None => a.file.templates.iter().any(clash),
                Some(lib) => a
                    .library(&lib.node)
                    .is_some_and(|l| l.templates.iter().any(|lt| clash(&lt.template))),
            },
        }
    })
}

/// Whether the template `name` of `source` is the target's template.
fn is(a: &Analysis, source: SourceId, name: &str, target: &Target) -> bool {
    name == target.template && declared(a, source) == target.file
}

fn target(a: &Analysis, source: SourceId, name: &str, param: Option<&str>) -> Target {
    Target {
        file: declared(a, source),
        template: name.to_string(),
        param: param.map(str::to_string),
    }
}

/// Where `source` (a file `a` read) is.
fn declared(a: &Analysis, source: SourceId) -> Declared {
    let name = &a.checked.sources.get(source).name;
    if a.embedded.contains(&source) {
        Declared::Embedded(name.clone())
    } else {
        Declared::Disk(canonical(std::path::Path::new(name)))
    }
}

/// The document's own path (canonical).
fn main_path(a: &Analysis) -> PathBuf {
    canonical(std::path::Path::new(&a.checked.sources.get(a.main).name))
}
