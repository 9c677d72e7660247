//! "Did you mean …?" suggestions for misspelt names.

/// The candidate closest to `name`, if one is close enough to be a likely
/// typo (Jaro-Winkler similarity ≥ 0.8, or at most one edit — a swap of two
/// neighbours counts as one — per three characters).
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, c)| {
            *score >= 0.8 || strsim::osa_distance(name, c) <= (name.len() / 3).max(1)
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// `" (did you mean `x`?)"`-style help: `Some("did you mean `x`?")` when a
/// candidate is close.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// `d` with the closest candidate to `name` (written at `span`) as its
/// [`crate::Suggestion`], when one is close enough ([`closest`]).
pub(crate) fn with_fix<'a>(
    d: crate::Diagnostic,
    name: &str,
    span: crate::Span,
    candidates: impl IntoIterator<Item = &'a str>,
) -> crate::Diagnostic {
    match closest(name, candidates) {
        Some(c) => d.suggest(span, c),
        None => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(closest("biuld", ["build", "test", "deploy"]), Some("build"));
        assert_eq!(closest("agnet", ["agent", "test"]), Some("agent"));
        assert_eq!(closest("sdt", ["std"]), Some("std"));
        assert_eq!(closest("zzz", ["build", "test"]), None);
        assert_eq!(closest("x", std::iter::empty()), None);
    }
}
