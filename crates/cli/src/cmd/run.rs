//! `flow run FILE [--PARAM VALUE …] [--jobs N]`.

use crate::{params, report};
use flow_dsl::ir::Pipeline;
use flow_dsl::{Code, Diagnostic, Span};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once stderr turned out to be a closed pipe (`flow run … 2>&1 | head`).
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stderr. A closed pipe stops the printing, never the
/// run (`eprint!` would panic: Rust ignores SIGPIPE); the run is journaled
/// whatever is printed.
fn say(text: &str) {
    if STDERR_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut err = std::io::stderr().lock();
    if let Err(e) = err.write_all(text.as_bytes()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            STDERR_CLOSED.store(true, Ordering::Relaxed);
        }
    }
}

/// Writes `text` to stdout, ignoring a closed pipe (see [`say`]).
fn say_out(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Loads and checks `file`, printing its errors. `None` when it has errors
/// or no runnable flow.
pub fn load_pipeline(file: &Path) -> Option<Pipeline> {
    load_checked(file).map(|(pipeline, _)| pipeline)
}

/// [`load_pipeline`], with the hash of every source file it was checked
/// from (`crate::sources::hashes`), for the journal.
pub fn load_checked(file: &Path) -> Option<(Pipeline, BTreeMap<String, String>)> {
    let mut checked = crate::libs::check_file(file, None, flow_dsl::CheckOptions::default());
    let errors: Vec<&Diagnostic> = checked
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    for d in &errors {
        say(&report::human(d, &checked.sources));
    }
    if !errors.is_empty() {
        say(&format!(
            "error: {} does not check ({} error(s)); nothing was run\n",
            file.display(),
            errors.len()
        ));
        return None;
    }
    if checked.pipeline.is_none() {
        if let Some((id, _)) = checked.sources.files().next() {
            let d = Diagnostic::new(Code::NoFlow, id, Span::new(0, 0), "this file has no `flow` block to run")
                .help("a runnable file holds exactly one `flow NAME { … }`; library files hold only templates");
            say(&report::human(&d, &checked.sources));
        }
        return None;
    }
    let sources = crate::sources::hashes(&checked.sources);
    checked.pipeline.take().map(|p| (p, sources))
}

/// Runs the flow. Exit 0 succeeded (or skipped), 1 failed / ended / timed
/// out / does not check, 2 usage error, 129 cancelled by SIGHUP, 130
/// cancelled by Ctrl-C or SIGTERM.
pub fn run(args: Vec<String>) -> u8 {
    let Some((file, rest)) = args.split_first() else {
        say("error: usage: flow run FILE [--PARAM VALUE …] [--jobs N]\n");
        return crate::EXIT_USAGE;
    };
    if file == "--help" || file == "-h" {
        say_out("Usage: flow run FILE [--PARAM VALUE …] [--jobs N] [--quiet]\n\n`flow run FILE --help` lists the params of FILE.\n");
        return 0;
    }
    if !Path::new(file).is_file() {
        let why = crate::files::not_a_file(Path::new(file), "no such file");
        say(&format!("error: {file}: {why}\n"));
        return crate::EXIT_USAGE;
    }
    let Some((pipeline, sources)) = load_checked(Path::new(file)) else {
        return 1;
    };
    let args = match params::parse(&pipeline, file, rest) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { crate::EXIT_USAGE } else { 0 };
        }
    };
    let quiet = args.quiet;
    let base_dir = args
        .runs_dir
        .clone()
        .unwrap_or_else(flow_runtime::rundir::default_base);
    let options = EngineOptions {
        base_dir,
        quiet,
        jobs: args.jobs,
        secrets_file: args.secrets_file.as_deref(),
    };
    let mut opts = match options.build() {
        Ok(opts) => opts,
        Err(code) => return code,
    };
    opts.params = args.params;
    if let Some(id) = &args.submitted {
        match submitted(&pipeline, &opts.base_dir, id) {
            Ok((params, info)) => {
                opts.params = params;
                opts.submission = Some(info);
            }
            Err(e) => {
                say(&format!("error: submitted run {id}: {e}\n"));
                return 1;
            }
        }
    }
    // Absolute: `flow resume` checks the file again from any folder.
    opts.file =
        Some(std::path::absolute(file).map_or_else(|_| file.clone(), |p| p.display().to_string()));
    opts.sources = sources;
    let ran = on_engine(async move { flow_runtime::run::run(&pipeline, opts).await });
    match ran {
        Err(e) => {
            say(&format!("error: cannot start the async runtime: {e}\n"));
            1
        }
        Ok(Ok(report)) => {
            say(&report.summary_table());
            failure_details(&report, quiet);
            say(&format!(
                "run {} {} in {} ({})\n",
                report.run_id,
                report.outcome_text(),
                humantime::format_duration(round_to_ms(report.duration)),
                report.run_dir.display()
            ));
            u8::try_from(report.exit_code()).unwrap_or(1)
        }
        Ok(Err(e)) => {
            say(&format!("error: {e}\n"));
            1
        }
    }
}

