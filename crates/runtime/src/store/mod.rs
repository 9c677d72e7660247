//! The run store: what a project's runs (`<base>/runs/*`) are doing. It
//! answers `runs(flow, state)` in expressions, admits runs of a flow with
//! `concurrency N`, and lists runs for `flow runs`.
//!
//! Theory of operation.
//! - Each run's journal (`runs/<id>/journal.jsonl`) is the source of truth.
//!   The SQLite index `<base>/flow.db` ([`index`]) holds one row per run
//!   (flow, params, recorded state, outcome, times, queue position) so no
//!   question needs to read the journals. The running process updates its
//!   row at each lifecycle point (started, queued, admitted, finished:
//!   [`ProjectStore::sync_run`] and [`ProjectStore::take_slot`]), always
//!   after the journal line. When the index is missing or unreadable it is
//!   rebuilt from the journals, and every process that opens it first
//!   reconciles it with `runs/` ([`rebuild`]).
//! - Liveness is a lock, never a pid: a run is alive iff some process
//!   holds `<run>/lock` ([`crate::runlock::RunLock`]); a run not finished
//!   whose lock is free is `interrupted` at once ([`state`]).
//! - `concurrency N` is first come, first served ([`admission`]).
//! - A run never counts itself: its `runs()` and its admission leave its
//!   own id out.

pub mod admission;
mod history;
pub mod index;
pub mod rebuild;
mod resolve;
pub mod state;
pub mod stats;
pub mod submission;

pub use admission::Slot;
pub use history::{AttemptHistory, RunHistory, StageHistory};
pub use resolve::{resolve_run, ResolveError};
pub use state::{Recorded, RunState, STATES};

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use flow_dsl::expr::{NoRuns, RunStore};

use crate::runlock::RunLock;
use index::Index;

/// How long one admission try waits for another process's write lock
/// before giving up (`WouldBlock`): the queue retries, listening to signals
/// between tries.
const ADMISSION_BUSY: Duration = Duration::from_millis(100);

/// One run as listed by [`RunDirStore::list`].
#[derive(Debug, Clone, PartialEq)]
pub struct RunEntry {
    /// The run id (its directory name).
    pub id: String,
    /// The flow it runs.
    pub flow: String,
    /// Its state now (liveness applied).
    pub state: RunState,
    /// Param values (a JSON object).
    pub params: serde_json::Value,
    /// The submission's dedupe key (`flow serve`).
    pub key: Option<String>,
    /// The run whose stage submitted it.
    pub parent: Option<String>,
    /// The submission's description (markdown).
    pub description: Option<String>,
    /// When it was submitted to `flow serve`, Unix milliseconds.
    pub submitted_ms: Option<i64>,
    /// Start, Unix milliseconds.
    pub started_ms: Option<i64>,
    /// End, Unix milliseconds, once finished.
    pub finished_ms: Option<i64>,
    /// The `flow` process that started it (informative: never used for
    /// liveness).
    pub pid: Option<i64>,
    /// The `.flow` file.
    pub file: Option<String>,
    /// `<base>/runs/<id>`.
    pub root: PathBuf,
}

/// The run store of one project: the runs under `<base>/runs/` and their
/// index `<base>/flow.db`. The index is opened (and reconciled) on first
/// use, then kept open.
#[derive(Debug)]
pub struct RunDirStore {
    base: PathBuf,
    index: Mutex<Option<Index>>,
}

impl RunDirStore {
    /// The store of the runs under `<base>/runs/` (`base` is `--runs-dir`,
    /// `.flow` by default). Nothing is read until it is asked something.
    pub fn new(base: impl Into<PathBuf>) -> RunDirStore {
        RunDirStore {
            base: base.into(),
            index: Mutex::new(None),
        }
    }

    /// The base directory.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// `<base>/runs/<id>`.
    pub fn run_root(&self, id: &str) -> PathBuf {
        self.base.join("runs").join(id)
    }

