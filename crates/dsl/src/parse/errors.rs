//! Syntax errors: from a pest error to a [`Diagnostic`] in plain words.
//!
//! The lenient grammar swallows what is not an item as junk; [`junk_error`]
//! parses that junk again with the strict rule of its level to learn where
//! exactly it breaks and what was expected there.

use super::grammar::{FlowParser, Rule};
use super::hints::{special_case, typo_hint};
use super::words::{self, FLOW_STARTS, SHARED_STARTS, STAGE_STARTS, TOP_STARTS};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::{SourceId, Span};
use pest::error::{ErrorVariant, InputLocation};
use pest::Parser;

/// The block an error is in, which decides the wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Level {
    /// Between top-level items.
    Top,
    /// In a `flow { … }` body.
    Flow,
    /// In a stage, `finally` or template body.
    Stage,
}

/// The diagnostic for junk starting at byte `start` in a block of `level`.
pub(super) fn junk_error(text: &str, source: SourceId, start: usize, level: Level) -> Diagnostic {
    let rule = match level {
        Level::Top => Rule::one_top_item,
        Level::Flow => Rule::one_flow_item,
        Level::Stage => Rule::one_stage_item,
    };
    match FlowParser::parse(rule, text.get(start..).unwrap_or("")) {
        Err(err) => from_pest(&err, start, text, source, level),
        // The item parses alone, so it is in the wrong place.
        Ok(_) => {
            let (found, span) = found_at(text, start);
            Diagnostic::new(Code::Syntax, source, span, format!("unexpected {found}"))
                .label("not expected here")
                .help("see docs/language.md for what each block may contain")
        }
    }
}

/// Converts a pest error on `text[offset..]` into a diagnostic.
pub(super) fn from_pest(
    err: &pest::error::Error<Rule>,
    offset: usize,
    text: &str,
    source: SourceId,
    level: Level,
) -> Diagnostic {
    let rel = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let pos = line_end_before(
        text,
        offset,
        floor_boundary(text, offset.saturating_add(rel)),
    );
    let (found, span) = found_at(text, pos);
    let positives = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.as_slice(),
        ErrorVariant::CustomError { message } => {
            return Diagnostic::new(
                Code::Syntax,
                source,
                span,
                format!("brackets or blocks nested too deeply ({message})"),
            )
            .label("parsing stopped here")
            .help("nest brackets and blocks less deeply");
        }
    };
    if let Some(d) = special_case(text, source, pos, level, pos == offset) {
        return d;
    }
    let (expected, help) = expected(positives, level, pos == offset);
    let help = typo_hint(&found, level, pos == offset).unwrap_or_else(|| help.to_string());
    Diagnostic::new(
        Code::Syntax,
        source,
        span,
        format!("expected {expected}, found {found}"),
    )
    .label(format!("expected {expected}"))
    .help(help)
}

/// What was expected, in words, and a help line for it.
fn expected(positives: &[Rule], level: Level, at_start: bool) -> (String, &'static str) {
    let (mut stage, mut flow, mut top, mut shared) = (false, false, false, false);
    let mut others = Vec::new();
    for &rule in positives {
        match (rule, words::keyword(rule)) {
            (Rule::one_stage_item, _) => stage = true,
            (Rule::one_flow_item, _) => flow = true,
            (Rule::one_top_item, _) => top = true,
            (_, Some(k)) if STAGE_STARTS.contains(&k) => stage = true,
            (_, Some(k)) if FLOW_STARTS.contains(&k) => flow = true,
            (_, Some(k)) if TOP_STARTS.contains(&k) => top = true,
            (_, Some(k)) if SHARED_STARTS.contains(&k) => shared = true,
            (_, Some(k)) => others.push(format!("`{k}`")),
            _ => {
                if let Some(p) = words::punct(rule) {
                    others.push(format!("`{p}`"));
                } else if let Some(p) = words::phrase(rule) {
                    others.push(p.to_string());
                }
            }
        }
    }
    if shared && !stage && !flow {
        stage = level == Level::Stage;
        flow = level == Level::Flow;
    }
    let mut items = Vec::new();
    let help = if stage {
        items.push(words::STAGE_ITEM.to_string());
        "a stage holds: needs, run, approval, shell, timeout, idle, grace, retry, outputs, optional outputs, when, env, status, max, allow_failure, ends run, and routes `on OUTCOME -> TARGET`"
    } else if flow {
        items.push(words::FLOW_ITEM.to_string());
        "a flow holds: description, param, timeout, shell, concurrency, budget, skip if, let, env, secret, alert, trigger, stage and finally"
    } else if top {
        items.push(words::TOP_ITEM.to_string());
        "a file holds `use std`, `use \"path\" as name`, `flow NAME { … }` and `template NAME(…) { … }`"
    } else {
        help_for(positives.first().copied())
    };
    items.append(&mut others);
    if at_start && level != Level::Top && !items.iter().any(|i| i == "`}`") {
        items.push("`}`".to_string());
    }
    (words::one_of(items), help)
}

