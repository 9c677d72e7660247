//! The schedule of a `trigger cron "…"`: the forms Formicary accepts (its
//! cron library is gorhill/cronexpr), read into one 7-field form that croner
//! evaluates, in UTC.
//!
//! | fields | order |
//! |---|---|
//! | 5 | minute hour day-of-month month day-of-week |
//! | 6 | minute hour day-of-month month day-of-week year |
//! | 7 | second minute hour day-of-month month day-of-week year |
//!
//! Six fields add a *year*, not a second (cronexpr's reading, unlike
//! Quartz's). A missing second is `0`, a missing year `*`. Day of week is
//! Unix crontab's: `0` and `7` are Sunday, `SUN`-`SAT`; when both
//! day-of-month and day-of-week are restricted, a day matching either fires
//! (Vixie cron). `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily` and
//! `@hourly` stand for their 5-field forms.

use chrono::{DateTime, TimeZone, Utc};
use croner::parser::{CronParser, Seconds, Year};
use std::ops::Range;

/// The names of the seven fields, in order.
const FIELD_NAMES: [&str; 7] = [
    "second",
    "minute",
    "hour",
    "day-of-month",
    "month",
    "day-of-week",
    "year",
];

/// What each field accepts, for help texts (same order as [`FIELD_NAMES`]).
const FIELD_VALUES: [&str; 7] = [
    "0-59",
    "0-59",
    "0-23",
    "1-31, `L` (last day), `15W` (nearest weekday), `?`",
    "1-12 or JAN-DEC",
    "0-7 (0 and 7 are Sunday) or SUN-SAT, `5L` (last Friday), `5#2` (second Friday), `?`",
    "a year such as 2030",
];

/// A valid cron schedule. Serialised as the text written in the flow.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    text: String,
    normalised: String,
    // Boxed: croner's pattern is ~300 bytes, and a `Trigger` holds it.
    cron: Box<croner::Cron>,
}

/// Why a text is not a cron schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronError {
    /// The byte range, in the text, of the field that is wrong; `None` when
    /// the whole text is (field count, unknown `@` name, never fires).
    pub field: Option<Range<usize>>,
    /// What is wrong, one sentence.
    pub message: String,
    /// How to write it instead.
    pub help: String,
}

impl CronSchedule {
    /// Reads a cron text in one of the forms of the module documentation.
    ///
    /// # Errors
    /// [`CronError`] when the text has not 5 to 7 fields, a field is not
    /// valid for its place (the error gives its byte range in `text`), or
    /// the schedule has no time at all from 1970 on (`0 0 30 2 *`).
    pub fn parse(text: &str) -> Result<CronSchedule, CronError> {
        let expanded = nickname(text.trim());
        let source = expanded.unwrap_or(text);
        let fields = fields(source);
        let shape = "write 5 fields (minute hour day-of-month month day-of-week), 6 (… year) or 7 (second … year), e.g. `0 * * * *` for every hour";
        if fields.len() < 5 || fields.len() > 7 {
            let message = if text.trim_start().starts_with('@') && expanded.is_none() {
                format!("`{}` is not a cron nickname", text.trim())
            } else {
                format!("a cron schedule has 5, 6 or 7 fields, not {}", fields.len())
            };
            return Err(whole(message, shape.to_string()));
        }
        // Place each field written at its index among the seven.
        let first = if fields.len() == 7 { 0 } else { 1 };
        let mut seven: [&str; 7] = ["0", "*", "*", "*", "*", "*", "*"];
        let mut written: [Option<Range<usize>>; 7] = Default::default();
        for (i, range) in fields.iter().enumerate() {
            seven[first + i] = &source[range.clone()];
            // Fields of a nickname's expansion are not in the text.
            written[first + i] = expanded.is_none().then(|| range.clone());
        }
        // croner turns names into numbers across the whole text: a name
        // outside its own field would pass as a number.
        if let Some(i) = (0..7).find(|&i| !names_fit(i, seven[i])) {
            return Err(field_error(i, seven[i], written[i].clone()));
        }
        let normalised = seven.join(" ");
        let cron = match parser().parse(&normalised) {
            Ok(cron) => cron,
            Err(e) => return Err(locate(&seven, &written, &e.to_string())),
        };
        // Search from 1970 on: a fixed start keeps `flow check` pure.
        let epoch = Utc.timestamp_opt(0, 0).single();
        if epoch
            .and_then(|t| cron.find_next_occurrence(&t, true).ok())
            .is_none()
        {
            return Err(whole(
                format!("`{}` never fires: no date matches it", text.trim()),
                "check the day-of-month against the month (`30 2` is February 30th) and the year"
                    .to_string(),
            ));
        }
        Ok(CronSchedule {
            text: text.to_string(),
            normalised,
            cron: Box::new(cron),
        })
    }

