//! Running flows from a Rust program: an [`Engine`] runs a checked
//! [`Pipeline`] with params, the program's builtin stages
//! ([`crate::builtin`]) and options, and hands back a [`RunHandle`] that
//! streams the run's events, cancels it and gives its report. It is a thin
//! layer over [`crate::run::run`] and [`crate::run::resume`], the functions
//! `flow run` and `flow resume` call: the same supervisor, journal, run
//! directory and index, so `flow runs`, `flow show`, `flow logs` and
//! `flow resume` see these runs like any other.
//!
//! The stages' processes are children of a supervisor process, which is
//! this program started again with [`SUPERVISOR_ARG`]: `main` must call
//! [`supervise_if_asked`] first (an engine refuses to start a run
//! otherwise, unless given another [`SupervisorCommand`]).
//!
//! ```no_run
//! use flow_runtime::builtin::{BuiltinContext, BuiltinOutcome, BuiltinResult, Builtins};
//! use flow_runtime::engine::{supervise_if_asked, Engine};
//! use futures_util::StreamExt;
//!
//! async fn greet(ctx: BuiltinContext) -> BuiltinResult {
//!     ctx.log(&format!("hello from {}", ctx.stage()));
//!     Ok(BuiltinOutcome::success())
//! }
//!
//! fn main() {
//!     supervise_if_asked();
//!     let checked = flow_dsl::check_source(
//!         "hello.flow",
//!         "flow hello {\n  timeout 1m\n  stage greet { run builtin \"greet\" }\n}\n",
//!         std::path::Path::new("."),
//!     );
//!     let pipeline = checked.pipeline.expect("the flow checks");
//!     let runtime = tokio::runtime::Runtime::new().unwrap();
//!     runtime.block_on(async {
//!         let engine = Engine::new(pipeline).builtins(Builtins::new().with("greet", greet));
//!         let mut run = engine.start(Vec::new()).unwrap();
//!         let mut events = run.events();
//!         while let Some(line) = events.next().await {
//!             println!("{:?}", line.event);
//!         }
//!         let report = run.finish().await.unwrap();
//!         assert_eq!(report.exit_code(), 0);
//!     });
//! }
//! ```

use flow_dsl::ir::{Pipeline, Value};
use futures_core::Stream;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::builtin::{BuiltinFn, Builtins};
use crate::journal::RunEvent;
use crate::output::OutputSink;
use crate::run::{self, ResumeError, Resumed, RunError, RunOptions, RunReport};
use crate::store::{resolve_run, RunDirStore};
pub use crate::supervisor::{SupervisorCommand, SUPERVISOR_ARG};

/// The hashes [`Engine::sources`] takes (and `flow run` records): every
/// source file a flow was checked from (`(name, text)`, as
/// `flow_dsl::SourceMap::files` lists them) → SHA-256 of its text in
/// lowercase hex. A file on disk is named by its absolute path (so the name
/// does not depend on the current folder); an embedded one
/// (`std/agent.flow`) by its name.
pub fn source_hashes<'a>(
    files: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> BTreeMap<String, String> {
    use sha2::{Digest, Sha256};
    files
        .into_iter()
        .map(|(name, text)| {
            let name = if std::path::Path::new(name).is_file() {
                std::path::absolute(name)
                    .map_or_else(|_| name.to_string(), |p| p.display().to_string())
            } else {
                name.to_string()
            };
            let digest = Sha256::digest(text.as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            (name, hex)
        })
        .collect()
}

/// Set by [`supervise_if_asked`] in a process that is not a supervisor.
static SUPERVISOR_READY: AtomicBool = AtomicBool::new(false);

/// Call first in `main`: when this process was started as a run's
/// supervisor (first argument [`SUPERVISOR_ARG`]), it serves as one and
/// exits; otherwise it returns and the program goes on, able to start runs
/// with the default supervisor ([`SupervisorCommand::current_exe`]).
pub fn supervise_if_asked() {
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == SUPERVISOR_ARG)
    {
        std::process::exit(crate::supervisor::serve_main());
    }
    SUPERVISOR_READY.store(true, Ordering::SeqCst);
}

/// Why a run could not be started or carried out (a run that ran and
/// failed is a [`RunReport`] with a non-success outcome).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The default supervisor is this program, and `main` did not call
    /// [`supervise_if_asked`].
    #[error(
        "the run's supervisor would be this program, but `main` does not call \
         `flow_runtime::engine::supervise_if_asked()` first (or give the engine \
         another `SupervisorCommand`)"
    )]
    NoSupervisor,
    /// Starting on no tokio runtime.
    #[error("an engine starts runs on a tokio runtime: call `start`/`resume` inside one")]
    NoRuntime,
    /// The current executable cannot be found (for the supervisor).
    #[error("cannot find this program's executable for the supervisor: {0}")]
    Exe(std::io::Error),
    /// The run to resume is not found.
    #[error("{0}")]
    NoSuchRun(String),
    /// The run could not be carried out.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The run could not be resumed.
    #[error(transparent)]
    Resume(#[from] ResumeError),
    /// The flow no longer checks at run time (code generated by
    /// `flow_macros`: a library or skill changed on disk since compile
    /// time): its first error.
    #[error("the flow does not check: {0}")]
    Check(String),
    /// The run's task panicked or was aborted.
    #[error("the run's task ended abnormally: {0}")]
    Task(String),
}

