//! Rebuilding a run's scheduler from its journal, for `flow resume`.
//!
//! # Theory of operation
//!
//! The scheduler is a pure, deterministic state machine, and the journal
//! holds every input it consumed, in the order it consumed them
//! (`stage_finished`, `timer_fired`, `cancel_requested`, `run_timed_out`)
//! and every `when` answer it got (`when_evaluated`). Feeding the same
//! inputs to a fresh scheduler, with `when` answered from the record,
//! brings it to the state the interrupted run was in, without performing
//! any decision: nothing is spawned or journaled. The replay keeps what the
//! driver would have kept: the per-stage [`Record`]s expressions see, and
//! the delay of each timer set.
//!
//! Not every input is replayed, so that resuming means "go on" rather than
//! "end the same way again":
//!
//! - `cancel_requested` and `run_timed_out` never are, nor the end of an
//!   attempt the run killed for them (`cancelled`): that attempt is redone.
//! - The end of an attempt that failed the run (an unhandled failure, or a
//!   route to a stage past its `max`) is left out, and so it is redone.
//!   Found by feeding it and seeing the scheduler fail; the replay then
//!   starts over without it (one more pass per such input).
//! - In a segment that ended with an `ends run` outcome, the end of an
//!   attempt that did not succeed and routed to (or started) an `ends run`
//!   stage is left out the same way (e.g. `implement` reported BLOCKED:
//!   it runs again).
//! - Inputs of `finally` stages never are: `finally` stages run (again) at
//!   the end of every resumed run.
//!
//! Inputs after a left-out one are replayed in the state without it: an
//! attempt that was running beside the failing one and succeeded keeps its
//! success, and now its routes fire (a stopping run had ignored them).
//!
//! A journal can hold several *segments*: the first `flow`, then one per
//! `flow resume`. At each `run_resumed` the replay does what that resume
//! did: every attempt still running is restarted
//! ([`Scheduler::restart_attempt`]: next attempt number, not counted
//! against `retry`), timers stay set. The rules above depend only on the
//! segment's own lines, so a later replay reaches the same states.
//!
//! A `when` the record cannot answer (the replay took a path the run did
//! not: after a left-out input) is evaluated now, against the replayed
//! records; those answers are journaled in the new `run_resumed`
//! (`when_answers`), where a later replay finds them.
//!
//! What the resumed run does first (the driver performs it): each attempt
//! still running is lost (its end was never recorded) and starts again
//! (`restarts`); each timer still set is armed again with its whole delay.

use flow_dsl::expr::StageSnapshot;
use flow_dsl::ir::{Pipeline, StageId};
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::time::Duration;

use super::driver::{Record, Replayed};
use super::record::{Input, RunRecord};
use crate::journal::WhenAnswer;
use crate::scheduler::{Decision, Event, Scheduler, StageOutcome, StageState};

/// Evaluates a stage's `when` against the given records (the replay's
/// fallback when the journal holds no answer).
pub(super) type EvalWhen<'a> =
    dyn FnMut(StageId, &[(String, StageSnapshot)]) -> Result<bool, String> + 'a;

/// The outcome of a replay: the state to continue from, and the `when`
/// answers it had to evaluate (for `run_resumed`).
pub(super) struct Replay<'p> {
    pub replayed: Replayed<'p>,
    pub when_answers: Vec<WhenAnswer>,
}

/// The scheduler and what the driver would have kept, during a replay.
struct Book<'p> {
    pipeline: &'p Pipeline,
    sched: Scheduler<'p>,
    records: Vec<Record>,
    /// The delay of each timer set, and whether it is an `again after`.
    timers: HashMap<usize, (Duration, bool)>,
}

impl<'p> Book<'p> {
    fn new(pipeline: &'p Pipeline) -> Self {
        Book {
            pipeline,
            sched: Scheduler::new(pipeline),
            records: vec![Record::new(); pipeline.stages.len()],
            timers: HashMap::new(),
        }
    }

    /// What the driver's `perform` would have remembered of `decisions`.
    fn apply(&mut self, decisions: &[Decision]) {
        let mut again_route = None;
        for d in decisions {
            match d {
                Decision::Start {
                    stage,
                    visit,
                    attempt,
                } => {
                    self.timers.remove(&stage.0);
                    self.records[stage.0].started(*visit, *attempt);
                }
                Decision::StartAfter { stage, delay } => {
                    let again = again_route == Some(*stage);
                    self.timers.insert(stage.0, (*delay, again));
                }
                Decision::Settled { stage, outcome } => {
                    self.records[stage.0].settled(outcome.clone());
                }
                _ => {}
            }
            again_route = match d {
                Decision::Routed { from, to, .. } if from == to => Some(*from),
                _ => None,
            };
        }
    }
}

