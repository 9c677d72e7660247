//! Syntax errors that are better explained by what is in the text than by
//! what the grammar expected: unclosed strings and brackets, a missing `}`
//! before the next stage, an item at the wrong level, a misspelt keyword.

use super::errors::{word_at, Level};
use super::words::{self, FLOW_STARTS, SHARED_STARTS, STAGE_STARTS, TOP_STARTS};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::{SourceId, Span};

/// Errors better explained by what is at `pos` than by what was expected.
pub(super) fn special_case(
    text: &str,
    source: SourceId,
    pos: usize,
    level: Level,
    at_start: bool,
) -> Option<Diagnostic> {
    let rest = &text[pos..];
    if rest.starts_with("\"\"\"") && !rest[3..].contains("\"\"\"") {
        let d = Diagnostic::new(
            Code::Syntax,
            source,
            Span::new(pos, pos + 3),
            "unclosed `\"\"\"` block",
        )
        .label("this block is never closed")
        .help("end the script with `\"\"\"`");
        return Some(d);
    }
    if rest.starts_with('"') && !closes_on_line(&rest[1..]) {
        let end = pos + rest.find(['\n', '\r']).unwrap_or(rest.len());
        let d = Diagnostic::new(Code::Syntax, source, Span::new(pos, end), "unclosed string")
            .label("this string is not closed before the end of the line")
            .help("close it with `\"`; for text over several lines use a `\"\"\"` block");
        return Some(d);
    }
    if at_start {
        if let Some(d) = stray_bracket(text, source, pos, level) {
            return Some(d);
        }
    }
    let (word, span) = word_at(text, pos);
    if level == Level::Stage && at_start && (word == "stage" || word == "finally") {
        let d = Diagnostic::new(
            Code::Syntax,
            source,
            span,
            format!("missing `}}` before this `{word}`"),
        )
        .label("expected `}` to close the stage above first")
        .help("add `}` at the end of the stage above");
        return Some(d);
    }
    if level == Level::Flow && at_start && STAGE_STARTS.contains(&word) {
        let d = Diagnostic::new(
            Code::Syntax,
            source,
            span,
            format!("`{word}` outside a stage"),
        )
        .label(format!("expected {}", words::FLOW_ITEM))
        .help(format!(
            "`{word}` is a stage item: put it inside `stage NAME {{ … }}`"
        ));
        return Some(d);
    }
    None
}

/// An item that starts with a bracket: the rest of an expression whose `(`
/// is never closed, or a `}` with no open block.
fn stray_bracket(text: &str, source: SourceId, pos: usize, level: Level) -> Option<Diagnostic> {
    let rest = &text[pos..];
    let c = rest.chars().next()?;
    let span = Span::new(pos, pos + 1);
    if c == '}' && level == Level::Top {
        let d = Diagnostic::new(Code::Syntax, source, span, "unmatched `}`")
            .label("no block is open here")
            .help("remove it, or look for a `}` too many above");
        return Some(d);
    }
    if matches!(c, '(' | '[' | '{') && !closes(rest) {
        let d = Diagnostic::new(Code::Syntax, source, span, format!("unclosed `{c}`"))
            .label(format!("this `{c}` is never closed"))
            .help("close it; inside brackets an expression may span several lines");
        return Some(d);
    }
    None
}

/// True when the bracket `text` starts with is closed by its match,
/// skipping strings.
fn closes(text: &str) -> bool {
    let mut open = Vec::new();
    let mut quote = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '(') => open.push(')'),
            (None, '[') => open.push(']'),
            (None, '{') => open.push('}'),
            (None, ')' | ']' | '}') => {
                if open.pop() != Some(c) {
                    return false;
                }
                if open.is_empty() {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// True when a `"…"` body (after the opening quote) closes on its line.
fn closes_on_line(body: &str) -> bool {
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return true,
            '\n' => return false,
            '\\' if chars.next() == Some('\n') => return false,
            _ => {}
        }
    }
    false
}

/// "did you mean `needs`?" when an item starts with a misspelt keyword.
pub(super) fn typo_hint(found: &str, level: Level, at_start: bool) -> Option<String> {
    let word = found.strip_prefix('`')?.strip_suffix('`')?;
    if !at_start || word.len() < 2 {
        return None;
    }
    let shared = SHARED_STARTS;
    let candidates: Vec<&str> = match level {
        Level::Top => TOP_STARTS.to_vec(),
        Level::Flow => [FLOW_STARTS, shared].concat(),
        Level::Stage => [STAGE_STARTS, shared].concat(),
    };
    let best = candidates
        .into_iter()
        .min_by_key(|k| strsim::osa_distance(k, word))?;
    let distance = strsim::osa_distance(best, word);
    let allowed = if word.len() <= 4 { 1 } else { 2 };
    (distance > 0 && distance <= allowed).then(|| format!("did you mean `{best}`?"))
}
