//! `flow cancel RUN`: cancels a run driven by another `flow` process, as
//! Ctrl-C would (SIGTERM to that process: running stages are signalled,
//! `finally` stages run, the run ends `cancelled`), then waits for it to
//! end.
//!
//! Only a live run is signalled, and only through its lock: the pid comes
//! from the lock file while the lock is seen held, never from the journal,
//! so a dead run's reused pid is never signalled.

use super::history::Base;
use flow_runtime::runlock::RunLock;
use flow_runtime::store::RunHistory;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::time::Duration;

/// How often the end of the run is checked.
const POLL: Duration = Duration::from_millis(100);

/// Arguments of `flow cancel`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A run id, a unique prefix of one, or `last`.
    pub run: String,
    #[command(flatten)]
    pub base: Base,
}

/// Cancels the run. Exit 0 once it ended; 1 when it is not alive (already
/// finished or interrupted) or cannot be signalled; 2 when RUN names no run.
pub fn run(args: &Args) -> u8 {
    if let Some(code) = cancel_queued(args) {
        return code;
    }
    let root = match args.base.resolve(&args.run) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let id = root
        .file_name()
        .map_or_else(|| args.run.clone(), |n| n.to_string_lossy().into_owned());
    let Some(pid) = RunLock::holder(&root) else {
        let why = match RunHistory::read(&root) {
            Ok(h) => match h.outcome {
                Some(outcome) => format!("it already finished ({outcome})"),
                None => "it is interrupted: no `flow` process drives it".into(),
            },
            Err(_) => "no `flow` process drives it".into(),
        };
        eprintln!("error: run {id} is not running: {why}");
        return 1;
    };
    let Ok(raw) = i32::try_from(pid) else {
        eprintln!("error: run {id}: bad pid {pid} in its lock file");
        return 1;
    };
    if let Err(e) = kill(Pid::from_raw(raw), Signal::SIGTERM) {
        eprintln!("error: cannot signal the `flow` process of run {id} (pid {pid}): {e}");
        return 1;
    }
    eprintln!("cancelling run {id} (SIGTERM to flow, pid {pid}); waiting for it to end");
    while RunLock::is_held(&root) {
        std::thread::sleep(POLL);
    }
    match RunHistory::read(&root).ok().and_then(|h| h.outcome) {
        Some(outcome) => eprintln!("run {id} {outcome}"),
        None => eprintln!("run {id} ended without finishing its journal (interrupted)"),
    }
    0
}

/// A run queued in `flow serve` (named by its full id: it has no journal
/// yet) is finished `cancelled` at once, under its lock. `None` when RUN
/// is not such a run, or it started meanwhile (then it is cancelled as a
/// live run).
fn cancel_queued(args: &Args) -> Option<u8> {
    let base = args.base.dir();
    let root = base.join("runs").join(&args.run);
    let queued = !args.run.contains('/')
        && root.join(flow_runtime::store::submission::FILE).is_file()
        && !root.join("journal.jsonl").exists();
    if !queued {
        return None;
    }
    let store = flow_runtime::store::RunDirStore::new(base);
    match store.finish_unstarted(&args.run, "cancelled", "cancelled while queued") {
        Ok(true) => {
            eprintln!("run {} cancelled (it was queued, not started)", args.run);
            Some(0)
        }
        Ok(false) => None,
        Err(e) => {
            eprintln!("error: run {}: {e}", args.run);
            Some(1)
        }
    }
}
