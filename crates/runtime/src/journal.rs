//! The run journal: `journal.jsonl`, one JSON object per line, append-only.
//!
//! Every line has `"ts"` (RFC 3339 UTC with milliseconds) and `"event"` (the
//! event name), then the event's fields. The executor appends an event
//! *before* it reports or acts on the thing it records (a stage start, a
//! finish, a settle), so the journal is never behind what the user saw.
//! Every input the scheduler consumes is journaled, in the order it is
//! consumed (`stage_finished`, `timer_fired`, `cancel_requested`,
//! `run_timed_out`, `when_evaluated`): `flow resume` rebuilds a run by
//! replaying them (see `run/replay.rs`).
//!
//! Secrets: a journal given the run's [`Masker`] ([`Journal::with_masker`])
//! masks every line it writes, whatever the event (a reason, a status, an
//! error message, a param value).
//!
//! # Durability
//!
//! Each event is one `write` to an `O_APPEND` file, so it reaches the kernel
//! at once: a killed `flow` (SIGKILL, OOM, panic) loses nothing it wrote.
//! Against a power cut the journal is `fdatasync`ed at *settle points*: a
//! stage settled ([`Journal::sync_soon`]: a syncer thread syncs everything
//! written so far, without stopping the run; settles within
//! [`SYNC_INTERVAL`] of its last sync share its next one, so a chain of fast
//! stages does not pay one sync each), and the run finished or resumed
//! ([`Journal::sync`], which waits and is never delayed). What survives a
//! power cut: every line up to the last completed sync, that is every stage
//! settled more than [`SYNC_INTERVAL`] plus one sync (milliseconds) before
//! the cut, and the whole journal of a finished run. Lines after it may be lost
//! or torn: `flow resume` then redoes the attempts they recorded. A torn
//! (or zero-filled) last line is ignored by [`read_journal`] and cut off
//! before a resumed run appends ([`Journal::open_for_resume`]). A new
//! journal's directory entries (its own in the run folder, the run folder's
//! in `runs/`) are synced by the syncer thread before its first
//! `fdatasync`, so they are durable with the first line that is, and never
//! delay the run's start.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::output::Masker;
use std::time::{Duration, Instant, SystemTime};

