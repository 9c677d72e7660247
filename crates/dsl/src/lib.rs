//! `flow-dsl`: the `.flow` language.
//!
//! ```text
//! text ──parse──▶ ast::File ──load──▶ + libraries (use, templates) ──check──▶ ir::Pipeline
//! ```
//!
//! Every phase collects all the [`Diagnostic`]s it can instead of stopping at
//! the first. Only [`load`] reads files; the rest is pure.
#![deny(missing_docs)]

// The pest-generated parser (without pest's `std`) names `alloc`.
extern crate alloc;

pub mod ast;
pub mod check;
pub mod diagnostic;
pub mod expr;
pub mod fmt;
pub mod index;
pub mod ir;
pub mod load;
pub mod parse;
pub mod script;
pub mod span;
pub mod suppress;

pub use diagnostic::{Code, Diagnostic, Label, Severity, Suggestion};
pub use span::{SourceId, SourceMap, Span};

/// The result of checking a file: every source read (to render the
/// diagnostics), every diagnostic, and the pipeline when it can run.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The file and the library files it loaded.
    pub sources: SourceMap,
    /// Every problem found, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// `Some` only without errors and when the file has exactly one flow.
    pub pipeline: Option<ir::Pipeline>,
    /// The main file's own `run` scripts, for tools that check them
    /// (empty after a syntax error).
    pub scripts: Vec<script::ScriptSite>,
    /// The `# flow: allow(…)` comments, already applied to `diagnostics`;
    /// kept so [`Checked::add_findings`] applies them to later findings.
    pub suppressions: suppress::Suppressions,
}

impl Checked {
    /// True when some diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Adds diagnostics found after the check (shellcheck's, by the CLI):
    /// the suppression comments silence them too, and a suppression they
    /// use is no longer reported unused. Keeps the diagnostics sorted.
    pub fn add_findings(&mut self, mut findings: Vec<Diagnostic>) {
        let stale = self.suppressions.unused(&self.sources);
        self.diagnostics.retain(|d| !stale.contains(d));
        self.suppressions.silence(&mut findings);
        self.diagnostics.extend(findings);
        self.diagnostics
            .extend(self.suppressions.unused(&self.sources));
        suppress::sort(&mut self.diagnostics);
    }
}

/// Loads `path` (reads it and its `use`d libraries) and checks it.
/// `pipeline` is `Some` only without errors and when the file has exactly
/// one flow; a file of templates only checks clean with no pipeline.
pub fn check_file(path: &std::path::Path) -> Checked {
    check_loaded(
        load::load_file(path, &parse::parse),
        CheckOptions::default(),
    )
}

/// Same as [`check_file`] for `text`, shown as `name` in diagnostics;
/// relative `use` paths (and the file's own `skills/`) resolve from `base_dir`.
pub fn check_source(name: &str, text: &str, base_dir: &std::path::Path) -> Checked {
    check_source_with(name, text, base_dir, CheckOptions::default())
}

/// What a check computes beyond the diagnostics and the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckOptions {
    /// Fill [`Checked::scripts`] (their text and variables). Without it the
    /// field is empty, which saves time when no tool reads the scripts
    /// (`flow check --shellcheck off`); the diagnostics are the same.
    pub scripts: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions { scripts: true }
    }
}

/// [`check_source`] with `options`.
pub fn check_source_with(
    name: &str,
    text: &str,
    base_dir: &std::path::Path,
    options: CheckOptions,
) -> Checked {
    check_loaded(
        load::load_source(name, text, base_dir, &parse::parse),
        options,
    )
}

/// Checks what [`load::load_file_with`] (or [`load::load_source_with`])
/// loaded: how the `flow` command checks a file whose git libraries it
/// fetches itself.
pub fn check_loaded(mut loaded: load::Loaded, options: CheckOptions) -> Checked {
    // After a syntax error the tree is partial: checking it would report
    // cascades (a stage "without run" whose `run` did not parse). Report the
    // syntax errors alone, as rustc stops before type checking. Suppressions
    // still apply, but none is reported unused: the checks did not run.
    if loaded.diagnostics.iter().any(|d| d.code == Code::Syntax) {
        let mut diagnostics = loaded.diagnostics;
        let suppressions = suppress::apply(
            &mut diagnostics,
            &loaded.sources,
            &loaded.comments,
            &[],
            None,
        );
        return Checked {
            sources: loaded.sources,
            diagnostics,
            pipeline: None,
            scripts: Vec::new(),
            suppressions,
        };
    }
    let (mut diagnostics, pipeline) = check::check(&loaded);
    let (scripts, blocks) = if options.scripts {
        let scripts = script::collect(&loaded.file, loaded.main, &loaded.libraries);
        let blocks: Vec<_> = scripts.iter().map(|s| (s.source, s.span)).collect();
        (scripts, blocks)
    } else {
        (Vec::new(), script::spans(&loaded.file, loaded.main))
    };
    let main = Some(loaded.main);
    let suppressions = suppress::apply(
        &mut diagnostics,
        &loaded.sources,
        &loaded.comments,
        &blocks,
        main,
    );
    let size = loaded.sources.get(loaded.main).text.len();
    let sources = std::mem::take(&mut loaded.sources);
    discard(loaded, size);
    Checked {
        suppressions,
        scripts,
        sources,
        diagnostics,
        pipeline,
    }
}

/// From this many bytes of flow source, the syntax trees are freed on a
/// thread of their own: for the benchmark's 5,000 stages (800 KB) freeing
/// them cost 4% of `flow check`, after the answer was known.
const DISCARD_APART_FROM: usize = 64 * 1024;

/// Drops `value`, built from a main file of `size` bytes: a large one on a
/// detached thread (its memory is returned a little later; a process that
/// exits first simply does not wait for it).
fn discard<T: Send + 'static>(value: T, size: usize) {
    if size >= DISCARD_APART_FROM {
        let spawned = std::thread::Builder::new()
            .name("flow-discard".into())
            .spawn(move || drop(value));
        // Without a thread the closure, and `value` in it, is dropped here.
        drop(spawned);
    } else {
        drop(value);
    }
}
