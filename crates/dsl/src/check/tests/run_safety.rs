//! What makes a checked flow safe to run: the `shell` setting, optional
//! outputs, names that would replace `$PATH` & co. (F0028) and bounds on
//! durations, retries and backoff (F0007, F0022), so that nothing
//! `flow check` accepts can panic `flow run` (issue 6, §5, §6, §8).

use super::{check, codes, expect, flow};
use crate::diagnostic::Code;
use crate::ir::{Pipeline, DEFAULT_SHELL, MAX_DURATION};

fn pipeline(text: &str) -> Pipeline {
    let c = check(text);
    assert!(!c.has_errors(), "{:#?}", c.diagnostics);
    c.pipeline.expect("a pipeline")
}

fn words(ws: &[&str]) -> Vec<String> {
    ws.iter().map(|w| w.to_string()).collect()
}

#[test]
fn the_shell_is_the_stages_else_its_templates_else_the_flows_else_bash_with_errexit() {
    let p = pipeline(
        "template py { shell \"python3 -u\"  run \"print(1)\" }\n\
         flow f {\n  timeout 1h\n  shell \"sh -eu\"\n\
           stage own { shell \"bash\"  run \"x\" }\n\
           stage from_template: py() { }\n\
           stage overrides: py() { shell \"sh\" }\n\
           stage flows { run \"x\" }\n}\n",
    );
    let shell = |name: &str| p.stage_named(name).unwrap().shell.clone();
    assert_eq!(shell("own"), words(DEFAULT_SHELL));
    assert_eq!(
        DEFAULT_SHELL,
        ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
    );
    assert_eq!(shell("from_template"), words(&["python3", "-u"]));
    assert_eq!(shell("overrides"), words(&["sh", "-e"]));
    assert_eq!(shell("flows"), words(&["sh", "-eu"]));
    let p = pipeline(&flow("  stage a { run \"x\" }"));
    assert_eq!(p.stages[0].shell, words(DEFAULT_SHELL));
}

#[test]
fn a_shell_that_is_no_command_line_is_an_error() {
    expect(
        &flow("  stage a { shell \"\"  run \"x\" }"),
        Code::BadValue,
        "\"\"",
        "`shell` is empty",
    );
    expect(
        &flow("  shell \"  \"\n  stage a { run \"x\" }"),
        Code::BadValue,
        "\"  \"",
        "`shell` is empty",
    );
    expect(
        &flow("  stage a { shell \"bash -c 'a b'\"  run \"x\" }"),
        Code::BadValue,
        "\"bash -c 'a b'\"",
        "has quotes",
    );
    expect(
        &flow("  stage a { shell \"bash {0}\"  run \"x\" }"),
        Code::BadValue,
        "\"bash {0}\"",
        "`{0}`",
    );
    expect(
        &flow("  stage a { shell \"sh\"  shell \"bash\"  run \"x\" }"),
        Code::Duplicate,
        "\"bash\"",
        "`shell` is set twice",
    );
    expect(
        &flow("  shell \"sh\"\n  shell \"bash\"\n  stage a { run \"x\" }"),
        Code::Duplicate,
        "\"bash\"",
        "`shell` is set twice",
    );
}

#[test]
fn optional_outputs_are_kept_apart_and_checked_like_outputs() {
    let p = pipeline(
        "template t { run \"x\"  optional outputs core.*\n  outputs a.txt }\n\
         flow f {\n  timeout 1h\n  stage s: t() { optional outputs \"logs/*.log\", b.txt  outputs c.txt }\n}\n",
    );
    let s = &p.stages[0];
    assert_eq!(s.outputs, words(&["a.txt", "c.txt"]));
    assert_eq!(
        s.optional_outputs,
        words(&["core.*", "logs/*.log", "b.txt"])
    );
    expect(
        &flow("  stage a { run \"x\"  optional outputs ../up.txt }"),
        Code::OutputEscapes,
        "../up.txt",
        "climbs out",
    );
    let clash = flow(
        "  stage a { run \"x\"  optional outputs r.txt }\n  stage b { run \"x\"  outputs r.txt }\n  stage c { needs a, b  run \"x\" }",
    );
    expect(&clash, Code::OutputClash, "b", "both output `r.txt`");
}

