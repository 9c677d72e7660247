//! Loading: read a `.flow` file, parse it, and load the libraries it `use`s
//! (the embedded `std`, folders of `*.flow` templates and `skills/*.md`, or
//! git repositories through a [`git::Fetcher`]). Skill files are read too
//! (they become sources, so their front matter can be checked with spans
//! and `flow resume` sees them change). This is the only module of the crate
//! that touches the file system.
//!
//! The parser is passed in ([`ParseFn`]) so loading can be tested with any
//! front end; [`crate::check_file`] passes [`crate::parse::parse`].

mod folder;
pub mod git;
pub mod std_lib;

use crate::ast;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::{SourceId, SourceMap, Span};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A parser: text and its source id → syntax tree and syntax diagnostics.
pub type ParseFn<'a> = &'a dyn Fn(&str, SourceId) -> (ast::File, Vec<Diagnostic>);

/// A parsed file with its libraries, ready for [`crate::check::check`].
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Every file read: the main file first, then library files.
    pub sources: SourceMap,
    /// Syntax and import diagnostics found while loading.
    pub diagnostics: Vec<Diagnostic>,
    /// The main file's id in [`Loaded::sources`].
    pub main: SourceId,
    /// The main file's syntax tree.
    pub file: ast::File,
    /// The folder relative `use` paths (and the file's own `skills/`) resolve from.
    pub base_dir: PathBuf,
    /// `skills/NAME.md` next to the main file (for its own templates and
    /// `"./NAME"` skill arguments): `NAME` → the file, read into `sources`.
    pub local_skills: BTreeMap<String, SourceId>,
    /// Imported libraries, in `use` order (a failed import is left out).
    pub libraries: Vec<LoadedLibrary>,
    /// Aliases whose import failed (already reported): uses of them are not
    /// reported again as unknown.
    pub failed: BTreeSet<String>,
    /// The comments of every file parsed (the main file and library
    /// files), for [`crate::suppress`]; a file without comments may be absent.
    pub comments: BTreeMap<SourceId, Vec<ast::Spanned<String>>>,
}

/// One imported library.
#[derive(Debug, Clone)]
pub struct LoadedLibrary {
    /// The `use` alias (`std`, `mine`).
    pub name: String,
    /// The library folder on disk (`None` for the embedded `std`).
    pub dir: Option<PathBuf>,
    /// Relative path → contents, for the embedded `std` (empty otherwise).
    pub files: BTreeMap<String, Vec<u8>>,
    /// Its templates, each with the file it is defined in.
    pub templates: Vec<LibTemplate>,
    /// Its `skills/NAME.md` files: `NAME` → the file, read into `sources`.
    pub skills: BTreeMap<String, SourceId>,
}

/// A template of a library with the source file it comes from.
#[derive(Debug, Clone)]
pub struct LibTemplate {
    /// The library file defining it (diagnostics point there).
    pub source: SourceId,
    /// The template.
    pub template: ast::Template,
}

/// Reads and loads `path`. An unreadable file gives one [`Code::Import`]
/// diagnostic on an empty source named after the path.
pub fn load_file(path: &Path, parse: ParseFn) -> Loaded {
    load_file_with(path, parse, None)
}

/// [`load_file`], with git libraries given by `fetcher` (without one, a
/// `use "git+…"` is an import error).
pub fn load_file_with(path: &Path, parse: ParseFn, fetcher: Option<&dyn git::Fetcher>) -> Loaded {
    let name = path.display().to_string();
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    match std::fs::read_to_string(path) {
        Ok(text) => load_source_with(&name, &text, &base_dir, parse, fetcher),
        Err(e) => {
            let mut sources = SourceMap::default();
            let main = sources.add(name.clone(), "");
            let diag = Diagnostic::new(
                Code::Import,
                main,
                Span::new(0, 0),
                format!("cannot read `{name}`: {e}"),
            )
            .help("give the path of a readable UTF-8 .flow file");
            Loaded {
                sources,
                diagnostics: vec![diag],
                main,
                file: ast::File::default(),
                base_dir,
                local_skills: BTreeMap::new(),
                libraries: Vec::new(),
                failed: BTreeSet::new(),
                comments: BTreeMap::new(),
            }
        }
    }
}

/// Loads `text` (shown as `name` in diagnostics); relative `use` paths and
/// the file's own `skills/` resolve from `base_dir`.
pub fn load_source(name: &str, text: &str, base_dir: &Path, parse: ParseFn) -> Loaded {
    load_source_with(name, text, base_dir, parse, None)
}

