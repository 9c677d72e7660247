//! `trigger` items: the valid forms reach the IR in order; each mistake is
//! one F0037 (F0007 for a malformed duration) on the offending text.

use super::{check, expect, flow};
use crate::diagnostic::Code;
use crate::ir::Trigger;
use std::time::Duration;

const STAGE: &str = "  stage build { run \"true\" }";

fn with(items: &str) -> String {
    flow(&format!("{items}\n{STAGE}"))
}

#[test]
fn valid_triggers_reach_the_pipeline_in_order() {
    let c = check(&with(
        "  trigger cron \"*/5 * * * *\"\n  trigger every 90s\n  trigger cron \"0 0 9 * * 1-5 *\"\n  trigger cron \"@daily\"",
    ));
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let triggers = c.pipeline.unwrap().triggers;
    let texts: Vec<String> = triggers.iter().map(Trigger::text).collect();
    assert_eq!(
        texts,
        [
            r#"cron "*/5 * * * *""#,
            "every 1m 30s",
            r#"cron "0 0 9 * * 1-5 *""#,
            r#"cron "@daily""#
        ]
    );
    assert_eq!(triggers[1], Trigger::Every(Duration::from_secs(90)));
    let Trigger::Cron(c) = &triggers[2] else {
        panic!("a cron")
    };
    assert_eq!(c.normalised(), "0 0 9 * * 1-5 *");
}

#[test]
fn a_flow_without_triggers_has_none() {
    let c = check(&with(""));
    assert_eq!(c.pipeline.unwrap().triggers, []);
}

#[test]
fn the_wrong_cron_field_is_labelled() {
    expect(
        &with("  trigger cron \"0 24 * * *\""),
        Code::BadTrigger,
        "24",
        "hour",
    );
    expect(
        &with("  trigger cron \"0 9 * JAN-FOO *\""),
        Code::BadTrigger,
        "JAN-FOO",
        "month",
    );
    expect(
        &with("  trigger cron \"0 9 * * 1 1999-1990\""),
        Code::BadTrigger,
        "1999-1990",
        "year",
    );
    // A 7-field schedule: the first field is the second.
    expect(
        &with("  trigger cron \"60 0 9 * * * *\""),
        Code::BadTrigger,
        "60",
        "second",
    );
}

#[test]
fn a_schedule_with_an_escape_is_labelled_whole() {
    // `\t` is two bytes in the file and one in the value: offsets differ.
    expect(
        &with("  trigger cron \"0\\t24 * * *\""),
        Code::BadTrigger,
        "\"0\\t24 * * *\"",
        "hour",
    );
}

#[test]
fn shapes_that_are_no_schedule_are_labelled_whole() {
    expect(
        &with("  trigger cron \"\""),
        Code::BadTrigger,
        "\"\"",
        "not 0",
    );
    expect(
        &with("  trigger cron \"* * * * * * * *\""),
        Code::BadTrigger,
        "\"* * * * * * * *\"",
        "not 8",
    );
    expect(
        &with("  trigger cron \"@reboot\""),
        Code::BadTrigger,
        "\"@reboot\"",
        "nickname",
    );
    expect(
        &with("  trigger cron \"0 0 31 4 *\""),
        Code::BadTrigger,
        "\"0 0 31 4 *\"",
        "never fires",
    );
    expect(
        &with("  trigger cron \"0 0 * * * 1969\""),
        Code::BadTrigger,
        "\"0 0 * * * 1969\"",
        "never fires",
    );
}

#[test]
fn every_is_bounded() {
    expect(
        &with("  trigger every 999ms"),
        Code::BadTrigger,
        "999ms",
        "out of range",
    );
    expect(
        &with("  trigger every 366d"),
        Code::BadTrigger,
        "366d",
        "out of range",
    );
    expect(
        &with("  trigger every 1x"),
        Code::BadDuration,
        "1x",
        "not a valid duration",
    );
    let c = check(&with("  trigger every 1s\n  trigger every 365d"));
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
}

#[test]
fn a_repeated_trigger_is_an_error_even_when_spelled_otherwise() {
    let d = expect(
        &with("  trigger cron \"@hourly\"\n  trigger cron \"0 0 * * * * *\""),
        Code::BadTrigger,
        "trigger cron \"0 0 * * * * *\"",
        "repeats",
    );
    assert_eq!(d.labels.len(), 2, "{d:#?}");
    expect(
        &with("  trigger every 60s\n  trigger every 1m"),
        Code::BadTrigger,
        "trigger every 1m",
        "repeats",
    );
    // Same times written differently are not compared beyond the form:
    // `every 1m` and `* * * * *` are two triggers (documented).
    let c = check(&with("  trigger every 1m\n  trigger cron \"* * * * *\""));
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
}

#[test]
fn trigger_is_a_flow_item_only() {
    let c = check("flow f {\n  timeout 1h\n  stage build { trigger every 1m  run \"true\" }\n}\n");
    assert_eq!(c.diagnostics[0].code, Code::Syntax, "{:#?}", c.diagnostics);
    let c = check(&with("  trigger webhook \"x\""));
    assert!(
        c.diagnostics[0].message.contains("`cron` or `every`"),
        "{:#?}",
        c.diagnostics
    );
}
