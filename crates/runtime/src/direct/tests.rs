use super::*;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::Command;

fn shell() -> Vec<String> {
    flow_dsl::ir::default_shell()
}

fn words(script: &str) -> Option<Vec<String>> {
    simple_command(&shell(), script).map(|c| c.words)
}

#[test]
fn one_plain_command_qualifies() {
    assert_eq!(words("true"), Some(vec!["true".into()]));
    assert_eq!(
        words("  make test -j4\n"),
        Some(vec!["make".into(), "test".into(), "-j4".into()])
    );
    assert_eq!(
        words("/usr/bin/env\tA=1 x,y:z@w+v%u"),
        Some(vec![
            "/usr/bin/env".into(),
            "A=1".into(),
            "x,y:z@w+v%u".into()
        ])
    );
    assert_eq!(words("false"), Some(vec!["false".into()]));
}

#[test]
fn anything_bash_would_interpret_does_not() {
    for script in [
        "",
        "echo hi",
        "true --help",
        "false x",
        "cd /",
        "A=1 make",
        "%1",
        "if",
        "time make",
        "ls *.rs",
        "ls ?",
        "cat [ab]",
        "echo $HOME",
        "echo ~",
        "a | b",
        "a; b",
        "a && b",
        "a > f",
        "a < f",
        "a &",
        "make # build",
        "echo 'q'",
        "echo \"q\"",
        "echo \\x",
        "echo {a,b}",
        "echo `x`",
        "a\nb",
        "a\r",
        "grüß",
        "(a)",
        "!a",
        "a^b",
    ] {
        assert_eq!(words(script), None, "{script:?}");
    }
    assert_eq!(simple_command(&["sh".into(), "-e".into()], "true"), None);
    assert!(
        simple_command(&[], "true").is_some(),
        "empty shell is the default"
    );
}

fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
    pairs.iter().map(|(k, v)| (k.into(), v.into())).collect()
}

fn cmd(script: &str) -> SimpleCommand {
    simple_command(&shell(), script).unwrap()
}

#[test]
fn variables_bash_rewrites_leave_it_to_bash() {
    let dir = tempfile::tempdir().unwrap();
    let base = [("PATH", "/usr/bin:/bin")];
    assert!(plan(&cmd("true"), &env(&base), dir.path()).is_some());
    for special in [
        "IFS",
        "PS4",
        "SHELLOPTS",
        "BASH_ENV",
        "BASH_FUNC_f%%",
        "BASHOPTS",
        "ENV",
    ] {
        let mut e = env(&base);
        e.push((special.into(), "x".into()));
        assert_eq!(plan(&cmd("true"), &e, dir.path()), None, "{special}");
    }
    assert_eq!(
        plan(&cmd("true"), &env(&[("HOME", "/")]), dir.path()),
        None,
        "no PATH"
    );
    let e = env(&[("PATH", "/usr/bin:/bin"), ("SHLVL", "999")]);
    assert_eq!(plan(&cmd("true"), &e, dir.path()), None, "SHLVL 1000 warns");
    assert_eq!(
        plan(&cmd("no-such-program-x"), &env(&base), dir.path()),
        None
    );
}

