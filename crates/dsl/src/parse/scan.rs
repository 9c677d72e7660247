//! The grammar's tokens (its atomic rules, `@{ … }` in `src/flow.pest`) as
//! functions on bytes: each takes the text and a byte offset and returns
//! where the token ends, or `None` when it does not start there.
//!
//! Each function matches exactly what its pest rule matches (the tests and
//! the fuzz target compare the two parsers). pest's `ANY` is one character;
//! these step one byte, which ends in the same place because every byte a
//! token stops at is ASCII and never part of a multi-byte character.

use crate::span::Span;

/// `ident_char`: a letter, digit or `_`, or a `-` not followed by `>`.
fn ident_char(b: &[u8], i: usize) -> bool {
    match b.get(i) {
        Some(c) if c.is_ascii_alphanumeric() || *c == b'_' => true,
        Some(b'-') => b.get(i + 1) != Some(&b'>'),
        _ => false,
    }
}

/// The end of the run of `ident_char`s starting at `i`.
pub(super) fn word_end(b: &[u8], mut i: usize) -> usize {
    while ident_char(b, i) {
        i += 1;
    }
    i
}

/// The keyword `kw` at `i` (`kw_…`: the word, not followed by a name character).
pub(super) fn keyword(b: &[u8], i: usize, kw: &str) -> Option<usize> {
    let end = i + kw.len();
    (b.get(i..end) == Some(kw.as_bytes()) && !ident_char(b, end)).then_some(end)
}

/// `ident`: a letter or `_`, then name characters.
pub(super) fn ident(b: &[u8], i: usize) -> Option<usize> {
    let c = *b.get(i)?;
    (c.is_ascii_alphabetic() || c == b'_').then(|| word_end(b, i + 1))
}

/// The blanks, `;` and comments (`WHITESPACE`, `COMMENT`) from `i`; each
/// comment's span (from `#` to the end of its line) is pushed to `comments`.
pub(super) fn skip(b: &[u8], mut i: usize, comments: &mut Vec<Span>) -> usize {
    loop {
        match b.get(i) {
            Some(b' ' | b'\t' | b'\r' | b'\n' | b';') => i += 1,
            // `#{` opens a rhai object map, not a comment.
            Some(b'#') if b.get(i + 1) != Some(&b'{') => {
                let end = line_end(b, i);
                comments.push(Span::new(i, end));
                i = end;
            }
            _ => return i,
        }
    }
}

/// The offset of the next `\n` from `i`, or the end of the text.
fn line_end(b: &[u8], i: usize) -> usize {
    memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |k| i + k)
}

/// `string`: `"…"` on one line with `\` escapes (not a `"""` block).
pub(super) fn string(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') || b.get(i..i + 3) == Some(b"\"\"\"") {
        return None;
    }
    let mut j = i + 1;
    loop {
        let k = j + memchr::memchr3(b'"', b'\\', b'\n', &b[j..])?;
        match b[k] {
            b'"' => return Some(k + 1),
            b'\\' if !matches!(b.get(k + 1), None | Some(b'\n')) => j = k + 2,
            _ => return None,
        }
    }
}

/// `raw_string`: `"""…"""`.
pub(super) fn raw_string(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i..i + 3) != Some(b"\"\"\"") {
        return None;
    }
    memchr::memmem::find(&b[i + 3..], b"\"\"\"").map(|k| i + 3 + k + 3)
}

/// Bytes that end a `bare_path`.
fn path_stop(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t' | b'\r' | b'\n' | b';' | b',' | b'{' | b'}' | b'#' | b'"'
    )
}

/// `bare_path`: an unquoted file path or glob.
pub(super) fn bare_path(b: &[u8], i: usize) -> Option<usize> {
    let first = *b.get(i)?;
    if path_stop(first) {
        return None;
    }
    let mut j = i + 1;
    while b.get(j).is_some_and(|c| !path_stop(*c)) {
        j += 1;
    }
    Some(j)
}

/// `duration`: a digit, then letters, digits and dots (checked later).
pub(super) fn duration(b: &[u8], i: usize) -> Option<usize> {
    if !b.get(i)?.is_ascii_digit() {
        return None;
    }
    let mut j = i + 1;
    while b
        .get(j)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.')
    {
        j += 1;
    }
    Some(j)
}

/// The end of the digits from `i`, if there is at least one.
fn digits(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    while b.get(j).is_some_and(u8::is_ascii_digit) {
        j += 1;
    }
    (j > i).then_some(j)
}

