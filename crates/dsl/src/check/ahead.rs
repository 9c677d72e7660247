//! The flow's expressions compiled ahead of the pipeline: the compiler with
//! the params' types, the lets (in order: each sees the params and the lets
//! before it), and the stages' `env` and `when` expressions.
//!
//! A flow of [`PARALLEL_FROM`] stages or more has its stages' expressions
//! compiled by helper threads (one per further core, at most 3) from the
//! moment its stages are expanded, while the other checks run; `build`
//! then compiles what is left alongside them. Results are put back in stage
//! order and their diagnostics added where `build` adds them, so the output
//! is what compiling one after the other gives (the compiler's cache only
//! saves work, see [`Compiler`]).

use super::expand::Expanded;
use super::exprs::Compiler;
use super::params;
use crate::ast::{self, FlowItem};
use crate::diagnostic::Diagnostic;
use crate::expr::Want;
use crate::ir::{CompiledExpr, Param};
use crate::span::SourceId;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread::{Scope, ScopedJoinHandle};

/// From this many stages, their expressions are compiled on every core
/// (below it a thread costs more than it saves).
const PARALLEL_FROM: usize = 256;

#[cfg(not(test))]
fn parallel_from() -> usize {
    PARALLEL_FROM
}

#[cfg(test)]
thread_local! {
    /// [`PARALLEL_FROM`] for the checks this thread runs (tests only).
    pub(crate) static PARALLEL_FROM_HERE: std::cell::Cell<usize> =
        const { std::cell::Cell::new(PARALLEL_FROM) };
}

#[cfg(test)]
fn parallel_from() -> usize {
    PARALLEL_FROM_HERE.with(|n| n.get())
}

/// Stages handed to a thread at a time.
const CHUNK: usize = 32;

/// One compiled expression and its problems.
pub(crate) struct Compiled {
    pub expr: Option<CompiledExpr>,
    pub diags: Vec<Diagnostic>,
}

/// A stage's `env` expressions (in its order) and `when`, compiled.
#[derive(Default)]
pub(crate) struct StageExprs {
    pub env: Vec<Compiled>,
    pub when: Option<Compiled>,
}

/// The helper threads compiling stages' expressions.
pub(crate) type Helpers<'scope> = Vec<ScopedJoinHandle<'scope, ()>>;

/// Chunks of compiled stages: each with the index of its first stage.
type Done = Vec<(usize, Vec<StageExprs>)>;

/// What is compiled before the pipeline is built.
pub(crate) struct Ahead {
    pub compiler: Compiler,
    /// The flow's params with their types and defaults.
    pub params: Vec<Param>,
    /// Their names: what `skip if` sees.
    pub param_names: Vec<String>,
    /// The params and the lets: what the flow's other expressions see.
    pub variables: Vec<String>,
    /// The lets that compiled.
    pub lets: Vec<(String, CompiledExpr)>,
    /// The lets' problems, in order.
    pub let_diags: Vec<Diagnostic>,
    /// The next stage no thread has taken.
    next: AtomicUsize,
    /// What the helper threads compiled.
    done: Mutex<Done>,
}

impl Ahead {
    /// Compiles the lets of `flow` (file `src`) with its checked `params`;
    /// `stages` are the flow's, expanded.
    pub(crate) fn new(
        flow: &ast::Flow,
        src: SourceId,
        params: &[(&ast::ParamDecl, &params::Checked)],
        stages: &[Expanded],
    ) -> Ahead {
        let names: Vec<String> = stages.iter().map(|s| s.decl.name.node.clone()).collect();
        let compiler = Compiler::new(names);
        let typed: Vec<Param> = params
            .iter()
            .filter_map(|(decl, checked)| {
                Some(Param {
                    name: decl.name.node.clone(),
                    ty: checked.ty?,
                    default: checked.default.clone(),
                })
            })
            .collect();
        compiler.declare_params(&typed);
        let param_names: Vec<String> = params.iter().map(|(d, _)| d.name.node.clone()).collect();
        let mut variables = param_names.clone();
        let (mut lets, mut let_diags) = (Vec::new(), Vec::new());
        for item in &flow.items {
            if let FlowItem::Let(name, e) = item {
                if let Some(c) =
                    compiler.compile_let(&name.node, e, &variables, src, &mut let_diags)
                {
                    lets.push((name.node.clone(), c));
                }
                variables.push(name.node.clone());
            }
        }
        Ahead {
            compiler,
            params: typed,
            param_names,
            variables,
            lets,
            let_diags,
            next: AtomicUsize::new(0),
            done: Mutex::new(Vec::new()),
        }
    }

