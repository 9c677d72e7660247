//! The items of flows, stages and templates (`flow_item`, `stage_item` and
//! their rules in `src/flow.pest`).
//!
//! Each item is first read whole (spans only), then built, so that an item
//! that does not parse leaves no diagnostic. An item read whole but holding
//! a value that cannot be kept (a number out of range) is reported and
//! dropped, as the reference does.

use super::{Found, Parser};
use crate::ast::{
    AlertDecl, AlertValue, BudgetDecl, BudgetLimit, FlowItem, ParamOr, RetryDecl, RouteDecl,
    RouteOn, RouteTargetDecl, Spanned, StageItem, TriggerDecl, TriggerKind,
};
use crate::parse::scan;
use crate::span::Span;

/// A piece of text as read: a `"…"` string, a `"""…"""` block or a bare path.
#[derive(Clone, Copy)]
enum Text {
    Quoted(Span),
    Raw(Span),
    Bare(Span),
}

/// The outcome of a route as read.
enum On {
    Word(RouteOn),
    Exit(Vec<Span>),
    Status(Span),
}

/// The target of a route as read.
enum Target {
    Stage(Span),
    AgainDuration(Span),
    AgainParam(Span),
}

impl<'t> Parser<'t> {
    /// Takes the keyword `kw` at the position.
    fn kw(&mut self, kw: &str) -> Option<Span> {
        self.tok(|b, i| scan::keyword(b, i, kw))
    }

    /// `(comma ~ x)*` after a first `x`: the further ones.
    fn more<T>(&mut self, mut x: impl FnMut(&mut Self) -> Option<T>) -> Vec<T> {
        let mut out = Vec::new();
        loop {
            let m = self.mark();
            let next = self.then_punct(b',').and_then(|_| {
                self.skip();
                x(self)
            });
            match next {
                Some(v) => out.push(v),
                None => {
                    self.reset(m);
                    return out;
                }
            }
        }
    }

    /// `kw ~ ident` (after the keyword `kw`).
    fn kw_ident(&mut self, kw: &str) -> Option<Span> {
        self.kw(kw)?;
        self.then(scan::ident)
    }

    /// `kw ~ duration`.
    fn kw_duration(&mut self, kw: &str) -> Option<Span> {
        self.kw(kw)?;
        self.then(scan::duration)
    }

    /// `kw ~ ident ~ equals ~ expr` (`let`, `env`): the name and the expression.
    fn assignment(&mut self, kw: &str) -> Option<(Span, Span)> {
        let name = self.kw_ident(kw)?;
        self.then_punct(b'=')?;
        Some((name, self.then(scan::expr)?))
    }

    /// `raw_string | string`.
    fn raw_or_string(&mut self) -> Option<Text> {
        self.tok(scan::raw_string)
            .map(Text::Raw)
            .or_else(|| self.tok(scan::string).map(Text::Quoted))
    }

    /// `string | bare_path`.
    fn string_or_path(&mut self) -> Option<Text> {
        self.tok(scan::string)
            .map(Text::Quoted)
            .or_else(|| self.tok(scan::bare_path).map(Text::Bare))
    }

    /// `kw ~ (string | bare_path) ~ (comma ~ (string | bare_path))*`.
    fn paths(&mut self) -> Option<Vec<Text>> {
        self.skip();
        let mut all = vec![self.string_or_path()?];
        all.extend(self.more(Self::string_or_path));
        Some(all)
    }

    fn text(&mut self, t: Text) -> Spanned<String> {
        match t {
            Text::Quoted(s) => self.out.string(s),
            Text::Raw(s) => self.out.raw_string(s),
            Text::Bare(s) => self.out.bare(s),
        }
    }