/// An exponent (`e`/`E`, a sign, digits) at `i`, if there is a whole one.
fn exponent(b: &[u8], i: usize) -> Option<usize> {
    if !matches!(b.get(i), Some(b'e' | b'E')) {
        return None;
    }
    let j = i + 1 + usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
    digits(b, j)
}

/// `i` if a number may end there: no name character and no `.` follows.
fn number_end(b: &[u8], i: usize) -> Option<usize> {
    (!ident_char(b, i) && b.get(i) != Some(&b'.')).then_some(i)
}

/// After an optional `-` at `i`.
fn unsigned(b: &[u8], i: usize) -> usize {
    i + usize::from(b.get(i) == Some(&b'-'))
}

/// `int`: `-`? digits.
pub(super) fn int(b: &[u8], i: usize) -> Option<usize> {
    number_end(b, digits(b, unsigned(b, i))?)
}

/// `float`: `-`? digits `.` digits, and an optional exponent.
pub(super) fn float(b: &[u8], i: usize) -> Option<usize> {
    let j = digits(b, unsigned(b, i))?;
    if b.get(j) != Some(&b'.') {
        return None;
    }
    let j = digits(b, j + 1)?;
    number_end(b, exponent(b, j).unwrap_or(j))
}

/// `number`: `-`? digits, an optional fraction and an optional exponent.
pub(super) fn number(b: &[u8], i: usize) -> Option<usize> {
    let mut j = digits(b, unsigned(b, i))?;
    if b.get(j) == Some(&b'.') {
        if let Some(k) = digits(b, j + 1) {
            j = k;
        }
    }
    number_end(b, exponent(b, j).unwrap_or(j))
}

/// `boolean`: `true` or `false`.
pub(super) fn boolean(b: &[u8], i: usize) -> Option<usize> {
    keyword(b, i, "true").or_else(|| keyword(b, i, "false"))
}

/// `type_name`: a name, and optionally `<name>` (blanks allowed around).
pub(super) fn type_name(b: &[u8], i: usize) -> Option<usize> {
    let end = ident(b, i)?;
    let spaces = |mut j: usize| {
        while b.get(j) == Some(&b' ') {
            j += 1;
        }
        j
    };
    let generic = || {
        let j = spaces(end);
        (b.get(j) == Some(&b'<')).then_some(())?;
        let j = spaces(ident(b, spaces(j + 1))?);
        (b.get(j) == Some(&b'>')).then_some(j + 1)
    };
    Some(generic().unwrap_or(end))
}

/// `alert_op`: `<=`, `>=`, `<` or `>`.
pub(super) fn alert_op(b: &[u8], i: usize) -> Option<usize> {
    match (b.get(i), b.get(i + 1)) {
        (Some(b'<' | b'>'), Some(b'=')) => Some(i + 2),
        (Some(b'<' | b'>'), _) => Some(i + 1),
        _ => None,
    }
}

/// `budget_unit`: `usd` or `tokens`.
pub(super) fn budget_unit(b: &[u8], i: usize) -> Option<usize> {
    keyword(b, i, "usd").or_else(|| keyword(b, i, "tokens"))
}

/// `use_std`: the word `std`.
pub(super) fn use_std(b: &[u8], i: usize) -> Option<usize> {
    keyword(b, i, "std")
}

/// `expr`: a rhai expression, up to the end of the line, a `;`, a comment
/// or a closing bracket at depth 0. Brackets and strings are taken whole,
/// so they may span lines; an unclosed one ends the expression before it.
/// Blanks after the last token are not part of it.
pub(super) fn expr(b: &[u8], i: usize) -> Option<usize> {
    let mut end = expr_token(b, i)?;
    loop {
        let mut j = end;
        while matches!(b.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        match expr_token(b, j) {
            Some(k) => end = k,
            None => return Some(end),
        }
    }
}

/// `expr_tok`: a bracketed group, a string, or one character that does not
/// stop an expression.
fn expr_token(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'(' | b'[' | b'{' | b'`' => nested(b, i),
        b'"' | b'\'' => quoted(b, i),
        b'#' if b.get(i + 1) == Some(&b'{') => Some(i + 1),
        b' ' | b'\t' | b'\r' | b'\n' | b';' | b'#' | b')' | b']' | b'}' => None,
        _ => Some(i + 1),
    }
}

