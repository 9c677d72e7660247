//! shellcheck off the main loop: the check's diagnostics are published at
//! once; this thread runs shellcheck on the document's scripts and
//! publishes the diagnostics again with its findings (F0105, through the
//! file's suppressions), unless the document changed meanwhile.

use super::analysis::Files;
use super::text::Encoding;
use super::{diagnostics, notification};
use crate::shellcheck::Shellcheck;
use crossbeam_channel::Sender;
use flow_dsl::{Checked, SourceId};
use lsp_server::Message;
use lsp_types::notification::PublishDiagnostics;
use lsp_types::{PublishDiagnosticsParams, Uri};
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

/// One document version to run shellcheck on.
pub struct Job {
    /// The document.
    pub uri: Uri,
    /// Its version when checked.
    pub version: i32,
    /// The check (its scripts and suppressions).
    pub checked: Checked,
    /// The document's id in `checked.sources`.
    pub main: SourceId,
    /// The document's path (for `.shellcheckrc`).
    pub path: PathBuf,
    /// The files of the embedded `std`.
    pub embedded: BTreeSet<SourceId>,
}

/// The version of each document whose diagnostics were published last,
/// shared by the main loop and the worker: publishing happens under its
/// lock, so an old answer never overwrites a newer check.
#[derive(Clone, Default)]
pub struct Published(Arc<Mutex<HashMap<String, i32>>>);

impl Published {
    /// Records `version` as `uri`'s latest; the guard keeps others from
    /// publishing until dropped.
    pub fn set(&self, uri: &Uri, version: i32) -> MutexGuard<'_, HashMap<String, i32>> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(uri.as_str().to_string(), version);
        map
    }

    /// The document was closed.
    pub fn forget(&self, uri: &Uri) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(uri.as_str());
    }
}

/// The worker thread's inbox.
pub struct Worker {
    jobs: Sender<Job>,
}

impl Worker {
    /// Starts the thread; it ends when the [`Worker`] is dropped.
    pub fn start(
        shellcheck: Shellcheck,
        out: Sender<Message>,
        published: Published,
        encoding: Encoding,
    ) -> Worker {
        let (jobs, inbox) = crossbeam_channel::unbounded::<Job>();
        std::thread::spawn(move || {
            while let Ok(first) = inbox.recv() {
                // Only the newest job of each document matters.
                let mut newest: HashMap<String, Job> = HashMap::new();
                for job in std::iter::once(first).chain(inbox.try_iter()) {
                    newest.insert(job.uri.as_str().to_string(), job);
                }
                for job in newest.into_values() {
                    run(&shellcheck, job, &out, &published, encoding);
                }
            }
        });
        Worker { jobs }
    }

    /// Queues `job`.
    pub fn send(&self, job: Job) {
        let _ = self.jobs.send(job);
    }
}

/// Runs shellcheck for `job` and publishes, if still current.
fn run(
    shellcheck: &Shellcheck,
    mut job: Job,
    out: &Sender<Message>,
    published: &Published,
    encoding: Encoding,
) {
    if let Err(e) = shellcheck.add_findings(&mut job.checked, &job.path) {
        // Shown in the editor's server log; the check's diagnostics stand.
        eprintln!("flow lsp: shellcheck: {e}");
        return;
    }
    let files = Files {
        sources: &job.checked.sources,
        main: job.main,
        embedded: &job.embedded,
    };
    let list = diagnostics::by_file(&files, &job.checked.diagnostics, &job.uri, encoding)
        .into_iter()
        .find(|(u, _)| *u == job.uri)
        .map(|(_, l)| l)
        .unwrap_or_default();
    let map = published.0.lock().unwrap_or_else(|e| e.into_inner());
    if map.get(job.uri.as_str()) == Some(&job.version) {
        let params = PublishDiagnosticsParams {
            uri: job.uri,
            diagnostics: list,
            version: Some(job.version),
        };
        let _ = out.send(notification::<PublishDiagnostics>(params));
    }
}
