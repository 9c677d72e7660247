//! `flow-dsl`: the `.flow` language.
//!
//! ```text
//! text ──parse──▶ ast::File ──load──▶ + libraries (use, templates) ──check──▶ ir::Pipeline
//! ```
//!
//! Every phase collects all the [`Diagnostic`]s it can instead of stopping at
//! the first. Only [`load`] reads files; the rest is pure.
#![deny(missing_docs)]

pub mod ast;
pub mod check;
pub mod diagnostic;
pub mod expr;
pub mod ir;
pub mod load;
pub mod parse;
pub mod span;

pub use diagnostic::{Code, Diagnostic, Label, Severity};
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
}

impl Checked {
    /// True when some diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Loads `path` (reads it and its `use`d libraries) and checks it.
/// `pipeline` is `Some` only without errors and when the file has exactly
/// one flow; a file of templates only checks clean with no pipeline.
pub fn check_file(path: &std::path::Path) -> Checked {
    finish(load::load_file(path, &parse::parse))
}

/// Same as [`check_file`] for `text`, shown as `name` in diagnostics;
/// relative `use` paths (and the file's own `skills/`) resolve from `base_dir`.
pub fn check_source(name: &str, text: &str, base_dir: &std::path::Path) -> Checked {
    finish(load::load_source(name, text, base_dir, &parse::parse))
}

fn finish(loaded: load::Loaded) -> Checked {
    // After a syntax error the tree is partial: checking it would report
    // cascades (a stage "without run" whose `run` did not parse). Report the
    // syntax errors alone, as rustc stops before type checking.
    if loaded.diagnostics.iter().any(|d| d.code == Code::Syntax) {
        let diagnostics = loaded.diagnostics.clone();
        return Checked {
            sources: loaded.sources,
            diagnostics,
            pipeline: None,
        };
    }
    let (diagnostics, pipeline) = check::check(&loaded);
    Checked {
        sources: loaded.sources,
        diagnostics,
        pipeline,
    }
}
