//! Fault injection: SIGKILL `flow` at random instants of a run with
//! parallel stages, a retry, a route loop bounded by `max` and a `finally`
//! stage, then `flow resume` to the end (resuming again if a resume is
//! killed too). Every run must end with the outcomes of an uninterrupted
//! run, no stage visit that had succeeded may run again, and no process
//! may be left.
//!
//! `FLOW_FAULT_KILLS=100` raises the number of kills (default 10, for CI);
//! `FLOW_FAULT_SEED=N` replays a sequence of instants.

mod support;

use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::eventually;

const FLOW: &str = r#"flow faults {
  stage prep { run "trace; sleep 0.05" }
  stage left { needs prep  run "trace; sleep 0.2" }
  stage right { needs prep  run "trace; sleep 0.1" }
  stage flaky {
    needs left, right
    retry 2
    run """
      trace
      sleep 0.05
      if [ ! -e "$FLOW_WORKSPACE/flaky-failed" ]; then touch "$FLOW_WORKSPACE/flaky-failed"; exit 1; fi
    """
  }
  stage start_loop { needs flaky  run "trace"  on success -> check }
  stage check { run "trace; sleep 0.05; exit 1"  on failure -> fix }
  stage fix {
    max 2
    run "trace; sleep 0.05"
    on success -> check
    on failure -> give_up
  }
  stage give_up { run "trace" }
  finally cleanup { run "trace; sleep 0.05" }
}
"#;

/// What `trace` in [`FLOW`] stands for: one line "stage visit attempt".
const TRACE: &str = "echo $FLOW_STAGE $FLOW_VISIT $FLOW_ATTEMPT >> $FLOW_WORKSPACE/trace";

fn flow(dir: &Path, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_flow"))
        .env("FLOW_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("flow starts")
}

/// A small deterministic generator (xorshift64*), so a failing sequence
/// can be replayed with its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, max: Duration) -> Duration {
        let ms = max.as_millis().max(1) as u64;
        Duration::from_millis(self.next() % ms)
    }
}

fn the_run(dir: &Path) -> Option<PathBuf> {
    let mut runs = std::fs::read_dir(dir.join(".flow/runs")).ok()?;
    runs.next().and_then(|e| e.ok()).map(|e| e.path())
}

fn journal(run: &Path) -> Vec<Value> {
    flow_runtime::journal::read_journal(&run.join("journal.jsonl")).unwrap_or_default()
}

/// Live processes working in a folder under `root`: the stage processes
/// of the run (found by their working directory, so even an attempt whose
/// `stage_started` line never got written is seen).
fn processes_under(root: &Path) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            support::process_alive(*pid)
                && std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|c| c.starts_with(root))
        })
        .collect()
}

/// The final outcome of every stage (last settle or skip) and of the run.
fn outcomes(events: &[Value]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in events {
        match e["event"].as_str().unwrap_or_default() {
            "stage_settled" => {
                out.insert(
                    e["stage"].as_str().unwrap().to_string(),
                    e["outcome"].to_string(),
                );
            }
            "stage_skipped" => {
                out.insert(e["stage"].as_str().unwrap().to_string(), "skipped".into());
            }
            "run_finished" => {
                out.insert("(run)".into(), e["outcome"].to_string());
            }
            _ => {}
        }
    }
    out
}

/// (stage, visit) → the attempt that succeeded, for every visit of an
/// ordinary stage that settled succeeded (`finally` stages run again at
/// the end of each resumed run, by design).
fn succeeded_visits(events: &[Value]) -> HashMap<(String, u64), u64> {
    let mut last: HashMap<String, (u64, u64)> = HashMap::new();
    let mut out = HashMap::new();
    for e in events {
        let stage = e["stage"].as_str().unwrap_or_default().to_string();
        match e["event"].as_str().unwrap_or_default() {
            "stage_finished" => {
                let (v, a) = (e["visit"].as_u64().unwrap(), e["attempt"].as_u64().unwrap());
                last.insert(stage, (v, a));
            }
            "stage_settled" if e["outcome"] == "succeeded" && stage != "cleanup" => {
                let (v, a) = last[&stage];
                out.insert((stage, v), a);
            }
            _ => {}
        }
    }
    out
}