/// The params and submission of the run submitted to `flow serve` as
/// `id` (`<base>/runs/<id>/submission.json`).
fn submitted(
    pipeline: &Pipeline,
    base: &Path,
    id: &str,
) -> Result<
    (
        Vec<(String, flow_dsl::ir::Value)>,
        flow_runtime::run::SubmissionInfo,
    ),
    String,
> {
    let root = flow_runtime::rundir::RunDir::adopt(base, id).map_err(|e| e.to_string())?;
    let sub = flow_runtime::store::submission::read(&root.root).map_err(|e| e.to_string())?;
    if sub.flow != pipeline.name {
        return Err(format!(
            "it was submitted for flow `{}`, this file holds `{}`",
            sub.flow, pipeline.name
        ));
    }
    let params = params::from_json(pipeline, &sub.params)?;
    let info = flow_runtime::run::SubmissionInfo {
        id: id.to_string(),
        key: sub.key,
        parent: sub.parent,
        description: sub.description,
    };
    Ok((params, info))
}

/// Runs `engine` (a run or a resume) to its end on a runtime of one worker
/// thread, as a task of it.
///
/// One worker: a run's tasks (the driver, each attempt's supervision) are
/// waiting on I/O almost all the time, and with more workers every stage
/// start and end woke an idle one to steal it, a thread switch each time,
/// which is most of what a short stage costs. A task, not `block_on`'s own
/// future: the driver and the attempts then share that worker's event loop
/// (no hand-over to the main thread per event), and where the driver blocks
/// (`runs()` in an expression, in `block_in_place`), the attempts' timers
/// and output move to another thread meanwhile. Work that blocks runs on
/// tokio's blocking threads as before.
///
/// # Errors
/// The runtime cannot be started (no thread can be made).
pub(crate) fn on_engine<F>(engine: F) -> std::io::Result<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let task = runtime.spawn(engine);
    match runtime.block_on(task) {
        Ok(output) => Ok(output),
        // As if it had run here: the panic goes on (its hook has printed it).
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(std::io::Error::other(e)),
    }
}

/// Lines of a failed stage's log shown after the summary in `--quiet` mode.
const TAIL_LINES: usize = 15;

/// At most this much of the log's end is read for those lines (a log can be
/// gigabytes).
const TAIL_BYTES: u64 = 64 * 1024;

/// For each stage that failed the run: where its log is and, in quiet mode
/// (where nothing was streamed), the log's last lines, so the reason is on
/// screen without opening files.
pub(crate) fn failure_details(report: &flow_runtime::run::RunReport, quiet: bool) {
    use flow_runtime::scheduler::StageOutcome;
    for stage in &report.stages {
        let failed_run = matches!(
            stage.outcome,
            Some(StageOutcome::Failed {
                handled: false,
                allowed: false,
                ..
            })
        );
        if !failed_run {
            continue;
        }
        let Some((visit, attempt)) = stage.last_attempt else {
            continue;
        };
        let log = flow_runtime::rundir::log_file(&report.run_dir, &stage.name, visit, attempt);
        if !log.exists() {
            say(&format!(
                "\nstage `{}` failed; it printed nothing\n",
                stage.name
            ));
            continue;
        }
        say(&format!(
            "\nstage `{}` failed; its log: {}\n",
            stage.name,
            log.display()
        ));
        if quiet {
            if let Ok(text) = log_tail(&log, TAIL_BYTES) {
                let text = String::from_utf8_lossy(&text);
                let lines: Vec<&str> = text.lines().collect();
                for line in &lines[lines.len().saturating_sub(TAIL_LINES)..] {
                    say(&format!("  | {line}\n"));
                }
            }
        }
    }
}

