//! The checked pipeline: what `flow-runtime` executes. Everything here is
//! resolved (stage references are [`StageId`]s, templates expanded, durations
//! parsed, expressions compiled) and valid; the runtime never sees the AST.

use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::BTreeMap;
use std::time::Duration;

mod cron;
mod trigger;
#[cfg(test)]
mod trigger_tests;

pub use cron::{CronError, CronSchedule};
pub use trigger::{Trigger, MAX_EVERY, MIN_EVERY};

/// The command line a stage's script runs with when neither the stage, its
/// template nor the flow sets `shell`: GitHub Actions' `shell: bash`. `-e`
/// stops the script at the first command that fails (outside conditions,
/// `&&`/`||` lists and `!`), `-o pipefail` makes a pipeline fail when any of
/// its commands does, and `--noprofile --norc` keep the user's startup files
/// out. The runtime appends the path of a file holding the script.
pub const DEFAULT_SHELL: &[&str] = &["bash", "--noprofile", "--norc", "-eo", "pipefail"];

/// The longest duration a timer setting may have (stage and flow `timeout`,
/// `grace`, `retry … delay`, `again after`): 365 days. `flow check` rejects
/// longer ones, so adding any of them to the current time cannot overflow;
/// [`Retry::delay_before`] saturates at it.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The most retries a stage may have (`retry N`, checked by `flow check`).
pub const MAX_RETRIES: u32 = 1000;

/// The largest `backoff` factor (checked by `flow check`).
pub const MAX_BACKOFF: f64 = 10.0;

/// The value of `max` a param gives, or why it cannot be one: an `int`
/// from 1 to `u32::MAX`.
pub fn max_visits_of(value: &Value) -> Result<u32, String> {
    match value {
        Value::Int(n) => u32::try_from(*n)
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| format!("`max` must be from 1 to {}, not {n}", u32::MAX)),
        other => Err(format!("`max` needs an int, not `{}`", other.to_env())),
    }
}

/// The delay of `again after` a param gives, or why it cannot be one: a
/// `duration` of at most [`MAX_DURATION`].
pub fn again_delay_of(value: &Value) -> Result<Duration, String> {
    match value {
        Value::Duration(d) if *d <= MAX_DURATION => Ok(*d),
        Value::Duration(d) => Err(format!(
            "`again after` must be at most 365 days, not {}s",
            d.as_secs()
        )),
        other => Err(format!(
            "`again after` needs a duration, not `{}`",
            other.to_env()
        )),
    }
}

/// Index of a stage in [`Pipeline::stages`] (also its node in [`Pipeline::graph`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StageId(pub usize);

/// A checked flow, ready to run.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The flow's name (`ai-implement`).
    pub name: String,
    /// Its `description`, if any.
    pub description: Option<String>,
    /// Declared params in order.
    pub params: Vec<Param>,
    /// Bound on the whole run.
    pub timeout: Option<Duration>,
    /// Bound on what the whole run's attempts report they used (`budget`).
    pub budget: Option<Budget>,
    /// At most this many runs of the flow at once.
    pub concurrency: Option<u32>,
    /// `skip if`, evaluated before any stage.
    pub skip_if: Option<CompiledExpr>,
    /// `let`s in evaluation order.
    pub lets: Vec<(String, CompiledExpr)>,
    /// Flow-level `env`, exported to every stage.
    pub env: Vec<(String, CompiledExpr)>,
    /// Secret names (environment variables to read and mask).
    pub secrets: Vec<String>,
    /// All stages, ordinary and finally, indexed by [`StageId`].
    pub stages: Vec<Stage>,
    /// Nodes are stage ids (node index == stage index); edges say why one
    /// stage follows another.
    pub graph: DiGraph<StageId, EdgeKind>,
    /// Libraries the flow's stages use, to materialise on disk at run time.
    pub libraries: Vec<Library>,
    /// Settings whose value is a flow param (`max tries`, `again after
    /// wait`): [`Pipeline::bind_params`] writes the run's values into
    /// [`Stage::max_visits`] and [`RouteTarget::Again`] before it starts.
    pub param_settings: Vec<ParamSetting>,
    /// `alert` thresholds on the flow's run statistics, in source order
    /// (`flow stats` reports those crossed; the run journals them).
    pub alerts: Vec<Alert>,
    /// `trigger`s, in source order: when `flow serve` starts a run by
    /// itself (`flow run` ignores them). No two are equal.
    pub triggers: Vec<Trigger>,
}

