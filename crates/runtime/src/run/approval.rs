//! An `approval` stage: instead of a process, a wait for a person's
//! decision (docs/language.md "Approval").
//!
//! The wait holds no job slot. It journals `stage_started` (no pid) and
//! `approval_requested` (the decisions, which `flow approve` checks), then
//! looks for `approvals/<stage>.json` every [`POLL`] until the stage's
//! `timeout`, a cancel, or a decision. A decision becomes the attempt's
//! status (exit 0): `on status "approved"` routes it, `stages.S.status`
//! reads it. `decision.json`, `message.md` (when a message was given) and
//! `result.json` become the stage's artifacts, so a stage that needs it
//! gets the reviewer's words. Once read, the file is replaced by
//! `<stage>.<visit>.<attempt>.json` with the run's secrets masked (`flow
//! approve` cannot know them; a reviewer may quote one), so a later visit
//! waits for a new decision. A decision written while no `flow` runs
//! (the run died) is read by `flow resume` as soon as the stage waits again.

use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};
use tokio::sync::watch;

use super::attempt::{AttemptShared, Msg};
use crate::artifacts::{self, OutputSpec};
use crate::journal::JournalEvent;
use crate::process::AttemptReport;
use flow_dsl::ir::StageId;

/// The largest decision file read (a message is text for a person).
const MAX_DECISION_BYTES: u64 = 1 << 20;

/// How often the decision file is looked for.
pub(super) const POLL: Duration = Duration::from_millis(200);

/// Everything one wait needs.
pub(super) struct ApprovalJob {
    pub stage: StageId,
    pub name: String,
    pub visit: u32,
    pub attempt: u32,
    pub decisions: Vec<String>,
    pub timeout: Option<Duration>,
    /// The run's id, for the notice's command line.
    pub run_id: String,
    /// `approvals/<stage>.json`.
    pub decision_file: PathBuf,
    /// The attempt's folder (where the artifacts are written first).
    pub cwd: PathBuf,
    /// `artifacts/<stage>/`.
    pub artifacts: PathBuf,
    /// Staging beside it.
    pub staging: PathBuf,
}

/// A decision read from its file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decision {
    pub decision: String,
    pub message: Option<String>,
    pub by: Option<String>,
}

impl Decision {
    /// Reads a decision file: `None` while there is none; `Err` when it
    /// is not a decision object.
    pub(crate) fn read(path: &Path) -> Option<Result<Decision, String>> {
        // Only a small regular file is opened: a FIFO would block the wait
        // (and the event loop) for good, a link could point anywhere.
        match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => return Some(Err(format!("cannot read {}: {e}", path.display()))),
            Ok(m) if !m.is_file() => {
                return Some(Err(format!("{} is not a regular file", path.display())))
            }
            Ok(m) if m.len() > MAX_DECISION_BYTES => {
                return Some(Err(format!("{} is larger than 1 MiB", path.display())))
            }
            Ok(_) => {}
        }
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => return Some(Err(format!("cannot read {}: {e}", path.display()))),
        };
        let value: Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => return Some(Err(format!("{} is not JSON: {e}", path.display()))),
        };
        let text = |k: &str| value.get(k).and_then(Value::as_str).map(str::to_string);
        Some(match text("decision") {
            Some(decision) => Ok(Decision {
                decision,
                message: text("message").filter(|m| !m.is_empty()),
                by: text("by"),
            }),
            None => Err(format!("{} has no \"decision\"", path.display())),
        })
    }
}

/// Waits for the decision (see the module docs) and reports the end to the
/// driver like an attempt.
pub(super) async fn wait(job: ApprovalJob, shared: AttemptShared, mut kill: watch::Receiver<bool>) {
    let started = Instant::now();
    let report = match prepare(&job, &shared) {
        Err(e) => AttemptReport::failed(e),
        Ok(()) => {
            let deadline = job.timeout.map(|t| tokio::time::Instant::now() + t);
            let mut report = AttemptReport::default();
            loop {
                if *kill.borrow() {
                    report.cancelled = true;
                    break;
                }
                match Decision::read(&job.decision_file) {
                    Some(Ok(d)) if job.decisions.contains(&d.decision) => {
                        report = decided(&job, &shared, d).await;
                        break;
                    }
                    Some(Ok(d)) => set_aside(
                        &job,
                        &shared,
                        format!(
                            "`{}` is not one of its decisions ({})",
                            d.decision,
                            job.decisions.join(", ")
                        ),
                    ),
                    Some(Err(e)) => set_aside(&job, &shared, e),
                    None => {}
                }
                let expired = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(d).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    () = tokio::time::sleep(POLL) => {}
                    () = expired => {
                        report.timed_out = true;
                        break;
                    }
                    _ = kill.changed() => {}
                }
            }
            report
        }
    };
    let report = AttemptReport {
        duration: started.elapsed(),
        ..report
    };
    let _ = shared.tx.send(Msg::Finished {
        stage: job.stage,
        visit: job.visit,
        attempt: job.attempt,
        report: Box::new(report),
        outputs_failed: None,
    });
}

