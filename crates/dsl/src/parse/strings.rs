//! String bodies: escapes of `"…"` and the dedent of raw `"""…"""` blocks.
//!
//! Both functions come in two flavours built on one walk: the plain one the
//! parser uses, and a `_mapped` one that also records where each byte of the
//! result came from in the file (for shellcheck findings, see
//! [`crate::script`]). The walk writes into an [`Out`], so the parser pays
//! nothing for the map.

use crate::span::Span;

/// Where the resolved text goes: a plain `String`, or a [`Mapped`] that also
/// remembers the source offset of every byte.
trait Out {
    /// Appends `c`, which came from the file at byte `src`.
    fn push(&mut self, c: char, src: usize);
    /// Appends `s`, whose first byte came from the file at byte `src` and the
    /// rest contiguously after it.
    fn push_str(&mut self, s: &str, src: usize);
}

impl Out for String {
    fn push(&mut self, c: char, _src: usize) {
        String::push(self, c);
    }
    fn push_str(&mut self, s: &str, _src: usize) {
        String::push_str(self, s);
    }
}

/// A resolved string with, for each of its bytes, the file offset it came
/// from; `map` has one more entry, for the end of the text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Mapped {
    /// The resolved text.
    pub(crate) text: String,
    /// `map[i]` = file offset of byte `i` of `text`; `map[text.len()]` = the
    /// offset just after the body.
    pub(crate) map: Vec<usize>,
}

impl Out for Mapped {
    fn push(&mut self, c: char, src: usize) {
        self.text.push(c);
        self.map.extend((0..c.len_utf8()).map(|k| src + k));
    }
    fn push_str(&mut self, s: &str, src: usize) {
        self.text.push_str(s);
        self.map.extend((0..s.len()).map(|k| src + k));
    }
}

/// Resolves the escapes of a `"…"` body (`\"`, `\\`, `\n`, `\t`, `\r`, `\$`).
/// `offset` is the byte offset of `body` in the file. An unknown escape is
/// kept verbatim and its span returned, so the caller can report it.
pub(super) fn unescape(body: &str, offset: usize) -> (String, Option<Span>) {
    let mut out = String::with_capacity(body.len());
    let bad = unescape_into(body, offset, &mut out);
    (out, bad)
}

/// [`unescape`] with the map: an escape's character maps to its backslash.
pub(crate) fn unescape_mapped(body: &str, offset: usize) -> Mapped {
    let mut out = Mapped::default();
    unescape_into(body, offset, &mut out);
    out.map.push(offset + body.len());
    out
}

fn unescape_into(body: &str, offset: usize, out: &mut impl Out) -> Option<Span> {
    let mut bad = None;
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        let at = offset + i;
        if c != '\\' {
            out.push(c, at);
            continue;
        }
        match chars.next() {
            Some((_, '"')) => out.push('"', at),
            Some((_, '\\')) => out.push('\\', at),
            Some((_, 'n')) => out.push('\n', at),
            Some((_, 't')) => out.push('\t', at),
            Some((_, 'r')) => out.push('\r', at),
            Some((_, '$')) => out.push('$', at),
            Some((j, other)) => {
                out.push('\\', at);
                out.push(other, offset + j);
                let end = offset + j + other.len_utf8();
                bad.get_or_insert(Span::new(at, end));
            }
            // The grammar never ends a body with a lone `\`; keep it anyway.
            None => out.push('\\', at),
        }
    }
    bad
}

/// The script of a raw `"""…"""` block, `body` being the text between the
/// quotes. As docs/language.md says: the line break right after the opening
/// quotes (with any blanks before it) and the whitespace-only last line are
/// dropped, then the common leading whitespace of the non-blank lines is
/// removed (a tab and a space are one column each). Everything else is kept
/// byte for byte, except that a `\r` ending a line is dropped, so a file with
/// CRLF line endings gives the same script as with LF.
pub(super) fn dedent(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    dedent_into(body, 0, &mut out);
    out
}

/// [`dedent`] with the map (`offset`: the body's offset in the file). A line
/// break of the script maps to the line's `\r` when it had one, else to its
/// `\n`, so a span ending at a line's end stops before the `\r`.
pub(crate) fn dedent_mapped(body: &str, offset: usize) -> Mapped {
    let mut out = Mapped::default();
    let end = dedent_into(body, offset, &mut out);
    out.map.push(end);
    out
}

