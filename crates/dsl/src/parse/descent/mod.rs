//! The parser: a recursive-descent reading of the grammar in `src/flow.pest`
//! (a PEG), building the AST as it goes.
//!
//! It follows the grammar rule by rule, with pest's semantics: alternatives
//! are tried in order, a failed alternative leaves no trace (position,
//! comments and diagnostics are reset to a [`Mark`]), and between the parts
//! of a rule blanks, `;` and comments are skipped. pest's own parser of the
//! same grammar (`reference`) is kept to check it: both must give the same
//! AST and diagnostics for every text (tests, fuzz target). Junk is still
//! explained by pest's strict rules (`errors::junk_error`).
//!
//! Nothing here recurses per nesting level: lists, expression brackets and
//! junk blocks are scanned with explicit stacks or counters.

mod items;
mod literal;

use super::build::Builder;
use super::errors::Level;
use super::scan;
use crate::ast::{self, Flow, Spanned, StageDecl, StageItem, Template, Use};
use crate::diagnostic::Diagnostic;
use crate::span::{SourceId, Span};

/// Parses `text`: the AST and its syntax diagnostics (sorted by position,
/// one per span). Needs no particular stack; `errors::junk_error`, which
/// it calls for junk, does.
pub(super) fn parse(text: &str, source: SourceId) -> (ast::File, Vec<Diagnostic>) {
    let mut p = Parser {
        b: text.as_bytes(),
        pos: 0,
        end: 0,
        comments: Vec::new(),
        deep: None,
        out: Builder::new(text, source),
    };
    let file = p.file();
    if let Some(at) = p.deep {
        return super::too_deep(source, at);
    }
    let comments = p
        .comments
        .iter()
        .map(|c| {
            let body = &text[c.start..c.end];
            let body = body.strip_suffix('\r').unwrap_or(body);
            Spanned::new(body.to_string(), Span::new(c.start, c.start + body.len()))
        })
        .collect();
    let mut diags = p.out.diags;
    diags.sort_by_key(|d| d.span().start);
    diags.dedup_by_key(|d| d.span());
    (ast::File { comments, ..file }, diags)
}

/// The parser's state.
pub(super) struct Parser<'t> {
    /// The text.
    b: &'t [u8],
    /// Where the next token may start.
    pos: usize,
    /// Where the last token taken ends (a rule's span ends there).
    end: usize,
    /// The comments skipped so far, as spans (`#` to the line's end).
    comments: Vec<Span>,
    /// Where the tree first nests deeper than `parse::MAX_DEPTH` pairs.
    deep: Option<usize>,
    /// The AST's values and the diagnostics.
    out: Builder<'t>,
}

/// What an item found in a block gives: `None` when no item starts here
/// (nothing taken), `Some(None)` when one was read but dropped.
type Found<T> = Option<Option<T>>;

/// Everything a failed alternative must undo.
#[derive(Clone, Copy)]
struct Mark {
    pos: usize,
    end: usize,
    comments: usize,
    diags: usize,
    deep: Option<usize>,
}

impl<'t> Parser<'t> {
    fn mark(&self) -> Mark {
        Mark {
            pos: self.pos,
            end: self.end,
            comments: self.comments.len(),
            diags: self.out.diags.len(),
            deep: self.deep,
        }
    }

    fn reset(&mut self, m: Mark) {
        self.pos = m.pos;
        self.end = m.end;
        self.comments.truncate(m.comments);
        self.out.diags.truncate(m.diags);
        self.deep = m.deep;
    }

