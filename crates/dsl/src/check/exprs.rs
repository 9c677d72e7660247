//! Compiling the flow's rhai expressions (F0009–F0012 come from
//! [`crate::expr::compile`]); every expression goes through
//! [`Compiler::compile`].

use crate::ast::Expr;
use crate::diagnostic::Diagnostic;
use crate::expr::{self, ExprScope};
use crate::ir::CompiledExpr;
use crate::span::SourceId;
use std::sync::Arc;

/// Compiles expressions of one flow.
pub(crate) struct Compiler {
    engine: rhai::Engine,
    stages: Vec<String>,
}

impl Compiler {
    /// A compiler for a flow with these stage names (what `stages.X` may name).
    pub fn new(stages: Vec<String>) -> Self {
        Compiler {
            engine: expr::engine(Arc::new(expr::NoRuns)),
            stages,
        }
    }

    /// Compiles `e` (in file `src`) seeing `variables` (params and lets in
    /// scope); its problems go to `diags`.
    pub fn compile(
        &self,
        e: &Expr,
        variables: &[String],
        src: SourceId,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<CompiledExpr> {
        let scope = ExprScope {
            variables,
            stages: &self.stages,
        };
        match expr::compile(&self.engine, e, &scope, src) {
            Ok(ast) => Some(CompiledExpr {
                source: e.source.clone(),
                ast,
            }),
            Err(errors) => {
                diags.extend(errors);
                None
            }
        }
    }
}
