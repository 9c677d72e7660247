//! The dispatcher: starts queued runs and resumes interrupted ones, each as
//! a child `flow` process.
//!
//! Order: runs to resume first (submitted runs found interrupted — those
//! the server's previous life left, or whose `flow` died — and those asked
//! through the API),
//! then the queue, oldest submission first. At most `--jobs` children at once; a
//! flow with `concurrency N` gets at most N children, and a submission of a
//! flow at its limit waits without holding up other flows (the child's own
//! admission, `store::admission`, stays the authority: a run started by
//! `flow run` meanwhile makes the child wait in `pending`). A submission
//! whose flow is not served (missing, or broken since) waits until it is.
//!
//! An interrupted run is resumed automatically at once; if it is found
//! interrupted again (its `flow resume` could not begin, or died), it is
//! retried after [`RETRY_AFTER`] (10 s, 1 min, 5 min, 30 min), then left
//! for `POST …/resume` or the next server start: a run that cannot be
//! resumed (its flow changed) must not be retried forever.
//!
//! A child is spawned from a runtime worker thread (never a blocking-pool
//! thread, which exits when idle: `PR_SET_PDEATHSIG` follows the forking
//! thread), in its own process group (a Ctrl-C at the server's terminal is
//! not a cancel of its runs) and dies with the server.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

use super::Server;
use flow_runtime::store::{submission, RunState};

/// Where a child's own output goes, in its run's folder.
pub const CHILD_LOG: &str = "serve.log";

/// How often the queue is looked at without a wake-up (a run finished by
/// another process, a flow fixed).
const POLL: Duration = Duration::from_secs(2);

/// The waits before the 2nd, 3rd… automatic resume of a run in one server
/// life; after the last, it is not resumed automatically again.
pub const RETRY_AFTER: [Duration; 4] = [
    Duration::from_secs(10),
    Duration::from_secs(60),
    Duration::from_secs(300),
    Duration::from_secs(1800),
];

/// Automatic resumes of one run in this server's life.
#[derive(Debug, Clone, Copy)]
struct Retry {
    /// Resumes started so far.
    done: usize,
    /// When the last one was started.
    at: tokio::time::Instant,
}

impl Retry {
    /// Whether an interrupted run with this record may be resumed `now`.
    fn due(&self, now: tokio::time::Instant) -> bool {
        RETRY_AFTER
            .get(self.done - 1)
            .is_some_and(|wait| now.duration_since(self.at) >= *wait)
    }
}

/// A child and what it runs.
struct Child {
    id: String,
    flow: String,
}

