//! A small builder of checked pipelines for runtime tests (the checker's
//! output, written by hand): stages refer to each other by name.
#![allow(dead_code)]

use flow_dsl::ir::{
    CompiledExpr, EdgeKind, EnvValue, Param, ParamType, Pipeline, Retry, Route, RouteOn,
    RouteTarget, Stage, StageId, Value,
};
use petgraph::graph::DiGraph;
use std::collections::BTreeMap;
use std::time::Duration;

/// A compiled rhai expression (lenient engine: variables are checked by the
/// checker, not here).
pub fn expr(src: &str) -> CompiledExpr {
    let ast = rhai::Engine::new()
        .compile_expression(src)
        .expect("test expression compiles");
    CompiledExpr {
        source: src.into(),
        ast,
        bindings: Vec::new(),
    }
}

/// A stage being described; needs and route targets by name.
pub struct StageDef {
    pub stage: Stage,
    needs: Vec<String>,
    routes: Vec<(RouteOn, Option<String>, Duration)>,
}

impl StageDef {
    pub fn needs(&mut self, names: &[&str]) -> &mut Self {
        self.needs.extend(names.iter().map(|n| n.to_string()));
        self
    }
    pub fn timeout(&mut self, t: Duration) -> &mut Self {
        self.stage.timeout = Some(t);
        self
    }
    pub fn approval(&mut self, decisions: &[&str]) -> &mut Self {
        self.stage.approval = Some(decisions.iter().map(|d| d.to_string()).collect());
        self
    }
    pub fn idle(&mut self, t: Duration) -> &mut Self {
        self.stage.idle = Some(t);
        self
    }
    pub fn grace(&mut self, t: Duration) -> &mut Self {
        self.stage.grace = t;
        self
    }
    pub fn outputs(&mut self, globs: &[&str]) -> &mut Self {
        self.stage
            .outputs
            .extend(globs.iter().map(|g| g.to_string()));
        self
    }
    pub fn optional_outputs(&mut self, globs: &[&str]) -> &mut Self {
        self.stage
            .optional_outputs
            .extend(globs.iter().map(|g| g.to_string()));
        self
    }
    pub fn env_expr(&mut self, name: &str, src: &str) -> &mut Self {
        self.stage
            .env
            .push((name.into(), EnvValue::Expr(expr(src))));
        self
    }
    pub fn env_literal(&mut self, name: &str, text: &str) -> &mut Self {
        self.stage
            .env
            .push((name.into(), EnvValue::Literal(text.into())));
        self
    }
    /// `name` = `file` relative to the stage's library folder (what the
    /// checker emits for a `skill` argument's `NAME_FILE`).
    pub fn env_library_file(&mut self, name: &str, file: &str) -> &mut Self {
        self.stage
            .env
            .push((name.into(), EnvValue::LibraryFile(file.into())));
        self
    }
    pub fn status_json(&mut self) -> &mut Self {
        self.stage.status_json = true;
        self
    }
    pub fn retry(&mut self, retries: u32, delay: Duration) -> &mut Self {
        self.stage.retry = Retry {
            retries,
            delay,
            backoff: 1.0,
        };
        self
    }
    pub fn backoff(&mut self, factor: f64) -> &mut Self {
        self.stage.retry.backoff = factor;
        self
    }
    pub fn when(&mut self, src: &str) -> &mut Self {
        self.stage.when = Some(expr(src));
        self
    }
    pub fn max(&mut self, n: u32) -> &mut Self {
        self.stage.max_visits = Some(n);
        self
    }
    pub fn ends_run(&mut self, name: &str) -> &mut Self {
        self.stage.ends_run = Some(name.into());
        self
    }
    pub fn route(&mut self, on: RouteOn, to: &str) -> &mut Self {
        self.routes.push((on, Some(to.into()), Duration::ZERO));
        self
    }
    pub fn again(&mut self, on: RouteOn, after: Duration) -> &mut Self {
        self.routes.push((on, None, after));
        self
    }
    pub fn library(&mut self, index: usize) -> &mut Self {
        self.stage.library = Some(index);
        self
    }
}

/// A flow being described.
pub struct Flow {
    pub pipeline: Pipeline,
    defs: Vec<StageDef>,
}

impl Flow {
    pub fn new(name: &str) -> Flow {
        Flow {
            pipeline: Pipeline {
                name: name.into(),
                description: None,
                params: vec![],
                timeout: None,
                budget: None,
                concurrency: None,
                skip_if: None,
                lets: vec![],
                env: vec![],
                secrets: vec![],
                stages: vec![],
                graph: DiGraph::new(),
                libraries: vec![],
                param_settings: vec![],
                alerts: vec![],
                triggers: vec![],
            },
            defs: vec![],
        }
    }

