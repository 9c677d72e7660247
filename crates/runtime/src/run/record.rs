//! A run's journal read back for `flow resume`: how it started, and every
//! input its scheduler consumed, in order, cut into *segments* (the first
//! `flow` process, then one per `flow resume`).

use flow_dsl::ir::{Pipeline, StageId};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use std::time::Duration;

use crate::journal::{read_journal, WhenAnswer};
use crate::scheduler::AttemptResult;

/// The `run_started` line.
#[derive(Debug, Clone)]
pub struct Started {
    /// Flow name.
    pub flow: String,
    /// Run id.
    pub run_id: String,
    /// Run nonce.
    pub nonce: String,
    /// The `.flow` file, as recorded.
    pub file: Option<String>,
    /// Param values as recorded (typed JSON).
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Source file → SHA-256 (empty for runs recorded before sources were).
    pub sources: BTreeMap<String, String>,
}

/// A run's journal, read back.
#[derive(Debug)]
pub struct RunRecord {
    /// How it started.
    pub started: Started,
    /// One per `flow` process that drove the run, in order.
    pub(super) segments: Vec<Segment>,
}

/// What one `flow` process of the run consumed.
#[derive(Debug, Default)]
pub(super) struct Segment {
    /// The inputs, in the order the scheduler consumed them.
    pub inputs: Vec<Input>,
    /// Recorded `when` answers per stage, in order.
    pub answers: HashMap<usize, VecDeque<WhenAnswer>>,
    /// How it ended (`run_finished.outcome`), if it did.
    pub finished: Option<String>,
}

/// One scheduler input.
#[derive(Debug)]
pub(super) enum Input {
    /// `stage_finished`.
    Finished {
        stage: StageId,
        visit: u32,
        attempt: u32,
        result: AttemptResult,
        duration: Duration,
        /// Killed by the run's cancel or timeout: never replayed.
        cancelled: bool,
        /// What an agent used in it, as journaled.
        usage: Option<Box<crate::usage::Usage>>,
    },
    /// `timer_fired`.
    Timer { stage: StageId },
    /// `cancel_requested` or `run_timed_out`: never replayed.
    Interrupt,
}

impl RunRecord {
    /// Reads `<run_root>/journal.jsonl`. A torn last line is ignored; a
    /// line for a stage `pipeline` does not have is dropped.
    ///
    /// # Errors
    /// The journal cannot be read, holds a bad line before the last, or
    /// does not start with `run_started`.
    pub fn read(run_root: &Path, pipeline: Option<&Pipeline>) -> std::io::Result<RunRecord> {
        let lines = read_journal(&run_root.join("journal.jsonl"))?;
        let bad = |what: &str| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {what}", run_root.join("journal.jsonl").display()),
            )
        };
        let first = lines.first().ok_or_else(|| bad("empty journal"))?;
        if first["event"] != "run_started" {
            return Err(bad("the first line is not `run_started`"));
        }
        let text = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
        let started = Started {
            flow: text(first, "flow"),
            run_id: text(first, "run_id"),
            nonce: text(first, "nonce"),
            file: first["file"].as_str().map(str::to_string),
            params: first["params"].as_object().cloned().unwrap_or_default(),
            sources: first["sources"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default(),
        };
        let ids: HashMap<&str, StageId> = pipeline
            .map(|p| p.stages.iter().map(|s| (s.name.as_str(), s.id)).collect())
            .unwrap_or_default();
        let stage = |v: &serde_json::Value| ids.get(v["stage"].as_str()?).copied();
        let mut segments = vec![Segment::default()];
        for line in &lines[1..] {
            let seg = segments.last_mut().expect("one segment at least");
            match line["event"].as_str().unwrap_or_default() {
                "stage_finished" => {
                    let Some(stage) = stage(line) else { continue };
                    let num = |k: &str| line[k].as_u64().unwrap_or(0);
                    seg.inputs.push(Input::Finished {
                        stage,
                        visit: u32::try_from(num("visit")).unwrap_or(u32::MAX),
                        attempt: u32::try_from(num("attempt")).unwrap_or(u32::MAX),
                        result: AttemptResult {
                            exit_code: line["exit_code"]
                                .as_i64()
                                .and_then(|c| i32::try_from(c).ok()),
                            timed_out: line["timed_out"].as_bool().unwrap_or(false),
                            idle: line["idle"].as_bool().unwrap_or(false),
                            over_budget: line["over_budget"].as_bool().unwrap_or(false),
                            status: line["status"].as_str().map(str::to_string),
                            error: line["error"].as_str().map(str::to_string),
                        },
                        duration: Duration::from_millis(num("duration_ms")),
                        cancelled: line["cancelled"].as_bool().unwrap_or(false),
                        usage: crate::usage::Usage::from_value(&line["usage"]).map(Box::new),
                    });
                }
                "timer_fired" => {
                    if let Some(stage) = stage(line) {
                        seg.inputs.push(Input::Timer { stage });
                    }
                }
                "cancel_requested" | "run_timed_out" => seg.inputs.push(Input::Interrupt),
                "when_evaluated" => {
                    if let (Some(id), Some(answer)) = (stage(line), WhenAnswer::from_json(line)) {
                        seg.answers.entry(id.0).or_default().push_back(answer);
                    }
                }
                "run_finished" => seg.finished = line["outcome"].as_str().map(str::to_string),
                "run_resumed" => {
                    // The answers its replay had to evaluate belong to the
                    // segment it closes.
                    for a in line["when_answers"].as_array().into_iter().flatten() {
                        if let (Some(id), Some(answer)) = (stage(a), WhenAnswer::from_json(a)) {
                            seg.answers.entry(id.0).or_default().push_back(answer);
                        }
                    }
                    segments.push(Segment::default());
                }
                _ => {}
            }
        }
        Ok(RunRecord { started, segments })
    }

    /// How the run last ended (`run_finished` after the last resume), if
    /// it did.
    pub fn outcome(&self) -> Option<&str> {
        self.segments.last().and_then(|s| s.finished.as_deref())
    }
}
