//! AST → IR: builds the [`Pipeline`] of a flow from its expanded stages and
//! resolved edges, compiling every expression on the way (their diagnostics
//! are collected; the caller drops the pipeline when there are errors, so
//! invalid parts are simply left at their defaults here).
//!
//! Template stages: each template argument (defaults included) becomes a
//! stage env entry [`EnvValue::Literal`] named after the parameter,
//! upper-cased (`skill` → `SKILL`, `method` → `METHOD`); every `skill`-typed
//! argument also gives `NAME_FILE` (`SKILL_FILE`, `METHOD_FILE`) =
//! [`EnvValue::LibraryFile`], the skill file's path **relative to the
//! library** (`skills/plan.md`). The runtime makes it absolute against the
//! library's folder (`$FLOW_LIB`, from [`Stage::library`]). A skill of
//! another library (`"team.review"`, or `"./review"` beside the flow) is an
//! [`EnvValue::FileOf`] naming that library's index instead. A template of
//! the flow's own file, or a `"./NAME"` skill, gets a library named `local`
//! whose folder is the file's folder.

use super::ahead::{Ahead, Helpers, StageExprs};
use super::bounds::{self, Resolved, Setting};
use super::durations;
use super::expand::Expanded;
use super::graph::Edges;
use super::templates::{ArgEnv, LibRef};
use crate::ast::{self, FlowItem, ParamOr, RouteTargetDecl};
use crate::diagnostic::Diagnostic;
use crate::expr::Want;
use crate::ir::{
    self, default_shell, shell_argv, EdgeKind, EnvValue, Library, ParamSetting, ParamSettingKind,
    Pipeline, Retry, Route, RouteOn, RouteTarget, Stage, StageId,
};
use crate::load::Loaded;
use crate::span::SourceId;
use foldhash::HashMap;
use petgraph::graph::DiGraph;
use std::time::Duration;

/// Default SIGTERM → SIGKILL delay.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// Everything [`pipeline`] needs about one flow.
pub(crate) struct Input<'a> {
    /// The flow.
    pub flow: &'a ast::Flow,
    /// Its file.
    pub src: SourceId,
    /// The loaded file and libraries.
    pub loaded: &'a Loaded,
    /// Its stages, expanded, in source order.
    pub stages: &'a [Expanded<'a>],
    /// Their resolved edges.
    pub edges: &'a Edges,
    /// The flow's checked `alert`s.
    pub alerts: Vec<ir::Alert>,
    /// The flow's checked `trigger`s.
    pub triggers: Vec<ir::Trigger>,
}

