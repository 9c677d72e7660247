//! `flow logs RUN [STAGE] [--follow]`: the logs of a run's attempts, in the
//! order they started; `--follow` keeps printing what they write (and new
//! attempts) until the run ends.

use super::history::{Base, Out};
use flow_runtime::runlock::RunLock;
use flow_runtime::store::{AttemptHistory, RunHistory};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often `--follow` looks for new output.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// Arguments of `flow logs`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A run id, a unique prefix of one, or `last`.
    pub run: String,
    /// Only this stage's attempts.
    pub stage: Option<String>,
    /// Keep printing until the run ends.
    #[arg(long, short)]
    pub follow: bool,
    #[command(flatten)]
    pub base: Base,
}

/// One log being printed: where it is and how much was printed.
struct Tail {
    stage: String,
    visit: u32,
    attempt: u32,
    path: PathBuf,
    printed: u64,
}

/// Prints the logs. Exit 0; 2 when RUN names no run, or when STAGE has no
/// attempt in a run that has ended.
pub fn run(args: &Args) -> u8 {
    let root = match args.base.resolve(&args.run) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let mut out = Out::new();
    let mut tails: Vec<Tail> = Vec::new();
    let mut last_shown: Option<usize> = None;
    loop {
        // Read liveness before the journal: output written before the run
        // ended is then always printed by the pass below.
        let alive = args.follow && RunLock::is_held(&root);
        let history = match RunHistory::read(&root) {
            Ok(h) => h,
            Err(e) => {
                eprintln!("error: reading {}: {e}", root.display());
                return crate::EXIT_USAGE;
            }
        };
        for a in attempts(&history, args.stage.as_deref()) {
            let (stage, visit, attempt) = (a.0.as_str(), a.1.visit, a.1.attempt);
            if !tails
                .iter()
                .any(|t| t.stage == stage && t.visit == visit && t.attempt == attempt)
            {
                tails.push(Tail {
                    stage: stage.to_string(),
                    visit,
                    attempt,
                    path: a.1.log.clone(),
                    printed: 0,
                });
            }
        }
        let one = args.stage.is_some() && tails.len() == 1 && !args.follow;
        for (i, tail) in tails.iter_mut().enumerate() {
            let Some(bytes) = new_bytes(&tail.path, tail.printed) else {
                continue;
            };
            if bytes.is_empty() {
                continue;
            }
            if !one && last_shown != Some(i) {
                let header = format!(
                    "==> {} (visit {}, attempt {}) <==",
                    tail.stage, tail.visit, tail.attempt
                );
                if !out.line(&header) {
                    return 0;
                }
            }
            last_shown = Some(i);
            tail.printed += bytes.len() as u64;
            if !out.bytes(&bytes) {
                return 0;
            }
            if !bytes.ends_with(b"\n") && !alive && !out.bytes(b"\n") {
                return 0;
            }
        }
        if !out.flush() {
            return 0;
        }
        if !alive {
            break;
        }
        std::thread::sleep(FOLLOW_POLL);
    }
    if let (Some(stage), true) = (&args.stage, tails.is_empty()) {
        eprintln!("error: run {} has no attempt of stage `{stage}`", args.run);
        return crate::EXIT_USAGE;
    }
    0
}

/// The attempts to print, with their stage, in the order they started.
fn attempts<'h>(h: &'h RunHistory, only: Option<&str>) -> Vec<(&'h String, &'h AttemptHistory)> {
    let mut all: Vec<(&String, &AttemptHistory)> = h
        .stages
        .iter()
        .filter(|s| only.is_none_or(|o| s.name == o))
        .flat_map(|s| s.attempts.iter().map(move |a| (&s.name, a)))
        .collect();
    // RFC 3339 times of one clock sort as text; never-started attempts last.
    all.sort_by(|a, b| match (&a.1.started, &b.1.started) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    all
}

/// What `path` holds past `from` (`None` if it cannot be read yet).
fn new_bytes(path: &Path, from: u64) -> Option<Vec<u8>> {
    let mut file = std::fs::File::open(path).ok()?;
    file.seek(SeekFrom::Start(from)).ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    Some(bytes)
}
