//! Running a script that is one simple command without starting bash, with
//! the result bash would give.
//!
//! Starting `bash` costs about a millisecond per attempt, more than the rest
//! of `flow`'s work for a stage like `run "make test"`. So a script that is
//! a single simple command is executed directly, but only where nothing
//! could tell the difference:
//!
//! * **The script** ([`simple_command`]): the stage uses the default shell
//!   (`bash --noprofile --norc -eo pipefail`), and its script is one line of
//!   words separated by spaces or tabs, each made only of
//!   `A-Z a-z 0-9 _ . / : @ % + , = -`: nothing bash would expand, quote,
//!   glob, redirect, comment or treat as a keyword. The first word has no
//!   `=` or `%` (an assignment, a job), and is not a bash keyword or builtin
//!   — except `true` and `false` alone, whose programs do what the builtins
//!   do.
//! * **The environment** ([`plan`]): bash rewrites some variables it
//!   inherits (`IFS`, `PS4`, `SHELLOPTS`, `BASH*`, exported functions …);
//!   if any of them is set, or `PATH` is not, bash runs the script. Else
//!   the command gets what bash would give it: `PWD` set to the working
//!   folder's physical path, `SHLVL` plus one, `OLDPWD` dropped unless it
//!   names a folder, and `_` set to the program's path.
//! * **The program**: looked up as bash does (each `PATH` entry in order,
//!   the first executable regular file; an empty entry is the working
//!   folder). When no entry has one, bash runs the script, for its own
//!   "command not found". When the program cannot be executed (a script
//!   without `#!`, a missing interpreter), the supervisor starts bash on the
//!   script instead (the request's `fallback`), which runs it or says why as
//!   it always does.
//! * **The end**: bash exits with 128 + N when its command is killed by
//!   signal N, and says so on stderr. A direct command killed by a signal
//!   (not by `flow`'s timeout or cancel, which kill bash too) gets that exit
//!   code and the same line ([`killed_note`]).
//!
//! Sources: bash 5.2's manual ("Command Search and Execution", "Bash
//! Variables", "Exit Status") and its behaviour, checked by the tests.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use flow_dsl::ir::DEFAULT_SHELL;

/// A stage script that is one simple command.
#[derive(Debug, Clone, PartialEq)]
pub struct SimpleCommand {
    /// The command's words: the program, then its arguments.
    pub words: Vec<String>,
    /// The whole script, for bash when the command cannot run directly.
    pub script: String,
}

/// How to start a [`SimpleCommand`] without bash.
#[derive(Debug, Clone, PartialEq)]
pub struct Direct {
    /// The file to execute (absolute, or relative to the working folder
    /// as bash would pass it).
    pub program: PathBuf,
    /// The environment bash would give the command.
    pub env: Vec<(OsString, OsString)>,
}

/// Bash keywords and builtins (`compgen -k`, `compgen -b` of bash 5.2)
/// that the charset of a word allows: such a first word is never run
/// directly.
const BASH_WORDS: &[&str] = &[
    // keywords
    "if",
    "then",
    "else",
    "elif",
    "fi",
    "case",
    "esac",
    "for",
    "select",
    "while",
    "until",
    "do",
    "done",
    "in",
    "function",
    "time",
    "coproc", // builtins
    ".",
    ":",
    "alias",
    "bg",
    "bind",
    "break",
    "builtin",
    "caller",
    "cd",
    "command",
    "compgen",
    "complete",
    "compopt",
    "continue",
    "declare",
    "dirs",
    "disown",
    "echo",
    "enable",
    "eval",
    "exec",
    "exit",
    "export",
    "false",
    "fc",
    "fg",
    "getopts",
    "hash",
    "help",
    "history",
    "jobs",
    "kill",
    "let",
    "local",
    "logout",
    "mapfile",
    "popd",
    "printf",
    "pushd",
    "pwd",
    "read",
    "readarray",
    "readonly",
    "return",
    "set",
    "shift",
    "shopt",
    "source",
    "suspend",
    "test",
    "times",
    "trap",
    "true",
    "type",
    "typeset",
    "ulimit",
    "umask",
    "unalias",
    "unset",
    "wait",
];