/// Runs forever (a task of the server).
pub async fn run(server: Arc<Server>) {
    let mut resumes: VecDeque<String> = VecDeque::new();
    // Runs resumed automatically in this server's life (see RETRY_AFTER).
    let mut retries: HashMap<String, Retry> = HashMap::new();
    let mut children: JoinSet<(Child, std::io::Result<std::process::ExitStatus>)> = JoinSet::new();
    let mut live: HashSet<String> = HashSet::new();
    let mut per_flow: HashMap<String, u32> = HashMap::new();
    loop {
        {
            let mut asked = server.resumes.lock().unwrap_or_else(|p| p.into_inner());
            resumes.extend(asked.drain(..));
        }
        // Interrupted submitted runs: those a previous server left (seen
        // once their old process is gone), or whose `flow` died since.
        let now = tokio::time::Instant::now();
        for id in interrupted_runs(&server).await {
            if live.contains(&id) || resumes.contains(&id) {
                continue;
            }
            let retry = retries.get(&id).copied();
            if retry.is_some_and(|r| !r.due(now)) {
                continue;
            }
            let done = retry.map_or(0, |r| r.done);
            if done == 0 {
                eprintln!("flow serve: resuming interrupted run {id}");
            } else {
                eprintln!("flow serve: run {id} is interrupted again: resuming it (retry {done})");
            }
            retries.insert(
                id.clone(),
                Retry {
                    done: done + 1,
                    at: now,
                },
            );
            resumes.push_back(id);
        }
        // Resumes first.
        while children.len() < server.jobs {
            let Some(id) = resumes.pop_front() else {
                break;
            };
            if live.contains(&id) {
                continue;
            }
            let flow = flow_of(&server, &id);
            match spawn(&server, &id, None) {
                Ok(child) => {
                    live.insert(id.clone());
                    *per_flow.entry(flow.clone()).or_default() += 1;
                    children.spawn(wait(child, Child { id, flow }));
                }
                Err(e) => eprintln!("flow serve: cannot resume run {id}: {e}"),
            }
        }
        // Then the queue.
        if children.len() < server.jobs {
            let queued = {
                let s = server.clone();
                tokio::task::spawn_blocking(move || s.store.queued())
                    .await
                    .unwrap_or_else(|e| Err(std::io::Error::other(e)))
            };
            let queued = queued.unwrap_or_else(|e| {
                eprintln!("flow serve: cannot read the queue: {e}");
                Vec::new()
            });
            let catalog = server.catalog();
            let mut blocked: HashSet<String> = HashSet::new();
            for entry in queued {
                if children.len() >= server.jobs {
                    break;
                }
                if live.contains(&entry.id) || blocked.contains(&entry.flow) {
                    continue;
                }
                let Some(served) = catalog.flows.get(&entry.flow) else {
                    blocked.insert(entry.flow.clone());
                    continue;
                };
                let limit = served.pipeline.concurrency.unwrap_or(u32::MAX);
                if per_flow.get(&entry.flow).copied().unwrap_or(0) >= limit {
                    blocked.insert(entry.flow.clone());
                    continue;
                }
                if !entry.root.is_dir() {
                    // Its folder was removed behind the server's back: the
                    // row is all that is left of it.
                    eprintln!("flow serve: run {} is gone; forgetting it", entry.id);
                    let (s, id) = (server.clone(), entry.id.clone());
                    let _ = tokio::task::spawn_blocking(move || s.store.forget(&id)).await;
                    continue;
                }
                match spawn(&server, &entry.id, Some(&served.file)) {
                    Ok(child) => {
                        live.insert(entry.id.clone());
                        *per_flow.entry(entry.flow.clone()).or_default() += 1;
                        let c = Child {
                            id: entry.id,
                            flow: entry.flow,
                        };
                        children.spawn(wait(child, c));
                    }
                    Err(e) => {
                        eprintln!("flow serve: cannot start run {}: {e}", entry.id);
                        blocked.insert(entry.flow.clone());
                    }
                }
            }
        }
        tokio::select! {
            () = server.wake.notified() => {}
            Some(done) = children.join_next() => {
                if let Ok((child, status)) = done {
                    live.remove(&child.id);
                    if let Some(n) = per_flow.get_mut(&child.flow) {
                        *n = n.saturating_sub(1);
                    }
                    ended(&server, &child, status).await;
                }
            }
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// The submitted runs that are interrupted now.
async fn interrupted_runs(server: &Arc<Server>) -> Vec<String> {
    let s = server.clone();
    match tokio::task::spawn_blocking(move || s.store.interrupted_submissions()).await {
        Ok(Ok(ids)) => ids,
        Ok(Err(e)) => {
            eprintln!("flow serve: cannot list interrupted runs: {e}");
            Vec::new()
        }
        Err(e) => {
            eprintln!("flow serve: cannot list interrupted runs: {e}");
            Vec::new()
        }
    }
}

/// The flow of run `id` (for `concurrency` counting), from its submission.
fn flow_of(server: &Server, id: &str) -> String {
    submission::read(&server.store.run_root(id)).map_or_else(|_| String::new(), |s| s.flow)
}

/// Starts `flow run FILE --submitted ID` (a queued run), or `flow resume
/// ID` when `file` is `None`.
fn spawn(server: &Server, id: &str, file: Option<&Path>) -> std::io::Result<tokio::process::Child> {
    let root = server.store.run_root(id);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(root.join(CHILD_LOG))?;
    let mut cmd = tokio::process::Command::new(&server.exe);
    match file {
        Some(file) => {
            cmd.arg("run").arg(file).arg("--submitted").arg(id);
        }
        None => {
            cmd.arg("resume").arg(id);
        }
    }
    if let Some(file) = &server.secrets_file {
        cmd.arg("--secrets-file").arg(file);
    }
    cmd.arg("--runs-dir")
        .arg(&server.base)
        .arg("--quiet")
        .env("FLOW_SERVER", &server.url)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0);
    match &server.token {
        Some(token) => cmd.env("FLOW_SERVER_TOKEN", token),
        None => cmd.env_remove("FLOW_SERVER_TOKEN"),
    };
    let parent = std::process::id();
    // SAFETY: between fork and exec only async-signal-safe calls are made
    // (prctl, getppid, _exit).
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                .map_err(std::io::Error::from)?;
            // The server died before the line above: die now.
            if nix::unistd::getppid().as_raw() != i32::try_from(parent).unwrap_or(0) {
                nix::libc::_exit(1);
            }
            Ok(())
        });
    }
    cmd.spawn()
}

async fn wait(
    mut child: tokio::process::Child,
    what: Child,
) -> (Child, std::io::Result<std::process::ExitStatus>) {
    let status = child.wait().await;
    (what, status)
}

/// After a child ended: a submission its `flow run` could not begin (no
/// journal: a missing secret, a flow that no longer checks) is finished
/// `failed` with the child's last words, so it leaves the queue and frees
/// its key; any other run's row is brought up to date.
async fn ended(
    server: &Arc<Server>,
    child: &Child,
    status: std::io::Result<std::process::ExitStatus>,
) {
    let s = server.clone();
    let id = child.id.clone();
    let result = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let root = s.store.run_root(&id);
        let state = s.store.get(&id)?.map(|e| e.state);
        if state == Some(RunState::Queued) && !root.join("journal.jsonl").exists() {
            let said = std::fs::read_to_string(root.join(CHILD_LOG)).unwrap_or_default();
            let last = said
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            let reason = match &status {
                Ok(st) => format!("the run could not start ({st}): {last}"),
                Err(e) => format!("the run could not start: {e}"),
            };
            s.store.finish_unstarted(&id, "failed", &reason)?;
        }
        Ok(())
    })
    .await;
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("flow serve: run {}: {e}", child.id),
        Err(e) => eprintln!("flow serve: run {}: {e}", child.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupted_run_is_retried_after_growing_waits_then_left() {
        let t0 = tokio::time::Instant::now();
        let first = Retry { done: 1, at: t0 };
        assert!(!first.due(t0 + Duration::from_secs(9)));
        assert!(first.due(t0 + Duration::from_secs(10)));
        let second = Retry { done: 2, at: t0 };
        assert!(!second.due(t0 + Duration::from_secs(59)));
        assert!(second.due(t0 + Duration::from_secs(60)));
        let last = Retry { done: 4, at: t0 };
        assert!(last.due(t0 + Duration::from_secs(1800)));
        // Five automatic resumes, then only an asked one.
        let spent = Retry { done: 5, at: t0 };
        assert!(!spent.due(t0 + Duration::from_secs(100_000)));
    }
}
