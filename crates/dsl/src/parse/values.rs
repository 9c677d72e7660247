//! From pest pairs to the AST: names, literals, strings and expressions.

use super::build::{parts, span, Builder, P};
use super::grammar::Rule;
use super::strings::{dedent, unescape};
use crate::ast::{DurationLit, Expr, Ident, Literal, Spanned, TypeName};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;

impl<'t> Builder<'t> {
    /// A name as written.
    pub(super) fn ident(&mut self, p: &P<'t>) -> Ident {
        Spanned::new(p.as_str().to_string(), span(p))
    }

    /// A name that becomes an environment and rhai variable, so it may not
    /// contain `-` (reported, but kept so later phases still see it).
    pub(super) fn var(&mut self, p: &P<'t>, what: &str) -> Ident {
        let ident = self.ident(p);
        if let Some(i) = ident.node.find('-') {
            let at = ident.span.start + i;
            let fixed = ident.node.replace('-', "_");
            let d = Diagnostic::new(
                Code::Syntax,
                self.source,
                Span::new(at, at + 1),
                format!("a {what} name cannot contain `-`"),
            )
            .label("`-` is not allowed in this name")
            .help(format!(
                "`{}` becomes a variable of scripts and expressions; write `{fixed}`",
                ident.node
            ));
            self.diags.push(d);
        }
        ident
    }

    /// A `"…"` string with its escapes resolved; its span includes the quotes.
    pub(super) fn string(&mut self, p: &P<'t>) -> Spanned<String> {
        let whole = span(p);
        let raw = p.as_str();
        let body = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
        let (text, bad) = unescape(body, whole.start + 1);
        if let Some(at) = bad {
            let escape = self.text.get(at.start..at.end).unwrap_or("\\");
            let d = Diagnostic::new(Code::Syntax, self.source, at, format!("unknown escape `{escape}`"))
                .label("unknown escape")
                .help("escapes are \\\" \\\\ \\n \\t \\r and \\$; write \\\\ for a backslash, or use a raw `\"\"\"` block");
            self.diags.push(d);
        }
        Spanned::new(text, whole)
    }

    /// A `"…"` string, a raw `"""…"""` block (dedented) or a bare path.
    pub(super) fn text_value(&mut self, p: &P<'t>) -> Spanned<String> {
        match p.as_rule() {
            Rule::string => self.string(p),
            Rule::raw_string => {
                let raw = p.as_str();
                let body = raw.get(3..raw.len().saturating_sub(3)).unwrap_or("");
                Spanned::new(dedent(body), span(p))
            }
            _ => Spanned::new(p.as_str().to_string(), span(p)),
        }
    }

    /// A duration as written; the checker validates it.
    pub(super) fn duration(&mut self, p: &P<'t>) -> Spanned<DurationLit> {
        Spanned::new(DurationLit(p.as_str().to_string()), span(p))
    }

    /// A whole number, or `None` (reported) when it does not fit in 64 bits.
    pub(super) fn int(&mut self, p: &P<'t>) -> Option<Spanned<i64>> {
        match p.as_str().parse::<i64>() {
            Ok(n) => Some(Spanned::new(n, span(p))),
            Err(_) => {
                self.too_large(p);
                None
            }
        }
    }

    /// A number such as `2` or `1.5`, or `None` (reported) when not finite.
    pub(super) fn number(&mut self, p: &P<'t>) -> Option<Spanned<f64>> {
        match p.as_str().parse::<f64>() {
            Ok(n) if n.is_finite() => Some(Spanned::new(n, span(p))),
            _ => {
                self.too_large(p);
                None
            }
        }
    }

    fn too_large(&mut self, p: &P<'t>) {
        let d = Diagnostic::new(Code::Syntax, self.source, span(p), "number out of range")
            .label("this number does not fit in 64 bits")
            .help("use a smaller number");
        self.diags.push(d);
    }

    /// A `literal` pair (or one of its alternatives).
    pub(super) fn literal(&mut self, p: &P<'t>) -> Option<Spanned<Literal>> {
        if p.as_rule() == Rule::literal {
            return self.literal(&p.clone().into_inner().next()?);
        }
        let node = match p.as_rule() {
            Rule::string => Literal::Str(self.string(p).node),
            Rule::boolean => Literal::Bool(p.as_str() == "true"),
            Rule::int => Literal::Int(self.int(p)?.node),
            Rule::float => Literal::Float(self.number(p)?.node),
            Rule::duration => Literal::Duration(DurationLit(p.as_str().to_string())),
            Rule::list => {
                let items = parts(p.clone())
                    .map(|i| self.literal(&i))
                    .collect::<Option<_>>()?;
                Literal::List(items)
            }
            _ => return None,
        };
        Some(Spanned::new(node, span(p)))
    }

    /// A type name; unknown spellings are kept for the checker.
    pub(super) fn type_name(&mut self, p: &P<'t>) -> Spanned<TypeName> {
        let text: String = p.as_str().chars().filter(|c| *c != ' ').collect();
        let ty = match text.as_str() {
            "int" => TypeName::Int,
            "float" => TypeName::Float,
            "bool" => TypeName::Bool,
            "str" => TypeName::Str,
            "path" => TypeName::Path,
            "duration" => TypeName::Duration,
            "list<str>" => TypeName::ListStr,
            "skill" => TypeName::Skill,
            _ => TypeName::Other(text),
        };
        Spanned::new(ty, span(p))
    }

    /// A rhai expression: the grammar already trimmed it.
    pub(super) fn expr(&mut self, p: &P<'t>) -> Expr {
        Expr {
            source: p.as_str().to_string(),
            span: span(p),
        }
    }
}