/// Runs one checked pipeline; cheap to clone, reusable for many runs.
#[derive(Clone)]
pub struct Engine {
    pipeline: Arc<Pipeline>,
    base_dir: PathBuf,
    jobs: Option<usize>,
    sink: Option<Arc<dyn OutputSink>>,
    secrets: Vec<(String, String)>,
    sources: BTreeMap<String, String>,
    builtins: Builtins,
    supervisor: Option<SupervisorCommand>,
    handle_signals: bool,
}

impl Engine {
    /// An engine for `pipeline` (from `flow_dsl::check_source` or
    /// `check_file`, or the code `flow_macros::include_flow!` generates).
    /// Defaults: runs under `./.flow` (as `flow run`), `--jobs` the CPUs, no
    /// live output (the events carry what happens; see
    /// [`Engine::output`]), no builtins, secrets from the environment,
    /// signals left to the program.
    pub fn new(pipeline: Pipeline) -> Engine {
        Engine {
            pipeline: Arc::new(pipeline),
            base_dir: crate::rundir::default_base(),
            jobs: None,
            sink: None,
            secrets: Vec::new(),
            sources: BTreeMap::new(),
            builtins: Builtins::new(),
            supervisor: None,
            handle_signals: false,
        }
    }

    /// The pipeline it runs.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Where `runs/` and the run index live (`flow run --runs-dir`).
    pub fn base_dir(mut self, dir: impl Into<PathBuf>) -> Engine {
        self.base_dir = dir.into();
        self
    }

    /// At most `n` attempts at once (`--jobs`; at least 1).
    pub fn jobs(mut self, n: usize) -> Engine {
        self.jobs = Some(n);
        self
    }

    /// Where stage output lines and notices go live (secrets masked), e.g.
    /// [`crate::output::TerminalSink`] for `flow run`'s terminal output.
    pub fn output(mut self, sink: Arc<dyn OutputSink>) -> Engine {
        self.sink = Some(sink);
        self
    }

    /// The value of the flow's `secret NAME` (else read from the
    /// environment variable NAME, as `flow run` does).
    pub fn secret(mut self, name: impl Into<String>, value: impl Into<String>) -> Engine {
        self.secrets.push((name.into(), value.into()));
        self
    }

    /// The SHA-256 of each source file the pipeline was checked from (path
    /// → lowercase hex), recorded in `run_started`: [`Engine::resume`]
    /// refuses a run whose sources differ from this engine's (unless
    /// forced). Without sources a run can only be resumed by force.
    pub fn sources(mut self, sources: BTreeMap<String, String>) -> Engine {
        self.sources = sources;
        self
    }

    /// Replaces the registered builtins.
    pub fn builtins(mut self, builtins: Builtins) -> Engine {
        self.builtins = builtins;
        self
    }

    /// Registers one builtin (see [`crate::builtin`]).
    pub fn builtin(mut self, name: impl Into<String>, function: impl BuiltinFn) -> Engine {
        self.builtins.register(name, function);
        self
    }

    /// How to start the run's supervisor process (default: this program
    /// with [`SUPERVISOR_ARG`], see [`supervise_if_asked`]).
    pub fn supervisor(mut self, command: SupervisorCommand) -> Engine {
        self.supervisor = Some(command);
        self
    }

    /// Turn Ctrl-C, SIGTERM and SIGHUP into a cancel of the run, as
    /// `flow run` does (off by default: the program owns its signals).
    pub fn handle_signals(mut self, on: bool) -> Engine {
        self.handle_signals = on;
        self
    }

    /// The builtins the pipeline runs that are not registered (sorted).
    pub fn missing_builtins(&self) -> Vec<String> {
        self.builtins.missing(&self.pipeline)
    }