/// Answers `when` from the segment's record, else evaluates it.
struct Answers<'a, 'e> {
    recorded: HashMap<usize, VecDeque<WhenAnswer>>,
    eval: &'a mut EvalWhen<'e>,
    /// Answers evaluated now, to be journaled (last segment only).
    fresh: Vec<WhenAnswer>,
}

impl Answers<'_, '_> {
    fn answer(
        &mut self,
        pipeline: &Pipeline,
        id: StageId,
        snapshots: &dyn Fn() -> Vec<(String, StageSnapshot)>,
    ) -> Result<bool, String> {
        let stage = pipeline.stage(id);
        if stage.when.is_none() {
            return Ok(true);
        }
        if let Some(a) = self.recorded.get_mut(&id.0).and_then(VecDeque::pop_front) {
            return a.to_result();
        }
        let answer = (self.eval)(id, &snapshots());
        self.fresh.push(WhenAnswer {
            stage: stage.name.clone(),
            value: answer.as_ref().ok().copied(),
            error: answer.as_ref().err().cloned(),
        });
        answer
    }
}

/// Outcome words of `run_finished` that are not an `ends run` name.
const PLAIN_OUTCOMES: &[&str] = &["succeeded", "failed", "skipped", "timed_out", "cancelled"];

/// Replays `record` (see the module docs). `run_root` gives the
/// `artifacts/<stage>/result.json` that expressions see as
/// `stages.X.result`.
pub(super) fn replay<'p>(
    pipeline: &'p Pipeline,
    record: &RunRecord,
    run_root: &Path,
    eval: &mut EvalWhen<'_>,
) -> Replay<'p> {
    let mut left_out: HashSet<(usize, usize)> = HashSet::new();
    loop {
        match pass(pipeline, record, &left_out, eval) {
            Err(input) => {
                left_out.insert(input);
            }
            Ok((mut book, when_answers)) => {
                let restarts = book
                    .sched
                    .running()
                    .into_iter()
                    .filter_map(|(stage, _, _)| book.sched.restart_attempt(stage))
                    .collect();
                let timers = book
                    .sched
                    .waiting()
                    .into_iter()
                    .map(|s| {
                        let (delay, again) = book
                            .timers
                            .get(&s.0)
                            .copied()
                            .unwrap_or((Duration::ZERO, false));
                        (s, delay, again)
                    })
                    .collect();
                read_results(pipeline, run_root, &mut book.records);
                return Replay {
                    replayed: Replayed {
                        sched: book.sched,
                        records: book.records,
                        restarts,
                        timers,
                    },
                    when_answers,
                };
            }
        }
    }
}

/// One pass over every segment, leaving out `left_out` (segment, input).
/// `Err(input)`: that input must be left out too (it failed the run, or it
/// ends it in a segment that ended so); start over.
fn pass<'p>(
    pipeline: &'p Pipeline,
    record: &RunRecord,
    left_out: &HashSet<(usize, usize)>,
    eval: &mut EvalWhen<'_>,
) -> Result<(Book<'p>, Vec<WhenAnswer>), (usize, usize)> {
    let mut book = Book::new(pipeline);
    let last = record.segments.len().saturating_sub(1);
    let mut fresh = Vec::new();
    for (si, seg) in record.segments.iter().enumerate() {
        let mut answers = Answers {
            recorded: seg.answers.clone(),
            eval: &mut *eval,
            fresh: Vec::new(),
        };
        if si == 0 {
            let first = {
                let Book { sched, records, .. } = &mut book;
                let snaps = snapshots(pipeline, records);
                sched.start(&mut |id| answers.answer(pipeline, id, &snaps))
            };
            book.apply(&first);
        } else {
            // What that `flow resume` did first.
            for (stage, _, _) in book.sched.running() {
                if let Some(d) = book.sched.restart_attempt(stage) {
                    book.apply(&[d]);
                }
            }
        }
        let ended = seg
            .finished
            .as_deref()
            .is_some_and(|o| !PLAIN_OUTCOMES.contains(&o));
        for (ii, input) in seg.inputs.iter().enumerate() {
            if left_out.contains(&(si, ii)) {
                continue;
            }
            if let Some(verdict) = feed(&mut book, &mut answers, input, ended) {
                if !verdict {
                    return Err((si, ii));
                }
            }
        }
        if si == last {
            fresh = answers.fresh;
        }
    }
    Ok((book, fresh))
}

