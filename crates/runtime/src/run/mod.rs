//! Running a pipeline: the imperative shell around the [`Scheduler`].
//!
//! [`run`] creates the run directory and journal, resolves params and
//! secrets, evaluates `skip if`, waits for a `concurrency` slot (`queue`),
//! evaluates the `let`s, materialises libraries, then
//! drives the scheduler: it performs each [`Decision`] (spawning attempts
//! when a `--jobs` slot is free, sleeping for retries, killing on cancel,
//! journaling) and feeds back each [`Event`] (attempt finished, timer fired,
//! Ctrl-C / SIGTERM / SIGHUP, flow timeout) until [`Decision::RunFinished`].
//! Every attempt process is a child of the run's supervisor process
//! ([`crate::supervisor`]), started before the first stage and shut down
//! (killing whatever escaped) before [`run`] returns.
//!
//! It does not print the summary: [`RunReport::summary_table`] gives the
//! text, the CLI prints it.
//!
//! [`Scheduler`]: crate::scheduler::Scheduler
//! [`Decision`]: crate::scheduler::Decision
//! [`Decision::RunFinished`]: crate::scheduler::Decision::RunFinished
//! [`Event`]: crate::scheduler::Event

pub mod approval;
mod attempt;
mod driver;
mod index_row;
mod queue;
mod record;
mod replay;
mod report;
mod resume;
mod scripts;

pub use record::Started;
pub use report::{outcome_word, stage_outcome_text, RunReport, StageSummary};
pub use resume::{resume, started, ResumeError, Resumed};

use flow_dsl::expr::{NoRuns, RunInfo, RunStore};
use flow_dsl::ir::{ParamType, Pipeline, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use self::index_row::IndexRow;
use crate::builtin::Builtins;
use crate::env::Exprs;
use crate::journal::{Journal, JournalEvent, RunEvent};
use crate::output::{
    short_secrets, Masker, MaskingSink, NullSink, OutputSink, TerminalSink, MIN_SECRET_LEN,
};
use crate::rundir::{self, RunDir};
use crate::runlock::RunLock;
use crate::scheduler::RunOutcome;
use crate::store::ProjectStore;
use crate::supervisor::{Supervision, Supervisor};

/// How to run.
pub struct RunOptions {
    /// Attempts running at once (at least 1).
    pub jobs: usize,
    /// Where `runs/` lives (default `.flow`).
    pub base_dir: PathBuf,
    /// No live output on the terminal.
    pub quiet: bool,
    /// Param values, already type-checked; declared params missing here get
    /// their defaults.
    pub params: Vec<(String, Value)>,
    /// Secret values given explicitly (`--secrets-file`); a declared secret
    /// not listed here is read from the environment.
    pub secrets: Vec<(String, String)>,
    /// The `.flow` file, for the journal (`flow resume` checks it again
    /// from there: give an absolute path).
    pub file: Option<String>,
    /// Every source file the flow was checked from → SHA-256 of its bytes
    /// (lowercase hex), for `run_started`: `flow resume` refuses a run
    /// whose sources changed. The CLI fills it from `Checked::sources`.
    pub sources: BTreeMap<String, String>,
    /// Turn Ctrl-C, SIGTERM and SIGHUP into a cancel (the CLI sets it;
    /// tests do not).
    pub handle_signals: bool,
    /// Where live output goes instead of the terminal (tests).
    pub sink: Option<Arc<dyn OutputSink>>,
    /// The other runs of the project, as this run sees them: the one object
    /// that answers `runs(flow, state)` in expressions *and* hands out
    /// `concurrency` slots, so the two always agree. Give
    /// [`RunDirStore::new`]`(base_dir)` over the same `base_dir`, as the CLI
    /// does. The default, [`NoRuns`], is a run alone in its world: `runs()`
    /// answers 0 and `concurrency` always admits at once (no run queues).
    /// It is a separate field, not built from `base_dir`, so that a test or
    /// an embedder can give another store (e.g. a scripted one).
    ///
    /// [`RunDirStore::new`]: crate::store::RunDirStore::new
    pub store: Arc<dyn ProjectStore>,
    /// Who is the parent of every attempt process (see
    /// [`crate::supervisor`]): a supervisor process, a program that calls
    /// [`crate::supervisor::serve_main`] (the default: the
    /// `flow-supervisor` binary of this crate, beside the current
    /// executable or one folder up, as in cargo's test layout, else on
    /// `PATH`); or this process itself, [`Supervision::InProcess`], which
    /// the CLI uses under its warden ([`crate::warden`]).
    pub supervisor: Supervision,
    /// A run submitted to `flow serve`: its id was allocated at submission
    /// (`<base>/runs/<id>/submission.json` exists) and the run takes that
    /// directory over instead of making one; its key, parent and
    /// description go into `run_started`. `None` for `flow run`.
    pub submission: Option<SubmissionInfo>,
    /// The functions of the pipeline's `run builtin "NAME"` stages, by
    /// NAME (see [`crate::builtin`]). A pipeline naming one that is not
    /// here is refused before anything is made
    /// ([`RunError::MissingBuiltins`]): `flow run` registers none.
    pub builtins: Builtins,
    /// The program's cancel request: turning it true cancels the run as
    /// Ctrl-C does (journaled as `cancel_requested` with signal
    /// `"cancel"`). `None`: only signals cancel (when handled).
    pub cancel: Option<tokio::sync::watch::Receiver<bool>>,
    /// Where every journal event of the run is also sent, as written
    /// (masked), right after it is written (see [`crate::engine`]).
    pub events: Option<tokio::sync::mpsc::UnboundedSender<RunEvent>>,
}

/// What a submitted run carries into its `run_started` (see
/// [`crate::store::submission`]).
#[derive(Debug, Clone, Default)]
pub struct SubmissionInfo {
    /// The run id answered at submission.
    pub id: String,
    /// Dedupe key.
    pub key: Option<String>,
    /// The run whose stage submitted it.
    pub parent: Option<String>,
    /// Description (markdown).
    pub description: Option<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            base_dir: rundir::default_base(),
            quiet: false,
            params: Vec::new(),
            secrets: Vec::new(),
            file: None,
            sources: BTreeMap::new(),
            handle_signals: false,
            sink: None,
            store: Arc::new(NoRuns),
            supervisor: Supervision::default(),
            submission: None,
            builtins: Builtins::new(),
            cancel: None,
            events: None,
        }
    }
}