    /// One flow item at the position.
    pub(super) fn flow_item(&mut self) -> Found<FlowItem> {
        let item = match self.word() {
            b"stage" => FlowItem::Stage(self.attempt(|p| p.stage(false))?),
            b"finally" => FlowItem::Finally(self.attempt(|p| p.stage(true))?),
            b"param" => {
                let raw = self.attempt(|p| {
                    let start = p.pos;
                    p.kw("param")?;
                    p.skip();
                    p.param_decl(start, 3)
                })?;
                FlowItem::Param(self.param(raw))
            }
            b"let" => {
                let (name, expr) = self.attempt(|p| p.assignment("let"))?;
                FlowItem::Let(self.out.var(name, "let"), self.out.expr(expr))
            }
            b"env" => {
                let (name, expr) = self.attempt(|p| p.assignment("env"))?;
                FlowItem::Env(self.out.var(name, "env"), self.out.expr(expr))
            }
            b"timeout" => {
                let d = self.attempt(|p| p.kw_duration("timeout"))?;
                FlowItem::Timeout(self.out.duration(d))
            }
            b"description" => {
                let t = self.attempt(|p| {
                    p.kw("description")?;
                    p.skip();
                    p.raw_or_string()
                })?;
                FlowItem::Description(self.text(t))
            }
            b"concurrency" => {
                let n = self.attempt(|p| {
                    p.kw("concurrency")?;
                    p.then(scan::int)
                })?;
                return Some(self.out.int(n).map(FlowItem::Concurrency));
            }
            b"skip" => {
                let e = self.attempt(|p| {
                    p.kw("skip")?;
                    p.then_kw("if")?;
                    p.then(scan::expr)
                })?;
                FlowItem::SkipIf(self.out.expr(e))
            }
            b"secret" => {
                let name = self.attempt(|p| p.kw_ident("secret"))?;
                FlowItem::Secret(self.out.var(name, "secret"))
            }
            b"shell" => {
                let s = self.attempt(|p| {
                    p.kw("shell")?;
                    p.then(scan::string)
                })?;
                FlowItem::Shell(self.out.string(s))
            }
            b"budget" => return Some(self.budget()?.map(FlowItem::Budget)),
            b"alert" => return Some(self.alert()?.map(FlowItem::Alert)),
            b"trigger" => return Some(self.trigger()?.map(FlowItem::Trigger)),
            _ => return None,
        };
        Some(Some(item))
    }

    /// One item of a stage or template body at the position.
    pub(super) fn stage_item(&mut self) -> Found<StageItem> {
        let item = match self.word() {
            b"needs" => {
                let (first, rest) = self.attempt(|p| {
                    let first = p.kw_ident("needs")?;
                    Some((first, p.more(|p| p.tok(scan::ident))))
                })?;
                let names = std::iter::once(first).chain(rest);
                StageItem::Needs(names.map(|n| self.out.ident(n)).collect())
            }
            b"run" => {
                let builtin = self.attempt(|p| {
                    p.kw("run")?;
                    p.then_kw("builtin")?;
                    p.then(scan::string)
                });
                if let Some(name) = builtin {
                    StageItem::RunBuiltin(self.out.string(name))
                } else {
                    let t = self.attempt(|p| {
                        p.kw("run")?;
                        p.skip();
                        p.raw_or_string()
                    })?;
                    StageItem::Run(self.text(t))
                }
            }
            b"timeout" => StageItem::Timeout(self.duration_item("timeout")?),
            b"grace" => StageItem::Grace(self.duration_item("grace")?),
            b"idle" => StageItem::Idle(self.duration_item("idle")?),
            b"on" => return Some(self.route()?.map(StageItem::Route)),
            b"when" => {
                let e = self.attempt(|p| {
                    p.kw("when")?;
                    p.then(scan::expr)
                })?;
                StageItem::When(self.out.expr(e))
            }
            b"env" => {
                let (name, expr) = self.attempt(|p| p.assignment("env"))?;
                StageItem::Env(self.out.var(name, "env"), self.out.expr(expr))
            }
            b"outputs" => {
                let all = self.attempt(|p| {
                    p.kw("outputs")?;
                    p.paths()
                })?;
                StageItem::Outputs(all.into_iter().map(|t| self.text(t)).collect())
            }
            b"optional" => {
                let all = self.attempt(|p| {
                    p.kw("optional")?;
                    p.then_kw("outputs")?;
                    p.paths()
                })?;
                StageItem::OptionalOutputs(all.into_iter().map(|t| self.text(t)).collect())
            }
            b"retry" => return Some(self.retry()?.map(StageItem::Retry)),
            b"status" => StageItem::Status({
                let name = self.attempt(|p| p.kw_ident("status"))?;
                self.out.ident(name)
            }),
            b"max" => {
                let (value, is_int) = self.attempt(|p| {
                    p.kw("max")?;
                    p.skip();
                    match p.tok(scan::int) {
                        Some(n) => Some((n, true)),
                        None => Some((p.tok(scan::ident)?, false)),
                    }
                })?;
                if is_int {
                    return Some(
                        self.out
                            .int(value)
                            .map(|n| StageItem::Max(ParamOr::Value(n))),
                    );
                }
                StageItem::Max(ParamOr::Param(self.out.ident(value)))
            }
            b"approval" => {
                let (first, rest) = self.attempt(|p| {
                    p.kw("approval")?;
                    let first = p.then(scan::string)?;
                    Some((first, p.more(|p| p.tok(scan::string))))
                })?;
                let all = std::iter::once(first).chain(rest);
                StageItem::Approval(all.map(|s| self.out.string(s)).collect())
            }
            b"allow_failure" => StageItem::AllowFailure(self.kw("allow_failure")?),
            b"ends" => {
                let name = self.attempt(|p| {
                    p.kw("ends")?;
                    p.then_kw("run")?;
                    p.then(scan::ident)
                })?;
                StageItem::EndsRun(self.out.ident(name))
            }
            b"shell" => {
                let s = self.attempt(|p| {
                    p.kw("shell")?;
                    p.then(scan::string)
                })?;
                StageItem::Shell(self.out.string(s))
            }
            b"budget" => return Some(self.budget()?.map(StageItem::Budget)),
            _ => return None,
        };
        Some(Some(item))
    }

