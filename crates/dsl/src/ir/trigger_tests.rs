//! `Trigger::next_after` and the cron forms, against fixed instants.

use super::{CronSchedule, Trigger};
use chrono::{DateTime, TimeZone, Utc};
use std::time::Duration;

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn cron(text: &str) -> Trigger {
    Trigger::Cron(CronSchedule::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}")))
}

/// The next `n` fire times after `from`, each found from the one before.
fn next_n(t: &Trigger, from: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    let mut now = from;
    for _ in 0..n {
        now = t.next_after(now).expect("fires again");
        out.push(now);
    }
    out
}

// 2026-12-02 is a Wednesday.
fn wednesday() -> DateTime<Utc> {
    at(2026, 12, 2, 10, 30, 0)
}

#[test]
fn five_fields_day_of_week_zero_and_seven_are_sunday() {
    for text in ["0 9 * * 0", "0 9 * * 7", "0 9 * * SUN", "0 9 * * sun"] {
        assert_eq!(
            next_n(&cron(text), wednesday(), 2),
            vec![at(2026, 12, 6, 9, 0, 0), at(2026, 12, 13, 9, 0, 0)],
            "{text}"
        );
    }
    // 1 is Monday (Quartz would read it as Sunday).
    assert_eq!(
        cron("0 9 * * 1").next_after(wednesday()),
        Some(at(2026, 12, 7, 9, 0, 0))
    );
    // Every minute of Sundays.
    assert_eq!(
        next_n(&cron("* * * * 0"), wednesday(), 2),
        vec![at(2026, 12, 6, 0, 0, 0), at(2026, 12, 6, 0, 1, 0)]
    );
}

#[test]
fn six_fields_end_with_a_year_not_start_with_a_second() {
    // cronexpr's reading: minute hour dom month dow year.
    let t = cron("0 0 * * * *");
    assert_eq!(
        next_n(&t, wednesday(), 2),
        vec![at(2026, 12, 3, 0, 0, 0), at(2026, 12, 4, 0, 0, 0)]
    );
    assert_eq!(
        cron("0 12 1 1 * 2030").next_after(wednesday()),
        Some(at(2030, 1, 1, 12, 0, 0))
    );
    assert_eq!(
        cron("0 12 1 1 * 2030").next_after(at(2030, 1, 1, 12, 0, 0)),
        None,
        "years past"
    );
}

#[test]
fn seven_fields_start_with_a_second() {
    let t = cron("*/20 * * * * * *");
    assert_eq!(
        next_n(&t, wednesday(), 3),
        vec![
            at(2026, 12, 2, 10, 30, 20),
            at(2026, 12, 2, 10, 30, 40),
            at(2026, 12, 2, 10, 31, 0)
        ]
    );
    assert_eq!(
        cron("30 15 10 * * * 2027").next_after(wednesday()),
        Some(at(2027, 1, 1, 10, 15, 30))
    );
}

#[test]
fn fires_strictly_after_and_within_a_second() {
    let t = cron("30 10 * * *");
    assert_eq!(
        t.next_after(wednesday()),
        Some(at(2026, 12, 3, 10, 30, 0)),
        "not at `after` itself"
    );
    let just_before = wednesday() - chrono::Duration::milliseconds(1);
    assert_eq!(t.next_after(just_before), Some(wednesday()));
}

#[test]
fn nicknames_steps_and_day_of_month_or_day_of_week() {
    assert_eq!(
        cron("@hourly").next_after(wednesday()),
        Some(at(2026, 12, 2, 11, 0, 0))
    );
    assert_eq!(
        cron("@WEEKLY").next_after(wednesday()),
        Some(at(2026, 12, 6, 0, 0, 0))
    );
    assert_eq!(cron("@yearly"), cron("0 0 1 1 *"));
    // `5/15`: from 5, every 15 (cronexpr accepts it).
    assert_eq!(
        next_n(&cron("5/15 * * * *"), wednesday(), 2),
        vec![at(2026, 12, 2, 10, 35, 0), at(2026, 12, 2, 10, 50, 0)]
    );
    // The 15th or any Friday (Vixie cron's OR): Friday the 4th comes first.
    assert_eq!(
        cron("0 0 15 * 5").next_after(wednesday()),
        Some(at(2026, 12, 4, 0, 0, 0))
    );
    assert_eq!(
        cron("0 0 L * *").next_after(wednesday()),
        Some(at(2026, 12, 31, 0, 0, 0))
    );
}

