//! Plain words for grammar rules, so syntax errors never show pest rule names.

use super::grammar::Rule;

/// The text of a keyword rule (`kw_run` → `run`).
pub(super) fn keyword(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::kw_use => "use",
        Rule::kw_as => "as",
        Rule::kw_flow => "flow",
        Rule::kw_template => "template",
        Rule::kw_stage => "stage",
        Rule::kw_finally => "finally",
        Rule::kw_param => "param",
        Rule::kw_let => "let",
        Rule::kw_env => "env",
        Rule::kw_secret => "secret",
        Rule::kw_description => "description",
        Rule::kw_timeout => "timeout",
        Rule::kw_concurrency => "concurrency",
        Rule::kw_skip => "skip",
        Rule::kw_if => "if",
        Rule::kw_needs => "needs",
        Rule::kw_run => "run",
        Rule::kw_builtin => "builtin",
        Rule::kw_grace => "grace",
        Rule::kw_idle => "idle",
        Rule::kw_budget => "budget",
        Rule::kw_approval => "approval",
        Rule::kw_retry => "retry",
        Rule::kw_delay => "delay",
        Rule::kw_backoff => "backoff",
        Rule::kw_outputs => "outputs",
        Rule::kw_when => "when",
        Rule::kw_status => "status",
        Rule::kw_max => "max",
        Rule::kw_allow_failure => "allow_failure",
        Rule::kw_ends => "ends",
        Rule::kw_on => "on",
        Rule::kw_again => "again",
        Rule::kw_after => "after",
        Rule::kw_success => "success",
        Rule::kw_failure => "failure",
        Rule::kw_exit => "exit",
        Rule::kw_shell => "shell",
        Rule::kw_optional => "optional",
        Rule::kw_alert => "alert",
        Rule::kw_trigger => "trigger",
        Rule::kw_cron => "cron",
        Rule::kw_every => "every",
        _ => return None,
    })
}

/// The text of a punctuation rule (`lbrace` → `{`).
pub(super) fn punct(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::lbrace => "{",
        Rule::rbrace => "}",
        Rule::lparen => "(",
        Rule::rparen => ")",
        Rule::lbrack => "[",
        Rule::rbrack => "]",
        Rule::colon => ":",
        Rule::comma => ",",
        Rule::dot => ".",
        Rule::equals => "=",
        Rule::arrow => "->",
        _ => return None,
    })
}

/// True for keyword and punctuation pairs, which the AST builder skips.
#[cfg(any(test, feature = "pest-reference"))]
pub(super) fn is_noise(rule: Rule) -> bool {
    keyword(rule).is_some() || punct(rule).is_some()
}

/// Keywords that start a stage item (and nothing at flow level).
pub(super) const STAGE_STARTS: &[&str] = &[
    "needs",
    "run",
    "grace",
    "idle",
    "approval",
    "retry",
    "outputs",
    "when",
    "status",
    "max",
    "allow_failure",
    "ends",
    "on",
    "optional",
];
/// Keywords that start a flow item (and nothing in a stage).
pub(super) const FLOW_STARTS: &[&str] = &[
    "description",
    "param",
    "concurrency",
    "skip",
    "let",
    "secret",
    "stage",
    "finally",
    "alert",
    "trigger",
];
/// Keywords that start an item both in a flow and in a stage.
pub(super) const SHARED_STARTS: &[&str] = &["timeout", "env", "shell", "budget"];
/// Keywords that start a top-level item.
pub(super) const TOP_STARTS: &[&str] = &["use", "flow", "template"];

pub(super) const STAGE_ITEM: &str = "a stage item (`run`, `needs`, `timeout`, `outputs`, `on` …)";
pub(super) const FLOW_ITEM: &str = "a flow item (`stage`, `param`, `let`, `env`, `timeout` …)";
pub(super) const TOP_ITEM: &str = "`use`, `flow` or `template`";

/// What a rule stands for, as a noun phrase ("a duration such as `30s`").
pub(super) fn phrase(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::one_stage_item => STAGE_ITEM,
        Rule::one_flow_item => FLOW_ITEM,
        Rule::one_top_item => TOP_ITEM,
        Rule::ident => "a name",
        Rule::string => "a quoted string",
        Rule::raw_string => "a `\"\"\"` block",
        Rule::duration => "a duration such as `30s`",
        Rule::int => "a whole number",
        Rule::number | Rule::float => "a number",
        Rule::boolean => "`true` or `false`",
        Rule::literal => "a value (a string, number, `true`/`false`, duration or list)",
        Rule::list => "a list `[…]`",
        Rule::expr => "an expression",
        Rule::type_name => "a type such as `str`, `int` or `list<str>`",
        Rule::route_on => {
            "an outcome (`success`, `failure`, `timeout`, `budget`, `exit N` or `status \"S\"`)"
        }
        Rule::budget_limit => "a limit such as `5 usd` or `200000 tokens`",
        Rule::budget_unit => "`usd` or `tokens`",
        Rule::route_target => "a stage name or `again after DURATION`",
        Rule::use_std => "`std`",
        Rule::bare_path => "a file path or glob",
        Rule::template_call | Rule::tpl_path => "a template such as `std.agent(skill: \"plan\")`",
        Rule::targ => "an argument `name: value`",
        Rule::tparam => "a parameter `name: type`",
        Rule::EOI => "the end of the file",
        Rule::alert_op => "a comparison (`<`, `<=`, `>` or `>=`)",
        Rule::alert_metric => "a metric such as `success_rate` or `p95(STAGE)`",
        _ => return None,
    })
}

/// Joins phrases as "a, b or c".
pub(super) fn one_of(mut items: Vec<String>) -> String {
    items.dedup();
    match items.len() {
        0 => "something else".to_string(),
        1 => items.remove(0),
        n => format!("{} or {}", items[..n - 1].join(", "), items[n - 1]),
    }
}
