//! The shellcheck cache of `flow check`: an unchanged script is not sent to
//! shellcheck again, and the findings are the same either way. A fake
//! `shellcheck` first on PATH logs each call's arguments to a file and hands
//! over to the real one (needs `shellcheck` installed; CI installs it), so
//! the tests count processes, not time.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A project folder, a cache folder and a logging fake shellcheck.
struct Setup {
    dir: tempfile::TempDir,
    bin: PathBuf,
    log: PathBuf,
    cache: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let real = which("shellcheck").expect("shellcheck is installed");
        let log = dir.path().join("calls.log");
        let fake = bin.join("shellcheck");
        std::fs::write(
            &fake,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
                log.display(),
                real.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cache = dir.path().join("cache");
        Setup {
            dir,
            bin,
            log,
            cache,
        }
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).unwrap();
    }

    /// `flow check --format json --shellcheck require f.flow` with the
    /// cache in `cache_dir`.
    fn check(&self, cache_dir: &str) -> Output {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![self.bin.clone()];
        dirs.extend(std::env::split_paths(&path));
        let out = Command::new(env!("CARGO_BIN_EXE_flow"))
            .current_dir(self.dir.path())
            .env("PATH", std::env::join_paths(dirs).unwrap())
            .env("FLOW_CACHE_DIR", cache_dir)
            .env_remove("SHELLCHECK_OPTS")
            .args([
                "check",
                "--format",
                "json",
                "--shellcheck",
                "require",
                "f.flow",
            ])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn cached(&self) -> Output {
        self.check(self.cache.to_str().unwrap())
    }

    /// The logged calls that check scripts (not `--version`): the number of
    /// scripts each was given.
    fn checks(&self) -> Vec<usize> {
        self.calls()
            .iter()
            .filter(|c| !c.contains("--version"))
            .map(|c| c.split(' ').filter(|a| a.ends_with(".sh")).count())
            .collect()
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    fn entries(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.cache.join("shellcheck"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect()
    }
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The F0105 messages of a json report, with their lines.
fn findings(out: &Output) -> Vec<(u64, String)> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "F0105")
        .map(|d| {
            (
                d["span"]["start_line"].as_u64().unwrap(),
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const TWO_STAGES: &str = "flow f {\n  timeout 1m\n  env lower = \"1\"\n  stage a { run \"rm -rf $dir/\" }\n  stage b {\n    run \"\"\"\n      echo \"$lower\"\n      ls $B\n    \"\"\"\n  }\n  stage c { run \"rm -rf $dir/\" }\n}\n";

#[test]
fn a_second_check_hits_the_cache_with_the_same_findings() {
    let s = Setup::new();
    s.write("f.flow", TWO_STAGES);
    let first = s.cached();
    // One process for the two distinct scripts (a and c are the same).
    assert_eq!(s.checks(), vec![2]);
    assert_eq!(s.entries().len(), 2);
    let calls = s.calls().len();
    let second = s.cached();
    // No shellcheck at all the second time: not even `--version`.
    assert_eq!(s.calls().len(), calls, "{:?}", s.calls());
    assert_eq!(first.stdout, second.stdout);
    let found = findings(&second);
    assert!(
        found.contains(&(
            4,
            "SC2086: Double quote to prevent globbing and word splitting.".into()
        )),
        "{found:?}"
    );
    assert!(
        found.iter().any(|f| f.0 == 8 && f.1.starts_with("SC2086")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|f| f.0 == 11 && f.1.starts_with("SC2154")),
        "{found:?}"
    );
    // And the same as without a cache.
    let uncached = s.check("off");
    assert_eq!(uncached.stdout, second.stdout);
}

#[test]
fn a_changed_script_misses_and_only_it_is_checked() {
    let s = Setup::new();
    s.write("f.flow", TWO_STAGES);
    s.cached();
    assert_eq!(s.checks(), vec![2]);
    s.write("f.flow", &TWO_STAGES.replace("ls $B", "ls $B $unset"));
    let out = s.cached();
    assert_eq!(s.checks(), vec![2, 1]);
    let found = findings(&out);
    assert!(
        found
            .iter()
            .any(|f| f.0 == 8 && f.1.starts_with("SC2154: unset is referenced")),
        "{found:?}"
    );
    assert_eq!(out.stdout, s.check("off").stdout);
}

#[test]
fn a_changed_shellcheckrc_misses() {
    let s = Setup::new();
    s.write("f.flow", TWO_STAGES);
    s.cached();
    s.write(".shellcheckrc", "disable=SC2086\n");
    let out = s.cached();
    assert_eq!(s.checks(), vec![2, 2]);
    let found = findings(&out);
    assert!(
        found.iter().all(|f| !f.1.starts_with("SC2086")),
        "{found:?}"
    );
    assert!(!found.is_empty());
    s.cached();
    assert_eq!(s.checks(), vec![2, 2]);
}

#[test]
fn a_corrupt_entry_is_ignored_and_rewritten() {
    let s = Setup::new();
    s.write("f.flow", TWO_STAGES);
    let first = s.cached();
    for e in s.entries() {
        std::fs::write(&e, b"{\"comments\": [{\"file\": ").unwrap();
    }
    let second = s.cached();
    assert_eq!(s.checks(), vec![2, 2]);
    assert_eq!(first.stdout, second.stdout);
    for e in s.entries() {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&e).unwrap()).unwrap();
        assert!(v["comments"].is_array(), "{v}");
    }
    s.cached();
    assert_eq!(s.checks(), vec![2, 2]);
}

#[test]
fn an_unusable_cache_folder_only_costs_speed() {
    let s = Setup::new();
    s.write("f.flow", TWO_STAGES);
    // A folder below a plain file cannot be made (not even by root).
    s.write("plain", "");
    let unusable = s.dir.path().join("plain").join("cache");
    let first = s.check(unusable.to_str().unwrap());
    let second = s.check(unusable.to_str().unwrap());
    assert_eq!(s.checks(), vec![2, 2]);
    assert_eq!(first.stdout, second.stdout);
    assert_eq!(first.stdout, s.check("off").stdout);
    assert!(
        first.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(findings(&first).len(), 7, "{:?}", findings(&first));
}

#[test]
fn off_turns_the_cache_off() {
    let s = Setup::new();
    s.write("f.flow", TWO_STAGES);
    s.check("off");
    s.check("off");
    assert_eq!(s.checks(), vec![2, 2]);
    // Not even the version is asked.
    assert_eq!(s.calls().len(), 2, "{:?}", s.calls());
    assert!(!Path::new(&s.cache).exists());
}
