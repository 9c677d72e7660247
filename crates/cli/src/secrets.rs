//! `--secrets-file FILE`: secret values kept out of the environment.
//!
//! The file is a `.env` file, read with the `dotenvy` crate: one
//! `NAME=value` per line, blank lines and `#` comments ignored, an optional
//! `export ` prefix; a value in single quotes is taken literally, one in
//! double quotes may span lines and knows the escapes `\n`, `\"`, `\\`,
//! `\$`; `$NAME` / `${NAME}` in an unquoted or double-quoted value is
//! replaced by an earlier line's value or the environment's.
//!
//! Errors name the file and the line, never a value.

use std::path::Path;

/// Reads `path` into `(NAME, value)` pairs, in file order.
///
/// # Errors
///
/// The file cannot be read, a line does not parse (an unclosed quote, a
/// bad escape, no `=`), or a name is not a variable name. The message is
/// `FILE:LINE: why` and never quotes the line.
pub fn read(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text).map_err(|(line, why)| format!("{}:{line}: {why}", path.display()))
}

/// The pairs of a `.env` text, or the 1-based line of the first problem.
fn parse(text: &str) -> Result<Vec<(String, String)>, (usize, String)> {
    let mut out = Vec::new();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok((name, value)) => {
                if !is_variable_name(&name) {
                    let line = line_of_name(text, &name);
                    return Err((line, format!("`{name}` is not a variable name")));
                }
                out.push((name, value));
            }
            Err(dotenvy::Error::LineParse(bad, _)) => {
                // `bad` holds the line (or its value): used to find the
                // line number, never shown.
                return Err((
                    line_of(text, &bad),
                    "cannot be read as `NAME=value` (an unclosed quote, a bad escape or no `=`?)"
                        .into(),
                ));
            }
            Err(e) => return Err((0, format!("cannot be read: {e}"))),
        }
    }
    Ok(out)
}

fn is_variable_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

/// The 1-based line where `piece` starts in `text` (1 if not found).
fn line_of(text: &str, piece: &str) -> usize {
    let piece = piece.trim();
    let at = if piece.is_empty() {
        None
    } else {
        text.find(piece)
    };
    at.map_or(1, |i| text[..i].matches('\n').count() + 1)
}

/// The 1-based line that defines `name` (1 if not found).
fn line_of_name(text: &str, name: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            let l = l.strip_prefix("export ").unwrap_or(l).trim_start();
            l.strip_prefix(name)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(1, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_names_values_quotes_and_comments() {
        let text =
            "# tokens\nGH_TOKEN=abc\nexport API_KEY=\"x y\"\n\nRAW='$HOME'\nPEM=\"line1\nline2\"\n";
        let got = parse(text).unwrap();
        assert_eq!(
            got,
            [
                ("GH_TOKEN".into(), "abc".into()),
                ("API_KEY".into(), "x y".into()),
                ("RAW".into(), "$HOME".into()),
                ("PEM".into(), "line1\nline2".into()),
            ]
        );
    }

    /// Issue 6: `--secrets-file` parse errors showed the secret.
    #[test]
    fn errors_name_the_line_and_never_echo_values() {
        let (line, why) = parse("GOOD=1\nTOKEN=\"s3cr3t-value-unclosed\n").unwrap_err();
        assert_eq!(line, 2);
        assert!(!why.contains("s3cr3t"), "{why}");
        let (line, why) = parse("A=1\n\nB='it''s-secret-value\n").unwrap_err();
        assert_eq!(line, 3);
        assert!(!why.contains("secret-value"), "{why}");
        let (line, why) = parse("X=1\nno equals sign here\n").unwrap_err();
        assert_eq!(line, 2, "{why}");
        assert!(!why.contains("equals sign"), "{why}");
        let (line, why) = parse("X=1\n1BAD=secret-value\n").unwrap_err();
        assert_eq!(line, 2);
        assert!(!why.contains("secret-value"), "{why}");
    }
}
