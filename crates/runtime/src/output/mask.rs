//! Secret masking: every value of the run's secrets replaced by `***` in
//! whatever `flow` writes.

use aho_corasick::{AhoCorasick, MatchKind};
use std::borrow::Cow;

/// Secrets (and lines of multi-line secrets) shorter than this many bytes
/// are not masked: replacing every `a` or `42` of the output would make it
/// unreadable and would tell the secret anyway. A run warns about each such
/// secret by name ([`short_secrets`]).
pub const MIN_SECRET_LEN: usize = 4;

/// The lines of the secret values that are masked: non-empty, without a
/// trailing `\r`, at least [`MIN_SECRET_LEN`] bytes.
fn pieces(value: &str) -> impl Iterator<Item = &str> {
    value
        .split('\n')
        .map(|p| p.strip_suffix('\r').unwrap_or(p))
        .filter(|p| !p.is_empty())
}

/// Names of the secrets with a (line) value too short to be masked (see
/// [`MIN_SECRET_LEN`]); an empty secret has nothing to hide.
pub fn short_secrets(secrets: &[(String, String)]) -> Vec<&str> {
    secrets
        .iter()
        .filter(|(_, v)| pieces(v).any(|p| p.len() < MIN_SECRET_LEN))
        .map(|(name, _)| name.as_str())
        .collect()
}

/// Replaces secret values by `***`.
///
/// A multi-line secret is masked line by line (output is cut at newlines, so
/// a secret spanning lines could not be matched whole). Values (or lines)
/// shorter than [`MIN_SECRET_LEN`] bytes are not masked.
#[derive(Debug, Default)]
pub struct Masker {
    /// What is masked, sorted.
    pieces: Vec<String>,
    matcher: Option<AhoCorasick>,
}

impl Masker {
    /// A masker for these secret values (empty and short values ignored).
    pub fn new<S: AsRef<str>>(secrets: &[S]) -> Masker {
        let pieces: Vec<String> = secrets
            .iter()
            .flat_map(|s| pieces(s.as_ref()))
            .filter(|p| p.len() >= MIN_SECRET_LEN)
            .map(str::to_string)
            .collect();
        Masker::of_pieces(pieces)
    }

    /// The masker for JSON text (the journal): each secret as JSON writes
    /// it inside a string (`"` as `\"`, a tab as `\t` …). Only that form
    /// can occur in JSON text, and masking it never breaks the syntax.
    pub fn for_json(&self) -> Masker {
        let escaped = self
            .pieces
            .iter()
            .map(|p| {
                let quoted = serde_json::Value::String(p.clone()).to_string();
                quoted[1..quoted.len() - 1].to_string()
            })
            .collect();
        Masker::of_pieces(escaped)
    }

    fn of_pieces(mut pieces: Vec<String>) -> Masker {
        pieces.sort();
        pieces.dedup();
        if pieces.is_empty() {
            return Masker::default();
        }
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&pieces);
        // Building only fails for absurd pattern sets; masking then falls
        // back to nothing rather than aborting the run — log it loudly.
        if let Err(e) = &matcher {
            tracing::error!("cannot build the secret masker: {e}");
        }
        Masker {
            pieces,
            matcher: matcher.ok(),
        }
    }

    /// True when there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.matcher.is_none()
    }

    /// `bytes` with every secret replaced by `***`.
    pub fn mask<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        let Some(m) = &self.matcher else {
            return Cow::Borrowed(bytes);
        };
        if m.find(bytes).is_none() {
            return Cow::Borrowed(bytes);
        }
        let mut out = Vec::with_capacity(bytes.len());
        m.replace_all_with_bytes(bytes, &mut out, |_, _, dst| {
            dst.extend_from_slice(b"***");
            true
        });
        Cow::Owned(out)
    }

    /// `text` with every secret replaced by `***`.
    pub fn mask_str<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.mask(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            Cow::Owned(v) => Cow::Owned(String::from_utf8_lossy(&v).into_owned()),
        }
    }

    /// `value` with every secret masked in its strings and object keys.
    /// Masking values before they are serialised (rather than the JSON
    /// text) also catches secrets JSON escapes (`"`, `\`, control
    /// characters), and never breaks the JSON.
    pub fn mask_json(&self, value: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(self.mask_str(s).into_owned()),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.mask_json(v)).collect()),
            Value::Object(map) => Value::Object(self.mask_object(map)),
            other => other.clone(),
        }
    }

    /// [`Masker::mask_json`] for an object.
    pub fn mask_object(
        &self,
        map: &serde_json::Map<String, serde_json::Value>,
    ) -> serde_json::Map<String, serde_json::Value> {
        map.iter()
            .map(|(k, v)| (self.mask_str(k).into_owned(), self.mask_json(v)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_secrets_longest_first() {
        let m = Masker::new(&["abcd", "abcdefg", ""]);
        assert_eq!(&*m.mask(b"x abcdefg y abcd z"), b"x *** y *** z");
        assert!(matches!(m.mask(b"nothing"), Cow::Borrowed(_)));
        assert!(Masker::new::<&str>(&[]).is_empty());
    }

    /// Issue 6: a 1-character secret masked every such character of the
    /// output.
    #[test]
    fn short_secrets_are_not_masked_and_are_named() {
        let m = Masker::new(&["a", "42", "xyz"]);
        assert!(m.is_empty());
        assert_eq!(m.mask_str("a 42 xyz banana"), "a 42 xyz banana");
        let secrets = [
            ("ONE".to_string(), "a".to_string()),
            ("OK".to_string(), "long enough".to_string()),
            ("EMPTY".to_string(), String::new()),
            ("PEM".to_string(), "-----BEGIN-----\n==\n".to_string()),
        ];
        assert_eq!(short_secrets(&secrets), ["ONE", "PEM"]);
        let m = Masker::new(&["-----BEGIN-----\n==\n"]);
        assert_eq!(m.mask_str("-----BEGIN----- ==\n"), "*** ==\n");
    }

    #[test]
    fn json_values_are_masked_before_escaping() {
        let m = Masker::new(&["sec\"ret\\x", "canary-1234"]);
        let v = serde_json::json!({
            "status": "sec\"ret\\x",
            "nested": ["a canary-1234 b", {"canary-1234": 1}],
            "n": 3
        });
        let masked = m.mask_json(&v);
        assert_eq!(
            masked,
            serde_json::json!({"status": "***", "nested": ["a *** b", {"***": 1}], "n": 3})
        );
    }

    #[test]
    fn multi_line_secret_masked_per_line() {
        let m = Masker::new(&["line1\r\nline2\n"]);
        assert_eq!(m.mask_str("a line1\nb line2\n"), "a ***\nb ***\n");
    }
}
