//! `flow`: check, run, graph and explain `.flow` pipelines, and look at,
//! cancel and prune their runs.
//!
//! The CLI is thin: argument parsing, rendering and exit codes. Everything
//! else is `flow-dsl` (language) and `flow-runtime` (engine).

mod batch_alloc;
mod cmd;
mod files;
mod libs;
mod lsp;
mod params;
mod report;
mod secrets;
mod serve;
mod shellcheck;
mod sources;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status for a usage or I/O error (as clap does).
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "flow",
    version,
    about = "A checked, concurrent, resumable workflow language and engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check .flow files (or every *.flow below folders) and report every problem.
    Check(cmd::check::Args),
    /// Run a flow: `flow run FILE [--PARAM VALUE …] [--jobs N]`.
    #[command(disable_help_flag = true)]
    Run {
        /// The .flow file, then its params and run options (`flow run FILE --help` lists them).
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            required = true,
            value_name = "FILE [ARGS]",
            add = clap_complete::engine::ArgValueCompleter::new(cmd::completions::RunArgs)
        )]
        args: Vec<String>,
    },
    /// Continue a run whose `flow` died, or that failed, was cancelled, timed out or
    /// ended with an `ends run` outcome: `flow resume RUN` (an id, a unique prefix, or `last`).
    Resume(cmd::resume::Args),
    /// Rewrite .flow files in the canonical layout (`--check`: only show what would change).
    Fmt(cmd::fmt::Args),
    /// Print the shell script that completes flow's commands, and a flow's params after
    /// `flow run FILE` (`source <(flow completions bash)`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: cmd::completions::Shell,
    },
    /// Print a flow's stage graph (needs and routes) as Graphviz dot or Mermaid.
    Graph {
        /// The .flow file.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = cmd::graph::Format::Dot)]
        format: cmd::graph::Format,
    },
    /// Explain a diagnostic code (`flow explain F0003`); without a code, list them all.
    Explain {
        /// A code such as F0003.
        code: Option<String>,
    },
    /// Serve editors on stdin/stdout: the language server (diagnostics, hover, go to
    /// definition, references, rename, completion, outline, formatting, quick fixes).
    Lsp,
    /// List the runs of this project (oldest first).
    Runs(cmd::runs::Args),
    /// Show one run: each stage's outcome, attempts, durations, artifacts and logs.
    Show(cmd::show::Args),
    /// Print the logs of a run's attempts (`--follow` until the run ends).
    Logs(cmd::logs::Args),
    /// Cancel a run driven by another `flow` process, as Ctrl-C would.
    Cancel(cmd::cancel::Args),
    /// Give a waiting `approval` stage its decision.
    Approve(cmd::approve::Args),
    /// Success and escalation rates, loop visits, stage durations and cost of the finished runs.
    Stats(cmd::stats::Args),
    /// Remove old runs (never an active one).
    Prune(cmd::prune::Args),
    /// Serve flows: a queue, triggers and a JSON + SSE API (docs/api.md).
    Serve(serve::Args),
    /// Submit a run to `flow serve`: `flow submit FLOW [--key K] [--description MD] [--PARAM V …]`.
    #[command(disable_help_flag = true)]
    Submit {
        /// The flow's name, then options and params (`flow submit --help`).
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            required = true,
            value_name = "FLOW [ARGS]"
        )]
        args: Vec<String>,
    },
    /// Fetch the git libraries of flows and pin what their revisions name now (`FLOW.flow.lock`).
    Update(cmd::update::Args),
}

fn main() -> ExitCode {
    // `flow __supervisor`: this binary as a run's supervisor process (the
    // engine starts it; hidden from `--help`), before clap sees anything.
    if std::env::args_os().nth(1).as_deref()
        == Some(std::ffi::OsStr::new(
            flow_runtime::supervisor::SUPERVISOR_ARG,
        ))
    {
        let code = flow_runtime::supervisor::serve_main();
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    // `FLOW_COMPLETE=bash flow -- …`: a shell asking for completions.
    cmd::completions::complete_env::<Cli>();
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check(args) => cmd::check::run(args),
        Command::Run { args } => {
            warden();
            // Only the engine logs; `check`, `graph`, `explain` and
            // `--version` skip setting up the subscriber (startup time).
            init_logging();
            cmd::run::run(args)
        }
        Command::Resume(args) => {
            warden();
            init_logging();
            cmd::resume::run(args)
        }
        Command::Fmt(args) => cmd::fmt::run(&args),
        Command::Completions { shell } => cmd::completions::run(shell),
        Command::Graph { file, format } => cmd::graph::run(&file, format),
        Command::Explain { code } => cmd::explain::run(code.as_deref()),
        Command::Lsp => cmd::lsp::run(),
        Command::Runs(args) => with_logging(|| cmd::runs::run(&args)),
        Command::Show(args) => cmd::show::run(&args),
        Command::Logs(args) => cmd::logs::run(&args),
        Command::Cancel(args) => cmd::cancel::run(&args),
        Command::Approve(args) => cmd::approve::run(&args),
        Command::Stats(args) => with_logging(|| cmd::stats::run(&args)),
        Command::Prune(args) => with_logging(|| cmd::prune::run(&args)),
        Command::Update(args) => cmd::update::run(&args),
        Command::Serve(args) => with_logging(|| serve::run(args)),
        Command::Submit { args } => cmd::submit::run(&args),
    };
    ExitCode::from(code)
}

/// Runs `f` with engine logging on (the store warns when it rebuilds).
/// `flow run`/`flow resume`: the rest of the command runs in a child
/// process, this one stays its warden (`flow_runtime::warden`), so stages
/// are supervised by the engine's own process. Still one thread here. If
/// the fork fails, the command goes on in this process with a supervisor
/// process instead.
fn warden() {
    if let Err(e) = flow_runtime::warden::split() {
        eprintln!("flow: cannot fork the engine's process ({e}); stages get a supervisor process");
    }
}

fn with_logging(f: impl FnOnce() -> u8) -> u8 {
    init_logging();
    f()
}

/// Engine warnings and errors (a journal that cannot be written, a signal
/// that cannot be sent) go to stderr; `FLOW_LOG=debug` (tracing's env-filter
/// syntax) shows more.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FLOW_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