    /// Calls `f` with the open index, opening and reconciling it first.
    pub(crate) fn with_index<T>(
        &self,
        f: impl FnOnce(&mut Index) -> io::Result<T>,
    ) -> io::Result<T> {
        // A poisoned lock only means another call panicked; the connection
        // is still usable (SQLite rolls back an unfinished transaction).
        let mut guard = self.index.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            let mut index = Index::open(&self.base)?;
            rebuild::reconcile(&mut index, &self.base)?;
            *guard = Some(index);
        }
        match guard.as_mut() {
            Some(index) => f(index),
            None => Err(io::Error::other("the run index is not open")),
        }
    }

    /// Every run of `flow` (all flows if `None`) whose state matches `state`
    /// (see [`RunState::matches`]; all if `None`), in start order.
    ///
    /// # Errors
    /// The index cannot be opened, rebuilt or read.
    pub fn list(&self, flow: Option<&str>, state: Option<&str>) -> io::Result<Vec<RunEntry>> {
        let rows = self.with_index(|index| index.rows(flow))?;
        Ok(rows
            .into_iter()
            .map(|row| self.entry(row))
            .filter(|e| state.is_none_or(|s| e.state.matches(s)))
            .collect())
    }

    /// Run `id` as the index knows it (liveness applied); `None` when the
    /// index has no such run.
    ///
    /// # Errors
    /// The index cannot be opened, rebuilt or read.
    pub fn get(&self, id: &str) -> io::Result<Option<RunEntry>> {
        let row = self.with_index(|index| index::row(index.conn(), id))?;
        Ok(row.map(|row| self.entry(row)))
    }

    /// The entry of one index row (liveness applied).
    pub(crate) fn entry(&self, row: index::Row) -> RunEntry {
        let root = self.run_root(&row.id);
        RunEntry {
            state: RunState::of(row.state, row.outcome.as_deref(), &root),
            params: serde_json::from_str(&row.params).unwrap_or_default(),
            id: row.id,
            flow: row.flow,
            key: row.key,
            parent: row.parent,
            description: row.description,
            submitted_ms: row.submitted_ms,
            started_ms: row.started_ms,
            finished_ms: row.finished_ms,
            pid: row.pid,
            file: row.file,
            root,
        }
    }

    /// Runs of `flow` in `state` (see [`RunState::matches`]), `except` the
    /// run with that id. Finished runs are counted by the index alone; the
    /// others by their locks.
    ///
    /// # Errors
    /// The index cannot be opened, rebuilt or read.
    pub fn count(&self, flow: &str, state: &str, except: Option<&str>) -> io::Result<i64> {
        self.with_index(|index| {
            if state == "finished" {
                return index.count_finished(flow, None, except);
            }
            if state == "queued" {
                // Not started: no lock to probe.
                let n = index.ids_in(flow, &[Recorded::Queued], except)?.len();
                return Ok(i64::try_from(n).unwrap_or(i64::MAX));
            }
            if !STATES.contains(&state) {
                return index.count_finished(flow, Some(state), except);
            }
            // Only the rows that can be in `state` are read, and only their
            // ids; each is then judged by its lock. A run recorded
            // interrupted stays so without a probe: whoever takes its lock
            // again (`flow resume`) syncs its row right after.
            use Recorded::{Interrupted, Pending, Running, Starting};
            let recorded: &[Recorded] = match state {
                "running" => &[Running],
                "pending" => &[Pending],
                "starting" => &[Starting],
                _ => &[Starting, Pending, Running],
            };
            let ids = index.ids_in(flow, recorded, except)?;
            let alive = state != "interrupted";
            let mut n = ids
                .iter()
                .filter(|id| RunLock::is_held(&self.run_root(id)) == alive)
                .count();
            if !alive {
                n += index.ids_in(flow, &[Interrupted], except)?.len();
            }
            Ok(i64::try_from(n).unwrap_or(i64::MAX))
        })
    }

    /// Forgets run `id` (its directory already removed, see `flow prune`).
    ///
    /// # Errors
    /// The index cannot be written.
    pub fn forget(&self, id: &str) -> io::Result<()> {
        self.with_index(|index| index.write(|tx| index::delete(tx, id)))
    }
}