/// The folder, the journal lines and the notice of a wait that begins.
fn prepare(job: &ApprovalJob, shared: &AttemptShared) -> Result<(), String> {
    artifacts::prepare_attempt_dir(&job.cwd, &[])
        .map_err(|e| format!("cannot prepare {}: {e}", job.cwd.display()))?;
    shared.journal.record(&JournalEvent::StageStarted {
        stage: job.name.clone(),
        visit: job.visit,
        attempt: job.attempt,
        pid: None,
        dir: job.cwd.to_string_lossy().into_owned(),
    });
    shared.journal.record(&JournalEvent::ApprovalRequested {
        stage: job.name.clone(),
        visit: job.visit,
        attempt: job.attempt,
        decisions: job.decisions.clone(),
    });
    shared.sink.notice(&format!(
        "⏸ {} waits for a decision ({}): flow approve {} {} --decision WORD [--message TEXT]",
        job.name,
        job.decisions.join(", "),
        job.run_id,
        job.name
    ));
    Ok(())
}

/// Moves the decision file `from` to `to`, with the run's secrets masked
/// when it is a small regular file (its text is copied masked, then
/// `from` removed); anything else (a FIFO, a link, a huge file) is only
/// renamed, never opened. Best effort: the wait must go on either way.
fn keep_masked(from: &Path, to: &Path, shared: &AttemptShared) {
    let small_file = std::fs::symlink_metadata(from)
        .is_ok_and(|m| m.file_type().is_file() && m.len() <= MAX_DECISION_BYTES);
    // `to` may be an earlier decision set aside (a FIFO even): replaced,
    // never opened; `create_new` refuses whatever is there now.
    let write_new = |text: &[u8]| {
        use std::io::Write;
        let _ = std::fs::remove_file(to);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(to)
            .and_then(|mut f| f.write_all(text))
    };
    let copied = small_file
        && std::fs::read(from)
            .and_then(|text| write_new(&shared.masker.mask(&text)))
            .is_ok();
    if copied {
        let _ = std::fs::remove_file(from);
    } else {
        let _ = std::fs::rename(from, to);
    }
}

/// A decision file that cannot be taken: a warning, and the file moved to
/// `<stage>.json.rejected` so the wait goes on for a good one.
fn set_aside(job: &ApprovalJob, shared: &AttemptShared, why: String) {
    let mut aside = job.decision_file.clone().into_os_string();
    aside.push(".rejected");
    keep_masked(&job.decision_file, Path::new(&aside), shared);
    let message = shared
        .masker
        .mask_str(&format!("decision ignored: {why}"))
        .into_owned();
    shared.journal.record(&JournalEvent::Warning {
        stage: Some(job.name.clone()),
        message: message.clone(),
    });
    shared.sink.notice(&format!("⚠ {}: {message}", job.name));
}

