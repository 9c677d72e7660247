//! rhai parse errors as flow diagnostics, in words a flow author knows.

use super::locate::Locator;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::SourceId;
use rhai::{LexError, ParseErrorType, Position};

/// Where the rhai book explains expressions.
const BOOK: &str = "expressions are rhai: https://rhai.rs/book/";

/// Statement keywords an expression cannot hold.
const STATEMENTS: &[&str] = &[
    "let", "const", "loop", "while", "do", "for", "fn", "import", "export", "return", "throw",
    "try", "break", "continue",
];

/// The [`Code::ExprSyntax`] diagnostic for a parse error at `pos`.
pub(super) fn syntax_error(
    kind: &ParseErrorType,
    pos: Position,
    loc: &Locator,
    source: SourceId,
) -> Diagnostic {
    let local = loc.local(pos);
    let (message, token, help) = describe(kind);
    let span = match token {
        Some(t) => loc.token_at(local, &t),
        None => loc.char_at(local),
    };
    Diagnostic::new(Code::ExprSyntax, source, span, message)
        .label("here")
        .help(help.unwrap_or_else(|| BOOK.to_string()))
}

/// Message, the offending token (when rhai names it) and a help line.
fn describe(kind: &ParseErrorType) -> (String, Option<String>, Option<String>) {
    match kind {
        ParseErrorType::UnexpectedEOF => (
            "the expression ends too early".into(),
            None,
            Some("complete the expression (an operand or a closing bracket is missing)".into()),
        ),
        ParseErrorType::BadInput(lex) => describe_lex(lex),
        ParseErrorType::UnknownOperator(op) if op == "?" => (
            "unknown operator `?`".into(),
            Some(op.clone()),
            Some("rhai has no `c ? a : b`; write `if c { a } else { b }`".into()),
        ),
        ParseErrorType::UnknownOperator(op) => {
            (format!("unknown operator `{op}`"), Some(op.clone()), None)
        }
        ParseErrorType::MissingToken(token, why) => {
            (format!("expected `{token}` {why}"), None, None)
        }
        ParseErrorType::Reserved(word) => (
            format!("`{word}` is a reserved word"),
            Some(word.clone()),
            Some("rename it; rhai reserves it for future use".into()),
        ),
        ParseErrorType::ModuleUndefined(m) => (
            format!("unknown module `{m}`"),
            Some(m.clone()),
            Some("flow expressions cannot use modules; call functions by their plain name".into()),
        ),
        ParseErrorType::ExprTooDeep => (
            "the expression is nested too deeply".into(),
            None,
            Some("split it into several `let`s".into()),
        ),
        ParseErrorType::VariableUndefined(v) => {
            // Only when too many undefined variables stopped the re-parse.
            (format!("unknown variable `{v}`"), Some(v.clone()), None)
        }
        other => (lower_first(&other.to_string()), None, None),
    }
}

/// The lexer's complaints.
fn describe_lex(lex: &LexError) -> (String, Option<String>, Option<String>) {
    match lex {
        LexError::UnexpectedInput(s) if s == "=" => (
            "unexpected `=`".into(),
            Some(s.clone()),
            Some("expressions cannot assign; to compare, write `==`".into()),
        ),
        LexError::UnexpectedInput(s) if STATEMENTS.contains(&s.as_str()) => (
            format!("`{s}` cannot appear in an expression"),
            Some(s.clone()),
            Some(
                "expressions are single rhai expressions: no statements, loops, functions or \
                 imports; declare values with a flow `let` instead"
                    .into(),
            ),
        ),
        LexError::UnexpectedInput(s) => (format!("unexpected `{s}`"), Some(s.clone()), None),
        LexError::UnterminatedString => (
            "unterminated string".into(),
            None,
            Some("close the string with the quote that opened it".into()),
        ),
        LexError::ImproperSymbol(s, _) if s == "eval" => (
            "`eval` is not available in flow expressions".into(),
            Some(s.clone()),
            Some("write the expression directly; `eval` would hide it from `flow check`".into()),
        ),
        other => (lower_first(&other.to_string()), None, None),
    }
}

/// rhai messages start with a capital; ours do not.
fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if !chars.as_str().starts_with(|n: char| n.is_uppercase()) => {
            c.to_lowercase().chain(chars).collect()
        }
        _ => s.to_string(),
    }
}