#[test]
fn lookup_follows_path_order_and_skips_what_cannot_run() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::create_dir_all(a.join("tool")).unwrap(); // a folder is skipped
    std::fs::write(b.join("tool"), "#!/bin/sh\n").unwrap(); // not executable yet
    let path = format!("{}:{}", a.display(), b.display());
    assert_eq!(lookup("tool", OsStr::new(&path), dir.path()), None);
    std::fs::set_permissions(b.join("tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (file, underscore) = lookup("tool", OsStr::new(&path), dir.path()).unwrap();
    assert_eq!(file, b.join("tool"));
    assert_eq!(underscore, OsString::from(format!("{}/tool", b.display())));
    // An empty entry is the working folder, written `./`.
    std::fs::copy(b.join("tool"), dir.path().join("tool")).unwrap();
    let (file, underscore) = lookup("tool", OsStr::new(":/nowhere"), dir.path()).unwrap();
    assert_eq!(
        (file, underscore),
        (dir.path().join("./tool"), "./tool".into())
    );
    let (file, underscore) = lookup("b/tool", OsStr::new("/nowhere"), dir.path()).unwrap();
    assert_eq!(
        (file, underscore),
        (dir.path().join("b/tool"), "b/tool".into())
    );
}

#[test]
fn shell_level_counts_like_bash() {
    assert_eq!(shell_level(OsStr::new("3")), Some(4));
    assert_eq!(shell_level(OsStr::new(" 7 ")), Some(8));
    assert_eq!(shell_level(OsStr::new("x")), Some(1));
    assert_eq!(shell_level(OsStr::new("-5")), Some(0));
    assert_eq!(shell_level(OsStr::new("998")), Some(999));
    assert_eq!(shell_level(OsStr::new("999")), None);
}

/// What `env` prints when run by bash on the one-line script, and when run
/// directly as [`plan`] says, sorted (bash reorders the environment).
fn both_ways(extra: &[(&str, &str)], cwd: &Path) -> Option<(Vec<String>, Vec<String>)> {
    let script = cwd.join("script");
    std::fs::write(&script, "env\n").unwrap();
    let mut vars = env(&[("PATH", "/usr/local/bin:/usr/bin:/bin"), ("HOME", "/root")]);
    vars.extend(env(extra));
    let sorted = |out: std::process::Output| {
        assert!(out.status.success(), "{out:?}");
        let mut lines: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    };
    let by_bash = Command::new("bash")
        .args(&shell()[1..])
        .arg(&script)
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .current_dir(cwd)
        .output()
        .unwrap();
    let direct = plan(&cmd("env"), &vars, cwd)?;
    let by_flow = Command::new(&direct.program)
        .arg0("env")
        .env_clear()
        .envs(direct.env.iter().map(|(k, v)| (k, v)))
        .current_dir(cwd)
        .output()
        .unwrap();
    Some((sorted(by_bash), sorted(by_flow)))
}

/// The proof: the command sees exactly the environment bash gives it.
#[test]
fn the_command_sees_what_bash_would_give_it() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    std::fs::create_dir_all(&real).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let project = dir.path().display().to_string();
    for extra in [
        vec![],
        vec![("SHLVL", "2"), ("PWD", project.as_str()), ("OLDPWD", "/")],
        vec![
            ("SHLVL", "x"),
            ("OLDPWD", "/no/such/folder"),
            ("_", "/bin/old"),
        ],
        vec![("OLDPWD", ""), ("A-B", "odd name"), ("EMPTY", "")],
    ] {
        // Through a symbolic link: bash gives the physical path.
        let (bash, flow) = both_ways(&extra, &link).expect("runs directly");
        assert_eq!(bash, flow, "{extra:?}");
    }
}

#[test]
fn killed_notes_read_like_bash() {
    let c = cmd("sleep 5");
    let file = Path::new("/r/scripts/s");
    assert_eq!(killed_note(2, file, 7, &c), (130, None));
    assert_eq!(killed_note(13, file, 7, &c), (141, None));
    assert_eq!(
        killed_note(15, file, 7, &c),
        (143, Some("Terminated\n".into()))
    );
    assert_eq!(
        killed_note(11, file, 16117, &c),
        (
            139,
            Some("/r/scripts/s: line 1: 16117 Segmentation fault      sleep 5\n".into())
        )
    );
    assert_eq!(
        killed_note(9, file, 1, &c).1.unwrap(),
        "/r/scripts/s: line 1: 1 Killed                  sleep 5\n"
    );
    assert_eq!(describe(10), "User defined signal 1");
    assert_eq!(describe(35), "Real-time signal 1");
}

/// The physical path of an attempt folder under a linked parent: resolved
/// the first time, from the remembered parent after, and a child that is
/// itself a link is never taken from the memo.
#[test]
fn physical_path_resolves_links_with_and_without_the_memo() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let linked = dir.path().join("linked");
    std::os::unix::fs::symlink(&real, &linked).unwrap();
    let real = std::fs::canonicalize(&real).unwrap();
    for name in ["s.1.1", "s.1.2"] {
        std::fs::create_dir(linked.join(name)).unwrap();
        assert_eq!(physical_path(&linked.join(name)).unwrap(), real.join(name));
    }
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, real.join("s.1.3")).unwrap();
    assert_eq!(
        physical_path(&linked.join("s.1.3")).unwrap(),
        std::fs::canonicalize(&elsewhere).unwrap()
    );
    assert!(physical_path(&linked.join("missing")).is_none());
}
