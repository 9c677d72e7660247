//! From pest pairs to the AST: files and blocks. Items are in `items.rs`,
//! leaf values in `values.rs`.

use super::errors::{junk_error, Level};
use super::grammar::Rule;
use crate::ast::{Flow, Ident, Spanned, StageDecl, Template, Use};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::{SourceId, Span};
use pest::iterators::Pair;

/// One pest pair of this grammar.
pub(super) type P<'t> = Pair<'t, Rule>;

/// Builds the AST of one file and collects the diagnostics found on the way.
pub(super) struct Builder<'t> {
    pub(super) text: &'t str,
    pub(super) source: SourceId,
    pub(super) diags: Vec<Diagnostic>,
}

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
    /// A builder for `text`, whose diagnostics point into `source`.
    pub(super) fn new(text: &'t str, source: SourceId) -> Self {
        Builder {
            text,
            source,
            diags: Vec::new(),
        }
    }

    /// The `file` pair.
    pub(super) fn file(&mut self, pair: P<'t>) -> crate::ast::File {
        let mut file = crate::ast::File::default();
        let mut reported = false;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::use_item => file.uses.push(self.use_item(p)),
                Rule::flow => file.flows.push(self.flow(p)),
                Rule::template => file.templates.push(self.template(p)),
                Rule::top_junk => self.junk(&p, Level::Top, &mut reported),
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
                Rule::use_std => alias = self.ident(&p),
                Rule::string => path = Some(self.string(&p)),
                Rule::ident => alias = self.ident(&p),
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
                Rule::ident => name = self.ident(&p),
                Rule::lbrace => open = span(&p),
                Rule::junk => self.junk(&p, Level::Flow, &mut reported),
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
                Rule::ident => name = self.ident(&p),
                Rule::tparam => params.push(self.param_decl(p)),
                Rule::lbrace => open = span(&p),
                Rule::junk => self.junk(&p, Level::Stage, &mut reported),
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
                Rule::ident => name = self.ident(&p),
                Rule::template_call => template = Some(self.template_call(p)),
                Rule::lbrace => open = span(&p),
                Rule::junk => self.junk(&p, Level::Stage, &mut reported),
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

    /// Reports the first junk of a block; later ones are usually its echoes.
    fn junk(&mut self, p: &P, level: Level, reported: &mut bool) {
        if !*reported {
            *reported = true;
            self.diags
                .push(junk_error(self.text, self.source, span(p).start, level));
        }
    }

    /// A block still open at the end of the file. Not reported after another
    /// syntax error, which has most likely swallowed its `}`.
    fn unclosed(&mut self, open: Span, what: &str) {
        if self.diags.iter().any(|d| d.code == Code::Syntax) {
            return;
        }
        let end = self.text.len();
        let d = Diagnostic::new(
            Code::Syntax,
            self.source,
            Span::new(end, end),
            "missing `}` at the end of the file",
        )
        .label(format!("expected `}}` to close {what}"))
        .secondary(open, "opened here")
        .help(format!("add `}}` after the last item of {what}"));
        self.diags.push(d);
    }
}
