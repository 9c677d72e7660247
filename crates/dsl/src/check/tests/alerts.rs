//! `alert` items: the valid spellings reach the IR; each mistake is one
//! diagnostic on the offending words.

use super::{check, expect, flow};
use crate::diagnostic::Code;
use crate::ir::{AlertMetric, AlertOp};

const STAGE: &str = "  stage build { run \"true\" }";

#[test]
fn valid_alerts_reach_the_pipeline_in_order() {
    let c = check(&flow(&format!(
        "  alert success_rate < 0.8\n  alert escalation_rate >= 0.25\n  alert cost_usd > 5\n  alert visits(build) >= 2.5\n  alert p50( build ) <= 30s\n  alert p95(build) > 1h30m\n{STAGE}"
    )));
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let alerts = c.pipeline.unwrap().alerts;
    let got: Vec<(AlertMetric, Option<&str>, AlertOp, f64, &str)> = alerts
        .iter()
        .map(|a| {
            (
                a.metric,
                a.stage.as_deref(),
                a.op,
                a.threshold,
                a.text.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                AlertMetric::SuccessRate,
                None,
                AlertOp::Lt,
                0.8,
                "success_rate < 0.8"
            ),
            (
                AlertMetric::EscalationRate,
                None,
                AlertOp::Ge,
                0.25,
                "escalation_rate >= 0.25"
            ),
            (AlertMetric::CostUsd, None, AlertOp::Gt, 5.0, "cost_usd > 5"),
            (
                AlertMetric::Visits,
                Some("build"),
                AlertOp::Ge,
                2.5,
                "visits(build) >= 2.5"
            ),
            (
                AlertMetric::P50,
                Some("build"),
                AlertOp::Le,
                30_000.0,
                "p50(build) <= 30s"
            ),
            (
                AlertMetric::P95,
                Some("build"),
                AlertOp::Gt,
                5_400_000.0,
                "p95(build) > 1h30m"
            ),
        ]
    );
}

#[test]
fn an_unknown_metric_is_named_with_a_suggestion() {
    let d = expect(
        &flow(&format!("  alert sucess_rate < 0.8\n{STAGE}")),
        Code::BadAlert,
        "sucess_rate",
        "`sucess_rate` is not a metric `flow stats` measures",
    );
    assert_eq!(d.help.as_deref(), Some("did you mean `success_rate`?"));
}

#[test]
fn a_stage_is_given_exactly_to_per_stage_metrics() {
    expect(
        &flow(&format!("  alert p95 > 10m\n{STAGE}")),
        Code::BadAlert,
        "p95",
        "`p95` is measured per stage: name one",
    );
    expect(
        &flow(&format!("  alert success_rate(build) < 0.5\n{STAGE}")),
        Code::BadAlert,
        "build",
        "`success_rate` is the flow's, not a stage's",
    );
    expect(
        &flow(&format!("  alert p50(biuld) > 1m\n{STAGE}")),
        Code::UnknownStage,
        "biuld",
        "unknown stage `biuld` in an alert",
    );
}

#[test]
fn the_threshold_has_the_metrics_kind_and_range() {
    expect(
        &flow(&format!("  alert escalation_rate > 20\n{STAGE}")),
        Code::BadAlert,
        "20",
        "`20` is out of range for `escalation_rate`",
    );
    expect(
        &flow(&format!("  alert cost_usd > -1\n{STAGE}")),
        Code::BadAlert,
        "-1",
        "`-1` is out of range for `cost_usd`",
    );
    expect(
        &flow(&format!("  alert p95(build) > 10\n{STAGE}")),
        Code::BadAlert,
        "10",
        "`p95` is a duration, `10` is a plain number",
    );
    expect(
        &flow(&format!("  alert cost_usd > 5m\n{STAGE}")),
        Code::BadAlert,
        "5m",
        "`cost_usd` is not a duration",
    );
    expect(
        &flow(&format!("  alert p95(build) > 10x\n{STAGE}")),
        Code::BadDuration,
        "10x",
        "`10x` is not a valid duration",
    );
}

#[test]
fn an_alert_without_a_comparison_is_a_syntax_error() {
    let c = check(&flow(&format!("  alert success_rate 0.8\n{STAGE}")));
    assert!(
        c.diagnostics.iter().any(|d| d.code == Code::Syntax),
        "{:#?}",
        c.diagnostics
    );
}