/// One `alert`: `flow stats` reports it when the metric's value over the
/// flow's finished runs makes `value OP threshold` true.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Alert {
    /// What is measured.
    pub metric: AlertMetric,
    /// The stage, for per-stage metrics ([`AlertMetric::per_stage`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// The comparison.
    pub op: AlertOp,
    /// In the metric's unit: a share from 0 to 1 for the rates, US dollars
    /// for `cost_usd`, visits for `visits`, milliseconds for `p50`/`p95`.
    pub threshold: f64,
    /// The alert as written, normalised (`p95(build) > 10m`).
    pub text: String,
}

/// The metrics an [`Alert`] can watch (the names of `flow stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertMetric {
    /// Succeeded (or skipped) runs / finished runs.
    SuccessRate,
    /// Runs that ended with an `ends run` outcome / finished runs.
    EscalationRate,
    /// Mean cost of a run that reported one, US dollars.
    CostUsd,
    /// Mean visits of a stage per run in which it ran.
    Visits,
    /// Median time of a stage per run, milliseconds.
    P50,
    /// 95th percentile of the same, milliseconds.
    P95,
}

impl AlertMetric {
    /// Every metric with its name as written in a flow.
    pub const ALL: [(AlertMetric, &'static str); 6] = [
        (AlertMetric::SuccessRate, "success_rate"),
        (AlertMetric::EscalationRate, "escalation_rate"),
        (AlertMetric::CostUsd, "cost_usd"),
        (AlertMetric::Visits, "visits"),
        (AlertMetric::P50, "p50"),
        (AlertMetric::P95, "p95"),
    ];

    /// The metric named `name`, if any.
    pub fn named(name: &str) -> Option<AlertMetric> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(m, _)| *m)
    }

    /// Its name as written in a flow (`success_rate`).
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(m, _)| *m == self)
            .map_or("?", |(_, n)| n)
    }

    /// True when it is measured per stage (`p95(build)`).
    pub fn per_stage(self) -> bool {
        matches!(
            self,
            AlertMetric::Visits | AlertMetric::P50 | AlertMetric::P95
        )
    }

    /// True when its threshold is a duration (`10m`).
    pub fn is_duration(self) -> bool {
        matches!(self, AlertMetric::P50 | AlertMetric::P95)
    }
}

/// The comparison of an [`Alert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AlertOp {
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
}

impl AlertOp {
    /// The operator written `text`, if any.
    pub fn parse(text: &str) -> Option<AlertOp> {
        Some(match text {
            "<" => AlertOp::Lt,
            "<=" => AlertOp::Le,
            ">" => AlertOp::Gt,
            ">=" => AlertOp::Ge,
            _ => return None,
        })
    }

    /// True when `value OP threshold` holds: the alert is crossed.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            AlertOp::Lt => value < threshold,
            AlertOp::Le => value <= threshold,
            AlertOp::Gt => value > threshold,
            AlertOp::Ge => value >= threshold,
        }
    }
}

/// Limits on usage (`budget 5 usd, 200000 tokens`), as attempts report it
/// (see docs/language.md "Budget"): each is crossed when the usage summed
/// over the attempts it bounds exceeds it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Budget {
    /// US dollars (`cost_usd`); finite and > 0.
    pub usd: Option<f64>,
    /// Input plus output tokens; > 0.
    pub tokens: Option<u64>,
}

