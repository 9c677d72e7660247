//! Durations (`30s`, `1h30m`) are validated with humantime (F0007), and
//! those that set a timer are bounded by [`MAX_DURATION`] (F0007 too).

use crate::ast::{DurationLit, Spanned};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::MAX_DURATION;
use crate::span::SourceId;
use std::time::Duration;

/// Parses a duration literal; `None` when it is not valid humantime text.
pub(crate) fn parse(lit: &DurationLit) -> Option<Duration> {
    let text = lit.0.trim();
    // humantime accepts "1h 30m"; the language does not (a duration is one token).
    if text.is_empty() || text.contains(char::is_whitespace) {
        return None;
    }
    humantime::parse_duration(text).ok()
}

/// Checks a duration literal, pushing [`Code::BadDuration`] on its span when
/// it does not parse. Returns the duration when it does.
pub(crate) fn check(
    lit: &Spanned<DurationLit>,
    source: SourceId,
    diags: &mut Vec<Diagnostic>,
) -> Option<Duration> {
    let parsed = parse(&lit.node);
    if parsed.is_none() {
        diags.push(
            Diagnostic::new(
                Code::BadDuration,
                source,
                lit.span,
                format!("`{}` is not a valid duration", lit.node.0),
            )
            .label("not a duration")
            .help("write a number with a unit (ms, s, m, h, d), e.g. `30s`, `10m` or `1h30m`"),
        );
    }
    parsed
}

/// Checks the duration of a timer setting (a stage or flow `timeout`,
/// `grace`, a `retry` delay, `again after`): valid, and at most
/// [`MAX_DURATION`], so the engine can add it to the current time. Returns
/// it when it is both.
pub(crate) fn check_timer(
    lit: &Spanned<DurationLit>,
    source: SourceId,
    diags: &mut Vec<Diagnostic>,
) -> Option<Duration> {
    let parsed = check(lit, source, diags)?;
    if parsed > MAX_DURATION {
        diags.push(
            Diagnostic::new(
                Code::BadDuration,
                source,
                lit.span,
                format!("`{}` is too long (at most 365 days)", lit.node.0),
            )
            .label("longer than 365d")
            .help("a timeout, grace, retry delay or `again after` is at most `365d`"),
        );
        return None;
    }
    Some(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_language_durations() {
        let d = |s: &str| parse(&DurationLit(s.into()));
        assert_eq!(d("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(d("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(d("1d"), Some(Duration::from_secs(86400)));
        assert_eq!(d("10x"), None);
        assert_eq!(d(""), None);
        assert_eq!(d("1h 30m"), None);
    }

    #[test]
    fn timers_are_bounded_by_a_year() {
        let lit = |s: &str| Spanned::new(DurationLit(s.into()), crate::span::Span::new(0, 1));
        let mut diags = Vec::new();
        assert_eq!(
            check_timer(&lit("365d"), SourceId(0), &mut diags),
            Some(MAX_DURATION)
        );
        assert!(diags.is_empty());
        for long in ["366d", "999999999999d", "8760h1s"] {
            assert_eq!(check_timer(&lit(long), SourceId(0), &mut diags), None);
        }
        assert_eq!(diags.len(), 3);
        assert!(diags.iter().all(|d| d.code == Code::BadDuration));
    }
}
