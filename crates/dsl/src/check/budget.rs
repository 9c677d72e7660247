//! `budget 5 usd, 200000 tokens` (a flow item and a stage item): each unit
//! at most once, each amount > 0, tokens a whole number (F0022); and the
//! IR value.

use crate::ast::{BudgetDecl, BudgetLimit};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::Budget;
use crate::span::SourceId;

/// Reports what is wrong with `decl`.
pub(crate) fn check(decl: &BudgetDecl, source: SourceId, diags: &mut Vec<Diagnostic>) {
    let (mut usd, mut tokens) = (None, None);
    for limit in &decl.limits {
        let (seen, unit, amount) = match limit.node {
            BudgetLimit::Usd(a) => (&mut usd, "usd", a),
            BudgetLimit::Tokens(a) => (&mut tokens, "tokens", a),
        };
        if let Some(first) = seen.replace(limit.span) {
            diags.push(
                Diagnostic::new(
                    Code::BadValue,
                    source,
                    limit.span,
                    format!("`budget` gives `{unit}` twice"),
                )
                .label("again")
                .secondary(first, "first here")
                .help("give each unit once: `budget 5 usd, 200000 tokens`"),
            );
            continue;
        }
        let whole = unit == "usd" || amount.fract() == 0.0;
        if amount <= 0.0 || !whole || amount > u64::MAX as f64 {
            let why = if amount <= 0.0 {
                "must be more than 0"
            } else if !whole {
                "must be a whole number of tokens"
            } else {
                "is too large"
            };
            diags.push(
                Diagnostic::new(
                    Code::BadValue,
                    source,
                    limit.span,
                    format!("budget `{} {unit}` {why}", super::settings::short_number(amount)),
                )
                .label("out of range")
                .help("a budget is what the stage (or the run) may use: write e.g. `budget 5 usd` or `budget 200000 tokens`"),
            );
        }
    }
}

/// The IR value of a checked `decl` (a limit given twice: the first).
pub(crate) fn build(decl: &BudgetDecl) -> Budget {
    let mut budget = Budget::default();
    for limit in &decl.limits {
        match limit.node {
            BudgetLimit::Usd(a) => {
                budget.usd = budget.usd.or(Some(a));
            }
            // In range: `check` refused fractions and amounts beyond u64.
            BudgetLimit::Tokens(a) => budget.tokens = budget.tokens.or(Some(a as u64)),
        }
    }
    budget
}
