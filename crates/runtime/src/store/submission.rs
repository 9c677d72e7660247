//! Submissions to `flow serve`: the queue of runs not started yet.
//!
//! A submission is a run whose id is allocated when it is submitted: its
//! directory `<base>/runs/<id>/` is made at once, holding
//! `submission.json` (flow, file, key, description, params, parent, time)
//! and no journal, and its index row is `queued`. The row and the file are
//! made in one `BEGIN IMMEDIATE` transaction (the file written before the
//! commit), so an acknowledged submission is on disk, and a rebuilt index
//! finds it again (`rebuild::read_row` reads the file of a run without a
//! journal). The server starts it later with `flow run --submitted ID`,
//! which takes the directory over ([`crate::run::RunOptions::submission`]);
//! from its `run_started` on it is an ordinary run.
//!
//! Dedupe: the index has a UNIQUE partial index on `key` over the runs not
//! finished (queued, starting, pending, running, interrupted), so the
//! INSERT of a second live key fails atomically; no lookup decides. The
//! key is free again once its run is finished (whatever the outcome).

use serde::{Deserialize, Serialize};
use std::io::{self, Write};
use std::path::Path;

use super::index::{self, Row};
use super::state::Recorded;
use super::RunDirStore;
use crate::journal::{Journal, JournalEvent};
use crate::rundir::RunDir;
use crate::runlock::RunLock;

/// The file of a submission in its run directory.
pub const FILE: &str = "submission.json";

/// What was submitted (`submission.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// The flow's name.
    pub flow: String,
    /// The `.flow` file it was served from (absolute).
    pub file: String,
    /// Dedupe key: at most one unfinished run has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Description (markdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Param values as given (JSON), already checked against the flow.
    #[serde(default)]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// The run whose stage submitted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// When it was submitted, Unix milliseconds.
    pub submitted_ms: i64,
}

/// The answer to a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// Queued as this new run id.
    New(String),
    /// Refused: this unfinished run holds the key.
    Duplicate(String),
}

/// Reads `<run_root>/submission.json`.
///
/// # Errors
/// The file is missing or not a submission.
pub fn read(run_root: &Path) -> io::Result<Submission> {
    let text = std::fs::read(run_root.join(FILE))?;
    serde_json::from_slice(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// How many times a submission retries when the key's holder finished
/// between the refused INSERT and the look-up of its id.
const KEY_RACES: usize = 5;

impl RunDirStore {
    /// Queues `sub` as a new run (see the module docs), or names the
    /// unfinished run that holds its key.
    ///
    /// # Errors
    /// The run directory, its file or the index cannot be written.
    pub fn submit(&self, sub: &Submission) -> io::Result<Submitted> {
        let text = serde_json::to_vec_pretty(sub).map_err(io::Error::other)?;
        for _ in 0..KEY_RACES {
            let dir = RunDir::create(self.base())?;
            let row = Row {
                id: dir.id.clone(),
                flow: sub.flow.clone(),
                params: serde_json::Value::Object(sub.params.clone()).to_string(),
                key: sub.key.clone(),
                state: Recorded::Queued,
                outcome: None,
                started_ms: None,
                finished_ms: None,
                parent: sub.parent.clone(),
                pid: None,
                file: Some(sub.file.clone()),
                queue_seq: None,
                description: sub.description.clone(),
                submitted_ms: Some(sub.submitted_ms),
            };
            let inserted = self.with_index(|idx| {
                idx.write(|tx| match index::insert_new(tx, &row) {
                    Ok(()) => {
                        write_synced(&dir.root.join(FILE), &text)?;
                        Ok(true)
                    }
                    Err(e) if index::is_constraint(&e) => Ok(false),
                    Err(e) => Err(index::to_io(e)),
                })
            });
            match inserted {
                Ok(true) => return Ok(Submitted::New(dir.id)),
                Ok(false) => {
                    let _ = std::fs::remove_dir_all(&dir.root);
                    let key = sub.key.as_deref().unwrap_or_default();
                    let holder = self.with_index(|idx| index::live_key_holder(idx.conn(), key))?;
                    if let Some(id) = holder {
                        return Ok(Submitted::Duplicate(id));
                    }
                }
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&dir.root);
                    return Err(e);
                }
            }
        }
        Err(io::Error::other(
            "the key's run kept finishing and starting again; try again",
        ))
    }

    /// The queued submissions, oldest first.
    ///
    /// # Errors
    /// The index cannot be read.
    pub fn queued(&self) -> io::Result<Vec<super::RunEntry>> {
        let rows = self.with_index(|idx| index::queued(idx.conn()))?;
        Ok(rows.into_iter().map(|row| self.entry(row)).collect())
    }

    /// The submitted runs that are interrupted (started, not finished, no
    /// process holds their lock), oldest first.
    ///
    /// # Errors
    /// The index cannot be read.
    pub fn interrupted_submissions(&self) -> io::Result<Vec<String>> {
        let ids = self.with_index(|idx| index::unfinished_started(idx.conn()))?;
        Ok(ids
            .into_iter()
            .filter(|id| {
                let root = self.run_root(id);
                root.join(FILE).is_file() && !RunLock::is_held(&root)
            })
            .collect())
    }

    /// Ends a submission that will not start (cancelled while queued, or its
    /// `flow run` could not begin it): under the run's lock, and only if it
    /// has no journal yet, writes one holding `run_started` (from the
    /// submission) and `run_finished` with `outcome` and `reason`, then
    /// updates the index (the key is free again). `Ok(false)`: the run has
    /// started (or is being started) meanwhile; nothing was written.
    ///
    /// # Errors
    /// The submission cannot be read or the journal written.
    pub fn finish_unstarted(&self, id: &str, outcome: &str, reason: &str) -> io::Result<bool> {
        let dir = RunDir::adopt(self.base(), id)?;
        let Some(_lock) = RunLock::acquire(&dir.root)? else {
            return Ok(false);
        };
        if dir.journal().exists() {
            return Ok(false);
        }
        let sub = read(&dir.root)?;
        let journal = Journal::open(&dir.journal())?;
        journal.append(&JournalEvent::RunStarted {
            flow: sub.flow,
            run_id: dir.id.clone(),
            nonce: dir.nonce.clone(),
            params: sub.params,
            file: Some(sub.file),
            pid: std::process::id(),
            sources: Default::default(),
            alerts: Vec::new(),
            key: sub.key,
            parent: sub.parent,
            description: sub.description,
        })?;
        journal.append(&JournalEvent::RunFinished {
            outcome: outcome.into(),
            reason: Some(reason.into()),
            duration_ms: 0,
        })?;
        journal.sync()?;
        let base = self.base().to_path_buf();
        self.with_index(|idx| idx.write(|tx| super::rebuild::sync(tx, &base, id)))?;
        Ok(true)
    }
}

/// Writes `bytes` to a new file at `path` and syncs it and its folder.
fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
