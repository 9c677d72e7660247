//! `flow completions bash|zsh|fish`: the shell script that completes
//! `flow`'s commands and options, and a flow's own params after
//! `flow run FILE`.
//!
//! The scripts are clap_complete's dynamic ones: at each Tab the shell runs
//! `FLOW_COMPLETE=<shell> flow -- <words…>` and `flow` answers from its own
//! command line definition ([`complete_env`], first thing in `main`), so
//! completions never go stale. The params of `flow run FILE` come from
//! checking FILE ([`RunArgs`]).

use clap::CommandFactory;
use clap_complete::engine::{CompletionCandidate, PathCompleter, ValueCompleter};
use clap_complete::env::{Bash, EnvCompleter, Fish, Zsh};
use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;

/// The variable that makes `flow` answer a completion request.
const VAR: &str = "FLOW_COMPLETE";

/// A shell `flow completions` writes a script for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    /// `source <(flow completions bash)` in ~/.bashrc.
    Bash,
    /// `source <(flow completions zsh)` in ~/.zshrc.
    Zsh,
    /// `flow completions fish | source` in ~/.config/fish/config.fish.
    Fish,
}

/// Answers a completion request and exits, when `FLOW_COMPLETE` is set;
/// otherwise returns and `flow` runs as usual. `C` is `flow`'s command line.
pub fn complete_env<C: CommandFactory>() {
    clap_complete::CompleteEnv::with_factory(C::command)
        .var(VAR)
        .complete();
}

/// Prints the script for `shell`, which calls this very binary back. Exit
/// 0, or 2 when stdout cannot be written.
pub fn run(shell: Shell) -> u8 {
    let completer = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "flow".to_string());
    let script: &dyn EnvCompleter = match shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
    };
    let mut out = std::io::stdout().lock();
    match script
        .write_registration(VAR, "flow", "flow", &completer, &mut out)
        .and_then(|()| out.flush())
    {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: cannot write the script: {e}");
            crate::EXIT_USAGE
        }
    }
}

/// Completes the words after `flow run`: a file first, then the options
/// of that file's flow (its params, `--jobs` …), read by checking it.
pub struct RunArgs;

impl ValueCompleter for RunArgs {
    // clap_complete numbers the values of a trailing argument unreliably
    // (`arg_index`), so the words of the request say which is being
    // completed: the one right after `run` is the file.
    fn complete(&self, current: &OsStr) -> Vec<CompletionCandidate> {
        let current_text = current.to_string_lossy();
        match file_after_run(std::env::args()) {
            Some(file) if file != current_text => {
                // An option's value (`--issue 4…`) is not completed.
                if !current_text.is_empty() && !current_text.starts_with('-') {
                    return Vec::new();
                }
                options_of(&file)
                    .into_iter()
                    .filter(|c| c.get_value().to_string_lossy().starts_with(&*current_text))
                    .collect()
            }
            _ => PathCompleter::file()
                .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "flow"))
                .complete(current),
        }
    }
}

/// The FILE of `flow run FILE …` in a completion request's words (`flow --
/// flow run FILE …`).
fn file_after_run(args: impl Iterator<Item = String>) -> Option<String> {
    let mut words = args.skip_while(|a| a != "--").skip(2);
    while let Some(w) = words.next() {
        if w == "run" {
            return words.next();
        }
        if !w.starts_with('-') {
            return None;
        }
    }
    None
}

/// `--NAME` for each option of `flow run FILE`, with its help; nothing when
/// the file does not check.
fn options_of(file: &str) -> Vec<CompletionCandidate> {
    let path = Path::new(file);
    if !path.is_file() {
        return Vec::new();
    }
    let options = flow_dsl::CheckOptions { scripts: false };
    let Some(pipeline) = crate::libs::check_file(path, None, options).pipeline else {
        return Vec::new();
    };
    let Ok(cmd) = crate::params::command(&pipeline, file, true) else {
        return Vec::new();
    };
    cmd.get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| {
            let long = a.get_long()?;
            let help = a.get_help().cloned();
            Some(CompletionCandidate::new(format!("--{long}")).help(help))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::file_after_run;

    fn words(s: &str) -> impl Iterator<Item = String> + '_ {
        s.split(' ').map(String::from)
    }

    #[test]
    fn finds_the_file_after_run() {
        assert_eq!(
            file_after_run(words("flow -- flow run x.flow --is")).as_deref(),
            Some("x.flow")
        );
        assert_eq!(file_after_run(words("flow -- flow check x.flow")), None);
        assert_eq!(file_after_run(words("flow -- flow run")), None);
    }
}
