//! Outcome matching: what one finished attempt means for its stage (success,
//! a route, a retry, an unhandled failure). Most specific route wins:
//! `status "S"` > `exit N` > `timeout` > `failure` / `success`.

use super::AttemptResult;
use flow_dsl::ir::{Route, RouteOn, Stage};

/// What a finished attempt means.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Verdict<'a> {
    /// Exit 0 and no status route matched: the visit succeeded; these
    /// routes (`on success`, or an `on exit 0`) fire, possibly none.
    Succeeded {
        /// Routes to fire.
        routes: Vec<&'a Route>,
    },
    /// A route took it: the visit failed, handled; these routes fire.
    /// A `status` route always lands here, even after exit 0: it branches
    /// away from the normal path, so stages that `need` this one must not
    /// start.
    Handled {
        /// Why it failed (`exit 2`, `timeout`, `status "BLOCKED"` …).
        reason: String,
        /// Routes to fire.
        routes: Vec<&'a Route>,
    },
    /// A transient failure with retries left: run another attempt.
    Retry {
        /// Why the attempt failed.
        reason: String,
    },
    /// No route matched and no retry is left.
    Unhandled {
        /// Why it failed.
        reason: String,
    },
}

/// True when the attempt succeeded: exit 0, no error, not timed out, not
/// over budget.
pub(super) fn is_success(result: &AttemptResult) -> bool {
    result.exit_code == Some(0)
        && result.error.is_none()
        && !result.timed_out
        && !result.over_budget
}

/// Why a non-successful attempt failed, in words.
pub(super) fn failure_reason(result: &AttemptResult) -> String {
    if let Some(error) = &result.error {
        error.clone()
    } else if result.over_budget {
        "over budget".to_string()
    } else if result.idle {
        "idle timeout (no output)".to_string()
    } else if result.timed_out {
        "timeout".to_string()
    } else {
        match result.exit_code {
            Some(code) => format!("exit {code}"),
            None => "killed by a signal".to_string(),
        }
    }
}

/// The routes of `stage` whose outcome satisfies `pred`, in source order.
fn routes_where(stage: &Stage, pred: impl Fn(&RouteOn) -> bool) -> Vec<&Route> {
    stage.routes.iter().filter(|r| pred(&r.on)).collect()
}