/// Variables bash rewrites, drops or acts on when it inherits them (the
/// "Bash Variables" of its manual that are not plain pass-through, and the
/// startup files of `BASH_ENV`/`ENV`): with any of them set, bash runs the
/// script. Names starting with `BASH` are in this set too.
const BASH_VARIABLES: &[&str] = &[
    "IFS",
    "PS1",
    "PS2",
    "PS4",
    "ENV",
    "SHELLOPTS",
    "POSIXLY_CORRECT",
    "EXECIGNORE",
    "LINENO",
    "OPTERR",
    "OPTIND",
    "PPID",
    "RANDOM",
    "SRANDOM",
    "SECONDS",
    "EPOCHREALTIME",
    "EPOCHSECONDS",
    "HISTCMD",
    "FUNCNAME",
    "GROUPS",
    "UID",
    "EUID",
    "DIRSTACK",
    "PIPESTATUS",
    "HOSTTYPE",
    "MACHTYPE",
    "OSTYPE",
    "TMOUT",
    "COMP_WORDBREAKS",
];

/// `script` as a simple command, when the stage's `shell` is the default
/// one and the script qualifies (see the module docs); `None` otherwise.
pub fn simple_command(shell: &[String], script: &str) -> Option<SimpleCommand> {
    let default = shell.is_empty()
        || shell
            .iter()
            .map(String::as_str)
            .eq(DEFAULT_SHELL.iter().copied());
    if !default {
        return None;
    }
    let line = script.trim_matches(|c| c == ' ' || c == '\t' || c == '\n');
    if line.is_empty() || line.contains('\n') {
        return None;
    }
    let words: Vec<String> = line
        .split([' ', '\t'])
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    let plain = |w: &String| {
        w.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./:@%+,=-".contains(&b))
    };
    let first = words.first()?;
    if !words.iter().all(plain) || first.contains(['=', '%']) {
        return None;
    }
    let alone = words.len() == 1 && (first == "true" || first == "false");
    if BASH_WORDS.contains(&first.as_str()) && !alone {
        return None;
    }
    Some(SimpleCommand {
        words,
        script: script.to_string(),
    })
}

/// How to start `command` directly in `cwd` with the environment `env`
/// (later entries win), or `None` when bash must run it (see the module
/// docs). Reads the file system: the `PATH` lookup, `cwd` and `OLDPWD`.
pub fn plan(command: &SimpleCommand, env: &[(OsString, OsString)], cwd: &Path) -> Option<Direct> {
    let mut vars: Vec<(OsString, OsString)> = Vec::with_capacity(env.len() + 3);
    let mut index: HashMap<&OsStr, usize> = HashMap::with_capacity(env.len());
    for (k, v) in env {
        let name = k.as_bytes();
        if name.starts_with(b"BASH") || BASH_VARIABLES.iter().any(|s| s.as_bytes() == name) {
            return None;
        }
        match index.get(k.as_os_str()) {
            Some(&i) => vars[i].1 = v.clone(),
            None => {
                index.insert(k, vars.len());
                vars.push((k.clone(), v.clone()));
            }
        }
    }
    let get = |vars: &[(OsString, OsString)], name: &str| {
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    };
    let path = get(&vars, "PATH")?;
    let (program, underscore) = lookup(&command.words[0], &path, cwd)?;
    let shlvl = match get(&vars, "SHLVL") {
        Some(v) => shell_level(&v)?,
        None => 1,
    };
    // Bash keeps an inherited absolute `PWD` naming the folder (after
    // cleaning it up); rare enough to leave to bash.
    if let Some(pwd) = get(&vars, "PWD") {
        if Path::new(&pwd).is_absolute() && same_file(Path::new(&pwd), cwd) {
            return None;
        }
    }
    let physical = physical_path(cwd)?;
    let keep_oldpwd = get(&vars, "OLDPWD").is_some_and(|d| !d.is_empty() && Path::new(&d).is_dir());
    vars.retain(|(k, _)| k != "OLDPWD" || keep_oldpwd);
    set(&mut vars, "PWD", physical.into_os_string());
    set(&mut vars, "SHLVL", shlvl.to_string().into());
    set(&mut vars, "_", underscore);
    Some(Direct { program, env: vars })
}

/// `folder`'s physical path (what `getcwd` gives in it): its parent's,
/// remembered from the last call (attempt folders of a run share their
/// parent), then its name, when that is a folder and not a link to one.
/// A first call, another parent, or anything unusual: `canonicalize`.
fn physical_path(folder: &Path) -> Option<PathBuf> {
    static LAST_PARENT: std::sync::Mutex<Option<(PathBuf, PathBuf)>> = std::sync::Mutex::new(None);
    let (Some(parent), Some(name)) = (folder.parent(), folder.file_name()) else {
        return std::fs::canonicalize(folder).ok();
    };
    let is_folder = || std::fs::symlink_metadata(folder).is_ok_and(|m| m.file_type().is_dir());
    let mut last = LAST_PARENT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((known, physical)) = last.as_ref() {
        if known == parent && name != ".." && name != "." && is_folder() {
            return Some(physical.join(name));
        }
    }
    let physical_parent = std::fs::canonicalize(parent).ok()?;
    let physical = if is_folder() && name != ".." && name != "." {
        Some(physical_parent.join(name))
    } else {
        std::fs::canonicalize(folder).ok()
    };
    *last = Some((parent.to_path_buf(), physical_parent));
    physical
}

