//! `flow resume`: continue a run from its journal (see `replay.rs` for the
//! theory, docs/language.md "Resume" for the rules).
//!
//! Order: take the run's lock (a live run is refused), read the journal, do
//! nothing for a run that succeeded, refuse changed sources unless forced,
//! rebuild the environment from the record (params, run id, nonce; the
//! `let`s evaluated again from them), replay, journal `run_resumed` (synced),
//! then the driver performs the restarts and goes on as in `flow run`.

use flow_dsl::expr::StageSnapshot;
use flow_dsl::ir::{ParamType, Pipeline, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::driver::{self, Setup};
use super::record::{RunRecord, Started};
use super::{io, queue, replay, resolve_secrets, RunError, RunOptions, RunReport};
use crate::journal::{Journal, JournalEvent};
use crate::rundir::RunDir;
use crate::runlock::RunLock;

/// What `flow resume` did.
#[derive(Debug)]
pub enum Resumed {
    /// The run had already succeeded (or was skipped): nothing was done.
    AlreadyDone {
        /// Its recorded outcome (`succeeded`, `skipped`).
        outcome: String,
    },
    /// The run was continued to its end.
    Ran(RunReport),
}

/// Why a run cannot be resumed (besides [`RunError`]s).
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// Another live process drives the run (its lock is held).
    #[error("run {0} is still running (another flow process holds its lock)")]
    Running(String),
    /// The flow or a library file changed since the run started.
    #[error(
        "the flow changed since run {run} started: {}; `--force` resumes it anyway",
        changed.join(", ")
    )]
    Changed {
        /// The run id.
        run: String,
        /// What changed: `path (changed)`, `path (new)`, `path (gone)`.
        changed: Vec<String>,
    },
    /// The journal cannot be used.
    #[error("cannot resume: {0}")]
    Journal(String),
    /// Anything a run can fail with.
    #[error(transparent)]
    Run(#[from] RunError),
}

/// Reads how the run at `run_root` started, without a pipeline (the CLI
/// needs the `.flow` file first).
///
/// # Errors
/// The journal is missing or unusable.
pub fn started(run_root: &Path) -> Result<Started, ResumeError> {
    RunRecord::read(run_root, None)
        .map(|r| r.started)
        .map_err(|e| ResumeError::Journal(e.to_string()))
}

/// Continues the run at `run_root` with `pipeline` (checked from the
/// run's file again). `opts.sources` are the sources `pipeline` was
/// checked from now; `opts.params`, `base_dir` and `file` are not used (the
/// record's are). `force`: resume even if the sources changed.
///
/// # Errors
/// [`ResumeError`]: the run is live, changed, or its journal unusable, or
/// the resumed run could not be carried out.
pub async fn resume(
    pipeline: &Pipeline,
    run_root: &Path,
    opts: RunOptions,
    force: bool,
) -> Result<Resumed, ResumeError> {
    let began = Instant::now();
    super::check_builtins(pipeline, &opts.builtins)?;
    // Absolute: scripts get paths under it after they `cd`.
    let abs = std::path::absolute(run_root).map_err(io("finding the run"))?;
    let run_root = abs.as_path();
    let id = run_root
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let _lock = acquire_lock(run_root)
        .await
        .map_err(io("locking the run"))?
        .ok_or_else(|| ResumeError::Running(id.clone()))?;
    let record = RunRecord::read(run_root, Some(pipeline))
        .map_err(|e| ResumeError::Journal(e.to_string()))?;
    if let Some(outcome @ ("succeeded" | "skipped")) = record.outcome() {
        return Ok(Resumed::AlreadyDone {
            outcome: outcome.to_string(),
        });
    }
    if record.outcome().is_none() {
        // The run's `flow` died. Under a supervisor process, the kernel
        // released its lock at that instant, when the supervisor also saw
        // its socket close and began killing the old attempts: past
        // `KILL_DEADLINE` from then nothing of them is left, and waiting
        // that long from now (later than the death) keeps an old attempt
        // from overlapping its redo. (Under `flow`'s warden the lock is
        // released once they are dead already.)
        tokio::time::sleep(crate::supervisor::server::KILL_DEADLINE).await;
    }
    let changed = changed_sources(&record.started.sources, &opts.sources);
    if !changed.is_empty() && !force {
        return Err(ResumeError::Changed {
            run: record.started.run_id.clone(),
            changed,
        });
    }

    let started = &record.started;
    let params = recorded_params(pipeline, &started.params)?;
    let pipeline = &*pipeline.bind_params(&params).map_err(RunError::BadParam)?;
    let secrets = resolve_secrets(pipeline, &opts.secrets)?;
    let dir = RunDir {
        id: started.run_id.clone(),
        nonce: started.nonce.clone(),
        root: run_root.to_path_buf(),
    };
    let mut exprs = super::run_exprs(pipeline, &dir, &opts.store, &params);
    for (name, e) in &pipeline.lets {
        exprs.add_let(name, e).map_err(|message| RunError::Expr {
            what: format!("let {name}"),
            message,
        })?;
    }

    // Every writer of the resumed run masks with it, as in `run`.
    let masker = super::run_masker(&secrets);
    let journal = Journal::open_for_resume(&dir.journal()).map_err(io("opening the journal"))?;
    let journal = Arc::new(journal.with_masker(&masker).with_tap(opts.events.clone()));
    let mut eval = |id, snaps: &[(String, StageSnapshot)]| match &pipeline.stage(id).when {
        Some(cond) => exprs.eval_bool(cond, snaps),
        None => Ok(true),
    };
    let replay = replay::replay(pipeline, &record, run_root, &mut eval);
    journal
        .append(&JournalEvent::RunResumed {
            pid: std::process::id(),
            changed,
            when_answers: replay.when_answers,
        })
        .map_err(io("writing the journal"))?;
    journal.sync().map_err(io("syncing the journal"))?;
    // The index learns that the run is live again (`run_resumed`).
    let mut row = super::index_row::IndexRow::new(opts.store.clone());
    let id = dir.id.clone();
    row.update_and_wait(move |s| s.sync_run(&id)).await;

    let mut signals = driver::Signals::with_request(opts.handle_signals, opts.cancel.clone());
    let sink = super::run_sink(&opts, &masker);
    if let Some(limit) = pipeline.concurrency {
        let turn = queue::Turn {
            store: opts.store.clone(),
            dir: &dir,
            pipeline,
            limit,
            journal: &journal,
            sink: &sink,
            started: began,
        };
        if let Some(cancelled) = queue::wait_for_slot(turn, &mut signals).await? {
            return Ok(Resumed::Ran(cancelled));
        }
    }
    let super::Prepared {
        libs,
        scripts,
        supervisor,
    } = match super::prepare_attempts(&dir, pipeline, &opts, None) {
        Ok(prepared) => prepared,
        Err(e) => {
            journal.record(&JournalEvent::RunFinished {
                outcome: "failed".into(),
                reason: Some(e.to_string()),
                duration_ms: began.elapsed().as_millis() as u64,
            });
            return Err(e.into());
        }
    };
    let run_id = dir.id.clone();
    let setup = Setup {
        pipeline,
        dir,
        journal,
        exprs,
        secrets,
        libs,
        masker,
        sink,
        jobs: opts.jobs.max(1),
        signals,
        started: began,
        supervisor,
        scripts,
        builtins: opts.builtins.clone(),
    };
    let report = super::drive_supervised(setup, Some(replay.replayed)).await;
    row.update_and_wait(move |s| s.sync_run(&run_id)).await;
    Ok(Resumed::Ran(report?))
}