/// One journal event. Serialised as `{"ts": …, "event": "<snake_name>", fields…}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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
        /// Process id of `flow` (informative: liveness is the run's lock,
        /// see `runlock`).
        pid: u32,
        /// Every source file the flow was checked from (the `.flow` file,
        /// the library files it uses) → SHA-256 of its bytes, lowercase
        /// hex. `flow resume` refuses a run whose sources changed.
        sources: BTreeMap<String, String>,
        /// The flow's `alert` thresholds (absent when it has none): `flow
        /// stats` reports those of a flow's latest run.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        alerts: Vec<flow_dsl::ir::Alert>,
        /// The submission's dedupe key (`flow serve`); left out when none.
        #[serde(skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        /// The run whose stage submitted this one (`flow submit` inside a
        /// stage); left out when none.
        #[serde(skip_serializing_if = "Option::is_none")]
        parent: Option<String>,
        /// The submission's description (markdown); left out when none.
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    /// `flow resume` took the run over: what follows continues it.
    RunResumed {
        /// Process id of the resuming `flow`.
        pid: u32,
        /// Sources that changed since the run started (resumed anyway,
        /// with `--force`).
        changed: Vec<String>,
        /// `when` answers the replay had to evaluate because the journal
        /// held none (the resumed run takes a path the interrupted one did
        /// not); a later replay reads them back from here.
        when_answers: Vec<WhenAnswer>,
    },
    /// `concurrency N` was reached: the run waits for a slot (see `store`).
    RunQueued {
        /// The flow's `concurrency`.
        concurrency: u32,
        /// Runs of the flow running when it queued.
        running: i64,
        /// Runs of the flow queued ahead of it (first come, first served).
        ahead: i64,
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
        /// Hit the stage timeout (or its `idle` limit).
        timed_out: bool,
        /// The limit hit was `idle`: no output for that long. Left out
        /// when false.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        idle: bool,
        /// It crossed a `budget`. Left out when false.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        over_budget: bool,
        /// Killed because the run was cancelled / timed out.
        cancelled: bool,
        /// Structured status, for `status json` stages.
        status: Option<String>,
        /// Why the attempt could not run, if it could not.
        error: Option<String>,
        /// Wall time of the attempt.
        duration_ms: u64,
        /// What an agent used, as the stage's status object reported it,
        /// else as its `$FLOW_USAGE_FILE` last said (see [`crate::usage`]).
        /// Left out when nothing was reported.
        #[serde(skip_serializing_if = "Option::is_none")]
        usage: Option<crate::usage::Usage>,
        /// Links the stage set (`status json`'s `links` object: name → URL
        /// or text, e.g. `issue`, `branch`, `pr`). Left out when none.
        #[serde(skip_serializing_if = "Option::is_none")]
        links: Option<BTreeMap<String, String>>,
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
    /// The delay of a `retry_scheduled` / `again_scheduled` passed: the
    /// scheduler is told now.
    TimerFired {
        /// Stage name.
        stage: String,
    },
    /// A stage's `when` was evaluated (only stages that have one).
    WhenEvaluated {
        /// The answer.
        #[serde(flatten)]
        answer: WhenAnswer,
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
    /// An `approval` stage began to wait for a person's decision (given
    /// with `flow approve`, which reads the decisions from here).
    ApprovalRequested {
        /// Stage name.
        stage: String,
        /// 1-based visit.
        visit: u32,
        /// 1-based attempt.
        attempt: u32,
        /// The words a decision may be.
        decisions: Vec<String>,
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

/// One answer of a stage's `when`: a value, or the evaluation error.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WhenAnswer {
    /// Stage name.
    pub stage: String,
    /// The value, when it evaluated.
    pub value: Option<bool>,
    /// Why it could not be evaluated.
    pub error: Option<String>,
}

impl WhenAnswer {
    /// The answer as the scheduler takes it.
    pub fn to_result(&self) -> Result<bool, String> {
        match (&self.error, self.value) {
            (Some(e), _) => Err(e.clone()),
            (None, v) => Ok(v.unwrap_or(false)),
        }
    }

    /// Reads one back from a journal line (`when_evaluated`, or an item of
    /// `run_resumed.when_answers`).
    pub fn from_json(v: &serde_json::Value) -> Option<WhenAnswer> {
        Some(WhenAnswer {
            stage: v.get("stage")?.as_str()?.to_string(),
            value: v.get("value").and_then(serde_json::Value::as_bool),
            error: v
                .get("error")
                .and_then(serde_json::Value::as_str)
                .map(str::to_string),
        })
    }
}

#[derive(Serialize)]
struct Line<'a> {
    ts: String,
    #[serde(flatten)]
    event: &'a JournalEvent,
}

/// One journal line as a program receives it ([`Journal::with_tap`]):
/// exactly what was written, secrets masked.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RunEvent {
    /// When it was written (RFC 3339 UTC, milliseconds).
    pub ts: String,
    /// The event.
    #[serde(flatten)]
    pub event: JournalEvent,
}

/// An open journal. Appends are serialised by a mutex; each event is one
/// line written at once. A syncer thread makes it durable at settle points
/// (see the module docs).
pub struct Journal {
    file: Mutex<File>,
    sync: Arc<Syncer>,
    /// Masks the JSON text of each line ([`Masker::for_json`]).
    masker: Masker,
    /// Gets each line written, read back (see [`Journal::with_tap`]).
    tap: Option<tokio::sync::mpsc::UnboundedSender<RunEvent>>,
}

/// The group commit between writers and the syncer thread.
struct Syncer {
    state: Mutex<SyncState>,
    /// Wakes the syncer thread.
    wake: Condvar,
    /// Wakes the callers of [`Journal::sync`].
    done: Condvar,
}

