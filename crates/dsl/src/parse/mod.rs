//! The parser: `.flow` text → [`ast::File`] plus syntax diagnostics.
//!
//! The grammar (`src/flow.pest`, a pest PEG) is lenient: what is not an item
//! becomes junk, so one mistake does not lose the rest of the file. Each junk
//! is parsed again strictly to report where it breaks and what was expected
//! there, in words (`expected a duration such as `30s``). At most one error is
//! reported per block; later junk in the same block is usually an echo.
//!
//! pest stays inside this module: the AST carries plain byte spans.

mod build;
mod comments;
mod errors;
mod grammar;
mod hints;
mod items;
pub(crate) mod strings;
mod values;
mod words;

#[cfg(test)]
mod tests;

use crate::ast;
use crate::diagnostic::Diagnostic;
use crate::span::SourceId;
use errors::Level;
use grammar::{FlowParser, Rule};
use pest::Parser;

/// Parses one `.flow` file.
///
/// Never panics. Every span returned (in the AST and in the diagnostics) is a
/// byte range inside `text`. Syntax errors have [`crate::Code::Syntax`]; the
/// AST then holds everything that did parse.
///
/// ```
/// use flow_dsl::{parse::parse, SourceId};
/// let (file, diags) = parse("flow hello { stage a { run \"echo hi\" } }", SourceId(0));
/// assert!(diags.is_empty());
/// assert_eq!(file.flows[0].name.node, "hello");
/// ```
pub fn parse(text: &str, source: SourceId) -> (ast::File, Vec<Diagnostic>) {
    let mut builder = build::Builder::new(text, source);
    let file = match FlowParser::parse(Rule::file, text) {
        Ok(mut pairs) => pairs
            .next()
            .map(|p| {
                let comments = comments::collect(text, &p);
                ast::File {
                    comments,
                    ..builder.file(p)
                }
            })
            .unwrap_or_default(),
        // Only resource limits (nesting depth) make the lenient grammar fail.
        Err(err) => {
            builder
                .diags
                .push(errors::from_pest(&err, 0, text, source, Level::Top));
            ast::File::default()
        }
    };
    let mut diags = builder.diags;
    diags.sort_by_key(|d| d.span().start);
    diags.dedup_by_key(|d| d.span());
    (file, diags)
}
