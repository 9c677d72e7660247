//! `--secrets-file FILE`: secret values kept out of the environment.
//!
//! The format is the common subset of `.env` files: one `NAME=value` per
//! line, blank lines and `#` comments ignored, an optional `export ` prefix,
//! and a value optionally wrapped in matching single or double quotes (taken
//! literally: no escapes, no `$` expansion).

use std::path::Path;

/// Reads `path` into `(NAME, value)` pairs.
///
/// Errors: the file cannot be read, or a line is not `NAME=value` (the
/// message names the file and line; the value is never shown).
pub fn read(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text).map_err(|(line, why)| format!("{}:{line}: {why}", path.display()))
}

fn parse(text: &str) -> Result<Vec<(String, String)>, (usize, String)> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((name, value)) = line.split_once('=') else {
            return Err((i + 1, "expected NAME=value".into()));
        };
        let name = name.trim();
        let valid = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Err((i + 1, format!("`{name}` is not a variable name")));
        }
        out.push((name.to_string(), unquote(value.trim()).to_string()));
    }
    Ok(out)
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_names_values_quotes_and_comments() {
        let text = "# tokens\nGH_TOKEN=abc\nexport API_KEY = \"x y\"\n\nRAW='$HOME'\n";
        let got = parse(text).unwrap();
        assert_eq!(
            got,
            [
                ("GH_TOKEN".into(), "abc".into()),
                ("API_KEY".into(), "x y".into()),
                ("RAW".into(), "$HOME".into())
            ]
        );
    }

    #[test]
    fn rejects_lines_without_a_name_and_never_echoes_values() {
        let err = parse("GOOD=1\nno equals sign here\n").unwrap_err();
        assert_eq!(err.0, 2);
        let err = parse("1BAD=secret-value\n").unwrap_err();
        assert!(!err.1.contains("secret-value"));
    }
}
