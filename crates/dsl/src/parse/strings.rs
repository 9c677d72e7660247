//! String bodies: escapes of `"…"` and the dedent of raw `"""…"""` blocks.

use crate::span::Span;

/// Resolves the escapes of a `"…"` body (`\"`, `\\`, `\n`, `\t`, `\r`, `\$`).
/// `offset` is the byte offset of `body` in the file. An unknown escape is
/// kept verbatim and its span returned, so the caller can report it.
pub(super) fn unescape(body: &str, offset: usize) -> (String, Option<Span>) {
    let mut out = String::with_capacity(body.len());
    let mut bad = None;
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '"')) => out.push('"'),
            Some((_, '\\')) => out.push('\\'),
            Some((_, 'n')) => out.push('\n'),
            Some((_, 't')) => out.push('\t'),
            Some((_, 'r')) => out.push('\r'),
            Some((_, '$')) => out.push('$'),
            Some((j, other)) => {
                out.push('\\');
                out.push(other);
                let end = offset + j + other.len_utf8();
                bad.get_or_insert(Span::new(offset + i, end));
            }
            // The grammar never ends a body with a lone `\`; keep it anyway.
            None => out.push('\\'),
        }
    }
    (out, bad)
}

/// The script of a raw `"""…"""` block, `body` being the text between the
/// quotes. As docs/language.md says: the line break right after the opening
/// quotes (with any blanks before it) and the whitespace-only last line are
/// dropped, then the common leading whitespace of the non-blank lines is
/// removed (a tab and a space are one column each). Everything else is kept
/// byte for byte, except that a `\r` ending a line is dropped, so a file with
/// CRLF line endings gives the same script as with LF.
pub(super) fn dedent(body: &str) -> String {
    let mut lines: Vec<&str> = body
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    if lines.len() > 1 && is_blank(lines[0]) {
        lines.remove(0);
    }
    if lines.len() > 1 && lines.last().is_some_and(|l| is_blank(l)) {
        lines.pop();
    }
    let indent = lines
        .iter()
        .filter(|l| !is_blank(l))
        .map(|l| leading_blanks(l))
        .min()
        .unwrap_or(0);
    let dedented: Vec<&str> = lines
        .iter()
        .map(|l| {
            // Blank lines may be shorter than the indent: drop what they have.
            let cut = leading_blanks(l).min(indent);
            &l[cut..]
        })
        .collect();
    dedented.join("\n")
}

fn is_blank(line: &str) -> bool {
    line.chars().all(|c| c == ' ' || c == '\t')
}

/// Number of leading spaces and tabs, in bytes (each is one byte).
fn leading_blanks(line: &str) -> usize {
    line.len() - line.trim_start_matches([' ', '\t']).len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_resolved() {
        let (s, bad) = unescape(r#"a \"b\" \\ \n\t\r \$HOME"#, 0);
        assert_eq!(s, "a \"b\" \\ \n\t\r $HOME");
        assert_eq!(bad, None);
    }

    #[test]
    fn unknown_escape_is_kept_and_located() {
        let body = r"ok \q";
        let (s, bad) = unescape(body, 10);
        assert_eq!(s, r"ok \q");
        assert_eq!(bad, Some(Span::new(13, 15)));
        // A multi-byte escaped character is covered whole.
        let (_, bad) = unescape("\\é", 0);
        assert_eq!(bad, Some(Span::new(0, 3)));
    }

    #[test]
    fn dedent_drops_first_break_and_last_blank_line() {
        let body = "\n      git clone \"$REPO\" x\n      echo 'hi' \\\n        more\n    ";
        assert_eq!(dedent(body), "git clone \"$REPO\" x\necho 'hi' \\\n  more");
    }

    #[test]
    fn dedent_keeps_blank_lines_inside_and_trailing_spaces() {
        let body = "\n    a  \n\n  \n    b\n  ";
        assert_eq!(dedent(body), "a  \n\n\nb");
        // A blank line longer than the indent keeps the excess.
        let body = "\n  a\n      \n  b\n";
        assert_eq!(dedent(body), "a\n    \nb");
    }

    #[test]
    fn dedent_counts_tabs_as_one_column() {
        assert_eq!(dedent("\n\t\techo a\n\t\t\techo b\n\t"), "echo a\n\techo b");
        // Mixed: the smallest indent is 2 columns, whatever the characters.
        assert_eq!(dedent("\n \tx\n    y\n"), "x\n  y");
    }

    #[test]
    fn dedent_of_one_line_and_empty_blocks() {
        assert_eq!(dedent("echo \"hi\" $X"), "echo \"hi\" $X");
        assert_eq!(dedent("  x"), "x");
        assert_eq!(dedent(""), "");
        assert_eq!(dedent("\n"), "");
        // Text after the opening quotes stays and takes part in the indent.
        assert_eq!(dedent("a\n  b\n"), "a\n  b");
    }

    #[test]
    fn dedent_treats_crlf_like_lf() {
        let lf = dedent("\n    a\n      b\n    ");
        let crlf = dedent("\r\n    a\r\n      b\r\n    ");
        assert_eq!(lf, "a\n  b");
        assert_eq!(crlf, lf);
    }

    #[test]
    fn dedent_keeps_unicode() {
        assert_eq!(dedent("\n  héllo → wörld\n  ✓\n"), "héllo → wörld\n✓");
    }
}