/// The [`RunStore`] view of a [`ProjectStore`] for the expression engine
/// of run `own_id`: it never counts its own run. Expressions are evaluated
/// on the async event loop, and the store does I/O (SQLite, lock probes):
/// on a multi-thread runtime the query runs in `block_in_place`, so the
/// worker's other tasks (signals, attempts) move to another thread while it
/// runs. A current-thread runtime has no other thread to hand them to; the
/// query then runs in place (it takes well under a millisecond).
struct Counts {
    store: Arc<dyn ProjectStore>,
    own_id: String,
}

impl RunStore for Counts {
    fn count_runs(&self, flow: &str, state: &str) -> i64 {
        let ask = || self.store.count_others(flow, state, &self.own_id);
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi_thread {
            tokio::task::block_in_place(ask)
        } else {
            ask()
        }
    }
}

/// Why a run could not be carried out (a run that ran and failed is a
/// [`RunReport`] with a non-success outcome, not an error).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The run directory or journal could not be written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
    /// A required param has no value.
    #[error("missing required param `--{0}`")]
    MissingParam(String),
    /// A param's value cannot be the setting that names it (`max 0`).
    #[error("{0}")]
    BadParam(String),
    /// A declared secret is neither given nor in the environment.
    #[error("secret `{0}` is not set (environment variable or secrets file)")]
    MissingSecret(String),
    /// `skip if` or a `let` failed to evaluate.
    #[error("{what}: {message}")]
    Expr {
        /// `skip if`, `let branch`.
        what: String,
        /// The evaluation error.
        message: String,
    },
    /// The pipeline has `run builtin "NAME"` stages whose NAME the program
    /// did not register (sorted). Nothing was made.
    #[error(
        "builtin stage function(s) not registered: {}; only a program that embeds flow and \
         registers them can run this flow (docs/embedding.md)",
        .0.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
    )]
    MissingBuiltins(Vec<String>),
    /// The scheduler stopped deciding with nothing running (a bug).
    #[error("internal error: {0}")]
    Internal(String),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> RunError {
    let context = context.into();
    move |source| RunError::Io { context, source }
}

