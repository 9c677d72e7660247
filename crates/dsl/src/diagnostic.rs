//! Diagnostics are data: a stable [`Code`], a severity, labelled spans in one
//! source file and a help line. Renderers (miette for people, JSON for tools)
//! live in the CLI; [`Diagnostic`] implements [`miette::Diagnostic`] through
//! [`Rendered`].

use crate::span::{SourceId, SourceMap, Span};
use serde::Serialize;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The flow still checks; shown to the user.
    Warning,
    /// The flow cannot run.
    Error,
}

/// A labelled span. The first label of a diagnostic is its primary one.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// Byte range in the diagnostic's file.
    pub span: Span,
    /// Short text shown at the span.
    pub message: String,
}

/// One problem found in a flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Stable code (`F0003`), explained by `flow explain`.
    pub code: Code,
    /// Error or warning (defaults from the code).
    pub severity: Severity,
    /// One sentence saying what is wrong.
    pub message: String,
    /// The file the labels point into.
    pub source: SourceId,
    /// Primary label first.
    pub labels: Vec<Label>,
    /// How to fix it.
    pub help: Option<String>,
    /// The name the help's "did you mean" proposes, as an edit an editor
    /// can apply (`flow lsp`'s quick fix), when there is one.
    pub suggestion: Option<Suggestion>,
}

/// A replacement proposed by a diagnostic: write `replacement` over `span`
/// (in the diagnostic's file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// The text to replace (a misspelt name).
    pub span: Span,
    /// What to write instead (the close name).
    pub replacement: String,
}

impl Diagnostic {
    /// A diagnostic with `code`'s default severity and a primary label.
    pub fn new(code: Code, source: SourceId, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            source,
            labels: vec![Label {
                span,
                message: String::new(),
            }],
            help: None,
            suggestion: None,
        }
    }

    /// Sets the primary label's text.
    pub fn label(mut self, text: impl Into<String>) -> Self {
        self.labels[0].message = text.into();
        self
    }

    /// Adds a secondary label.
    pub fn secondary(mut self, span: Span, text: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: text.into(),
        });
        self
    }

    /// Sets the help line.
    pub fn help(mut self, text: impl Into<String>) -> Self {
        self.help = Some(text.into());
        self
    }

    /// Proposes `replacement` for the text at `span` (a "did you mean").
    pub fn suggest(mut self, span: Span, replacement: impl Into<String>) -> Self {
        self.suggestion = Some(Suggestion {
            span,
            replacement: replacement.into(),
        });
        self
    }

    /// The primary span.
    pub fn span(&self) -> Span {
        self.labels[0].span
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Pairs this diagnostic with its source text for miette.
    pub fn render<'a>(&'a self, sources: &'a SourceMap) -> Rendered<'a> {
        let file = sources.get(self.source);
        let named =
            miette::NamedSource::new(file.name.clone(), file.text.clone()).with_language("flow");
        Rendered {
            diag: self,
            text: file.text.clone(),
            named,
        }
    }
}

/// A [`Diagnostic`] with its source, ready for miette's report handlers.
/// Label spans are clamped into the text (miette drops a zero-length label at
/// the very end of a file and may panic past it).
#[derive(Debug)]
pub struct Rendered<'a> {
    diag: &'a Diagnostic,
    text: std::sync::Arc<str>,
    named: miette::NamedSource<std::sync::Arc<str>>,
}

impl std::fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl std::error::Error for Rendered<'_> {}

impl miette::Diagnostic for Rendered<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        Some(Box::new(self.diag.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.diag
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.named as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let text = &self.text;
        let labels = self.diag.labels.iter().enumerate().map(move |(i, l)| {
            let span = clamp(text, l.span);
            let msg = (!l.message.is_empty()).then(|| l.message.clone());
            if i == 0 {
                miette::LabeledSpan::new_primary_with_span(msg, span)
            } else {
                miette::LabeledSpan::new_with_span(msg, span)
            }
        });
        Some(Box::new(labels))
    }
}