/// Feeds one input. `None`: not replayed; `Some(true)`: replayed;
/// `Some(false)`: it must be left out (see the module docs).
fn feed(book: &mut Book<'_>, answers: &mut Answers, input: &Input, ended: bool) -> Option<bool> {
    let pipeline = book.pipeline;
    let event = match input {
        Input::Interrupt => return None,
        Input::Finished {
            cancelled: true,
            stage,
            usage,
            ..
        } => {
            // Not replayed, but what it used was spent.
            if let Some(used) = usage {
                let record = &mut book.records[stage.0];
                record.usage.get_or_insert_with(Default::default).add(used);
            }
            return None;
        }
        Input::Finished {
            stage,
            visit,
            attempt,
            result,
            duration,
            usage,
            ..
        } => {
            let running = StageState::Running {
                visit: *visit,
                attempt: *attempt,
            };
            if pipeline.stage(*stage).finally || book.sched.state(*stage) != running {
                return None;
            }
            let record = &mut book.records[stage.0];
            if let Some(used) = usage {
                record.usage.get_or_insert_with(Default::default).add(used);
            }
            record.finished(result, *duration, None);
            Event::AttemptFinished {
                stage: *stage,
                result: result.clone(),
            }
        }
        Input::Timer { stage } => {
            if pipeline.stage(*stage).finally
                || !matches!(book.sched.state(*stage), StageState::Waiting { .. })
            {
                return None;
            }
            Event::TimerFired { stage: *stage }
        }
    };
    let failed_before = book.sched.has_failed();
    let decisions = {
        let Book { sched, records, .. } = &mut *book;
        let snaps = snapshots(pipeline, records);
        sched.handle(event.clone(), &mut |id| {
            answers.answer(pipeline, id, &snaps)
        })
    };
    if !failed_before && book.sched.has_failed() {
        return Some(false);
    }
    if ended {
        if let Event::AttemptFinished { stage, .. } = event {
            if reaches_ends_run(pipeline, stage, &decisions) {
                return Some(false);
            }
        }
    }
    book.apply(&decisions);
    Some(true)
}

/// The snapshots expressions see, built when a `when` needs them.
fn snapshots<'a>(
    pipeline: &'a Pipeline,
    records: &'a [Record],
) -> impl Fn() -> Vec<(String, StageSnapshot)> + 'a {
    move || {
        pipeline
            .stages
            .iter()
            .zip(records)
            .map(|(s, r)| (s.name.clone(), r.snapshot.clone()))
            .collect()
    }
}

/// `decisions` (of an attempt end of `from`) route to or start an `ends
/// run` stage, and `from` did not succeed.
fn reaches_ends_run(pipeline: &Pipeline, from: StageId, decisions: &[Decision]) -> bool {
    let ends = |s: &StageId| {
        let stage = pipeline.stage(*s);
        stage.ends_run.is_some() && !stage.finally && *s != from
    };
    let succeeded = decisions.iter().any(|d| {
        matches!(d, Decision::Settled { stage, outcome: StageOutcome::Succeeded } if *stage == from)
    });
    !succeeded
        && decisions.iter().any(|d| match d {
            Decision::Routed { to, .. } => ends(to),
            Decision::Start { stage, .. } => ends(stage),
            _ => false,
        })
}

/// `stages.X.result` of the replayed records: the `result.json` of the
/// stage's last collected attempt.
fn read_results(pipeline: &Pipeline, run_root: &Path, records: &mut [Record]) {
    for (stage, rec) in pipeline.stages.iter().zip(records) {
        if !stage.status_json || rec.total_attempts == 0 {
            continue;
        }
        let path = run_root
            .join("artifacts")
            .join(&stage.name)
            .join("result.json");
        // A regular file only (never a FIFO left by a stage).
        let regular = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file());
        if let Some(json) = regular
            .then(|| std::fs::read(&path).ok())
            .flatten()
            .and_then(|b| serde_json::from_slice(&b).ok())
        {
            rec.snapshot.result = Some(json);
        }
    }
}
