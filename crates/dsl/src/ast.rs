//! The syntax tree of one `.flow` file, as written, with the byte span of
//! every node. Produced by [`crate::parse`]; consumed by [`crate::load`] and
//! [`crate::check`]. Nothing here is resolved or validated beyond syntax.

use crate::span::Span;

/// A value with the byte span of the text it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub node: T,
    /// Byte range in the source file.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Wraps `node` with `span`.
    pub fn new(node: T, span: Span) -> Self {
        Spanned { node, span }
    }
}

/// An identifier (flow, stage, param, template … name).
pub type Ident = Spanned<String>;

/// One parsed file: its imports, its flows and its templates, in source order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    /// `use std` / `use "path" as name`.
    pub uses: Vec<Use>,
    /// `flow NAME { … }` blocks (a runnable file has exactly one).
    pub flows: Vec<Flow>,
    /// `template NAME(…) { … }` blocks.
    pub templates: Vec<Template>,
    /// Every comment, in source order: its text from the `#` to the end of
    /// the line (without a `\r`). A `#` inside a string, a `"""` script or an
    /// expression is not a comment. Read by [`crate::suppress`].
    pub comments: Vec<Spanned<String>>,
}

/// `use std` (path `None`, alias `std`) or `use "path" as alias`.
#[derive(Debug, Clone, PartialEq)]
pub struct Use {
    /// The quoted path, or `None` for the bundled `std`.
    pub path: Option<Spanned<String>>,
    /// The name templates are referred by (`std` for `use std`).
    pub alias: Ident,
    /// The whole `use` item.
    pub span: Span,
}

/// `flow NAME { … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// The flow's name.
    pub name: Ident,
    /// Items in source order.
    pub items: Vec<FlowItem>,
    /// The whole block.
    pub span: Span,
}

/// One item at flow level.
#[derive(Debug, Clone, PartialEq)]
pub enum FlowItem {
    /// `description "…"`.
    Description(Spanned<String>),
    /// `param NAME: TYPE [= DEFAULT]`.
    Param(ParamDecl),
    /// `timeout D` (the whole run).
    Timeout(Spanned<DurationLit>),
    /// `concurrency N`.
    Concurrency(Spanned<i64>),
    /// `skip if EXPR`.
    SkipIf(Expr),
    /// `let NAME = EXPR`.
    Let(Ident, Expr),
    /// `env NAME = EXPR`.
    Env(Ident, Expr),
    /// `secret NAME`.
    Secret(Ident),
    /// `shell "bash"`: the default command line of the flow's stages
    /// (unsplit, as written).
    Shell(Spanned<String>),
    /// `alert METRIC[(STAGE)] OP VALUE`.
    Alert(AlertDecl),
    /// `budget 5 usd, 200000 tokens`: a bound on the whole run's usage.
    Budget(BudgetDecl),
    /// `trigger cron "EXPR"` or `trigger every D`.
    Trigger(TriggerDecl),
    /// `stage NAME [: TEMPLATE(ARGS)] { … }`.
    Stage(StageDecl),
    /// `finally NAME { … }` (a stage with [`StageDecl::finally`] set).
    Finally(StageDecl),
}

/// `alert METRIC[(STAGE)] OP VALUE` (`alert p95(build) > 10m`): a threshold
/// on the flow's run statistics. The metric's name, its stage and the
/// value's kind are checked by the checker, not the parser.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertDecl {
    /// The metric as written (`success_rate`, `p95` …).
    pub metric: Ident,
    /// The stage in parentheses, for per-stage metrics.
    pub stage: Option<Ident>,
    /// `<`, `<=`, `>` or `>=`.
    pub op: Spanned<String>,
    /// The threshold.
    pub value: Spanned<AlertValue>,
    /// The whole item.
    pub span: Span,
}

/// `trigger cron "EXPR"` or `trigger every D`: when `flow serve` starts a
/// run. The schedule and the duration are checked by the checker.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerDecl {
    /// What fires it.
    pub kind: TriggerKind,
    /// The whole item.
    pub span: Span,
}

/// The kind of a [`TriggerDecl`], with its value as written.
#[derive(Debug, Clone, PartialEq)]
pub enum TriggerKind {
    /// `cron "EXPR"`: the string's value (escapes resolved); its span
    /// covers the quotes.
    Cron(Spanned<String>),
    /// `every D`.
    Every(Spanned<DurationLit>),
}

