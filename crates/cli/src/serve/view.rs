//! The JSON the API gives for runs and flows (docs/api.md).

use flow_runtime::store::{RunEntry, RunHistory, RunState};
use serde_json::{json, Value};

use super::catalog::Catalog;

/// `(state, outcome)`: `finished` with its outcome word, else the state.
fn state_outcome(state: &RunState) -> (&str, Option<&str>) {
    match state {
        RunState::Finished(outcome) => ("finished", Some(outcome.as_str())),
        other => (other.word(), None),
    }
}

/// One run in a list: `id, flow, key, description (and description_html,
/// see `markdown`), state, outcome, parent, submitted_ms, started_ms,
/// finished_ms, params`.
pub fn summary(entry: &RunEntry) -> Value {
    let (state, outcome) = state_outcome(&entry.state);
    json!({
        "id": entry.id,
        "flow": entry.flow,
        "key": entry.key,
        "description": entry.description,
        "description_html": entry.description.as_deref().map(super::markdown::to_html),
        "state": state,
        "outcome": outcome,
        "parent": entry.parent,
        "params": entry.params,
        "submitted_ms": entry.submitted_ms,
        "started_ms": entry.started_ms,
        "finished_ms": entry.finished_ms,
    })
}

/// One run in a list with details: its summary and `reason`,
/// `duration_ms`, `usage`, `links` from its journal.
pub fn brief(entry: &RunEntry, history: &RunHistory) -> Value {
    let mut out = summary(entry);
    if let Some(o) = out.as_object_mut() {
        o.insert("reason".into(), json!(history.reason));
        o.insert("duration_ms".into(), json!(history.duration_ms));
        o.insert("usage".into(), json!(history.usage));
        o.insert("links".into(), json!(history.links));
    }
    out
}

/// One run in full: its summary, then from its journal (once it started)
/// `reason`, `duration_ms`, `usage`, `links` and `stages` (each with
/// outcome, reason, visits, duration, attempts with exit code / status /
/// usage, artifacts and links).
pub fn detail(entry: &RunEntry, history: Option<&RunHistory>) -> Value {
    let mut out = summary(entry);
    let fields = match history {
        Some(h) => json!({
            "reason": h.reason,
            "duration_ms": h.duration_ms,
            "usage": h.usage,
            "links": h.links,
            "stages": h.stages.iter().map(|s| {
                let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
                // Paths on the server's disk say nothing to a client: the
                // log is fetched through the API.
                if let Some(attempts) = v["attempts"].as_array_mut() {
                    for a in attempts {
                        if let Some(o) = a.as_object_mut() {
                            o.remove("log");
                        }
                    }
                }
                v
            }).collect::<Vec<_>>(),
        }),
        None => json!({ "stages": [], "links": {} }),
    };
    if let (Some(o), Value::Object(more)) = (out.as_object_mut(), fields) {
        o.extend(more);
    }
    out
}

/// A trigger: `{"cron": TEXT}` or `{"every_s": SECONDS}`, with `next_ms`,
/// its next tick (Unix ms; null when it never fires again).
fn trigger(t: &flow_dsl::ir::Trigger) -> Value {
    let now: chrono::DateTime<chrono::Utc> = std::time::SystemTime::now().into();
    let next = t.next_after(now).map(|at| at.timestamp_millis());
    match t {
        flow_dsl::ir::Trigger::Cron(c) => json!({ "cron": c.text(), "next_ms": next }),
        flow_dsl::ir::Trigger::Every(d) => json!({ "every_s": d.as_secs(), "next_ms": next }),
    }
}

/// `GET /api/flows`: served flows (name, file, description, params,
/// triggers, concurrency, stages and the graph's edges) and broken files
/// with their diagnostics.
pub fn flows(catalog: &Catalog) -> Value {
    let flows: Vec<Value> = catalog
        .flows
        .iter()
        .map(|(name, served)| {
            let p = &served.pipeline;
            json!({
                "name": name,
                "file": served.file,
                "description": p.description,
                "description_html": p.description.as_deref().map(super::markdown::to_html),
                "concurrency": p.concurrency,
                "params": p.params.iter().map(|param| json!({
                    "name": param.name,
                    "type": param.ty.to_string(),
                    "default": param.default.as_ref().map(flow_dsl::ir::Value::to_env),
                })).collect::<Vec<_>>(),
                "triggers": p.triggers.iter().map(trigger).collect::<Vec<_>>(),
                "stages": p.stages.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
                "edges": p.graph.edge_indices().filter_map(|e| {
                    let (a, b) = p.graph.edge_endpoints(e)?;
                    Some(json!({
                        "from": p.stage(p.graph[a]).name,
                        "to": p.stage(p.graph[b]).name,
                        "kind": p.graph[e].to_string(),
                    }))
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    let broken: Vec<Value> = catalog
        .broken
        .iter()
        .map(|b| json!({ "file": b.file, "diagnostics": b.diagnostics }))
        .collect();
    json!({ "flows": flows, "broken": broken })
}
