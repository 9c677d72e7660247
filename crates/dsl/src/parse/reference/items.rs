//! From pest pairs to the AST: the items of flows, stages and templates.

use super::{parts, span, P};
use crate::ast::{
    AlertDecl, AlertValue, BudgetDecl, BudgetLimit, FlowItem, ParamDecl, ParamOr, RetryDecl,
    RouteDecl, RouteOn, RouteTargetDecl, Spanned, StageItem, TemplateArg, TemplateCall,
    TriggerDecl, TriggerKind,
};
use crate::parse::build::Builder;
use crate::parse::grammar::Rule;

impl<'t> Builder<'t> {
    /// One flow item; `None` when a value in it was reported as invalid.
    pub(super) fn flow_item(&mut self, pair: P<'t>) -> Option<FlowItem> {
        let rule = pair.as_rule();
        if rule == Rule::stage || rule == Rule::finally {
            let stage = self.stage(pair, rule == Rule::finally);
            return Some(if stage.finally {
                FlowItem::Finally(stage)
            } else {
                FlowItem::Stage(stage)
            });
        }
        if rule == Rule::param {
            return Some(FlowItem::Param(self.param_decl(pair)));
        }
        if rule == Rule::alert {
            return self.alert(pair).map(FlowItem::Alert);
        }
        if rule == Rule::budget {
            return self.budget(pair).map(FlowItem::Budget);
        }
        if rule == Rule::trigger {
            return self.trigger(pair).map(FlowItem::Trigger);
        }
        let mut ps = parts(pair);
        let mut next = || ps.next();
        Some(match rule {
            Rule::description => FlowItem::Description(self.pair_text(&next()?)),
            Rule::timeout => FlowItem::Timeout(self.duration(span(&next()?))),
            Rule::concurrency => FlowItem::Concurrency(self.int(span(&next()?))?),
            Rule::skip_if => FlowItem::SkipIf(self.expr(span(&next()?))),
            Rule::let_item => {
                FlowItem::Let(self.var(span(&next()?), "let"), self.expr(span(&next()?)))
            }
            Rule::env_item => {
                FlowItem::Env(self.var(span(&next()?), "env"), self.expr(span(&next()?)))
            }
            Rule::secret => FlowItem::Secret(self.var(span(&next()?), "secret")),
            Rule::shell => FlowItem::Shell(self.pair_text(&next()?)),
            _ => return None,
        })
    }

    /// One item of a stage or template body.
    pub(super) fn stage_item(&mut self, pair: P<'t>) -> Option<StageItem> {
        let whole = span(&pair);
        let rule = pair.as_rule();
        match rule {
            Rule::retry => return self.retry(pair).map(StageItem::Retry),
            Rule::route => return self.route(pair).map(StageItem::Route),
            Rule::allow_failure => return Some(StageItem::AllowFailure(whole)),
            Rule::budget => return self.budget(pair).map(StageItem::Budget),
            _ => {}
        }
        let ps: Vec<P<'t>> = parts(pair).collect();
        let first = ps.first()?;
        Some(match rule {
            Rule::needs => StageItem::Needs(ps.iter().map(|p| self.ident(span(p))).collect()),
            Rule::run => StageItem::Run(self.pair_text(first)),
            Rule::run_builtin => StageItem::RunBuiltin(self.pair_text(first)),
            Rule::timeout => StageItem::Timeout(self.duration(span(first))),
            Rule::grace => StageItem::Grace(self.duration(span(first))),
            Rule::idle => StageItem::Idle(self.duration(span(first))),
            Rule::approval => StageItem::Approval(ps.iter().map(|p| self.pair_text(p)).collect()),
            Rule::outputs => StageItem::Outputs(ps.iter().map(|p| self.pair_text(p)).collect()),
            Rule::optional_outputs => {
                StageItem::OptionalOutputs(ps.iter().map(|p| self.pair_text(p)).collect())
            }
            Rule::shell => StageItem::Shell(self.pair_text(first)),
            Rule::when => StageItem::When(self.expr(span(first))),
            Rule::env_item => {
                StageItem::Env(self.var(span(first), "env"), self.expr(span(ps.get(1)?)))
            }
            Rule::status => StageItem::Status(self.ident(span(first))),
            Rule::max if first.as_rule() == Rule::ident => {
                StageItem::Max(ParamOr::Param(self.ident(span(first))))
            }
            Rule::max => StageItem::Max(ParamOr::Value(self.int(span(first))?)),
            Rule::ends_run => StageItem::EndsRun(self.ident(span(first))),
            _ => return None,
        })
    }

    /// `param NAME: TYPE [= DEFAULT]` or a template parameter.
    pub(super) fn param_decl(&mut self, pair: P<'t>) -> ParamDecl {
        let whole = span(&pair);
        let mut ps = parts(pair);
        let name = match ps.next() {
            Some(p) => self.var(span(&p), "param"),
            None => Spanned::new(String::new(), whole),
        };
        let ty = match ps.next() {
            Some(p) => self.type_name(span(&p)),
            None => Spanned::new(crate::ast::TypeName::Other(String::new()), whole),
        };
        let default = ps.next().and_then(|p| self.pair_literal(&p));
        ParamDecl {
            name,
            ty,
            default,
            span: whole,
        }
    }

