//! One run's story, read from its journal: what `flow show` prints and
//! `flow logs` follows. Nothing here is read from the index.

use serde::Serialize;
use std::io;
use std::path::{Path, PathBuf};

use super::state::RunState;
use crate::journal::read_journal;
use crate::runlock::RunLock;
use crate::usage::Usage;

/// A run as its journal tells it.
#[derive(Debug, Clone, Serialize)]
pub struct RunHistory {
    /// Run id.
    pub id: String,
    /// Flow name.
    pub flow: String,
    /// `starting`, `pending`, `running`, `interrupted` or `finished`.
    pub state: &'static str,
    /// Outcome word once finished (`succeeded`, `failed`, …).
    pub outcome: Option<String>,
    /// Why it ended so (the failed stage), if the journal says.
    pub reason: Option<String>,
    /// `run_started`'s time (RFC 3339).
    pub started: Option<String>,
    /// `run_finished`'s time (RFC 3339).
    pub finished: Option<String>,
    /// Wall time of a finished run.
    pub duration_ms: Option<u64>,
    /// Param values.
    pub params: serde_json::Value,
    /// The `.flow` file.
    pub file: Option<String>,
    /// The submission's dedupe key (`flow serve`).
    pub key: Option<String>,
    /// The run whose stage submitted this one.
    pub parent: Option<String>,
    /// The submission's description (markdown).
    pub description: Option<String>,
    /// Every link the stages set (`status json`'s `links`), the latest
    /// attempt's value winning for a name.
    pub links: std::collections::BTreeMap<String, String>,
    /// `<base>/runs/<id>`.
    pub dir: PathBuf,
    /// Stages in the order the journal first mentions them (a stage the
    /// run never reached is absent).
    pub stages: Vec<StageHistory>,
    /// What the run's agent stages used, summed over every attempt
    /// (absent when none reported it; see [`crate::usage`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// The flow's `alert`s as the run recorded them (`run_started`); one
    /// that a newer flow cannot read is left out.
    #[serde(skip)]
    pub alerts: Vec<flow_dsl::ir::Alert>,
}

/// One stage of a run.
#[derive(Debug, Clone, Serialize)]
pub struct StageHistory {
    /// Stage name.
    pub name: String,
    /// `succeeded`, `failed`, `skipped`; `running` while an attempt runs,
    /// `waiting` between attempts; the last settled visit's outcome.
    pub outcome: String,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
    /// A route took the failure.
    pub handled: bool,
    /// `allow_failure` applied.
    pub allowed: bool,
    /// Visits (1 unless a route came back to it).
    pub visits: u32,
    /// Sum of the attempts' wall times.
    pub duration_ms: u64,
    /// Every attempt, in order.
    pub attempts: Vec<AttemptHistory>,
    /// Files under `artifacts/<stage>/`, relative to it, sorted.
    pub artifacts: Vec<String>,
    /// Links its attempts set (`status json`'s `links`), latest winning.
    pub links: std::collections::BTreeMap<String, String>,
}

/// One attempt of a stage.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptHistory {
    /// 1-based visit.
    pub visit: u32,
    /// 1-based attempt within the visit.
    pub attempt: u32,
    /// When its process started (RFC 3339), if it did.
    pub started: Option<String>,
    /// Whether it has ended.
    pub finished: bool,
    /// Exit code, if the process exited.
    pub exit_code: Option<i32>,
    /// Terminating signal, if killed.
    pub signal: Option<i32>,
    /// `status json`'s status.
    pub status: Option<String>,
    /// Hit the stage timeout.
    pub timed_out: bool,
    /// The limit it hit was `idle` (no output for that long).
    pub idle: bool,
    /// It crossed a `budget`.
    pub over_budget: bool,
    /// Killed because the run was cancelled or timed out.
    pub cancelled: bool,
    /// Why it could not run.
    pub error: Option<String>,
    /// Wall time, once ended.
    pub duration_ms: Option<u64>,
    /// `logs/<stage>.<visit>.<attempt>.log`.
    pub log: PathBuf,
    /// What an agent used in it, if the stage reported it: `cost_usd`,
    /// `input_tokens`, `output_tokens`, `turns`, `model`, `session_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

