//! The `git` commands a git library needs, run with the `git` CLI (the
//! user's credentials and configuration apply): a bare repository per URL
//! in the cache, fetched into, and a commit's files exported from it.

use std::path::Path;
use std::process::{Command, Stdio};

/// A `git` command with no terminal prompt (a missing credential fails
/// instead of waiting for a person) and no inherited repository.
fn git() -> Command {
    let mut c = Command::new("git");
    c.env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .stdin(Stdio::null());
    c
}

/// Runs `cmd`, returning its stdout; a failure gives git's stderr.
fn output(mut cmd: Command, what: &str) -> Result<String, String> {
    let out = cmd.output().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "the `git` command is not installed".to_string(),
        _ => format!("cannot run git: {e}"),
    })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        // git's own line (`fatal: …`), not the advice it prints after it.
        let line = err
            .lines()
            .find(|l| l.starts_with("fatal:") || l.starts_with("error:"))
            .or_else(|| err.lines().rfind(|l| !l.trim().is_empty()))
            .unwrap_or("");
        Err(format!("{what} failed: {}", line.trim()))
    }
}

/// Makes `repo` a bare repository if it is not one yet.
pub fn init(repo: &Path) -> Result<(), String> {
    if repo.join("HEAD").is_file() {
        return Ok(());
    }
    let mut c = git();
    c.arg("init").arg("--quiet").arg("--bare").arg(repo);
    output(c, "git init").map(drop)
}

/// Fetches `url`'s branches and tags into `repo` (moved tags are moved:
/// what a revision means now is what `flow update` pins); with `head`, its
/// `HEAD` into `FETCH_HEAD` instead.
pub fn fetch(repo: &Path, url: &str, head: bool) -> Result<(), String> {
    if !head {
        let mut c = git();
        c.arg("--git-dir")
            .arg(repo)
            .args(["fetch", "--quiet", "--force", "--", url])
            .args(["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]);
        return output(c, &format!("git fetch {url}")).map(drop);
    }
    let mut c = git();
    c.arg("--git-dir")
        .arg(repo)
        .args(["fetch", "--quiet", "--", url, "HEAD"]);
    output(c, &format!("git fetch {url} HEAD")).map(drop)
}

/// The commit `rev` names in `repo` (a tag, a branch, a commit id; `None`:
/// the remote's `HEAD` as last fetched).
pub fn resolve(repo: &Path, rev: Option<&str>) -> Result<String, String> {
    let candidates: Vec<String> = match rev {
        None => vec!["FETCH_HEAD".into()],
        Some(r) => vec![
            format!("refs/tags/{r}"),
            format!("refs/heads/{r}"),
            r.to_string(),
        ],
    };
    for name in &candidates {
        let mut c = git();
        c.arg("--git-dir")
            .arg(repo)
            .args(["rev-parse", "--quiet", "--verify", "--end-of-options"])
            .arg(format!("{name}^{{commit}}"));
        if let Ok(commit) = output(c, "git rev-parse") {
            return Ok(commit);
        }
    }
    Err(format!(
        "the repository has no tag, branch or commit `{}`",
        rev.unwrap_or("HEAD")
    ))
}

/// True when `repo` holds `commit`.
pub fn has_commit(repo: &Path, commit: &str) -> bool {
    let mut c = git();
    c.arg("--git-dir")
        .arg(repo)
        .args(["cat-file", "-e", "--end-of-options"])
        .arg(format!("{commit}^{{commit}}"));
    output(c, "git cat-file").is_ok()
}

/// Writes the files of `commit` into the empty folder `dest` (`git archive`
/// unpacked by `tar`: no `.git`, executable bits and links kept).
pub fn export(repo: &Path, commit: &str, dest: &Path) -> Result<(), String> {
    let mut archive = git();
    archive
        .arg("--git-dir")
        .arg(repo)
        .args(["archive", "--format=tar", commit])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut archive = archive
        .spawn()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let Some(stdout) = archive.stdout.take() else {
        return Err("git archive gave no output".into());
    };
    let untar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(dest)
        .stdin(stdout)
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    let archived = archive
        .wait_with_output()
        .map_err(|e| format!("git archive: {e}"))?;
    if !archived.status.success() {
        let err = String::from_utf8_lossy(&archived.stderr);
        return Err(format!("git archive {commit} failed: {}", err.trim()));
    }
    if !untar.status.success() {
        let err = String::from_utf8_lossy(&untar.stderr);
        return Err(format!("unpacking {commit} failed: {}", err.trim()));
    }
    Ok(())
}
