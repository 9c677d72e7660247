//! `flow check --shellcheck auto|off|require`: every `run` script of a file
//! that a shell shellcheck knows runs (bash by default; `shell "sh -eu"` is
//! checked as sh, `dash` as dash, `ksh` as ksh; `shell "python3"` is not
//! checked) goes through shellcheck with that dialect (`--shell=…`), and
//! each finding becomes an F0105 warning at its line and column in the
//! `.flow` file.
//!
//! How (the choices, and why):
//! - **One process per file, not per script.** Starting shellcheck costs
//!   ~10 ms; a 5,000-stage flow would spend a minute spawning. The scripts
//!   are written to a temporary folder, one file each, and shellcheck gets
//!   them all as arguments (it checks every file on its own, so one
//!   script's variables or directives never leak into another). shellcheck
//!   itself is single-threaded and takes ~3-5 ms a script, so above
//!   [`MIN_PER_PROCESS`] scripts the list is split over the cores and the
//!   parts run in parallel (at most [`FILES_PER_PROCESS`] each). Measured:
//!   a 5,000-stage flow of 5,000 distinct scripts, 6.7 s on 2 cores; the
//!   generated bench flow (516 distinct), 1.4 s on top of the check.
//! - **Identical scripts are checked once**; the findings go to every copy.
//! - **Variables flow exports.** shellcheck reports `$name` with a lowercase
//!   letter and no assignment (SC2154), but flow sets some such names (an
//!   `env` or `secret` spelled in lowercase). Those names are declared by an
//!   `export a b` line inserted after the script's leading comments and
//!   blank lines: after them so a `#!` line or a file-wide
//!   `# shellcheck disable=…` at the top keeps applying to the whole script,
//!   before the first command so nothing reads as unreachable. Lines below
//!   it are reported one lower. All-uppercase names (params, lets, template
//!   arguments, `FLOW_*`) need nothing: shellcheck takes them for the
//!   environment already.
//! - **Columns**: shellcheck's `json1` format counts characters, a tab as
//!   one (the `json` format expands tabs to 8); [`ScriptSite::locate`] maps
//!   them back through escapes and dedent.
//! - A `.shellcheckrc` in the flow file's folder or above is copied next to
//!   the scripts, so a project's shellcheck settings apply.
//! - **Cached** ([`cache`]): each distinct script's answer is kept on disk,
//!   keyed by everything it depends on, and only the scripts the cache does
//!   not know go to shellcheck; an unchanged file (an editor's check on
//!   every save) starts no process. Measured: `pipelines/ai-implement.flow`
//!   ~150 ms cold, 2.6 ms warm; the 5,000-stage bench flow 1.2 s cold,
//!   +2.5 ms over `--shellcheck off` warm.

mod cache;

use cache::{Cache, Context, Key};
use flow_dsl::script::{ScriptMap, ScriptSite};
use flow_dsl::{Checked, Code, Diagnostic, SourceId};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Most scripts given to one shellcheck process (keeps the command line
/// well under `ARG_MAX` and lets big files use several cores).
pub const FILES_PER_PROCESS: usize = 500;

/// Fewest scripts worth a process of their own.
pub const MIN_PER_PROCESS: usize = 50;

/// shellcheck's options (part of the cache key: they change its answers).
/// `--shell=DIALECT` is added per script (also in the key).
const OPTIONS: [&str; 2] = ["--format=json1", "--color=never"];

/// When to run shellcheck.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Mode {
    /// When `shellcheck` is on PATH; silently skipped otherwise.
    #[default]
    Auto,
    /// Never.
    Off,
    /// Always; a missing `shellcheck` is a usage error (exit 2).
    Require,
}

/// A shellcheck program to run.
#[derive(Debug, Clone)]
pub struct Shellcheck {
    program: PathBuf,
}

impl Shellcheck {
    /// The shellcheck to use in `mode`: `Ok(None)` when off (or auto and
    /// not installed), `Err` (the message) when required and not on PATH.
    pub fn find(mode: Mode) -> Result<Option<Shellcheck>, String> {
        if mode == Mode::Off {
            return Ok(None);
        }
        match on_path("shellcheck") {
            Some(program) => Ok(Some(Shellcheck { program })),
            None if mode == Mode::Require => Err(
                "--shellcheck require: `shellcheck` is not on PATH; install it (apt install shellcheck, \
                 brew install shellcheck) or use --shellcheck auto|off"
                    .to_string(),
            ),
            None => Ok(None),
        }
    }