#[derive(Default)]
struct SyncState {
    /// Lines written so far.
    written: u64,
    /// Lines that must be synced.
    requested: u64,
    /// Lines known to be on disk.
    synced: u64,
    /// `fdatasync` calls made (group commit makes it far fewer than the
    /// settle points).
    syncs: u64,
    /// The last sync failed (kept for [`Journal::sync`]).
    failed: Option<String>,
    /// The journal was dropped: the thread ends once nothing is requested.
    closed: bool,
    /// Callers of [`Journal::sync`] waiting: the next sync is not delayed.
    waiting: usize,
    /// The syncer thread waits for a request (rather than for the end of
    /// [`SYNC_INTERVAL`]): only then does a request need to wake it.
    idle: bool,
}

/// Group commit: settles that come within this long of the last sync share
/// the next one, made this long after the last began. A chain of fast
/// stages (hundreds a second) then pays a few syncs a second, not one per
/// stage, and a power cut loses at most the settles of the last interval
/// (`flow resume` redoes them). [`Journal::sync`] is never delayed.
const SYNC_INTERVAL: Duration = Duration::from_millis(20);

impl Syncer {
    fn lock(&self) -> MutexGuard<'_, SyncState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The syncer thread: one `fdatasync` per wake-up, covering every line
    /// written before it began. `dirs` (a new journal's folders) are synced
    /// before the first.
    fn run(&self, file: File, mut dirs: Vec<PathBuf>) {
        let mut st = self.lock();
        let mut last_sync: Option<Instant> = None;
        loop {
            st.idle = true;
            while st.requested <= st.synced && !st.closed {
                st = self.wake.wait(st).unwrap_or_else(|p| p.into_inner());
            }
            st.idle = false;
            if st.requested <= st.synced {
                return;
            }
            if let Some(due) = last_sync.map(|t| t + SYNC_INTERVAL) {
                while st.waiting == 0 && !st.closed {
                    let Some(left) = due.checked_duration_since(Instant::now()) else {
                        break;
                    };
                    st = self
                        .wake
                        .wait_timeout(st, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
            let target = st.written;
            drop(st);
            last_sync = Some(Instant::now());
            let result = sync_dirs(&dirs).and_then(|()| file.sync_data());
            if result.is_ok() {
                dirs.clear();
            }
            st = self.lock();
            st.synced = st.synced.max(target);
            st.syncs += 1;
            st.failed = result.err().map(|e| e.to_string());
            if let Some(e) = &st.failed {
                tracing::error!("cannot sync the journal: {e}");
            }
            self.done.notify_all();
        }
    }
}

impl Journal {
    /// Opens (creating if needed) the journal at `path` for appending. A
    /// journal it creates has its directory entries synced (its own, and its
    /// folder's). It masks nothing until [`Journal::with_masker`].
    pub fn open(path: &Path) -> io::Result<Journal> {
        let existed = path.exists();
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let mut dirs = Vec::new();
        if !existed {
            // The journal's entry in the run folder, and the run folder's
            // entry in `runs/`: synced with the first line (a directory
            // `fsync` costs milliseconds on some file systems).
            for dir in path.ancestors().skip(1).take(2) {
                dirs.push(if dir.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    dir.to_path_buf()
                });
            }
        }
        Self::with_file(file, dirs)
    }

    /// Opens an existing journal to continue it (`flow resume`): a torn
    /// last line (no final newline: the writer died mid-line, or a power
    /// cut left zeros) is cut off first, so the next line starts clean.
    pub fn open_for_resume(path: &Path) -> io::Result<Journal> {
        let mut file = OpenOptions::new().read(true).append(true).open(path)?;
        let len = file.metadata()?.len();
        let keep = whole_lines_len(&mut file, len)?;
        if keep < len {
            file.set_len(keep)?;
            file.sync_data()?;
        }
        Self::with_file(file, Vec::new())
    }

    fn with_file(file: File, dirs: Vec<PathBuf>) -> io::Result<Journal> {
        let sync = Arc::new(Syncer {
            state: Mutex::new(SyncState::default()),
            wake: Condvar::new(),
            done: Condvar::new(),
        });
        let (syncer, handle) = (sync.clone(), file.try_clone()?);
        std::thread::Builder::new()
            .name("journal-sync".into())
            .spawn(move || syncer.run(handle, dirs))?;
        Ok(Journal {
            file: Mutex::new(file),
            sync,
            masker: Masker::default(),
            tap: None,
        })
    }

    /// The journal masking every line with `masker` (the run's secrets).
    pub fn with_masker(mut self, masker: &Masker) -> Journal {
        self.masker = masker.for_json();
        self
    }

    /// The journal sending each line it writes to `tap` too, read back
    /// from the masked text (so the receiver sees no secret), after the
    /// write. A receiver that is gone is ignored. `None` sends nothing.
    pub fn with_tap(
        mut self,
        tap: Option<tokio::sync::mpsc::UnboundedSender<RunEvent>>,
    ) -> Journal {
        self.tap = tap;
        self
    }

    /// Appends one event (one `write`; see the module docs on durability).
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
        // Once `flow`'s warden died, the record ends where `flow` ended (the
        // engine's process is killing the run and exiting; see
        // `crate::warden`): checked under the lock, so no line follows.
        if crate::warden::is_gone() {
            return Err(io::Error::other("flow's warden process is gone"));
        }
        // O_APPEND + a single write keeps the line whole even if another
        // process appends too.
        f.write_all(&bytes)?;
        f.flush()?;
        self.sync.lock().written += 1;
        if let Some(tap) = &self.tap {
            // Under the file's lock: the receiver gets lines in file order.
            match serde_json::from_slice::<RunEvent>(&bytes) {
                Ok(line) => {
                    let _ = tap.send(line);
                }
                Err(e) => tracing::error!("cannot read back a journal line: {e}"),
            }
        }
        Ok(())
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
            if !crate::warden::is_gone() {
                tracing::error!("cannot write the journal: {e}");
            }
        }
    }