fn help_for(rule: Option<Rule>) -> &'static str {
    match rule {
        Some(Rule::duration) => "write a number with a unit: 500ms, 30s, 15m, 3h, 1d or 1h30m",
        Some(Rule::ident) => "names start with a letter or `_`, then letters, digits, `_` or `-`",
        Some(Rule::string | Rule::raw_string) => "put the text in double quotes: \"like this\"",
        Some(Rule::expr) => "write a rhai expression, e.g. `stages.plan.status == \"OK\"`",
        Some(Rule::int | Rule::number) => "write the number in digits, e.g. `3`",
        Some(Rule::literal) => {
            "template arguments and defaults are literals: \"text\", 3, 1.5, true, 30s or [\"a\", \"b\"]"
        }
        Some(Rule::use_std) => "write `use std` for the bundled library, or `use \"path/to/lib\" as name`",
        Some(Rule::route_on | Rule::arrow | Rule::route_target) => {
            "a route is `on OUTCOME -> TARGET`, e.g. `on exit 2 -> fix` or `on exit 10 -> again after 1m`"
        }
        Some(Rule::type_name) => "types: int, float, bool, str, path, duration, list<str> (and skill in templates)",
        _ => "see docs/language.md for the syntax of this item",
    }
}

/// Describes what is at `pos` ("`runn`", "the end of the line") and its span.
pub(super) fn found_at(text: &str, pos: usize) -> (String, Span) {
    let rest = &text[pos..];
    if rest.is_empty() {
        return ("the end of the file".into(), Span::new(pos, pos));
    }
    if rest.starts_with('\n') || rest.starts_with("\r\n") {
        return ("the end of the line".into(), Span::new(pos, pos));
    }
    let (word, span) = word_at(text, pos);
    (format!("`{word}`"), span)
}

/// The name-like word at `pos`, or its one character.
pub(super) fn word_at(text: &str, pos: usize) -> (&str, Span) {
    let rest = &text[pos..];
    let len = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    let len = if len == 0 {
        rest.chars().next().map_or(0, char::len_utf8)
    } else {
        len
    };
    (&rest[..len], Span::new(pos, pos + len))
}

/// pest skips line breaks before reporting what is missing (`retry` then
/// `}` on the next line); inside an item started at `offset`, point at the
/// end of the line that lacks it instead, unless that line ends in a comment.
fn line_end_before(text: &str, offset: usize, pos: usize) -> usize {
    let Some(before) = text.get(offset..pos) else {
        return pos;
    };
    let trimmed = before.trim_end_matches([' ', '\t', '\r', '\n']);
    let last_line = trimmed.rsplit('\n').next().unwrap_or("");
    if trimmed.is_empty() || !before[trimmed.len()..].contains('\n') || last_line.contains('#') {
        return pos;
    }
    offset + trimmed.len()
}

/// `pos` moved into `text` and back onto a character boundary.
fn floor_boundary(text: &str, pos: usize) -> usize {
    let mut pos = pos.min(text.len());
    while !text.is_char_boundary(pos) {
        pos -= 1;
    }
    pos
}
