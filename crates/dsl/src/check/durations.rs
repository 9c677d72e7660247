//! Durations (`30s`, `1h30m`) are validated with humantime (F0007).

use crate::ast::{DurationLit, Spanned};
use crate::diagnostic::{Code, Diagnostic};
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
}
