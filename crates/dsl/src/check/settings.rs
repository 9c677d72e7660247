//! Checks of one stage or template body on its own: single settings given
//! twice (F0002), durations (F0007: valid, timers at most a year), numbers
//! out of range (`retry` ≤ 1000, `backoff` 1–10), blank shells and unknown
//! status formats (F0022), exit codes outside 0–255 (F0021), output paths that
//! escape the stage directory (F0017), env names given twice (F0002) or
//! that would replace a variable the shell relies on (F0028).

use super::reserved::{self, Kind};
use super::{durations, names, outputs, shell};
use crate::ast::{ParamOr, RouteOn, RouteTargetDecl, StageItem};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{MAX_BACKOFF, MAX_RETRIES};
use crate::span::{SourceId, Span};

/// The span of an item that may be given once per body (the one a
/// duplicate-setting diagnostic points at); `None` for items that repeat.
fn item_span(item: &StageItem) -> Option<Span> {
    Some(match item {
        StageItem::Run(s) | StageItem::RunBuiltin(s) => s.span,
        StageItem::Timeout(t) | StageItem::Grace(t) | StageItem::Idle(t) => t.span,
        StageItem::Retry(r) => r.span,
        StageItem::When(e) => e.span,
        StageItem::Status(s) | StageItem::Shell(s) => s.span,
        StageItem::Max(m) => m.span(),
        StageItem::Approval(words) => words.first().map_or(Span::default(), |w| w.span),
        StageItem::AllowFailure(s) => *s,
        StageItem::Budget(b) => b.span,
        StageItem::EndsRun(n) => n.span,
        StageItem::Needs(_)
        | StageItem::Outputs(_)
        | StageItem::OptionalOutputs(_)
        | StageItem::Env(..)
        | StageItem::Route(_) => return None,
    })
}

/// Checks one body (a stage's own items, or a template's).
pub(crate) fn body(items: &[StageItem], source: SourceId, diags: &mut Vec<Diagnostic>) {
    let settings = items
        .iter()
        .filter_map(|item| Some((item.keyword(), item_span(item)?)));
    names::single_settings(settings, source, diags);
    for item in items {
        values(item, source, diags);
    }
    let env = items.iter().filter_map(|i| match i {
        StageItem::Env(name, _) => Some(name),
        _ => None,
    });
    names::duplicates(env.clone(), "env variable", source, diags);
    for name in env {
        reserved::check(name, Kind::Env, None, source, diags);
    }
}

fn bad_value(source: SourceId, span: Span, message: String, help: &str) -> Diagnostic {
    Diagnostic::new(Code::BadValue, source, span, message)
        .label("out of range")
        .help(help.to_string())
}

/// `x` as written in a flow: `1e20` rather than its 21 digits.
pub(super) fn short_number(x: f64) -> String {
    if x.abs() >= 1e6 {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}

/// Value checks of one item.
fn values(item: &StageItem, source: SourceId, diags: &mut Vec<Diagnostic>) {
    match item {
        StageItem::Timeout(d) | StageItem::Grace(d) | StageItem::Idle(d) => {
            durations::check_timer(d, source, diags);
        }
        StageItem::Budget(b) => super::budget::check(b, source, diags),
        StageItem::Retry(r) => {
            if r.count.node < 0 || r.count.node > i64::from(MAX_RETRIES) {
                diags.push(bad_value(
                    source,
                    r.count.span,
                    format!(
                        "`retry {}` is out of range (0 to {MAX_RETRIES})",
                        r.count.node
                    ),
                    "write the number of extra attempts, e.g. `retry 2` (0 for none)",
                ));
            }
            if let Some(delay) = &r.delay {
                durations::check_timer(delay, source, diags);
            }
            if let Some(b) = &r.backoff {
                if !b.node.is_finite() || !(1.0..=MAX_BACKOFF).contains(&b.node) {
                    diags.push(bad_value(
                        source,
                        b.span,
                        format!(
                            "backoff `{}` must be a number from 1.0 to {MAX_BACKOFF}",
                            short_number(b.node)
                        ),
                        "write e.g. `backoff 2` (1.0, the default, keeps the delay constant)",
                    ));
                }
            }
        }
        StageItem::Max(ParamOr::Value(m)) if m.node < 1 || m.node > i64::from(u32::MAX) => {
            let why = if m.node < 1 {
                "must be at least 1"
            } else {
                "is too large"
            };
            diags.push(bad_value(
                source,
                m.span,
                format!("`max {}` {why}", m.node),
                "`max N` bounds the visits of the stage; write e.g. `max 3`",
            ));
        }
        StageItem::Status(format) if format.node != "json" => {
            diags.push(
                Diagnostic::new(
                    Code::BadValue,
                    source,
                    format.span,
                    format!("unknown status format `{}`", format.node),
                )
                .label("not a status format")
                .help("the only status format is `json`: write `status json`"),
            );
        }
        StageItem::Shell(text) => shell::check(text, source, diags),
        StageItem::Outputs(paths) | StageItem::OptionalOutputs(paths) => {
            for path in paths {
                outputs::check_escape(path, source, diags);
            }
        }
        StageItem::Route(route) => {
            match &route.on.node {
                RouteOn::Exit(codes) if codes.is_empty() => diags.push(bad_value(
                    source,
                    route.on.span,
                    "`on exit` names no exit code".into(),
                    "list the codes, e.g. `on exit 2, 3 -> fix`",
                )),
                RouteOn::Exit(codes) => {
                    for code in codes.iter().filter(|c| !(0..=255).contains(&c.node)) {
                        diags.push(
                            Diagnostic::new(
                                Code::ImpossibleRoute,
                                source,
                                code.span,
                                format!("exit code {} cannot occur", code.node),
                            )
                            .label("outside 0-255")
                            .help("a process exit code is between 0 and 255"),
                        );
                    }
                }
                _ => {}
            }
            if let RouteTargetDecl::Again(ParamOr::Value(d)) = &route.target {
                durations::check_timer(d, source, diags);
            }
        }
        _ => {}
    }
}
