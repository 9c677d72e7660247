//! Flow files checked again on change: a `notify` watcher on each served
//! path (a file's folder, so an editor's replace-by-rename is seen), whose
//! events for `.flow` and `.md` (skill) files are debounced, then the whole
//! catalog is reloaded on a blocking thread.

use notify::{RecursiveMode, Watcher};
use std::sync::Arc;
use std::time::Duration;

use super::Server;

/// Quiet time after the last change before reloading (an editor's save is
/// several events).
const DEBOUNCE: Duration = Duration::from_millis(300);

/// Starts watching; the watcher stops when the returned value is dropped.
/// `None` (with a warning) when watching is not possible: the flows are
/// then checked at start only.
pub fn start(server: Arc<Server>) -> Option<notify::RecommendedWatcher> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let relevant = event.is_ok_and(|e| {
            e.paths.iter().any(|p| {
                p.extension()
                    .is_some_and(|x| x == "flow" || x == "md" || x == "lock")
            })
        });
        if relevant {
            let _ = tx.send(());
        }
    });
    let mut watcher = match watcher {
        Ok(w) => w,
        Err(e) => {
            eprintln!("flow serve: cannot watch the flows ({e}); they are checked at start only");
            return None;
        }
    };
    for path in &server.paths {
        let (target, mode) = if path.is_dir() {
            (path.clone(), RecursiveMode::Recursive)
        } else {
            let parent = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            (parent.to_path_buf(), RecursiveMode::NonRecursive)
        };
        if let Err(e) = watcher.watch(&target, mode) {
            eprintln!("flow serve: cannot watch {} ({e})", target.display());
        }
    }
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Debounce: wait until no event came for DEBOUNCE.
            while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {}
            let s = server.clone();
            let _ = tokio::task::spawn_blocking(move || s.reload()).await;
            let catalog = server.catalog();
            eprintln!(
                "flow serve: flows checked again: {} served, {} broken",
                catalog.flows.len(),
                catalog.broken.len()
            );
        }
    });
    Some(watcher)
}
