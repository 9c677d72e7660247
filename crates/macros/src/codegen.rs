//! The expansion of a checked flow: its constants, `Params`, `Builtins`
//! and the functions that run it (see the crate docs), or one
//! `compile_error!` per error.

use flow_dsl::ir::{Param, ParamType, Pipeline, Value};
use flow_dsl::Checked;
use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use std::path::Path;

/// The name `flow!` gives its inline flow in diagnostics.
pub(crate) const INLINE_NAME: &str = "inline.flow";

/// Where the flow came from.
pub(crate) enum Origin<'a> {
    /// `include_flow!`: an absolute path.
    File(&'a Path),
    /// `flow!`: the text, and the folder relative paths resolve from.
    Inline { text: &'a str, base: &'a Path },
}

/// The expansion of `checked`, every error spanned at `span` (the literal).
pub(crate) fn expand(checked: &Checked, origin: Origin<'_>, span: Span) -> TokenStream {
    let errors: Vec<TokenStream> = checked
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| compile_error(&crate::render::render(d, checked), span))
        .collect();
    if !errors.is_empty() {
        return quote!(#(#errors)*);
    }
    let Some(pipeline) = &checked.pipeline else {
        return compile_error(
            "this flow source has no `flow NAME { … }` block to run (a file of templates only?)",
            span,
        );
    };
    match items(checked, pipeline, &origin, span) {
        Ok(tokens) => tokens,
        Err(message) => compile_error(&message, span),
    }
}

