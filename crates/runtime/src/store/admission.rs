//! `concurrency N`: first come, first served.
//!
//! A run asking for a slot gets a queue position (`queue_seq`) the first
//! time it asks, inside a `BEGIN IMMEDIATE` transaction, so positions follow
//! the order in which runs asked. In the same transaction it counts the
//! *live* runs of its flow (lock held, see `RunLock`; itself never) that are
//! running, and those pending ahead of it; it is admitted iff
//! `running + ahead < N`. A dead run (lock free) holds no slot and no place,
//! whatever its row says. The decision is journaled (through `record`)
//! before the transaction commits, so the journal never lags the index.

use std::io;
use std::path::Path;

use super::index::{self, Index};
use super::rebuild;
use super::state::{Recorded, RunState};

/// The answer of an admission try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Admitted: the run may go on.
    Taken,
    /// The flow is at its limit: the run waits.
    Queued {
        /// Live runs of the flow running now.
        running: i64,
        /// Live runs of the flow queued ahead of this one.
        ahead: i64,
        /// Whether this try queued the run (the first `Queued` answer).
        first: bool,
    },
}

/// One admission try for run `own_id` of `flow` (see the module docs).
/// `record` journals the decision (a `Taken`, or the first `Queued`) inside
/// the transaction; its error aborts the try.
///
/// # Errors
/// The index cannot be written (`WouldBlock` when another process holds
/// the write lock past the busy timeout: try again).
pub fn take_slot(
    index: &mut Index,
    base: &Path,
    flow: &str,
    own_id: &str,
    limit: u32,
    record: &mut dyn FnMut(&Slot) -> io::Result<()>,
) -> io::Result<Slot> {
    index.write(|tx| {
        let me = match index::row(tx, own_id)? {
            Some(row) => row,
            None => {
                // The index lost the row (rebuilt meanwhile): read it back.
                rebuild::sync(tx, base, own_id)?;
                index::row(tx, own_id)?
                    .ok_or_else(|| io::Error::other(format!("run {own_id} has no journal")))?
            }
        };
        let seq = index::enqueue(tx, own_id)?;
        let (mut running, mut ahead) = (0i64, 0i64);
        for other in index::unfinished(tx, flow, Some(own_id))? {
            let root = base.join("runs").join(&other.id);
            match RunState::of(other.state, None, &root) {
                RunState::Running => running += 1,
                RunState::Pending if other.queue_seq.is_some_and(|s| s < seq) => ahead += 1,
                _ => {}
            }
        }
        if running.saturating_add(ahead) < i64::from(limit) {
            index::set_state(tx, own_id, Recorded::Running)?;
            record(&Slot::Taken)?;
            return Ok(Slot::Taken);
        }
        let first = me.state != Recorded::Pending;
        let slot = Slot::Queued {
            running,
            ahead,
            first,
        };
        if first {
            index::set_state(tx, own_id, Recorded::Pending)?;
            record(&slot)?;
        }
        Ok(slot)
    })
}