    /// `kw ~ duration` as an item.
    fn duration_item(&mut self, kw: &str) -> Option<Spanned<crate::ast::DurationLit>> {
        let d = self.attempt(|p| p.kw_duration(kw))?;
        Some(self.out.duration(d))
    }

    /// `retry = kw_retry ~ int ~ (kw_delay ~ duration)? ~ (kw_backoff ~ number)?`.
    fn retry(&mut self) -> Found<RetryDecl> {
        let start = self.pos;
        let (count, delay, backoff) = self.attempt(|p| {
            p.kw("retry")?;
            let count = p.then(scan::int)?;
            p.skip();
            let delay = p.attempt(|p| p.kw_duration("delay"));
            p.skip();
            let backoff = p.attempt(|p| {
                p.kw("backoff")?;
                p.then(scan::number)
            });
            Some((count, delay, backoff))
        })?;
        let span = Span::new(start, self.end);
        let Some(count) = self.out.int(count) else {
            return Some(None);
        };
        let delay = delay.map(|d| self.out.duration(d));
        let backoff = match backoff {
            Some(b) => match self.out.number(b) {
                Some(n) => Some(n),
                None => return Some(None),
            },
            None => None,
        };
        Some(Some(RetryDecl {
            count,
            delay,
            backoff,
            span,
        }))
    }

    /// `budget = kw_budget ~ budget_limit ~ (comma ~ budget_limit)*`, a
    /// limit being `number ~ budget_unit`.
    fn budget(&mut self) -> Found<BudgetDecl> {
        let start = self.pos;
        let limit = |p: &mut Self| {
            let amount = p.tok(scan::number)?;
            let unit = p.then(scan::budget_unit)?;
            Some((amount, unit))
        };
        let raw = self.attempt(|p| {
            p.kw("budget")?;
            p.skip();
            let mut all = vec![p.attempt(limit)?];
            all.extend(p.more(|p| p.attempt(limit)));
            Some(all)
        })?;
        let span = Span::new(start, self.end);
        let mut limits = Vec::new();
        for (amount, unit) in raw {
            let Some(n) = self.out.number(amount) else {
                return Some(None);
            };
            let node = match self.out.slice(unit) {
                "usd" => BudgetLimit::Usd(n.node),
                _ => BudgetLimit::Tokens(n.node),
            };
            limits.push(Spanned::new(node, Span::new(amount.start, unit.end)));
        }
        Some(Some(BudgetDecl { limits, span }))
    }

    /// `alert = kw_alert ~ alert_metric ~ alert_op ~ (number | duration)`,
    /// `alert_metric = ident ~ (lparen ~ ident ~ rparen)?`.
    fn alert(&mut self) -> Found<AlertDecl> {
        let start = self.pos;
        let (metric, stage, op, value, is_number) = self.attempt(|p| {
            p.kw("alert")?;
            let metric = p.then(scan::ident)?;
            p.skip();
            let stage = p.attempt(|p| {
                p.tok(|b, i| (b.get(i) == Some(&b'(')).then_some(i + 1))?;
                let stage = p.then(scan::ident)?;
                p.then_punct(b')')?;
                Some(stage)
            });
            let op = p.then(scan::alert_op)?;
            p.skip();
            let (value, is_number) = match p.tok(scan::number) {
                Some(n) => (n, true),
                None => (p.tok(scan::duration)?, false),
            };
            Some((metric, stage, op, value, is_number))
        })?;
        let span = Span::new(start, self.end);
        let metric = self.out.ident(metric);
        let stage = stage.map(|s| self.out.ident(s));
        let op = self.out.bare(op);
        let value = if is_number {
            let Some(n) = self.out.number(value) else {
                return Some(None);
            };
            Spanned::new(AlertValue::Number(n.node), n.span)
        } else {
            let d = self.out.duration(value);
            Spanned::new(AlertValue::Duration(d.node), d.span)
        };
        Some(Some(AlertDecl {
            metric,
            stage,
            op,
            value,
            span,
        }))
    }