/// Runs `pipeline` to the end. See the module docs.
pub async fn run(pipeline: &Pipeline, opts: RunOptions) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let mut early = None;
    let report = begin(pipeline, opts, started, &mut early).await;
    // A run that ended before its first stage (an error, `skip if`) did not
    // use it: it ends here, with nothing to kill.
    if let Some(unused) = early {
        unused.shutdown().await;
    }
    report
}

/// [`run`]; the supervisor it starts early is left in `early` until the
/// first stage's preparation takes it.
async fn begin(
    pipeline: &Pipeline,
    opts: RunOptions,
    started: Instant,
    early: &mut Option<Arc<Supervisor>>,
) -> Result<RunReport, RunError> {
    check_builtins(pipeline, &opts.builtins)?;
    let params = resolve_params(pipeline, &opts.params)?;
    // `max PARAM`, `again after PARAM`: checked before anything is made.
    let pipeline = &*pipeline.bind_params(&params).map_err(RunError::BadParam)?;
    let secrets = resolve_secrets(pipeline, &opts.secrets)?;
    // The supervisor process starts now, so that its start-up overlaps the
    // run's set-up rather than delaying the first stage; not for a flow
    // that may wait in its `concurrency` queue (an idle process meanwhile).
    // If it cannot start here, `prepare_attempts` tries again and reports.
    if pipeline.concurrency.is_none() {
        *early = Supervisor::new(&opts.supervisor).ok().map(Arc::new);
    }
    // Every writer of the run masks with it: live output, logs, journal,
    // result.json, notices, error messages.
    let masker = run_masker(&secrets);
    let dir = match &opts.submission {
        Some(sub) => RunDir::adopt(&opts.base_dir, &sub.id)
            .map_err(io(format!("opening submitted run {}", sub.id)))?,
        None => RunDir::create(&opts.base_dir)
            .map_err(io(format!("creating a run in {}", opts.base_dir.display())))?,
    };
    // Held until this function returns: the run is alive exactly as long
    // (see `runlock`). A new directory's lock is free; a submitted one's
    // is held only by whoever else takes it over (a cancel of the queued
    // run), and a journal means it was taken over already.
    let _lock = RunLock::acquire(&dir.root)
        .map_err(io("taking the run's lock"))?
        .ok_or_else(|| {
            RunError::Internal(format!("run {}'s lock is held by another process", dir.id))
        })?;
    if opts.submission.is_some() && dir.journal().exists() {
        return Err(RunError::Internal(format!(
            "submitted run {} has started already",
            dir.id
        )));
    }
    let submission = opts.submission.clone().unwrap_or_default();
    let journal = Journal::open(&dir.journal()).map_err(io("opening the journal"))?;
    let journal = Arc::new(journal.with_masker(&masker).with_tap(opts.events.clone()));
    journal
        .append(&JournalEvent::RunStarted {
            flow: pipeline.name.clone(),
            run_id: dir.id.clone(),
            nonce: dir.nonce.clone(),
            params: params
                .iter()
                .map(|(k, v)| (k.clone(), param_json(v)))
                .collect(),
            file: opts.file.clone(),
            pid: std::process::id(),
            sources: opts.sources.clone(),
            alerts: pipeline.alerts.clone(),
            key: submission.key,
            parent: submission.parent,
            description: submission.description,
        })
        .map_err(io("writing the journal"))?;
    let mut row = IndexRow::new(opts.store.clone());
    let id = dir.id.clone();
    row.update(move |s| s.sync_run(&id));
    let id = dir.id.clone();
    let begun = Begun {
        dir,
        journal,
        params,
        secrets,
        masker,
        started,
    };
    let report = go(pipeline, opts, begun, &mut row, early).await;
    // The index learns the end before the lock is released, so no reader
    // ever sees this run dead but unfinished.
    row.update_and_wait(move |s| s.sync_run(&id)).await;
    report
}