    /// Starts a run with `params` (name → typed value; a param left out
    /// takes its default) as a task of the current tokio runtime, and
    /// returns at once. Everything `flow run` checks before it starts
    /// (params, builtins, secrets) is reported by [`RunHandle::finish`].
    ///
    /// # Errors
    /// [`EngineError::NoRuntime`], [`EngineError::NoSupervisor`],
    /// [`EngineError::Exe`].
    pub fn start(&self, params: Vec<(String, Value)>) -> Result<RunHandle, EngineError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| EngineError::NoRuntime)?;
        let (mut opts, parts) = self.options()?;
        opts.params = params;
        let pipeline = self.pipeline.clone();
        let task = runtime
            .spawn(async move { run::run(&pipeline, opts).await.map_err(EngineError::from) });
        Ok(parts.handle(task))
    }

    /// Continues the run `run` (an id, a unique prefix of one, or `last`)
    /// under this engine's base folder, as `flow resume` does
    /// (docs/language.md "Resume"): its recorded params, this engine's
    /// pipeline and builtins. `force`: resume even if the sources differ.
    /// A run that had succeeded is not run again: the handle ends with
    /// [`Resumed::AlreadyDone`].
    ///
    /// # Errors
    /// As [`Engine::start`], and [`EngineError::NoSuchRun`].
    pub fn resume(&self, run: &str, force: bool) -> Result<ResumeHandle, EngineError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| EngineError::NoRuntime)?;
        let root =
            resolve_run(&self.base_dir, run).map_err(|e| EngineError::NoSuchRun(e.to_string()))?;
        let (opts, parts) = self.options()?;
        let pipeline = self.pipeline.clone();
        let task = runtime.spawn(async move {
            run::resume(&pipeline, &root, opts, force)
                .await
                .map_err(EngineError::from)
        });
        Ok(ResumeHandle(parts.handle(task)))
    }

    /// The options of one run, and the handle's ends of its channels.
    fn options(&self) -> Result<(RunOptions, Parts), EngineError> {
        let supervisor = match &self.supervisor {
            Some(command) => command.clone(),
            None if SUPERVISOR_READY.load(Ordering::SeqCst) => {
                SupervisorCommand::current_exe().map_err(EngineError::Exe)?
            }
            None => return Err(EngineError::NoSupervisor),
        };
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (cancel_tx, cancel_rx) = watch::channel(false);
        let mut opts = RunOptions {
            base_dir: self.base_dir.clone(),
            quiet: self.sink.is_none(),
            sink: self.sink.clone(),
            secrets: self.secrets.clone(),
            sources: self.sources.clone(),
            handle_signals: self.handle_signals,
            store: Arc::new(RunDirStore::new(self.base_dir.clone())),
            supervisor: supervisor.into(),
            builtins: self.builtins.clone(),
            cancel: Some(cancel_rx),
            events: Some(events_tx),
            ..RunOptions::default()
        };
        if let Some(jobs) = self.jobs {
            opts.jobs = jobs;
        }
        Ok((
            opts,
            Parts {
                events: events_rx,
                cancel: cancel_tx,
            },
        ))
    }
}

/// The handle's ends of a run's channels.
struct Parts {
    events: mpsc::UnboundedReceiver<RunEvent>,
    cancel: watch::Sender<bool>,
}

impl Parts {
    fn handle<T>(self, task: JoinHandle<Result<T, EngineError>>) -> Handle<T> {
        Handle {
            events: Some(self.events),
            cancel: self.cancel,
            task,
        }
    }
}

/// A run started by an [`Engine`]: its events, its cancel, its end.
/// Dropping the handle does not stop the run (it goes on as a task);
/// cancel it first to stop it.
pub struct Handle<T> {
    events: Option<mpsc::UnboundedReceiver<RunEvent>>,
    cancel: watch::Sender<bool>,
    task: JoinHandle<Result<T, EngineError>>,
}

/// The handle of a new run ([`Engine::start`]).
pub type RunHandle = Handle<RunReport>;

/// The handle of a resumed run ([`Engine::resume`]): it ends with
/// [`Resumed::AlreadyDone`] for a run that had succeeded.
pub struct ResumeHandle(pub Handle<Resumed>);

impl<T> Handle<T> {
    /// The run's journal events as they are written (secrets masked), from
    /// `run_started` (or `run_resumed`) to `run_finished`; the stream ends
    /// when the run has. The first call takes the stream; later calls get
    /// one that ends at once. Events are kept until read: read them or
    /// drop the stream.
    pub fn events(&mut self) -> Events {
        Events(self.events.take())
    }

    /// Cancels the run as Ctrl-C does: running attempts are stopped
    /// (scripts get SIGTERM, builtins their cancel signal), `finally`
    /// stages run, the run ends `cancelled`. Idempotent.
    pub fn cancel(&self) {
        let _ = self.cancel.send(true);
    }

    /// Waits for the run's end.
    ///
    /// # Errors
    /// Why the run could not be carried out ([`EngineError`]).
    pub async fn finish(self) -> Result<T, EngineError> {
        match self.task.await {
            Ok(result) => result,
            Err(e) => Err(EngineError::Task(e.to_string())),
        }
    }
}

impl ResumeHandle {
    /// See [`Handle::events`].
    pub fn events(&mut self) -> Events {
        self.0.events()
    }

    /// See [`Handle::cancel`].
    pub fn cancel(&self) {
        self.0.cancel();
    }

    /// See [`Handle::finish`].
    ///
    /// # Errors
    /// Why the run could not be resumed or carried out.
    pub async fn finish(self) -> Result<Resumed, EngineError> {
        self.0.finish().await
    }
}

/// A run's journal events, in order ([`Handle::events`]).
pub struct Events(Option<mpsc::UnboundedReceiver<RunEvent>>);

impl Stream for Events {
    type Item = RunEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<RunEvent>> {
        match &mut self.0 {
            Some(rx) => rx.poll_recv(cx),
            None => Poll::Ready(None),
        }
    }
}
