//! `flow fmt [--check] [PATH…]`: rewrite `.flow` files in the canonical
//! layout (`flow_dsl::fmt`), or with `--check` only say which would change.

use crate::files::flow_files;
use crate::report;
use flow_dsl::fmt::{format, FormatError};
use flow_dsl::SourceMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Arguments of `flow fmt`.
#[derive(clap::Args)]
pub struct Args {
    /// Files or folders (every *.flow below), or `-` to format standard input to standard
    /// output. Default: the current folder.
    paths: Vec<PathBuf>,
    /// Change no file: print a unified diff of each file that would change, and exit 1 if any
    /// would.
    #[arg(long)]
    check: bool,
}

/// What became of one file.
enum Outcome {
    /// Already in the canonical layout.
    Same,
    /// Rewritten (or, with `--check`, would be).
    Changed,
    /// Not formatted: a syntax error, an I/O error, a formatter bug (reported).
    Failed,
}

/// Formats every file. Exit 0 when done (with `--check`: nothing would
/// change), 1 with `--check` when a file would change, 2 when a file could
/// not be formatted (syntax errors, unreadable, not UTF-8, not writable),
/// after formatting all the others.
pub fn run(args: &Args) -> u8 {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let mut err = std::io::stderr();
    let mut failed = false;
    let mut changed = Vec::new();
    let (stdin, paths): (Vec<_>, Vec<_>) = paths.into_iter().partition(|p| p == Path::new("-"));
    if !stdin.is_empty() {
        match one_stdin(args.check) {
            Outcome::Same => {}
            Outcome::Changed => changed.push(PathBuf::from("-")),
            Outcome::Failed => failed = true,
        }
    }
    let found = flow_files(&paths);
    for e in &found.errors {
        let _ = writeln!(err, "error: {e}");
        failed = true;
    }
    for file in &found.files {
        match one_file(file, args.check) {
            Outcome::Same => {}
            Outcome::Changed => changed.push(file.clone()),
            Outcome::Failed => failed = true,
        }
    }
    if args.check && !changed.is_empty() {
        let _ = writeln!(
            err,
            "{} file(s) not formatted: run `flow fmt` on {}",
            changed.len(),
            changed
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if failed {
        crate::EXIT_USAGE
    } else if args.check && !changed.is_empty() {
        1
    } else {
        0
    }
}

/// `-`: standard input formatted to standard output (with `--check`, the
/// diff instead).
fn one_stdin(check: bool) -> Outcome {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("error: standard input: {e}");
        return Outcome::Failed;
    }
    let Some(formatted) = formatted("<stdin>", &text) else {
        return Outcome::Failed;
    };
    let mut out = std::io::stdout().lock();
    if check {
        if formatted != text {
            let _ = write!(out, "{}", diff("<stdin>", &text, &formatted));
        }
    } else {
        let _ = out.write_all(formatted.as_bytes());
    }
    let _ = out.flush();
    if formatted == text {
        Outcome::Same
    } else {
        Outcome::Changed
    }
}

fn one_file(path: &Path, check: bool) -> Outcome {
    let name = path.display().to_string();
    let text = match std::fs::read(path).map(String::from_utf8) {
        Ok(Ok(t)) => t,
        Ok(Err(_)) => {
            eprintln!("error: {name}: not UTF-8 text");
            return Outcome::Failed;
        }
        Err(e) => {
            eprintln!("error: {name}: {e}");
            return Outcome::Failed;
        }
    };
    let Some(formatted) = formatted(&name, &text) else {
        return Outcome::Failed;
    };
    if formatted == text {
        return Outcome::Same;
    }
    if check {
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "{}", diff(&name, &text, &formatted));
        return Outcome::Changed;
    }
    match replace(path, &formatted) {
        Ok(()) => Outcome::Changed,
        Err(e) => {
            eprintln!("error: {name}: {e}");
            Outcome::Failed
        }
    }
}

/// The formatted text, or `None` after reporting why not: syntax errors
/// are rendered as `flow check` renders them.
fn formatted(name: &str, text: &str) -> Option<String> {
    match format(text) {
        Ok(t) => Some(t),
        Err(FormatError::Syntax(diags)) => {
            let mut sources = SourceMap::default();
            sources.add(name, text);
            let mut err = std::io::stderr();
            for d in &diags {
                let _ = write!(err, "{}", report::human(d, &sources));
            }
            let _ = writeln!(
                err,
                "error: {name}: not formatted: fix the syntax errors first"
            );
            None
        }
        Err(e) => {
            eprintln!("error: {name}: {e}");
            None
        }
    }
}

/// `--- name` / `+++ name` and the changed lines with 3 lines of context.
fn diff(name: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(name, name)
        .to_string()
}

/// Replaces `path` atomically: a temporary file beside it (same folder, so
/// the rename stays on one file system) with the file's permissions, then
/// renamed over it. A reader sees the old text or the new, never half. A
/// symbolic link is followed: its target is replaced, the link stays.
fn replace(path: &Path, text: &str) -> std::io::Result<()> {
    let target = std::fs::canonicalize(path)?;
    let dir = target.parent().unwrap_or(Path::new("/"));
    let mut tmp = tempfile::Builder::new()
        .prefix(".flow-fmt-")
        .tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    std::fs::set_permissions(tmp.path(), std::fs::metadata(&target)?.permissions())?;
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(())
}