/// What `run` made before `run_started` was journaled.
struct Begun {
    dir: RunDir,
    journal: Arc<Journal>,
    params: Vec<(String, Value)>,
    secrets: Vec<(String, String)>,
    /// Every writer of the run masks with it.
    masker: Arc<Masker>,
    started: Instant,
}

/// The run after its start is journaled: `skip if`, the queue, the `let`s,
/// libraries, then the driver.
async fn go(
    pipeline: &Pipeline,
    opts: RunOptions,
    begun: Begun,
    row: &mut IndexRow,
    early: &mut Option<Arc<Supervisor>>,
) -> Result<RunReport, RunError> {
    let Begun {
        dir,
        journal,
        params,
        secrets,
        masker,
        started,
    } = begun;
    let log = |e: &JournalEvent| journal.append(e).map_err(io("writing the journal"));
    let mut exprs = run_exprs(pipeline, &dir, &opts.store, &params);
    let finish = |outcome: &str, reason: Option<String>| {
        log(&JournalEvent::RunFinished {
            outcome: outcome.into(),
            reason,
            duration_ms: started.elapsed().as_millis() as u64,
        })
    };
    let fail = |what: String, message: String| {
        // An expression error may quote a value: the CLI prints it.
        let message = masker.mask_str(&message).into_owned();
        finish("failed", Some(format!("{what}: {message}")))?;
        Err(RunError::Expr { what, message })
    };
    if let Some(cond) = &pipeline.skip_if {
        match exprs.eval_bool(cond, &[]) {
            Ok(true) => {
                log(&JournalEvent::RunSkipped {
                    condition: cond.source.clone(),
                })?;
                finish("skipped", None)?;
                return Ok(RunReport {
                    run_id: dir.id.clone(),
                    run_dir: dir.root.clone(),
                    outcome: RunOutcome::Succeeded,
                    skipped: true,
                    stages: driver::untouched(pipeline),
                    duration: started.elapsed(),
                    signal: None,
                });
            }
            Ok(false) => {}
            Err(m) => return fail("skip if".into(), m),
        }
    }
    // One signal listener for the whole run, made before anything waits: once
    // tokio handles SIGINT the default action is gone, so a Ctrl-C arriving
    // between two listeners would be lost. Signals received before the
    // driver polls are kept and cancel the run at its first poll.
    let mut signals = driver::Signals::with_request(opts.handle_signals, opts.cancel.clone());
    let sink = run_sink(&opts, &masker);
    for name in short_secrets(&secrets) {
        let message = format!(
            "secret `{name}` (or a line of it) is shorter than {MIN_SECRET_LEN} bytes: \
             it is not masked in output"
        );
        log(&JournalEvent::Warning {
            stage: None,
            message: message.clone(),
        })?;
        sink.notice(&format!("⚠ {message}"));
    }
    if let Some(limit) = pipeline.concurrency {
        // Admission reads and writes the rows: this one is there first.
        row.written().await;
        let turn = queue::Turn {
            store: opts.store.clone(),
            dir: &dir,
            pipeline,
            limit,
            journal: &journal,
            sink: &sink,
            started,
        };
        if let Some(cancelled) = queue::wait_for_slot(turn, &mut signals).await? {
            return Ok(cancelled);
        }
    } else {
        let id = dir.id.clone();
        row.update(move |s| s.going_on(&id));
    }
    for (name, e) in &pipeline.lets {
        if let Err(m) = exprs.add_let(name, e) {
            return fail(format!("let {name}"), m);
        }
    }
    let Prepared {
        libs,
        scripts,
        supervisor,
    } = match prepare_attempts(&dir, pipeline, &opts, early.take()) {
        Ok(ready) => ready,
        Err(RunError::Io { context, source }) => {
            finish("failed", Some(format!("{context}: {source}")))?;
            return Err(RunError::Io { context, source });
        }
        Err(other) => return Err(other),
    };

    let setup = driver::Setup {
        pipeline,
        dir,
        journal,
        exprs,
        secrets,
        libs,
        masker,
        sink,
        jobs: opts.jobs.max(1),
        signals,
        started,
        supervisor,
        scripts,
        builtins: opts.builtins.clone(),
    };
    drive_supervised(setup, None).await
}

