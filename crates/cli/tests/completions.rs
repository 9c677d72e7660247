//! `flow completions bash|zsh|fish` (issue 9): the scripts call `flow` back,
//! and `flow` completes its subcommands and, after `flow run FILE`, that
//! flow's own params. Bash is driven for real (the script sourced, its
//! completion function called as bash's `complete -F` would); zsh and fish
//! through the same request their scripts send, and for real when installed.

mod support;

use std::process::{Command, Output};
use support::repo_root;

fn flow() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_flow"));
    c.current_dir(repo_root());
    c
}

/// What `flow` answers to `<shell>`'s completion request for `words`
/// (the last word is the one being completed).
fn request(shell: &str, words: &[&str]) -> String {
    let out = flow()
        .env("FLOW_COMPLETE", shell)
        .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
        .arg("--")
        .args(words)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn script(shell: &str) -> String {
    let out = flow().args(["completions", shell]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_bash_script_completes_a_flows_params_after_run_file() {
    let script = script("bash");
    let run = |words: &[&str]| -> Output {
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let cword = words.len() - 1;
        let program = format!(
            "source /dev/stdin <<'EOF'\n{script}\nEOF\n\
             COMP_WORDS=({}); COMP_CWORD={cword}; COMP_TYPE=9\n\
             _clap_complete_flow flow '{}' '{}'\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            quoted.join(" "),
            words[cword],
            words[cword - 1],
        );
        Command::new("bash")
            .current_dir(repo_root())
            .args(["--norc", "--noprofile", "-c", &program])
            .output()
            .unwrap()
    };
    let out = run(&["flow", "run", "pipelines/ai-implement.flow", "--is"]);
    let reply = String::from_utf8_lossy(&out.stdout);
    assert_eq!(reply.trim(), "--issue", "{out:?}");
    let out = run(&["flow", "run", "pipelines/ai-implement.flow", "--t"]);
    let reply = String::from_utf8_lossy(&out.stdout);
    let mut got: Vec<&str> = reply.lines().collect();
    got.sort();
    assert_eq!(got, ["--test_command", "--tracker"], "{out:?}");
    // Subcommands, and the file after `run`.
    let out = run(&["flow", "fm"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "fmt",
        "{out:?}"
    );
    let out = run(&["flow", "run", "pipelines/ai-impl"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "pipelines/ai-implement.flow",
        "{out:?}"
    );
}

#[test]
fn every_shell_gets_the_params_with_their_types() {
    let words = ["flow", "run", "pipelines/ai-implement.flow", "--is"];
    assert_eq!(request("bash", &words).trim(), "--issue");
    assert_eq!(request("fish", &words).trim(), "--issue\tint (required)");
    assert_eq!(request("zsh", &words).trim(), "--issue:int (required)");
    // All the options of the flow: params and run options.
    let all = request("bash", &["flow", "run", "pipelines/hello.flow", "--"]);
    assert!(all.contains("--jobs"), "{all}");
    // A file that does not exist or does not check offers nothing.
    assert_eq!(request("bash", &["flow", "run", "nope.flow", "--"]), "");
}

#[test]
fn zsh_and_fish_scripts_call_flow_back() {
    for shell in ["zsh", "fish"] {
        let s = script(shell);
        assert!(s.contains("FLOW_COMPLETE"), "{shell}: {s}");
        assert!(s.contains(env!("CARGO_BIN_EXE_flow")), "{shell}: {s}");
    }
    // With the shell installed, its parser must accept the script.
    for (shell, check) in [("zsh", "-n"), ("fish", "--no-execute")] {
        let Ok(out) = Command::new(shell)
            .arg(check)
            .arg("/dev/stdin")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin
                    .take()
                    .unwrap()
                    .write_all(script(shell).as_bytes())?;
                c.wait_with_output()
            })
        else {
            eprintln!("{shell} not installed: its script's syntax is not checked");
            continue;
        };
        assert!(out.status.success(), "{shell}: {out:?}");
    }
}

#[test]
fn fish_completes_a_flows_params_for_real_when_installed() {
    let program = format!(
        "{} completions fish | source; complete -C 'flow run pipelines/ai-implement.flow --is'",
        env!("CARGO_BIN_EXE_flow")
    );
    let Ok(out) = Command::new("fish")
        .current_dir(repo_root())
        .args(["--no-config", "-c", &program])
        .output()
    else {
        eprintln!("fish not installed: not driven for real");
        return;
    };
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "--issue\tint (required)",
        "{out:?}"
    );
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = flow().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
