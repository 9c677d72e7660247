//! `flow resume RUN [--force] [--jobs N] [--quiet] [--runs-dir DIR] [--secrets-file FILE]`.

use flow_runtime::run::{ResumeError, Resumed};
use std::path::{Path, PathBuf};

/// Arguments of `flow resume`.
#[derive(clap::Args)]
pub struct Args {
    /// The run: its id, a unique prefix of one, or `last`.
    run: String,
    /// Resume even if the flow or a library file changed since the run started.
    #[arg(long)]
    force: bool,
    /// Most attempts running at once (default: the number of CPUs).
    #[arg(long, value_parser = crate::params::parse_jobs)]
    jobs: Option<usize>,
    /// No live output; failed stages' log tails after the summary.
    #[arg(long)]
    quiet: bool,
    /// Where the runs are (default `.flow`).
    #[arg(long, value_name = "DIR")]
    runs_dir: Option<PathBuf>,
    /// Secrets as `NAME=value` lines (else from the environment), as for `flow run`.
    #[arg(long, value_name = "FILE")]
    secrets_file: Option<PathBuf>,
}

/// Resumes the run. Exit codes as `flow run`: 0 succeeded (or nothing to
/// resume), 1 failed / ended / timed out, 2 refused (live, changed, unknown
/// run) or usage, 130 cancelled.
pub fn run(args: Args) -> u8 {
    let base = args
        .runs_dir
        .clone()
        .unwrap_or_else(flow_runtime::rundir::default_base);
    let root = match flow_runtime::store::resolve_run(&base, &args.run) {
        Ok(root) => root,
        Err(e) => {
            eprintln!("error: {e}");
            return crate::EXIT_USAGE;
        }
    };
    let started = match flow_runtime::run::started(&root) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return crate::EXIT_USAGE;
        }
    };
    let Some(file) = started.file.clone() else {
        eprintln!("error: run {} records no flow file", started.run_id);
        return crate::EXIT_USAGE;
    };
    if !Path::new(&file).is_file() {
        eprintln!(
            "error: {file}, the flow of run {}, is gone; nothing was resumed",
            started.run_id
        );
        return crate::EXIT_USAGE;
    }
    let Some((pipeline, sources)) = crate::cmd::run::load_checked(Path::new(&file)) else {
        return 1;
    };
    let options = crate::cmd::run::EngineOptions {
        base_dir: base,
        quiet: args.quiet,
        jobs: args.jobs,
        secrets_file: args.secrets_file.as_deref(),
    };
    let mut opts = match options.build() {
        Ok(opts) => opts,
        Err(code) => return code,
    };
    opts.sources = sources;
    let force = args.force;
    let resumed = crate::cmd::run::on_engine(async move {
        flow_runtime::run::resume(&pipeline, &root, opts, force).await
    });
    let resumed = match resumed {
        Ok(resumed) => resumed,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    match resumed {
        Ok(Resumed::AlreadyDone { outcome }) => {
            eprintln!(
                "run {} already {outcome}; nothing to resume",
                started.run_id
            );
            0
        }
        Ok(Resumed::Ran(report)) => {
            eprint!("{}", report.summary_table());
            crate::cmd::run::failure_details(&report, args.quiet);
            eprintln!(
                "run {} resumed: {} in {} ({})",
                report.run_id,
                report.outcome_text(),
                humantime::format_duration(crate::cmd::run::round_to_ms(report.duration)),
                report.run_dir.display()
            );
            u8::try_from(report.exit_code()).unwrap_or(1)
        }
        Err(
            e @ (ResumeError::Running(_) | ResumeError::Changed { .. } | ResumeError::Journal(_)),
        ) => {
            eprintln!("error: {e}");
            crate::EXIT_USAGE
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