/// Moves a span into `text`: within bounds, on char boundaries, and a span at
/// or past the end onto the last non-blank character.
pub fn clamp(text: &str, span: Span) -> miette::SourceSpan {
    let len = text.len();
    let mut start = span.start.min(len);
    let mut end = span.end.clamp(start, len);
    if start >= len || (start == end && text[start..].trim().is_empty()) {
        let last = text.trim_end().len();
        start = text[..last]
            .char_indices()
            .next_back()
            .map_or(0, |(i, _)| i);
        end = last.max(start);
    }
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    while !text.is_char_boundary(end) {
        end += 1;
    }
    (start, end - start).into()
}

macro_rules! codes {
    ($( $variant:ident = $code:literal, $sev:ident, $title:literal, $explain:literal; )*) => {
        /// Every diagnostic code. Codes are stable: never renumber, only add.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $( #[doc = $title] $variant, )*
        }

        impl Code {
            /// All codes in order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// `"F0003"`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// The default severity.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev,)* }
            }

            /// A one-line title.
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }

            /// The long explanation shown by `flow explain` (markdown: what it
            /// means, an example that triggers it, the fix).
            pub fn explanation(self) -> &'static str {
                match self { $(Code::$variant => $explain,)* }
            }

            /// Looks a code up by its text, case-insensitively (`f0003`).
            pub fn parse(s: &str) -> Option<Code> {
                Code::ALL.iter().copied().find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
            }
        }

        impl Serialize for Code {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl std::fmt::Display for Code {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

codes! {
    Syntax = "F0001", Error, "syntax error",
"The text does not follow the grammar of the .flow language.\n\nExample:\n\n    stage build {\n      run \"make\"\n    # missing closing brace\n\nFix: add or remove what the message names at the marked position (see docs/language.md).";
    Duplicate = "F0002", Error, "duplicate name",
"Two stages, params, lets, env variables, secrets or templates share one name, or a single-valued setting (timeout, run, retry …) appears twice in one stage, or a stage routes one outcome twice to the same target (routes to different targets all fire).\n\nExample:\n\n    stage build { run \"make\" }\n    stage build { run \"make test\" }\n\nFix: rename one of them, or remove the second setting.";
    UnknownStage = "F0003", Error, "unknown stage",
"A `needs` or a route names a stage that the flow does not declare.\n\nExample:\n\n    stage test { needs biuld  run \"make test\" }\n\nFix: use the name of a declared stage (the help suggests the closest one).";
    NeedsCycle = "F0004", Error, "needs cycle",
"Stages wait for each other through `needs`, so none of them can ever start.\n\nExample:\n\n    stage a { needs b  run \"true\" }\n    stage b { needs a  run \"true\" }\n\nFix: remove one `needs` of the cycle; to loop, use a route (`on failure -> a`) through a stage with `max N`.";
    UnboundedLoop = "F0005", Error, "route cycle without max",
"Routes form a cycle and no stage on it has `max N`, so the loop could run forever.\n\nExample:\n\n    stage test { run \"make test\"  on failure -> fix }\n    stage fix  { run \"fix.sh\"  on success -> test }\n\nFix: add `max N` to one stage of the cycle (e.g. `max 3` on fix).";
    Unreachable = "F0006", Error, "stage can never run",
"A stage that routes point to is never routed to on any path from an entry stage, or it needs a stage that can never run.\n\nExample:\n\n    stage a { run \"true\" }\n    stage b { run \"true\"  on success -> c }   # b itself is only started by a route\n\nFix: route to it from a stage that runs (`on success -> it`), or remove it.";
    BadDuration = "F0007", Error, "bad duration",
"A duration is not valid. Durations are a number with a unit: ms, s, m, h, d, and may be summed: 1h30m. A duration that sets a timer (a stage or flow `timeout`, `idle`, `grace`, a `retry` delay, `again after`) is at most 365 days.\n\nExample:\n\n    timeout 10x\n    timeout 999999999999d\n\nFix: write e.g. `timeout 10m`.";
    TypeMismatch = "F0008", Error, "value of the wrong type",
"A param default or a template argument does not have the declared type, or a type name is unknown.\n\nExample:\n\n    param retries: int = \"three\"\n\nFix: give a value of the declared type (types: int, float, bool, str, path, duration, list<str>, skill).";
    ExprSyntax = "F0009", Error, "expression syntax error",
"A rhai expression (skip if, when, let, env) does not parse.\n\nExample:\n\n    when stages.plan.status ==\n\nFix: complete the expression; expressions are rhai (https://rhai.rs/book/).";
    UnknownVariable = "F0010", Error, "unknown variable in expression",
"An expression uses a variable that is not a param, a let, `run`, `stages` or `env`. In a template's body, the template's own parameters take the place of the params and lets: a template does not see the flow that uses it.\n\nExample:\n\n    when isue > 3\n\nFix: use a declared param or let (the help suggests the closest one); in a template, a parameter of the template.";
    UnknownFunction = "F0011", Error, "unknown function in expression",
"An expression calls a function that neither rhai nor flow provides, or with a number of arguments no version of it takes.\n\nExample:\n\n    skip if rnus(\"ai-implement\", \"pending\") > 3\n\nFix: call a known function (flow adds `runs(flow, state)`).";
    UnknownStageRef = "F0012", Error, "unknown stage in expression",
"An expression reads `stages.X` (or a field of it) where X is not a stage of the flow or the field does not exist.\n\nExample:\n\n    when stages.plna.status == \"OK\"\n\nFix: use a declared stage name; fields are outcome, exit_code, status, result, attempts, visits, duration.";
    UnknownTemplate = "F0013", Error, "unknown template or library",
"A stage names a template that its library does not define, or a library that was not imported with `use`.\n\nExample:\n\n    stage plan: std.agnet(skill: \"plan\") { }\n\nFix: use a template the library defines, and `use std` (or `use \"path\" as name`) first.";
    TemplateArgs = "F0014", Error, "wrong template arguments",
"A template call passes an argument the template does not declare, misses a required one, or passes one twice.\n\nExample:\n\n    stage plan: std.agent(skil: \"plan\") { }\n\nFix: pass exactly the template's parameters; the help lists them.";
    MissingSkill = "F0015", Error, "missing skill file",
"A `skill` argument names a skill there is no `skills/NAME.md` file for: in the template's library (`\"plan\"`), in the library a `LIB.NAME` names (`\"team.review\"`, which must be imported with `use`), or beside the flow file (`\"./review\"`).\n\nExample:\n\n    stage plan: std.agent(skill: \"plam\") { }\n    stage review: std.agent(skill: \"tema.review\") { }\n\nFix: name an existing skill (the help lists them), import its library, or add the markdown file to the library's skills/ folder.";
    OutputClash = "F0016", Error, "two needs produce the same output",
"Two stages that one stage needs both produce an output with the same file name, so one would overwrite the other in its directory.\n\nExample:\n\n    stage a { run \"…\"  outputs report.txt }\n    stage b { run \"…\"  outputs report.txt }\n    stage c { needs a, b  run \"cat report.txt\" }\n\nFix: give the outputs different names.";
    OutputEscapes = "F0017", Error, "output escapes the stage directory",
"An `outputs` path is absolute or climbs out of the stage directory with `..`.\n\nExample:\n\n    outputs ../secret.txt\n\nFix: write outputs inside the stage's working directory and name them relative to it; share bigger state through $FLOW_WORKSPACE.";
    UnboundedAgain = "F0018", Error, "`again` without a bound",
"A route re-runs its stage (`again after D`) but neither the stage has `max N` nor the flow a `timeout`, so it could poll forever.\n\nExample:\n\n    stage wait { run \"check.sh\"  on exit 10 -> again after 1m }\n\nFix: add `max N` to the stage or `timeout D` to the flow.";
    Import = "F0019", Error, "library cannot be loaded",
"A `use \"path\" as name` names a folder that does not exist or cannot be read, or a library file defines something other than templates.\n\nExample:\n\n    use \"./nope\" as mine\n\nFix: give the path of a folder holding *.flow template files, relative to the file that uses it.";
    MissingRun = "F0020", Error, "stage without a script",
"A stage has no `run` and its template gives none.\n\nExample:\n\n    stage build { timeout 1m }\n\nFix: add `run \"…\"`.";
    ImpossibleRoute = "F0021", Error, "route for an outcome that cannot occur",
"A route matches an outcome the stage can never have: `status` on a stage without `status json`, or an exit code outside 0-255.\n\nExample:\n\n    stage a { run \"true\"  on status \"DONE\" -> b }\n\nFix: add `status json` to the stage, or route on exit codes.";
    BadValue = "F0022", Error, "invalid setting value",
"A setting's value is out of range or not understood: `max 0`, `retry -1` or more than 1000 retries, `concurrency 0`, a backoff below 1 or above 10, `status` other than `json`, a `shell` that is blank, has quotes or GitHub's `{0}`.\n\nExample:\n\n    max 0\n    retry 3 backoff 1e20\n\nFix: use a value in range (`max 1`, `retry 3 backoff 2`, `shell \"sh -eu\"`).";
    NoFlow = "F0023", Error, "no runnable flow",
"The file to run has no `flow` block, or has more than one.\n\nExample: a file holding only templates given to `flow run`.\n\nFix: put exactly one `flow NAME { … }` in the file.";
    FinallyMisuse = "F0024", Error, "misuse of a finally stage",
"A route points to a `finally` stage, a `finally` stage has routes, or an ordinary stage needs a `finally` stage. Finally stages run once, after everything else.\n\nExample:\n\n    stage a { run \"true\"  on failure -> cleanup }\n    finally cleanup { run \"rm -rf tmp\" }\n\nFix: remove the route; finally stages run anyway.";
    NotBool = "F0026", Error, "condition is not a bool",
"A `when`, `skip if` or route guard gives a value that is not a bool, so it can never be true or false.\n\nExample:\n\n    param issue: int\n    stage a { when issue  run \"true\" }\n\nFix: compare it: `when issue > 0`.";
    TypeClash = "F0027", Error, "incompatible types in expression",
"An expression combines values whose types cannot go together: arithmetic or comparison between a param's type and another (an int with a string, a bool with a number), or a call whose arguments have types no version of the function takes.\n\nExample:\n\n    param issue: int\n    param title: str\n    let x = issue - title\n\nFix: convert one side (`issue.to_string()`, `parse_int(title)`), or compare like with like.";
    ReservedName = "F0028", Error, "name that would replace a variable the shell or flow relies on",
"A param, let, env variable, secret or template parameter would set an environment variable that the shell, the programs a script runs, or flow itself rely on, so every script of the run would misbehave. Params, lets and template parameters are exported upper-cased: `param path` becomes `$PATH`. Refused: PATH, HOME, IFS, BASH_ENV, ENV, SHELLOPTS, BASHOPTS, BASH_XTRACEFD, BASH_COMPAT, POSIXLY_CORRECT, CDPATH, GLOBIGNORE, PS4, PWD, OLDPWD, SHELL, and every name starting with LD_, DYLD_ or FLOW_.\n\nExample:\n\n    param path: path      # every stage would run with PATH=<that path>\n\nFix: rename it (`param repo_path`). To add a folder to PATH, write `export PATH=\"/opt/tool/bin:$PATH\"` in the script.";
    UnknownSettingParam = "F0029", Error, "`max` or `again after` names no param",
"`max NAME` and `again after NAME` take their value from a param: in a stage, a param of the flow; in a template's body, a parameter of the template. The name given is neither.\n\nExample:\n\n    param tries: int = 3\n    stage fix { max trys  run \"make fix\"  on failure -> again after 1m }\n\nFix: name a declared param (an `int` for `max`, a `duration` for `again after`), or write the value.";
    ApprovalMisuse = "F0030", Error, "misuse of an approval stage",
"A stage with `approval` waits for a person's decision instead of running a script, so the settings of a script make no sense there: `run`, `shell`, `retry`, `outputs`, `optional outputs`, `idle`, `status`. Its decisions are words a person types (`flow approve RUN STAGE --decision WORD`): not empty, without spaces or quotes, each once.\n\nExample:\n\n    stage review { approval \"approved\", \"rejected\"  run \"make\" }\n    stage gate { approval \"looks good\" }\n\nFix: move the script to a stage of its own; write decisions as single words (`approved`, `looks_good`).";
    BadAlert = "F0031", Error, "invalid alert",
"An `alert` names a metric of `flow stats` (`success_rate`, `escalation_rate`, `cost_usd`, or per stage `visits(STAGE)`, `p50(STAGE)`, `p95(STAGE)`), a comparison (`<`, `<=`, `>`, `>=`) and a threshold of the metric's kind: a share from 0 to 1 for the rates, US dollars for `cost_usd`, a number of visits, a duration for `p50`/`p95`. This one names no such metric, gives a stage to a flow-wide metric (or none to a per-stage one), or a threshold of the wrong kind or out of range.\n\nExample:\n\n    alert success_rate < 80\n    alert p95 > 10m\n    alert cost_usd > 5m\n\nFix: `alert success_rate < 0.8`, `alert p95(build) > 10m`, `alert cost_usd > 5`.";
    LibraryLock = "F0035", Error, "library does not match its lock",
"A git library (`use \"git+URL@REV\" as name`) is pinned by the flow's lock file (`FLOW.flow.lock`) to a commit and a SHA-256 of its files, and what is on this machine is not that: the cached copy was changed, or fetching the locked commit gave other files, or the commit cannot be found any more. flow never switches silently to other files.\n\nExample: a file of `~/.cache/flow/libs/trees/…` edited by hand.\n\nFix: remove the cached folder the message names (flow fetches the locked commit again), or run `flow update FLOW` to pin what the revision points to now, and review the change.";
    SkillFrontMatter = "F0036", Error, "invalid skill front matter",
"A skill file (`skills/NAME.md`) used by a stage has a front matter block (between `---` lines at its top) that flow-agent would misread: a line that is not `key: value`, a key given twice, a block that is not closed, or a value that is not valid for its key: `commits:` yes or no, `permissions:` read-only, edit or full, `statuses:` comma-separated UPPER_CASE words, `status_fields:` and `outputs:` comma-separated names or globs.\n\nExample:\n\n    ---\n    name: review\n    commits: maybe\n    statuses: done, Blocked\n    ---\n\nFix: write the values as listed (`commits: no`, `statuses: DONE, BLOCKED`).";
    BadTrigger = "F0037", Error, "invalid trigger",
"A `trigger` says when `flow serve` starts a run of the flow by itself (`flow run` ignores it), in UTC. `trigger cron \"…\"` takes a cron schedule of 5 fields (minute hour day-of-month month day-of-week), 6 (the same and a year) or 7 (a second first, then the same and a year), or `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`; day-of-week 0 and 7 are Sunday. `trigger every D` takes a duration from 1s to 365d. This one has a field that is not valid in its place (the label shows which), the wrong number of fields, a schedule that matches no date at all, an interval out of range, or it repeats another trigger of the flow (it would fire twice at once).\n\nExample:\n\n    trigger cron \"0 25 * * *\"\n    trigger cron \"0 0 30 2 *\"\n    trigger every 500ms\n\nFix: `trigger cron \"0 23 * * *\"` (hours are 0-23), a day that exists, `trigger every 1s` or longer; remove the repeated trigger.";
    RunOptionParam = "F0038", Error, "param named like an option of `flow run`",
"A param is given on the command line as `--NAME` (and `--NA-ME` for `NA_ME`). A param whose option is one of `flow run`'s own (`--jobs`, `--quiet`, `--runs-dir`, `--secrets-file`, `--submitted`, `--help`) could not be told apart from it.\n\nExample:\n\n    param runs_dir: path = \"out\"   # `--runs-dir` is where flow keeps its runs\n\nFix: rename it (`param output_dir`).";
    BuiltinMisuse = "F0039", Error, "misuse of a builtin stage",
"A stage with `run builtin \"NAME\"` runs an async function that the program embedding flow registers under NAME (docs/embedding.md), not a script. So the settings of a script make no sense there (`shell`; `idle`, which watches a process's output), nor does `approval`, and NAME must be a plain name (letters, digits, `_`, `-`, not starting with a digit) so the program can register it and the generated Rust code can name it.\n\nExample:\n\n    stage fetch { run builtin \"fetch issue\"  shell \"sh\" }\n\nFix: name the builtin `fetch_issue`; remove `shell` and `idle` (a builtin is bounded by `timeout`).";
    NoTimeout = "F0101", Warning, "stage without a timeout",
"A stage has no `timeout`, so a hung command blocks the run until the flow's timeout (or forever).\n\nExample:\n\n    stage build { run \"make\" }\n\nFix: add `timeout 10m` (any duration) to the stage, or a flow-level `timeout`.";
    NeedMayNotRun = "F0102", Warning, "a need may not have run",
"A stage started by a route needs a stage that may not have run when a route starts it; the need's files are then absent from its directory. The diagnostic shows one shortest such path of routes. A route target waits for needs that can still run, so a need is reported only when some stage that routes to it can start in a run where the need did not run (it comes after a stage that failed, or is itself only started by routes). Needs that start in every run that goes on (an entry stage) are not reported; `when` conditions are not considered.\n\nExample:\n\n    stage setup { run \"…\"  on failure -> notify }\n    stage plan { needs setup  run \"…\" }\n    stage notify { needs plan  run \"…\" }   # reached from setup's failure, before plan ran\n\nFix: route to the stage only after the need ran, or drop the need. A handler written to cope with the missing files says so with `# flow: allow(F0102)` on the line before the `needs`.";
    RouteTargetNotOnPath = "F0103", Warning, "route target also needed on the normal path",
"A stage is started only by routes, but it looks like it was meant to run on the normal path: it needs a stage that does not route to it. Routes replace the default start.\n\nExample:\n\n    stage test { needs build  run \"make test\" }\n    stage fix { run \"…\"  max 3  on success -> test }\n\nFix: add `on success -> test` to build, or remove the route.";
    UnusedSuppression = "F0104", Warning, "unused suppression",
"A `# flow: allow(CODE)` comment silences nothing: no diagnostic with that code starts on the next line.\n\nExample:\n\n    # flow: allow(F0101)\n    stage build { timeout 1m  run \"make\" }\n\nFix: remove the comment, or move it to the line before the diagnostic it is meant for.";
    Shellcheck = "F0105", Warning, "shellcheck finding in a script",
"shellcheck (https://www.shellcheck.net) reports a problem in a stage's `run` script, checked in the dialect of the stage's `shell` (bash by default; sh, dash, ksh; a script of another program, such as `shell \"python3\"`, is not checked). The message starts with shellcheck's own code (SC2086 …), which its wiki explains.\n\nExample:\n\n    run \"rm -rf $DIR/\"     # SC2115, SC2086\n\nFix: follow shellcheck's advice, or silence one finding with a `# shellcheck disable=SC2086` line in the script, or the diagnostic with `# flow: allow(F0105)` before the line.";
    MaxOffCycle = "F0106", Warning, "`max` on a stage that is on no loop",
"A stage has `max N`, but it can never be visited twice, so the bound never applies: no route cycle passes through it (routes and `needs` together, as for F0005), it has no `again` route, and at most one stage routes to it, which itself runs at most once.\n\nExample:\n\n    stage build { max 3  run \"make\" }\n\nFix: remove `max`, or put it on a stage of the loop it is meant to bound.";
    RetryNeverUsed = "F0107", Warning, "`retry` that can never apply",
"A stage has `retry N` (N > 0), but `exit` routes name every failing exit code, 1 to 255, and the stage has no timeout of its own. Routed exits are never retried, and `on failure` / `on timeout` routes apply only after the retries, so the retries could only follow a crash (bash killed by a signal from outside, or not started). `status` routes do not count: which statuses a script prints cannot be known. In practice this needs a route listing all 255 codes, so it is rare.\n\nExample:\n\n    stage a { retry 3  run \"…\"  on exit 1, 2, 3, …, 255 -> b }\n\nFix: remove `retry`, or stop routing the exit codes you want retried.";
    DeadRoute = "F0108", Warning, "route that can never fire",
"A route can never be taken. `on success` when an `on exit 0` route of the same stage exists: the more specific `exit` route takes every exit 0. `on timeout` on a stage without a `timeout` or `idle` of its own (or its template's): the flow's `timeout` stops the whole run, and a stopped run fires no routes. (Two routes for one outcome are F0002; `on failure` is never dead, since a crash is a failure no `exit` route names.)\n\nExample:\n\n    stage a { run \"…\"  on exit 0, 2 -> x  on success -> y }\n    stage b { run \"…\"  on timeout -> z }    # b has no timeout\n\nFix: remove the dead route, take 0 out of the `exit` route, or give the stage a timeout.";
    SkillUnknownKey = "F0115", Warning, "unknown key in skill front matter",
"A skill's front matter has a key flow-agent does not read (known: name, description, outputs, commits, statuses, status_fields, permissions), often a misspelling, so the setting it meant has no effect.\n\nExample:\n\n    ---\n    name: review\n    status: DONE, BLOCKED\n    ---\n\nFix: spell the key as listed (`statuses:`), or remove it.";
    SkillOutputNotCollected = "F0116", Warning, "skill output not collected by the stage",
"A skill's front matter says it writes a file (`outputs: review.md`), but the stage that runs it neither lists that file in `outputs` / `optional outputs` nor has a pattern matching it, so the file is not collected and stages that need this one never get it.\n\nExample:\n\n    stage review: team.agent(skill: \"review\") { }   # the skill writes review.md\n\nFix: add `outputs review.md` to the stage (or `optional outputs`).";
    SkillNoFrontMatter = "F0117", Warning, "skill without front matter or name",
"A skill file used by a stage does not start with a front matter block (`---` lines) or has no `name:` in it. flow-agent then holds the agent to no contract: any status is accepted, no field is required, nothing is committed for it, and its outputs are not known.\n\nExample:\n\n    # Review the change      <- first line of skills/review.md\n\nFix: start the file with `---`, `name: review`, `description: …`, `statuses: DONE, BLOCKED`, `status_fields: summary`, `---`.";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {}", c);
            assert_eq!(Code::parse(&c.as_str().to_lowercase()), Some(*c));
            assert!(
                c.explanation().contains("Fix"),
                "{c} explanation lacks a fix"
            );
        }
    }

    #[test]
    fn clamp_moves_end_of_file_spans_onto_text() {
        let t = "abc\n\n";
        let s = clamp(t, Span::new(5, 5));
        assert_eq!((s.offset(), s.len()), (2, 1));
        let s = clamp(t, Span::new(99, 120));
        assert_eq!((s.offset(), s.len()), (2, 1));
        let s = clamp("", Span::new(0, 0));
        assert_eq!((s.offset(), s.len()), (0, 0));
    }
}