/// A stage setting whose value is a flow param.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSetting {
    /// The param's name.
    pub param: String,
    /// The stage.
    pub stage: StageId,
    /// Which setting.
    pub setting: ParamSettingKind,
}

/// Which setting a [`ParamSetting`] fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamSettingKind {
    /// [`Stage::max_visits`]: the param is an `int` from 1 to `u32::MAX`.
    Max,
    /// The delay of `Stage::routes[route]` (an `again`): the param is a
    /// `duration` of at most [`MAX_DURATION`].
    Again {
        /// Index into [`Stage::routes`].
        route: usize,
    },
}

impl Pipeline {
    /// The stage with this id.
    pub fn stage(&self, id: StageId) -> &Stage {
        &self.stages[id.0]
    }

    /// The stage with this name.
    pub fn stage_named(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// The graph node of a stage.
    pub fn node(id: StageId) -> NodeIndex {
        NodeIndex::new(id.0)
    }

    /// This pipeline with the run's param `values` written into the
    /// settings that name a param ([`Pipeline::param_settings`]); borrowed
    /// when there are none. Errors (one line, naming the param and the
    /// stage) when a value has the wrong type or is out of range (`max 0`,
    /// `again after` over 365 days); a missing value leaves the setting as
    /// built.
    pub fn bind_params(
        &self,
        values: &[(String, Value)],
    ) -> Result<std::borrow::Cow<'_, Pipeline>, String> {
        if self.param_settings.is_empty() {
            return Ok(std::borrow::Cow::Borrowed(self));
        }
        let mut bound = self.clone();
        for s in &self.param_settings {
            let Some((_, value)) = values.iter().rev().find(|(n, _)| *n == s.param) else {
                continue;
            };
            let stage = bound
                .stages
                .get_mut(s.stage.0)
                .ok_or_else(|| format!("no stage {}", s.stage))?;
            let fail =
                |why: String| format!("param `{}` (for stage `{}`): {why}", s.param, stage.name);
            match s.setting {
                ParamSettingKind::Max => {
                    stage.max_visits = Some(max_visits_of(value).map_err(fail)?)
                }
                ParamSettingKind::Again { route } => {
                    let delay = again_delay_of(value).map_err(fail)?;
                    if let Some(r) = stage.routes.get_mut(route) {
                        r.target = RouteTarget::Again(delay);
                    }
                }
            }
        }
        Ok(std::borrow::Cow::Owned(bound))
    }
}

/// Why an edge `a -> b` exists.
#[derive(Debug, Clone, PartialEq)]
pub enum EdgeKind {
    /// `b` needs `a`.
    Needs,
    /// `a` routes to `b` on this outcome.
    Route(RouteOn),
}

impl std::fmt::Display for EdgeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EdgeKind::Needs => f.write_str("needs"),
            EdgeKind::Route(on) => write!(f, "on {on}"),
        }
    }
}

impl std::fmt::Display for StageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A typed param.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Its name (`issue`); exported as `$ISSUE`.
    pub name: String,
    /// Its type.
    pub ty: ParamType,
    /// Its default; `None` means required.
    pub default: Option<Value>,
}

/// The type of a param or template parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamType {
    /// 64-bit signed integer.
    Int,
    /// 64-bit float.
    Float,
    /// `true` / `false`.
    Bool,
    /// Text.
    Str,
    /// A file, folder or URL, as text.
    Path,
    /// A duration.
    Duration,
    /// A list of strings.
    ListStr,
    /// A skill name of a library.
    Skill,
}

impl std::fmt::Display for ParamType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ParamType::Int => "int",
            ParamType::Float => "float",
            ParamType::Bool => "bool",
            ParamType::Str => "str",
            ParamType::Path => "path",
            ParamType::Duration => "duration",
            ParamType::ListStr => "list<str>",
            ParamType::Skill => "skill",
        })
    }
}