fn compile_error(message: &str, span: Span) -> TokenStream {
    quote_spanned!(span=> ::core::compile_error!(#message);)
}

/// Everything a clean flow expands to.
fn items(
    checked: &Checked,
    pipeline: &Pipeline,
    origin: &Origin<'_>,
    span: Span,
) -> Result<TokenStream, String> {
    let name = &pipeline.name;
    let (file, source, base) = match origin {
        Origin::File(path) => {
            let file = path.display().to_string();
            let base = path
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| ".".into());
            (file.clone(), quote!(::core::include_str!(#file)), base)
        }
        Origin::Inline { text, base } => (
            INLINE_NAME.to_string(),
            quote!(#text),
            base.display().to_string(),
        ),
    };
    // Every other file it was checked from that is on disk (libraries,
    // skills): cargo rebuilds when one changes. `std` is compiled in.
    let tracked: Vec<String> = checked
        .sources
        .files()
        .map(|(_, f)| f.name.clone())
        .filter(|n| *n != file && Path::new(n).is_absolute() && Path::new(n).is_file())
        .collect();
    let params = params(&pipeline.params, span)?;
    let builtins = builtins(pipeline, span)?;
    let name_doc = format!("The flow's name, `{name}`.");
    Ok(quote! {
        #[doc = #name_doc]
        pub const FLOW_NAME: &str = #name;
        /// The flow's file (its name in diagnostics and in the journal).
        pub const FLOW_FILE: &str = #file;
        /// The flow's text, as checked when this crate was compiled.
        pub const FLOW_SOURCE: &str = #source;
        /// The folder relative `use` paths and `skills/` resolve from.
        const FLOW_BASE: &str = #base;
        #( const _: &[u8] = ::core::include_bytes!(#tracked); )*

        #params
        #builtins

        /// The flow checked again (as at compile time, by the same checker),
        /// with the hash of each source file for `resume`.
        fn checked() -> ::core::result::Result<
            (::flow_dsl::ir::Pipeline, ::std::collections::BTreeMap<::std::string::String, ::std::string::String>),
            ::flow_runtime::engine::EngineError,
        > {
            let mut checked = ::flow_dsl::check_source(FLOW_FILE, FLOW_SOURCE, ::std::path::Path::new(FLOW_BASE));
            let sources = ::flow_runtime::engine::source_hashes(
                checked.sources.files().map(|(_, f)| (f.name.as_str(), &*f.text)),
            );
            if let Some(d) = checked.diagnostics.iter().find(|d| d.is_error()) {
                return ::core::result::Result::Err(::flow_runtime::engine::EngineError::Check(
                    ::std::format!("{}: {}", d.code.as_str(), d.message),
                ));
            }
            match checked.pipeline.take() {
                ::core::option::Option::Some(p) => ::core::result::Result::Ok((p, sources)),
                ::core::option::Option::None => ::core::result::Result::Err(
                    ::flow_runtime::engine::EngineError::Check("no runnable flow".into()),
                ),
            }
        }

        /// The checked pipeline.
        ///
        /// # Errors
        /// A library or skill it loads from disk changed since compile time
        /// and no longer checks.
        pub fn pipeline() -> ::core::result::Result<::flow_dsl::ir::Pipeline, ::flow_runtime::engine::EngineError> {
            checked().map(|(p, _)| p)
        }

        /// An engine for the flow with `builtins` registered and its sources
        /// recorded (so `Engine::resume` checks them); configure it further
        /// (`base_dir`, `jobs`, `output` …) before `start`.
        ///
        /// # Errors
        /// As [`pipeline`].
        pub fn engine(builtins: Builtins) -> ::core::result::Result<::flow_runtime::engine::Engine, ::flow_runtime::engine::EngineError> {
            let (pipeline, sources) = checked()?;
            ::core::result::Result::Ok(
                ::flow_runtime::engine::Engine::new(pipeline)
                    .sources(sources)
                    .builtins(builtins.into()),
            )
        }

        /// Runs the flow to its end with the default engine options (runs in
        /// `./.flow`), on the current tokio runtime.
        ///
        /// # Errors
        /// Why the run could not be carried out (a run that failed is a
        /// report with that outcome).
        pub async fn run(builtins: Builtins, params: Params) -> ::core::result::Result<::flow_runtime::run::RunReport, ::flow_runtime::engine::EngineError> {
            engine(builtins)?.start(params.values())?.finish().await
        }
    })
}

/// A Rust identifier for `name` (raw when it is a keyword), or why not.
fn field(name: &str, span: Span) -> Result<syn::Ident, String> {
    if syn::parse_str::<syn::Ident>(name).is_ok() {
        return Ok(syn::Ident::new(name, span));
    }
    match name {
        "self" | "Self" | "super" | "crate" | "_" => Err(format!(
            "`{name}` cannot be a Rust field name: rename it in the flow"
        )),
        _ => Ok(syn::Ident::new_raw(name, span)),
    }
}

/// `Params`: fields, `new`, `Default` when every param has a default, and
/// `values`.
fn params(params: &[Param], span: Span) -> Result<TokenStream, String> {
    let mut fields = Vec::new();
    let mut required = Vec::new();
    let mut inits = Vec::new();
    let mut values = Vec::new();
    for p in params {
        let ident = field(&p.name, span)?;
        let ty = rust_type(p.ty);
        let doc = match &p.default {
            Some(v) => format!("`param {}: {}` (default `{}`).", p.name, p.ty, v.to_env()),
            None => format!("`param {}: {}` (required).", p.name, p.ty),
        };
        fields.push(quote!(#[doc = #doc] pub #ident: #ty));
        match &p.default {
            Some(v) => {
                let value = rust_value(p.ty, v)?;
                inits.push(quote!(#ident: #value));
            }
            None => {
                required.push(quote!(#ident: #ty));
                inits.push(quote!(#ident));
            }
        }
        let name = &p.name;
        let value = engine_value(p.ty, &ident);
        values.push(quote!((::std::string::String::from(#name), #value)));
    }
    let default = required.is_empty().then(|| {
        quote! {
            impl ::core::default::Default for Params {
                fn default() -> Params {
                    Params::new()
                }
            }
        }
    });
    Ok(quote! {
        /// The flow's params, typed.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Params {
            #(#fields,)*
        }

        impl Params {
            /// The params: the required ones given (in declaration order),
            /// the others at their defaults.
            #[allow(clippy::new_without_default, clippy::too_many_arguments)]
            pub fn new(#(#required),*) -> Params {
                Params { #(#inits,)* }
            }

            /// The values the engine takes (`Engine::start`).
            pub fn values(&self) -> ::std::vec::Vec<(::std::string::String, ::flow_dsl::ir::Value)> {
                ::std::vec![#(#values),*]
            }
        }

        #default
    })
}

fn rust_type(ty: ParamType) -> TokenStream {
    match ty {
        ParamType::Int => quote!(i64),
        ParamType::Float => quote!(f64),
        ParamType::Bool => quote!(bool),
        ParamType::Str | ParamType::Skill => quote!(::std::string::String),
        ParamType::Path => quote!(::std::path::PathBuf),
        ParamType::Duration => quote!(::std::time::Duration),
        ParamType::ListStr => quote!(::std::vec::Vec<::std::string::String>),
    }
}

/// A default as a Rust expression of the field's type.
fn rust_value(ty: ParamType, value: &Value) -> Result<TokenStream, String> {
    Ok(match (ty, value) {
        (_, Value::Int(i)) => {
            let lit = Literal::i64_suffixed(*i);
            quote!(#lit)
        }
        (_, Value::Float(x)) => {
            // Exact, whatever the value (a literal would round-trip only
            // for finite ones).
            let bits = Literal::u64_suffixed(x.to_bits());
            quote!(f64::from_bits(#bits))
        }
        (_, Value::Bool(b)) => quote!(#b),
        (ParamType::Path, Value::Str(s)) => quote!(::std::path::PathBuf::from(#s)),
        (_, Value::Str(s)) => quote!(::std::string::String::from(#s)),
        (_, Value::Duration(d)) => {
            let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
            quote!(::std::time::Duration::new(#secs, #nanos))
        }
        (_, Value::List(items)) => quote!(::std::vec![#(::std::string::String::from(#items)),*]),
    })
}

/// The engine's value of field `ident`.
fn engine_value(ty: ParamType, ident: &syn::Ident) -> TokenStream {
    match ty {
        ParamType::Int => quote!(::flow_dsl::ir::Value::Int(self.#ident)),
        ParamType::Float => quote!(::flow_dsl::ir::Value::Float(self.#ident)),
        ParamType::Bool => quote!(::flow_dsl::ir::Value::Bool(self.#ident)),
        ParamType::Str | ParamType::Skill => {
            quote!(::flow_dsl::ir::Value::Str(::core::clone::Clone::clone(&self.#ident)))
        }
        ParamType::Path => {
            quote!(::flow_dsl::ir::Value::Str(self.#ident.to_string_lossy().into_owned()))
        }
        ParamType::Duration => quote!(::flow_dsl::ir::Value::Duration(self.#ident)),
        ParamType::ListStr => {
            quote!(::flow_dsl::ir::Value::List(::core::clone::Clone::clone(&self.#ident)))
        }
    }
}

/// `Builtins`: one field per builtin the flow names (`-` → `_`), and its
/// conversion to the runtime's registry.
fn builtins(pipeline: &Pipeline, span: Span) -> Result<TokenStream, String> {
    let mut fields = Vec::new();
    let mut inserts = Vec::new();
    let mut seen: Vec<(String, &str)> = Vec::new();
    for name in pipeline.builtins() {
        let rust = name.replace('-', "_");
        if let Some((_, other)) = seen.iter().find(|(r, _)| *r == rust) {
            return Err(format!(
                "builtins `{other}` and `{name}` would both be the Rust field `{rust}`: rename one"
            ));
        }
        let ident = field(&rust, span)?;
        let stages: Vec<&str> = pipeline
            .stages
            .iter()
            .filter(|s| s.builtin.as_deref() == Some(name))
            .map(|s| s.name.as_str())
            .collect();
        let doc = format!(
            "`run builtin \"{name}\"` (stage{} {}).",
            if stages.len() == 1 { "" } else { "s" },
            stages.join(", ")
        );
        fields.push(quote!(#[doc = #doc] pub #ident: ::flow_runtime::builtin::Builtin));
        inserts.push(quote!(registry.insert(#name, builtins.#ident);));
        seen.push((rust, name));
    }
    let derive = fields.is_empty().then(|| quote!(#[derive(Default)]));
    Ok(quote! {
        /// The functions of the flow's builtin stages, one field per
        /// builtin (`flow_runtime::builtin::Builtin::new(my_async_fn)`).
        #[derive(Clone, Debug)]
        #derive
        pub struct Builtins {
            #(#fields,)*
        }

        impl ::core::convert::From<Builtins> for ::flow_runtime::builtin::Builtins {
            #[allow(unused_variables, unused_mut)]
            fn from(builtins: Builtins) -> ::flow_runtime::builtin::Builtins {
                let mut registry = ::flow_runtime::builtin::Builtins::new();
                #(#inserts)*
                registry
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// A file's error names the file, line, column, code and help.
    #[test]
    fn an_error_is_a_compile_error_naming_the_file_position_and_code() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.flow");
        let text = "flow b {\n  timeout 1m\n  stage test { needs biuld  run \"t\" }\n  stage build { run \"b\" }\n}\n";
        std::fs::write(&path, text).unwrap();
        let checked = flow_dsl::check_file(&path);
        let tokens = expand(&checked, Origin::File(&path), Span::call_site()).to_string();
        let expected = format!(
            "{}:3:22: F0003: unknown stage `biuld` (no such stage)\\n  = help: did you mean `build`?",
            path.display()
        );
        assert!(tokens.contains("compile_error"), "{tokens}");
        assert!(tokens.contains(&expected), "{tokens}");
    }

    /// Every file on disk the flow was checked from is tracked, so cargo
    /// rebuilds when a library or skill changes.
    #[test]
    fn library_and_skill_files_are_tracked_for_rebuilds() {
        let path = repo()
            .join("tests/check/library_ok.flow")
            .canonicalize()
            .unwrap();
        let checked = flow_dsl::check_file(&path);
        assert!(!checked.has_errors(), "{:#?}", checked.diagnostics);
        let tokens = expand(&checked, Origin::File(&path), Span::call_site()).to_string();
        for file in [
            "lib_ok/review.flow",
            "lib_ok/shell.flow",
            "lib_ok/skills/x.md",
        ] {
            let included = format!(
                "include_bytes ! (\"{}",
                path.parent().unwrap().join(file).display()
            );
            assert!(tokens.contains(&included), "{file} not tracked in {tokens}");
        }
        assert!(tokens.contains("include_str ! ("), "{tokens}");
    }

    /// Names that Rust reserves become raw identifiers; builtins that
    /// would share a field are refused.
    #[test]
    fn keywords_become_raw_fields_and_clashing_builtins_are_refused() {
        assert_eq!(
            field("type", Span::call_site()).unwrap().to_string(),
            "r#type"
        );
        assert_eq!(
            field("issue", Span::call_site()).unwrap().to_string(),
            "issue"
        );
        assert!(field("self", Span::call_site()).is_err());
        let text = "flow b {\n  timeout 1m\n  stage a { run builtin \"x-y\" }\n  stage b { run builtin \"x_y\" }\n}\n";
        let checked = flow_dsl::check_source("b.flow", text, Path::new("."));
        let tokens = expand(
            &checked,
            Origin::Inline {
                text,
                base: Path::new("."),
            },
            Span::call_site(),
        )
        .to_string();
        assert!(
            tokens.contains("builtins `x-y` and `x_y` would both be the Rust field `x_y`"),
            "{tokens}"
        );
    }
}
