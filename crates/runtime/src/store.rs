//! The run store: what `<base>/runs/*/journal.jsonl` says about the runs of
//! a project. It answers `runs(flow, state)` in expressions and admits runs
//! of a flow with `concurrency N`.
//!
//! Theory of operation. There is no registry besides the journals: a run's
//! state is read from the first line of its journal (`run_started`, with the
//! flow name and the `flow` process id) and from its last *lifecycle* event,
//! found by reading the journal's tail backwards:
//!
//! | last lifecycle event                    | state                          |
//! |-----------------------------------------|--------------------------------|
//! | `run_finished`                          | its outcome word (`succeeded`, `failed`, `skipped`, `cancelled`, `timed_out`, an `ends run` name) |
//! | `run_queued`                            | `pending`                      |
//! | `run_admitted`                          | `running`                      |
//! | `run_started`, other events after it    | `running`                      |
//! | `run_started`, nothing after it         | `starting` (evaluating `skip if`, not yet waiting or running) |
//!
//! A run that is not finished but whose process is gone is `interrupted`
//! instead (killed `flow`, power cut). Liveness is `kill(pid, 0)`; a reused
//! pid can make a dead run look alive, which only over-counts.
//!
//! Admission (`concurrency N`): under an exclusive `flock` on
//! `<base>/runs.lock` (beside `runs/`, which holds only run directories), a
//! run counts the `running` runs of its flow (itself excluded); below `N` it
//! journals `run_admitted` *before* releasing the lock, so decisions are
//! serialised and each one is visible to the next. A run that is `starting`
//! holds no slot: it has not decided yet, and will take the lock to do so.

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::kill;
use nix::unistd::Pid;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use flow_dsl::expr::{NoRuns, RunStore};

/// How much of a journal's end is read to find its last lifecycle event.
/// `run_finished` is always the last line; a window without any lifecycle
/// event means the run has progressed past them (stages running).
const TAIL_BYTES: u64 = 64 * 1024;

/// The states `runs(flow, state)` knows, besides outcome words (see the
/// module docs). Any other word counts finished runs with that outcome.
pub const STATES: &[&str] = &["running", "pending", "starting", "interrupted", "finished"];

/// Where a run is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    /// Started; `skip if` not yet decided, no slot asked for.
    Starting,
    /// Waiting for a `concurrency` slot.
    Pending,
    /// Admitted or running stages.
    Running,
    /// Not finished, and its `flow` process is gone.
    Interrupted,
    /// Finished with this outcome word.
    Finished(String),
}

impl RunState {
    /// Whether `runs(_, state)` counts a run in this state.
    pub fn matches(&self, state: &str) -> bool {
        match self {
            RunState::Starting => state == "starting",
            RunState::Pending => state == "pending",
            RunState::Running => state == "running",
            RunState::Interrupted => state == "interrupted",
            // An `ends run` name that collides with a state word above is
            // still found by `finished`.
            RunState::Finished(outcome) => {
                state == "finished" || (!STATES.contains(&state) && outcome == state)
            }
        }
    }
}

/// One run found in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEntry {
    /// The run id (its directory name).
    pub id: String,
    /// The flow it runs.
    pub flow: String,
    /// Its state now.
    pub state: RunState,
}

/// The answer of [`ProjectStore::take_slot`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Admitted (the admission was journaled under the lock).
    Taken,
    /// The flow is at its limit; this many of its runs are running.
    Busy {
        /// Running runs of the flow.
        running: i64,
    },
}

/// The run store of one project: the runs under `<base>/runs/`.
#[derive(Debug, Clone)]
pub struct RunDirStore {
    base: PathBuf,
}

impl RunDirStore {
    /// The store of the runs under `<base>/runs/` (`base` is `--runs-dir`,
    /// `.flow` by default).
    pub fn new(base: impl Into<PathBuf>) -> RunDirStore {
        RunDirStore { base: base.into() }
    }

    fn runs_dir(&self) -> PathBuf {
        self.base.join("runs")
    }