fn set(vars: &mut Vec<(OsString, OsString)>, name: &str, value: OsString) {
    match vars.iter_mut().find(|(k, _)| k == name) {
        Some(entry) => entry.1 = value,
        None => vars.push((name.into(), value)),
    }
}

/// Bash's `SHLVL` for a child: the inherited number plus one (0 if that is
/// negative, 1 if it is not a number); `None` from 1000 on, where bash
/// warns and starts again at 1.
fn shell_level(inherited: &OsStr) -> Option<i64> {
    let level = match inherited.to_str().map(str::trim).map(str::parse::<i64>) {
        Some(Ok(n)) => n.saturating_add(1).max(0),
        _ => 1,
    };
    (level < 1000).then_some(level)
}

/// The file bash would execute for `word`, and the text it puts in `_`:
/// a word with a `/` is used as written; else each `PATH` entry in order
/// (an empty one is `.`), the first executable regular file. `None` when
/// there is none, or the word names something that is not one.
fn lookup(word: &str, path: &OsStr, cwd: &Path) -> Option<(PathBuf, OsString)> {
    if word.contains('/') {
        let file = cwd.join(word);
        return is_executable(&file).then(|| (file, word.into()));
    }
    path.as_bytes().split(|b| *b == b':').find_map(|dir| {
        let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
        let mut text = dir.to_vec();
        if !text.ends_with(b"/") {
            text.push(b'/');
        }
        text.extend_from_slice(word.as_bytes());
        let text = OsString::from(OsStr::from_bytes(&text));
        let file = cwd.join(&text);
        is_executable(&file).then_some((file, text))
    })
}

fn is_executable(path: &Path) -> bool {
    path.metadata().is_ok_and(|m| m.is_file())
        && nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok()
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.metadata(), b.metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// What bash does when its command is killed by `signal`: the exit code
/// (128 + N) and the line it writes to stderr (none for SIGINT and
/// SIGPIPE; `Terminated` for SIGTERM; else `FILE: line 1: PID DESCRIPTION
/// COMMAND`, the description padded to 24 columns, as bash 5.2 prints it).
pub fn killed_note(
    signal: i32,
    script_file: &Path,
    pid: u32,
    command: &SimpleCommand,
) -> (i32, Option<String>) {
    let code = 128 + signal;
    let description = describe(signal);
    let line = match signal {
        nix::libc::SIGINT | nix::libc::SIGPIPE => None,
        nix::libc::SIGTERM => Some(format!("{description}\n")),
        _ => Some(format!(
            "{}: line 1: {pid} {description:<24}{}\n",
            script_file.display(),
            command.words.join(" ")
        )),
    };
    (code, line)
}

/// glibc's `strsignal` text for `signal` (what bash prints), by number on
/// Linux x86-64/aarch64.
fn describe(signal: i32) -> String {
    const TEXT: [&str; 31] = [
        "Hangup",
        "Interrupt",
        "Quit",
        "Illegal instruction",
        "Trace/breakpoint trap",
        "Aborted",
        "Bus error",
        "Floating point exception",
        "Killed",
        "User defined signal 1",
        "Segmentation fault",
        "User defined signal 2",
        "Broken pipe",
        "Alarm clock",
        "Terminated",
        "Stack fault",
        "Child exited",
        "Continued",
        "Stopped (signal)",
        "Stopped",
        "Stopped (tty input)",
        "Stopped (tty output)",
        "Urgent I/O condition",
        "CPU time limit exceeded",
        "File size limit exceeded",
        "Virtual timer expired",
        "Profiling timer expired",
        "Window changed",
        "I/O possible",
        "Power failure",
        "Bad system call",
    ];
    usize::try_from(signal - 1)
        .ok()
        .and_then(|i| TEXT.get(i))
        .map_or_else(
            || format!("Real-time signal {}", signal - 34),
            |t| (*t).to_string(),
        )
}

#[cfg(test)]
mod tests;
