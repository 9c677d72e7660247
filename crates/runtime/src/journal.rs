//! The run journal: `journal.jsonl`, one JSON object per line, append-only.
//!
//! Every line has `"ts"` (RFC 3339 UTC with milliseconds) and `"event"` (the
//! event name), then the event's fields. The executor appends and flushes an
//! event *before* it reports the thing it records (a stage start, a finish),
//! so the journal is never behind what the user saw.
//!
//! Secrets: a journal given the run's [`Masker`] ([`Journal::with_masker`])
//! masks every line it writes, whatever the event (a reason, a status, an
//! error message, a param value).
//!
//! Durability: each event is written with one `write` and flushed to the
//! kernel, not `fsync`ed. The journal survives a killed `flow` process (the
//! data is in the page cache), not a power cut — an fsync per event would
//! cost milliseconds per stage for a guarantee no caller needs.

use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Mutex;

use crate::output::Masker;
use std::time::SystemTime;

/// One journal event. Serialised as `{"ts": …, "event": "<snake_name>", fields…}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum JournalEvent {
    /// The run began.
    RunStarted {
        /// Flow name.
        flow: String,
        /// Run id.
        run_id: String,
        /// Run nonce.
        nonce: String,
        /// Param values (defaults included) as typed JSON: numbers, bools,
        /// strings, lists of strings; a duration as whole seconds.
        params: serde_json::Map<String, serde_json::Value>,
        /// The `.flow` file, when known.
        file: Option<String>,
        /// Process id of `flow` (the run store tells a live run from an
        /// interrupted one by it).
        pid: u32,
    },
    /// `concurrency N` was reached: the run waits for a slot (see `store`).
    RunQueued {
        /// The flow's `concurrency`.
        concurrency: u32,
        /// Runs of the flow running when it queued.
        running: i64,
    },
    /// A queued run got a slot and goes on.
    RunAdmitted {
        /// Time spent queued.
        waited_ms: u64,
    },
    /// `skip if` was true: no stage runs.
    RunSkipped {
        /// The `skip if` source text.
        condition: String,
    },
    /// An attempt's process was spawned.
    StageStarted {
        /// Stage name.
        stage: String,
        /// 1-based visit.
        visit: u32,
        /// 1-based attempt within the visit.
        attempt: u32,
        /// Process id (also the process group id).
        pid: Option<u32>,
        /// The attempt's working directory.
        dir: String,
    },
    /// An attempt ended (or could not start: `error`).
    StageFinished {
        /// Stage name.
        stage: String,
        /// 1-based visit.
        visit: u32,
        /// 1-based attempt.
        attempt: u32,
        /// Exit code, if the process exited.
        exit_code: Option<i32>,
        /// Terminating signal, if killed.
        signal: Option<i32>,
        /// Hit the stage timeout.
        timed_out: bool,
        /// Killed because the run was cancelled / timed out.
        cancelled: bool,
        /// Structured status, for `status json` stages.
        status: Option<String>,
        /// Why the attempt could not run, if it could not.
        error: Option<String>,
        /// Wall time of the attempt.
        duration_ms: u64,
    },
    /// A stage visit settled (succeeded or failed).
    StageSettled {
        /// Stage name.
        stage: String,
        /// `succeeded` or `failed`.
        outcome: String,
        /// Why it failed.
        reason: Option<String>,
        /// A route took the failure.
        handled: bool,
        /// `allow_failure` applied.
        allowed: bool,
    },
    /// A stage was skipped.
    StageSkipped {
        /// Stage name.
        stage: String,
        /// Why.
        reason: String,
    },
    /// A route fired.
    Routed {
        /// Source stage.
        from: String,
        /// The route's outcome (`exit 2`, `status "BLOCKED"` …).
        on: String,
        /// Target stage.
        to: String,
    },
    /// A failed attempt will be retried after the `retry … delay`.
    RetryScheduled {
        /// Stage name.
        stage: String,
        /// The delay.
        delay_ms: u64,
    },
    /// An `again after D` route fired: the stage starts a new visit after
    /// the delay (a poll, not a retry).
    AgainScheduled {
        /// Stage name.
        stage: String,
        /// The delay.
        delay_ms: u64,
    },
    /// Ctrl-C or SIGTERM reached `flow`.
    CancelRequested {
        /// `SIGINT` or `SIGTERM`.
        signal: String,
    },
    /// The flow's `timeout` expired.
    RunTimedOut {
        /// The flow timeout.
        timeout_ms: u64,
    },
    /// Something went wrong that does not change an outcome by itself (an
    /// output skipped, a missing output after a failed attempt, a secret
    /// too short to mask …); also shown on the terminal.
    Warning {
        /// The stage concerned, if any.
        stage: Option<String>,
        /// What happened.
        message: String,
    },
    /// The run ended.
    RunFinished {
        /// `succeeded`, `failed`, `skipped`, `timed_out`, `cancelled`, or an
        /// `ends run` name.
        outcome: String,
        /// Why (the failed stage), if any.
        reason: Option<String>,
        /// Wall time of the run.
        duration_ms: u64,
    },
}

