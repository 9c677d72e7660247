//! Files of a run through the API: artifact downloads (never outside the
//! run's folder) and a stage's log tail (docs/api.md).

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::api::{blocking, error, find};
use super::Server;
use flow_runtime::store::RunHistory;

/// Most log lines `?tail=N` gives.
const MAX_TAIL: usize = 10_000;

/// Lines `logs` gives without `?tail`.
const DEFAULT_TAIL: usize = 200;

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
pub async fn artifact(
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

/// `?tail=N`.
#[derive(Deserialize)]
pub struct TailQuery {
    tail: Option<usize>,
}

/// The last lines of a stage's latest attempt log:
/// `{stage, visit, attempt, lines}`.
pub async fn logs(
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
    use crate::serve::api::valid_id;

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