    /// Checks the scripts of `checked` and adds each finding to its
    /// diagnostics (through [`Checked::add_findings`]). `flow_file` is where the file is, to find
    /// a `.shellcheckrc`. `Err` when shellcheck cannot be run or answers
    /// something that is not its JSON.
    pub fn add_findings(&self, checked: &mut Checked, flow_file: &Path) -> Result<(), String> {
        if checked.scripts.iter().all(|s| s.shell_dialect().is_none()) {
            return Ok(());
        }
        let found = self.check(&checked.scripts, flow_file)?;
        let text_of = |id: SourceId| checked.sources.get(id).text.clone();
        let mut maps: HashMap<usize, ScriptMap> = HashMap::new();
        let mut new = Vec::new();
        for (site_index, comment) in found {
            let site = &checked.scripts[site_index];
            let map = maps
                .entry(site_index)
                .or_insert_with(|| site.locate(&text_of(site.source)));
            new.push(diagnostic(site, map, &comment));
        }
        // Through the suppressions: `# flow: allow(F0105)` applies to them.
        checked.add_findings(new);
        Ok(())
    }

    /// Runs shellcheck on `sites` (only the scripts the cache does not
    /// know); returns each finding with the index of its site, its line
    /// numbers already those of the site's own text.
    fn check(
        &self,
        sites: &[ScriptSite],
        flow_file: &Path,
    ) -> Result<Vec<(usize, Finding)>, String> {
        // Each distinct prepared script (and dialect) once: its file, its
        // prologue and its sites. Scripts no shellcheck dialect fits are left out.
        let mut unique: Vec<(Prepared, Vec<usize>)> = Vec::new();
        let mut index: HashMap<(&'static str, String), usize> = HashMap::new();
        for (i, site) in sites.iter().enumerate() {
            let Some(prepared) = Prepared::new(site) else {
                continue;
            };
            let id = (prepared.dialect, prepared.text.clone());
            match index.get(&id) {
                Some(&k) => unique[k].1.push(i),
                None => {
                    index.insert(id, unique.len());
                    unique.push((prepared, vec![i]));
                }
            }
        }
        let project_rc = flow_file.parent().and_then(find_rc);
        let cache = self.cache_for(project_rc.as_deref());
        // shellcheck's comments on each unique script: cached, or to ask.
        let mut answers: Vec<Option<Vec<Value>>> = vec![None; unique.len()];
        let mut keys: Vec<Option<Key>> = vec![None; unique.len()];
        if let Some((cache, context)) = &cache {
            for (k, (prepared, _)) in unique.iter().enumerate() {
                let key = context.key(prepared.dialect, &prepared.text);
                answers[k] = cache.get(&key);
                keys[k] = Some(key);
            }
        }
        let misses: Vec<usize> = (0..unique.len())
            .filter(|&k| answers[k].is_none())
            .collect();
        if !misses.is_empty() {
            let asked = self.ask(&unique, &misses, project_rc.as_deref())?;
            for (k, comments) in asked {
                if let (Some((cache, _)), Some(key)) = (&cache, &keys[k]) {
                    cache.put(key, &comments);
                }
                answers[k] = Some(comments);
            }
        }
        if let Some((cache, _)) = &cache {
            cache.prune_now_and_then();
        }
        let mut out = Vec::new();
        for (k, comments) in answers.into_iter().enumerate() {
            let (prepared, site_indexes) = &unique[k];
            for c in comments.iter().flatten() {
                let Some(finding) = Finding::from_json(c).and_then(|f| prepared.unshift(f)) else {
                    continue;
                };
                out.extend(site_indexes.iter().map(|&i| (i, finding.clone())));
            }
        }
        Ok(out)
    }

    /// Runs shellcheck on the scripts `misses` (indexes into `unique`),
    /// each written to a file of a temporary folder; returns each one's
    /// comments (raw `json1`), an empty list for a clean script.
    fn ask(
        &self,
        unique: &[(Prepared, Vec<usize>)],
        misses: &[usize],
        project_rc: Option<&Path>,
    ) -> Result<Vec<(usize, Vec<Value>)>, String> {
        let dir = tempfile::Builder::new()
            .prefix("flow-shellcheck")
            .tempdir()
            .map_err(|e| format!("shellcheck: cannot create a temporary folder: {e}"))?;
        for &k in misses {
            std::fs::write(dir.path().join(file_name(k)), &unique[k].0.text).map_err(|e| {
                format!(
                    "shellcheck: cannot write a script to {}: {e}",
                    dir.path().display()
                )
            })?;
        }
        if let Some(rc) = project_rc {
            // A missing copy only loses the project's settings; not fatal.
            let _ = std::fs::copy(rc, dir.path().join(".shellcheckrc"));
        }
        let mut by_dialect: Vec<(&'static str, Vec<String>)> = Vec::new();
        for &k in misses {
            let dialect = unique[k].0.dialect;
            match by_dialect.iter_mut().find(|(d, _)| *d == dialect) {
                Some((_, names)) => names.push(file_name(k)),
                None => by_dialect.push((dialect, vec![file_name(k)])),
            }
        }
        let mut by_file: HashMap<usize, Vec<Value>> =
            misses.iter().map(|&k| (k, Vec::new())).collect();
        let mut comments = Vec::new();
        for (dialect, names) in &by_dialect {
            comments.extend(self.run_all(dir.path(), dialect, names)?);
        }
        for c in comments {
            let k = c
                .get("file")
                .and_then(Value::as_str)
                .and_then(|f| f.strip_suffix(".sh"))
                .and_then(|n| n.parse::<usize>().ok());
            if let Some(list) = k.and_then(|k| by_file.get_mut(&k)) {
                list.push(c);
            }
        }
        Ok(by_file.into_iter().collect())
    }

    /// The cache to use and what the answers depend on besides the
    /// script; `None` when the cache is off or shellcheck's version cannot
    /// be known (then every script is asked).
    fn cache_for(&self, project_rc: Option<&Path>) -> Option<(Cache, Context)> {
        let cache = Cache::from_env()?;
        let version = cache.version(&self.program, || {
            let out = output_within(Command::new(&self.program).arg("--version"), LIMIT).ok()?;
            let text = String::from_utf8(out.stdout).ok()?;
            (out.status.success() && !text.trim().is_empty()).then_some(text)
        })?;
        let rc = match project_rc {
            Some(p) => Some(std::fs::read(p).ok()?),
            None => fallback_rc(),
        };
        let opts = std::env::var("SHELLCHECK_OPTS").unwrap_or_default();
        // `-x` (alone or among short flags) or `external-sources=true`: the
        // answer then depends on the files scripts `source` too.
        let follows_sources = opts.split_whitespace().any(|t| {
            t.starts_with("--external-sources")
                || (t.starts_with('-') && !t.starts_with("--") && t.contains('x'))
        }) || rc.as_deref().is_some_and(|r| {
            String::from_utf8_lossy(r)
                .lines()
                .any(|l| l.replace(' ', "").starts_with("external-sources=true"))
        });
        if follows_sources {
            // Not cacheable: the key does not cover those files.
            return None;
        }
        let context = Context {
            version,
            options: format!("{}\n{opts}", OPTIONS.join(" ")),
            rc,
        };
        Some((cache, context))
    }

    /// Runs shellcheck over `names` (in `dir`) as `dialect`, in parts of at
    /// most [`FILES_PER_PROCESS`], the parts in parallel up to the cores there are.
    fn run_all(&self, dir: &Path, dialect: &str, names: &[String]) -> Result<Vec<Value>, String> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let parts: Vec<&[String]> = names.chunks(part_size(names.len(), cores)).collect();
        let mut all = Vec::new();
        for wave in parts.chunks(cores) {
            let results: Vec<Result<Vec<Value>, String>> = std::thread::scope(|s| {
                let handles: Vec<_> = wave
                    .iter()
                    .map(|part| s.spawn(move || self.run_one(dir, dialect, part)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err("shellcheck: a worker thread panicked".into()))
                    })
                    .collect()
            });
            for r in results {
                all.extend(r?);
            }
        }
        Ok(all)
    }