/// A typed value (param value, default, template argument).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// int.
    Int(i64),
    /// float.
    Float(f64),
    /// bool.
    Bool(bool),
    /// str, path, skill.
    Str(String),
    /// duration.
    Duration(Duration),
    /// `list<str>`.
    List(Vec<String>),
}

impl Value {
    /// The text exported to a script's environment: numbers in decimal,
    /// bools `true`/`false`, durations in whole seconds, lists joined by `,`.
    pub fn to_env(&self) -> String {
        match self {
            Value::Int(i) => i.to_string(),
            Value::Float(x) => x.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Str(s) => s.clone(),
            Value::Duration(d) => d.as_secs().to_string(),
            Value::List(l) => l.join(","),
        }
    }
}

/// A compiled rhai expression with its source text (for messages).
#[derive(Debug, Clone)]
pub struct CompiledExpr {
    /// The rhai source as written.
    pub source: String,
    /// The compiled AST (rhai `sync`: shareable across threads).
    pub ast: rhai::AST,
    /// Variables only this expression sees, on top of the params and lets
    /// (a later entry shadows): for an expression written in a template's
    /// body, the template's parameters with the values the stage passes
    /// (defaults included). Empty for the flow's own expressions.
    pub bindings: Vec<(String, Value)>,
}

/// One stage, ordinary or finally, after template expansion.
#[derive(Debug, Clone)]
pub struct Stage {
    /// Its id (its index in [`Pipeline::stages`]).
    pub id: StageId,
    /// Its name.
    pub name: String,
    /// True for `finally` stages.
    pub finally: bool,
    /// Stages it waits for and receives outputs from.
    pub needs: Vec<StageId>,
    /// The script, byte-for-byte.
    pub script: String,
    /// The command line that runs [`Stage::script`], split at whitespace
    /// (never empty): the runtime runs `shell[0]` with the rest of `shell`
    /// as arguments, then the path of a file holding the script. From the
    /// stage's `shell`, else its template's, else the flow's, else
    /// [`DEFAULT_SHELL`]; `shell "bash"` is [`DEFAULT_SHELL`] and `shell
    /// "sh"` is `sh -e` (see [`shell_argv`]).
    pub shell: Vec<String>,
    /// `run builtin "NAME"`: the stage runs the async function the
    /// embedding program registered as NAME instead of a script
    /// ([`Stage::script`] is empty). `None` for a script stage.
    pub builtin: Option<String>,
    /// Per-attempt time limit.
    pub timeout: Option<Duration>,
    /// `approval "a", "b"`: the stage runs no script; it waits for a
    /// person's decision (one of these words, given with `flow approve`),
    /// which becomes its status. `None` for an ordinary stage.
    pub approval: Option<Vec<String>>,
    /// Per-attempt limit on silence (`idle D`): an attempt that writes
    /// nothing to stdout or stderr for this long is ended as if it timed
    /// out.
    pub idle: Option<Duration>,
    /// Bound on what this stage's attempts (all visits) report they used
    /// (`budget`); the flow's [`Pipeline::budget`] bounds the run.
    pub budget: Option<Budget>,
    /// SIGTERM → SIGKILL delay (default 10 s).
    pub grace: Duration,
    /// Retry policy (zero retries by default).
    pub retry: Retry,
    /// Output globs relative to the stage directory that must each match
    /// at least one file (`outputs`).
    pub outputs: Vec<String>,
    /// Output globs that may match nothing (`optional outputs`).
    pub optional_outputs: Vec<String>,
    /// `when`, evaluated when the stage would start.
    pub when: Option<CompiledExpr>,
    /// Stage env: template arguments (upper-cased name, literal text; a
    /// `skill` argument also `NAME_FILE`, a [`EnvValue::LibraryFile`]) and
    /// `env` items (expressions), in order.
    pub env: Vec<(String, EnvValue)>,
    /// `status json`.
    pub status_json: bool,
    /// `max N` visits.
    pub max_visits: Option<u32>,
    /// `allow_failure`.
    pub allow_failure: bool,
    /// `ends run NAME`.
    pub ends_run: Option<String>,
    /// Routes in source order (template's first).
    pub routes: Vec<Route>,
    /// True when some route of another stage points here: the stage then
    /// starts only when routed to (see the semantics in docs/language.md).
    pub route_target: bool,
    /// Index into [`Pipeline::libraries`] when built from a template
    /// (its folder is exported as `$FLOW_LIB`).
    pub library: Option<usize>,
}

