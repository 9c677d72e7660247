//! One document's analysis: the `flow check` result for its text (the same
//! loading, libraries and checks as `flow check`, see `crate::libs`), plus
//! what editors need beyond the diagnostics: the syntax tree, the
//! libraries' templates and skills, and the symbol index (built on first
//! use, so publishing diagnostics costs no more than `flow check`).

use super::text::path_to_uri;
use flow_dsl::ast;
use flow_dsl::index::Index;
use flow_dsl::load::LibTemplate;
use flow_dsl::{CheckOptions, Checked, SourceId, SourceMap};
use lsp_types::Uri;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

/// The files a check read, and which one is the document.
#[derive(Debug, Clone, Copy)]
pub struct Files<'a> {
    /// Every file read.
    pub sources: &'a SourceMap,
    /// The document.
    pub main: SourceId,
    /// The files of the embedded `std` (no file on disk).
    pub embedded: &'a BTreeSet<SourceId>,
}

impl Files<'_> {
    /// The text of `source`.
    pub fn text_of(&self, source: SourceId) -> &str {
        &self.sources.get(source).text
    }

    /// The `file:` URI of `source`: `doc` for the document, the file's own
    /// for a library file on disk (its name is its path, relative to the
    /// current folder when below it), `None` for the embedded `std` (it has
    /// no file an editor could open).
    pub fn uri_of(&self, source: SourceId, doc: &Uri) -> Option<Uri> {
        if source == self.main {
            return Some(doc.clone());
        }
        if self.embedded.contains(&source) {
            return None;
        }
        let name = Path::new(&self.sources.get(source).name);
        name.is_file().then(|| path_to_uri(name)).flatten()
    }
}

/// A library the document `use`s, as loaded.
#[derive(Debug)]
pub struct Library {
    /// Its alias (`std`, `mine`).
    pub name: String,
    /// Its templates with the file of each.
    pub templates: Vec<LibTemplate>,
    /// `skills/NAME.md`: `NAME` → the file.
    pub skills: BTreeMap<String, SourceId>,
}

/// A checked document.
#[derive(Debug)]
pub struct Analysis {
    /// `flow check`'s result for the text (without the pipeline).
    pub checked: Checked,
    /// The document's syntax tree (partial after a syntax error).
    pub file: ast::File,
    /// The document's id in `checked.sources`.
    pub main: SourceId,
    /// Its libraries, in `use` order.
    pub libraries: Vec<Library>,
    /// `skills/NAME.md` beside the document.
    pub local_skills: BTreeMap<String, SourceId>,
    /// The files of the embedded `std`.
    pub embedded: BTreeSet<SourceId>,
    index: OnceLock<Index>,
}

impl Analysis {
    /// Loads and checks `text`, the contents of the flow file at `path`
    /// (unsaved text: the file on disk is not read).
    pub fn new(path: &Path, text: &str, options: CheckOptions) -> Analysis {
        let loaded = crate::libs::load_file(path, Some(text));
        let file = loaded.file.clone();
        let main = loaded.main;
        let local_skills = loaded.local_skills.clone();
        let embedded = loaded
            .libraries
            .iter()
            .filter(|l| l.dir.is_none())
            .flat_map(|l| {
                let templates = l.templates.iter().map(|t| t.source);
                templates
                    .chain(l.skills.values().copied())
                    .collect::<Vec<_>>()
            })
            .collect();
        let libraries = loaded
            .libraries
            .iter()
            .map(|l| Library {
                name: l.name.clone(),
                templates: l.templates.clone(),
                skills: l.skills.clone(),
            })
            .collect();
        let mut checked = flow_dsl::check_loaded(loaded, options);
        // Nothing here runs it; a large flow's pipeline is not worth keeping.
        checked.pipeline = None;
        Analysis {
            checked,
            file,
            main,
            libraries,
            local_skills,
            embedded,
            index: OnceLock::new(),
        }
    }

    /// The document's symbol index.
    pub fn index(&self) -> &Index {
        self.index.get_or_init(|| Index::build(&self.file))
    }

    /// The document's text, as checked.
    pub fn text(&self) -> &str {
        &self.checked.sources.get(self.main).text
    }

    /// The text of `source`.
    pub fn text_of(&self, source: SourceId) -> &str {
        &self.checked.sources.get(source).text
    }

    /// The document's files (to place diagnostics and locations).
    pub fn files(&self) -> Files<'_> {
        Files {
            sources: &self.checked.sources,
            main: self.main,
            embedded: &self.embedded,
        }
    }

    /// See [`Files::uri_of`].
    pub fn uri_of(&self, source: SourceId, doc: &Uri) -> Option<Uri> {
        self.files().uri_of(source, doc)
    }

    /// The library imported as `alias`.
    pub fn library(&self, alias: &str) -> Option<&Library> {
        self.libraries.iter().find(|l| l.name == alias)
    }

    /// The template a call names: `(its file, the template)`.
    pub fn template(&self, call: &ast::TemplateCall) -> Option<(SourceId, &ast::Template)> {
        match &call.library {
            None => self
                .file
                .templates
                .iter()
                .find(|t| t.name.node == call.name.node)
                .map(|t| (self.main, t)),
            Some(lib) => self
                .library(&lib.node)?
                .templates
                .iter()
                .find(|t| t.template.name.node == call.name.node)
                .map(|t| (t.source, &t.template)),
        }
    }

    /// The skill file a `skill` argument `value` of `call` names, resolved
    /// as the checker does (docs/language.md, "Templates"): `./NAME` beside
    /// the flow, `LIB.NAME` in library `LIB`, `NAME` in the template's own
    /// library.
    pub fn skill(&self, call: &ast::TemplateCall, value: &str) -> Option<SourceId> {
        if let Some(name) = value.strip_prefix("./") {
            return self.local_skills.get(name).copied();
        }
        if let Some((alias, name)) = value.split_once('.') {
            return self.library(alias)?.skills.get(name).copied();
        }
        match &call.library {
            None => self.local_skills.get(value).copied(),
            Some(lib) => self.library(&lib.node)?.skills.get(value).copied(),
        }
    }
}