/// Classifies one finished attempt of `stage`. `may_retry` is false when
/// the retries are used up (or the run is stopping).
pub(super) fn classify<'a>(
    stage: &'a Stage,
    result: &AttemptResult,
    may_retry: bool,
) -> Verdict<'a> {
    let success = is_success(result);

    // Over budget: its own outcome, never retried (more attempts would
    // only spend more), whatever the attempt said.
    if result.over_budget {
        let reason = failure_reason(result);
        for on in [RouteOn::Budget, RouteOn::Failure] {
            let routes = routes_where(stage, |o| *o == on);
            if !routes.is_empty() {
                return Verdict::Handled { reason, routes };
            }
        }
        return Verdict::Unhandled { reason };
    }

    if let Some(status) = &result.status {
        let routes = routes_where(stage, |on| matches!(on, RouteOn::Status(s) if s == status));
        if !routes.is_empty() {
            // An approval stage's status is a person's decision.
            let what = if stage.approval.is_some() {
                "decision"
            } else {
                "status"
            };
            return Verdict::Handled {
                reason: format!("{what} {status:?}"),
                routes,
            };
        }
    }
    if let Some(code) = result.exit_code {
        let routes = routes_where(
            stage,
            |on| matches!(on, RouteOn::Exit(codes) if codes.contains(&code)),
        );
        if !routes.is_empty() {
            // A routed exit is never retried.
            return if success {
                Verdict::Succeeded { routes }
            } else {
                Verdict::Handled {
                    reason: failure_reason(result),
                    routes,
                }
            };
        }
    }
    if success {
        return Verdict::Succeeded {
            routes: routes_where(stage, |on| *on == RouteOn::Success),
        };
    }

    let reason = failure_reason(result);
    if may_retry {
        return Verdict::Retry { reason };
    }
    if result.timed_out {
        let routes = routes_where(stage, |on| *on == RouteOn::Timeout);
        if !routes.is_empty() {
            return Verdict::Handled { reason, routes };
        }
    }
    let routes = routes_where(stage, |on| *on == RouteOn::Failure);
    if !routes.is_empty() {
        return Verdict::Handled { reason, routes };
    }
    Verdict::Unhandled { reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_dsl::ir::{Retry, RouteTarget, StageId};
    use std::time::Duration;

    fn stage(routes: Vec<RouteOn>) -> Stage {
        Stage {
            id: StageId(0),
            name: "s".into(),
            finally: false,
            needs: vec![],
            script: String::new(),
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
            routes: routes
                .into_iter()
                .enumerate()
                .map(|(i, on)| Route {
                    on,
                    target: RouteTarget::Stage(StageId(i + 1)),
                })
                .collect(),
            route_target: false,
            library: None,
        }
    }

    fn exit(code: i32) -> AttemptResult {
        AttemptResult {
            exit_code: Some(code),
            ..Default::default()
        }
    }

    fn picked(v: &Verdict<'_>) -> Vec<RouteOn> {
        match v {
            Verdict::Succeeded { routes } | Verdict::Handled { routes, .. } => {
                routes.iter().map(|r| r.on.clone()).collect()
            }
            _ => vec![],
        }
    }

    #[test]
    fn status_route_beats_exit_route_and_success() {
        let s = stage(vec![
            RouteOn::Success,
            RouteOn::Exit(vec![0]),
            RouteOn::Status("BLOCKED".into()),
        ]);
        let r = AttemptResult {
            status: Some("BLOCKED".into()),
            ..exit(0)
        };
        let v = classify(&s, &r, true);
        assert!(matches!(v, Verdict::Handled { .. }));
        assert_eq!(picked(&v), vec![RouteOn::Status("BLOCKED".into())]);
    }

    #[test]
    fn exit_route_beats_timeout_and_failure_and_is_not_retried() {
        let s = stage(vec![
            RouteOn::Failure,
            RouteOn::Timeout,
            RouteOn::Exit(vec![2, 3]),
        ]);
        let v = classify(&s, &exit(3), true);
        assert_eq!(picked(&v), vec![RouteOn::Exit(vec![2, 3])]);
        assert_eq!(
            v,
            Verdict::Handled {
                reason: "exit 3".into(),
                routes: vec![&s.routes[2]]
            }
        );
    }

    #[test]
    fn timeout_route_beats_failure_after_retries() {
        let s = stage(vec![RouteOn::Failure, RouteOn::Timeout]);
        let r = AttemptResult {
            timed_out: true,
            ..Default::default()
        };
        assert_eq!(
            classify(&s, &r, true),
            Verdict::Retry {
                reason: "timeout".into()
            }
        );
        assert_eq!(picked(&classify(&s, &r, false)), vec![RouteOn::Timeout]);
    }

    #[test]
    fn failure_route_matches_any_other_non_success() {
        let s = stage(vec![RouteOn::Failure, RouteOn::Success]);
        let r = AttemptResult {
            error: Some("spawn failed".into()),
            ..exit(0)
        };
        let v = classify(&s, &r, false);
        assert_eq!(
            v,
            Verdict::Handled {
                reason: "spawn failed".into(),
                routes: vec![&s.routes[0]]
            }
        );
    }

    #[test]
    fn success_fires_success_routes_only() {
        let s = stage(vec![RouteOn::Failure, RouteOn::Success]);
        assert_eq!(
            picked(&classify(&s, &exit(0), true)),
            vec![RouteOn::Success]
        );
        assert_eq!(
            classify(&stage(vec![]), &exit(0), true),
            Verdict::Succeeded { routes: vec![] }
        );
    }

    #[test]
    fn unmatched_failure_is_unhandled_once_retries_are_used() {
        let s = stage(vec![RouteOn::Success]);
        assert_eq!(
            classify(&s, &exit(1), false),
            Verdict::Unhandled {
                reason: "exit 1".into()
            }
        );
        let killed = AttemptResult::default();
        assert_eq!(
            classify(&s, &killed, false),
            Verdict::Unhandled {
                reason: "killed by a signal".into()
            }
        );
    }
}