/// The last `max` bytes of the file at `path`, from the start of a line
/// when the file is longer (the cut first line is dropped, unless it is
/// all there is).
pub(crate) fn log_tail(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let from = file.metadata()?.len().saturating_sub(max);
    file.seek(SeekFrom::Start(from))?;
    let mut bytes = Vec::new();
    file.take(max).read_to_end(&mut bytes)?;
    if from > 0 {
        let start = bytes.iter().position(|b| *b == b'\n').map_or(0, |i| i + 1);
        bytes.drain(..start);
    }
    Ok(bytes)
}

pub(crate) fn round_to_ms(d: std::time::Duration) -> std::time::Duration {
    std::time::Duration::from_millis(d.as_millis() as u64)
}

/// What `flow run` and `flow resume` give the engine alike.
pub(crate) struct EngineOptions<'a> {
    /// `--runs-dir`, else `.flow`.
    pub base_dir: std::path::PathBuf,
    /// `--quiet`.
    pub quiet: bool,
    /// `--jobs N`.
    pub jobs: Option<usize>,
    /// `--secrets-file FILE`.
    pub secrets_file: Option<&'a Path>,
}

impl EngineOptions<'_> {
    /// The engine's options: stages supervised by this process when it is
    /// the engine's half of `flow` ([`flow_runtime::warden::split`]), else by
    /// this executable as a supervisor process (`flow __supervisor`, so an
    /// installed `flow` needs nothing beside it); the project's run store
    /// over `base_dir`, signals handled.
    ///
    /// # Errors
    /// The exit code, once the message is printed: 1 when this executable
    /// cannot be found, 2 (usage) for a bad secrets file.
    pub(crate) fn build(self) -> Result<flow_runtime::run::RunOptions, u8> {
        let supervisor = if flow_runtime::warden::is_warded() {
            flow_runtime::supervisor::Supervision::InProcess
        } else {
            let command =
                flow_runtime::supervisor::SupervisorCommand::current_exe().map_err(|e| {
                    say(&format!(
                        "error: cannot find the flow executable to supervise stages: {e}\n"
                    ));
                    1
                })?;
            flow_runtime::supervisor::Supervision::Process(command)
        };
        let secrets = match self.secrets_file {
            Some(path) => crate::secrets::read(path).map_err(|e| {
                say(&format!("error: --secrets-file {e}\n"));
                crate::EXIT_USAGE
            })?,
            None => Vec::new(),
        };
        let store = flow_runtime::store::RunDirStore::new(self.base_dir.clone());
        let mut opts = flow_runtime::run::RunOptions {
            supervisor,
            quiet: self.quiet,
            secrets,
            handle_signals: true,
            base_dir: self.base_dir,
            store: std::sync::Arc::new(store),
            ..Default::default()
        };
        if let Some(jobs) = self.jobs {
            opts.jobs = jobs;
        }
        Ok(opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_tail_reads_whole_lines_of_the_end_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.1.1.log");
        std::fs::write(&path, "first line\nsecond\nthird\n").unwrap();
        assert_eq!(
            log_tail(&path, 1024).unwrap(),
            b"first line\nsecond\nthird\n"
        );
        // The cut `line` of `first line` is dropped.
        assert_eq!(log_tail(&path, 17).unwrap(), b"second\nthird\n");
        assert!(log_tail(&dir.path().join("missing"), 10).is_err());
    }
}