    /// Every readable run, in id (start time) order. Directories without a
    /// readable `run_started` line are not runs and are left out.
    pub fn runs(&self) -> Vec<RunEntry> {
        let Ok(read) = std::fs::read_dir(self.runs_dir()) else {
            return Vec::new();
        };
        let mut out: Vec<RunEntry> = read
            .filter_map(Result::ok)
            .filter_map(|e| {
                let id = e.file_name().to_string_lossy().into_owned();
                let (flow, state) = read_run(&e.path().join("journal.jsonl"))?;
                Some(RunEntry { id, flow, state })
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// Runs of `flow` in `state` (see the module docs), `except` the run
    /// with that id.
    pub fn count(&self, flow: &str, state: &str, except: Option<&str>) -> i64 {
        self.runs()
            .iter()
            .filter(|r| r.flow == flow && Some(r.id.as_str()) != except && r.state.matches(state))
            .count() as i64
    }

    /// The exclusive project lock, released when dropped.
    fn lock(&self) -> io::Result<Flock<File>> {
        std::fs::create_dir_all(&self.base)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.base.join("runs.lock"))?;
        Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| io::Error::from(errno))
    }
}

impl RunStore for RunDirStore {
    fn count_runs(&self, flow: &str, state: &str) -> i64 {
        self.count(flow, state, None)
    }
}

/// What a run asks of the other runs of its project, through one object:
/// how many are in a state (`runs(flow, state)` in expressions, the
/// [`RunStore`] part) and a `concurrency` slot. Both answers come from the
/// same store, so what `runs()` counts and what admission counts agree.
pub trait ProjectStore: RunStore {
    /// Asks for one of `limit` slots of `flow` for the run `own_id`; calls
    /// `admit` (which journals `run_admitted`) while the slot is held.
    fn take_slot(
        &self,
        flow: &str,
        own_id: &str,
        limit: u32,
        admit: &mut dyn FnMut() -> io::Result<()>,
    ) -> io::Result<Slot>;
}

impl ProjectStore for RunDirStore {
    fn take_slot(
        &self,
        flow: &str,
        own_id: &str,
        limit: u32,
        admit: &mut dyn FnMut() -> io::Result<()>,
    ) -> io::Result<Slot> {
        // Under the project lock: count the other running runs of `flow`;
        // below `limit`, admit while still holding it, so two runs never
        // both see a free slot. Blocks while another run holds the lock (a
        // few milliseconds: one scan).
        let _lock = self.lock()?;
        let running = self.count(flow, "running", Some(own_id));
        if running < i64::from(limit) {
            admit()?;
            Ok(Slot::Taken)
        } else {
            Ok(Slot::Busy { running })
        }
    }
}

/// A run alone in its world: `runs()` answers 0 and a slot is always free
/// (`admit` is still called, so the journal reads the same).
impl ProjectStore for NoRuns {
    fn take_slot(
        &self,
        _flow: &str,
        _own_id: &str,
        _limit: u32,
        admit: &mut dyn FnMut() -> io::Result<()>,
    ) -> io::Result<Slot> {
        admit()?;
        Ok(Slot::Taken)
    }
}

/// The flow and state of the run whose journal is `path`; `None` when it is
/// not a run journal (no readable `run_started` first line).
fn read_run(path: &Path) -> Option<(String, RunState)> {
    let mut file = File::open(path).ok()?;
    let mut first = String::new();
    BufReader::new(&mut file).read_line(&mut first).ok()?;
    let start: serde_json::Value = serde_json::from_str(first.trim_end()).ok()?;
    if start["event"] != "run_started" {
        return None;
    }
    let flow = start["flow"].as_str()?.to_string();
    let pid = start["pid"].as_u64();
    let state = match last_lifecycle(&mut file).ok()? {
        Some(finished @ RunState::Finished(_)) => finished,
        state => {
            if pid.is_some_and(|p| !alive(p)) {
                RunState::Interrupted
            } else {
                state.unwrap_or(RunState::Running)
            }
        }
    };
    Some((flow, state))
}

/// The state told by the last lifecycle event in the journal's tail;
/// `None` when the tail holds none (the run is past them: running).
fn last_lifecycle(file: &mut File) -> io::Result<Option<RunState>> {
    let len = file.metadata()?.len();
    let from = len.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(from))?;
    let mut tail = Vec::with_capacity((len - from) as usize);
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
        match event["event"].as_str().unwrap_or("") {
            "run_finished" => {
                let outcome = event["outcome"].as_str().unwrap_or("failed");
                return Ok(Some(RunState::Finished(outcome.to_string())));
            }
            "run_queued" => return Ok(Some(RunState::Pending)),
            "run_admitted" => return Ok(Some(RunState::Running)),
            "run_started" if progressed => return Ok(Some(RunState::Running)),
            "run_started" => return Ok(Some(RunState::Starting)),
            // run_skipped, run_timed_out: not a change of state by itself.
            _ => progressed = true,
        }
    }
    Ok(None)
}