/// A count that cannot be had is 0, with a warning: an expression has no
/// way to receive an I/O error.
fn count_or_zero(result: io::Result<i64>) -> i64 {
    result.unwrap_or_else(|e| {
        tracing::warn!("runs(): cannot read the run index: {e}");
        0
    })
}

impl RunStore for RunDirStore {
    fn count_runs(&self, flow: &str, state: &str) -> i64 {
        count_or_zero(self.count(flow, state, None))
    }
}

/// What a run asks of the other runs of its project, through one object:
/// how many are in a state (`runs(flow, state)`), a `concurrency` slot, and
/// keeping its own row current. Both answers come from the same store, so
/// what `runs()` counts and what admission counts agree.
pub trait ProjectStore: RunStore {
    /// `runs(flow, state)` as run `own_id` sees it: never counting itself.
    fn count_others(&self, flow: &str, state: &str, own_id: &str) -> i64 {
        let _ = own_id;
        self.count_runs(flow, state)
    }

    /// Re-reads run `id`'s journal into the index (called after
    /// `run_started` and after `run_finished`, and by `flow resume` after it
    /// takes the run's lock).
    ///
    /// # Errors
    /// The index cannot be written.
    fn sync_run(&self, id: &str) -> io::Result<()> {
        let _ = id;
        Ok(())
    }

    /// Records that run `id`, which has no `concurrency` to wait for, is past
    /// `skip if` and going on (`running`). Its journal has no line for this
    /// (its next lines are stages'), so the index says it alone.
    ///
    /// # Errors
    /// The index cannot be written.
    fn going_on(&self, id: &str) -> io::Result<()> {
        let _ = id;
        Ok(())
    }

    /// One admission try for run `own_id` of `flow`, limited to `limit`
    /// running runs (see [`admission`]); `record` journals the decision
    /// while it is being made.
    ///
    /// # Errors
    /// The store cannot be read or written; `WouldBlock`: busy, try again.
    fn take_slot(
        &self,
        flow: &str,
        own_id: &str,
        limit: u32,
        record: &mut dyn FnMut(&Slot) -> io::Result<()>,
    ) -> io::Result<Slot>;
}

impl ProjectStore for RunDirStore {
    fn count_others(&self, flow: &str, state: &str, own_id: &str) -> i64 {
        count_or_zero(self.count(flow, state, Some(own_id)))
    }

    fn sync_run(&self, id: &str) -> io::Result<()> {
        let base = self.base.clone();
        self.with_index(|index| index.write(|tx| rebuild::sync(tx, &base, id)))
    }

    fn going_on(&self, id: &str) -> io::Result<()> {
        self.with_index(|index| {
            index.write(|tx| match index::row(tx, id)? {
                Some(row) if row.state == Recorded::Starting => {
                    index::set_state(tx, id, Recorded::Running)
                }
                _ => Ok(()),
            })
        })
    }

    fn take_slot(
        &self,
        flow: &str,
        own_id: &str,
        limit: u32,
        record: &mut dyn FnMut(&Slot) -> io::Result<()>,
    ) -> io::Result<Slot> {
        self.with_index(|index| {
            index.set_busy(ADMISSION_BUSY)?;
            let slot = admission::take_slot(index, &self.base, flow, own_id, limit, record);
            index.set_busy(index::BUSY)?;
            slot
        })
    }
}

/// A run alone in its world: `runs()` answers 0 and a slot is always free
/// (`record` is still called, so the journal reads the same).
impl ProjectStore for NoRuns {
    fn take_slot(
        &self,
        _flow: &str,
        _own_id: &str,
        _limit: u32,
        record: &mut dyn FnMut(&Slot) -> io::Result<()>,
    ) -> io::Result<Slot> {
        record(&Slot::Taken)?;
        Ok(Slot::Taken)
    }
}

#[cfg(test)]
mod tests;