    /// One shellcheck process over `names`, as `dialect`: its comments, raw.
    fn run_one(&self, dir: &Path, dialect: &str, names: &[String]) -> Result<Vec<Value>, String> {
        let mut cmd = Command::new(&self.program);
        cmd.current_dir(dir)
            .args(OPTIONS)
            .arg(format!("--shell={dialect}"))
            .args(names);
        let output = output_within(&mut cmd, LIMIT)
            .map_err(|e| format!("cannot run {}: {e}", self.program.display()))?;
        // Exit 0: clean, 1: findings; anything else is shellcheck failing.
        let parsed: Option<Value> = serde_json::from_slice(&output.stdout).ok();
        match (output.status.code(), parsed) {
            (Some(0 | 1), Some(mut v)) => Ok(match v.get_mut("comments").map(Value::take) {
                Some(Value::Array(comments)) => comments,
                _ => Vec::new(),
            }),
            _ => Err(format!(
                "{} failed ({}): {}",
                self.program.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )),
        }
    }
}

/// How long one shellcheck process may take. `flow check` must never hang
/// (it runs on every save in editors): a shellcheck that takes longer is
/// killed and reported as failing (exit 2), and the flow's own diagnostics
/// are still printed.
const LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Like [`Command::output`], but kills the process and fails with
/// `TimedOut` after `limit`. Its pipes are read on a helper thread, so a
/// large output cannot block it.
fn output_within(
    cmd: &mut Command,
    limit: std::time::Duration,
) -> std::io::Result<std::process::Output> {
    use std::process::Stdio;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(result) => result,
        Err(_) => {
            // The waiting thread still owns (and will reap) the child.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {}s; killed", limit.as_secs()),
            ))
        }
    }
}