    /// `trigger = kw_trigger ~ (kw_cron ~ string | kw_every ~ duration)`.
    fn trigger(&mut self) -> Found<TriggerDecl> {
        let start = self.pos;
        let (value, cron) = self.attempt(|p| {
            p.kw("trigger")?;
            p.skip();
            let cron = p.attempt(|p| {
                p.kw("cron")?;
                p.then(scan::string)
            });
            match cron {
                Some(s) => Some((s, true)),
                None => Some((p.kw_duration("every")?, false)),
            }
        })?;
        let kind = if cron {
            TriggerKind::Cron(self.out.string(value))
        } else {
            TriggerKind::Every(self.out.duration(value))
        };
        Some(Some(TriggerDecl {
            kind,
            span: Span::new(start, self.end),
        }))
    }

    /// `route = kw_on ~ route_on ~ arrow ~ route_target`.
    fn route(&mut self) -> Found<RouteDecl> {
        let start = self.pos;
        let (on, on_span, target) = self.attempt(|p| {
            p.kw("on")?;
            p.skip();
            let on_start = p.pos;
            let on = p.route_on()?;
            let on_span = Span::new(on_start, p.end);
            p.skip();
            p.tok(|b, i| (b.get(i..i + 2) == Some(b"->")).then_some(i + 2))?;
            p.skip();
            let target = p.route_target()?;
            Some((on, on_span, target))
        })?;
        let span = Span::new(start, self.end);
        let on = match on {
            On::Word(w) => w,
            On::Exit(codes) => {
                let mut all = Vec::new();
                for c in codes {
                    let Some(n) = self.out.int(c) else {
                        return Some(None);
                    };
                    all.push(n);
                }
                RouteOn::Exit(all)
            }
            On::Status(s) => RouteOn::Status(self.out.string(s)),
        };
        let target = match target {
            Target::Stage(s) => RouteTargetDecl::Stage(self.out.ident(s)),
            Target::AgainDuration(d) => {
                RouteTargetDecl::Again(ParamOr::Value(self.out.duration(d)))
            }
            Target::AgainParam(s) => RouteTargetDecl::Again(ParamOr::Param(self.out.ident(s))),
        };
        Some(Some(RouteDecl {
            on: Spanned::new(on, on_span),
            target,
            span,
        }))
    }

    /// `route_on = kw_success | kw_failure | kw_timeout | kw_budget
    /// | kw_exit ~ int ~ (comma ~ int)* | kw_status ~ string`.
    fn route_on(&mut self) -> Option<On> {
        let (word, kw) = match self.word() {
            b"success" => (RouteOn::Success, "success"),
            b"failure" => (RouteOn::Failure, "failure"),
            b"timeout" => (RouteOn::Timeout, "timeout"),
            b"budget" => (RouteOn::Budget, "budget"),
            b"exit" => {
                return self.attempt(|p| {
                    p.kw("exit")?;
                    let first = p.then(scan::int)?;
                    let rest = p.more(|p| p.tok(scan::int));
                    Some(On::Exit(std::iter::once(first).chain(rest).collect()))
                })
            }
            b"status" => {
                return self.attempt(|p| {
                    p.kw("status")?;
                    Some(On::Status(p.then(scan::string)?))
                })
            }
            _ => return None,
        };
        self.kw(kw)?;
        Some(On::Word(word))
    }

    /// `route_target = kw_again ~ kw_after ~ (duration | ident) | ident`.
    fn route_target(&mut self) -> Option<Target> {
        let again = self.attempt(|p| {
            p.kw("again")?;
            p.then_kw("after")?;
            p.skip();
            match p.tok(scan::duration) {
                Some(d) => Some(Target::AgainDuration(d)),
                None => Some(Target::AgainParam(p.tok(scan::ident)?)),
            }
        });
        match again {
            Some(t) => Some(t),
            None => Some(Target::Stage(self.tok(scan::ident)?)),
        }
    }
}
