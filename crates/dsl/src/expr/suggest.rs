//! "Did you mean …?" for misspelt names.

/// The candidate closest to `name`, if it is close enough to be a likely
/// typo: equal ignoring case, or within one edit per three characters
/// (transpositions count as one edit: `plna` → `plan`).
pub(super) fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let budget = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| {
            let d = if c.eq_ignore_ascii_case(name) {
                0
            } else {
                strsim::osa_distance(name, c)
            };
            (d, c)
        })
        .filter(|(d, _)| *d <= budget)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// `help` text: "did you mean `x`?" or `otherwise`.
pub(super) fn help_for<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    otherwise: impl FnOnce() -> String,
) -> String {
    match did_you_mean(name, candidates) {
        Some(c) => format!("did you mean `{c}`?"),
        None => otherwise(),
    }
}

/// `d` with [`did_you_mean`]'s answer (for `name` written at `span`) as its
/// [`crate::Suggestion`], when there is one.
pub(super) fn with_fix<'a>(
    d: crate::Diagnostic,
    name: &str,
    span: crate::Span,
    candidates: impl IntoIterator<Item = &'a str>,
) -> crate::Diagnostic {
    match did_you_mean(name, candidates) {
        Some(c) => d.suggest(span, c),
        None => d,
    }
}

/// `a`, `b`, `c` as "`a`, `b` or `c`"; "none" when empty.
pub(super) fn list(names: &[&str]) -> String {
    match names {
        [] => "none".to_string(),
        [one] => format!("`{one}`"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|n| format!("`{n}`")).collect();
            format!("{} or `{last}`", init.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let c = ["issue", "plan", "runs", "stages"];
        assert_eq!(did_you_mean("isue", c), Some("issue"));
        assert_eq!(did_you_mean("plna", c), Some("plan"));
        assert_eq!(did_you_mean("rnus", c), Some("runs"));
        assert_eq!(did_you_mean("Plan", c), Some("plan"));
        assert_eq!(did_you_mean("zzzzzz", c), None);
        assert_eq!(did_you_mean("", c), None);
        assert_eq!(did_you_mean("é", ["e"]), Some("e"));
    }

    #[test]
    fn lists_read_naturally() {
        assert_eq!(list(&[]), "none");
        assert_eq!(list(&["a"]), "`a`");
        assert_eq!(list(&["a", "b", "c"]), "`a`, `b` or `c`");
    }
}