/// One shellcheck comment: where (in the script's lines) and what.
#[derive(Debug, Clone, PartialEq)]
struct Finding {
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    level: String,
    code: u64,
    message: String,
    /// Replacements of shellcheck's fix: (line, column, end line, end column, text).
    fix: Vec<(usize, usize, usize, usize, String)>,
}

impl Finding {
    fn from_json(v: &Value) -> Option<Finding> {
        let num = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).map(|n| n as usize);
        let fix = v
            .get("fix")
            .and_then(|f| f.get("replacements"))
            .and_then(Value::as_array)
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| {
                        Some((
                            num(r, "line")?,
                            num(r, "column")?,
                            num(r, "endLine")?,
                            num(r, "endColumn")?,
                            r.get("replacement")?.as_str()?.to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Finding {
            file: v.get("file")?.as_str()?.to_string(),
            line: num(v, "line")?,
            column: num(v, "column")?,
            end_line: num(v, "endLine")?,
            end_column: num(v, "endColumn")?,
            level: v
                .get("level")
                .and_then(Value::as_str)
                .unwrap_or("warning")
                .to_string(),
            code: v.get("code")?.as_u64()?,
            message: v
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            fix,
        })
    }
}

/// A script as given to shellcheck: the site's text, with an `export` line
/// inserted (1-based line `at`) when some variable needs declaring, and the
/// dialect to check it as.
struct Prepared {
    text: String,
    at: Option<usize>,
    dialect: &'static str,
}

impl Prepared {
    /// `None` when shellcheck cannot read the site's shell (`python3` …).
    fn new(site: &ScriptSite) -> Option<Prepared> {
        let dialect = site.shell_dialect()?;
        // shellcheck leaves names without a lowercase letter alone (SC2154
        // takes them for the environment).
        let names: Vec<&str> = site
            .vars
            .iter()
            .filter(|v| v.chars().any(|c| c.is_lowercase()))
            .map(String::as_str)
            .collect();
        if names.is_empty() {
            return Some(Prepared {
                text: site.text.clone(),
                at: None,
                dialect,
            });
        }
        let lines: Vec<&str> = site.text.split('\n').collect();
        let header = lines
            .iter()
            .take_while(|l| {
                let t = l.trim();
                t.is_empty() || t.starts_with('#')
            })
            .count();
        let export = format!("export {}", names.join(" "));
        let mut out: Vec<&str> = lines[..header].to_vec();
        out.push(&export);
        out.extend_from_slice(&lines[header..]);
        Some(Prepared {
            text: out.join("\n"),
            at: Some(header + 1),
            dialect,
        })
    }

