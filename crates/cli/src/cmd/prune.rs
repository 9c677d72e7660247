//! `flow prune [--older-than D] [--keep N]`: removes old runs (their
//! directories and index rows). Never an active run: each run is removed
//! while `prune` holds its lock, so a run that is alive (or resumed
//! meanwhile) is skipped.

use super::history::{now_ms, Base, Out};
use flow_runtime::runlock::RunLock;
use flow_runtime::store::RunDirStore;
use std::time::Duration;

/// Arguments of `flow prune`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("which").required(true).multiple(true).args(["older_than", "keep"])))]
pub struct Args {
    /// Remove only runs started longer ago than this (`7d`, `12h`, `30m`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub older_than: Option<Duration>,
    /// Keep the N most recent runs (of every flow), whatever their age.
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,
    #[command(flatten)]
    pub base: Base,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("`{text}`: {e} (try 7d, 12h, 30m)"))
}

/// Removes the runs. Prints each removed id on stdout and a count on
/// stderr. Exit 0; 2 when the runs cannot be listed; 1 when a run could not
/// be removed.
pub fn run(args: &Args) -> u8 {
    let store = RunDirStore::new(args.base.dir());
    let mut runs = match store.list(None, None) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "error: reading the runs in {}: {e}",
                args.base.dir().display()
            );
            return crate::EXIT_USAGE;
        }
    };
    runs.reverse(); // newest first
    let cutoff = args
        .older_than
        .map(|d| now_ms().saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)));
    let mut out = Out::new();
    let (mut removed, mut active, mut failed) = (0usize, 0usize, 0usize);
    for r in runs.iter().skip(args.keep.unwrap_or(0)) {
        if cutoff.is_some_and(|c| r.started_ms.is_none_or(|s| s >= c)) {
            continue;
        }
        // A submission waiting in `flow serve`'s queue is active: never dropped.
        if r.state == flow_runtime::store::RunState::Queued {
            active += 1;
            continue;
        }
        // Held while the directory goes: nobody can resume it meanwhile.
        let lock = match RunLock::acquire(&r.root) {
            Ok(Some(lock)) => lock,
            Ok(None) => {
                active += 1;
                continue;
            }
            Err(e) => {
                eprintln!("error: {}: {e}", r.root.display());
                failed += 1;
                continue;
            }
        };
        let gone = std::fs::remove_dir_all(&r.root);
        drop(lock);
        match gone.and_then(|()| store.forget(&r.id)) {
            Ok(()) => {
                removed += 1;
                out.line(&r.id);
            }
            Err(e) => {
                eprintln!("error: removing run {}: {e}", r.id);
                failed += 1;
            }
        }
    }
    out.flush();
    let s = |n: usize| if n == 1 { "" } else { "s" };
    let mut summary = format!("removed {removed} run{}", s(removed));
    if active > 0 {
        summary.push_str(&format!("; kept {active} active run{}", s(active)));
    }
    eprintln!("{summary}");
    if failed > 0 {
        1
    } else {
        0
    }
}
