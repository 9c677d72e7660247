//! Git libraries end to end: a library served from a local bare repository
//! (`use "git+file:///…/skills.git@v1" as team`), the real `flow` binary,
//! a cache in a temporary folder (`FLOW_CACHE_DIR`) and the lock file
//! beside the flow. Each test tries to make flow switch libraries silently:
//! a moved or tampered cache, a moved tag, the repository gone.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A project (`proj/f.flow`), a library's source repository (`src/`, tag
/// `v1`) served as a bare repository (`skills.git`), and a cache.
struct Setup {
    tmp: tempfile::TempDir,
}

const REVIEW_V1: &str = "---\nname: review\ndescription: Review the change.\noutputs: review.md\ncommits: no\nstatuses: DONE, CHANGES_REQUESTED\nstatus_fields: summary\npermissions: read-only\n---\n# Team review v1\n\nSay TEAM-REVIEW-V1 when done.\n";

/// A tiny agent (run by std.agent as `bash -c "$AGENT"`): it proves it got
/// the team's skill by quoting the marker of its prompt, writes the
/// skill's output and prints a status line.
const AGENT: &str = r#"m=$(grep -o 'TEAM-REVIEW-V[0-9]' "$FLOW_PROMPT_FILE" | head -n 1); echo "$m" > "$FLOW_OUTPUT_DIR/review.md"; echo "{\"status\": \"DONE\", \"summary\": \"$m\"}""#;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Setup {
    fn new() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        std::fs::create_dir_all(src.join("skills")).unwrap();
        std::fs::create_dir_all(tmp.path().join("proj")).unwrap();
        git(&src, &["init", "-q"]);
        std::fs::write(src.join("skills/review.md"), REVIEW_V1).unwrap();
        std::fs::write(
            src.join("tools.flow"),
            "# The team's templates.\ntemplate say(word: str) {\n  timeout 1m\n  run \"echo $WORD > said.txt\"\n  outputs said.txt\n}\n",
        )
        .unwrap();
        git(&src, &["add", "-A"]);
        git(&src, &["commit", "-qm", "v1"]);
        git(&src, &["tag", "v1"]);
        git(tmp.path(), &["clone", "-q", "--bare", "src", "skills.git"]);
        let s = Setup { tmp };
        s.write_flow("v1");
        s
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn url(&self) -> String {
        format!("git+file://{}", self.path("skills.git").display())
    }

    fn write_flow(&self, rev: &str) {
        let flow = format!(
            "use std\nuse \"{}@{rev}\" as team\nflow f {{\n  timeout 5m\n  param agent: str = \"claude\"\n  stage hello: team.say(word: \"hi\") {{ }}\n  stage review: std.agent(skill: \"team.review\") {{ outputs review.md }}\n}}\n",
            self.url()
        );
        std::fs::write(self.path("proj/f.flow"), flow).unwrap();
    }

    /// `flow ARGS…` in the project folder.
    fn flow(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("flow runs")
    }

    /// The command `flow ARGS…` in the project folder, with the cache.
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_flow"));
        c.args(args)
            .current_dir(self.path("proj"))
            .env("FLOW_CACHE_DIR", self.path("cache"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env_remove("FLOW_LIB");
        c
    }

    fn check(&self) -> (Option<i32>, Vec<Value>, String) {
        let out = self.flow(&["check", "f.flow", "--format", "json", "--shellcheck", "off"]);
        let diags: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let list = diags.as_array().cloned().unwrap_or_default();
        (
            out.status.code(),
            list,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn lock(&self) -> Value {
        let text = std::fs::read_to_string(self.path("proj/f.flow.lock")).expect("a lock file");
        serde_json::from_str(&text).unwrap()
    }

    /// The pinned commit of the `@rev` source.
    fn pinned(&self, rev: &str) -> Option<String> {
        let key = format!("{}@{rev}", self.url());
        self.lock()["libraries"][&key]["commit"]
            .as_str()
            .map(String::from)
    }

    /// The cached folders of the library's commits.
    fn trees(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.path("cache/libs/trees")) else {
            return Vec::new();
        };
        let mut v: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        v.sort();
        v
    }

    /// Commits `review.md` with `marker` in `src` and moves tag `tag` there,
    /// in the served repository too.
    fn release(&self, marker: &str, tag: &str) -> String {
        let src = self.path("src");
        std::fs::write(
            src.join("skills/review.md"),
            REVIEW_V1.replace("TEAM-REVIEW-V1", marker),
        )
        .unwrap();
        git(&src, &["commit", "-qam", marker]);
        git(&src, &["tag", "-f", tag]);
        let bare = self.path("skills.git");
        git(
            &src,
            &[
                "push",
                "-q",
                "--force",
                bare.to_str().unwrap(),
                &format!("refs/tags/{tag}"),
            ],
        );
        git(&src, &["rev-parse", "HEAD"])
    }

    fn run(&self) -> Output {
        self.flow(&["run", "f.flow", "--agent", AGENT])
    }
}

fn codes(diags: &[Value]) -> Vec<&str> {
    diags.iter().filter_map(|d| d["code"].as_str()).collect()
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn first_check_fetches_and_pins_then_loads_offline_with_the_repository_gone() {
    let s = Setup::new();
    let (code, diags, err) = s.check();
    assert_eq!((code, codes(&diags)), (Some(0), vec![]), "{diags:?}\n{err}");
    let v1 = git(&s.path("src"), &["rev-parse", "v1"]);
    assert_eq!(s.pinned("v1").as_deref(), Some(v1.as_str()));
    let key = format!("{}@v1", s.url());
    assert_eq!(
        s.lock()["libraries"][&key]["sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    assert!(err.contains("pinned library `team`"), "{err}");
    assert_eq!(s.trees().len(), 1);
    assert!(s.trees()[0].join("skills/review.md").is_file());
    assert!(
        !s.trees()[0].join(".git").exists(),
        "the files, not a clone"
    );
    let lock_before = std::fs::read(s.path("proj/f.flow.lock")).unwrap();

    // Offline: the repository is gone; the lock and the cache agree.
    std::fs::rename(s.path("skills.git"), s.path("moved.git")).unwrap();
    let (code, diags, err) = s.check();
    assert_eq!((code, codes(&diags)), (Some(0), vec![]), "{diags:?}\n{err}");
    assert!(!err.contains("fetched"), "{err}");
    assert_eq!(
        std::fs::read(s.path("proj/f.flow.lock")).unwrap(),
        lock_before,
        "the lock is not rewritten"
    );
    let out = s.run();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Not even `git` is run: a PATH without it changes nothing.
    let empty = tempfile::tempdir().unwrap();
    let out = s
        .command(&["check", "f.flow", "--shellcheck", "off"])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn processes_fetching_one_library_at_once_share_the_cache() {
    let s = Setup::new();
    let children: Vec<_> = (0..4)
        .map(|_| {
            s.command(&["check", "f.flow", "--shellcheck", "off"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    assert_eq!(s.trees().len(), 1, "{:?}", s.trees());
    let leftovers: Vec<_> = std::fs::read_dir(s.path("cache/libs/trees"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary exports left: {leftovers:?}"
    );
    assert_eq!(s.check().0, Some(0));
}

#[test]
fn a_flow_using_team_review_runs_std_agent_with_the_team_s_skill() {
    let s = Setup::new();
    let out = s.run();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let runs = s.path("proj/.flow/runs");
    let run = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let review = std::fs::read_to_string(run.join("artifacts/review/review.md")).unwrap();
    assert_eq!(
        review.trim(),
        "TEAM-REVIEW-V1",
        "the agent's prompt held the team's skill"
    );
    let said = std::fs::read_to_string(run.join("artifacts/hello/said.txt")).unwrap();
    assert_eq!(said.trim(), "hi", "the team's template ran");
    // $SKILL_FILE named the skill in the cached library, read in place.
    let prompt = std::fs::read_to_string(run.join("stages/review.1.1/prompt.md")).unwrap();
    assert!(prompt.contains("# Team review v1"), "{prompt}");
    // The skill file is a source of the run: `flow resume` sees it change.
    let journal = std::fs::read_to_string(run.join("journal.jsonl")).unwrap();
    let started: Value = serde_json::from_str(journal.lines().next().unwrap()).unwrap();
    let sources = started["sources"].as_object().expect("sources");
    assert!(
        sources
            .keys()
            .any(|k| k.ends_with("skills/review.md") && k.contains("cache/libs/trees")),
        "{sources:?}"
    );
}

#[test]
fn a_tampered_cache_is_f0035_and_never_used() {
    let s = Setup::new();
    assert_eq!(s.check().0, Some(0));
    let skill = s.trees()[0].join("skills/review.md");
    std::fs::write(&skill, REVIEW_V1.replace("V1", "EVIL")).unwrap();
    let (code, diags, _) = s.check();
    assert_eq!((code, codes(&diags)), (Some(1), vec!["F0035"]), "{diags:?}");
    let message = diags[0]["message"].as_str().unwrap();
    assert!(message.contains("do not match the lock"), "{message}");
    // A run refuses to start on it.
    let out = s.run();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("F0035"),
        "{}",
        text(&out)
    );
    assert!(
        !s.path("proj/.flow/runs").exists()
            || std::fs::read_dir(s.path("proj/.flow/runs"))
                .unwrap()
                .next()
                .is_none()
    );
    // An added file counts too.
    std::fs::write(&skill, REVIEW_V1).unwrap();
    assert_eq!(s.check().0, Some(0));
    std::fs::write(s.trees()[0].join("skills/extra.md"), "x").unwrap();
    assert_eq!(codes(&s.check().1), ["F0035"]);
    // Removing the cached folder fetches the locked commit again.
    std::fs::remove_dir_all(&s.trees()[0]).unwrap();
    let (code, diags, err) = s.check();
    assert_eq!((code, codes(&diags)), (Some(0), vec![]), "{diags:?}\n{err}");
    assert!(err.contains("fetched library `team`"), "{err}");
}

#[test]
fn a_moved_tag_changes_nothing_until_flow_update_moves_the_pin() {
    let s = Setup::new();
    assert_eq!(s.check().0, Some(0));
    let v1 = s.pinned("v1").unwrap();
    let v2 = s.release("TEAM-REVIEW-V2", "v1"); // the tag moves
    assert_ne!(v1, v2);
    // Cached: the lock wins, nothing is fetched.
    assert_eq!(s.check().0, Some(0));
    assert_eq!(s.pinned("v1"), Some(v1.clone()));
    let out = s.run();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Not cached (a new machine): the locked commit is fetched, not what
    // the tag names now.
    std::fs::remove_dir_all(s.path("cache")).unwrap();
    let (code, diags, err) = s.check();
    assert_eq!((code, codes(&diags)), (Some(0), vec![]), "{diags:?}\n{err}");
    let note = format!("`v1` now names {}; the lock keeps {}", &v2[..12], &v1[..12]);
    assert!(err.contains(&note), "{err}");
    assert!(s.trees()[0].to_string_lossy().ends_with(&v1));
    assert_eq!(s.trees().len(), 1);
    assert_eq!(s.pinned("v1"), Some(v1.clone()), "check never moves a pin");
    let review = std::fs::read_to_string(s.trees()[0].join("skills/review.md")).unwrap();
    assert!(review.contains("TEAM-REVIEW-V1"), "{review}");
    // flow update pins what v1 names now, and says so.
    let out = s.flow(&["update", "f.flow"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{} -> {}", &v1[..12], &v2[..12])),
        "{err}"
    );
    assert_eq!(s.pinned("v1"), Some(v2));
    // (Run ids sort by the second only: keep just the next run.)
    std::fs::remove_dir_all(s.path("proj/.flow")).unwrap();
    let out = s.run();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let run = std::fs::read_dir(s.path("proj/.flow/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    let review = std::fs::read_to_string(run.join("artifacts/review/review.md")).unwrap();
    assert_eq!(review.trim(), "TEAM-REVIEW-V2");
}

#[test]
fn a_new_revision_in_the_flow_is_pinned_and_the_old_pin_dropped() {
    let s = Setup::new();
    assert_eq!(s.check().0, Some(0));
    let v2 = s.release("TEAM-REVIEW-V2", "v2");
    s.write_flow("v2");
    let (code, diags, err) = s.check();
    assert_eq!((code, codes(&diags)), (Some(0), vec![]), "{diags:?}\n{err}");
    assert_eq!(s.pinned("v2"), Some(v2));
    assert_eq!(
        s.pinned("v1"),
        None,
        "a source no `use` names leaves the lock"
    );
    assert_eq!(s.lock()["libraries"].as_object().unwrap().len(), 1);
}

#[test]
fn an_unknown_revision_or_repository_is_an_import_error_on_the_use() {
    let s = Setup::new();
    s.write_flow("v9");
    let (code, diags, _) = s.check();
    assert_eq!((code, codes(&diags)), (Some(1), vec!["F0019"]), "{diags:?}");
    assert!(diags[0]["message"]
        .as_str()
        .unwrap()
        .contains("no tag, branch or commit `v9`"));
    assert!(!s.path("proj/f.flow.lock").exists(), "nothing pinned");
    let out = s.flow(&["update", "f.flow"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn a_locked_commit_the_repository_lost_is_f0035_not_a_switch() {
    let s = Setup::new();
    assert_eq!(s.check().0, Some(0));
    let v1 = s.pinned("v1").unwrap();
    // History rewritten: v1 and main now name another commit; the old one
    // is reachable from no ref.
    let src = s.path("src");
    std::fs::write(
        src.join("skills/review.md"),
        REVIEW_V1.replace("V1", "REWRITTEN"),
    )
    .unwrap();
    git(&src, &["commit", "-q", "--amend", "-am", "rewritten"]);
    git(&src, &["tag", "-f", "v1"]);
    let bare = s.path("skills.git");
    git(
        &src,
        &[
            "push",
            "-q",
            "--force",
            bare.to_str().unwrap(),
            "refs/tags/v1",
            "main",
        ],
    );
    std::fs::remove_dir_all(s.path("cache")).unwrap();
    let (code, diags, _) = s.check();
    assert_eq!((code, codes(&diags)), (Some(1), vec!["F0035"]), "{diags:?}");
    assert!(diags[0]["message"]
        .as_str()
        .unwrap()
        .contains("no longer has"));
    assert!(diags[0]["help"].as_str().unwrap().contains("flow update"));
    assert_eq!(s.pinned("v1"), Some(v1));
}

#[test]
fn resume_refuses_a_run_whose_project_skill_changed() {
    let s = Setup::new();
    std::fs::create_dir_all(s.path("proj/skills")).unwrap();
    let skill = s.path("proj/skills/triage.md");
    std::fs::write(&skill, "---\nname: triage\n---\n# Triage v1\n").unwrap();
    std::fs::write(
        s.path("proj/f.flow"),
        "use std\nflow f {\n  timeout 5m\n  param agent: str = \"claude\"\n  stage triage: std.agent(skill: \"./triage\") { }\n}\n",
    )
    .unwrap();
    // The agent fails without a status: the run fails and can be resumed.
    let out = s.flow(&["run", "f.flow", "--agent", "exit 9"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    std::fs::write(&skill, "---\nname: triage\n---\n# Triage v2\n").unwrap();
    let out = s.flow(&["resume", "last"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("skills/triage.md"), "{err}");
}

#[test]
fn a_library_in_a_folder_of_the_repository_is_named_after_a_hash_sign() {
    let s = Setup::new();
    let src = s.path("src");
    std::fs::create_dir_all(src.join("libs/extra/skills")).unwrap();
    std::fs::write(
        src.join("libs/extra/skills/extra.md"),
        "---\nname: extra\noutputs: review.md\n---\nSay TEAM-REVIEW-V7.\n",
    )
    .unwrap();
    git(&src, &["add", "-A"]);
    git(&src, &["commit", "-qm", "extra"]);
    git(&src, &["tag", "v7"]);
    let bare = s.path("skills.git");
    git(
        &src,
        &["push", "-q", bare.to_str().unwrap(), "refs/tags/v7"],
    );
    let flow = format!(
        "use std\nuse \"{}@v7#libs/extra\" as extra\nflow f {{\n  timeout 5m\n  param agent: str = \"claude\"\n  stage review: std.agent(skill: \"extra.extra\") {{ outputs review.md }}\n}}\n",
        s.url()
    );
    std::fs::write(s.path("proj/f.flow"), flow).unwrap();
    let (code, diags, err) = s.check();
    assert_eq!((code, codes(&diags)), (Some(0), vec![]), "{diags:?}\n{err}");
    assert!(s.lock()["libraries"][format!("{}@v7#libs/extra", s.url())]["commit"].is_string());
    let out = s.run();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // A folder the repository does not have.
    std::fs::write(
        s.path("proj/f.flow"),
        format!("use \"{}@v7#libs/nope\" as extra\n", s.url()),
    )
    .unwrap();
    let (code, diags, _) = s.check();
    assert_eq!((code, codes(&diags)), (Some(1), vec!["F0019"]), "{diags:?}");
    assert!(diags[0]["message"]
        .as_str()
        .unwrap()
        .contains("no folder `libs/nope`"));
}

#[test]
fn an_unreadable_lock_is_f0035_and_left_alone_until_flow_update() {
    let s = Setup::new();
    let lock = s.path("proj/f.flow.lock");
    std::fs::write(&lock, "{ \"version\": 1, \"libraries\": ").unwrap();
    for _ in 0..2 {
        let (code, diags, _) = s.check();
        assert_eq!((code, codes(&diags)), (Some(1), vec!["F0035"]), "{diags:?}");
        assert_eq!(
            std::fs::read_to_string(&lock).unwrap(),
            "{ \"version\": 1, \"libraries\": ",
            "a check never overwrites a lock it cannot read"
        );
    }
    let out = s.flow(&["update"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(s.pinned("v1").is_some());
    assert_eq!(s.check().0, Some(0));
}
