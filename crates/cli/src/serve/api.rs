//! The HTTP API (docs/api.md): routes and handlers. Every answer is JSON
//! except artifact downloads (the file's bytes) and the event stream (SSE).
//! Store and file work runs on blocking threads, never on the event loop.

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::{events, guard, view, Server};
use flow_runtime::store::submission::{Submission, Submitted};
use flow_runtime::store::{RunEntry, RunHistory, RunState};

/// Most log lines `?tail=N` gives.
const MAX_TAIL: usize = 10_000;

/// Lines `logs` gives without `?tail`.
const DEFAULT_TAIL: usize = 200;

/// The API's routes, behind the token and CSRF guard.
pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        .route("/api/flows", get(flows))
        .route("/api/runs", get(list).post(submit))
        .route("/api/runs/{id}", get(one))
        .route("/api/runs/{id}/events", get(events::stream))
        .route("/api/runs/{id}/cancel", post(cancel))
        .route("/api/runs/{id}/resume", post(resume))
        .route("/api/runs/{id}/approve", post(approve))
        .route("/api/runs/{id}/artifacts/{stage}/{*path}", get(artifact))
        .route("/api/runs/{id}/logs/{stage}", get(logs))
        .route(
            "/api/runs/{id}/logs/{stage}/events",
            get(super::logs::stream),
        )
        .route("/api/stats", get(stats))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such API path") })
        .layer(axum::middleware::from_fn_with_state(
            server.clone(),
            guard::check,
        ))
        .with_state(server)
}

/// A JSON error answer: `{"error": MESSAGE}`.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// Runs `f` on a blocking thread; a panic or an I/O error is a 500.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
        Err(e) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

/// A run id as the store makes them (`20261121T025300Z-k3x9q2`): nothing
/// else reaches the file system.
pub fn valid_id(id: &str) -> bool {
    id.len() == 23 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The run `id`, or the answer to give instead (400 bad id, 404 unknown).
pub async fn find(server: &Arc<Server>, id: &str) -> Result<RunEntry, Response> {
    if !valid_id(id) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("`{id}` is not a run id"),
        ));
    }
    let (s, i) = (server.clone(), id.to_string());
    match blocking(move || s.store.get(&i)).await? {
        Some(entry) => Ok(entry),
        None => Err(error(StatusCode::NOT_FOUND, format!("no run {id}"))),
    }
}

async fn flows(State(server): State<Arc<Server>>) -> Response {
    Json(view::flows(&server.catalog())).into_response()
}

/// `GET /api/runs?flow=F&state=S&limit=N&details=true`.
#[derive(Deserialize)]
struct ListQuery {
    flow: Option<String>,
    state: Option<String>,
    /// Only the newest N (still oldest first).
    limit: Option<usize>,
    /// Add each started run's `reason`, `duration_ms`, `usage` and `links`
    /// (read from its journal).
    #[serde(default)]
    details: bool,
}

async fn list(State(server): State<Arc<Server>>, Query(q): Query<ListQuery>) -> Response {
    let s = server.clone();
    let listed = blocking(move || {
        let mut runs = s.store.list(q.flow.as_deref(), q.state.as_deref())?;
        if let Some(n) = q.limit {
            runs.drain(..runs.len().saturating_sub(n));
        }
        Ok(runs
            .iter()
            .map(|entry| {
                let history = q
                    .details
                    .then(|| RunHistory::read(&entry.root).ok())
                    .flatten();
                match history {
                    Some(h) => view::brief(entry, &h),
                    None => view::summary(entry),
                }
            })
            .collect::<Vec<_>>())
    })
    .await;
    match listed {
        Ok(runs) => Json(runs).into_response(),
        Err(answer) => answer,
    }
}

async fn one(State(server): State<Arc<Server>>, UrlPath(id): UrlPath<String>) -> Response {
    let entry = match find(&server, &id).await {
        Ok(e) => e,
        Err(answer) => return answer,
    };
    let root = entry.root.clone();
    let history = blocking(move || {
        Ok(root
            .join("journal.jsonl")
            .exists()
            .then(|| RunHistory::read(&root).ok())
            .flatten())
    })
    .await;
    match history {
        Ok(h) => Json(view::detail(&entry, h.as_ref())).into_response(),
        Err(answer) => answer,
    }
}

/// `POST /api/runs` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitBody {
    flow: String,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    params: serde_json::Map<String, Value>,
    #[serde(default)]
    parent: Option<String>,
}

