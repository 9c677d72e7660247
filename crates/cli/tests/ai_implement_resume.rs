//! `flow resume` on the main job: `flow` is killed while the agent works on
//! `implement`; the resumed run keeps setup, prepare and plan, redoes implement, and
//! opens the branch named with the original run's nonce.

mod support;

use std::time::Duration;
use support::{eventually, process_alive, read_journal, root_file, Sandbox};

#[test]
fn a_run_killed_during_implement_resumes_on_the_same_branch() {
    let sandbox = Sandbox::new();
    let pids = sandbox.tmp.path().join("agent-pids");
    let calls = sandbox.tmp.path().join("agent-calls.log");
    let agent = root_file("tests/fixtures/fake-agent");
    let pipeline = root_file("pipelines/ai-implement.flow");
    let run_args = |cmd: &mut std::process::Command| {
        cmd.arg("run")
            .arg(&pipeline)
            .arg("--repo")
            .arg(&sandbox.repo)
            .args(["--issue", "1", "--quiet", "--agent"])
            .arg(&agent)
            .env("FAKE_AGENT_PIDS", &pids)
            .env("FAKE_AGENT_LOG", &calls);
    };
    // `hang`: implement starts sleeps and waits; kill `flow` then.
    let mut cmd = sandbox.flow_command("hang");
    run_args(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    assert!(eventually(Duration::from_secs(60), || pids.exists()));
    child.kill().unwrap();
    child.wait().unwrap();
    // No supervisor kills the orphaned agent yet: do it, as it would.
    for pid in std::fs::read_to_string(&pids).unwrap().split_whitespace() {
        let pid: i32 = pid.parse().unwrap();
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        assert!(eventually(Duration::from_secs(10), || !process_alive(
            pid as u32
        )));
    }

    let out = sandbox
        .flow_command("happy")
        .args(["resume", "last", "--quiet"])
        .env("FAKE_AGENT_LOG", &calls)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let runs: Vec<_> = std::fs::read_dir(sandbox.cwd.join(".flow/runs"))
        .unwrap()
        .collect();
    assert_eq!(runs.len(), 1, "the same run, no new one");
    let run = runs[0].as_ref().unwrap().path();
    let journal = read_journal(&run.join("journal.jsonl"));
    let started: Vec<String> = journal
        .iter()
        .filter(|e| e["event"] == "stage_started")
        .map(|e| format!("{} {}", e["stage"].as_str().unwrap(), e["attempt"]))
        .collect();
    assert_eq!(
        started,
        [
            "setup 1",
            "prepare 1",
            "plan 1",
            "implement 1",
            "implement 2",
            "unit_test 1",
            "self_verify 1",
            "create_pr 1",
            "cleanup 1"
        ],
        "setup, prepare and plan ran once; the lost implement attempt ran again"
    );
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap(),
        "plan plan hang\nimplement implement hang\nimplement implement happy\nself_verify code-review happy\n"
    );
    // The branch is the one setup named after the original nonce, and it
    // has the fix.
    let branch = std::fs::read_to_string(run.join("artifacts/setup/branch.txt")).unwrap();
    let branch = branch.trim();
    let nonce = journal[0]["nonce"].as_str().unwrap();
    assert!(branch.ends_with(nonce), "{branch} / {nonce}");
    let listed = sandbox.git(&["branch", "--list", branch]);
    assert!(listed.contains(branch), "branch {branch} kept: {listed:?}");
}
