//! Waiting for a `concurrency` slot.
//!
//! A run of a flow with `concurrency N` asks its [`ProjectStore`] (the one
//! in `RunOptions::store`, the same that answers `runs()`) for a slot
//! after `skip if` (a skipped run never waits) and before the `let`s (they
//! may read the world the run will act in, so they see it after the wait).
//! Runs are admitted first come, first served (see `store::admission`).
//! When the flow is full the store journals `run_queued`, then the run
//! prints "queued behind K runs" and asks again every `POLL` until it is
//! admitted (`run_admitted`): runs are queued, never dropped.
//!
//! Every wait is interruptible: each try runs on a blocking thread and is
//! short (the store gives up after `ADMISSION_BUSY` when another process
//! holds the index's write lock), and the run listens to Ctrl-C / SIGTERM /
//! SIGHUP beside it. A signal while queued ends the run `cancelled` without
//! running anything, after the try in flight (at most a few hundred
//! milliseconds) has returned, so its decision is never lost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::report::RunReport;
use super::{driver, io, RunError};
use crate::journal::{Journal, JournalEvent};
use crate::output::OutputSink;
use crate::rundir::RunDir;
use crate::scheduler::RunOutcome;
use crate::store::{ProjectStore, Slot};

/// Pause between two tries while queued: a freed slot (a run that ended or
/// died) is taken within this.
const POLL: Duration = Duration::from_millis(100);

/// A run asking for a slot.
pub(super) struct Turn<'a> {
    /// The project's runs (`RunOptions::store`).
    pub store: Arc<dyn ProjectStore>,
    pub dir: &'a RunDir,
    pub pipeline: &'a flow_dsl::ir::Pipeline,
    pub limit: u32,
    pub journal: &'a Arc<Journal>,
    pub sink: &'a Arc<dyn OutputSink>,
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
    loop {
        let (store, journal) = (turn.store.clone(), turn.journal.clone());
        let (flow, id, limit) = (turn.pipeline.name.clone(), turn.dir.id.clone(), turn.limit);
        let since = queued;
        let mut attempt = tokio::task::spawn_blocking(move || {
            store.take_slot(&flow, &id, limit, &mut |slot| {
                journal.append(&match *slot {
                    Slot::Taken => JournalEvent::RunAdmitted {
                        waited_ms: since.map_or(0, |q| millis(q.elapsed())),
                    },
                    Slot::Queued { running, ahead, .. } => JournalEvent::RunQueued {
                        concurrency: limit,
                        running,
                        ahead,
                    },
                })
            })
        });
        let outcome = tokio::select! {
            joined = &mut attempt => joined,
            name = cancel.recv() => {
                // Let the try in flight finish (it is short), so an
                // admission it journaled comes before the cancel.
                let _ = attempt.await;
                return cancelled(&turn, name).map(Some);
            }
        };
        let slot =
            match outcome.map_err(|e| RunError::Internal(format!("concurrency check: {e}")))? {
                Ok(slot) => Some(slot),
                // Another process holds the index's write lock: ask again.
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => None,
                Err(e) => return Err(io("taking a concurrency slot")(e)),
            };
        match slot {
            Some(Slot::Taken) => {
                if let Some(q) = queued {
                    turn.sink.notice(&format!(
                        "▶ admitted after {:.1}s in the queue",
                        q.elapsed().as_secs_f64()
                    ));
                }
                return Ok(None);
            }
            Some(Slot::Queued {
                running,
                ahead,
                first: true,
            }) => {
                queued = Some(Instant::now());
                turn.sink.notice(&queued_notice(
                    running.saturating_add(ahead),
                    &turn.pipeline.name,
                    limit,
                ));
            }
            Some(Slot::Queued { .. }) | None => {}
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            name = cancel.recv() => return cancelled(&turn, name).map(Some),
        }
    }
}

/// `⏸ queued behind 2 runs of deploy (concurrency 1)`.
fn queued_notice(behind: i64, flow: &str, limit: u32) -> String {
    let runs = if behind == 1 { "run" } else { "runs" };
    format!("⏸ queued behind {behind} {runs} of {flow} (concurrency {limit})")
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
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
        duration_ms: millis(turn.started.elapsed()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notice_counts_runs_ahead() {
        assert_eq!(
            queued_notice(1, "deploy", 1),
            "⏸ queued behind 1 run of deploy (concurrency 1)"
        );
        assert_eq!(
            queued_notice(3, "f", 2),
            "⏸ queued behind 3 runs of f (concurrency 2)"
        );
    }
}
