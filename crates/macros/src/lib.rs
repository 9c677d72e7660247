//! `flow-macros`: flows checked when the Rust program is compiled.
//!
//! [`include_flow!`] reads a `.flow` file (a path relative to the
//! including crate's root, `CARGO_MANIFEST_DIR`, as `include_str!` does
//! not but sqlx's `migrate!` does), [`flow!`] takes the flow inline as a
//! string literal. Both run the checker of `flow check` at compile time:
//! every error becomes a `compile_error!` at the macro's argument, naming
//! the flow file, line, column, code, message and help. A clean flow
//! expands, in place, to:
//!
//! - `Params`: one public field per flow `param`, typed (`int` → `i64`,
//!   `float` → `f64`, `bool`, `str` → `String`, `path` →
//!   `std::path::PathBuf`, `duration` → `std::time::Duration`,
//!   `list<str>` → `Vec<String>`); `Params::new(required…)` takes the
//!   params without a default in declaration order, `Default` exists when
//!   every param has one, `Params::values` gives the engine's values;
//! - `Builtins`: one public field per builtin the flow names (`run builtin
//!   "fetch-issue"` → `fetch_issue: flow_runtime::builtin::Builtin`), so a
//!   missing one is a compile error;
//! - `pipeline()`, `engine(Builtins)`, `run(Builtins, Params)` and the
//!   constants `FLOW_NAME`, `FLOW_FILE`, `FLOW_SOURCE`.
//!
//! Put each call in a module of its own (`mod greet { flow_macros::include_flow!("flows/greet.flow"); }`).
//! The crate using it depends on `flow-dsl` and `flow-runtime` too (the
//! expansion names them). docs/embedding.md has the whole story.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod codegen;
mod render;

use proc_macro::TokenStream;
use std::path::{Path, PathBuf};
use syn::{parse_macro_input, LitStr};

/// Checks the flow file at the given path (relative to the including
/// crate's `CARGO_MANIFEST_DIR`) at compile time and expands to its typed
/// params, builtins and run functions (see the crate docs). The expansion
/// `include_bytes!`es every file the flow was checked from, so cargo
/// rebuilds when one changes.
#[proc_macro]
pub fn include_flow(input: TokenStream) -> TokenStream {
    let lit = parse_macro_input!(input as LitStr);
    let root = manifest_dir();
    let path = root.join(lit.value());
    if !path.is_file() {
        let message = format!(
            "include_flow!: {} is not a file (the path is relative to {})",
            path.display(),
            root.display()
        );
        return syn::Error::new(lit.span(), message)
            .to_compile_error()
            .into();
    }
    let path = std::path::absolute(&path).unwrap_or(path);
    let checked = flow_dsl::check_file(&path);
    codegen::expand(&checked, codegen::Origin::File(&path), lit.span()).into()
}

/// Checks an inline flow at compile time and expands like
/// [`include_flow!`]. The flow is one string literal, raw so that `"…"`,
/// `"""` scripts and `#` comments pass Rust's tokenizer untouched:
/// `flow!(r#"flow hello { … }"#)`. Relative `use` paths and `skills/`
/// resolve from the crate's `CARGO_MANIFEST_DIR`; diagnostics name the
/// flow `inline.flow` with lines counted from the literal's first line.
#[proc_macro]
pub fn flow(input: TokenStream) -> TokenStream {
    let lit = parse_macro_input!(input as LitStr);
    let root = manifest_dir();
    let text = lit.value();
    let checked = flow_dsl::check_source(codegen::INLINE_NAME, &text, &root);
    codegen::expand(
        &checked,
        codegen::Origin::Inline {
            text: &text,
            base: &root,
        },
        lit.span(),
    )
    .into()
}

/// The including crate's root (cargo sets it for every compilation).
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(".").to_path_buf())
}