    /// `c` with the lines of the site's own text; `None` for a finding on
    /// the inserted line itself (about flow's declaration, not the script).
    fn unshift(&self, mut c: Finding) -> Option<Finding> {
        let Some(at) = self.at else {
            return Some(c);
        };
        let back = |line: usize| if line > at { line - 1 } else { line };
        if c.line == at && c.end_line == at {
            return None;
        }
        c.line = back(c.line);
        c.end_line = back(c.end_line);
        let fixes = std::mem::take(&mut c.fix);
        for (l, col, el, ecol, text) in fixes {
            if l == at || el == at {
                // A fix touching the export line cannot be shown for the script.
                c.fix.clear();
                break;
            }
            c.fix.push((back(l), col, back(el), ecol, text));
        }
        Some(c)
    }
}

/// The F0105 diagnostic of finding `c` in `site`.
fn diagnostic(site: &ScriptSite, map: &ScriptMap, c: &Finding) -> Diagnostic {
    let span = map.span(c.line, c.column, c.end_line, c.end_column);
    let wiki = format!("https://www.shellcheck.net/wiki/SC{}", c.code);
    let help = match fixed_line(&site.text, c) {
        Some(line) => format!("shellcheck's fix: `{line}`; see {wiki}"),
        None => format!("see {wiki}"),
    };
    Diagnostic::new(
        Code::Shellcheck,
        site.source,
        span,
        format!("SC{}: {}", c.code, c.message),
    )
    .label(format!("shellcheck {}", c.level))
    .help(help)
}

/// The script line of `c` with shellcheck's fix applied, when the fix stays
/// on that one line (the common case: quoting a variable).
fn fixed_line(script: &str, c: &Finding) -> Option<String> {
    if c.fix.is_empty()
        || c.fix
            .iter()
            .any(|f| f.0 != c.line || f.2 != c.line || f.4.contains('\n'))
    {
        return None;
    }
    let line = script.split('\n').nth(c.line.checked_sub(1)?)?;
    let chars: Vec<char> = line.chars().collect();
    let mut edits: Vec<(usize, usize, &str)> = c
        .fix
        .iter()
        .map(|f| (f.1.saturating_sub(1), f.3.saturating_sub(1), f.4.as_str()))
        .collect();
    // Apply from the right so earlier columns stay valid.
    edits.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    let mut out = chars;
    for (start, end, text) in edits {
        if start > end || end > out.len() {
            return None;
        }
        out.splice(start..end, text.chars());
    }
    Some(out.into_iter().collect::<String>().trim().to_string())
}

/// How many scripts each shellcheck process gets: the work split evenly over
/// the cores (shellcheck itself is single-threaded, ~3 ms a script), but
/// not below [`MIN_PER_PROCESS`] (a process costs ~10 ms to start) and not
/// above [`FILES_PER_PROCESS`].
fn part_size(scripts: usize, cores: usize) -> usize {
    let parts = scripts
        .div_ceil(FILES_PER_PROCESS)
        .max(cores.min(scripts.div_ceil(MIN_PER_PROCESS)))
        .max(1);
    scripts.div_ceil(parts).max(1)
}

fn file_name(k: usize) -> String {
    format!("{k}.sh")
}

/// The nearest `.shellcheckrc` in `dir` or a folder above it.
fn find_rc(dir: &Path) -> Option<PathBuf> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let dir = dir.canonicalize().ok()?;
    dir.ancestors()
        .map(|d| d.join(".shellcheckrc"))
        .find(|p| p.is_file())
}

/// The shellcheckrc shellcheck finds for a script in the temporary folder
/// when the project has none: one in the temporary folder's parents, else
/// the user's (`$XDG_CONFIG_HOME/shellcheckrc`, `~/.config/shellcheckrc`,
/// `~/.shellcheckrc`), as shellcheck looks for them.
fn fallback_rc() -> Option<Vec<u8>> {
    let tmp = std::env::temp_dir();
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    let parents = tmp
        .ancestors()
        .flat_map(|d| [d.join(".shellcheckrc"), d.join("shellcheckrc")]);
    let user = [
        config.map(|c| c.join("shellcheckrc")),
        home.map(|h| h.join(".shellcheckrc")),
    ];
    parents
        .chain(user.into_iter().flatten())
        .find(|p| p.is_file())
        .and_then(|p| std::fs::read(p).ok())
}

