//! The names an expression refers to, with their spans in the file: the
//! variables it reads (params, lets, template parameters) and the stages it
//! reads through `stages.NAME` / `stages["NAME"]`. For editors (go to
//! definition, references, rename); the checker does not use it.

use super::locate::Locator;
use super::walk::{is_stages, split};
use crate::ast;
use crate::span::Span;
use rhai::{ASTNode, Engine, Expr};
use std::sync::OnceLock;

/// One name in an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExprName {
    /// A variable read by name (`issue`), at the span of the name.
    Variable(String, Span),
    /// A stage read through `stages`, at the span of its name (inside the
    /// quotes for `stages["NAME"]`).
    Stage(String, Span),
}

/// Every variable and stage name `expr` reads, in source order; empty when
/// the expression does not parse (the checker reports that). The globals
/// (`run`, `stages`, `env`) are not listed.
pub fn names(expr: &ast::Expr) -> Vec<ExprName> {
    static READER: OnceLock<Engine> = OnceLock::new();
    let engine = READER.get_or_init(super::engine::reader);
    let Ok(ast) = engine.compile_expression(&expr.source) else {
        return Vec::new();
    };
    let loc = Locator::new(expr);
    let mut found = Vec::new();
    ast.walk(&mut |path: &[ASTNode]| {
        if let Some(ASTNode::Expr(e)) = path.last() {
            match e {
                Expr::Variable(v, _, pos) if !super::GLOBALS.contains(&v.1.as_str()) => {
                    let name = v.1.as_str();
                    found.push(ExprName::Variable(name.to_string(), loc.token(*pos, name)));
                }
                Expr::Dot(chain, ..) if is_stages(&chain.lhs) => {
                    found.extend(stage(&chain.rhs, false, &loc));
                }
                Expr::Index(chain, ..) if is_stages(&chain.lhs) => {
                    found.extend(stage(&chain.rhs, true, &loc));
                }
                _ => {}
            }
        }
        true
    });
    found.sort_by_key(|n| match n {
        ExprName::Variable(_, s) | ExprName::Stage(_, s) => *s,
    });
    found.dedup();
    found
}

/// The stage named by the first segment of `rest` (after `stages.` or
/// `stages[`), when it is written literally.
fn stage(rest: &Expr, indexed: bool, loc: &Locator) -> Option<ExprName> {
    match (split(rest).0, indexed) {
        (Expr::Property(prop, pos), false) => {
            let name = prop.2.as_str();
            Some(ExprName::Stage(name.to_string(), loc.token(*pos, name)))
        }
        (Expr::StringConstant(s, pos), true) => {
            let quote = loc.local(*pos);
            Some(ExprName::Stage(s.to_string(), loc.token_at(quote + 1, s)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(src: &str, base: usize) -> Vec<(String, &'static str, usize, usize)> {
        let e = ast::Expr {
            source: src.to_string(),
            span: Span::new(base, base + src.len()),
        };
        names(&e)
            .into_iter()
            .map(|n| match n {
                ExprName::Variable(v, s) => (v, "var", s.start, s.end),
                ExprName::Stage(v, s) => (v, "stage", s.start, s.end),
            })
            .collect()
    }

    #[test]
    fn finds_variables_and_stages_with_file_spans() {
        let src = r#"issue > 3 && stages.plan.outcome == "ok" && stages["re-view"].visits < limit"#;
        let got = at(src, 100);
        let spanned: Vec<&str> = got.iter().map(|g| &src[g.2 - 100..g.3 - 100]).collect();
        assert_eq!(spanned, ["issue", "plan", "re-view", "limit"]);
        let kinds: Vec<&str> = got.iter().map(|g| g.1).collect();
        assert_eq!(kinds, ["var", "stage", "stage", "var"]);
    }

    #[test]
    fn globals_are_not_names_and_bad_syntax_gives_none() {
        assert_eq!(at("run.id + env.HOME", 0), []);
        assert_eq!(at("issue >", 0), []);
    }

    #[test]
    fn non_ascii_text_before_a_name_keeps_byte_spans() {
        let src = r#""é€" + title"#;
        let got = at(src, 0);
        assert_eq!(&src[got[0].2..got[0].3], "title");
    }
}
