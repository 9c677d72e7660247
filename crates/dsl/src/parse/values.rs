//! Leaf values of the AST from the byte span of their token: names,
//! strings, numbers, types and expressions, with the diagnostics their text
//! calls for (a `-` in a variable name, an unknown escape, a number out of
//! range).

use super::build::Builder;
use super::strings::{dedent, unescape};
use crate::ast::{DurationLit, Expr, Ident, Spanned, TypeName};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;

impl<'t> Builder<'t> {
    /// The text a span covers.
    pub(super) fn slice(&self, at: Span) -> &'t str {
        self.text.get(at.start..at.end).unwrap_or("")
    }

    /// A name as written.
    pub(super) fn ident(&mut self, at: Span) -> Ident {
        Spanned::new(self.slice(at).to_string(), at)
    }

    /// A name that becomes an environment and rhai variable, so it may not
    /// contain `-` (reported, but kept so later phases still see it).
    pub(super) fn var(&mut self, at: Span, what: &str) -> Ident {
        let ident = self.ident(at);
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
    pub(super) fn string(&mut self, whole: Span) -> Spanned<String> {
        let raw = self.slice(whole);
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

    /// A raw `"""…"""` block, dedented.
    pub(super) fn raw_string(&mut self, whole: Span) -> Spanned<String> {
        let raw = self.slice(whole);
        let body = raw.get(3..raw.len().saturating_sub(3)).unwrap_or("");
        Spanned::new(dedent(body), whole)
    }

    /// Text as written (a bare path).
    pub(super) fn bare(&mut self, at: Span) -> Spanned<String> {
        Spanned::new(self.slice(at).to_string(), at)
    }

    /// A duration as written; the checker validates it.
    pub(super) fn duration(&mut self, at: Span) -> Spanned<DurationLit> {
        Spanned::new(DurationLit(self.slice(at).to_string()), at)
    }

    /// A whole number, or `None` (reported) when it does not fit in 64 bits.
    pub(super) fn int(&mut self, at: Span) -> Option<Spanned<i64>> {
        match self.slice(at).parse::<i64>() {
            Ok(n) => Some(Spanned::new(n, at)),
            Err(_) => {
                self.too_large(at);
                None
            }
        }
    }

    /// A number such as `2` or `1.5`, or `None` (reported) when not finite.
    pub(super) fn number(&mut self, at: Span) -> Option<Spanned<f64>> {
        match self.slice(at).parse::<f64>() {
            Ok(n) if n.is_finite() => Some(Spanned::new(n, at)),
            _ => {
                self.too_large(at);
                None
            }
        }
    }

    fn too_large(&mut self, at: Span) {
        let d = Diagnostic::new(Code::Syntax, self.source, at, "number out of range")
            .label("this number does not fit in 64 bits")
            .help("use a smaller number");
        self.diags.push(d);
    }

    /// A type name; unknown spellings are kept for the checker.
    pub(super) fn type_name(&mut self, at: Span) -> Spanned<TypeName> {
        let text: String = self.slice(at).chars().filter(|c| *c != ' ').collect();
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
        Spanned::new(ty, at)
    }

    /// A rhai expression: the grammar already trimmed it.
    pub(super) fn expr(&mut self, at: Span) -> Expr {
        Expr {
            source: self.slice(at).to_string(),
            span: at,
        }
    }
}