async fn submit(State(server): State<Arc<Server>>, body: axum::body::Bytes) -> Response {
    let body: SubmitBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad request body: {e}")),
    };
    if body.key.as_deref().is_some_and(str::is_empty) {
        return error(StatusCode::BAD_REQUEST, "`key` is empty");
    }
    if body.parent.as_deref().is_some_and(|p| !valid_id(p)) {
        return error(StatusCode::BAD_REQUEST, "`parent` is not a run id");
    }
    let catalog = server.catalog();
    let Some(served) = catalog.flows.get(&body.flow) else {
        return match catalog.broken_named(&body.flow) {
            Some(broken) => (
                StatusCode::NOT_FOUND,
                Json(json!({
                    "error": format!("flow `{}` does not check: it is not served", body.flow),
                    "diagnostics": broken.diagnostics,
                })),
            )
                .into_response(),
            None => error(
                StatusCode::NOT_FOUND,
                format!("no flow `{}` is served", body.flow),
            ),
        };
    };
    if let Err(e) = crate::params::from_json(&served.pipeline, &body.params) {
        return error(StatusCode::BAD_REQUEST, e);
    }
    let sub = Submission {
        flow: body.flow,
        file: served.file.display().to_string(),
        key: body.key,
        description: body.description,
        params: body.params,
        parent: body.parent,
        submitted_ms: now_ms(),
    };
    let s = server.clone();
    match blocking(move || s.store.submit(&sub)).await {
        Ok(Submitted::New(id)) => {
            server.wake.notify_one();
            (StatusCode::CREATED, Json(json!({ "id": id }))).into_response()
        }
        Ok(Submitted::Duplicate(id)) => (
            StatusCode::CONFLICT,
            Json(json!({ "id": id, "error": format!("run {id} holds this key") })),
        )
            .into_response(),
        Err(answer) => answer,
    }
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Cancels a run: a queued one is finished `cancelled` at once; a live one
/// is sent SIGTERM as `flow cancel` does (its `finally` stages run, it ends
/// `cancelled`; the answer does not wait for that).
async fn cancel(State(server): State<Arc<Server>>, UrlPath(id): UrlPath<String>) -> Response {
    let entry = match find(&server, &id).await {
        Ok(e) => e,
        Err(answer) => return answer,
    };
    if entry.state == RunState::Queued {
        let (s, i) = (server.clone(), id.clone());
        match blocking(move || {
            s.store
                .finish_unstarted(&i, "cancelled", "cancelled while queued")
        })
        .await
        {
            Ok(true) => {
                return (
                    StatusCode::OK,
                    Json(json!({ "id": id, "state": "finished", "outcome": "cancelled" })),
                )
                    .into_response()
            }
            Ok(false) => {} // it has just started: cancel it as a live run
            Err(answer) => return answer,
        }
    }
    let root = entry.root.clone();
    let signalled = blocking(move || {
        let Some(pid) = flow_runtime::runlock::RunLock::holder(&root) else {
            return Ok(None);
        };
        let pid = i32::try_from(pid).map_err(std::io::Error::other)?;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        )
        .map_err(std::io::Error::from)?;
        Ok(Some(pid))
    })
    .await;
    match signalled {
        Ok(Some(_)) => (
            StatusCode::ACCEPTED,
            Json(json!({ "id": id, "state": "cancelling" })),
        )
            .into_response(),
        Ok(None) => error(
            StatusCode::CONFLICT,
            format!("run {id} is not running ({})", entry.state.word()),
        ),
        Err(answer) => answer,
    }
}

/// Asks the dispatcher to resume a run that is not alive and did not
/// succeed (interrupted, failed, cancelled, timed out, ended).
async fn resume(State(server): State<Arc<Server>>, UrlPath(id): UrlPath<String>) -> Response {
    let entry = match find(&server, &id).await {
        Ok(e) => e,
        Err(answer) => return answer,
    };
    let refusal = match &entry.state {
        s if s.is_alive() => Some(format!("run {id} is {}", s.word())),
        RunState::Queued => Some(format!("run {id} is queued: it has not started")),
        RunState::Finished(o) if o == "succeeded" || o == "skipped" => {
            Some(format!("run {id} {o}: nothing to resume"))
        }
        _ => None,
    };
    if let Some(why) = refusal {
        return error(StatusCode::CONFLICT, why);
    }
    server
        .resumes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push_back(id.clone());
    server.wake.notify_one();
    (
        StatusCode::ACCEPTED,
        Json(json!({ "id": id, "state": "resuming" })),
    )
        .into_response()
}

/// `POST /api/runs/{id}/approve` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproveBody {
    stage: String,
    decision: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    by: Option<String>,
}

/// The human gate, as `flow approve` gives it.
async fn approve(
    State(server): State<Arc<Server>>,
    UrlPath(id): UrlPath<String>,
    body: axum::body::Bytes,
) -> Response {
    let body: ApproveBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad request body: {e}")),
    };
    let entry = match find(&server, &id).await {
        Ok(e) => e,
        Err(answer) => return answer,
    };
    let root = entry.root.clone();
    let decided = blocking(move || {
        Ok(flow_runtime::run::approval::approve(
            &root,
            &body.stage,
            &body.decision,
            body.message.as_deref(),
            body.by.as_deref(),
        ))
    })
    .await;
    match decided {
        Ok(Ok(done)) => Json(json!({ "id": id, "live": done.live })).into_response(),
        Ok(Err(why)) => error(StatusCode::CONFLICT, why),
        Err(answer) => answer,
    }
}