/// The value of an env variable of a stage.
#[derive(Debug, Clone)]
pub enum EnvValue {
    /// Fixed text (template arguments).
    Literal(String),
    /// A path relative to the stage's library folder (`skills/plan.md`, the
    /// `NAME_FILE` of a `skill` argument); the runtime exports it absolute,
    /// joined to the folder the library is materialised in.
    LibraryFile(String),
    /// A file of another library of the pipeline (a skill of a library the
    /// flow uses, `"team.review"`, or of the flow's folder, `"./review"`):
    /// `file` relative to [`Pipeline::libraries`]`[library]`'s folder; the
    /// runtime exports it absolute, as for [`EnvValue::LibraryFile`].
    FileOf {
        /// Index into [`Pipeline::libraries`].
        library: usize,
        /// The path relative to that library's folder (`skills/review.md`).
        file: String,
    },
    /// A rhai expression evaluated when the attempt starts.
    Expr(CompiledExpr),
}

/// `retry N delay D backoff F`.
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    /// Extra attempts after the first.
    pub retries: u32,
    /// Delay before the first retry.
    pub delay: Duration,
    /// Factor applied to the delay at each further retry (≥ 1.0).
    pub backoff: f64,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            retries: 0,
            delay: Duration::ZERO,
            backoff: 1.0,
        }
    }
}

impl Retry {
    /// The delay before retry `k` (1-based): `delay × backoff^(k-1)`, at
    /// most [`MAX_DURATION`]. Never panics, whatever the fields hold: a
    /// factor that is not finite or overflows saturates at the bound, and a
    /// negative or NaN `backoff` counts as 1.
    pub fn delay_before(&self, k: u32) -> Duration {
        let base = self.delay.min(MAX_DURATION);
        let backoff = if self.backoff.is_nan() || self.backoff < 1.0 {
            1.0
        } else {
            self.backoff
        };
        let exponent = i32::try_from(k.saturating_sub(1)).unwrap_or(i32::MAX);
        let factor = backoff.powi(exponent);
        let seconds = base.as_secs_f64() * factor;
        if !seconds.is_finite() || seconds >= MAX_DURATION.as_secs_f64() {
            return MAX_DURATION;
        }
        Duration::try_from_secs_f64(seconds).map_or(MAX_DURATION, |d| d.min(MAX_DURATION))
    }
}

/// The argv prefix a `shell "…"` setting stands for: `bash` alone is
/// [`DEFAULT_SHELL`] and `sh` alone is `sh -e`, as GitHub Actions reads
/// `shell: bash` and `shell: sh`; any other text is split at whitespace and
/// used as written (`sh -eu` → `["sh", "-eu"]`, `python3` → `["python3"]`).
/// Empty for blank text (which `flow check` rejects).
pub fn shell_argv(text: &str) -> Vec<String> {
    match text.trim() {
        "bash" => DEFAULT_SHELL.iter().map(|w| w.to_string()).collect(),
        "sh" => vec!["sh".into(), "-e".into()],
        other => other.split_whitespace().map(str::to_string).collect(),
    }
}

/// [`DEFAULT_SHELL`] as owned words, for [`Stage::shell`].
pub fn default_shell() -> Vec<String> {
    DEFAULT_SHELL.iter().map(|w| w.to_string()).collect()
}