/// The threshold of an [`AlertDecl`] as written.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertValue {
    /// A plain number (`0.8`, `5`).
    Number(f64),
    /// A duration (`10m`).
    Duration(DurationLit),
}

/// `param NAME: TYPE [= DEFAULT]`, also used for template parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDecl {
    /// The parameter's name.
    pub name: Ident,
    /// Its declared type.
    pub ty: Spanned<TypeName>,
    /// Its default value, if any.
    pub default: Option<Spanned<Literal>>,
    /// The whole declaration.
    pub span: Span,
}

/// A type as written. Unknown names are kept (`Other`) so the checker can
/// report them with a span.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TypeName {
    /// `int`: a 64-bit signed integer.
    Int,
    /// `float`: a 64-bit float.
    Float,
    /// `bool`.
    Bool,
    /// `str`.
    Str,
    /// `path`: a string naming a file, folder or URL.
    Path,
    /// `duration`: seconds in expressions.
    Duration,
    /// `list<str>`.
    ListStr,
    /// `skill`: the name of `skills/NAME.md` in the template's library (template parameters only).
    Skill,
    /// Any other spelling, kept for the diagnostic.
    Other(String),
}

/// A literal: a default value or a template argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `"text"` (escapes resolved).
    Str(String),
    /// `42`, `-1`.
    Int(i64),
    /// `1.5`.
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `30s`, `1h30m` (unvalidated text).
    Duration(DurationLit),
    /// `["a", "b"]`.
    List(Vec<Spanned<Literal>>),
}

/// A duration as written (`"1h30m"`); validated by the checker with humantime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationLit(pub String);

/// A rhai expression kept as source text with its span (trimmed, without the
/// trailing comment). Compiled by the checker.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// The rhai source.
    pub source: String,
    /// Where `source` starts and ends in the file.
    pub span: Span,
}

/// `stage NAME [: lib.template(args)] { … }` or `finally NAME { … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct StageDecl {
    /// The stage's name.
    pub name: Ident,
    /// `: std.agent(skill: "plan")`, if built from a template.
    pub template: Option<TemplateCall>,
    /// Items in source order.
    pub items: Vec<StageItem>,
    /// True for `finally NAME { … }`.
    pub finally: bool,
    /// The whole block.
    pub span: Span,
}

/// `lib.name(arg: value, …)` or `name(…)` (a template in the same file).
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateCall {
    /// `std` in `std.agent`, `None` for a template of the same file.
    pub library: Option<Ident>,
    /// `agent`.
    pub name: Ident,
    /// Named arguments in order.
    pub args: Vec<TemplateArg>,
    /// From the library name to the closing parenthesis.
    pub span: Span,
}

/// `name: literal` in a template call.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateArg {
    /// The parameter it sets.
    pub name: Ident,
    /// The value.
    pub value: Spanned<Literal>,
}

/// One item in a stage (or template) body.
#[derive(Debug, Clone, PartialEq)]
pub enum StageItem {
    /// `needs A, B`.
    Needs(Vec<Ident>),
    /// `run "…"` or `run """…"""`: the script after unescaping / dedent.
    Run(Spanned<String>),
    /// `run builtin "NAME"`: the stage is an async function the embedding
    /// program registers under NAME (no script).
    RunBuiltin(Spanned<String>),
    /// `timeout D`.
    Timeout(Spanned<DurationLit>),
    /// `grace D`.
    Grace(Spanned<DurationLit>),
    /// `idle D`: no output for D ends the attempt like its timeout.
    Idle(Spanned<DurationLit>),
    /// `budget 5 usd, 200000 tokens`: a bound on the stage's usage.
    Budget(BudgetDecl),
    /// `approval "approved", "rejected"`: the stage waits for a person's
    /// decision, one of these words, instead of running a script.
    Approval(Vec<Spanned<String>>),
    /// `retry N [delay D] [backoff F]`.
    Retry(RetryDecl),
    /// `outputs a, "b c", dir/*.txt`.
    Outputs(Vec<Spanned<String>>),
    /// `optional outputs a, dir/*.log`: patterns that may match nothing.
    OptionalOutputs(Vec<Spanned<String>>),
    /// `shell "sh -eu"`: the command line that runs the script (unsplit).
    Shell(Spanned<String>),
    /// `when EXPR`.
    When(Expr),
    /// `env NAME = EXPR`.
    Env(Ident, Expr),
    /// `status json` (the format name is kept for the diagnostic).
    Status(Ident),
    /// `max N`, or `max PARAM`.
    Max(ParamOr<Spanned<i64>>),
    /// `allow_failure`.
    AllowFailure(Span),
    /// `ends run NAME`.
    EndsRun(Ident),
    /// `on OUTCOME -> TARGET`.
    Route(RouteDecl),
}

