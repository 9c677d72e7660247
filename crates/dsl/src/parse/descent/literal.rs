//! Literals (defaults and template arguments), parameter declarations and
//! template calls: read whole first (spans), then built.

use super::Parser;
use crate::ast::{DurationLit, Literal, ParamDecl, Spanned, TemplateArg, TemplateCall};
use crate::parse::scan;
use crate::span::Span;

/// One node of a literal as read. A literal is a list of nodes in the
/// order they are written; a list's items follow it.
#[derive(Clone, Copy)]
pub(super) struct RawLit {
    kind: Kind,
    span: Span,
    /// The index just past this node and everything in it.
    next: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Str,
    Bool,
    Int,
    Float,
    Duration,
    List,
}

/// `NAME: TYPE [= DEFAULT]` as read.
pub(super) struct RawParam {
    start: usize,
    name: Span,
    ty: Span,
    default: Option<Vec<RawLit>>,
    end: usize,
}

/// `lib.name(arg: value, …)` as read.
pub(super) struct RawCall {
    start: usize,
    /// The names of `tpl_path`: `[name]` or `[library, name]`.
    path: Vec<Span>,
    args: Vec<(Span, Vec<RawLit>)>,
    end: usize,
}

/// The scalar literal at `i`: `string | boolean | float | int | duration`.
fn scalar(b: &[u8], i: usize) -> Option<(Kind, usize)> {
    if let Some(e) = scan::string(b, i) {
        return Some((Kind::Str, e));
    }
    if let Some(e) = scan::boolean(b, i) {
        return Some((Kind::Bool, e));
    }
    if let Some(e) = scan::float(b, i) {
        return Some((Kind::Float, e));
    }
    if let Some(e) = scan::int(b, i) {
        return Some((Kind::Int, e));
    }
    scan::duration(b, i).map(|e| (Kind::Duration, e))
}

impl<'t> Parser<'t> {
    /// `ident ~ colon ~ type_name ~ (equals ~ literal)?` (a `param` after
    /// its keyword, or a template parameter), the declaration starting at
    /// `start`; its pair is at `depth` in the tree.
    pub(super) fn param_decl(&mut self, start: usize, depth: usize) -> Option<RawParam> {
        let name = self.tok(scan::ident)?;
        self.then_punct(b':')?;
        let ty = self.then(scan::type_name)?;
        self.skip();
        let default = self.attempt(|p| {
            p.tok(|b, i| (b.get(i) == Some(&b'=')).then_some(i + 1))?;
            p.skip();
            p.literal(depth + 1)
        });
        Some(RawParam {
            start,
            name,
            ty,
            default,
            end: self.end,
        })
    }

    /// A declaration read by [`Self::param_decl`], built.
    pub(super) fn param(&mut self, raw: RawParam) -> ParamDecl {
        let name = self.out.var(raw.name, "param");
        let ty = self.out.type_name(raw.ty);
        let default = raw.default.and_then(|l| self.lit(&l));
        ParamDecl {
            name,
            ty,
            default,
            span: Span::new(raw.start, raw.end),
        }
    }