    /// The text as written in the flow.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The same schedule as 7 fields, second to year (`0 0 * * * * *`).
    pub fn normalised(&self) -> &str {
        &self.normalised
    }

    /// The first time the schedule fires strictly after `after` (whole
    /// seconds, UTC); `None` when it never fires again (its years are past,
    /// or beyond croner's year 5000).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&after, false).ok()
    }
}

impl PartialEq for CronSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.normalised == other.normalised
    }
}

impl Eq for CronSchedule {}

impl serde::Serialize for CronSchedule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for CronSchedule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        CronSchedule::parse(&text).map_err(|e| serde::de::Error::custom(e.message))
    }
}

/// The one parser configuration: 7 fields (the caller fills in the missing
/// second and year), Unix day-of-week numbers, day-of-month OR day-of-week,
/// and `5/15` (cronexpr accepts it: from 5, every 15).
fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Required)
        .sloppy_ranges(true)
        .build()
}

/// The 5-field form of an `@` nickname cronexpr knows, case-insensitive.
fn nickname(text: &str) -> Option<&'static str> {
    const NAMES: [(&str, &str); 6] = [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
    ];
    NAMES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(text))
        .map(|(_, form)| *form)
}

/// The byte ranges of the whitespace-separated fields of `text`.
fn fields(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push(s..i);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(s..text.len());
    }
    out
}

fn whole(message: String, help: String) -> CronError {
    CronError {
        field: None,
        message,
        help,
    }
}

/// Whether every word of letters in field `i` is one that field takes:
/// month and day names in their fields, `L`/`W` where they mean something.
fn names_fit(i: usize, field: &str) -> bool {
    const MONTHS: [&str; 12] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let upper = field.to_ascii_uppercase();
    upper
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .all(|w| match i {
            3 => ["L", "W", "LW"].contains(&w),
            4 => MONTHS.contains(&w),
            5 => w == "L" || DAYS.contains(&w),
            _ => false,
        })
}

/// The error for field `i` (`range`: where it is in the text, if written).
fn field_error(i: usize, field: &str, range: Option<Range<usize>>) -> CronError {
    CronError {
        field: range,
        message: format!("`{field}` is not a valid {} field", FIELD_NAMES[i]),
        help: format!(
            "the {} field takes `*`, a value, a range `a-b`, a step `*/n`, or a list of these: {}",
            FIELD_NAMES[i], FIELD_VALUES[i]
        ),
    }
}

/// Names the field croner refused: the first written field that fails
/// alone (every other field `*`); the whole text when none does.
fn locate(seven: &[&str; 7], written: &[Option<Range<usize>>; 7], reason: &str) -> CronError {
    for (i, range) in written.iter().enumerate() {
        let Some(range) = range else { continue };
        let mut alone = ["*"; 7];
        alone[i] = seven[i];
        if parser().parse(&alone.join(" ")).is_err() {
            return field_error(i, seven[i], Some(range.clone()));
        }
    }
    whole(
        format!("not a valid cron schedule ({reason})"),
        "write 5 fields (minute hour day-of-month month day-of-week), e.g. `30 2 * * 1` for Mondays at 02:30 UTC".to_string(),
    )
}
