//! A run's updates of its own index row.
//!
//! The row mirrors the journal (`run_started`, going on, `run_finished`) and
//! is only an index: it may lag the journal by milliseconds, and the run
//! does not wait for it to be written when it starts (a fresh `flow.db` costs
//! several `fsync`s to create). Updates are applied in the order they were
//! asked for, each off the event loop; the last one, after `run_finished`,
//! is waited for, so the index learns the end before the run's lock is
//! released and no reader ever sees the run dead but unfinished.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::store::ProjectStore;

/// How long a run waits for its row to be written when it must (another
/// process may hold the index's write lock); past it the update goes on in
/// the background and the run goes on.
const SYNC_LIMIT: Duration = Duration::from_secs(2);

/// One update of the row: `sync_run`, `going_on`.
type Step = Box<dyn FnOnce(&dyn ProjectStore) -> std::io::Result<()> + Send>;

/// The run's row updates, in order (see the module docs).
pub(super) struct IndexRow {
    store: Arc<dyn ProjectStore>,
    /// The latest update asked for; it waits for those before it.
    last: Option<JoinHandle<()>>,
}

impl IndexRow {
    /// No update yet, for the project of `store`.
    pub fn new(store: Arc<dyn ProjectStore>) -> IndexRow {
        IndexRow { store, last: None }
    }

    /// Asks for `step` after every update asked before it and returns at
    /// once. A failure costs only freshness (a warning): the next process
    /// that opens the index reconciles it with the journals.
    pub fn update(
        &mut self,
        step: impl FnOnce(&dyn ProjectStore) -> std::io::Result<()> + Send + 'static,
    ) {
        let before = self.last.take();
        let store = self.store.clone();
        let step: Step = Box::new(step);
        self.last = Some(tokio::spawn(async move {
            if let Some(before) = before {
                let _ = before.await;
            }
            match tokio::task::spawn_blocking(move || step(store.as_ref())).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("cannot update the run index: {e}"),
                Err(e) => tracing::warn!("cannot update the run index: {e}"),
            }
        }));
    }

    /// Waits until every update asked for is written, at most `SYNC_LIMIT`
    /// (then they go on in the background).
    pub async fn written(&mut self) {
        let Some(last) = self.last.take() else {
            return;
        };
        if tokio::time::timeout(SYNC_LIMIT, last).await.is_err() {
            tracing::warn!("the run index is busy; updating it in the background");
        }
    }

    /// [`IndexRow::update`], then [`IndexRow::written`].
    pub async fn update_and_wait(
        &mut self,
        step: impl FnOnce(&dyn ProjectStore) -> std::io::Result<()> + Send + 'static,
    ) {
        self.update(step);
        self.written().await;
    }
}
