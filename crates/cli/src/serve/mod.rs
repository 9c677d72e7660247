//! `flow serve`: an always-on service over a project's run store.
//!
//! Theory of operation.
//! - The flows under the server's paths are checked at start and again when
//!   a file changes ([`catalog`], [`watch`]); a broken file is not served and
//!   its diagnostics are shown by the API.
//! - A submission (`POST /api/runs`, a trigger tick) becomes a `queued` run
//!   at once: its id, its `submission.json` and its index row (see
//!   `flow_runtime::store::submission`). The queue is the index, so it
//!   survives the server.
//! - The [`dispatch`]er starts queued runs first come, first served, at most
//!   `--jobs` at once and no more of a flow than its `concurrency`, each as
//!   a child `flow run FILE --submitted ID` (the same engine and store as
//!   `flow run`, so `flow runs/show/logs/cancel` see them). A child dies
//!   with the server (`PR_SET_PDEATHSIG`): its run is then interrupted, and
//!   the next server resumes it (`flow resume`) before starting new ones.
//! - [`triggers`] submit a run at each tick of a served flow's triggers.
//! - The [`api`] (docs/api.md) answers from the index and the journals;
//!   [`changes`] streams the runs' changes (one index reader for all);
//!   [`guard`] enforces the token and CSRF rules on every request.
//! - The [`dashboard`] serves the web pages (compiled in) that show and
//!   drive the runs through that API.

mod actions;
mod api;
mod catalog;
mod changes;
mod dashboard;
mod dispatch;
mod downloads;
mod events;
mod guard;
mod logs;
mod markdown;
mod triggers;
mod view;
mod watch;

use catalog::Catalog;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

/// Arguments of `flow serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where to listen (`127.0.0.1:0` picks a free port). A non-loopback
    /// address needs `--token-file`.
    #[arg(long, default_value = "127.0.0.1:7777")]
    pub bind: SocketAddr,
    /// Most runs at once (queued runs wait for a slot).
    #[arg(long, default_value_t = 4, value_parser = crate::params::parse_jobs)]
    pub jobs: usize,
    /// A file holding the token every request must bring as
    /// `Authorization: Bearer TOKEN` (required off loopback).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Where the runs are (default `.flow`).
    #[arg(long, value_name = "DIR")]
    pub runs_dir: Option<PathBuf>,
    /// Secrets as `NAME=value` lines for every run (else from the server's
    /// environment), as for `flow run`.
    #[arg(long, value_name = "FILE")]
    pub secrets_file: Option<PathBuf>,
    /// Files or folders of flows to serve (default `pipelines/`).
    pub paths: Vec<PathBuf>,
}

/// What every part of the server shares.
pub struct Server {
    /// The runs' base folder (absolute).
    pub base: PathBuf,
    /// The run store over `base`.
    pub store: flow_runtime::store::RunDirStore,
    /// The served flows, replaced whole on each reload.
    pub catalog: RwLock<Arc<Catalog>>,
    /// The served paths.
    pub paths: Vec<PathBuf>,
    /// Most runs at once.
    pub jobs: usize,
    /// The API's URL as the server's own runs reach it (`$FLOW_SERVER`).
    pub url: String,
    /// The bearer token, when one is required.
    pub token: Option<String>,
    /// Wakes the dispatcher: a submission, a run to resume, a new catalog.
    pub wake: tokio::sync::Notify,
    /// Wakes the trigger loop: a new catalog.
    pub reloaded: tokio::sync::Notify,
    /// Runs asked to resume (`POST /api/runs/{id}/resume`).
    pub resumes: std::sync::Mutex<std::collections::VecDeque<String>>,
    /// This executable (children are `flow run` / `flow resume`).
    pub exe: PathBuf,
    /// `--secrets-file`, absolute, handed to every child.
    pub secrets_file: Option<PathBuf>,
    /// The runs' changes, for `GET /api/events` (see [`changes`]).
    pub changes: tokio::sync::broadcast::Sender<changes::Change>,
}

impl Server {
    /// The current catalog.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Checks the served paths again and swaps the catalog in.
    pub fn reload(&self) {
        let fresh = Arc::new(Catalog::load(&self.paths));
        *self.catalog.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        self.wake.notify_one();
        self.reloaded.notify_one();
        // No subscriber is not an error.
        let _ = self.changes.send(changes::flows_changed());
    }
}

/// Serves until killed or interrupted. Exit 2 for a usage error (a
/// non-loopback bind without a token, an unreadable token file), 1 when
/// the address cannot be bound.
pub fn run(args: Args) -> u8 {
    let token = match &args.token_file {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(t) if !t.trim().is_empty() => Some(t.trim().to_string()),
            Ok(_) => {
                eprintln!("error: --token-file {} is empty", path.display());
                return crate::EXIT_USAGE;
            }
            Err(e) => {
                eprintln!("error: --token-file {}: {e}", path.display());
                return crate::EXIT_USAGE;
            }
        },
        None => None,
    };
    if !args.bind.ip().is_loopback() && token.is_none() {
        eprintln!(
            "error: --bind {} is not a loopback address: give --token-file (every request must then bring the token)",
            args.bind
        );
        return crate::EXIT_USAGE;
    }
    let base = args
        .runs_dir
        .clone()
        .unwrap_or_else(flow_runtime::rundir::default_base);
    let base = std::path::absolute(&base).unwrap_or(base);
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("pipelines")]
    } else {
        args.paths.clone()
    };
    let secrets_file = match &args.secrets_file {
        Some(f) if !f.is_file() => {
            eprintln!("error: --secrets-file {}: no such file", f.display());
            return crate::EXIT_USAGE;
        }
        Some(f) => Some(std::path::absolute(f).unwrap_or_else(|_| f.clone())),
        None => None,
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot find the flow executable: {e}");
            return 1;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(args.bind).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on {}: {e}", args.bind);
                return 1;
            }
        };
        let local = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => {
                eprintln!("error: {e}");
                return 1;
            }
        };
        // The server's own runs reach it on loopback when it listens on
        // every address.
        let reach = if local.ip().is_unspecified() {
            SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), local.port())
        } else {
            local
        };
        let server = Arc::new(Server {
            store: flow_runtime::store::RunDirStore::new(base.clone()),
            base,
            catalog: RwLock::new(Arc::new(Catalog::load(&paths))),
            paths,
            jobs: args.jobs,
            url: format!("http://{reach}"),
            token,
            wake: tokio::sync::Notify::new(),
            reloaded: tokio::sync::Notify::new(),
            resumes: Default::default(),
            exe,
            secrets_file,
            changes: changes::channel(),
        });
        let catalog = server.catalog();
        eprintln!(
            "flow serve: {} flow(s) served, {} broken; runs in {}",
            catalog.flows.len(),
            catalog.broken.len(),
            server.base.display()
        );
        let _watcher = watch::start(server.clone());
        tokio::spawn(dispatch::run(server.clone()));
        tokio::spawn(triggers::run(server.clone()));
        tokio::spawn(changes::watch(server.clone()));
        // The line tests and scripts wait for (the port, when 0 was asked).
        eprintln!("flow serve: listening on http://{local}");
        let app = api::router(server.clone()).merge(dashboard::router(server.clone()));
        // Not a graceful shutdown: open event streams would hold it forever.
        // The runs are interrupted either way and resume at the next start.
        tokio::select! {
            served = axum::serve(listener, app) => match served {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("error: serving: {e}");
                    1
                }
            },
            _ = tokio::signal::ctrl_c() => {
                eprintln!("flow serve: stopped; its running runs are interrupted and resume when it starts again");
                0
            }
        }
    })
}
