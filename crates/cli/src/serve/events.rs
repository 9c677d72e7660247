//! `GET /api/runs/{id}/events`: every line of a run's journal as a
//! Server-Sent Event, live. The event's `id` is the line's number (1-based)
//! and its `data` the line (one JSON object); a client reconnecting with
//! `Last-Event-ID: N` gets the lines after N. The stream ends once every
//! line is sent and no process drives the run (finished, or interrupted:
//! a resume is a new stream from the last id); for a queued run it waits
//! for the journal to appear.
//!
//! It tails the file (a read every [`POLL`]), so it needs nothing from the
//! process that drives the run, and every reader sees what the journal
//! holds, in its order.

use axum::extract::{Path as UrlPath, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use std::convert::Infallible;
use std::io::{BufRead, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::api::find;
use super::Server;

/// How often a quiet journal is read again.
const POLL: Duration = Duration::from_millis(100);

/// At most this many lines are read from the journal at once.
const BATCH: usize = 1000;

/// Where the tail is.
struct Tail {
    journal: PathBuf,
    /// Bytes read so far (whole lines only).
    offset: u64,
    /// Lines read so far.
    line: u64,
    /// Lines to skip (those the client has).
    skip: u64,
    /// Lines read but not yet sent.
    ready: std::collections::VecDeque<(u64, String)>,
}

/// The handler (see the module docs).
pub async fn stream(
    State(server): State<Arc<Server>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let entry = match find(&server, &id).await {
        Ok(e) => e,
        Err(answer) => return answer,
    };
    let skip = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let tail = Tail {
        journal: entry.root.join("journal.jsonl"),
        offset: 0,
        line: 0,
        skip,
        ready: Default::default(),
    };
    Sse::new(events(tail))
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn events(tail: Tail) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(tail, |mut tail| async move {
        loop {
            if let Some((n, line)) = tail.ready.pop_front() {
                let event = Event::default().id(n.to_string()).data(line);
                return Some((Ok(event), tail));
            }
            let (path, offset) = (tail.journal.clone(), tail.offset);
            let read = tokio::task::spawn_blocking(move || {
                // Liveness first: a run found dead before the read has
                // written all it will write by then.
                let over = path.exists()
                    && !flow_runtime::runlock::RunLock::is_held(path.parent().unwrap_or(&path));
                read_lines(&path, offset).map(|lines| (over, lines))
            })
            .await;
            match read {
                Ok(Ok((_, (consumed, lines)))) if !lines.is_empty() => {
                    tail.offset += consumed;
                    for line in lines {
                        tail.line += 1;
                        if tail.line > tail.skip {
                            tail.ready.push_back((tail.line, line));
                        }
                    }
                }
                Ok(Ok((true, _))) | Ok(Err(_)) | Err(_) => return None,
                _ => tokio::time::sleep(POLL).await,
            }
        }
    })
}

/// The whole lines of the file after `offset` (at most [`BATCH`]), and
/// how many bytes they took; a torn last line waits for its end. A missing
/// file has none yet.
fn read_lines(path: &std::path::Path, offset: u64) -> std::io::Result<(u64, Vec<String>)> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, Vec::new())),
        Err(e) => return Err(e),
    };
    file.seek(SeekFrom::Start(offset))?;
    let mut reader = std::io::BufReader::new(file);
    let (mut consumed, mut lines, mut buf) = (0u64, Vec::new(), Vec::new());
    while lines.len() < BATCH {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 || buf.last() != Some(&b'\n') {
            break;
        }
        consumed += n as u64;
        lines.push(String::from_utf8_lossy(&buf[..n - 1]).into_owned());
    }
    Ok((consumed, lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_lines_only_and_their_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        assert_eq!(read_lines(&path, 0).unwrap(), (0, Vec::new()));
        std::fs::write(&path, "{\"a\":1}\n{\"b\":2}\n{\"c\"").unwrap();
        let (n, lines) = read_lines(&path, 0).unwrap();
        assert_eq!(lines, ["{\"a\":1}", "{\"b\":2}"]);
        assert_eq!(n, 16);
        assert_eq!(read_lines(&path, n).unwrap(), (0, Vec::new()));
    }
}