    /// Runs `f`; when it fails, undoes what it did.
    fn attempt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let m = self.mark();
        let r = f(self);
        if r.is_none() {
            self.reset(m);
        }
        r
    }

    /// Skips blanks, `;` and comments (pest's implicit whitespace).
    fn skip(&mut self) {
        self.pos = scan::skip(self.b, self.pos, &mut self.comments);
    }

    /// Takes the token `f` recognises at the position.
    fn tok(&mut self, f: impl FnOnce(&[u8], usize) -> Option<usize>) -> Option<Span> {
        let end = f(self.b, self.pos)?;
        let span = Span::new(self.pos, end);
        self.pos = end;
        self.end = end;
        Some(span)
    }

    /// Skips, then takes the token `f` recognises (`~ token` in a rule).
    fn then(&mut self, f: impl FnOnce(&[u8], usize) -> Option<usize>) -> Option<Span> {
        self.skip();
        self.tok(f)
    }

    /// Skips, then takes the keyword `kw`.
    fn then_kw(&mut self, kw: &str) -> Option<Span> {
        self.then(|b, i| scan::keyword(b, i, kw))
    }

    /// Skips, then takes the one-byte punctuation `c`.
    fn then_punct(&mut self, c: u8) -> Option<Span> {
        self.then(|b, i| (b.get(i) == Some(&c)).then_some(i + 1))
    }

    /// The word at the position (a keyword candidate), without taking it.
    fn word(&self) -> &'t [u8] {
        let b: &'t [u8] = self.b;
        &b[self.pos..scan::word_end(b, self.pos)]
    }

    /// A pair of the tree opens at `depth` here: remembers the first that
    /// is too deep.
    fn enter(&mut self, depth: usize) {
        if depth > super::MAX_DEPTH && self.deep.is_none() {
            self.deep = Some(self.pos);
        }
    }

    /// `file = SOI ~ (top_item | top_junk)* ~ EOI`.
    fn file(&mut self) -> ast::File {
        let mut file = ast::File::default();
        let mut reported = false;
        loop {
            let m = self.mark();
            self.skip();
            let found = match self.word() {
                b"use" => self.attempt(Self::use_item).map(|u| file.uses.push(u)),
                b"flow" => self.attempt(Self::flow).map(|f| file.flows.push(f)),
                b"template" => self.attempt(Self::template).map(|t| file.templates.push(t)),
                _ => None,
            };
            if found.is_some() {
                continue;
            }
            match self.tok(|b, i| scan::junk(b, i, true)) {
                Some(junk) => self.out.junk(junk.start, Level::Top, &mut reported),
                None => {
                    self.reset(m);
                    break;
                }
            }
        }
        self.skip();
        file
    }

    /// `use_item = kw_use ~ (use_std | string ~ kw_as ~ ident)`.
    fn use_item(&mut self) -> Option<Use> {
        let start = self.pos;
        self.tok(|b, i| scan::keyword(b, i, "use"))?;
        self.skip();
        if let Some(std) = self.tok(scan::use_std) {
            let alias = self.out.ident(std);
            return Some(Use {
                path: None,
                alias,
                span: Span::new(start, self.end),
            });
        }
        let path = self.tok(scan::string)?;
        self.then_kw("as")?;
        let alias = self.then(scan::ident)?;
        let path = Some(self.out.string(path));
        Some(Use {
            path,
            alias: self.out.ident(alias),
            span: Span::new(start, self.end),
        })
    }

    /// `flow = kw_flow ~ ident ~ lbrace ~ (flow_item | junk)* ~ close`.
    fn flow(&mut self) -> Option<Flow> {
        let start = self.pos;
        self.tok(|b, i| scan::keyword(b, i, "flow"))?;
        let name = self.then(scan::ident)?;
        let open = self.then_punct(b'{')?;
        let name = self.out.ident(name);
        let items = self.body(Level::Flow, Self::flow_item);
        self.close(open, || format!("flow `{}`", name.node))?;
        Some(Flow {
            name,
            items,
            span: Span::new(start, self.end),
        })
    }

    /// `template = kw_template ~ ident ~ (lparen ~ (tparam ~ (comma ~
    /// tparam)* ~ comma?)? ~ rparen)? ~ lbrace ~ body ~ close`.
    fn template(&mut self) -> Option<Template> {
        let start = self.pos;
        self.tok(|b, i| scan::keyword(b, i, "template"))?;
        let name = self.then(scan::ident)?;
        self.skip();
        let params = self
            .attempt(|p| {
                p.tok(|b, i| (b.get(i) == Some(&b'(')).then_some(i + 1))?;
                let params = p.comma_list(b')', |p| p.param_decl(p.pos, 3))?;
                p.then_punct(b')')?;
                Some(params)
            })
            .unwrap_or_default();
        let open = self.then_punct(b'{')?;
        let name = self.out.ident(name);
        let params = params
            .into_iter()
            .map(|raw| self.param(raw))
            .collect::<Vec<_>>();
        let items = self.stage_body();
        self.close(open, || format!("template `{}`", name.node))?;
        Some(Template {
            name,
            params,
            items,
            span: Span::new(start, self.end),
        })
    }

    /// `stage = kw_stage ~ ident ~ (colon ~ template_call)? ~ lbrace ~ body
    /// ~ close`, or `finally = kw_finally ~ ident ~ lbrace ~ body ~ close`.
    fn stage(&mut self, finally: bool) -> Option<StageDecl> {
        let start = self.pos;
        let kw = if finally { "finally" } else { "stage" };
        self.tok(|b, i| scan::keyword(b, i, kw))?;
        let name = self.then(scan::ident)?;
        let call = if finally {
            None
        } else {
            self.skip();
            self.attempt(|p| {
                p.tok(|b, i| (b.get(i) == Some(&b':')).then_some(i + 1))?;
                p.skip();
                p.template_call()
            })
        };
        let open = self.then_punct(b'{')?;
        let name = self.out.ident(name);
        let template = call.map(|raw| self.call(raw));
        let items = self.stage_body();
        self.close(open, || format!("stage `{}`", name.node))?;
        Some(StageDecl {
            name,
            template,
            items,
            finally,
            span: Span::new(start, self.end),
        })
    }

    /// `(!"}" ~ (stage_item | junk))*` of a stage, `finally` or template.
    fn stage_body(&mut self) -> Vec<StageItem> {
        self.body(Level::Stage, Self::stage_item)
    }

    /// The items of a block up to its `}` or the end of the file: what
    /// `item` reads, and junk (the first reported, as in a block of
    /// `level`). A flow's body has no `!"}"` in the grammar, but neither a
    /// flow item nor junk starts with `}`.
    fn body<T>(&mut self, level: Level, mut item: impl FnMut(&mut Self) -> Found<T>) -> Vec<T> {
        let mut items = Vec::new();
        let mut reported = false;
        loop {
            let m = self.mark();
            self.skip();
            if self.b.get(self.pos) == Some(&b'}') {
                self.reset(m);
                break;
            }
            if let Some(found) = item(self) {
                items.extend(found);
                continue;
            }
            match self.tok(|b, i| scan::junk(b, i, false)) {
                Some(junk) => self.out.junk(junk.start, level, &mut reported),
                None => {
                    self.reset(m);
                    break;
                }
            }
        }
        items
    }

    /// `close = rbrace | unclosed` (`unclosed = &EOI`: reported, the block
    /// kept). `open` is the block's `{`, `what` names the block.
    fn close(&mut self, open: Span, what: impl FnOnce() -> String) -> Option<()> {
        self.skip();
        if self
            .tok(|b, i| (b.get(i) == Some(&b'}')).then_some(i + 1))
            .is_some()
        {
            return Some(());
        }
        if self.pos == self.b.len() {
            self.end = self.pos;
            self.out.unclosed(open, &what());
            return Some(());
        }
        None
    }

    /// `x ~ (comma ~ x)* ~ comma?`, all optional, before `close` (not
    /// taken): the `x`s read. `None` when what follows is not `close`, as
    /// the rule then fails (an `x` that fails is never followed by it).
    fn comma_list<T>(
        &mut self,
        close: u8,
        mut x: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<Vec<T>> {
        let mut out = Vec::new();
        self.skip();
        if let Some(first) = self.attempt(&mut x) {
            out.push(first);
            loop {
                let m = self.mark();
                let next = self.then_punct(b',').and_then(|_| {
                    self.skip();
                    self.attempt(&mut x)
                });
                match next {
                    Some(v) => out.push(v),
                    None => {
                        self.reset(m);
                        break;
                    }
                }
            }
            self.skip();
            let m = self.mark();
            if self
                .tok(|b, i| (b.get(i) == Some(&b',')).then_some(i + 1))
                .is_none()
            {
                self.reset(m);
            }
        }
        self.skip();
        (self.b.get(self.pos) == Some(&close)).then_some(out)
    }
}