/// Builds the pipeline, with the expressions `ahead` compiled (its helper
/// threads `helpers`, joined here); expression problems go to `diags`.
pub(crate) fn pipeline(
    input: &Input,
    ahead: &Ahead,
    helpers: Helpers,
    diags: &mut Vec<Diagnostic>,
) -> Pipeline {
    let Input {
        flow,
        src,
        loaded,
        stages,
        edges,
        ..
    } = *input;
    let compiler = &ahead.compiler;
    let (param_names, variables) = (&ahead.param_names, &ahead.variables);
    diags.extend(ahead.let_diags.iter().cloned());
    let lets = ahead.lets.clone();
    let params = ahead.params.clone();
    let (mut description, mut timeout, mut concurrency, mut skip_if) = (None, None, None, None);
    let mut budget = None;
    let mut flow_shell: Option<Vec<String>> = None;
    let (mut env, mut secrets) = (Vec::new(), Vec::new());
    // `skip if` is evaluated before the lets (it decides whether the run
    // starts at all): it sees the params only. Everything else sees the
    // params and every let.
    for item in &flow.items {
        match item {
            FlowItem::Description(d) => description = description.or(Some(d.node.clone())),
            FlowItem::Timeout(t) => timeout = timeout.or(durations::parse(&t.node)),
            FlowItem::Budget(b) => budget = budget.or(Some(super::budget::build(b))),
            FlowItem::Concurrency(c) => concurrency = concurrency.or(u32::try_from(c.node).ok()),
            FlowItem::SkipIf(e) => {
                skip_if =
                    skip_if.or(compiler.compile(Want::Bool("skip if"), e, param_names, src, diags))
            }
            FlowItem::Env(name, e) => {
                let setting = format!("env {}", name.node);
                if let Some(c) = compiler.compile(Want::Text(&setting), e, variables, src, diags) {
                    env.push((name.node.clone(), c));
                }
            }
            FlowItem::Secret(name) => secrets.push(name.node.clone()),
            FlowItem::Shell(text) => flow_shell = flow_shell.or(Some(shell_argv(&text.node))),
            FlowItem::Param(_)
            | FlowItem::Let(..)
            | FlowItem::Alert(_)
            | FlowItem::Trigger(_)
            | FlowItem::Stage(_)
            | FlowItem::Finally(_) => {}
        }
    }

    let mut libraries: Vec<Library> = loaded
        .libraries
        .iter()
        .map(|l| Library {
            name: l.name.clone(),
            dir: l.dir.clone(),
            files: l.files.clone(),
        })
        .collect();
    let mut local: Option<usize> = None;
    let route_targets = edges.route_targets();
    let mut built = Vec::new();
    let mut param_settings = Vec::new();
    let mut compiled = ahead.finish(stages, helpers);
    for (i, s) in stages.iter().enumerate() {
        let mut index_of = |lib: LibRef| match lib {
            LibRef::Library(index) => index,
            LibRef::Local => *local.get_or_insert_with(|| {
                libraries.push(Library {
                    name: "local".into(),
                    dir: Some(loaded.base_dir.clone()),
                    files: Default::default(),
                });
                libraries.len() - 1
            }),
        };
        let library = s.library.map(&mut index_of);
        let mut stage_env: Vec<(String, EnvValue)> = s
            .args_env
            .iter()
            .map(|(name, value)| {
                let value = match value {
                    ArgEnv::Text(text) => EnvValue::Literal(text.clone()),
                    ArgEnv::File(lib, file) if Some(*lib) == s.library => {
                        EnvValue::LibraryFile(file.clone())
                    }
                    ArgEnv::File(lib, file) => EnvValue::FileOf {
                        library: index_of(*lib),
                        file: file.clone(),
                    },
                };
                (name.clone(), value)
            })
            .collect();
        let StageExprs {
            env: env_exprs,
            when,
        } = std::mem::take(&mut compiled[i]);
        for (e, c) in s.env.iter().zip(env_exprs) {
            diags.extend(c.diags);
            if let Some(c) = c.expr {
                stage_env.push((e.name.node.clone(), EnvValue::Expr(c)));
            }
        }
        let targets: HashMap<usize, usize> =
            edges.routes[i].iter().map(|&(to, pos)| (pos, to)).collect();
        let mut routes = Vec::new();
        for (pos, r) in s.routes.iter().enumerate() {
            let target = match &r.node.target {
                RouteTargetDecl::Stage(_) => match targets.get(&pos) {
                    Some(&to) => RouteTarget::Stage(StageId(to)),
                    None => continue,
                },
                RouteTargetDecl::Again(ParamOr::Value(d)) => {
                    RouteTarget::Again(durations::parse(&d.node).unwrap_or_default())
                }
                RouteTargetDecl::Again(ParamOr::Param(name)) => {
                    let resolved = bounds::resolve(name, Setting::Again, r.from_template, s, diags);
                    RouteTarget::Again(match resolved {
                        Resolved::Value(v) => ir::again_delay_of(&v).unwrap_or_default(),
                        Resolved::FlowParam(param) => {
                            param_settings.push(ParamSetting {
                                param,
                                stage: StageId(i),
                                setting: ParamSettingKind::Again {
                                    route: routes.len(),
                                },
                            });
                            Duration::ZERO
                        }
                        Resolved::Invalid => Duration::ZERO,
                    })
                }
            };
            routes.push(Route {
                on: route_on(&r.node.on.node),
                target,
            });
        }
        let max_visits = s.max.and_then(|m| match m.node {
            ParamOr::Value(v) => u32::try_from(v.node).ok(),
            ParamOr::Param(name) => {
                match bounds::resolve(name, Setting::Max, m.from_template, s, diags) {
                    Resolved::Value(v) => ir::max_visits_of(&v).ok(),
                    Resolved::FlowParam(param) => {
                        param_settings.push(ParamSetting {
                            param,
                            stage: StageId(i),
                            setting: ParamSettingKind::Max,
                        });
                        // Replaced by `Pipeline::bind_params` before the run
                        // (a param always has a value by then).
                        Some(1)
                    }
                    Resolved::Invalid => None,
                }
            }
        });
        built.push(Stage {
            id: StageId(i),
            name: s.decl.name.node.clone(),
            finally: s.decl.finally,
            needs: edges.needs[i].iter().map(|&(n, _)| StageId(n)).collect(),
            script: s.run.map(|r| r.node.node.clone()).unwrap_or_default(),
            builtin: s.builtin.map(|b| b.node.node.clone()),
            shell: match s.shell {
                Some(text) => shell_argv(&text.node.node),
                None => flow_shell.clone().unwrap_or_else(default_shell),
            },
            timeout: s.timeout.and_then(|t| durations::parse(&t.node.node)),
            idle: s.idle.and_then(|t| durations::parse(&t.node.node)),
            budget: s.budget.map(|b| super::budget::build(b.node)),
            approval: s
                .approval
                .map(|a| a.node.iter().map(|w| w.node.clone()).collect()),
            grace: s
                .grace
                .and_then(|g| durations::parse(&g.node.node))
                .unwrap_or(DEFAULT_GRACE),
            retry: s.retry.map(|r| retry(r.node)).unwrap_or_default(),
            outputs: s.outputs.iter().map(|o| o.node.node.clone()).collect(),
            optional_outputs: s
                .optional_outputs
                .iter()
                .map(|o| o.node.node.clone())
                .collect(),
            when: when.and_then(|c| {
                diags.extend(c.diags);
                c.expr
            }),
            env: stage_env,
            status_json: s.status_json(),
            max_visits,
            allow_failure: s.allow_failure.is_some(),
            ends_run: s.ends_run.map(|e| e.node.node.clone()),
            routes,
            route_target: route_targets[i],
            library,
        });
    }

    let mut graph = DiGraph::new();
    for stage in &built {
        graph.add_node(stage.id);
    }
    for stage in &built {
        for need in &stage.needs {
            graph.add_edge(
                Pipeline::node(*need),
                Pipeline::node(stage.id),
                EdgeKind::Needs,
            );
        }
        for route in &stage.routes {
            if let RouteTarget::Stage(to) = route.target {
                graph.add_edge(
                    Pipeline::node(stage.id),
                    Pipeline::node(to),
                    EdgeKind::Route(route.on.clone()),
                );
            }
        }
    }

    Pipeline {
        name: flow.name.node.clone(),
        description,
        params,
        timeout,
        budget,
        concurrency,
        skip_if,
        lets,
        env,
        secrets,
        stages: built,
        graph,
        libraries,
        param_settings,
        alerts: input.alerts.clone(),
        triggers: input.triggers.clone(),
    }
}

fn retry(r: &ast::RetryDecl) -> Retry {
    let default = Retry::default();
    Retry {
        retries: u32::try_from(r.count.node).unwrap_or(0),
        delay: r
            .delay
            .as_ref()
            .and_then(|d| durations::parse(&d.node))
            .unwrap_or(default.delay),
        backoff: r.backoff.as_ref().map_or(default.backoff, |b| b.node),
    }
}

fn route_on(on: &ast::RouteOn) -> RouteOn {
    match on {
        ast::RouteOn::Success => RouteOn::Success,
        ast::RouteOn::Failure => RouteOn::Failure,
        ast::RouteOn::Timeout => RouteOn::Timeout,
        ast::RouteOn::Budget => RouteOn::Budget,
        ast::RouteOn::Exit(codes) => RouteOn::Exit(
            codes
                .iter()
                .filter_map(|c| i32::try_from(c.node).ok())
                .collect(),
        ),
        ast::RouteOn::Status(s) => RouteOn::Status(s.node.clone()),
    }
}
