//! Issue 6: Ctrl-C was ignored while a queued run waited for the project
//! lock (a blocking `flock` on `runs.lock` on a thread nobody listened
//! beside). Here another process's transaction holds the run index's write
//! lock (and the old `runs.lock`) for seconds while a run is queued; SIGTERM
//! must still end the run within a second. Alone in its binary because it
//! signals the test process itself.

mod common;

use common::Flow;
use flow_runtime::run::{run, RunOptions};
use flow_runtime::scheduler::RunOutcome;
use flow_runtime::store::RunDirStore;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The text of every journal under `<base>/runs/`.
fn journals(base: &Path) -> Vec<String> {
    let Ok(dirs) = std::fs::read_dir(base.join("runs")) else {
        return Vec::new();
    };
    dirs.filter_map(Result::ok)
        .map(|d| std::fs::read_to_string(d.path().join("journal.jsonl")).unwrap_or_default())
        .collect()
}

async fn wait_for(base: &Path, what: &str, n: usize) {
    let t = Instant::now();
    while journals(base).iter().filter(|j| j.contains(what)).count() < n {
        assert!(t.elapsed() < Duration::from_secs(10), "no {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_sigterm_cancels_a_queued_run_while_the_index_is_locked() {
    let tmp = tempfile::tempdir().unwrap();
    let mut p = Flow::new("f").stage("nap", "sleep 4", |_| {}).build();
    p.concurrency = Some(1);
    let base = tmp.path().to_path_buf();
    let opts = |handle_signals| RunOptions {
        base_dir: base.clone(),
        quiet: true,
        handle_signals,
        store: Arc::new(RunDirStore::new(&base)),
        ..RunOptions::default()
    };
    let holder = {
        let (p, o) = (p.clone(), opts(false));
        tokio::spawn(async move { run(&p, o).await })
    };
    wait_for(&base, "run_admitted", 1).await;
    let waiter = {
        let (p, o) = (p.clone(), opts(true));
        tokio::spawn(async move { run(&p, o).await })
    };
    wait_for(&base, "run_queued", 1).await;

    // Another process's long write transaction, and the old project lock.
    let db = rusqlite::Connection::open(base.join("flow.db")).unwrap();
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    let old_lock = std::fs::File::create(base.join("runs.lock")).unwrap();
    let old_lock = nix::fcntl::Flock::lock(old_lock, nix::fcntl::FlockArg::LockExclusive).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let signalled = Instant::now();
    kill(Pid::this(), Signal::SIGTERM).unwrap();
    wait_for(&base, "\"outcome\":\"cancelled\"", 1).await;
    let acted = signalled.elapsed();
    // Keep the locks a little longer, then let everything finish.
    tokio::time::sleep(Duration::from_millis(200)).await;
    db.execute_batch("ROLLBACK").unwrap();
    drop(old_lock);
    assert!(
        acted < Duration::from_secs(1),
        "SIGTERM acted after {acted:?}"
    );
    let r = waiter.await.unwrap().unwrap();
    assert_eq!(r.outcome, RunOutcome::Cancelled);
    assert_eq!(
        holder.await.unwrap().unwrap().outcome,
        RunOutcome::Succeeded
    );
}
