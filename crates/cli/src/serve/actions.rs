//! Actions on a run: cancel, resume, approve (docs/api.md).

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

use super::api::{blocking, error, find};
use super::Server;
use flow_runtime::store::RunState;

/// Cancels a run: a queued one is finished `cancelled` at once; a live one
/// is sent SIGTERM as `flow cancel` does (its `finally` stages run, it ends
/// `cancelled`; the answer does not wait for that).
pub async fn cancel(State(server): State<Arc<Server>>, UrlPath(id): UrlPath<String>) -> Response {
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
pub async fn resume(State(server): State<Arc<Server>>, UrlPath(id): UrlPath<String>) -> Response {
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
pub struct ApproveBody {
    stage: String,
    decision: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    by: Option<String>,
}

/// The human gate, as `flow approve` gives it.
pub async fn approve(
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