/// Whether process `pid` exists (`kill(pid, 0)`; EPERM means it exists but
/// belongs to someone else). A pid that cannot name one process (0, or out
/// of range) is taken as alive: nothing is known.
fn alive(pid: u64) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return true;
    };
    if raw <= 0 {
        return true;
    }
    !matches!(kill(Pid::from_raw(raw), None), Err(Errno::ESRCH))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A pid that names no process: a child that has exited and been reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    fn line(event: serde_json::Value) -> String {
        let mut v = json!({"ts": "2026-11-21T02:53:00.000Z"});
        v.as_object_mut()
            .unwrap()
            .extend(event.as_object().unwrap().clone());
        format!("{v}\n")
    }

    /// Writes `<base>/runs/<id>/journal.jsonl`: `run_started` then `events`.
    fn write_run(base: &Path, id: &str, flow: &str, pid: u32, events: &[serde_json::Value]) {
        let dir = base.join("runs").join(id);
        std::fs::create_dir_all(&dir).unwrap();
        let mut text = line(json!({"event": "run_started", "flow": flow, "run_id": id,
            "nonce": "abcdef", "params": {}, "file": null, "pid": pid}));
        for e in events {
            text.push_str(&line(e.clone()));
        }
        std::fs::write(dir.join("journal.jsonl"), text).unwrap();
    }

    fn finished(outcome: &str) -> serde_json::Value {
        json!({"event": "run_finished", "outcome": outcome, "reason": null, "duration_ms": 5})
    }

    fn stage_started() -> serde_json::Value {
        json!({"event": "stage_started", "stage": "a", "visit": 1, "attempt": 1, "pid": 1, "dir": "x"})
    }

    fn queued() -> serde_json::Value {
        json!({"event": "run_queued", "concurrency": 1, "running": 1})
    }

    #[test]
    fn store_reads_each_state_from_synthetic_journals() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path();
        let me = std::process::id();
        let dead = dead_pid();
        write_run(
            base,
            "01-ok",
            "f",
            dead,
            &[stage_started(), finished("succeeded")],
        );
        write_run(
            base,
            "02-bad",
            "f",
            me,
            &[stage_started(), finished("failed")],
        );
        write_run(base, "03-shipped", "f", dead, &[finished("shipped")]);
        write_run(base, "04-run", "f", me, &[stage_started()]);
        write_run(base, "05-start", "f", me, &[]);
        write_run(base, "06-queued", "f", me, &[queued()]);
        write_run(
            base,
            "07-admitted",
            "f",
            me,
            &[queued(), json!({"event": "run_admitted", "waited_ms": 300})],
        );
        write_run(base, "08-dead", "f", dead, &[stage_started()]);
        write_run(base, "09-dead-queued", "f", dead, &[queued()]);
        write_run(base, "10-other", "g", me, &[stage_started()]);
        // Not runs: no journal, a torn first line.
        std::fs::create_dir_all(base.join("runs/11-empty")).unwrap();
        std::fs::create_dir_all(base.join("runs/12-torn")).unwrap();
        std::fs::write(
            base.join("runs/12-torn/journal.jsonl"),
            "{\"event\":\"run_st",
        )
        .unwrap();

        let store = RunDirStore::new(base);
        let count = |state| store.count_runs("f", state);
        assert_eq!(count("running"), 2, "04-run, 07-admitted");
        assert_eq!(count("pending"), 1);
        assert_eq!(count("starting"), 1);
        assert_eq!(count("interrupted"), 2, "a dead pid is not running");
        assert_eq!(count("succeeded"), 1);
        assert_eq!(count("failed"), 1);
        assert_eq!(count("shipped"), 1);
        assert_eq!(count("finished"), 3);
        assert_eq!(count("cancelled"), 0);
        assert_eq!(count("no-such-state"), 0);
        assert_eq!(store.count_runs("g", "running"), 1);
        assert_eq!(store.count_runs("nobody", "running"), 0);
        assert_eq!(store.count("f", "running", Some("04-run")), 1);
        let ids: Vec<String> = store.runs().into_iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), 10, "{ids:?}");
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn store_reads_only_the_tail_of_long_journals() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path();
        let me = std::process::id();
        let many: Vec<serde_json::Value> = (0..2000).map(|_| stage_started()).collect();
        write_run(base, "01-long-running", "f", me, &many);
        let mut done = many.clone();
        done.push(finished("timed_out"));
        write_run(base, "02-long-done", "f", me, &done);
        let len = std::fs::metadata(base.join("runs/01-long-running/journal.jsonl"))
            .unwrap()
            .len();
        assert!(len > TAIL_BYTES, "the journal must exceed the tail window");
        let store = RunDirStore::new(base);
        assert_eq!(store.count_runs("f", "running"), 1);
        assert_eq!(store.count_runs("f", "timed_out"), 1);
    }

    #[test]
    fn store_admits_below_the_limit_and_journals_under_the_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path();
        let me = std::process::id();
        write_run(base, "01-busy", "f", me, &[stage_started()]);
        write_run(base, "02-me", "f", me, &[]);
        let store = RunDirStore::new(base);
        let mut called = false;
        let slot = store
            .take_slot("f", "02-me", 1, &mut || {
                called = true;
                Ok(())
            })
            .unwrap();
        assert_eq!(slot, Slot::Busy { running: 1 });
        assert!(!called);
        let journal =
            crate::journal::Journal::open(&base.join("runs/02-me/journal.jsonl")).unwrap();
        let slot = store
            .take_slot("f", "02-me", 2, &mut || {
                journal.append(&crate::journal::JournalEvent::RunAdmitted { waited_ms: 0 })
            })
            .unwrap();
        assert_eq!(slot, Slot::Taken);
        assert_eq!(store.count_runs("f", "running"), 2);
        assert!(base.join("runs.lock").is_file());
    }
}
