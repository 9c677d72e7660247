//! The Zed extension of flow: tells Zed how to start `flow lsp`, the
//! language server built into the `flow` binary. Highlighting and the
//! language's settings are plain files beside this crate (`languages/flow/`,
//! `extension.toml`); this is the only part Zed needs code for.

use zed_extension_api::{self as zed, Command, LanguageServerId, Result, Worktree};

/// Where the README says `flow` comes from, for the error shown when it is
/// missing.
const INSTALL_HINT: &str = "`flow` is not on PATH: install it from the flow repository with \
     `cargo install --locked --path crates/cli`, then restart the language server";

/// The extension; it keeps no state, as the server is found afresh each
/// time Zed starts it (so installing `flow` needs no restart of Zed).
struct FlowExtension;

impl zed::Extension for FlowExtension {
    fn new() -> Self {
        FlowExtension
    }

    /// `flow lsp`, with `flow` looked up on the worktree's PATH and run in
    /// the worktree's shell environment (so a `flow` installed by a shell
    /// profile or a tool like direnv is found, as in a terminal).
    fn language_server_command(
        &mut self,
        _language_server_id: &LanguageServerId,
        worktree: &Worktree,
    ) -> Result<Command> {
        let flow = worktree
            .which("flow")
            .ok_or_else(|| INSTALL_HINT.to_string())?;
        Ok(Command {
            command: flow,
            args: vec!["lsp".to_string()],
            env: worktree.shell_env(),
        })
    }
}

zed::register_extension!(FlowExtension);
