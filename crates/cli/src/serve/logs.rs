//! `GET /api/runs/{id}/logs/{stage}/events`: a stage's log lines as
//! Server-Sent Events, live, over all its attempts in order.
//!
//! Each event's `data` is `{"visit", "attempt", "line"}` (the line without
//! its newline, lossily UTF-8, secrets masked as in the log) and its `id`
//! is `VISIT.ATTEMPT.OFFSET`, the byte offset after that line in its log
//! file: reconnecting with `Last-Event-ID` continues after it. The stream
//! ends once every log is read and no process drives the run (finished,
//! or interrupted). Like the journal
//! stream it tails files (`logs/<stage>.<visit>.<attempt>.log`), read
//! every [`POLL`].

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use serde_json::json;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::{BufRead, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::api::{error, find};
use super::Server;

/// How often the logs are looked at again.
const POLL: Duration = Duration::from_millis(150);

/// At most this many lines are read at once.
const BATCH: usize = 1000;

/// Where the stream is: the attempt `(visit, attempt)` and byte offset.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
struct Place {
    visit: u32,
    attempt: u32,
    offset: u64,
}

struct Tail {
    root: PathBuf,
    stage: String,
    at: Place,
    ready: VecDeque<(Place, String)>,
}

/// The handler (see the module docs).
pub async fn stream(
    State(server): State<Arc<Server>>,
    UrlPath((id, stage)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if stage.is_empty() || stage.contains(['/', '\0']) || stage.starts_with('.') {
        return error(StatusCode::BAD_REQUEST, "bad stage name");
    }
    let entry = match find(&server, &id).await {
        Ok(e) => e,
        Err(answer) => return answer,
    };
    let at = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_place)
        .unwrap_or_default();
    let tail = Tail {
        root: entry.root.clone(),
        stage,
        at,
        ready: VecDeque::new(),
    };
    Sse::new(events(tail))
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn parse_place(text: &str) -> Option<Place> {
    let mut parts = text.trim().split('.');
    let place = Place {
        visit: parts.next()?.parse().ok()?,
        attempt: parts.next()?.parse().ok()?,
        offset: parts.next()?.parse().ok()?,
    };
    parts.next().is_none().then_some(place)
}

fn events(tail: Tail) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(tail, |mut tail| async move {
        loop {
            if let Some((place, line)) = tail.ready.pop_front() {
                let data = json!({ "visit": place.visit, "attempt": place.attempt, "line": line });
                let id = format!("{}.{}.{}", place.visit, place.attempt, place.offset);
                return Some((Ok(Event::default().id(id).data(data.to_string())), tail));
            }
            let (root, stage, at) = (tail.root.clone(), tail.stage.clone(), tail.at);
            let read = tokio::task::spawn_blocking(move || read_more(&root, &stage, at)).await;
            match read {
                Ok(Ok(Some((at, lines)))) => {
                    tail.at = at;
                    tail.ready.extend(lines);
                    if tail.ready.is_empty() {
                        tokio::time::sleep(POLL).await;
                    }
                }
                // Finished and all read, or the logs cannot be read.
                Ok(Ok(None)) | Ok(Err(_)) | Err(_) => return None,
            }
        }
    })
}

/// The stage's log files, `(visit, attempt, path)`, in order.
fn attempts(root: &std::path::Path, stage: &str) -> std::io::Result<Vec<(u32, u32, PathBuf)>> {
    let mut found = Vec::new();
    let dir = match std::fs::read_dir(root.join("logs")) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e),
    };
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name
            .strip_prefix(stage)
            .and_then(|r| r.strip_prefix('.'))
            .and_then(|r| r.strip_suffix(".log"))
        else {
            continue;
        };
        let mut nums = rest.split('.');
        if let (Some(Ok(v)), Some(Ok(a)), None) = (
            nums.next().map(str::parse::<u32>),
            nums.next().map(str::parse::<u32>),
            nums.next(),
        ) {
            found.push((v, a, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// New lines from `at` on: `Some((new place, lines))`, or `None` once no
/// process drives the run (finished or interrupted) and nothing is left.
#[allow(clippy::type_complexity)]
fn read_more(
    root: &std::path::Path,
    stage: &str,
    mut at: Place,
) -> std::io::Result<Option<(Place, Vec<(Place, String)>)>> {
    // Liveness before the read: a run found dead first has written all it
    // will write by the time the logs are read.
    let finished =
        root.join("journal.jsonl").exists() && !flow_runtime::runlock::RunLock::is_held(root);
    let mut lines = Vec::new();
    for (visit, attempt, path) in attempts(root, stage)? {
        if (visit, attempt) < (at.visit, at.attempt) {
            continue;
        }
        if (visit, attempt) != (at.visit, at.attempt) {
            at = Place {
                visit,
                attempt,
                offset: 0,
            };
        }
        let mut reader = std::io::BufReader::new(std::fs::File::open(&path)?);
        reader.seek(SeekFrom::Start(at.offset))?;
        let mut buf = Vec::new();
        while lines.len() < BATCH {
            buf.clear();
            let n = reader.read_until(b'\n', &mut buf)?;
            // A line still being written waits, unless the run is over.
            if n == 0 || (buf.last() != Some(&b'\n') && !finished) {
                break;
            }
            at.offset += n as u64;
            let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
            lines.push((at, String::from_utf8_lossy(text).into_owned()));
        }
        if lines.len() >= BATCH {
            break;
        }
    }
    if lines.is_empty() && finished {
        return Ok(None);
    }
    Ok(Some((at, lines)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_parse_and_order_by_attempt_then_offset() {
        let p = parse_place("2.1.40").unwrap();
        assert_eq!((p.visit, p.attempt, p.offset), (2, 1, 40));
        assert!(parse_place("2.1").is_none());
        assert!(parse_place("2.1.4.5").is_none());
        assert!(parse_place("x.1.4").is_none());
        assert!(parse_place("1.9.0").unwrap() < p);
    }

    #[test]
    fn a_line_being_written_waits_while_the_run_is_alive() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("logs")).unwrap();
        std::fs::write(dir.path().join("logs/s.1.1.log"), "one\ntw").unwrap();
        std::fs::write(dir.path().join("logs/s.1.2.log"), "again\n").unwrap();
        std::fs::write(dir.path().join("logs/st.1.1.log"), "other stage\n").unwrap();
        // Alive (its lock held): the torn line waits.
        let lock = flow_runtime::runlock::RunLock::acquire(dir.path())
            .unwrap()
            .unwrap();
        std::fs::write(dir.path().join("journal.jsonl"), "{}\n").unwrap();
        let (at, lines) = read_more(dir.path(), "s", Place::default())
            .unwrap()
            .unwrap();
        let texts: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(texts, ["one", "again"]);
        assert_eq!((at.visit, at.attempt), (1, 2));
        drop(lock);
        // Dead: what is left of the first attempt is not read again (the
        // stream moved on), and the end comes.
        assert!(read_more(dir.path(), "s", at).unwrap().is_none());
        let (_, from_start) = read_more(dir.path(), "s", Place::default())
            .unwrap()
            .unwrap();
        let texts: Vec<&str> = from_start.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(texts, ["one", "tw", "again"]);
    }
}
