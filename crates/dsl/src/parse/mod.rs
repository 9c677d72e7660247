//! The parser: `.flow` text → [`ast::File`] plus syntax diagnostics.
//!
//! The grammar (`src/flow.pest`, a PEG) is lenient: what is not an item
//! becomes junk, so one mistake does not lose the rest of the file. The
//! parser (`descent`) reads it by hand, rule by rule; pest's parser of the
//! same grammar is the reference it is tested against ([`reference`]), and
//! explains each junk: parsed again with the strict rule of its block, it
//! says where the junk breaks and what was expected there, in words
//! (`expected a duration such as `30s``). At most one error is reported per
//! block; later junk in the same block is usually an echo.
//!
//! pest stays inside this module: the AST carries plain byte spans.

mod build;
mod descent;
mod errors;
mod grammar;
mod hints;
#[cfg(any(test, feature = "pest-reference"))]
pub mod reference;
mod scan;
pub(crate) mod strings;
mod values;
mod words;

#[cfg(test)]
mod tests;

use crate::ast;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::{SourceId, Span};

/// Parses one `.flow` file.
///
/// Never panics. Every span returned (in the AST and in the diagnostics) is a
/// byte range inside `text`. Syntax errors have [`crate::Code::Syntax`]; the
/// AST then holds everything that did parse.
///
/// Runs on the caller's thread: the parser does not recurse per nesting
/// level. pest, which explains junk, does (and has no stack guard here: it
/// cost 14% of a large flow's check), so each junk is explained on a thread
/// whose stack is sized for the file (see [`MAX_BRACKETS`]). Trees nested
/// deeper than 256 levels (lists in lists) are a syntax error, so that the
/// callers' recursion on the tree stays shallow.
///
/// ```
/// use flow_dsl::{parse::parse, SourceId};
/// let (file, diags) = parse("flow hello { stage a { run \"echo hi\" } }", SourceId(0));
/// assert!(diags.is_empty());
/// assert_eq!(file.flows[0].name.node, "hello");
/// ```
pub fn parse(text: &str, source: SourceId) -> (ast::File, Vec<Diagnostic>) {
    let brackets = brackets(text);
    if brackets > MAX_BRACKETS {
        return too_many_brackets(text, source);
    }
    checked_parse(text, source)
}

/// The opening brackets (`(`, `[`, `{`) of `text`.
fn brackets(text: &str) -> usize {
    memchr::memchr3_iter(b'(', b'[', b'{', text.as_bytes()).count()
}

/// Runs `f` on a thread whose stack holds pest's recursion on a text of
/// `brackets` opening brackets; `Err` (the stack's size in KiB and why)
/// when no such thread can be made.
fn on_pest_stack<T: Send>(brackets: usize, f: impl FnOnce() -> T + Send) -> Result<T, String> {
    let stack = BASE_STACK + brackets * STACK_PER_BRACKET;
    let ran = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("flow-parse".into())
            .stack_size(stack)
            .spawn_scoped(scope, f)
            .map(|thread| thread.join())
    });
    match ran {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(e) => Err(format!(
            "no thread with a stack of {} KiB: {e}",
            stack / 1024
        )),
    }
}

/// No tree, and one syntax error at byte `at`.
fn refused(
    source: SourceId,
    at: usize,
    message: String,
    label: &str,
    help: &str,
) -> (ast::File, Vec<Diagnostic>) {
    let d = Diagnostic::new(Code::Syntax, source, Span::new(at, at), message)
        .label(label)
        .help(help);
    (ast::File::default(), vec![d])
}

/// The refusal of a file with more than [`MAX_BRACKETS`] opening brackets.
fn too_many_brackets(text: &str, source: SourceId) -> (ast::File, Vec<Diagnostic>) {
    refused(
        source,
        text.len(),
        format!("more than {MAX_BRACKETS} opening brackets in one file"),
        "the file ends here",
        "split the file: a `use`d library can hold templates",
    )
}

/// The refusal of a file whose tree nests deeper than [`MAX_DEPTH`], at
/// byte `at`.
fn too_deep(source: SourceId, at: usize) -> (ast::File, Vec<Diagnostic>) {
    refused(
        source,
        at,
        format!("brackets or blocks nested too deeply (more than {MAX_DEPTH} levels)"),
        "parsing stopped here",
        "nest brackets and blocks less deeply",
    )
}

/// The most opening brackets (`(`, `[`, `{`) a file may have: each may
/// nest, and the parser's stack is sized for all of them nesting
/// ([`STACK_PER_BRACKET`]; 512 MiB at this limit in a release build,
/// address space reserved, not memory used).
pub const MAX_BRACKETS: usize = 256 * 1024;

/// Stack reserved per opening bracket. pest recurses once per nesting level
/// and (built without its `std` feature) has no stack guard of its own. The
/// deepest rule measured (a list in a list) used 344 bytes per level in a
/// release build and 2,254 in a debug build (unoptimised frames).
const STACK_PER_BRACKET: usize = if cfg!(debug_assertions) { 8 } else { 2 } * 1024;

/// Stack for everything else on pest's threads.
const BASE_STACK: usize = 1024 * 1024;

/// The deepest nesting of the parsed tree (lists in lists: each level is two
/// of pest's pairs, counted as pest's reference counts them) that the
/// checker and the formatter, which recurse on it on their callers' stacks,
/// are given. Deeper is a syntax error.
const MAX_DEPTH: usize = 256;

/// [`descent::parse`]; in this crate's tests, also asserted to give what
/// pest's reference parser gives, so every test of the crate that parses a
/// text compares the two.
fn checked_parse(text: &str, source: SourceId) -> (ast::File, Vec<Diagnostic>) {
    let parsed = descent::parse(text, source);
    #[cfg(test)]
    {
        let expected = on_pest_stack(brackets(text), || reference::parse(text, source));
        assert_eq!(
            Ok(&parsed),
            expected.as_ref(),
            "the parser and pest's reference differ on {text:?}"
        );
    }
    parsed
}