/// A route of a stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The outcome it matches.
    pub on: RouteOn,
    /// Where it goes.
    pub target: RouteTarget,
}

/// The outcome a route matches.
#[derive(Debug, Clone, PartialEq)]
pub enum RouteOn {
    /// Exit 0 (and no more specific route matched).
    Success,
    /// Any non-success no more specific route matched.
    Failure,
    /// The attempt hit its timeout.
    Timeout,
    /// The attempt crossed a `budget` (the stage's or the flow's).
    Budget,
    /// One of these exit codes.
    Exit(Vec<i32>),
    /// Structured status equal to this text.
    Status(String),
}

impl std::fmt::Display for RouteOn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RouteOn::Success => f.write_str("success"),
            RouteOn::Failure => f.write_str("failure"),
            RouteOn::Timeout => f.write_str("timeout"),
            RouteOn::Budget => f.write_str("budget"),
            RouteOn::Exit(codes) => {
                let c: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
                write!(f, "exit {}", c.join(", "))
            }
            RouteOn::Status(s) => write!(f, "status {s:?}"),
        }
    }
}

/// Where a route goes.
#[derive(Debug, Clone, PartialEq)]
pub enum RouteTarget {
    /// Activate that stage.
    Stage(StageId),
    /// Re-run this stage after the delay.
    Again(Duration),
}

/// A template library the pipeline uses: its files, to write under the run
/// folder so scripts can read skills and helpers (`$FLOW_LIB`).
#[derive(Debug, Clone)]
pub struct Library {
    /// The `use` alias (`std`).
    pub name: String,
    /// Where it lives on disk, if it does (`None` for the embedded `std`).
    pub dir: Option<std::path::PathBuf>,
    /// Relative path → contents, for embedded libraries.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// True when `name` may name a builtin (`run builtin "NAME"`): an
/// identifier of the language, `[A-Za-z_][A-Za-z0-9_-]*`, so that a program
/// can register it and generated Rust code can name it (`-` becomes `_`).
pub fn is_builtin_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Pipeline {
    /// The builtins its stages run (`run builtin "NAME"`), each once, sorted.
    pub fn builtins(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .stages
            .iter()
            .filter_map(|s| s.builtin.as_deref())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_before_grows_by_the_backoff() {
        let r = Retry {
            retries: 3,
            delay: Duration::from_secs(2),
            backoff: 3.0,
        };
        assert_eq!(r.delay_before(1), Duration::from_secs(2));
        assert_eq!(r.delay_before(2), Duration::from_secs(6));
        assert_eq!(r.delay_before(3), Duration::from_secs(18));
        assert_eq!(Retry::default().delay_before(5), Duration::ZERO);
    }

    #[test]
    fn delay_before_saturates_instead_of_panicking() {
        // Issue 6: `retry 3 backoff 1e20` panicked in `Duration::mul_f64`.
        let huge = Retry {
            retries: 3,
            delay: Duration::from_secs(1),
            backoff: 1e20,
        };
        assert_eq!(huge.delay_before(3), MAX_DURATION);
        for backoff in [f64::INFINITY, f64::NAN, -5.0, f64::MAX, 0.0] {
            let r = Retry {
                retries: u32::MAX,
                delay: Duration::MAX,
                backoff,
            };
            for k in [0, 1, 2, u32::MAX] {
                assert!(r.delay_before(k) <= MAX_DURATION);
            }
        }
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell_argv("bash"), default_shell());
        assert_eq!(shell_argv(" sh "), ["sh", "-e"]);
        assert_eq!(shell_argv("sh -eu"), ["sh", "-eu"]);
        assert_eq!(shell_argv("bash -x"), ["bash", "-x"]);
        assert_eq!(shell_argv("python3"), ["python3"]);
        assert!(shell_argv("  ").is_empty());
    }
}
