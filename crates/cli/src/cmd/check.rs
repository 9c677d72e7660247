//! `flow check [PATH…]`: report every problem of every `.flow` file.

use crate::diagnostics;
use crate::files::flow_files;
use std::path::PathBuf;

/// Output formats of `flow check`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    /// miette's graphical report on stderr.
    Human,
    /// A JSON array of diagnostics on stdout.
    Json,
}

/// Arguments of `flow check`.
#[derive(clap::Args)]
pub struct Args {
    /// Files or folders (every *.flow below). Default: the current folder.
    paths: Vec<PathBuf>,
    /// How to report diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

/// Checks every file. Exit 0 when no errors, 1 on errors, 2 when a path
/// cannot be read.
pub fn run(args: Args) -> u8 {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths
    };
    let files = match flow_files(&paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return crate::EXIT_USAGE;
        }
    };
    let (mut errors, mut warnings) = (0, 0);
    let mut json_out = Vec::new();
    for file in &files {
        let checked = flow_dsl::check_file(file);
        for d in &checked.diagnostics {
            if d.is_error() {
                errors += 1;
            } else {
                warnings += 1;
            }
            match args.format {
                Format::Human => eprint!("{}", diagnostics::human(d, &checked.sources)),
                Format::Json => json_out.push(diagnostics::json(d, &checked.sources)),
            }
        }
    }
    match args.format {
        Format::Json => println!("{}", serde_json::Value::Array(json_out)),
        Format::Human => eprintln!(
            "checked {} file{}: {errors} error{}, {warnings} warning{}",
            files.len(),
            plural(files.len()),
            plural(errors),
            plural(warnings)
        ),
    }
    u8::from(errors > 0)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