/// Trace lines as (stage, visit, attempt).
fn trace(run: &Path) -> Vec<(String, u64, u64)> {
    std::fs::read_to_string(run.join("workspace/trace"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect()
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.flow"), FLOW.replace("trace", TRACE)).unwrap();
    dir
}

#[test]
fn sigkill_at_random_instants_then_resume_ends_like_an_uninterrupted_run() {
    let kills: usize = std::env::var("FLOW_FAULT_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let seed: u64 = std::env::var("FLOW_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("FLOW_FAULT_SEED={seed}");
    let mut rng = Rng(seed);

    // The reference: one uninterrupted run.
    let reference = setup();
    let began = Instant::now();
    let status = flow(reference.path(), &["run", "f.flow", "--quiet"])
        .wait()
        .unwrap();
    let span = began.elapsed();
    assert!(status.success());
    let reference_run = the_run(reference.path()).unwrap();
    let want = outcomes(&journal(&reference_run));
    assert_eq!(want["(run)"], "\"succeeded\"", "{want:?}");
    // Every attempt traced: prep left right flaky×2 start_loop, check×3,
    // fix×2, give_up, cleanup.
    assert_eq!(
        trace(&reference_run).len(),
        13,
        "{:?}",
        trace(&reference_run)
    );

    let (mut killed, mut before_start, mut resumes) = (0, 0, 0);
    while killed < kills {
        let dir = setup();
        // The run, then possibly its first resume, each killed at a random
        // instant of an uninterrupted run's span.
        let mut args: Vec<&str> = vec!["run", "f.flow", "--quiet"];
        let mut rounds = 0;
        loop {
            let mut child = flow(dir.path(), &args);
            std::thread::sleep(rng.below(span + span / 5));
            let done = child.try_wait().unwrap().is_some();
            if !done {
                child.kill().unwrap();
                killed += 1;
            }
            child.wait().unwrap();
            // No supervisor yet: wait for the orphaned stage processes.
            let root = dir.path().join(".flow/runs");
            assert!(
                eventually(Duration::from_secs(20), || processes_under(&root)
                    .is_empty()),
                "stage processes of a killed flow never ended"
            );
            rounds += 1;
            args = vec!["resume", "last", "--quiet"];
            if done || rounds == 2 || rng.next() & 1 == 0 {
                break;
            }
        }
        let Some(run) = the_run(dir.path()) else {
            before_start += 1;
            continue;
        };
        if journal(&run)
            .first()
            .is_none_or(|e| e["event"] != "run_started")
        {
            // Killed before its first line: nothing ran, nothing to resume.
            before_start += 1;
            continue;
        }
        // Resume to the end.
        let mut finished = false;
        for _ in 0..5 {
            let status = flow(dir.path(), &["resume", "last", "--quiet"])
                .wait()
                .unwrap();
            resumes += 1;
            if status.success() {
                finished = true;
                break;
            }
        }
        let events = journal(&run);
        assert!(
            finished,
            "never resumed to the end (seed {seed}): {events:#?}"
        );
        assert_eq!(outcomes(&events), want, "seed {seed}");

        // No visit that had succeeded ran again; no attempt number was
        // used twice; `max 2` counted the visits of every process.
        let lines = trace(&run);
        for ((stage, visit), attempt) in succeeded_visits(&events) {
            let later: Vec<_> = lines
                .iter()
                .filter(|(s, v, a)| *s == stage && *v == visit && *a > attempt)
                .collect();
            assert!(
                later.is_empty(),
                "{stage} visit {visit} succeeded in attempt {attempt}, then ran again: {later:?} (seed {seed})"
            );
        }
        let mut seen = HashSet::new();
        for line in &lines {
            assert!(
                seen.insert(line.clone()),
                "attempt ran twice: {line:?} (seed {seed})"
            );
        }
        assert!(
            lines.iter().all(|(s, v, _)| s != "fix" || *v <= 2),
            "{lines:?}"
        );
        assert!(
            eventually(Duration::from_secs(2), || processes_under(&run).is_empty()),
            "processes left after the run ended (seed {seed})"
        );
    }
    eprintln!(
        "{killed} kills, {before_start} before the run's first journal line, {resumes} resumes"
    );
}
