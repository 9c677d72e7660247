//! `trigger` items: when `flow serve` starts a run of a flow by itself
//! (`flow run` ignores them). Times are UTC.

use super::cron::CronSchedule;
use chrono::{DateTime, TimeZone, Utc};
use std::time::Duration;

/// The shortest `trigger every` (`flow check` rejects shorter ones).
pub const MIN_EVERY: Duration = Duration::from_secs(1);

/// The longest `trigger every`: 365 days, like a timer setting.
pub const MAX_EVERY: Duration = super::MAX_DURATION;

/// One `trigger` of a flow.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// `trigger cron "EXPR"`: at each time the schedule matches.
    Cron(CronSchedule),
    /// `trigger every D`: at each whole multiple of `D` since 1970-01-01
    /// 00:00 UTC (`every 4h` fires at 00:00, 04:00 … UTC), so the ticks do
    /// not depend on when the server started. From [`MIN_EVERY`] to
    /// [`MAX_EVERY`].
    Every(Duration),
}

impl Trigger {
    /// The first time this trigger fires strictly after `after`; `None`
    /// when it never fires again (a cron whose years are past) or the time
    /// is out of chrono's range.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Trigger::Cron(schedule) => schedule.next_after(after),
            Trigger::Every(every) => next_multiple(after, *every),
        }
    }

    /// The trigger as a flow would write it: `cron "0 * * * *"`, `every 4h`.
    pub fn text(&self) -> String {
        match self {
            Trigger::Cron(schedule) => format!("cron {:?}", schedule.text()),
            Trigger::Every(every) => format!("every {}", humantime::format_duration(*every)),
        }
    }
}

/// The smallest whole multiple of `every` since the Unix epoch that is
/// strictly after `after`, in milliseconds (checked arithmetic).
fn next_multiple(after: DateTime<Utc>, every: Duration) -> Option<DateTime<Utc>> {
    let step = i64::try_from(every.as_millis()).ok().filter(|s| *s > 0)?;
    let now = after.timestamp_millis();
    let ticks = now.div_euclid(step).checked_add(1)?;
    let at = ticks.checked_mul(step)?;
    Utc.timestamp_millis_opt(at).single()
}