/// Refuses a pipeline whose builtin stages are not all registered.
///
/// # Errors
/// [`RunError::MissingBuiltins`] naming them.
fn check_builtins(pipeline: &Pipeline, builtins: &Builtins) -> Result<(), RunError> {
    let missing = builtins.missing(pipeline);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(RunError::MissingBuiltins(missing))
    }
}

/// Drives the run (see [`driver::drive`]), then shuts its supervisor down:
/// every attempt has ended, so it kills what escaped its group (adopted
/// orphans) and exits.
async fn drive_supervised<'p>(
    setup: driver::Setup<'p>,
    replayed: Option<driver::Replayed<'p>>,
) -> Result<RunReport, RunError> {
    let supervisor = setup.supervisor.clone();
    let report = driver::drive(setup, replayed).await;
    supervisor.shutdown().await;
    report
}

/// The masker of a run: every writer of the run masks with it (live
/// output, logs, journal, `result.json`, notices, error messages).
fn run_masker(secrets: &[(String, String)]) -> Arc<Masker> {
    Arc::new(Masker::new(
        &secrets.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(),
    ))
}

/// The expression engine of a run: its params, and `runs()` answered by the
/// project's store without counting this run.
fn run_exprs(
    pipeline: &Pipeline,
    dir: &RunDir,
    store: &Arc<dyn ProjectStore>,
    params: &[(String, Value)],
) -> Exprs {
    let info = RunInfo {
        id: dir.id.clone(),
        nonce: dir.nonce.clone(),
        flow: pipeline.name.clone(),
    };
    let counts = Counts {
        store: store.clone(),
        own_id: dir.id.clone(),
    };
    let mut exprs = Exprs::new(Arc::new(counts), info);
    for (name, value) in params {
        exprs.add_param(name, value);
    }
    exprs
}

/// Where live output goes (the terminal, nothing with `--quiet`, or the
/// caller's sink), always through the run's masker.
fn run_sink(opts: &RunOptions, masker: &Arc<Masker>) -> Arc<dyn OutputSink> {
    let sink: Arc<dyn OutputSink> = match (&opts.sink, opts.quiet) {
        (Some(s), _) => s.clone(),
        (None, true) => Arc::new(NullSink),
        (None, false) => Arc::new(TerminalSink),
    };
    Arc::new(MaskingSink::new(sink, masker.clone()))
}

/// What attempts need before the first one spawns.
struct Prepared {
    /// Each library's folder, by index.
    libs: Vec<PathBuf>,
    /// Each stage's script, by stage index.
    scripts: Vec<scripts::StageScript>,
    /// The run's supervisor process.
    supervisor: Arc<Supervisor>,
}

/// Materialises the libraries, writes each stage's script to its file and
/// starts the run's supervisor process.
///
/// # Errors
/// [`RunError::Io`] naming the step that failed.
fn prepare_attempts(
    dir: &RunDir,
    pipeline: &Pipeline,
    opts: &RunOptions,
    started: Option<Arc<Supervisor>>,
) -> Result<Prepared, RunError> {
    let mut libs = Vec::with_capacity(pipeline.libraries.len());
    for lib in &pipeline.libraries {
        let path = crate::artifacts::materialise_library(lib, &dir.lib(&lib.name))
            .map_err(io(format!("writing library `{}`", lib.name)))?;
        libs.push(path);
    }
    let scripts = scripts::write_all(dir, pipeline).map_err(io("writing the stage scripts"))?;
    let supervisor = match started {
        Some(supervisor) => supervisor,
        None => Arc::new(
            Supervisor::new(&opts.supervisor).map_err(io("starting the supervisor process"))?,
        ),
    };
    Ok(Prepared {
        libs,
        scripts,
        supervisor,
    })
}