/// [`load_source`], with git libraries given by `fetcher`.
pub fn load_source_with(
    name: &str,
    text: &str,
    base_dir: &Path,
    parse: ParseFn,
    fetcher: Option<&dyn git::Fetcher>,
) -> Loaded {
    // An absolute folder: it becomes the `local` library's `$FLOW_LIB`.
    let base = if base_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base_dir
    };
    let base_dir = &std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
    // Library files keep only their templates, so their comments are taken
    // here, from every file the parser sees, rather than threaded through.
    let comments = std::cell::RefCell::new(BTreeMap::new());
    let recording = |text: &str, source: SourceId| {
        let (file, diags) = parse(text, source);
        if !file.comments.is_empty() {
            comments.borrow_mut().insert(source, file.comments.clone());
        }
        (file, diags)
    };
    let parse: ParseFn = &recording;
    let mut sources = SourceMap::default();
    let main = sources.add(name, text);
    let (file, mut diagnostics) = parse(text, main);
    let local_skills = folder::skills(&base_dir.join("skills"), &mut sources);
    let mut libraries: Vec<LoadedLibrary> = Vec::new();
    let mut failed = BTreeSet::new();
    let mut seen: BTreeMap<String, Span> = BTreeMap::new();
    for u in &file.uses {
        if let Some(first) = seen.get(&u.alias.node) {
            diagnostics.push(
                Diagnostic::new(
                    Code::Duplicate,
                    main,
                    u.alias.span,
                    format!("library `{}` is imported twice", u.alias.node),
                )
                .label("imported again here")
                .secondary(*first, "first imported here")
                .help("remove one `use`, or give the second a different `as` name"),
            );
            continue;
        }
        seen.insert(u.alias.node.clone(), u.alias.span);
        let lib = match &u.path {
            None => Some(load_std(
                &u.alias.node,
                &mut sources,
                &mut diagnostics,
                parse,
            )),
            Some(path) => match git::GitSource::parse(&path.node) {
                None => folder::load(
                    &u.alias.node,
                    path,
                    main,
                    base_dir,
                    &mut sources,
                    &mut diagnostics,
                    parse,
                ),
                Some(source) => {
                    let fetched = fetch(&u.alias.node, path, source, fetcher)
                        .map_err(|e| git_error(e, main, path.span));
                    match fetched {
                        Ok(dir) => {
                            let at = ast::Spanned::new(dir.display().to_string(), path.span);
                            folder::load(
                                &u.alias.node,
                                &at,
                                main,
                                base_dir,
                                &mut sources,
                                &mut diagnostics,
                                parse,
                            )
                        }
                        Err(d) => {
                            diagnostics.push(d);
                            None
                        }
                    }
                }
            },
        };
        match lib {
            Some(lib) => libraries.push(lib),
            None => {
                failed.insert(u.alias.node.clone());
            }
        }
    }
    // A skill's front matter may hold `# flow: allow(F0115)` lines: they
    // silence warnings about the skill like comments of a .flow file.
    let skill_files = local_skills
        .values()
        .chain(libraries.iter().flat_map(|l| l.skills.values()));
    for &id in skill_files {
        let found = folder::front_matter_comments(&sources.get(id).text);
        if !found.is_empty() {
            comments.borrow_mut().insert(id, found);
        }
    }
    Loaded {
        sources,
        diagnostics,
        main,
        file,
        base_dir: base_dir.to_path_buf(),
        local_skills,
        libraries,
        failed,
        comments: comments.into_inner(),
    }
}

/// The folder of the git library `alias` at `path`, from `fetcher`.
fn fetch(
    alias: &str,
    path: &ast::Spanned<String>,
    source: Result<git::GitSource, String>,
    fetcher: Option<&dyn git::Fetcher>,
) -> Result<PathBuf, git::FetchError> {
    let source = source.map_err(|why| git::FetchError {
        code: Code::Import,
        message: format!("cannot load library `{alias}` from `{}`: {why}", path.node),
        help: "write `use \"git+https://host/org/repo@v1.2\" as name` (a tag, branch or commit after `@`)".into(),
    })?;
    let Some(fetcher) = fetcher else {
        return Err(git::FetchError {
            code: Code::Import,
            message: format!("library `{alias}` comes from git, and nothing here fetches it"),
            help: "check or run the flow with the `flow` command, which fetches git libraries"
                .into(),
        });
    };
    fetcher.fetch(alias, &source)
}

/// A [`git::FetchError`] as a diagnostic on the `use` path.
fn git_error(e: git::FetchError, main: SourceId, span: Span) -> Diagnostic {
    Diagnostic::new(e.code, main, span, e.message)
        .label("this library")
        .help(e.help)
}

/// The embedded `std` library under the alias `name`.
fn load_std(
    name: &str,
    sources: &mut SourceMap,
    diagnostics: &mut Vec<Diagnostic>,
    parse: ParseFn,
) -> LoadedLibrary {
    let files = std_lib::files();
    let mut templates = Vec::new();
    let mut skills = BTreeMap::new();
    for (path, bytes) in &files {
        if let Some(skill) = path
            .strip_prefix("skills/")
            .and_then(|p| p.strip_suffix(".md"))
        {
            if !skill.contains('/') {
                let text = String::from_utf8_lossy(bytes);
                let id = sources.add(format!("std/{path}"), text.as_ref());
                skills.insert(skill.to_string(), id);
            }
        } else if path.ends_with(".flow") && !path.contains('/') {
            let text = String::from_utf8_lossy(bytes);
            templates.extend(parse_library_file(
                &format!("std/{path}"),
                &text,
                sources,
                diagnostics,
                parse,
            ));
        }
    }
    LoadedLibrary {
        name: name.to_string(),
        dir: None,
        files,
        templates,
        skills,
    }
}

/// Parses one library file, keeping its templates; a `flow` or a `use` in it
/// is an import error (libraries hold only templates).
fn parse_library_file(
    name: &str,
    text: &str,
    sources: &mut SourceMap,
    diagnostics: &mut Vec<Diagnostic>,
    parse: ParseFn,
) -> Vec<LibTemplate> {
    let source = sources.add(name, text);
    let (file, diags) = parse(text, source);
    diagnostics.extend(diags);
    for flow in &file.flows {
        diagnostics.push(
            Diagnostic::new(
                Code::Import,
                source,
                flow.name.span,
                format!("library file `{name}` defines flow `{}`", flow.name.node),
            )
            .label("a flow in a library")
            .help("library files hold only `template`s; move the flow to its own file"),
        );
    }
    for u in &file.uses {
        diagnostics.push(
            Diagnostic::new(
                Code::Import,
                source,
                u.span,
                format!("library file `{name}` imports another library"),
            )
            .label("`use` in a library")
            .help("libraries cannot import libraries; import both from the flow file"),
        );
    }
    file.templates
        .into_iter()
        .map(|template| LibTemplate { source, template })
        .collect()
}

#[cfg(test)]
mod tests;
