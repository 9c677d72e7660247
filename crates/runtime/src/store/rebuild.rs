//! The index from the journals: one run's row read from its journal
//! (`read_row`), and the whole index brought in line with `runs/`
//! (`reconcile`), which is also how a missing index is rebuilt.
//!
//! A row is read from the journal's first line (`run_started`: flow,
//! params, pid, file, and `key`/`parent` when present) and its last
//! *lifecycle* event, found by reading the journal's tail backwards:
//!
//! | last lifecycle event                  | recorded state |
//! |---------------------------------------|----------------|
//! | `run_finished`                        | `finished` (with its outcome) |
//! | `run_queued`                          | `pending`      |
//! | `run_admitted`, `run_resumed`         | `running`      |
//! | `run_started`, other events after it  | `running`      |
//! | `run_started`, nothing after it       | `starting`     |
//! | no journal, a `submission.json`       | `queued`       |
//!
//! A run not finished whose lock is free is recorded `interrupted`.

use rusqlite::Connection;
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::index::{self, Index, Row};
use super::state::Recorded;
use crate::runlock::RunLock;

/// How much of a journal's end is read to find its last lifecycle event.
/// `run_finished` is always the last line; a window without any lifecycle
/// event means the run has progressed past them (stages running).
pub const TAIL_BYTES: u64 = 64 * 1024;

/// The row of the run in `<base>/runs/<id>`, read from its journal; a
/// submission not started (`submission.json`, no `run_started` yet) is
/// `queued`. `None` when it is neither.
pub fn read_row(base: &Path, id: &str) -> Option<Row> {
    let root = base.join("runs").join(id);
    let submission = super::submission::read(&root).ok();
    let started = File::open(root.join("journal.jsonl"))
        .ok()
        .and_then(|mut file| {
            let mut first = String::new();
            BufReader::new(&mut file).read_line(&mut first).ok()?;
            let start: serde_json::Value = serde_json::from_str(first.trim_end()).ok()?;
            (start["event"] == "run_started").then_some((file, start))
        });
    let Some((mut file, start)) = started else {
        return submission.map(|sub| queued_row(id, sub));
    };
    let text = |k: &str| start[k].as_str().map(str::to_string);
    let last = last_lifecycle(&mut file).ok()?;
    let (mut state, outcome, finished_ms) = match last {
        Some(Lifecycle::Finished { outcome, at }) => (Recorded::Finished, Some(outcome), at),
        Some(Lifecycle::State(s)) => (s, None, None),
        None => (Recorded::Running, None, None),
    };
    if state != Recorded::Finished && !RunLock::is_held(&root) {
        state = Recorded::Interrupted;
    }
    Some(Row {
        id: id.to_string(),
        flow: text("flow")?,
        params: start.get("params").map_or("{}".into(), |p| p.to_string()),
        key: text("key"),
        state,
        outcome,
        started_ms: start["ts"].as_str().and_then(unix_ms),
        finished_ms,
        parent: text("parent"),
        pid: start["pid"].as_i64(),
        file: text("file"),
        queue_seq: None,
        description: text("description"),
        submitted_ms: submission.map(|s| s.submitted_ms),
    })
}

/// The row of a submission that has not started.
fn queued_row(id: &str, sub: super::submission::Submission) -> Row {
    Row {
        id: id.to_string(),
        flow: sub.flow,
        params: serde_json::Value::Object(sub.params).to_string(),
        key: sub.key,
        state: Recorded::Queued,
        outcome: None,
        started_ms: None,
        finished_ms: None,
        parent: sub.parent,
        pid: None,
        file: Some(sub.file),
        queue_seq: None,
        description: sub.description,
        submitted_ms: Some(sub.submitted_ms),
    }
}