/// Params in declaration order: given values, else defaults.
fn resolve_params(
    pipeline: &Pipeline,
    given: &[(String, Value)],
) -> Result<Vec<(String, Value)>, RunError> {
    pipeline
        .params
        .iter()
        .map(|p| {
            let value = given
                .iter()
                .rev()
                .find(|(n, _)| *n == p.name)
                .map(|(_, v)| v.clone());
            match value.or_else(|| p.default.clone()) {
                Some(v) => Ok((p.name.clone(), absolute_path(p.ty, v))),
                None => Err(RunError::MissingParam(p.name.clone())),
            }
        })
        .collect()
}

/// A `path` param naming a local path is made absolute against the current
/// folder, because every stage runs in its own folder under the run
/// directory (`repo: path = "."` must still mean the folder `flow run` was
/// started in). URLs (`scheme://…`, `user@host:…`) and "" are kept as given.
fn absolute_path(ty: ParamType, value: Value) -> Value {
    match (ty, value) {
        (ParamType::Path, Value::Str(s)) if !s.is_empty() && !is_remote(&s) => {
            let abs = std::path::absolute(&s).unwrap_or_else(|_| PathBuf::from(&s));
            // `/repo/.` → `/repo`: drop `.` components, never resolve symlinks.
            let abs: PathBuf = abs
                .components()
                .filter(|c| !matches!(c, std::path::Component::CurDir))
                .collect();
            Value::Str(abs.display().to_string())
        }
        (_, v) => v,
    }
}

fn is_remote(s: &str) -> bool {
    s.contains("://") || (s.contains('@') && s.contains(':'))
}

/// Declared secrets: given values first, else the environment.
fn resolve_secrets(
    pipeline: &Pipeline,
    given: &[(String, String)],
) -> Result<Vec<(String, String)>, RunError> {
    pipeline
        .secrets
        .iter()
        .map(|name| {
            let value = given
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone());
            match value.or_else(|| std::env::var(name).ok()) {
                Some(v) => Ok((name.clone(), v)),
                None => Err(RunError::MissingSecret(name.clone())),
            }
        })
        .collect()
}

/// A param value as the journal's `run_started` records it (and the API
/// shows it): a number, bool, string or array of strings; a duration in
/// whole seconds.
pub fn param_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Int(i) => (*i).into(),
        Value::Float(x) => {
            serde_json::Number::from_f64(*x).map_or(serde_json::Value::Null, Into::into)
        }
        Value::Bool(b) => (*b).into(),
        Value::Str(s) => s.clone().into(),
        Value::Duration(d) => d.as_secs().into(),
        Value::List(l) => l.clone().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_path_params_become_absolute_and_urls_stay() {
        let cwd = std::env::current_dir().unwrap();
        let abs = |v: &str| absolute_path(ParamType::Path, Value::Str(v.into()));
        assert_eq!(abs("."), Value::Str(cwd.display().to_string()));
        assert_eq!(
            abs("sub/dir"),
            Value::Str(cwd.join("sub/dir").display().to_string())
        );
        assert_eq!(abs("/etc"), Value::Str("/etc".into()));
        assert_eq!(
            abs("https://github.com/a/b"),
            Value::Str("https://github.com/a/b".into())
        );
        assert_eq!(
            abs("git@github.com:a/b.git"),
            Value::Str("git@github.com:a/b.git".into())
        );
        assert_eq!(abs(""), Value::Str("".into()));
        // Only `path` params are touched.
        let s = absolute_path(ParamType::Str, Value::Str(".".into()));
        assert_eq!(s, Value::Str(".".into()));
    }
}
