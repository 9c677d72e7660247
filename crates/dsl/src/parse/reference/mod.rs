//! The pest parser of `src/flow.pest` walked into the AST: the reference
//! the hand-written parser (`descent`) is compared with, in the tests and
//! by the fuzz target (feature `pest-reference`). Not used otherwise.

mod comments;
mod items;

use super::build::Builder;
use super::errors::{self, Level};
use super::grammar::{FlowParser, Rule};
use crate::ast::{self, Flow, Ident, Literal, Spanned, StageDecl, Template, Use};
use crate::diagnostic::Diagnostic;
use crate::span::{SourceId, Span};
use pest::iterators::Pair;
use pest::Parser;

/// [`crate::parse::parse`] done by pest: the same AST and diagnostics
/// (the tests and the fuzz target check it), on the current thread, whose
/// stack must hold pest's recursion (see `parse::STACK_PER_BRACKET`).
pub fn parse(text: &str, source: SourceId) -> (ast::File, Vec<Diagnostic>) {
    let brackets = memchr::memchr3_iter(b'(', b'[', b'{', text.as_bytes()).count();
    if brackets > super::MAX_BRACKETS {
        return super::too_many_brackets(text, source);
    }
    let mut builder = Builder::new(text, source);
    let file = match FlowParser::parse(Rule::file, text) {
        Ok(mut pairs) => match pairs.next() {
            Some(p) => match too_deep(&p) {
                Some(at) => return super::too_deep(source, at),
                None => {
                    let comments = comments::collect(text, &p);
                    ast::File {
                        comments,
                        ..builder.file(p)
                    }
                }
            },
            None => ast::File::default(),
        },
        // Only resource limits make the lenient grammar fail.
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

/// Where the tree of `file` first nests deeper than [`super::MAX_DEPTH`] pairs.
fn too_deep(file: &Pair<Rule>) -> Option<usize> {
    let mut depth = 0usize;
    for token in file.clone().tokens() {
        match token {
            pest::Token::Start { pos, .. } => {
                depth += 1;
                if depth > super::MAX_DEPTH {
                    return Some(pos.pos());
                }
            }
            pest::Token::End { .. } => depth = depth.saturating_sub(1),
        }
    }
    None
}

/// One pest pair of this grammar.
pub(super) type P<'t> = Pair<'t, Rule>;

/// The byte span of a pair. pest lets a rule end after the blanks and
/// comments skipped before an optional part that was absent (`param a: int`
/// then `# note`), so a rule with parts ends where its last part ends.
pub(super) fn span(p: &P) -> Span {
    let end = p
        .clone()
        .into_inner()
        .next_back() // not `last()`, which makes a pair of every child
        .map_or(p.as_span().end(), |last| span(&last).end);
    Span::new(p.as_span().start(), end)
}

/// The pairs inside `p` that carry content (no keywords, no punctuation).
pub(super) fn parts<'t>(p: P<'t>) -> impl Iterator<Item = P<'t>> {
    p.into_inner()
        .filter(|c| !super::words::is_noise(c.as_rule()))
}

impl<'t> Builder<'t> {
    /// The `file` pair.
    pub(super) fn file(&mut self, pair: P<'t>) -> crate::ast::File {
        let mut file = crate::ast::File::default();
        let mut reported = false;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::use_item => file.uses.push(self.use_item(p)),
                Rule::flow => file.flows.push(self.flow(p)),
                Rule::template => file.templates.push(self.template(p)),
                Rule::top_junk => self.junk(span(&p).start, Level::Top, &mut reported),
                _ => {}
            }
        }
        file
    }

    fn use_item(&mut self, pair: P<'t>) -> Use {
        let whole = span(&pair);
        let mut path = None;
        let mut alias = Spanned::new("std".to_string(), whole);
        for p in parts(pair) {
            match p.as_rule() {
                Rule::use_std => alias = self.ident(span(&p)),
                Rule::string => path = Some(self.string(span(&p))),
                Rule::ident => alias = self.ident(span(&p)),
                _ => {}
            }
        }
        Use {
            path,
            alias,
            span: whole,
        }
    }

    fn flow(&mut self, pair: P<'t>) -> Flow {
        let whole = span(&pair);
        let mut name = Spanned::new(String::new(), whole);
        let (mut open, mut items, mut reported) = (whole, Vec::new(), false);
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => name = self.ident(span(&p)),
                Rule::lbrace => open = span(&p),
                Rule::junk => self.junk(span(&p).start, Level::Flow, &mut reported),
                Rule::unclosed => self.unclosed(open, &format!("flow `{}`", name.node)),
                _ => items.extend(self.flow_item(p)),
            }
        }
        Flow {
            name,
            items,
            span: whole,
        }
    }

    fn template(&mut self, pair: P<'t>) -> Template {
        let whole = span(&pair);
        let mut name = Spanned::new(String::new(), whole);
        let (mut open, mut params, mut items, mut reported) =
            (whole, Vec::new(), Vec::new(), false);
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => name = self.ident(span(&p)),
                Rule::tparam => params.push(self.param_decl(p)),
                Rule::lbrace => open = span(&p),
                Rule::junk => self.junk(span(&p).start, Level::Stage, &mut reported),
                Rule::unclosed => self.unclosed(open, &format!("template `{}`", name.node)),
                _ => items.extend(self.stage_item(p)),
            }
        }
        Template {
            name,
            params,
            items,
            span: whole,
        }
    }

    /// A `stage` or `finally` block.
    pub(super) fn stage(&mut self, pair: P<'t>, finally: bool) -> StageDecl {
        let whole = span(&pair);
        let mut name: Ident = Spanned::new(String::new(), whole);
        let (mut template, mut open, mut items, mut reported) = (None, whole, Vec::new(), false);
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => name = self.ident(span(&p)),
                Rule::template_call => template = Some(self.template_call(p)),
                Rule::lbrace => open = span(&p),
                Rule::junk => self.junk(span(&p).start, Level::Stage, &mut reported),
                Rule::unclosed => self.unclosed(open, &format!("stage `{}`", name.node)),
                _ => items.extend(self.stage_item(p)),
            }
        }
        StageDecl {
            name,
            template,
            items,
            finally,
            span: whole,
        }
    }
}

impl<'t> Builder<'t> {
    /// A `"…"` string, a raw `"""…"""` block or a bare path.
    fn pair_text(&mut self, p: &P<'t>) -> Spanned<String> {
        match p.as_rule() {
            Rule::string => self.string(span(p)),
            Rule::raw_string => self.raw_string(span(p)),
            _ => self.bare(span(p)),
        }
    }

    /// A `literal` pair (or one of its alternatives).
    fn pair_literal(&mut self, p: &P<'t>) -> Option<Spanned<Literal>> {
        if p.as_rule() == Rule::literal {
            return self.pair_literal(&p.clone().into_inner().next()?);
        }
        let node = match p.as_rule() {
            Rule::string => Literal::Str(self.string(span(p)).node),
            Rule::boolean => Literal::Bool(p.as_str() == "true"),
            Rule::int => Literal::Int(self.int(span(p))?.node),
            Rule::float => Literal::Float(self.number(span(p))?.node),
            Rule::duration => Literal::Duration(ast::DurationLit(p.as_str().to_string())),
            Rule::list => {
                let items = parts(p.clone())
                    .map(|i| self.pair_literal(&i))
                    .collect::<Option<_>>()?;
                Literal::List(items)
            }
            _ => return None,
        };
        Some(Spanned::new(node, span(p)))
    }
}
