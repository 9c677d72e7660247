//! `flow lsp`: the language server for editors, on stdin/stdout (the
//! server itself is `crate::lsp`).

/// Serves one editor until it says `exit`. Exit 0 after `shutdown` and
/// `exit`, 1 otherwise (LSP's rule), the reason on stderr.
pub fn run() -> u8 {
    match crate::lsp::serve() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("flow lsp: {e}");
            1
        }
    }
}