/// What differs between the sources recorded at the start and now, as
/// `path (changed)`, `path (new)` or `path (gone)`. A run recorded without
/// sources cannot be checked: it counts as changed.
fn changed_sources(then: &BTreeMap<String, String>, now: &BTreeMap<String, String>) -> Vec<String> {
    if then.is_empty() {
        return vec!["(the run recorded no sources)".into()];
    }
    let mut out = Vec::new();
    for (path, hash) in then {
        match now.get(path) {
            Some(h) if h == hash => {}
            Some(_) => out.push(format!("{path} (changed)")),
            None => out.push(format!("{path} (gone)")),
        }
    }
    for path in now.keys().filter(|p| !then.contains_key(*p)) {
        out.push(format!("{path} (new)"));
    }
    out
}

/// The run's params as recorded in `run_started` (typed by the pipeline's
/// declarations); a param recorded without a value takes its default.
fn recorded_params(
    pipeline: &Pipeline,
    recorded: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<(String, Value)>, RunError> {
    pipeline
        .params
        .iter()
        .map(|p| {
            let value = recorded
                .get(&p.name)
                .and_then(|v| from_json(p.ty, v))
                .or_else(|| p.default.clone());
            value
                .map(|v| (p.name.clone(), v))
                .ok_or_else(|| RunError::MissingParam(p.name.clone()))
        })
        .collect()
}

/// Inverse of `param_json`.
fn from_json(ty: ParamType, v: &serde_json::Value) -> Option<Value> {
    Some(match ty {
        ParamType::Int => Value::Int(v.as_i64()?),
        ParamType::Float => Value::Float(v.as_f64()?),
        ParamType::Bool => Value::Bool(v.as_bool()?),
        ParamType::Str | ParamType::Path | ParamType::Skill => Value::Str(v.as_str()?.to_string()),
        ParamType::Duration => Value::Duration(Duration::from_secs(v.as_u64()?)),
        ParamType::ListStr => Value::List(
            v.as_array()?
                .iter()
                .map(|s| s.as_str().map(str::to_string))
                .collect::<Option<_>>()?,
        ),
    })
}

/// How long `flow resume` waits for a run's lock before calling the run
/// live: a `flow` that was just killed leaves its engine's process holding
/// the lock while it kills the old attempts, for at most
/// [`crate::supervisor::server::KILL_DEADLINE`] (see [`crate::warden`]).
const LOCK_WAIT: Duration = Duration::from_millis(1500);

/// The run's lock, waiting up to [`LOCK_WAIT`] for it; `None` if it is
/// still held then.
async fn acquire_lock(run_root: &Path) -> std::io::Result<Option<RunLock>> {
    let since = Instant::now();
    loop {
        if let Some(lock) = RunLock::acquire(run_root)? {
            return Ok(Some(lock));
        }
        if since.elapsed() >= LOCK_WAIT {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_sources_names_each_difference() {
        let map = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let then = map(&[("/a.flow", "1"), ("/lib/x.flow", "2"), ("/lib/y.flow", "3")]);
        let now = map(&[("/a.flow", "1"), ("/lib/x.flow", "9"), ("/lib/z.flow", "4")]);
        assert_eq!(
            changed_sources(&then, &now),
            [
                "/lib/x.flow (changed)",
                "/lib/y.flow (gone)",
                "/lib/z.flow (new)"
            ]
        );
        assert!(changed_sources(&then, &then).is_empty());
        assert_eq!(changed_sources(&BTreeMap::new(), &now).len(), 1);
    }
}