/// `name` as an executable file in a folder of `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(text: &str, vars: &[&str]) -> ScriptSite {
        ScriptSite {
            source: SourceId(0),
            span: flow_dsl::Span::new(0, 0),
            text: text.to_string(),
            vars: vars.iter().map(|v| v.to_string()).collect(),
            shell: flow_dsl::ir::default_shell(),
        }
    }

    fn finding(line: usize, end_line: usize) -> Finding {
        Finding {
            file: "0.sh".into(),
            line,
            column: 1,
            end_line,
            end_column: 2,
            level: "info".into(),
            code: 2086,
            message: "m".into(),
            fix: vec![],
        }
    }

    #[test]
    fn uppercase_names_need_no_prologue() {
        let p = Prepared::new(&site("echo \"$REPO\"", &["REPO", "FLOW_RUN_ID"])).unwrap();
        assert_eq!(p.dialect, "bash");
        assert_eq!(p.text, "echo \"$REPO\"");
        assert_eq!(p.at, None);
    }

    #[test]
    fn export_goes_after_leading_comments_and_lines_shift_back() {
        let p = Prepared::new(&site(
            "#!/bin/bash\n# shellcheck disable=SC2086\n\necho $token",
            &["token", "REPO"],
        ))
        .unwrap();
        assert_eq!(
            p.text,
            "#!/bin/bash\n# shellcheck disable=SC2086\n\nexport token\necho $token"
        );
        assert_eq!(p.at, Some(4));
        assert_eq!(p.unshift(finding(5, 5)).map(|f| f.line), Some(4));
        assert_eq!(p.unshift(finding(2, 2)).map(|f| f.line), Some(2));
        assert_eq!(p.unshift(finding(4, 4)), None);
    }

    #[test]
    fn the_dialect_follows_the_shell_and_other_programs_are_not_checked() {
        let with = |shell: &[&str]| {
            let mut s = site("echo $x", &[]);
            s.shell = shell.iter().map(|w| w.to_string()).collect();
            Prepared::new(&s).map(|p| p.dialect)
        };
        assert_eq!(with(&["sh", "-eu"]), Some("sh"));
        assert_eq!(with(&["/bin/dash"]), Some("dash"));
        assert_eq!(with(&["/usr/bin/env", "bash"]), Some("bash"));
        assert_eq!(with(&["python3"]), None);
        assert_eq!(with(&["zsh"]), None);
    }

    #[test]
    fn scripts_are_split_evenly_over_the_cores() {
        assert_eq!(part_size(1, 8), 1);
        assert_eq!(part_size(40, 8), 40);
        assert_eq!(part_size(511, 2), 256);
        assert_eq!(part_size(511, 1), 256);
        assert_eq!(part_size(400, 16), 50);
        assert_eq!(part_size(5000, 2), 500);
        assert_eq!(part_size(0, 2), 1);
    }

    #[test]
    fn a_one_line_fix_is_shown_applied() {
        let mut f = finding(1, 1);
        f.fix = vec![(1, 8, 1, 8, "\"".into()), (1, 12, 1, 12, "\"".into())];
        assert_eq!(
            fixed_line("rm -rf $dir/", &f).as_deref(),
            Some("rm -rf \"$dir\"/")
        );
        f.fix = vec![(1, 8, 2, 1, "\"".into())];
        assert_eq!(fixed_line("rm -rf $dir/", &f), None);
    }

    #[test]
    fn off_finds_nothing_and_findings_parse() {
        assert!(Shellcheck::find(Mode::Off).unwrap().is_none());
        let v: Value = serde_json::json!({"file": "3.sh", "line": 1, "endLine": 1, "column": 8, "endColumn": 12,
            "level": "info", "code": 2086, "message": "Double quote", "fix": {"replacements": [
            {"line": 1, "endLine": 1, "column": 8, "endColumn": 8, "replacement": "\""}]}});
        let f = Finding::from_json(&v).unwrap();
        assert_eq!(
            (f.file.as_str(), f.line, f.column, f.end_column, f.code),
            ("3.sh", 1, 8, 12, 2086)
        );
        assert_eq!(f.fix, vec![(1, 8, 1, 8, "\"".to_string())]);
    }
}

#[cfg(test)]
mod limit_tests {
    use super::output_within;
    use std::process::Command;
    use std::time::{Duration, Instant};

    #[test]
    fn a_process_that_hangs_is_killed_at_the_limit() {
        let t = Instant::now();
        let err =
            output_within(Command::new("sleep").arg("30"), Duration::from_millis(300)).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert!(t.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_quick_process_gives_its_output() {
        let out = output_within(Command::new("echo").arg("hi"), Duration::from_secs(10)).unwrap();
        assert_eq!(out.stdout, b"hi\n");
        assert!(out.status.success());
    }
}
