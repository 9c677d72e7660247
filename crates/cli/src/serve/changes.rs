//! `GET /api/events`: the runs' changes, live, as Server-Sent Events (the
//! dashboard's runs list).
//!
//! One task of the server ([`watch`]) reads the index every [`POLL`] and
//! compares each run's `(state, outcome, started, finished)` with the
//! previous look (a run's state also changes without an index write: its
//! `flow` process dies and it is `interrupted`). Each change is sent once,
//! to every subscriber, through one broadcast channel: the cost is one
//! index read per [`POLL`] however many browsers watch. A run that changed
//! is sent as `GET /api/runs?details=true` lists it; a run that is gone
//! (pruned) as `{"id", "removed": true}`. A subscriber too slow to keep up
//! (more than [`BACKLOG`] changes behind) gets `{"resync": true}` and should
//! list the runs again, as after any reconnection. When the served flows
//! are checked again (a file changed) `{"flows": true}` is sent. Event ids
//! count this
//! server's changes and are not kept, so a stream starts with the changes
//! after it opened.

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

use super::{view, Server};
use flow_runtime::store::{RunHistory, RunState};

/// How often the index is read.
const POLL: Duration = Duration::from_millis(400);

/// Changes a subscriber may be behind before it is told to resync.
pub const BACKLOG: usize = 4096;

/// One change: its sequence number and JSON text.
pub type Change = (u64, Arc<str>);

/// What is compared between two looks at a run.
type Look = (RunState, Option<i64>, Option<i64>);

/// A new channel of changes.
pub fn channel() -> broadcast::Sender<Change> {
    broadcast::channel(BACKLOG).0
}

/// Watches the index forever (a task of the server).
pub async fn watch(server: Arc<Server>) {
    let mut seen: Option<HashMap<String, Look>> = None;
    let mut seq = 0u64;
    // The last error said, so a lasting one is said once.
    let mut said = String::new();
    loop {
        let s = server.clone();
        let mut looks = seen.take();
        let looked = tokio::task::spawn_blocking(move || {
            let changes = diff(&s, &mut looks);
            (looks, changes)
        })
        .await;
        let problem = match looked {
            Ok((looks, changes)) => {
                seen = looks;
                match changes {
                    Ok(changes) => {
                        for change in changes {
                            seq += 1;
                            // No subscriber is not an error.
                            let _ = server.changes.send((seq, change.into()));
                        }
                        String::new()
                    }
                    Err(e) => e.to_string(),
                }
            }
            Err(e) => e.to_string(),
        };
        if !problem.is_empty() && problem != said {
            eprintln!("flow serve: cannot read the runs: {problem}");
        }
        said = problem;
        tokio::time::sleep(POLL).await;
    }
}

/// What changed since `seen` (nothing on the first look, nor while nobody
/// listens: then no journal is read); `seen` becomes the runs now. On an
/// error `seen` is kept, so the next look finds what changed meanwhile.
fn diff(server: &Server, seen: &mut Option<HashMap<String, Look>>) -> std::io::Result<Vec<String>> {
    let entries = server.store.list(None, None)?;
    // Asked after the list: a subscriber that came before it gets every
    // change since the previous look; one that came after lists the runs
    // itself after subscribing, so it sees at least this look.
    let before = seen.take().filter(|_| server.changes.receiver_count() > 0);
    let mut now = HashMap::with_capacity(entries.len());
    let mut changes = Vec::new();
    for entry in &entries {
        let look = (entry.state.clone(), entry.started_ms, entry.finished_ms);
        let changed = before
            .as_ref()
            .is_some_and(|b| b.get(&entry.id) != Some(&look));
        if changed {
            let history = entry
                .started_ms
                .is_some()
                .then(|| RunHistory::read(&entry.root).ok())
                .flatten();
            let value = match history {
                Some(h) => view::brief(entry, &h),
                None => view::summary(entry),
            };
            changes.push(value.to_string());
        }
        now.insert(entry.id.clone(), look);
    }
    if let Some(before) = &before {
        for id in before.keys().filter(|id| !now.contains_key(*id)) {
            changes.push(serde_json::json!({ "id": id, "removed": true }).to_string());
        }
    }
    *seen = Some(now);
    Ok(changes)
}

/// The change sent when the served flows were checked again:
/// `{"flows": true}` (read `GET /api/flows`), without an id.
pub fn flows_changed() -> Change {
    (0, Arc::from(r#"{"flows":true}"#))
}

/// The handler (see the module docs).
pub async fn stream(State(server): State<Arc<Server>>) -> Response {
    let rx = server.changes.subscribe();
    let events = stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok((0, text)) => Event::default().data(&*text),
            Ok((seq, text)) => Event::default().id(seq.to_string()).data(&*text),
            Err(broadcast::error::RecvError::Lagged(_)) => {
                Event::default().data(r#"{"resync":true}"#)
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok::<_, std::convert::Infallible>(event), rx))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}
