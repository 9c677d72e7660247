//! `flow check [PATH…]`: report every problem of every `.flow` file, in the
//! format people, CI systems or editors read.

use crate::files::flow_files;
use crate::report::{self, Format};
use crate::shellcheck::{Mode, Shellcheck};
use flow_dsl::Checked;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Lints that `--deny` turns into failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lint {
    /// Every warning fails the check (exit 1).
    Warnings,
}

/// Arguments of `flow check`.
#[derive(clap::Args)]
pub struct Args {
    /// Files or folders (every *.flow below). Default: the current folder.
    paths: Vec<PathBuf>,
    /// How to report diagnostics: human on stderr; json, github, sarif on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Fail (exit 1) on warnings too: `--deny warnings`.
    #[arg(long, value_enum, value_name = "LINT")]
    deny: Vec<Lint>,
    /// Check every `run` script with shellcheck: when installed (auto), never (off), or
    /// fail with exit 2 when it is missing (require).
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = Mode::Auto)]
    shellcheck: Mode,
}

/// Checks every file and reports in `args.format`. Exit 0 when no errors
/// (warnings allowed), 1 on errors (or warnings with `--deny warnings`), 2
/// when some path cannot be read (after checking all the others).
pub fn run(args: Args) -> u8 {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths
    };
    let shellcheck = match Shellcheck::find(args.shellcheck) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return crate::EXIT_USAGE;
        }
    };
    let found = flow_files(&paths);
    let bytes: u64 = found
        .files
        .iter()
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum();
    if bytes >= crate::batch_alloc::MIN_SOURCE_BYTES {
        crate::batch_alloc::tune();
    }
    let mut io_errors = found.errors;
    let mut tally = Tally::default();
    // json and sarif are one document, written at the end.
    let mut kept: Vec<Checked> = Vec::new();
    let cwd = std::env::current_dir().ok();
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr();
    // Write errors (a closed pipe) are ignored: the exit code still tells.
    for e in &io_errors {
        let _ = writeln!(err, "error: {e}");
    }
    // Scripts (their text, their variables) are only for shellcheck.
    let options = flow_dsl::CheckOptions {
        scripts: shellcheck.is_some(),
    };
    for (index, file) in found.files.iter().enumerate() {
        let mut checked = match check_one(file, options) {
            Ok(c) => c,
            Err(e) => {
                let _ = writeln!(err, "error: {e}");
                io_errors.push(e);
                continue;
            }
        };
        if let Some(sc) = &shellcheck {
            // shellcheck failing to run makes the check incomplete: exit 2.
            if let Err(e) = sc.add_findings(&mut checked, file) {
                let _ = writeln!(err, "error: {e}");
                io_errors.push(e);
            }
        }
        tally.add(&checked);
        match args.format {
            Format::Human => {
                for d in &checked.diagnostics {
                    let _ = write!(err, "{}", report::human(d, &checked.sources));
                }
            }
            Format::Github => {
                for d in &checked.diagnostics {
                    let _ = writeln!(
                        out,
                        "{}",
                        report::github::command(d, &checked.sources, cwd.as_deref())
                    );
                }
            }
            Format::Json | Format::Sarif => {
                kept.push(checked);
                continue;
            }
        }
        if index + 1 == found.files.len() {
            // The process ends soon: freeing the last file's tree and
            // pipeline (a tenth of the time of a large flow) is wasted work.
            std::mem::forget(checked);
        }
    }
    match args.format {
        Format::Json => {
            let all: Vec<_> = kept
                .iter()
                .flat_map(|c| {
                    c.diagnostics
                        .iter()
                        .map(|d| report::json::object(d, &c.sources))
                })
                .collect();
            let _ = writeln!(out, "{}", serde_json::Value::Array(all));
        }
        Format::Sarif => {
            let log = report::sarif::log(&kept, &io_errors, cwd.as_deref());
            let _ = writeln!(out, "{log}");
        }
        Format::Human | Format::Github => {
            let _ = writeln!(err, "{}", tally.summary(io_errors.len()));
        }
    }
    let _ = out.flush();
    std::mem::forget(kept); // as the last file above: the process ends soon
    exit_code(
        !io_errors.is_empty(),
        tally.errors,
        tally.warnings,
        args.deny.contains(&Lint::Warnings),
    )
}

/// Checks one file. `Err` when it cannot be read (an I/O error, exit 2); a
/// file that is not UTF-8 is read but reported as a diagnostic (F0019).
fn check_one(path: &Path, options: flow_dsl::CheckOptions) -> Result<Checked, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(crate::libs::check_file(path, Some(&text), options)),
        // The loader words the encoding problem as a diagnostic on the file.
        Err(_) => Ok(crate::libs::check_file(path, None, options)),
    }
}

/// Counts of what was checked and found.
#[derive(Default)]
struct Tally {
    files: usize,
    errors: usize,
    warnings: usize,
}

impl Tally {
    fn add(&mut self, checked: &Checked) {
        self.files += 1;
        let errors = checked.diagnostics.iter().filter(|d| d.is_error()).count();
        self.errors += errors;
        self.warnings += checked.diagnostics.len() - errors;
    }

    /// `checked 2 files: 1 error, 0 warnings` (and the unreadable paths).
    fn summary(&self, unreadable: usize) -> String {
        let mut line = format!(
            "checked {} file{}: {} error{}, {} warning{}",
            self.files,
            plural(self.files),
            self.errors,
            plural(self.errors),
            self.warnings,
            plural(self.warnings)
        );
        if unreadable > 0 {
            line += &format!(
                "; {unreadable} path{} could not be read",
                plural(unreadable)
            );
        }
        line
    }
}

/// 2 for an unreadable path (the check is incomplete), else 1 for errors or
/// denied warnings, else 0.
fn exit_code(io_error: bool, errors: usize, warnings: usize, deny_warnings: bool) -> u8 {
    if io_error {
        crate::EXIT_USAGE
    } else if errors > 0 || (deny_warnings && warnings > 0) {
        1
    } else {
        0
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_ranks_io_errors_over_errors_over_denied_warnings() {
        assert_eq!(exit_code(false, 0, 3, false), 0);
        assert_eq!(exit_code(false, 0, 3, true), 1);
        assert_eq!(exit_code(false, 1, 0, false), 1);
        assert_eq!(exit_code(true, 1, 0, false), 2);
        assert_eq!(exit_code(true, 0, 0, false), 2);
    }
}
