//! The example program runs its flow: the builtin stage's output reaches
//! the script stage, and a builtin failure fails the run with its code.

use std::process::Command;

fn example(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_flow-embed"))
        .args(args)
        .output()
        .expect("the example runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn the_example_runs_its_builtin_then_its_script() {
    let runs = tempfile::tempdir().unwrap();
    let dir = runs.path().to_str().unwrap();
    let (code, out) = example(&["7", dir]);
    assert_eq!(code, 0, "{out}");
    for line in [
        "fetch: attempt 1 started",
        "fetch: succeeded",
        "count: succeeded",
        "run succeeded",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    // The script stage counted the words the builtin wrote.
    let run = std::fs::read_dir(runs.path().join("runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let words = std::fs::read_to_string(run.join("artifacts/count/words.txt")).unwrap();
    assert_eq!(words.trim(), "10");
}

#[test]
fn a_failing_builtin_fails_the_run_after_its_retries() {
    let runs = tempfile::tempdir().unwrap();
    let (code, out) = example(&["404", runs.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("fetch: finished (exit 4)"), "{out}");
    assert!(
        out.contains("fetch: attempt 3 started"),
        "retry 2: three attempts\n{out}"
    );
    assert!(out.contains("run failed"), "{out}");
}
