//! Waiting for a `concurrency` slot.
//!
//! A run of a flow with `concurrency N` asks its [`ProjectStore`] (the one
//! in `RunOptions::store`, the same that answers `runs()`) for a slot
//! after `skip if` (a skipped run never waits) and before the `let`s (they
//! may read the world the run will act in, so they see it after the wait).
//! When the flow is full it journals `run_queued` once and retries with
//! backoff (100 ms doubling to 1 s) until a slot frees: runs are queued,
//! never dropped. Ctrl-C / SIGTERM / SIGHUP while queued (when the run handles
//! signals) ends it `cancelled` without running anything.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::report::RunReport;
use super::{driver, io, RunError};
use crate::journal::{Journal, JournalEvent};
use crate::rundir::RunDir;
use crate::scheduler::RunOutcome;
use crate::store::{ProjectStore, Slot};

/// First pause between two tries.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest pause between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// A run asking for a slot.
pub(super) struct Turn<'a> {
    /// The project's runs (`RunOptions::store`).
    pub store: Arc<dyn ProjectStore>,
    pub dir: &'a RunDir,
    pub pipeline: &'a flow_dsl::ir::Pipeline,
    pub limit: u32,
    pub journal: &'a Arc<Journal>,
    /// When the run started (for durations).
    pub started: Instant,
}

/// Waits for a slot. `Ok(None)`: admitted, go on; `Ok(Some(report))`: the
/// run was cancelled while queued (already journaled as finished).
/// `cancel` is the run's signal listener (made once for the whole run).
pub(super) async fn wait_for_slot(
    turn: Turn<'_>,
    cancel: &mut driver::Signals,
) -> Result<Option<RunReport>, RunError> {
    let mut queued: Option<Instant> = None;
    let mut backoff = FIRST_BACKOFF;
    loop {
        let (store, journal) = (turn.store.clone(), turn.journal.clone());
        let (flow, id, limit) = (turn.pipeline.name.clone(), turn.dir.id.clone(), turn.limit);
        let waited_ms = queued.map_or(0, |q| q.elapsed().as_millis() as u64);
        // flock blocks: keep it off the async workers.
        let slot = tokio::task::spawn_blocking(move || {
            store.take_slot(&flow, &id, limit, &mut || {
                journal.append(&JournalEvent::RunAdmitted { waited_ms })
            })
        })
        .await
        .map_err(|e| RunError::Internal(format!("concurrency check: {e}")))?
        .map_err(io("taking a concurrency slot"))?;
        let running = match slot {
            Slot::Taken => return Ok(None),
            Slot::Busy { running } => running,
        };
        if queued.is_none() {
            queued = Some(Instant::now());
            turn.journal
                .append(&JournalEvent::RunQueued {
                    concurrency: limit,
                    running,
                })
                .map_err(io("writing the journal"))?;
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            name = cancel.recv() => return cancelled(&turn, name).map(Some),
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Journals the cancel and the end of a run cancelled while queued.
fn cancelled(turn: &Turn<'_>, signal: &'static str) -> Result<RunReport, RunError> {
    let log = |e: &JournalEvent| turn.journal.append(e).map_err(io("writing the journal"));
    log(&JournalEvent::CancelRequested {
        signal: signal.into(),
    })?;
    log(&JournalEvent::RunFinished {
        outcome: "cancelled".into(),
        reason: Some("cancelled while queued".into()),
        duration_ms: turn.started.elapsed().as_millis() as u64,
    })?;
    Ok(RunReport {
        run_id: turn.dir.id.clone(),
        run_dir: turn.dir.root.clone(),
        outcome: RunOutcome::Cancelled,
        skipped: false,
        stages: driver::untouched(turn.pipeline),
        duration: turn.started.elapsed(),
        signal: Some(signal.into()),
    })
}