    /// `lib.name(arg: value, …)`.
    pub(super) fn template_call(&mut self, pair: P<'t>) -> TemplateCall {
        let whole = span(&pair);
        let (mut library, mut name, mut args) =
            (None, Spanned::new(String::new(), whole), Vec::new());
        for p in parts(pair) {
            match p.as_rule() {
                Rule::tpl_path => {
                    let mut names: Vec<_> = parts(p).map(|i| self.ident(span(&i))).collect();
                    if let Some(last) = names.pop() {
                        name = last;
                    }
                    library = names.pop();
                }
                Rule::targ => {
                    let mut ps = parts(p);
                    let (Some(n), Some(v)) = (ps.next(), ps.next()) else {
                        continue;
                    };
                    let arg_name = self.var(span(&n), "template argument");
                    if let Some(value) = self.pair_literal(&v) {
                        args.push(TemplateArg {
                            name: arg_name,
                            value,
                        });
                    }
                }
                _ => {}
            }
        }
        TemplateCall {
            library,
            name,
            args,
            span: whole,
        }
    }

    /// `trigger cron "EXPR"` or `trigger every D`: the value's rule says
    /// which (the keywords are noise).
    fn trigger(&mut self, pair: P<'t>) -> Option<TriggerDecl> {
        let whole = span(&pair);
        let value = parts(pair).next()?;
        let kind = match value.as_rule() {
            Rule::string => TriggerKind::Cron(self.string(span(&value))),
            _ => TriggerKind::Every(self.duration(span(&value))),
        };
        Some(TriggerDecl { kind, span: whole })
    }

    /// `alert METRIC[(STAGE)] OP VALUE`.
    fn alert(&mut self, pair: P<'t>) -> Option<AlertDecl> {
        let whole = span(&pair);
        let mut ps = parts(pair);
        let mut names = parts(ps.next()?).map(|p| self.ident(span(&p)));
        let metric = names.next()?;
        let stage = names.next();
        let op = ps.next()?;
        let op = Spanned::new(op.as_str().to_string(), span(&op));
        let v = ps.next()?;
        let value = match v.as_rule() {
            Rule::number => {
                let n = self.number(span(&v))?;
                Spanned::new(AlertValue::Number(n.node), n.span)
            }
            _ => {
                let d = self.duration(span(&v));
                Spanned::new(AlertValue::Duration(d.node), d.span)
            }
        };
        Some(AlertDecl {
            metric,
            stage,
            op,
            value,
            span: whole,
        })
    }

    fn retry(&mut self, pair: P<'t>) -> Option<RetryDecl> {
        let whole = span(&pair);
        let mut ps = parts(pair);
        let count = self.int(span(&ps.next()?))?;
        let (mut delay, mut backoff) = (None, None);
        for p in ps {
            match p.as_rule() {
                Rule::duration => delay = Some(self.duration(span(&p))),
                Rule::number => backoff = Some(self.number(span(&p))?),
                _ => {}
            }
        }
        Some(RetryDecl {
            count,
            delay,
            backoff,
            span: whole,
        })
    }

    /// `budget 5 usd, 200000 tokens`.
    fn budget(&mut self, pair: P<'t>) -> Option<BudgetDecl> {
        let whole = span(&pair);
        let mut limits = Vec::new();
        for limit in parts(pair) {
            let at = span(&limit);
            let mut ps = parts(limit);
            let (amount, unit) = (ps.next()?, ps.next()?);
            let amount = self.number(span(&amount))?.node;
            let node = match unit.as_str() {
                "usd" => BudgetLimit::Usd(amount),
                _ => BudgetLimit::Tokens(amount),
            };
            limits.push(Spanned::new(node, at));
        }
        Some(BudgetDecl {
            limits,
            span: whole,
        })
    }

    fn route(&mut self, pair: P<'t>) -> Option<RouteDecl> {
        let whole = span(&pair);
        let mut ps = parts(pair);
        let (on, target) = (ps.next()?, ps.next()?);
        let on_span = span(&on);
        // Keywords are the content here, so look at the raw children.
        let on_parts: Vec<P<'t>> = on.into_inner().collect();
        let on_node = match on_parts.first()?.as_rule() {
            Rule::kw_success => RouteOn::Success,
            Rule::kw_failure => RouteOn::Failure,
            Rule::kw_timeout => RouteOn::Timeout,
            Rule::kw_budget => RouteOn::Budget,
            Rule::kw_exit => {
                let codes = on_parts.iter().filter(|p| p.as_rule() == Rule::int);
                RouteOn::Exit(codes.map(|p| self.int(span(p))).collect::<Option<_>>()?)
            }
            Rule::kw_status => RouteOn::Status(self.string(span(on_parts.get(1)?))),
            _ => return None,
        };
        let again = target
            .clone()
            .into_inner()
            .any(|p| p.as_rule() == Rule::kw_again);
        let target_parts: Vec<P<'t>> = parts(target).collect();
        let first = target_parts.first()?;
        let target = match first.as_rule() {
            Rule::duration => RouteTargetDecl::Again(ParamOr::Value(self.duration(span(first)))),
            // `again after PARAM`.
            _ if again => RouteTargetDecl::Again(ParamOr::Param(self.ident(span(first)))),
            _ => RouteTargetDecl::Stage(self.ident(span(first))),
        };
        Some(RouteDecl {
            on: Spanned::new(on_node, on_span),
            target,
            span: whole,
        })
    }
}
