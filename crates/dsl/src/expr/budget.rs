//! The operation budget of one evaluation, counted across closures.
//!
//! rhai's own `max_operations` counts per call frame when a native function
//! (`map`, `reduce`, `sort`) calls a closure: each call restarts from the
//! caller's count (the shared counter needs rhai's `atomic_ops_count` cfg), so
//! `blob(90000, 0).to_array().map(|v| v + 1)` runs far past the limit and
//! nested maps could run for hours. The engine's progress callback runs for
//! every operation at any depth; it counts them here, per thread, while an
//! evaluation started by [`metered`] runs (rhai evaluates on the calling
//! thread).

use std::cell::Cell;

thread_local! {
    /// Operations used by the evaluation running on this thread, if metered.
    static USED: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Text of the token that stops an evaluation over budget.
pub(super) const OVER_BUDGET: &str = "flow: operation budget exhausted";

/// Counts one operation; `Some(token)` stops the evaluation (for
/// `Engine::on_progress`).
pub(super) fn tick(limit: u64) -> Option<rhai::Dynamic> {
    USED.with(|used| {
        let n = used.get()?;
        if n >= limit {
            Some(OVER_BUDGET.into())
        } else {
            used.set(Some(n + 1));
            None
        }
    })
}

/// Runs `f` with a fresh operation count on this thread.
pub(super) fn metered<T>(f: impl FnOnce() -> T) -> T {
    /// Restores the outer count even if `f` unwinds.
    struct Restore(Option<u64>);
    impl Drop for Restore {
        fn drop(&mut self) {
            USED.with(|u| u.set(self.0));
        }
    }
    let _restore = Restore(USED.with(|u| u.replace(Some(0))));
    f()
}
