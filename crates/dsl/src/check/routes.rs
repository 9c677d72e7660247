//! What a stage's routes leave possible, under the scheduler's matching
//! rules (`flow_runtime::scheduler::routing`): routes that can never fire
//! (F0108) and a `retry` that no outcome can use (F0107).
//!
//! The rules, as the scheduler applies them to one finished attempt: a
//! matching `status` route wins; then an `exit N` route naming the exit
//! code (exit 0 included: it then takes the success); then, for exit 0,
//! the `on success` routes; any other outcome is retried while retries
//! last, then goes to `on timeout` (a timed-out attempt) or `on failure`.
//! Every route of the winning kind fires.

use super::expand::Expanded;
use crate::ast::RouteOn;
use crate::diagnostic::{Code, Diagnostic};

/// Runs the route checks of one expanded stage; `flow_budget`: the flow
/// has a `budget`.
pub(crate) fn check(stage: &Expanded, flow_budget: bool, diags: &mut Vec<Diagnostic>) {
    if stage.decl.finally {
        // Routes on a finally stage are an error already (F0024).
        return;
    }
    dead_routes(stage, flow_budget, diags);
    retry_never_used(stage, diags);
}

/// `routed[c]`: some `exit` route of `stage` names exit code `c`, for every
/// code a process can end with (0-255). A `status`-routed outcome depends on
/// what the script prints, so only exit codes can be known to be covered.
fn routed_exits(stage: &Expanded) -> [bool; 256] {
    let mut routed = [false; 256];
    for route in &stage.routes {
        if let RouteOn::Exit(codes) = &route.node.on.node {
            for code in codes {
                if let Ok(i) = usize::try_from(code.node) {
                    if let Some(slot) = routed.get_mut(i) {
                        *slot = true;
                    }
                }
            }
        }
    }
    routed
}

/// F0108: `on success` when `on exit 0` takes every exit 0 first, and
/// `on timeout` on a stage whose attempts have no timeout. (The flow's
/// `timeout` does not count: when it expires the run stops, and a stopped
/// run fires no route.) `on budget` on a stage with no `budget` in a flow
/// with none. `on failure` is never dead: a crash (bash killed by
/// a signal, or not started) is a failure no `exit` route can name.
fn dead_routes(stage: &Expanded, flow_budget: bool, diags: &mut Vec<Diagnostic>) {
    let name = &stage.decl.name.node;
    let exit_zero = stage.routes.iter().find(
        |r| matches!(&r.node.on.node, RouteOn::Exit(codes) if codes.iter().any(|c| c.node == 0)),
    );
    for route in &stage.routes {
        let on = &route.node.on;
        match on.node {
            RouteOn::Success => {
                let Some(zero) = exit_zero else { continue };
                let mut d = Diagnostic::new(
                    Code::DeadRoute,
                    route.src,
                    route.node.span,
                    format!(
                        "this `on success` route of `{name}` can never fire: `on exit 0` takes every success first"
                    ),
                )
                .label("never fires")
                .help("an `exit` route is more specific than `on success`: remove this route, or take 0 out of the `exit` route so that `on success` gets exit 0");
                if zero.src == route.src {
                    d = d.secondary(zero.node.on.span, "takes exit 0");
                }
                diags.push(d);
            }
            RouteOn::Timeout if stage.timeout.is_none() && stage.idle.is_none() => diags.push(
                Diagnostic::new(
                    Code::DeadRoute,
                    route.src,
                    route.node.span,
                    format!("`on timeout` can never fire: stage `{name}` has no timeout"),
                )
                .label("never fires")
                .help(format!(
                    "add `timeout 10m` or `idle 5m` (any duration) to `{name}`; the flow's own timeout stops the whole run, which fires no routes"
                )),
            ),
            RouteOn::Budget if stage.budget.is_none() && !flow_budget => diags.push(
                Diagnostic::new(
                    Code::DeadRoute,
                    route.src,
                    route.node.span,
                    format!("`on budget` can never fire: neither stage `{name}` nor the flow has a budget"),
                )
                .label("never fires")
                .help(format!(
                    "add `budget 5 usd` or `budget 200000 tokens` (any amount) to `{name}` or to the flow"
                )),
            ),
            _ => {}
        }
    }
}

/// F0107: `retry` on a stage whose every failing exit code (1-255) is named
/// by an `exit` route (routed exits are never retried) and which has no
/// timeout of its own. Retries could then follow only a crash: bash itself
/// killed by a signal from outside, or failing to start. `on failure` and
/// `on timeout` routes do not count: they apply after the retries.
/// `retry 0` asks for no retries and is not reported.
fn retry_never_used(stage: &Expanded, diags: &mut Vec<Diagnostic>) {
    let Some(retry) = stage.retry else { return };
    if retry.node.count.node < 1 || stage.timeout.is_some() {
        return;
    }
    let all_failures_routed = routed_exits(stage)[1..].iter().all(|&routed| routed);
    if !all_failures_routed {
        return;
    }
    let name = &stage.decl.name.node;
    diags.push(
        Diagnostic::new(
            Code::RetryNeverUsed,
            retry.src,
            retry.node.span,
            format!(
                "`retry` of `{name}` can only follow a crash: `exit` routes take every failing exit code (1-255), and routed exits are never retried"
            ),
        )
        .label("never retries a failing exit")
        .help("remove `retry`, or stop routing the exit codes you want retried"),
    );
}