/// The attempt's end for a decision: its files collected as artifacts,
/// the decision file renamed, status = the decision.
async fn decided(job: &ApprovalJob, shared: &AttemptShared, d: Decision) -> AttemptReport {
    let mask = |t: &str| shared.masker.mask_str(t).into_owned();
    let message = d.message.as_deref().map(mask);
    let mut result = Map::new();
    result.insert("status".into(), Value::String(d.decision.clone()));
    if let Some(m) = &message {
        result.insert("message".into(), Value::String(m.clone()));
    }
    if let Some(by) = &d.by {
        result.insert("by".into(), Value::String(mask(by)));
    }
    let mut report = AttemptReport {
        exit_code: Some(0),
        status_json: Some(result.clone()),
        ..AttemptReport::default()
    };
    let files = write_files(&job.cwd, &result, message.as_deref())
        .map_err(|e| format!("cannot write the decision's files: {e}"));
    let collected = match files {
        Err(e) => Err(e),
        Ok(()) => {
            let (cwd, dest, staging) =
                (job.cwd.clone(), job.artifacts.clone(), job.staging.clone());
            tokio::task::spawn_blocking(move || {
                let spec = OutputSpec {
                    required: &["decision.json".to_string()],
                    optional: &["message.md".to_string()],
                };
                artifacts::collect_outputs(
                    &cwd,
                    spec,
                    &dest,
                    &staging,
                    Some(&result),
                    &AtomicBool::new(false),
                )
                .map(|_| ())
                .map_err(|e| format!("collecting the decision: {e}"))
            })
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
        }
    };
    if let Err(e) = collected {
        report.exit_code = None;
        report.error = Some(mask(&e));
    }
    let read = job
        .decision_file
        .with_file_name(format!("{}.{}.{}.json", job.name, job.visit, job.attempt));
    keep_masked(&job.decision_file, &read, shared);
    report
}

/// `decision.json` and, with a message, `message.md`, in the attempt's
/// folder.
fn write_files(
    cwd: &Path,
    result: &Map<String, Value>,
    message: Option<&str>,
) -> std::io::Result<()> {
    let decision = json!({
        "decision": result.get("status"),
        "message": result.get("message"),
        "by": result.get("by"),
    });
    let text = serde_json::to_string_pretty(&decision).map_err(std::io::Error::other)?;
    std::fs::write(cwd.join("decision.json"), text + "\n")?;
    if let Some(m) = message {
        let mut m = m.to_string();
        if !m.ends_with('\n') {
            m.push('\n');
        }
        std::fs::write(cwd.join("message.md"), m)?;
    }
    Ok(())
}

/// What [`approve`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Approved {
    /// The stage waits in a live run, which reads the decision within a
    /// moment; false: the run's `flow` is gone, and `flow resume` will.
    pub live: bool,
    /// The file written.
    pub file: PathBuf,
}

/// `flow approve`: gives the approval stage `stage` of the run in
/// `run_root` its decision, after checking the run's journal: the stage
/// waits (its last `approval_requested` has no `stage_finished`, and the
/// run is not over), `decision` is one of its words, and no decision is
/// already waiting to be read. Writes `approvals/<stage>.json` atomically.
///
/// # Errors
/// Why the decision cannot be given, in a sentence.
pub fn approve(
    run_root: &Path,
    stage: &str,
    decision: &str,
    message: Option<&str>,
    by: Option<&str>,
) -> Result<Approved, String> {
    let journal = crate::journal::read_journal(&run_root.join("journal.jsonl"))
        .map_err(|e| format!("cannot read the run's journal: {e}"))?;
    if journal.iter().any(|e| e["event"] == "run_finished") {
        return Err("the run is over".into());
    }
    let same = |e: &Value, a: &Value| e["visit"] == a["visit"] && e["attempt"] == a["attempt"];
    let asked = journal
        .iter()
        .rev()
        .find(|e| e["event"] == "approval_requested" && e["stage"] == stage)
        .ok_or_else(|| format!("stage `{stage}` has not asked for a decision (it is not an approval stage, or has not started)"))?;
    if journal
        .iter()
        .any(|e| e["event"] == "stage_finished" && e["stage"] == stage && same(e, asked))
    {
        return Err(format!(
            "stage `{stage}` is not waiting: it has its decision"
        ));
    }
    let decisions: Vec<&str> = asked["decisions"]
        .as_array()
        .map(|d| d.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !decisions.contains(&decision) {
        return Err(format!(
            "`{decision}` is not a decision of stage `{stage}`: one of {}",
            decisions.join(", ")
        ));
    }
    let file = crate::rundir::decision_file(run_root, stage);
    if file.exists() {
        return Err(format!(
            "a decision for `{stage}` is already waiting to be read: {}",
            file.display()
        ));
    }
    let body = json!({ "decision": decision, "message": message, "by": by });
    let folder = file.parent().unwrap_or(run_root);
    std::fs::create_dir_all(folder)
        .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    let partial = file.with_extension("json.partial");
    std::fs::write(&partial, body.to_string() + "\n")
        .and_then(|()| std::fs::rename(&partial, &file))
        .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    Ok(Approved {
        live: crate::runlock::RunLock::is_held(run_root),
        file,
    })
}
