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

/// `?view=true`: show the artifact in the browser as text.
#[derive(Deserialize)]
pub struct ArtifactQuery {
    #[serde(default)]
    view: bool,
}

/// Bytes read from an artifact at once while it is sent.
const CHUNK: usize = 64 * 1024;

/// Sends `artifacts/<stage>/<path>` of a run: a regular file only (opened
/// without following a link and without blocking on a FIFO), whose real
/// path stays inside the run's folder; streamed, never read whole. As a
/// download (`application/octet-stream`, `attachment`), or with
/// `?view=true` as text in the browser (`text/plain`, `inline`, in a
/// sandbox: an HTML artifact cannot run script in the dashboard's origin).
pub async fn artifact(
    State(server): State<Arc<Server>>,
    UrlPath((id, stage, path)): UrlPath<(String, String, String)>,
    Query(q): Query<ArtifactQuery>,
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
    let opened = blocking(move || {
        use std::os::unix::fs::OpenOptionsExt;
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
        // Swapped for a link or a FIFO since: refused, never blocking.
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
            .open(&real)?;
        let meta = opened.metadata()?;
        Ok(meta.file_type().is_file().then_some((opened, meta.len())))
    })
    .await;
    let (file, len) = match opened {
        Ok(Some(found)) => found,
        Ok(None) => return error(StatusCode::NOT_FOUND, format!("no artifact {stage}/{path}")),
        Err(answer) => return answer,
    };
    let name = path.rsplit('/').next().unwrap_or("artifact");
    // Only plain characters in the header's quoted name.
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let headers = if q.view {
        [
            (
                header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{name}\""),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'".to_string(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
        ]
    } else {
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'".to_string(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
        ]
    };
    let file = tokio::fs::File::from_std(file);
    // At most `len` bytes: a file that grows meanwhile is cut at its size
    // when opened (the length was promised).
    let body = futures_util::stream::unfold((file, len), |(mut file, left)| async move {
        use tokio::io::AsyncReadExt;
        if left == 0 {
            return None;
        }
        let want = usize::try_from(left).map_or(CHUNK, |l| l.min(CHUNK));
        let mut buf = vec![0u8; want];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(buf), (file, left - n as u64)))
            }
            Err(e) => Some((Err(e), (file, 0))),
        }
    });
    (headers, axum::body::Body::from_stream(body)).into_response()
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
