//! Checks of one expanded stage: a script (F0020), routes that cannot match
//! (F0021), `again` without a bound (F0018), two routes for one outcome to
//! one target (F0002; to different targets they fan out), and the
//! missing-timeout warning (F0101).

use super::expand::Expanded;
use crate::ast::{RouteOn, RouteTargetDecl};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::{SourceId, Span};
use foldhash::{HashMap, HashMapExt};

/// Runs the per-stage checks; `flow_timeout` says whether the flow has a
/// `timeout`.
pub(crate) fn check(stage: &Expanded, flow_timeout: bool, diags: &mut Vec<Diagnostic>) {
    let name = &stage.decl.name;
    // A stage whose template could not be resolved was reported already
    // (F0013); saying it has no script too would only repeat that.
    let unresolved_template = stage.decl.template.is_some() && stage.library.is_none();
    if stage.builtin.is_some() {
        builtin(stage, diags);
    }
    if stage.approval.is_some() {
        approval(stage, diags);
    } else if stage.run.is_none() && stage.builtin.is_none() && !unresolved_template {
        let help = match &stage.decl.template {
            Some(_) => "add `run \"…\"`: the stage's template gives no script either",
            None => "add `run \"…\"` with the bash script to run",
        };
        diags.push(
            Diagnostic::new(
                Code::MissingRun,
                stage.src,
                name.span,
                format!("stage `{}` has no `run`", name.node),
            )
            .label("nothing to run")
            .help(help),
        );
    }
    if stage.timeout.is_none() && !flow_timeout {
        diags.push(
            Diagnostic::new(
                Code::NoTimeout,
                stage.src,
                name.span,
                format!("stage `{}` has no timeout", name.node),
            )
            .label("may hang forever")
            .help("add `timeout 10m` (any duration) to the stage, or a `timeout` to the flow"),
        );
    }
    let mut outcomes: HashMap<(String, &str), (SourceId, Span)> = HashMap::new();
    for route in &stage.routes {
        let on = &route.node.on;
        if let RouteOn::Status(s) = &on.node {
            if !stage.status_json() && stage.approval.is_none() {
                diags.push(
                    Diagnostic::new(Code::ImpossibleRoute, route.src, on.span, format!("route on status {:?}, but stage `{}` reports no status", s.node, name.node))
                        .label("never matches")
                        .help("add `status json` to the stage (its script then prints a JSON object with a \"status\" key), or route on exit codes"),
                );
            }
        }
        if matches!(route.node.target, RouteTargetDecl::Again(_))
            && stage.max.is_none()
            && !flow_timeout
        {
            diags.push(
                Diagnostic::new(
                    Code::UnboundedAgain,
                    route.src,
                    route.node.span,
                    format!("stage `{}` re-runs itself with no bound", name.node),
                )
                .label("could poll forever")
                .help("add `max N` to the stage or a `timeout` to the flow"),
            );
        }
        // Fan-out: routes of one outcome to different targets all fire.
        // The same outcome twice to one target would visit it twice, and two
        // `again`s would arm two timers: those are duplicates.
        let target = match &route.node.target {
            RouteTargetDecl::Stage(t) => t.node.as_str(),
            RouteTargetDecl::Again(_) => name.node.as_str(),
        };
        for key in outcome_keys(&on.node) {
            match outcomes.get(&(key.clone(), target)) {
                Some(&(src, first)) => {
                    let what = match route.node.target {
                        RouteTargetDecl::Again(_) => "`again`".to_string(),
                        RouteTargetDecl::Stage(_) => format!("`{target}`"),
                    };
                    let mut d = Diagnostic::new(Code::Duplicate, route.src, on.span, format!("two routes of stage `{}` for `{key}` to {what}", name.node))
                        .label("second route for this outcome and target")
                        .help("keep one of them: routes of one outcome to different stages all fire, but to the same target it would run twice (a stage's route adds to its template's)");
                    if src == route.src {
                        d = d.secondary(first, "first route");
                    }
                    diags.push(d);
                }
                None => {
                    outcomes.insert((key, target), (route.src, on.span));
                }
            }
        }
    }
}

/// The outcomes a route matches, one key each (`exit 2, 3` gives two).
fn outcome_keys(on: &RouteOn) -> Vec<String> {
    match on {
        RouteOn::Success => vec!["success".into()],
        RouteOn::Failure => vec!["failure".into()],
        RouteOn::Timeout => vec!["timeout".into()],
        RouteOn::Budget => vec!["budget".into()],
        RouteOn::Exit(codes) => codes.iter().map(|c| format!("exit {}", c.node)).collect(),
        RouteOn::Status(s) => vec![format!("status {:?}", s.node)],
    }
}

