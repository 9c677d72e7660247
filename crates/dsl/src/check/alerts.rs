//! `alert` items (F0031): a known metric of `flow stats`, a stage exactly
//! when the metric is per stage (and a stage of the flow: F0003), and a
//! threshold of the metric's kind and range. Builds the [`ir::Alert`]s.

use super::durations;
use super::suggest;
use crate::ast::{AlertDecl, AlertValue, FlowItem};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{self, AlertMetric, AlertOp};
use crate::span::SourceId;

/// Checks every `alert` of a flow whose stages are `stages`; returns the
/// valid ones, in source order.
pub(crate) fn check(
    items: &[FlowItem],
    stages: &[&str],
    src: SourceId,
    diags: &mut Vec<Diagnostic>,
) -> Vec<ir::Alert> {
    items
        .iter()
        .filter_map(|item| match item {
            FlowItem::Alert(a) => one(a, stages, src, diags),
            _ => None,
        })
        .collect()
}

fn bad(src: SourceId, span: crate::span::Span, message: String, label: &str) -> Diagnostic {
    Diagnostic::new(Code::BadAlert, src, span, message).label(label)
}

fn one(
    a: &AlertDecl,
    stages: &[&str],
    src: SourceId,
    diags: &mut Vec<Diagnostic>,
) -> Option<ir::Alert> {
    let name = a.metric.node.as_str();
    let names = AlertMetric::ALL.map(|(_, n)| n);
    let Some(metric) = AlertMetric::named(name) else {
        let mut d = bad(
            src,
            a.metric.span,
            format!("`{name}` is not a metric `flow stats` measures"),
            "unknown metric",
        );
        d = match suggest::did_you_mean(name, names) {
            Some(hint) => d.help(hint),
            None => d.help(format!("one of: {}", names.join(", "))),
        };
        d = suggest::with_fix(d, name, a.metric.span, names);
        diags.push(d);
        return None;
    };
    let stage = match (&a.stage, metric.per_stage()) {
        (None, true) => {
            diags.push(
                bad(
                    src,
                    a.metric.span,
                    format!("`{name}` is measured per stage: name one"),
                    "which stage?",
                )
                .help(format!(
                    "write `{name}(STAGE)`, e.g. `{name}({})`",
                    stages.first().unwrap_or(&"build")
                )),
            );
            return None;
        }
        (Some(s), false) => {
            diags.push(
                bad(
                    src,
                    s.span,
                    format!("`{name}` is the flow's, not a stage's"),
                    "no stage here",
                )
                .help(format!(
                    "write `alert {name} {} …` without `({})`",
                    a.op.node, s.node
                )),
            );
            return None;
        }
        (Some(s), true) if !stages.contains(&s.node.as_str()) => {
            let mut d = Diagnostic::new(
                Code::UnknownStage,
                src,
                s.span,
                format!("unknown stage `{}` in an alert", s.node),
            )
            .label("no such stage");
            if let Some(hint) = suggest::did_you_mean(&s.node, stages.iter().copied()) {
                d = d.help(hint);
            }
            d = suggest::with_fix(d, &s.node, s.span, stages.iter().copied());
            diags.push(d);
            return None;
        }
        (s, _) => s.as_ref().map(|s| s.node.clone()),
    };
    // The grammar admits only these four.
    let op = AlertOp::parse(&a.op.node)?;
    let shown = |value: &str| match &stage {
        Some(s) => format!("{name}({s}) {} {value}", a.op.node),
        None => format!("{name} {} {value}", a.op.node),
    };
    let (threshold, text) = match (&a.value.node, metric.is_duration()) {
        (AlertValue::Duration(d), true) => {
            let parsed = durations::check(
                &crate::ast::Spanned::new(d.clone(), a.value.span),
                src,
                diags,
            )?;
            (parsed.as_millis() as f64, shown(&d.0))
        }
        (AlertValue::Number(n), true) => {
            diags.push(
                bad(
                    src,
                    a.value.span,
                    format!("`{name}` is a duration, `{n}` is a plain number"),
                    "no unit",
                )
                .help(format!("give the unit: `{n}s`, `{n}m` …")),
            );
            return None;
        }
        (AlertValue::Duration(d), false) => {
            diags.push(
                bad(
                    src,
                    a.value.span,
                    format!("`{name}` is not a duration: `{}` makes no sense here", d.0),
                    "a duration",
                )
                .help(kind_help(metric)),
            );
            return None;
        }
        (AlertValue::Number(n), false) => {
            let in_range = match metric {
                AlertMetric::SuccessRate | AlertMetric::EscalationRate => (0.0..=1.0).contains(n),
                _ => *n >= 0.0,
            };
            if !in_range {
                diags.push(
                    bad(
                        src,
                        a.value.span,
                        format!("`{n}` is out of range for `{name}`"),
                        "out of range",
                    )
                    .help(kind_help(metric)),
                );
                return None;
            }
            (*n, shown(&n.to_string()))
        }
    };
    Some(ir::Alert {
        metric,
        stage,
        op,
        threshold,
        text,
    })
}

/// What a threshold of `metric` is, for a help line.
fn kind_help(metric: AlertMetric) -> String {
    match metric {
        AlertMetric::SuccessRate | AlertMetric::EscalationRate => {
            format!("`{}` is a share from 0 to 1: 80% is `0.8`", metric.name())
        }
        AlertMetric::CostUsd => {
            "`cost_usd` is the mean cost of a run in US dollars: `5`, `0.25`".into()
        }
        AlertMetric::Visits => "`visits` is the mean number of visits per run: `2.5`".into(),
        AlertMetric::P50 | AlertMetric::P95 => "a duration: `30s`, `10m`".into(),
    }
}