#[test]
fn every_ticks_at_multiples_since_the_epoch() {
    let t = Trigger::Every(Duration::from_secs(4 * 3600));
    assert_eq!(
        next_n(&t, wednesday(), 3),
        vec![
            at(2026, 12, 2, 12, 0, 0),
            at(2026, 12, 2, 16, 0, 0),
            at(2026, 12, 2, 20, 0, 0)
        ]
    );
    assert_eq!(
        t.next_after(at(2026, 12, 2, 12, 0, 0)),
        Some(at(2026, 12, 2, 16, 0, 0)),
        "strictly after"
    );
    let fine = Trigger::Every(Duration::from_millis(1500));
    assert_eq!(
        fine.next_after(at(1970, 1, 1, 0, 0, 2)),
        Some(Utc.timestamp_millis_opt(3000).unwrap())
    );
    // Before 1970 too (floor, not truncation).
    let minute = Trigger::Every(Duration::from_secs(60));
    assert_eq!(
        minute.next_after(at(1969, 12, 31, 23, 58, 30)),
        Some(at(1969, 12, 31, 23, 59, 0))
    );
    // Past chrono's range: none, no panic.
    assert_eq!(minute.next_after(DateTime::<Utc>::MAX_UTC), None);
}

#[test]
fn wrong_fields_are_located_in_the_text() {
    let err = |text: &str| CronSchedule::parse(text).unwrap_err();
    let field = |text: &str| err(text).field.map(|r| text[r].to_string());
    assert_eq!(field("0 25 * * *").as_deref(), Some("25"));
    assert_eq!(field("  0  9 * *   8").as_deref(), Some("8"));
    assert_eq!(field("0 9 32 * *").as_deref(), Some("32"));
    assert_eq!(field("0 9 * 13 * 2030").as_deref(), Some("13"));
    assert_eq!(field("61 0 9 * * * *").as_deref(), Some("61"));
    assert_eq!(field("x 9 * * *").as_deref(), Some("x"));
    assert!(
        err("0 25 * * *").message.contains("hour"),
        "{:?}",
        err("0 25 * * *")
    );
    // The whole text: field count, unknown nickname, never fires.
    for text in [
        "* * * *",
        "* * * * * * * *",
        "",
        "@often",
        "0 0 30 2 *",
        "0 0 * * * 1960",
    ] {
        assert_eq!(err(text).field, None, "{text}");
    }
    assert!(err("0 0 30 2 *").message.contains("never fires"));
}

#[test]
fn serialises_as_written_and_reads_back() {
    let triggers = vec![cron("0 9 * * 1-5"), Trigger::Every(Duration::from_secs(90))];
    let json = serde_json::to_string(&triggers).unwrap();
    assert_eq!(
        json,
        r#"[{"cron":"0 9 * * 1-5"},{"every":{"secs":90,"nanos":0}}]"#
    );
    let back: Vec<Trigger> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, triggers);
    assert!(serde_json::from_str::<Trigger>(r#"{"cron":"0 25 * * *"}"#).is_err());
    assert_eq!(triggers[0].text(), r#"cron "0 9 * * 1-5""#);
    assert_eq!(triggers[1].text(), "every 1m 30s");
}

#[test]
fn names_belong_to_their_own_field() {
    // croner replaces names across the whole text; a month name in the
    // day-of-week field (or the reverse) must still be refused.
    for (text, wrong) in [
        ("0 9 * MON *", "MON"),
        ("0 9 * * JAN", "JAN"),
        ("0 SUN * * *", "SUN"),
    ] {
        let e = CronSchedule::parse(text).expect_err(text);
        assert_eq!(e.field.map(|r| &text[r]), Some(wrong), "{text}");
    }
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    /// Field-shaped words: digits, the special characters and some names.
    fn field() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9*/,#?LW-]{1,6}",
            "(MON|jan|SUN|L|W|LW|5L|5#2|99999999999|-1|\\*/0|0/0|1-0|7-1)",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Any text of fields parses or fails with a located error, and a
        /// valid schedule answers `next_after` for any instant.
        #[test]
        fn parse_and_next_after(fields in prop::collection::vec(field(), 0..9), secs in any::<i64>()) {
            let text = fields.join(" ");
            match CronSchedule::parse(&text) {
                Ok(schedule) => {
                    let t = Utc.timestamp_opt(secs % 200_000_000_000, 0).single().unwrap_or_default();
                    if let Some(next) = Trigger::Cron(schedule).next_after(t) {
                        prop_assert!(next > t);
                    }
                }
                Err(e) => {
                    if let Some(r) = e.field {
                        prop_assert!(text.get(r).is_some());
                    }
                }
            }
        }

        #[test]
        fn every_next_after_is_later(ms in 1_000u64..=31_536_000_000, at in any::<i64>()) {
            let t = Utc.timestamp_millis_opt(at % 8_000_000_000_000_000).single().unwrap_or_default();
            if let Some(next) = Trigger::Every(Duration::from_millis(ms)).next_after(t) {
                prop_assert!(next > t);
                prop_assert!(next - t <= chrono::Duration::milliseconds(ms as i64));
            }
        }
    }
}