impl AttemptHistory {
    /// How it ended, in a few words: `exit 0`, `status "DONE"`, `timed
    /// out`, `signal 9`, `cancelled`, `error: …`, or `running`.
    pub fn result_text(&self) -> String {
        if !self.finished {
            return "running".into();
        }
        if let Some(e) = &self.error {
            return format!("error: {e}");
        }
        if self.over_budget {
            return "over budget".into();
        }
        if self.idle {
            return "no output for too long (idle)".into();
        }
        if self.timed_out {
            return "timed out".into();
        }
        if self.cancelled {
            return "cancelled".into();
        }
        match (&self.status, self.exit_code, self.signal) {
            (Some(s), _, _) => format!("status {s:?}"),
            (None, Some(code), _) => format!("exit {code}"),
            (None, None, Some(sig)) => format!("signal {sig}"),
            _ => "ended".into(),
        }
    }
}

impl RunHistory {
    /// Reads the run in `run_root` from its journal (a torn last line is
    /// ignored) and lists its artifacts. Liveness is its lock.
    ///
    /// # Errors
    /// The journal cannot be read or is not a run's journal.
    pub fn read(run_root: &Path) -> io::Result<RunHistory> {
        let events = read_journal(&run_root.join("journal.jsonl"))?;
        let start = events
            .first()
            .filter(|e| e["event"] == "run_started")
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: no run_started line", run_root.display()),
                )
            })?;
        let text = |v: &serde_json::Value, k: &str| v[k].as_str().map(str::to_string);
        let mut run = RunHistory {
            id: text(start, "run_id").unwrap_or_else(|| dir_name(run_root)),
            flow: text(start, "flow").unwrap_or_default(),
            state: "starting",
            outcome: None,
            reason: None,
            started: text(start, "ts"),
            finished: None,
            duration_ms: None,
            params: start["params"].clone(),
            file: text(start, "file"),
            key: text(start, "key"),
            parent: text(start, "parent"),
            description: text(start, "description"),
            links: std::collections::BTreeMap::new(),
            dir: run_root.to_path_buf(),
            stages: Vec::new(),
            usage: None,
            alerts: start["alerts"]
                .as_array()
                .map(|all| {
                    all.iter()
                        .filter_map(|a| serde_json::from_value(a.clone()).ok())
                        .collect()
                })
                .unwrap_or_default(),
        };
        let mut recorded = RunState::Starting;
        for e in &events[1..] {
            let stage = e["stage"].as_str().unwrap_or("");
            match e["event"].as_str().unwrap_or("") {
                "run_queued" => recorded = RunState::Pending,
                "run_admitted" | "run_resumed" => recorded = RunState::Running,
                "run_finished" => {
                    let outcome = text(e, "outcome").unwrap_or_else(|| "failed".into());
                    recorded = RunState::Finished(outcome.clone());
                    run.outcome = Some(outcome);
                    run.reason = text(e, "reason");
                    run.finished = text(e, "ts");
                    run.duration_ms = e["duration_ms"].as_u64();
                }
                "stage_started" => {
                    recorded = RunState::Running;
                    let a = run.attempt(run_root, stage, e);
                    a.started = text(e, "ts");
                    run.stage(stage).outcome = "running".into();
                }
                "approval_requested" => {
                    // An approval stage waits for a decision, not a process.
                    run.stage(stage).outcome = "waiting".into();
                }
                "stage_finished" => {
                    let a = run.attempt(run_root, stage, e);
                    a.finished = true;
                    a.exit_code = e["exit_code"].as_i64().and_then(|c| i32::try_from(c).ok());
                    a.signal = e["signal"].as_i64().and_then(|c| i32::try_from(c).ok());
                    a.status = text(e, "status");
                    a.timed_out = e["timed_out"].as_bool().unwrap_or(false);
                    a.idle = e["idle"].as_bool().unwrap_or(false);
                    a.over_budget = e["over_budget"].as_bool().unwrap_or(false);
                    a.cancelled = e["cancelled"].as_bool().unwrap_or(false);
                    a.error = text(e, "error");
                    a.duration_ms = e["duration_ms"].as_u64();
                    a.usage = Usage::from_value(&e["usage"]);
                    let ms = a.duration_ms.unwrap_or(0);
                    let links: Vec<(String, String)> = e["links"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect();
                    run.links.extend(links.iter().cloned());
                    let s = run.stage(stage);
                    s.links.extend(links);
                    s.duration_ms = s.duration_ms.saturating_add(ms);
                    s.outcome = "waiting".into();
                }
                "stage_settled" | "stage_skipped" => {
                    let s = run.stage(stage);
                    s.outcome = text(e, "outcome").unwrap_or_else(|| "skipped".into());
                    s.reason = text(e, "reason");
                    s.handled = e["handled"].as_bool().unwrap_or(false);
                    s.allowed = e["allowed"].as_bool().unwrap_or(false);
                }
                _ => {}
            }
        }
        let state = match recorded {
            finished @ RunState::Finished(_) => finished,
            _ if !RunLock::is_held(run_root) => RunState::Interrupted,
            alive => alive,
        };
        run.state = match state {
            RunState::Queued => "queued",
            RunState::Starting => "starting",
            RunState::Pending => "pending",
            RunState::Running => "running",
            RunState::Interrupted => "interrupted",
            RunState::Finished(_) => "finished",
        };
        run.usage = Usage::total(
            run.stages
                .iter()
                .flat_map(|s| &s.attempts)
                .filter_map(|a| a.usage.as_ref()),
        );
        for s in &mut run.stages {
            s.visits = s.attempts.iter().map(|a| a.visit).max().unwrap_or(0);
            s.artifacts = list_files(&run_root.join("artifacts").join(&s.name));
            if state == RunState::Interrupted && matches!(s.outcome.as_str(), "running" | "waiting")
            {
                s.outcome = "interrupted".into();
            }
        }
        Ok(run)
    }

    /// Whether the run is still driven by a live process.
    pub fn is_alive(&self) -> bool {
        matches!(self.state, "starting" | "pending" | "running")
    }

    /// The stage named `name`, added when new.
    fn stage(&mut self, name: &str) -> &mut StageHistory {
        let i = match self.stages.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                self.stages.push(StageHistory {
                    name: name.to_string(),
                    outcome: "waiting".into(),
                    reason: None,
                    handled: false,
                    allowed: false,
                    visits: 0,
                    duration_ms: 0,
                    attempts: Vec::new(),
                    artifacts: Vec::new(),
                    links: std::collections::BTreeMap::new(),
                });
                self.stages.len() - 1
            }
        };
        &mut self.stages[i]
    }

    /// The attempt an event names, added when new.
    fn attempt(&mut self, root: &Path, stage: &str, e: &serde_json::Value) -> &mut AttemptHistory {
        let number = |k: &str| {
            e[k].as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(1)
        };
        let (visit, attempt) = (number("visit"), number("attempt"));
        let s = self.stage(stage);
        let i = match s
            .attempts
            .iter()
            .position(|a| a.visit == visit && a.attempt == attempt)
        {
            Some(i) => i,
            None => {
                s.attempts.push(AttemptHistory {
                    visit,
                    attempt,
                    started: None,
                    finished: false,
                    exit_code: None,
                    signal: None,
                    status: None,
                    timed_out: false,
                    idle: false,
                    over_budget: false,
                    cancelled: false,
                    error: None,
                    duration_ms: None,
                    usage: None,
                    log: crate::rundir::log_file(root, stage, visit, attempt),
                });
                s.attempts.len() - 1
            }
        };
        &mut s.attempts[i]
    }
}

fn dir_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Regular files and symlinks below `dir`, relative and sorted; links are
/// listed, never followed.
fn list_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        let Ok(read) = std::fs::read_dir(dir.join(&rel)) else {
            continue;
        };
        for entry in read.flatten() {
            let rel = rel.join(entry.file_name());
            match entry.file_type() {
                Ok(t) if t.is_dir() => todo.push(rel),
                Ok(_) => out.push(rel.to_string_lossy().into_owned()),
                Err(_) => {}
            }
        }
    }
    out.sort();
    out
}