/// F0039: a builtin stage (`run builtin "NAME"`) has no script settings
/// and no approval, and NAME is a plain name.
fn builtin(stage: &Expanded, diags: &mut Vec<Diagnostic>) {
    let Some(builtin) = &stage.builtin else {
        return;
    };
    let name = &stage.decl.name.node;
    let misuse = |src, span, message: String| {
        Diagnostic::new(Code::BuiltinMisuse, src, span, message)
            .label("in a builtin stage")
            .help("a builtin stage runs a function of the program, not a script: remove it (bound the stage with `timeout`)")
    };
    let settings = [
        stage.shell.map(|s| (s.src, s.node.span, "shell")),
        stage.idle.map(|i| (i.src, i.node.span, "idle")),
        stage
            .approval
            .and_then(|a| a.node.first().map(|w| (a.src, w.span, "approval"))),
    ];
    for (src, span, what) in settings.into_iter().flatten() {
        diags.push(misuse(
            src,
            span,
            format!(
                "stage `{name}` runs builtin `{}`: `{what}` does not apply to it",
                builtin.node.node
            ),
        ));
    }
    let text = builtin.node.node.as_str();
    if !crate::ir::is_builtin_name(text) {
        diags.push(
            Diagnostic::new(
                Code::BuiltinMisuse,
                builtin.src,
                builtin.node.span,
                format!("builtin name {text:?} of stage `{name}` is not a plain name"),
            )
            .label("not a name a program can register")
            .help("use letters, digits, `_` and `-`, not starting with a digit: `fetch_issue`"),
        );
    }
}

/// F0030: an approval stage has no script settings, and its decisions are
/// distinct single words; F0108: an `on status` route naming no decision.
fn approval(stage: &Expanded, diags: &mut Vec<Diagnostic>) {
    let Some(decisions) = &stage.approval else {
        return;
    };
    let name = &stage.decl.name.node;
    let misuse = |src, span, message: String| {
        Diagnostic::new(Code::ApprovalMisuse, src, span, message)
            .label("in an approval stage")
            .help("an approval stage waits for a person; move the script to a stage of its own")
    };
    let script_settings = [
        stage.run.map(|r| (r.src, r.node.span, "run")),
        stage.shell.map(|s| (s.src, s.node.span, "shell")),
        stage.retry.map(|r| (r.src, r.node.span, "retry")),
        stage.idle.map(|i| (i.src, i.node.span, "idle")),
        stage.status.map(|s| (s.src, s.node.span, "status")),
        stage
            .outputs
            .first()
            .map(|o| (o.src, o.node.span, "outputs")),
        stage
            .optional_outputs
            .first()
            .map(|o| (o.src, o.node.span, "optional outputs")),
    ];
    for (src, span, what) in script_settings.into_iter().flatten() {
        diags.push(misuse(
            src,
            span,
            format!("stage `{name}` waits for an approval: `{what}` has no script to apply to"),
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    for word in decisions.node {
        let text = word.node.as_str();
        let bad = text.is_empty()
            || text
                .chars()
                .any(|c| c.is_whitespace() || c == '"' || c == '\'' || c == '\\');
        if bad || seen.contains(&text) {
            let why = if bad {
                "is not a single word"
            } else {
                "is given twice"
            };
            diags.push(
                Diagnostic::new(
                    Code::ApprovalMisuse,
                    decisions.src,
                    word.span,
                    format!("decision `{text}` of stage `{name}` {why}"),
                )
                .label("not usable as `--decision`")
                .help("write each decision once, as one word: `approved`, `changes_requested`"),
            );
        }
        seen.push(text);
    }
    for route in &stage.routes {
        if let RouteOn::Status(status) = &route.node.on.node {
            let status = &status.node;
            if !seen.contains(&status.as_str()) {
                diags.push(
                    Diagnostic::new(
                        Code::DeadRoute,
                        route.src,
                        route.node.span,
                        format!("`on status \"{status}\"` can never fire: `{name}` decides only {}", seen.join(", ")),
                    )
                    .label("never fires")
                    .help("route on one of the stage's decisions, or add this one to its `approval` list"),
                );
            }
        }
    }
}
