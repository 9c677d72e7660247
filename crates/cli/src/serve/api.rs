//! The HTTP API (docs/api.md): routes and handlers. Every answer is JSON
//! except artifact downloads (the file's bytes) and the event stream (SSE).
//! Store and file work runs on blocking threads, never on the event loop.
//! Run actions are in `actions`, file downloads and log tails in
//! `downloads`, the streams in `events` and `logs`.

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

use super::{actions, downloads, events, guard, view, Server};
use flow_runtime::store::submission::{Submission, Submitted};
use flow_runtime::store::{RunEntry, RunHistory};

/// The API's routes, behind the token and CSRF guard.
pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        .route("/api/flows", get(flows))
        .route("/api/runs", get(list).post(submit))
        .route("/api/events", get(super::changes::stream))
        .route("/api/runs/{id}", get(one))
        .route("/api/runs/{id}/events", get(events::stream))
        .route("/api/runs/{id}/cancel", post(actions::cancel))
        .route("/api/runs/{id}/resume", post(actions::resume))
        .route("/api/runs/{id}/approve", post(actions::approve))
        .route(
            "/api/runs/{id}/artifacts/{stage}/{*path}",
            get(downloads::artifact),
        )
        .route("/api/runs/{id}/logs/{stage}", get(downloads::logs))
        .route(
            "/api/runs/{id}/logs/{stage}/events",
            get(super::logs::stream),
        )
        .route("/api/stats", get(stats))
        .route("/api/login", post(guard::login))
        .route("/api/logout", post(guard::logout))
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
pub async fn blocking<T: Send + 'static>(
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
    // Kept typed, as a started run's `run_started` has them: a queued run's
    // params read the same (`"3"` for an int is `3`).
    let params = match crate::params::from_json(&served.pipeline, &body.params) {
        Ok(typed) => typed
            .iter()
            .map(|(name, v)| (name.clone(), flow_runtime::run::param_json(v)))
            .collect(),
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let sub = Submission {
        flow: body.flow,
        file: served.file.display().to_string(),
        key: body.key,
        description: body.description,
        params,
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

/// `GET /api/stats?flow=F&since=D` filters.
#[derive(Deserialize)]
struct StatsQuery {
    flow: Option<String>,
    since: Option<String>,
}

/// `flow stats --json` (of flow F, started in the last D: `7d`, `12h`):
/// the same selection and numbers as the command.
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
        let entries = s.store.list(q.flow.as_deref(), None)?;
        Ok(crate::cmd::stats::of_entries(&s.store, &entries, since))
    })
    .await;
    match computed {
        Ok(all) => Json(all).into_response(),
        Err(answer) => answer,
    }
}