#[test]
fn names_that_would_replace_path_and_co_are_errors() {
    let d = expect(
        &flow("  param path: path = \".\"\n  stage a { run \"x\" }"),
        Code::ReservedName,
        "path",
        "param `path` would replace `$PATH`",
    );
    assert_eq!(d.labels[0].message, "exported as `$PATH`");
    assert!(d.help.unwrap().contains("`param repo_path`"));
    expect(
        &flow("  let home = \"/tmp\"\n  stage a { run \"x\" }"),
        Code::ReservedName,
        "home",
        "let `home` would replace `$HOME`",
    );
    let d = expect(
        &flow("  env PATH = \"/bin\"\n  stage a { run \"x\" }"),
        Code::ReservedName,
        "PATH",
        "env `PATH` would replace `$PATH`",
    );
    assert!(d.help.unwrap().contains("export PATH="));
    expect(
        &flow("  secret LD_PRELOAD\n  stage a { run \"x\" }"),
        Code::ReservedName,
        "LD_PRELOAD",
        "`$LD_PRELOAD`",
    );
    expect(
        &flow("  stage a { env FLOW_STAGE = \"x\"\n  run \"x\" }"),
        Code::ReservedName,
        "FLOW_STAGE",
        "`$FLOW_STAGE`",
    );
    expect(
        &flow("  stage a { env BASH_ENV = \"/tmp/evil\"\n  run \"x\" }"),
        Code::ReservedName,
        "BASH_ENV",
        "runs the file it names",
    );
    // A template parameter is exported upper-cased; a `skill` one also as NAME_FILE.
    expect(
        "template t(ifs: str = \"\") { run \"x\" }\n",
        Code::ReservedName,
        "ifs",
        "template parameter `ifs` would replace `$IFS`",
    );
    let d = expect(
        "template t(ld: skill) { run \"x\" }\n",
        Code::ReservedName,
        "ld",
        "`$LD_FILE`",
    );
    assert_eq!(d.labels[0].message, "exported as `$LD_FILE`");
    // Env names keep their case: `env path` is `$path`, not `$PATH`.
    let c = check(&flow(
        "  env path = \"x\"\n  param repo_path: path = \".\"\n  param tmpdir: str = \"\"\n  stage a { run \"x\" }",
    ));
    assert_eq!(codes(&c), vec![]);
}

#[test]
fn durations_that_would_overflow_the_clock_are_errors_not_panics() {
    // Issue 6: `timeout 999999999999d` panicked `flow run` (Instant overflow).
    expect(
        "flow f {\n  timeout 999999999999d\n  stage a { run \"x\" }\n}\n",
        Code::BadDuration,
        "999999999999d",
        "too long (at most 365 days)",
    );
    for item in [
        "timeout 366d",
        "grace 400d",
        "retry 1 delay 9999d",
        "max 2  on failure -> again after 500d",
    ] {
        let c = check(&flow(&format!("  stage a {{ run \"x\"  {item} }}")));
        assert_eq!(codes(&c), vec![Code::BadDuration], "{item}");
    }
    let p = pipeline(&flow(
        "  stage a { run \"x\"  timeout 365d  grace 365d  retry 1000 delay 365d backoff 10 }",
    ));
    assert_eq!(p.stages[0].timeout, Some(MAX_DURATION));
}

#[test]
fn retry_counts_and_backoff_are_bounded() {
    // Issue 6: `retry 3 backoff 1e20` panicked `flow run` (Duration overflow).
    expect(
        &flow("  stage a { run \"x\"  retry 3 backoff 1e20 }"),
        Code::BadValue,
        "1e20",
        "must be a number from 1.0 to 10",
    );
    expect(
        &flow("  stage a { run \"x\"  retry 3 backoff 10.5 }"),
        Code::BadValue,
        "10.5",
        "backoff",
    );
    expect(
        &flow("  stage a { run \"x\"  retry 1001 }"),
        Code::BadValue,
        "1001",
        "`retry 1001` is out of range (0 to 1000)",
    );
}