/// Brings the index in line with the run directories, in one write
/// transaction: rows are added for runs the index lacks (all of them when
/// it was just created), removed for directories that are gone, and re-read
/// for runs recorded alive whose lock is free (their `flow` died, or
/// finished without updating the index). Pending runs found anew get queue
/// positions in id (start) order. Cost without changes: one `readdir` and
/// one query, plus a lock probe per run recorded alive.
pub fn reconcile(index: &mut Index, base: &Path) -> io::Result<()> {
    let mut dirs: Vec<String> = match std::fs::read_dir(base.join("runs")) {
        Ok(read) => read
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    dirs.sort();
    index.write(|tx| {
        let known = index::states(tx)?;
        let present: HashSet<&str> = dirs.iter().map(String::as_str).collect();
        let mut seen = HashSet::with_capacity(known.len());
        for (id, state) in &known {
            seen.insert(id.as_str());
            if !present.contains(id.as_str()) {
                index::delete(tx, id)?;
            } else if matches!(
                state,
                Recorded::Starting | Recorded::Pending | Recorded::Running
            ) && !RunLock::is_held(&base.join("runs").join(id))
            {
                sync(tx, base, id)?;
            } else if *state == Recorded::Queued
                && base.join("runs").join(id).join("journal.jsonl").exists()
            {
                // Started, but its process died before updating the row.
                sync(tx, base, id)?;
            }
        }
        for id in dirs.iter().filter(|d| !seen.contains(d.as_str())) {
            if let Some(row) = read_row(base, id) {
                let pending = row.state == Recorded::Pending;
                index::upsert(tx, &row)?;
                if pending {
                    index::enqueue(tx, id)?;
                }
            }
        }
        Ok(())
    })
}

/// Re-reads run `id`'s journal into its row (inside the caller's write
/// transaction, so no other writer interleaves); a directory that is no
/// longer a run loses its row.
pub fn sync(conn: &Connection, base: &Path, id: &str) -> io::Result<()> {
    match read_row(base, id) {
        Some(row) => index::upsert(conn, &row),
        None => index::delete(conn, id),
    }
}

/// What the last lifecycle event says.
enum Lifecycle {
    State(Recorded),
    Finished { outcome: String, at: Option<i64> },
}

/// The last lifecycle event in the journal's tail; `None` when the tail
/// holds none (the run is past them: running).
fn last_lifecycle(file: &mut File) -> io::Result<Option<Lifecycle>> {
    let len = file.metadata()?.len();
    let from = len.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(from))?;
    let mut tail = Vec::with_capacity(usize::try_from(len - from).unwrap_or(0));
    file.take(TAIL_BYTES).read_to_end(&mut tail)?;
    let mut lines: Vec<&[u8]> = tail.split(|b| *b == b'\n').collect();
    if from > 0 && !lines.is_empty() {
        lines.remove(0); // cut in the middle
    }
    let mut progressed = false;
    for line in lines.iter().rev() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        // Parse only lifecycle lines; a torn or foreign line is "something
        // happened after the start".
        let lifecycle = memchr::memmem::find(line, b"\"event\":\"run_").is_some();
        let event: Option<serde_json::Value> = if lifecycle {
            serde_json::from_slice(line).ok()
        } else {
            None
        };
        let Some(event) = event else {
            progressed = true;
            continue;
        };
        let state = match event["event"].as_str().unwrap_or("") {
            "run_finished" => {
                return Ok(Some(Lifecycle::Finished {
                    outcome: event["outcome"].as_str().unwrap_or("failed").to_string(),
                    at: event["ts"].as_str().and_then(unix_ms),
                }))
            }
            "run_queued" => Recorded::Pending,
            "run_admitted" | "run_resumed" => Recorded::Running,
            "run_started" if progressed => Recorded::Running,
            "run_started" => Recorded::Starting,
            // run_skipped, run_timed_out: not a change of state by itself.
            _ => {
                progressed = true;
                continue;
            }
        };
        return Ok(Some(Lifecycle::State(state)));
    }
    Ok(None)
}

/// Unix milliseconds of an RFC 3339 time (`2026-11-21T02:53:00.123Z`).
pub fn unix_ms(ts: &str) -> Option<i64> {
    let t = humantime::parse_rfc3339_weak(ts).ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_millis()).ok()
}