/// Writes the dedented `body` to `out`; returns the file offset just after
/// the last kept line (where the script ends in the file).
fn dedent_into(body: &str, offset: usize, out: &mut impl Out) -> usize {
    // Each line without its `\r`, with its start in `body` and the offset of
    // its line break (`\r` or `\n`; `body.len()` for the last line).
    let mut lines: Vec<(usize, &str, usize)> = Vec::new();
    let mut start = 0;
    for raw in body.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        lines.push((start, line, start + line.len()));
        start += raw.len() + 1;
    }
    if lines.len() > 1 && is_blank(lines[0].1) {
        lines.remove(0);
    }
    if lines.len() > 1 && lines.last().is_some_and(|l| is_blank(l.1)) {
        lines.pop();
    }
    let indent = lines
        .iter()
        .filter(|l| !is_blank(l.1))
        .map(|l| leading_blanks(l.1))
        .min()
        .unwrap_or(0);
    let mut end = offset;
    for (k, (start, line, brk)) in lines.iter().enumerate() {
        if k > 0 {
            // The break that ended the previous line.
            out.push('\n', end);
        }
        // Blank lines may be shorter than the indent: drop what they have.
        let cut = leading_blanks(line).min(indent);
        out.push_str(&line[cut..], offset + start + cut);
        end = offset + brk;
    }
    end
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

    /// Checks that every byte of `m.text` maps to the same byte in `file`
    /// (escapes excepted, which the callers check by hand).
    fn same_bytes(m: &Mapped, file: &str) {
        assert_eq!(m.map.len(), m.text.len() + 1);
        for (i, b) in m.text.bytes().enumerate() {
            assert_eq!(file.as_bytes()[m.map[i]], b, "byte {i} of {:?}", m.text);
        }
    }

    #[test]
    fn unescape_map_points_escapes_at_their_backslash() {
        let file = r#"x "a\tb\"é\$c""#;
        let body = &file[3..file.len() - 1];
        let m = unescape_mapped(body, 3);
        assert_eq!(m.text, "a\tb\"é$c");
        // a → 3, tab → 4 (its backslash), b → 6, " → 7, é → 9 and 10, $ → 11, c → 13.
        assert_eq!(m.map, vec![3, 4, 6, 7, 9, 10, 11, 13, 14]);
        assert_eq!(m.text, unescape(body, 3).0);
    }

    #[test]
    fn dedent_map_skips_indent_and_first_break() {
        let file = "run \"\"\"\n    a $x\n      b\n    \"\"\"";
        let body = &file[7..file.len() - 3];
        let m = dedent_mapped(body, 7);
        assert_eq!(m.text, "a $x\n  b");
        assert_eq!(m.text, dedent(body));
        let breaks: Vec<usize> = m.text.match_indices('\n').map(|(i, _)| m.map[i]).collect();
        assert_eq!(breaks, vec![file.find("$x").unwrap() + 2]);
        let b = m.text.find('b').unwrap();
        assert_eq!(&file[m.map[b]..m.map[b] + 1], "b");
        assert_eq!(&file[m.map[b] - 2..m.map[b]], "  ");
        // The end is the end of the last kept line.
        assert_eq!(*m.map.last().unwrap(), file.find("b").unwrap() + 1);
    }

    #[test]
    fn dedent_map_handles_tabs_crlf_and_unicode() {
        let file = "\r\n\t\té → $a\r\n\t\t\t✓ $b\r\n\t";
        let m = dedent_mapped(file, 0);
        assert_eq!(m.text, "é → $a\n\t✓ $b");
        assert_eq!(m.text, dedent(file));
        let nl = m.text.find('\n').unwrap();
        // The line break maps to the `\r`, so a span to the end of line 1 stops before it.
        assert_eq!(&file[m.map[nl]..m.map[nl] + 1], "\r");
        for (i, b) in m.text.bytes().enumerate() {
            if b != b'\n' {
                assert_eq!(file.as_bytes()[m.map[i]], b);
            }
        }
        let plain = "\n  one\n  two\n";
        same_bytes(&dedent_mapped(plain, 0), plain);
    }

    #[test]
    fn mapped_flavours_give_the_same_text() {
        for body in [
            "",
            "\n",
            "  x",
            "a\n  b\n",
            "\n    a  \n\n  \n    b\n  ",
            "\r\n  a\r\n",
        ] {
            assert_eq!(dedent_mapped(body, 5).text, dedent(body), "{body:?}");
            let m = dedent_mapped(body, 5);
            assert_eq!(m.map.len(), m.text.len() + 1);
        }
        for body in [r"ok \q", "\\é", r"\n\\"] {
            assert_eq!(unescape_mapped(body, 0).text, unescape(body, 0).0);
        }
    }
}