/// A `"…"` or `'…'` string of an expression (`\` escapes anything, line
/// breaks included): where it ends, or `None` when it is not closed.
fn quoted(b: &[u8], i: usize) -> Option<usize> {
    let quote = b[i];
    let mut j = i + 1;
    loop {
        let k = j + memchr::memchr2(quote, b'\\', &b[j..])?;
        if b[k] == quote {
            return Some(k + 1);
        }
        // `\` then any character (the byte after it is enough: see the module).
        if k + 1 >= b.len() {
            return None;
        }
        j = k + 2;
    }
}

/// What an open bracket or string of an expression waits for.
#[derive(Clone, Copy, PartialEq)]
enum Open {
    /// A `(`, `[`, `{` or `${` group: its closing byte.
    Group(u8),
    /// A backtick string: no escapes, `${…}` interpolations.
    Backtick,
}

/// A group (`expr_group`) or backtick string starting at `i`, with
/// everything nested in it: where it ends, or `None` when something in it
/// is not closed (or closed by the wrong bracket). Iterative, so deep
/// nesting costs no stack.
fn nested(b: &[u8], i: usize) -> Option<usize> {
    let mut stack: Vec<Open> = Vec::new();
    let mut j = i;
    loop {
        let c = *b.get(j)?;
        match stack.last().copied() {
            Some(Open::Backtick) => match c {
                b'`' => {
                    stack.pop();
                    j += 1;
                }
                b'$' if b.get(j + 1) == Some(&b'{') => {
                    stack.push(Open::Group(b'}'));
                    j += 2;
                }
                _ => j += 1,
            },
            top => match c {
                b'(' => {
                    stack.push(Open::Group(b')'));
                    j += 1;
                }
                b'[' => {
                    stack.push(Open::Group(b']'));
                    j += 1;
                }
                b'{' => {
                    stack.push(Open::Group(b'}'));
                    j += 1;
                }
                b'`' => {
                    stack.push(Open::Backtick);
                    j += 1;
                }
                b')' | b']' | b'}' => {
                    if top != Some(Open::Group(c)) {
                        return None;
                    }
                    stack.pop();
                    j += 1;
                }
                b'"' | b'\'' if top.is_some() => j = quoted(b, j)?,
                _ => j += 1,
            },
        }
        if stack.is_empty() {
            return Some(j);
        }
    }
}

/// `junk` (in a block: up to the end of the line or a `}`) or `top_junk`
/// (between top-level items: up to the end of the line). `{ … }` blocks and
/// strings are skipped whole, and a comment is part of it. Never empty.
pub(super) fn junk(b: &[u8], i: usize, top: bool) -> Option<usize> {
    let mut j = i;
    loop {
        match b.get(j) {
            None | Some(b'\n') => break,
            Some(b'}') if !top => break,
            Some(b'{') => j = junk_block(b, j),
            Some(b'"') => j = junk_string(b, j),
            Some(b'#') if b.get(j + 1) != Some(&b'{') => j = line_end(b, j),
            Some(_) => j += 1,
        }
    }
    (j > i).then_some(j)
}

/// `junk_block`: `{` to its matching `}` (strings skipped), or the end of
/// the file.
fn junk_block(b: &[u8], i: usize) -> usize {
    let mut depth = 0usize;
    let mut j = i;
    while let Some(&c) = b.get(j) {
        match c {
            b'{' => {
                depth += 1;
                j += 1;
            }
            b'}' => {
                depth -= 1;
                j += 1;
                if depth == 0 {
                    return j;
                }
            }
            b'"' => j = junk_string(b, j),
            _ => j += 1,
        }
    }
    j
}

/// `junk_str`: a `"""` block (to its end or the end of the file) or a `"`
/// string (to its `"`, the end of its line, or the end of the file; `\`
/// escapes anything, line breaks included).
fn junk_string(b: &[u8], i: usize) -> usize {
    if b.get(i..i + 3) == Some(b"\"\"\"") {
        return memchr::memmem::find(&b[i + 3..], b"\"\"\"").map_or(b.len(), |k| i + 3 + k + 3);
    }
    let mut j = i + 1;
    loop {
        match memchr::memchr3(b'"', b'\\', b'\n', &b[j..]) {
            None => return b.len(),
            Some(k) => match b[j + k] {
                b'"' => return j + k + 1,
                b'\n' => return j + k,
                _ => j = (j + k + 2).min(b.len()),
            },
        }
    }
}
