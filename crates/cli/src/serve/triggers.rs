//! Triggers fire: at each tick of a served flow's `trigger cron` / `trigger
//! every`, a run of it is submitted (params at their defaults; description
//! `trigger tick <time>`). Overlap is the flow's `concurrency` (the run
//! waits in the queue) or its `skip if`.
//!
//! Missed ticks are skipped: the next tick is always computed from now — at
//! start-up (ticks that fell while the server was down do not run), after a
//! reload, and after a tick fired late (one run, never a burst of catch-up
//! runs). A trigger is known by its flow and its text, so editing it
//! reschedules it and reloading an unchanged flow does not.

use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;

use super::api::now_ms;
use super::Server;
use flow_runtime::store::submission::{Submission, Submitted};

/// A trigger: its flow and its text.
type Key = (String, String);

/// Runs forever (a task of the server).
pub async fn run(server: Arc<Server>) {
    let mut next: HashMap<Key, DateTime<Utc>> = HashMap::new();
    loop {
        let catalog = server.catalog();
        let now = utc_now();
        let mut wanted = HashMap::new();
        for (name, served) in &catalog.flows {
            for t in &served.pipeline.triggers {
                let key = (name.clone(), format!("{t:?}"));
                let at = next.get(&key).copied().or_else(|| t.next_after(now));
                if let Some(at) = at {
                    wanted.insert(key, at);
                }
            }
        }
        next = wanted;
        let Some(earliest) = next.values().min().copied() else {
            server.reloaded.notified().await;
            continue;
        };
        let wait = (earliest - utc_now()).to_std().unwrap_or_default();
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = server.reloaded.notified() => continue,
        }
        let now = utc_now();
        for ((flow, text), at) in &mut next {
            if *at > now {
                continue;
            }
            fire(&server, flow, *at).await;
            let trigger = catalog.flows.get(flow).and_then(|s| {
                s.pipeline
                    .triggers
                    .iter()
                    .find(|t| format!("{t:?}") == *text)
            });
            // Never again: a far time keeps the entry (and the loop) quiet.
            *at = trigger
                .and_then(|t| t.next_after(now))
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
        }
    }
}

/// Submits one run of `flow` for the tick at `at`.
async fn fire(server: &Arc<Server>, flow: &str, at: DateTime<Utc>) {
    let catalog = server.catalog();
    let Some(served) = catalog.flows.get(flow) else {
        return;
    };
    let params = serde_json::Map::new();
    if let Err(e) = crate::params::from_json(&served.pipeline, &params) {
        eprintln!("flow serve: trigger of flow `{flow}` cannot submit a run: {e}");
        return;
    }
    let sub = Submission {
        flow: flow.to_string(),
        file: served.file.display().to_string(),
        key: None,
        description: Some(format!(
            "trigger tick {}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        )),
        params,
        parent: None,
        submitted_ms: now_ms(),
    };
    let s = server.clone();
    match tokio::task::spawn_blocking(move || s.store.submit(&sub)).await {
        Ok(Ok(Submitted::New(_))) => server.wake.notify_one(),
        Ok(Ok(Submitted::Duplicate(_))) => {}
        Ok(Err(e)) => eprintln!("flow serve: trigger of flow `{flow}`: {e}"),
        Err(e) => eprintln!("flow serve: trigger of flow `{flow}`: {e}"),
    }
}

/// Now, in UTC (chrono is built without its clock feature).
fn utc_now() -> DateTime<Utc> {
    std::time::SystemTime::now().into()
}
