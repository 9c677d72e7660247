//! Flow files checked again on change: a `notify` watcher on each folder
//! the catalog searches (a served file's folder, so an editor's
//! replace-by-rename is seen; never `.flow/`, `.git/`, `target/`: a run
//! makes folders by the thousand), whose events for `.flow`, `.md` (skill)
//! and `.lock` files are debounced, then the whole catalog is reloaded on a
//! blocking thread and new folders are watched too.

use notify::{RecursiveMode, Watcher};
use std::sync::Arc;
use std::time::Duration;

use super::Server;

/// The watcher and the folders it watches.
pub type Watching = (
    notify::RecommendedWatcher,
    std::collections::HashSet<std::path::PathBuf>,
);

/// Quiet time after the last change before reloading (an editor's save is
/// several events).
const DEBOUNCE: Duration = Duration::from_millis(300);

/// Starts watching; the watcher stops when the returned value is dropped.
/// `None` (with a warning) when watching is not possible: the flows are
/// then checked at start only.
pub fn start(server: Arc<Server>) -> Option<Arc<std::sync::Mutex<Watching>>> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let relevant = event.as_ref().is_ok_and(|e| {
            use notify::event::{CreateKind, EventKind};
            // Reading a file is an event too (the reload itself reads
            // them all, `flow run` reads its flow): only changes count.
            let change = matches!(
                e.kind,
                EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
            );
            // A new folder may hold flows (and must be watched).
            let folder = matches!(e.kind, EventKind::Create(CreateKind::Folder));
            change
                && (folder
                    || e.paths.iter().any(|p| {
                        p.extension()
                            .is_some_and(|x| x == "flow" || x == "md" || x == "lock")
                    }))
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
    let mut watched = std::collections::HashSet::new();
    watch_new(&mut watcher, &server.paths, &mut watched);
    let watcher = Arc::new(std::sync::Mutex::new((watcher, watched)));
    let kept = watcher.clone();
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Debounce: wait until no event came for DEBOUNCE.
            while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {}
            let (s, w) = (server.clone(), watcher.clone());
            let _ = tokio::task::spawn_blocking(move || {
                s.reload();
                let mut guard = w.lock().unwrap_or_else(|p| p.into_inner());
                let (watcher, watched) = &mut *guard;
                watch_new(watcher, &s.paths, watched);
            })
            .await;
            let catalog = server.catalog();
            eprintln!(
                "flow serve: flows checked again: {} served, {} broken",
                catalog.flows.len(),
                catalog.broken.len()
            );
        }
    });
    Some(kept)
}

/// Watches every searched folder of `paths` not yet in `watched`.
fn watch_new(
    watcher: &mut notify::RecommendedWatcher,
    paths: &[std::path::PathBuf],
    watched: &mut std::collections::HashSet<std::path::PathBuf>,
) {
    for path in paths {
        let dirs = if path.is_dir() {
            crate::files::searched_dirs(path)
        } else {
            let parent = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            vec![parent.to_path_buf()]
        };
        for dir in dirs {
            if watched.contains(&dir) {
                continue;
            }
            match watcher.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    watched.insert(dir);
                }
                Err(e) => eprintln!("flow serve: cannot watch {} ({e})", dir.display()),
            }
        }
    }
}