#[derive(Serialize)]
struct Line<'a> {
    ts: String,
    #[serde(flatten)]
    event: &'a JournalEvent,
}

/// An open journal. Appends are serialised by a mutex; each event is one
/// line written and flushed at once.
pub struct Journal {
    file: Mutex<File>,
    /// Masks the JSON text of each line ([`Masker::for_json`]).
    masker: Masker,
}

impl Journal {
    /// Opens (creating if needed) the journal at `path` for appending. It
    /// masks nothing until [`Journal::with_masker`].
    pub fn open(path: &Path) -> io::Result<Journal> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Journal {
            file: Mutex::new(file),
            masker: Masker::default(),
        })
    }

    /// The journal masking every line with `masker` (the run's secrets).
    pub fn with_masker(self, masker: &Masker) -> Journal {
        Journal {
            masker: masker.for_json(),
            ..self
        }
    }

    /// Appends one event and flushes it (see the module docs on durability).
    pub fn append(&self, event: &JournalEvent) -> io::Result<()> {
        let line = Line {
            ts: crate::rundir::rfc3339(SystemTime::now()),
            event,
        };
        let bytes = serde_json::to_vec(&line).map_err(io::Error::other)?;
        let mut bytes = self.masker.mask(&bytes).into_owned();
        bytes.push(b'\n');
        // A poisoned lock only means another append panicked; the file is fine.
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // O_APPEND + a single write keeps the line whole even if another
        // process appends too.
        f.write_all(&bytes)?;
        f.flush()
    }

    /// Appends one event; a failure is logged (stderr), not returned.
    ///
    /// For events written once stages may be running: stopping the run over
    /// a journal that cannot be written (full disk) would kill work for a
    /// gap in its record, and the outcome still reaches the caller through
    /// the run's report. Before any stage starts, [`Journal::append`] is
    /// used and a failure ends the run instead.
    pub fn record(&self, event: &JournalEvent) {
        if let Err(e) = self.append(event) {
            tracing::error!("cannot write the journal: {e}");
        }
    }
}

/// Reads a journal back: one JSON value per non-empty line. A torn last line
/// (a crash mid-write) is ignored; a bad line elsewhere is an error.
pub fn read_journal(path: &Path) -> io::Result<Vec<serde_json::Value>> {
    let reader = BufReader::new(File::open(path)?);
    let lines: Vec<String> = reader.lines().collect::<io::Result<_>>()?;
    let mut out = Vec::with_capacity(lines.len());
    let last = lines.len().saturating_sub(1);
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(v) => out.push(v),
            Err(_) if i == last => break,
            Err(e) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}:{}: {e}", path.display(), i + 1),
                ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_tagged_lines_and_reads_them_back() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("journal.jsonl");
        let j = Journal::open(&path).unwrap();
        j.append(&JournalEvent::Routed {
            from: "a".into(),
            on: "exit 2".into(),
            to: "b".into(),
        })
        .unwrap();
        j.append(&JournalEvent::RunFinished {
            outcome: "succeeded".into(),
            reason: None,
            duration_ms: 12,
        })
        .unwrap();
        let events = read_journal(&path).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0]["event"], "routed");
        assert_eq!(events[0]["from"], "a");
        assert_eq!(events[0]["to"], "b");
        assert!(events[0]["ts"].as_str().unwrap().ends_with('Z'));
        assert_eq!(events[1]["event"], "run_finished");
        assert_eq!(events[1]["duration_ms"], 12);
    }

    /// Issue 6: secrets appeared unmasked in the journal, also when JSON
    /// escapes them.
    #[test]
    fn every_line_is_masked_in_its_json_form() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("journal.jsonl");
        let masker = Masker::new(&["canary-1234", "quo\"te\tx"]);
        let j = Journal::open(&path).unwrap().with_masker(&masker);
        j.append(&JournalEvent::Warning {
            stage: Some("s".into()),
            message: "saw canary-1234 and quo\"te\tx here".into(),
        })
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("canary"), "{text}");
        assert!(!text.contains("quo"), "{text}");
        let events = read_journal(&path).unwrap();
        assert_eq!(events[0]["message"], "saw *** and *** here");
    }

    #[test]
    fn torn_last_line_is_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("journal.jsonl");
        std::fs::write(
            &path,
            "{\"event\":\"a\"}\n{\"event\":\"b\"}\n{\"event\":\"c",
        )
        .unwrap();
        let events = read_journal(&path).unwrap();
        assert_eq!(events.len(), 2);
        std::fs::write(&path, "{\"event\":\"a\"}\nnot json\n{\"event\":\"c\"}\n").unwrap();
        assert!(read_journal(&path).is_err());
    }
}
