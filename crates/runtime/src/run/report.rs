//! What a finished run reports: outcome, per-stage summary, the table the
//! CLI prints.

use crate::scheduler::{RunOutcome, StageOutcome};
use crate::usage::Usage;
use std::path::PathBuf;
use std::time::Duration;

/// The result of [`super::run`].
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The run id.
    pub run_id: String,
    /// `<base>/runs/<run_id>`.
    pub run_dir: PathBuf,
    /// How the run ended. `Succeeded` when `skip if` skipped it (see
    /// `skipped`).
    pub outcome: RunOutcome,
    /// `skip if` was true: no stage ran.
    pub skipped: bool,
    /// Every stage, in pipeline order.
    pub stages: Vec<StageSummary>,
    /// Wall time of the run.
    pub duration: Duration,
    /// The signal that cancelled the run (`SIGINT`, `SIGTERM`, `SIGHUP`),
    /// if one did.
    pub signal: Option<String>,
}

/// One row of the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct StageSummary {
    /// Stage name.
    pub name: String,
    /// Its last settled outcome; `None` if it never settled.
    pub outcome: Option<StageOutcome>,
    /// Attempts run, over all visits.
    pub attempts: u32,
    /// Visits started.
    pub visits: u32,
    /// Time spent in its attempts.
    pub duration: Duration,
    /// The (visit, attempt) of its last attempt, whose log is
    /// `logs/<stage>.<visit>.<attempt>.log`; `None` if none started.
    pub last_attempt: Option<(u32, u32)>,
    /// What its attempts used, summed (agent stages that report it).
    pub usage: Option<Usage>,
}

impl RunReport {
    /// The exit code of `flow run` (docs/language.md): 0 succeeded or
    /// skipped, 129 cancelled by SIGHUP (a closed terminal), 130 cancelled
    /// otherwise (Ctrl-C, SIGTERM), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self.outcome {
            RunOutcome::Succeeded => 0,
            RunOutcome::Cancelled if self.signal.as_deref() == Some("SIGHUP") => 129,
            RunOutcome::Cancelled => 130,
            RunOutcome::Failed(_) | RunOutcome::Ended(_) | RunOutcome::TimedOut => 1,
        }
    }

    /// The run outcome as a word: `succeeded`, `skipped`, `failed`,
    /// `timed_out`, `cancelled`, or an `ends run` name.
    pub fn outcome_text(&self) -> String {
        if self.skipped {
            return "skipped".into();
        }
        outcome_word(&self.outcome)
    }

    /// What the run's agent stages used, summed; `None` if none reported.
    pub fn usage(&self) -> Option<Usage> {
        Usage::total(self.stages.iter().filter_map(|s| s.usage.as_ref()))
    }

    /// The summary table, one row per stage, then a `usage:` line when an
    /// agent stage reported usage (the CLI prints it and its own `run ID
    /// OUTCOME` line; [`super::run`] prints nothing).
    pub fn summary_table(&self) -> String {
        let mut rows = vec![[
            "stage".to_string(),
            "outcome".to_string(),
            "attempts".to_string(),
            "visits".to_string(),
            "duration".to_string(),
        ]];
        for s in &self.stages {
            rows.push([
                s.name.clone(),
                s.outcome
                    .as_ref()
                    .map_or_else(|| "-".to_string(), stage_outcome_text),
                s.attempts.to_string(),
                s.visits.to_string(),
                format!("{:.1}s", s.duration.as_secs_f64()),
            ]);
        }
        let widths: Vec<usize> = (0..5)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for row in &rows {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        if let Some(usage) = self.usage() {
            out.push_str(&format!("usage: {}\n", usage.summary()));
        }
        out
    }
}

/// `succeeded`, `failed`, `timed_out`, `cancelled`, or the `ends run` name.
pub fn outcome_word(o: &RunOutcome) -> String {
    match o {
        RunOutcome::Succeeded => "succeeded".into(),
        RunOutcome::Failed(_) => "failed".into(),
        RunOutcome::Ended(name) => name.clone(),
        RunOutcome::TimedOut => "timed_out".into(),
        RunOutcome::Cancelled => "cancelled".into(),
    }
}

/// The decision of an approval stage's outcome (a routed decision is a
/// handled outcome whose reason is `decision "WORD"`), for display.
pub(crate) fn decision_of(o: &StageOutcome) -> Option<&str> {
    match o {
        StageOutcome::Failed {
            reason,
            handled: true,
            ..
        } => reason.strip_prefix("decision "),
        _ => None,
    }
}

/// `succeeded`, `failed (exit 2, handled)`, `skipped (when was false)`,
/// `decided "approved"` (an approval stage).
pub fn stage_outcome_text(o: &StageOutcome) -> String {
    if let Some(decision) = decision_of(o) {
        return format!("decided {decision}");
    }
    match o {
        StageOutcome::Succeeded => "succeeded".into(),
        StageOutcome::Failed {
            reason,
            handled,
            allowed,
        } => {
            let mut notes = vec![reason.clone()];
            if *handled {
                notes.push("handled".into());
            }
            if *allowed {
                notes.push("allowed".into());
            }
            format!("failed ({})", notes.join(", "))
        }
        StageOutcome::Skipped(why) => format!("skipped ({why})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lines_up() {
        let r = RunReport {
            run_id: "R".into(),
            run_dir: "/x".into(),
            outcome: RunOutcome::Failed("build".into()),
            skipped: false,
            stages: vec![
                StageSummary {
                    name: "build".into(),
                    outcome: Some(StageOutcome::Failed {
                        reason: "exit 2".into(),
                        handled: false,
                        allowed: false,
                    }),
                    attempts: 3,
                    visits: 1,
                    duration: Duration::from_millis(1500),
                    last_attempt: Some((1, 3)),
                    usage: None,
                },
                StageSummary {
                    name: "t".into(),
                    outcome: None,
                    attempts: 0,
                    visits: 0,
                    duration: Duration::ZERO,
                    last_attempt: None,
                    usage: None,
                },
            ],
            duration: Duration::from_secs(2),
            signal: None,
        };
        let t = r.summary_table();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "stage  outcome          attempts  visits  duration"
        );
        assert_eq!(lines[1], "build  failed (exit 2)  3         1       1.5s");
        let mut cancelled = r.clone();
        cancelled.outcome = RunOutcome::Cancelled;
        cancelled.signal = Some("SIGINT".into());
        assert_eq!(cancelled.exit_code(), 130);
        cancelled.signal = Some("SIGHUP".into());
        assert_eq!(cancelled.exit_code(), 129, "a closed terminal");
        assert_eq!(lines[2], "t      -                0         0       0.0s");
        assert_eq!(lines.len(), 3);
        assert_eq!(r.exit_code(), 1);
    }
}