    /// `template_call = tpl_path ~ lparen ~ (targ ~ (comma ~ targ)* ~
    /// comma?)? ~ rparen`, `tpl_path = ${ (ident ~ dot)? ~ ident }`,
    /// `targ = ident ~ colon ~ literal`.
    pub(super) fn template_call(&mut self) -> Option<RawCall> {
        let start = self.pos;
        let first = self.tok(scan::ident)?;
        let mut path = vec![first];
        if self.b.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            path.push(self.tok(scan::ident)?);
        }
        self.then_punct(b'(')?;
        let args = self.comma_list(b')', |p| {
            let name = p.tok(scan::ident)?;
            p.then_punct(b':')?;
            p.skip();
            Some((name, p.literal(6)?))
        })?;
        self.then_punct(b')')?;
        Some(RawCall {
            start,
            path,
            args,
            end: self.end,
        })
    }

    /// A call read by [`Self::template_call`], built.
    pub(super) fn call(&mut self, raw: RawCall) -> TemplateCall {
        let mut names: Vec<_> = raw.path.into_iter().map(|s| self.out.ident(s)).collect();
        let name = names
            .pop()
            .unwrap_or_else(|| Spanned::new(String::new(), Span::new(raw.start, raw.end)));
        let library = names.pop();
        let mut args = Vec::new();
        for (n, value) in raw.args {
            let name = self.out.var(n, "template argument");
            if let Some(value) = self.lit(&value) {
                args.push(TemplateArg { name, value });
            }
        }
        TemplateCall {
            library,
            name,
            args,
            span: Span::new(raw.start, raw.end),
        }
    }

    /// `literal = list | string | boolean | float | int | duration`, its
    /// pair at `depth` in the tree, `list = lbrack ~ (literal ~ (comma ~
    /// literal)* ~ comma?)? ~ rbrack`. Read without recursion; fails whole
    /// when any part fails (an item that fails is never followed by `]`).
    /// Must run inside [`Parser::attempt`].
    fn literal(&mut self, depth: usize) -> Option<Vec<RawLit>> {
        let mut out: Vec<RawLit> = Vec::new();
        // The lists not closed yet: their node and their items' depth.
        let mut open: Vec<(usize, usize)> = Vec::new();
        let mut d = depth;
        loop {
            // An item (the literal itself first) at depth `d`.
            self.enter(d);
            self.enter(d + 1);
            let mut after_open = false;
            if self.b.get(self.pos) == Some(&b'[') {
                let at = self.pos;
                out.push(RawLit {
                    kind: Kind::List,
                    span: Span::new(at, at),
                    next: 0,
                });
                open.push((out.len() - 1, d + 2));
                self.enter(d + 2);
                self.pos += 1;
                self.end = self.pos;
                self.skip();
                after_open = true;
                if self.b.get(self.pos) != Some(&b']') {
                    d += 2;
                    continue;
                }
            } else {
                let (kind, end) = scalar(self.b, self.pos)?;
                out.push(RawLit {
                    kind,
                    span: Span::new(self.pos, end),
                    next: out.len() + 1,
                });
                self.pos = end;
                self.end = end;
            }
            // After an item: close the lists that end here, until one
            // goes on with another item.
            loop {
                let Some(&(list, items)) = open.last() else {
                    return Some(out);
                };
                if !after_open {
                    self.skip();
                    if self.b.get(self.pos) == Some(&b',') {
                        self.pos += 1;
                        self.end = self.pos;
                        self.skip();
                        if self.b.get(self.pos) != Some(&b']') {
                            d = items;
                            break;
                        }
                    }
                }
                after_open = false;
                if self.b.get(self.pos) != Some(&b']') {
                    return None;
                }
                self.pos += 1;
                self.end = self.pos;
                out[list].span.end = self.pos;
                out[list].next = out.len();
                open.pop();
            }
        }
    }

    /// A literal read by [`Self::literal`], built; `None` when a value in
    /// it was reported (or the file is refused as too deep, and the
    /// literal not built).
    fn lit(&mut self, nodes: &[RawLit]) -> Option<Spanned<Literal>> {
        if self.deep.is_some() || nodes.is_empty() {
            return None;
        }
        self.lit_at(nodes, 0)
    }

    fn lit_at(&mut self, nodes: &[RawLit], i: usize) -> Option<Spanned<Literal>> {
        let n = nodes[i];
        let node = match n.kind {
            Kind::Str => Literal::Str(self.out.string(n.span).node),
            Kind::Bool => Literal::Bool(self.out.slice(n.span) == "true"),
            Kind::Int => Literal::Int(self.out.int(n.span)?.node),
            Kind::Float => Literal::Float(self.out.number(n.span)?.node),
            Kind::Duration => Literal::Duration(DurationLit(self.out.slice(n.span).to_string())),
            Kind::List => {
                let mut items = Vec::new();
                let mut j = i + 1;
                while j < n.next {
                    items.push(self.lit_at(nodes, j)?);
                    j = nodes[j].next;
                }
                Literal::List(items)
            }
        };
        Some(Spanned::new(node, n.span))
    }
}
