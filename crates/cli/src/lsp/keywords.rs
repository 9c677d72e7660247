//! The language's keywords: where each may start an item, and the line
//! hover shows for it (from docs/language.md's tables).

/// Where an item may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// At the top of a file.
    File,
    /// In a `flow { … }` block.
    Flow,
    /// In a `stage { … }` or `template { … }` block.
    Stage,
    /// Inside an item (a route's outcome, `again after`): not an item start.
    Inner,
}

/// `(keyword, where it starts an item, what it means)`.
pub const KEYWORDS: &[(&str, Place, &str)] = &[
    ("use", Place::File, "`use std` / `use \"path\" as NAME`: import a library of templates and skills"),
    ("flow", Place::File, "`flow NAME { … }`: the flow (exactly one per runnable file)"),
    ("template", Place::File, "`template NAME(PARAM: TYPE = DEFAULT, …) { stage items }`: a reusable stage body"),
    ("description", Place::Flow, "`description \"text\"`: shown by `flow graph` and in the run summary"),
    ("param", Place::Flow, "`param NAME: TYPE [= DEFAULT]`: typed input, `--NAME VALUE` on the command line; required without default"),
    ("timeout", Place::Flow, "`timeout DURATION`: bound on the whole run (in a stage: per attempt; on expiry SIGTERM to the process group, SIGKILL after `grace`)"),
    ("shell", Place::Flow, "`shell \"COMMAND\"`: the command line that runs the scripts (default `bash --noprofile --norc -eo pipefail`)"),
    ("budget", Place::Flow, "`budget N usd, N tokens`: bound on what the attempts report they used"),
    ("concurrency", Place::Flow, "`concurrency N`: at most N runs of this flow at once in this project; later runs wait their turn"),
    ("skip", Place::Flow, "`skip if EXPR`: evaluated before any stage; true ends the run `skipped` (exit 0)"),
    ("let", Place::Flow, "`let NAME = EXPR`: evaluated once at run start (in order); exported as `$NAME` upper-cased"),
    ("env", Place::Flow, "`env NAME = EXPR`: exported to every stage (or this stage) as `$NAME` verbatim"),
    ("secret", Place::Flow, "`secret NAME`: read from the environment (or `--secrets-file`), masked as `***` in everything flow writes"),
    ("alert", Place::Flow, "`alert METRIC[(STAGE)] OP VALUE`: a threshold on run statistics that `flow stats` reports"),
    ("trigger", Place::Flow, "`trigger cron \"EXPR\"` / `trigger every DURATION`: when `flow serve` starts a run, in UTC"),
    ("stage", Place::Flow, "`stage NAME [: TEMPLATE(ARGS)] { … }`: a stage"),
    ("finally", Place::Flow, "`finally NAME { … }`: a stage that runs after every other stage is settled"),
    ("needs", Place::Stage, "`needs A, B`: wait for A and B; their outputs are copied into this stage's directory"),
    ("run", Place::Stage, "`run \"script\"` / `run \"\"\" … \"\"\"`: the script, passed byte for byte (after dedent) to the stage's shell"),
    ("approval", Place::Stage, "`approval \"WORD\", \"WORD\"`: instead of a script, wait for a person's decision (`flow approve`)"),
    ("idle", Place::Stage, "`idle DURATION`: no output for that long ends the attempt like its `timeout`"),
    ("grace", Place::Stage, "`grace DURATION`: time between SIGTERM and SIGKILL (default `10s`)"),
    ("retry", Place::Stage, "`retry N [delay D] [backoff F]`: up to N more attempts after a transient failure"),
    ("outputs", Place::Stage, "`outputs GLOB, GLOB`: files collected after every attempt; each must match"),
    ("optional", Place::Stage, "`optional outputs GLOB, GLOB`: collected files that may be missing"),
    ("when", Place::Stage, "`when EXPR`: false when the stage would start makes it `skipped`"),
    ("status", Place::Stage, "`status json`: read structured status from stdout (`stages.X.status`, `stages.X.result`)"),
    ("max", Place::Stage, "`max N` / `max PARAM`: at most N visits (bounds loops)"),
    ("allow_failure", Place::Stage, "`allow_failure`: a failure counts as success for dependents"),
    ("ends", Place::Stage, "`ends run NAME`: reaching this stage ends the run with outcome NAME (exit 1)"),
    ("on", Place::Stage, "`on OUTCOME -> TARGET`: a route (outcomes: success, failure, timeout, budget, exit N, status \"S\"; target: a stage or `again after D`)"),
    ("again", Place::Inner, "`again after DURATION` / `again after PARAM`: run this stage again after the delay (a poll)"),
    ("after", Place::Inner, "`again after DURATION`: the delay before the stage runs again"),
    ("success", Place::Inner, "route outcome: the attempt exited 0"),
    ("failure", Place::Inner, "route outcome: any non-success outcome no more specific route matched (a timeout included)"),
    ("exit", Place::Inner, "route outcome `exit 2, 3`: the attempt exited with one of these codes"),
    ("cron", Place::Inner, "`trigger cron \"MIN HOUR DOM MON DOW\"`: a schedule in UTC"),
    ("every", Place::Inner, "`trigger every DURATION`: at each whole multiple of DURATION since 1970-01-01 UTC"),
    ("if", Place::Inner, "`skip if EXPR`"),
    ("as", Place::Inner, "`use \"path\" as NAME`: the name the library's templates are called by"),
];

/// The hover line of `word`, if it is a keyword.
pub fn describe(word: &str) -> Option<&'static str> {
    KEYWORDS.iter().find(|k| k.0 == word).map(|k| k.2)
}

/// The keywords that start an item at `place` (`timeout`, `shell`, `env`,
/// `budget` are valid in both flows and stages).
pub fn starting(
    place: Place,
) -> impl Iterator<Item = &'static (&'static str, Place, &'static str)> {
    const BOTH: &[&str] = &["timeout", "shell", "env", "budget"];
    KEYWORDS
        .iter()
        .filter(move |k| k.1 == place || (place == Place::Stage && BOTH.contains(&k.0)))
}