    /// Starts the helper threads on `stages` in `scope`, if the flow is
    /// large enough and there is more than one core.
    pub(crate) fn start<'scope, 'env>(
        &'env self,
        scope: &'scope Scope<'scope, 'env>,
        stages: &'env [Expanded<'env>],
    ) -> Helpers<'scope> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if stages.len() < parallel_from() || cores < 2 {
            return Vec::new();
        }
        (1..cores.min(4))
            .filter_map(|_| {
                std::thread::Builder::new()
                    .name("flow-compile".into())
                    .spawn_scoped(scope, move || {
                        let chunks = self.work(stages);
                        self.done
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .extend(chunks);
                    })
                    .ok()
            })
            .collect()
    }

    /// Compiles what no helper has taken, waits for the `helpers`, and
    /// returns every stage's expressions in stage order.
    pub(crate) fn finish(&self, stages: &[Expanded], helpers: Helpers) -> Vec<StageExprs> {
        let mut chunks = self.work(stages);
        for h in helpers {
            if let Err(panic) = h.join() {
                std::panic::resume_unwind(panic);
            }
        }
        chunks.extend(std::mem::take(
            &mut *self.done.lock().unwrap_or_else(PoisonError::into_inner),
        ));
        chunks.sort_by_key(|(start, _)| *start);
        chunks.into_iter().flat_map(|(_, c)| c).collect()
    }

    /// Takes chunks of stages until none is left; what it compiled.
    fn work(&self, stages: &[Expanded]) -> Done {
        let mut done = Vec::new();
        loop {
            let start = self.next.fetch_add(CHUNK, Ordering::Relaxed);
            if start >= stages.len() {
                return done;
            }
            let end = (start + CHUNK).min(stages.len());
            let compiled = stages[start..end].iter().map(|s| self.stage(s)).collect();
            done.push((start, compiled));
        }
    }

    /// The `env` and `when` expressions of one stage, compiled.
    fn stage(&self, s: &Expanded) -> StageExprs {
        let compile = |want: Want, e: &ast::Expr, from_template: bool, src: SourceId| {
            let mut diags = Vec::new();
            let expr = if from_template {
                self.compiler
                    .compile_in_template(want, e, &s.template, src, &mut diags)
            } else {
                self.compiler
                    .compile(want, e, &self.variables, src, &mut diags)
            };
            Compiled { expr, diags }
        };
        let env = s
            .env
            .iter()
            .map(|e| {
                let setting = format!("env {}", e.name.node);
                compile(Want::Text(&setting), e.expr, e.from_template, e.src)
            })
            .collect();
        let when = s
            .when
            .map(|w| compile(Want::Bool("when"), w.node, w.from_template, w.src));
        StageExprs { env, when }
    }
}

#[cfg(test)]
mod tests {
    use super::PARALLEL_FROM_HERE;
    use std::fmt::Write;

    /// A flow of `n` stages whose expressions are right and wrong in every
    /// way the checker reports, some written in a template.
    fn flow(n: usize) -> String {
        let mut text = String::from(
            "template t(k: int) {\n  when k > 1 && nope\n  env K = k + 1\n  run \"echo\"\n}\n\nflow f {\n  param p: int = 1\n  let l = p * 2\n",
        );
        for i in 0..n {
            let _ = match i % 6 {
                0 => writeln!(text, "  stage s{i} {{\n    when p > {i} || l < 3\n    env A = (p + {i}).to_string()\n    run \"echo\"\n  }}"),
                1 => writeln!(text, "  stage s{i} {{\n    when missing{i} > 1\n    run \"echo\"\n  }}"),
                2 => writeln!(text, "  stage s{i} {{\n    when stages.s{}.exit_code == 0\n    env B = stages.nope.exit_code\n    run \"echo\"\n  }}", i - 1),
                3 => writeln!(text, "  stage s{i}: t(k: {i}) {{ }}"),
                4 => writeln!(text, "  stage s{i} {{\n    when p + \"x\"\n    env C = p +\n    run \"echo\"\n  }}"),
                _ => writeln!(text, "  stage s{i} {{\n    when p > 0\n    env D = l\n    run \"echo\"\n  }}"),
            };
        }
        text.push_str("}\n");
        text
    }

    fn check(text: &str, parallel_from: usize) -> String {
        PARALLEL_FROM_HERE.with(|n| n.set(parallel_from));
        let dir = std::env::temp_dir();
        let checked = crate::check_source("big.flow", text, &dir);
        PARALLEL_FROM_HERE.with(|n| n.set(super::PARALLEL_FROM));
        format!("{:#?}\n{:#?}", checked.diagnostics, checked.pipeline)
    }

    #[test]
    fn compiling_on_several_threads_gives_what_one_thread_gives() {
        let text = flow(400);
        let one = check(&text, usize::MAX);
        let several = check(&text, 1);
        assert!(one.contains("nope") && one.contains("missing397"), "{one}");
        assert!(one == several, "the diagnostics or the pipeline differ");
    }

    #[test]
    fn a_clean_large_flow_gives_the_same_pipeline_on_several_threads() {
        let text = flow(400)
            .lines()
            .filter(|l| {
                !l.contains("nope")
                    && !l.contains("missing")
                    && !l.contains("\"x\"")
                    && !l.ends_with('+')
            })
            .collect::<Vec<_>>()
            .join("\n");
        let one = check(&text, usize::MAX);
        assert!(one.contains("Some("), "{one}");
        assert_eq!(one, check(&text, 1));
    }
}
