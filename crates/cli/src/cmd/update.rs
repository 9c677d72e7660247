//! `flow update [FLOW…]`: fetch every git library the flows use, pin what
//! each revision names now, and rewrite their lock files. The only command
//! that moves a pin (`flow check` and `flow run` add pins, never move them).

use crate::files::flow_files;
use crate::libs::{self, GitLibraries, Mode};
use flow_dsl::Code;
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `flow update`.
#[derive(clap::Args)]
pub struct Args {
    /// Flow files, or folders (every *.flow below). Default: the current folder.
    flows: Vec<PathBuf>,
}

/// Updates the locks. Exit 0 when every git library was fetched and
/// pinned, 1 when one could not be (its error is printed; the others are
/// still pinned), 2 when a path cannot be read.
pub fn run(args: &Args) -> u8 {
    let paths = if args.flows.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.flows.clone()
    };
    let found = flow_files(&paths);
    let mut err = std::io::stderr();
    for e in &found.errors {
        let _ = writeln!(err, "error: {e}");
    }
    let mut failed = false;
    for file in &found.files {
        let libs = GitLibraries::new(file, Mode::Update);
        let lock_path = libs.lock_path().to_path_buf();
        let loaded = flow_dsl::load::load_file_with(file, &flow_dsl::parse::parse, Some(&libs));
        for d in &loaded.diagnostics {
            if matches!(d.code, Code::Import | Code::LibraryLock) {
                failed = true;
                let _ = write!(err, "{}", crate::report::human(d, &loaded.sources));
            }
        }
        match libs.finish() {
            Ok((changes, _)) => {
                for c in changes {
                    let from = c
                        .from
                        .as_deref()
                        .map_or("new".to_string(), |f| libs::short(f).to_string());
                    let _ = writeln!(
                        err,
                        "{}: library `{}` ({}) {from} -> {}",
                        lock_path.display(),
                        c.alias,
                        c.spec,
                        libs::short(&c.to)
                    );
                }
            }
            Err(e) => {
                failed = true;
                let _ = writeln!(err, "error: {e}");
            }
        }
    }
    if !found.errors.is_empty() {
        crate::EXIT_USAGE
    } else {
        u8::from(failed)
    }
}