    /// A settle point: asks the syncer thread to `fdatasync` every line
    /// written so far, and returns at once.
    pub fn sync_soon(&self) {
        let mut st = self.sync.lock();
        st.requested = st.requested.max(st.written);
        // A syncer in its interval syncs everything written when it ends:
        // waking it would only cost a switch.
        if st.idle {
            self.sync.wake.notify_one();
        }
    }

    /// Waits until every line written so far is on disk.
    ///
    /// # Errors
    /// The `fdatasync` failed.
    pub fn sync(&self) -> io::Result<()> {
        let mut st = self.sync.lock();
        let target = st.written;
        st.requested = st.requested.max(target);
        st.waiting += 1;
        self.sync.wake.notify_one();
        while st.synced < target {
            st = self.sync.done.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        st.waiting -= 1;
        match &st.failed {
            Some(e) => Err(io::Error::other(e.clone())),
            None => Ok(()),
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.sync.lock().closed = true;
        self.sync.wake.notify_one();
    }
}

/// Length of the part of `file` (`len` bytes) that ends with its last
/// newline: what is left once a torn last line is cut off.
/// `fsync`s each folder (a new journal's entries, see [`Journal::open`]).
fn sync_dirs(dirs: &[PathBuf]) -> io::Result<()> {
    for dir in dirs {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn whole_lines_len(file: &mut File, len: u64) -> io::Result<u64> {
    const STEP: u64 = 64 * 1024;
    let mut end = len;
    let mut buf = vec![0u8; STEP as usize];
    while end > 0 {
        let from = end.saturating_sub(STEP);
        let n = (end - from) as usize;
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut buf[..n])?;
        if let Some(i) = buf[..n].iter().rposition(|b| *b == b'\n') {
            return Ok(from + i as u64 + 1);
        }
        end = from;
    }
    Ok(0)
}

/// Reads a journal back: one JSON value per non-empty line. A torn last line
/// (a crash mid-write) is ignored; a bad line elsewhere is an error.
pub fn read_journal(path: &Path) -> io::Result<Vec<serde_json::Value>> {
    let mut bytes = Vec::new();
    BufReader::new(File::open(path)?).read_to_end(&mut bytes)?;
    // Split on bytes: a line torn inside a UTF-8 character is still only
    // the torn last line.
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    let mut out = Vec::with_capacity(lines.len());
    let last = lines.len().saturating_sub(1);
    for (i, line) in lines.iter().enumerate() {
        if line.trim_ascii().is_empty() {
            continue;
        }
        match serde_json::from_slice(line) {
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

    /// A new journal's folder entries are synced with its first line (off
    /// the run's start), and a sync that cannot do it fails; an existing
    /// journal's are not synced again.
    #[test]
    fn a_new_journal_syncs_its_folders_with_the_first_line() {
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path().join("runs").join("r1");
        std::fs::create_dir_all(&run).unwrap();
        let event = JournalEvent::Warning {
            stage: None,
            message: "m".into(),
        };
        let j = Journal::open(&run.join("journal.jsonl")).unwrap();
        j.append(&event).unwrap();
        std::fs::remove_dir_all(tmp.path().join("runs")).unwrap();
        assert!(j.sync().is_err(), "the folders were synced at open");

        std::fs::create_dir_all(&run).unwrap();
        let path = run.join("journal.jsonl");
        drop(Journal::open(&path).unwrap());
        let j = Journal::open(&path).unwrap();
        j.append(&event).unwrap();
        std::fs::remove_dir_all(tmp.path().join("runs")).unwrap();
        j.sync().unwrap();
    }

    /// Issue 6: secrets appeared unmasked in the journal, also when JSON
    /// escapes them.
    /// The tap gets each line as written: masked, in order, typed again.
    #[test]
    fn the_tap_gets_each_line_masked_and_typed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let masker = Masker::new(&["canary-1234"]);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let j = Journal::open(&path)
            .unwrap()
            .with_masker(&masker)
            .with_tap(Some(tx));
        let finished = JournalEvent::StageFinished {
            stage: "s".into(),
            visit: 1,
            attempt: 2,
            exit_code: Some(3),
            signal: None,
            timed_out: false,
            idle: false,
            over_budget: false,
            cancelled: false,
            status: Some("canary-1234".into()),
            error: None,
            duration_ms: 5,
            usage: None,
            links: None,
        };
        j.append(&finished).unwrap();
        j.append(&JournalEvent::TimerFired { stage: "s".into() })
            .unwrap();
        let first = rx.try_recv().unwrap();
        let JournalEvent::StageFinished {
            status, exit_code, ..
        } = &first.event
        else {
            panic!("{first:?}");
        };
        assert_eq!((status.as_deref(), *exit_code), (Some("***"), Some(3)));
        assert!(first.ts.ends_with('Z'), "{}", first.ts);
        assert_eq!(
            rx.try_recv().unwrap().event,
            JournalEvent::TimerFired { stage: "s".into() }
        );
        assert!(rx.try_recv().is_err());
    }

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

    #[test]
    fn open_for_resume_cuts_a_torn_last_line_so_the_next_line_starts_clean() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("journal.jsonl");
        // A line torn inside a two-byte character, then zeros (a power cut).
        let mut bytes = b"{\"event\":\"a\"}\n{\"event\":\"b\xc3".to_vec();
        bytes.extend_from_slice(&[0; 100]);
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(read_journal(&path).unwrap().len(), 1);
        let j = Journal::open_for_resume(&path).unwrap();
        j.append(&JournalEvent::TimerFired { stage: "s".into() })
            .unwrap();
        j.sync().unwrap();
        let events = read_journal(&path).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1]["event"], "timer_fired");
        // A whole journal is left as it is.
        let before = std::fs::read(&path).unwrap();
        drop(Journal::open_for_resume(&path).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn many_settle_points_share_syncs_and_sync_waits_for_all() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("journal.jsonl");
        let j = Journal::open(&path).unwrap();
        for i in 0..500 {
            j.append(&JournalEvent::TimerFired {
                stage: format!("s{i}"),
            })
            .unwrap();
            j.sync_soon();
        }
        j.sync().unwrap();
        let st = j.sync.lock();
        assert_eq!(st.synced, 500);
        assert_eq!(st.written, 500);
        assert!((1..=500).contains(&st.syncs), "{} syncs", st.syncs);
    }
}