    pub fn param(mut self, name: &str, ty: ParamType, default: Option<Value>) -> Flow {
        self.pipeline.params.push(Param {
            name: name.into(),
            ty,
            default,
        });
        self
    }
    pub fn let_(mut self, name: &str, src: &str) -> Flow {
        self.pipeline.lets.push((name.into(), expr(src)));
        self
    }
    pub fn env(mut self, name: &str, src: &str) -> Flow {
        self.pipeline.env.push((name.into(), expr(src)));
        self
    }
    pub fn secret(mut self, name: &str) -> Flow {
        self.pipeline.secrets.push(name.into());
        self
    }
    pub fn skip_if(mut self, src: &str) -> Flow {
        self.pipeline.skip_if = Some(expr(src));
        self
    }
    pub fn timeout(mut self, t: Duration) -> Flow {
        self.pipeline.timeout = Some(t);
        self
    }
    pub fn library(mut self, name: &str, files: &[(&str, &str)]) -> Flow {
        let files: BTreeMap<String, Vec<u8>> = files
            .iter()
            .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
            .collect();
        self.pipeline.libraries.push(flow_dsl::ir::Library {
            name: name.into(),
            dir: None,
            files,
        });
        self
    }

    /// An ordinary stage.
    pub fn stage(self, name: &str, script: &str, f: impl FnOnce(&mut StageDef)) -> Flow {
        self.add(name, script, false, f)
    }

    /// A `finally` stage.
    pub fn finally(self, name: &str, script: &str, f: impl FnOnce(&mut StageDef)) -> Flow {
        self.add(name, script, true, f)
    }

    fn add(
        mut self,
        name: &str,
        script: &str,
        finally: bool,
        f: impl FnOnce(&mut StageDef),
    ) -> Flow {
        let id = StageId(self.defs.len());
        let mut def = StageDef {
            stage: Stage {
                id,
                name: name.into(),
                finally,
                needs: vec![],
                script: script.into(),
                shell: flow_dsl::ir::DEFAULT_SHELL
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                timeout: None,
                idle: None,
                budget: None,
                approval: None,
                builtin: None,
                grace: Duration::from_secs(10),
                retry: Retry::default(),
                outputs: vec![],
                optional_outputs: vec![],
                when: None,
                env: vec![],
                status_json: false,
                max_visits: None,
                allow_failure: false,
                ends_run: None,
                routes: vec![],
                route_target: false,
                library: None,
            },
            needs: vec![],
            routes: vec![],
        };
        f(&mut def);
        self.defs.push(def);
        self
    }

    /// Resolves names to ids and builds the graph.
    pub fn build(mut self) -> Pipeline {
        let id_of = |defs: &[StageDef], n: &str| {
            StageId(
                defs.iter()
                    .position(|d| d.stage.name == n)
                    .unwrap_or_else(|| panic!("no stage {n}")),
            )
        };
        let mut graph = DiGraph::new();
        for d in &self.defs {
            graph.add_node(d.stage.id);
        }
        let mut targets = vec![];
        for i in 0..self.defs.len() {
            let needs: Vec<StageId> = self.defs[i]
                .needs
                .iter()
                .map(|n| id_of(&self.defs, n))
                .collect();
            let routes: Vec<Route> = self.defs[i]
                .routes
                .iter()
                .map(|(on, to, after)| Route {
                    on: on.clone(),
                    target: match to {
                        Some(n) => RouteTarget::Stage(id_of(&self.defs, n)),
                        None => RouteTarget::Again(*after),
                    },
                })
                .collect();
            for n in &needs {
                graph.add_edge(
                    Pipeline::node(*n),
                    Pipeline::node(StageId(i)),
                    EdgeKind::Needs,
                );
            }
            for r in &routes {
                if let RouteTarget::Stage(t) = r.target {
                    graph.add_edge(
                        Pipeline::node(StageId(i)),
                        Pipeline::node(t),
                        EdgeKind::Route(r.on.clone()),
                    );
                    if t.0 != i {
                        targets.push(t);
                    }
                }
            }
            self.defs[i].stage.needs = needs;
            self.defs[i].stage.routes = routes;
        }
        for t in targets {
            self.defs[t.0].stage.route_target = true;
        }
        self.pipeline.stages = self.defs.into_iter().map(|d| d.stage).collect();
        self.pipeline.graph = graph;
        self.pipeline
    }
}

/// The supervisor every test run uses: this crate's `flow-supervisor`.
pub fn supervisor() -> flow_runtime::supervisor::SupervisorCommand {
    flow_runtime::supervisor::SupervisorCommand {
        program: env!("CARGO_BIN_EXE_flow-supervisor").into(),
        args: vec![],
    }
}

/// Run options for a test: runs under `base`, quiet, this crate's
/// supervisor; the rest default.
pub fn options(base: &std::path::Path) -> flow_runtime::run::RunOptions {
    flow_runtime::run::RunOptions {
        base_dir: base.to_path_buf(),
        quiet: true,
        supervisor: supervisor().into(),
        ..flow_runtime::run::RunOptions::default()
    }
}