impl StageItem {
    /// The keyword that starts the item (for "duplicate setting" diagnostics).
    pub fn keyword(&self) -> &'static str {
        match self {
            StageItem::Needs(_) => "needs",
            StageItem::Run(_) | StageItem::RunBuiltin(_) => "run",
            StageItem::Timeout(_) => "timeout",
            StageItem::Grace(_) => "grace",
            StageItem::Idle(_) => "idle",
            StageItem::Budget(_) => "budget",
            StageItem::Approval(_) => "approval",
            StageItem::Retry(_) => "retry",
            StageItem::Outputs(_) => "outputs",
            StageItem::OptionalOutputs(_) => "optional outputs",
            StageItem::Shell(_) => "shell",
            StageItem::When(_) => "when",
            StageItem::Env(..) => "env",
            StageItem::Status(_) => "status",
            StageItem::Max(_) => "max",
            StageItem::AllowFailure(_) => "allow_failure",
            StageItem::EndsRun(_) => "ends run",
            StageItem::Route(_) => "on",
        }
    }
}

/// `budget 5 usd, 200000 tokens`: limits on what agents report they used
/// (unvalidated; the checker requires each unit once, each amount > 0).
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetDecl {
    /// The limits, as written.
    pub limits: Vec<Spanned<BudgetLimit>>,
    /// The whole item.
    pub span: Span,
}

/// One limit of a `budget`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BudgetLimit {
    /// `N usd`: US dollars (`cost_usd`).
    Usd(f64),
    /// `N tokens`: input plus output tokens.
    Tokens(f64),
}

/// `retry N [delay D] [backoff F]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryDecl {
    /// Extra attempts after the first.
    pub count: Spanned<i64>,
    /// Wait before the first retry.
    pub delay: Option<Spanned<DurationLit>>,
    /// Factor applied to the delay at each further retry.
    pub backoff: Option<Spanned<f64>>,
    /// The whole item.
    pub span: Span,
}

/// `on OUTCOME -> TARGET`.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteDecl {
    /// What the route matches.
    pub on: Spanned<RouteOn>,
    /// Where it goes.
    pub target: RouteTargetDecl,
    /// The whole item.
    pub span: Span,
}

/// The outcome a route matches, as written.
#[derive(Debug, Clone, PartialEq)]
pub enum RouteOn {
    /// `success`.
    Success,
    /// `failure`.
    Failure,
    /// `timeout`.
    Timeout,
    /// `budget`: the attempt crossed a `budget`.
    Budget,
    /// `exit 2, 3` (codes unvalidated; the checker requires 0–255).
    Exit(Vec<Spanned<i64>>),
    /// `status "BLOCKED"`.
    Status(Spanned<String>),
}

/// The target of a route, as written.
#[derive(Debug, Clone, PartialEq)]
pub enum RouteTargetDecl {
    /// A stage name.
    Stage(Ident),
    /// `again after D`, or `again after PARAM`.
    Again(ParamOr<Spanned<DurationLit>>),
}

/// A setting's value as written: a literal, or the name of a param (of the
/// flow, or of the template whose body it is in).
#[derive(Debug, Clone, PartialEq)]
pub enum ParamOr<T> {
    /// A literal.
    Value(T),
    /// A param's name.
    Param(Ident),
}

impl<T> ParamOr<Spanned<T>> {
    /// Where it is written.
    pub fn span(&self) -> Span {
        match self {
            ParamOr::Value(v) => v.span,
            ParamOr::Param(p) => p.span,
        }
    }

    /// The literal, if it is one.
    pub fn literal(&self) -> Option<&Spanned<T>> {
        match self {
            ParamOr::Value(v) => Some(v),
            ParamOr::Param(_) => None,
        }
    }
}

/// `template NAME(PARAMS) { stage items }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// The template's name.
    pub name: Ident,
    /// Its typed parameters.
    pub params: Vec<ParamDecl>,
    /// The stage body it provides.
    pub items: Vec<StageItem>,
    /// The whole block.
    pub span: Span,
}