/// A relative path of plain names only (no `..`, no root, no `.`), as
/// a `PathBuf`; `None` otherwise.
fn plain_relative(path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    let ok = !path.is_empty()
        && p.components().all(|c| matches!(c, Component::Normal(_)))
        && !path.split('/').any(|part| part == ".." || part == ".");
    ok.then(|| p.to_path_buf())
}

/// Downloads `artifacts/<stage>/<path>` of a run: a regular file only
/// (no link followed), whose real path stays inside the run's folder.
async fn artifact(
    State(server): State<Arc<Server>>,
    UrlPath((id, stage, path)): UrlPath<(String, String, String)>,
) -> Response {
    let (Some(stage_rel), Some(rel)) = (plain_relative(&stage), plain_relative(&path)) else {
        return error(
            StatusCode::BAD_REQUEST,
            "the path must be plain names, without `..`",
        );
    };
    if stage_rel.components().count() != 1 {
        return error(StatusCode::BAD_REQUEST, "bad stage name");
    }
    let entry = match find(&server, &id).await {
        Ok(e) => e,
        Err(answer) => return answer,
    };
    let root = entry.root.clone();
    let read = blocking(move || {
        let file = root.join("artifacts").join(&stage_rel).join(&rel);
        let meta = match std::fs::symlink_metadata(&file) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if !meta.file_type().is_file() {
            return Ok(None);
        }
        // A linked folder on the way could still lead out: compare real paths.
        let real = std::fs::canonicalize(&file)?;
        if !real.starts_with(std::fs::canonicalize(&root)?) {
            return Ok(None);
        }
        std::fs::read(&real).map(Some)
    })
    .await;
    match read {
        Ok(Some(bytes)) => {
            ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
        }
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no artifact {stage}/{path}")),
        Err(answer) => answer,
    }
}

/// `GET /api/stats?flow=F&since=D` filters.
#[derive(Deserialize)]
struct StatsQuery {
    flow: Option<String>,
    since: Option<String>,
}

/// `flow stats --json` of the finished runs (of flow F, started in the
/// last D: `7d`, `12h`).
async fn stats(State(server): State<Arc<Server>>, Query(q): Query<StatsQuery>) -> Response {
    let since = match q.since.as_deref().map(humantime::parse_duration) {
        None => None,
        Some(Ok(d)) => {
            Some(now_ms().saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
        }
        Some(Err(e)) => return error(StatusCode::BAD_REQUEST, format!("since: {e}")),
    };
    let s = server.clone();
    let computed = blocking(move || {
        let entries = s.store.list(q.flow.as_deref(), Some("finished"))?;
        let histories: Vec<RunHistory> = entries
            .iter()
            .filter(|e| since.is_none_or(|from| e.started_ms.is_some_and(|at| at >= from)))
            .filter_map(|e| RunHistory::read(&e.root).ok())
            .collect();
        Ok(flow_runtime::store::stats::compute(&histories))
    })
    .await;
    match computed {
        Ok(all) => Json(all).into_response(),
        Err(answer) => answer,
    }
}

/// `?tail=N`.
#[derive(Deserialize)]
struct TailQuery {
    tail: Option<usize>,
}

/// The last lines of a stage's latest attempt log:
/// `{stage, visit, attempt, lines}`.
async fn logs(
    State(server): State<Arc<Server>>,
    UrlPath((id, stage)): UrlPath<(String, String)>,
    Query(q): Query<TailQuery>,
) -> Response {
    let n = q.tail.unwrap_or(DEFAULT_TAIL).min(MAX_TAIL);
    let entry = match find(&server, &id).await {
        Ok(e) => e,
        Err(answer) => return answer,
    };
    let root = entry.root.clone();
    let wanted = stage.clone();
    let tail = blocking(move || {
        if !root.join("journal.jsonl").exists() {
            return Ok(None);
        }
        let history = RunHistory::read(&root)?;
        let Some(last) = history
            .stages
            .iter()
            .find(|s| s.name == wanted)
            .and_then(|s| s.attempts.last())
        else {
            return Ok(None);
        };
        let lines = match crate::cmd::run::log_tail(&last.log, 1024 * 1024) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let all: Vec<&str> = text.lines().collect();
                all[all.len().saturating_sub(n)..]
                    .iter()
                    .map(|l| (*l).to_string())
                    .collect()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(Some((last.visit, last.attempt, lines)))
    })
    .await;
    match tail {
        Ok(Some((visit, attempt, lines))) => Json(json!({
            "stage": stage, "visit": visit, "attempt": attempt, "lines": lines,
        }))
        .into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!("stage `{stage}` of run {id} has not run"),
        ),
        Err(answer) => answer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_reach_the_disk() {
        assert!(plain_relative("out/file.txt").is_some());
        for bad in ["", "..", "a/../b", "/etc/passwd", "./a", "a/./b", "a/.."] {
            assert!(plain_relative(bad).is_none(), "{bad}");
        }
        assert!(valid_id("20261206T040629Z-jad1nn"));
        assert!(!valid_id("20261206T040629Z-jad1n/"));
        assert!(!valid_id("../../etc/passwd"));
    }
}
