//! The Zed extension (`editors/zed/`), as far as it can be checked without
//! Zed: its Rust part builds to a WebAssembly module Zed can load; its
//! manifests agree with each other and with the tree-sitter grammar; and its
//! queries are the grammar's own, so `editors/tree-sitter-flow/queries/`
//! stays the one source of the highlighting.
//!
//! **The queries' rule.** `highlights.scm` and `injections.scm` in
//! `editors/zed/languages/flow/` are [`derive`]d from the grammar's files of
//! the same name: a header saying so, then the file with each capture name
//! of [`ZED_NAMES`] renamed (names Zed's themes style under another name;
//! any other name Zed resolves itself, see [`zed_style`]). After editing the
//! grammar's queries, `FLOW_UPDATE_ZED_QUERIES=1 cargo test -p flow-cli
//! --test zed_extension` rewrites the copies. `brackets.scm`, `indents.scm`
//! and `outline.scm` are Zed's alone (no other editor reads them); they are
//! compiled against the grammar here like the copies.
//!
//! Needs the tree-sitter CLI (see `tests/tree_sitter.rs`, or
//! `FLOW_TEST_TREE_SITTER`); without it the tests fail and say so. The
//! WebAssembly build needs the `wasm32-wasip1` Rust target (`rustup target
//! add wasm32-wasip1`; `.ci/run` does). A machine whose toolchain lacks it
//! and cannot download it (rustup's server is not among the registries every
//! machine here reaches) type-checks the extension for its own target
//! instead, and the test prints that the WebAssembly build was not tried.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::repo_root;

/// The extension's folder, relative to the repository root.
const EXTENSION: &str = "editors/zed";

/// The tree-sitter grammar's folder, relative to the repository root.
const GRAMMAR: &str = "editors/tree-sitter-flow";

/// The WebAssembly target the test builds for (the one `.ci/run` installs).
const WASM_TARGET: &str = "wasm32-wasip1";

/// Queries Zed reads that are copies of the grammar's, by [`derive`].
const DERIVED_QUERIES: &[&str] = &["highlights.scm", "injections.scm"];

/// Queries only Zed reads, written for it.
const ZED_ONLY_QUERIES: &[&str] = &["brackets.scm", "indents.scm", "outline.scm"];

/// Capture names the grammar's queries use (the names of nvim-treesitter and
/// the tree-sitter CLI) that no style of Zed's themes matches, and the name
/// Zed's themes give the same thing.
const ZED_NAMES: &[(&str, &str)] = &[("module", "namespace")];

/// The syntax styles of Zed's bundled themes (One Dark and One Light's
/// `syntax` keys, which the other bundled themes share), as of
/// zed_extension_api 0.7.
const ZED_THEME_STYLES: &[&str] = &[
    "attribute",
    "boolean",
    "comment",
    "comment.doc",
    "constant",
    "constructor",
    "embedded",
    "emphasis",
    "emphasis.strong",
    "enum",
    "function",
    "hint",
    "keyword",
    "label",
    "link_text",
    "link_uri",
    "namespace",
    "number",
    "operator",
    "predictive",
    "preproc",
    "primary",
    "property",
    "punctuation",
    "punctuation.bracket",
    "punctuation.delimiter",
    "punctuation.list_marker",
    "punctuation.markup",
    "punctuation.special",
    "selector",
    "selector.pseudo",
    "string",
    "string.escape",
    "string.regex",
    "string.special",
    "string.special.symbol",
    "tag",
    "text.literal",
    "title",
    "type",
    "variable",
    "variable.special",
    "variant",
];

fn read(rel: &str) -> String {
    let path = repo_root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------
// The queries' rule

/// The style of [`ZED_THEME_STYLES`] Zed gives a capture: the style with the
/// most dot-separated parts, all of which are parts of the capture's name
/// (`type.builtin` is styled as `type`, `string.special.path` as
/// `string.special`); `None` when no style matches, as for `module`.
fn zed_style(capture: &str) -> Option<&'static str> {
    let parts: Vec<&str> = capture.split('.').collect();
    ZED_THEME_STYLES
        .iter()
        .filter(|style| style.split('.').all(|p| parts.contains(&p)))
        .max_by_key(|style| style.split('.').count())
        .copied()
}

/// Splits a query into pieces, each either text or a capture name (the
/// name after `@`, without it); comments and strings are text, so an `@`
/// in them is not a capture.
fn pieces(query: &str) -> Vec<(bool, &str)> {
    let mut out = Vec::new();
    let bytes = query.as_bytes();
    let (mut i, mut text_from) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b';' => i = query[i..].find('\n').map_or(bytes.len(), |n| i + n),
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'@' => {
                let start = i + 1;
                let mut end = start;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric() || b"._-".contains(&bytes[end]))
                {
                    end += 1;
                }
                out.push((false, &query[text_from..start]));
                out.push((true, &query[start..end]));
                (i, text_from) = (end, end);
            }
            _ => i += 1,
        }
    }
    out.push((false, &query[text_from.min(bytes.len())..]));
    out
}

/// The capture names of a query, in order.
fn captures(query: &str) -> Vec<&str> {
    pieces(query)
        .into_iter()
        .filter_map(|(is_capture, s)| is_capture.then_some(s))
        .collect()
}

/// Zed's copy of a grammar query `name`: a header naming its source, then
/// the source with the captures of [`ZED_NAMES`] renamed.
fn derive(name: &str, source: &str) -> String {
    let mut out = format!(
        "; Made from {GRAMMAR}/queries/{name} by the rule in\n\
         ; crates/cli/tests/zed_extension.rs: edit that query, not this copy.\n\n"
    );
    for (is_capture, s) in pieces(source) {
        let renamed = ZED_NAMES.iter().find(|(from, _)| is_capture && *from == s);
        out.push_str(renamed.map_or(s, |(_, to)| to));
    }
    out
}

#[test]
fn zed_queries_are_the_grammars_by_the_documented_rule() {
    let update = std::env::var_os("FLOW_UPDATE_ZED_QUERIES").is_some();
    for name in DERIVED_QUERIES {
        let want = derive(name, &read(&format!("{GRAMMAR}/queries/{name}")));
        let rel = format!("{EXTENSION}/languages/flow/{name}");
        if update {
            std::fs::write(repo_root().join(&rel), &want).unwrap();
        }
        assert!(
            read(&rel) == want,
            "{rel} is not what the rule makes of {GRAMMAR}/queries/{name}: \
             edit the grammar's query, then run \
             `FLOW_UPDATE_ZED_QUERIES=1 cargo test -p flow-cli --test zed_extension`"
        );
    }
}

#[test]
fn every_highlight_capture_has_a_zed_style_and_every_renaming_is_needed() {
    let zed = read(&format!("{EXTENSION}/languages/flow/highlights.scm"));
    for capture in captures(&zed) {
        assert!(
            zed_style(capture).is_some(),
            "@{capture} matches no style of Zed's themes: add it to ZED_NAMES"
        );
    }
    // A renaming is there because Zed would leave its name unstyled, and the
    // grammar uses it; otherwise it is stale.
    let source = read(&format!("{GRAMMAR}/queries/highlights.scm"));
    for (from, to) in ZED_NAMES {
        assert_eq!(zed_style(from), None, "@{from} is styled by Zed as it is");
        assert_eq!(zed_style(to), Some(*to), "@{to} is not a Zed style");
        assert!(
            captures(&source).contains(from),
            "no @{from} in the grammar's highlights"
        );
    }
}

#[test]
fn the_rule_renames_captures_only_and_zed_style_matches_as_zed_does() {
    // The checks above lean on these helpers; they could pass vacuously if
    // `derive` renamed nothing or `zed_style` matched everything.
    let q = "; @module in a comment\n(std) @module\n(x \"@module\") @module.builtin\n";
    assert_eq!(
        derive("q.scm", q).split_once("\n\n").unwrap().1,
        "; @module in a comment\n(std) @namespace\n(x \"@module\") @module.builtin\n"
    );
    assert_eq!(captures(q), ["module", "module.builtin"]);
    assert_eq!(zed_style("type.builtin"), Some("type"));
    assert_eq!(zed_style("string.special.path"), Some("string.special"));
    assert_eq!(
        zed_style("punctuation.bracket"),
        Some("punctuation.bracket")
    );
    assert_eq!(zed_style("module"), None);
    assert_eq!(zed_style("keywords"), None);
}

#[test]
fn the_extensions_queries_are_the_known_ones() {
    // A query added to either folder must be classified above, so it is
    // checked (a copy by the rule, a Zed-only one by compiling it).
    let names = |rel: &str| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(repo_root().join(rel))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".scm"))
            .collect();
        v.sort();
        v
    };
    let mut known: Vec<&str> = DERIVED_QUERIES
        .iter()
        .chain(ZED_ONLY_QUERIES)
        .copied()
        .collect();
    known.sort();
    assert_eq!(names(&format!("{EXTENSION}/languages/flow")), known);
    // The grammar's queries Zed does not read: locals (Zed has no use for them).
    let grammar: Vec<String> = names(&format!("{GRAMMAR}/queries"));
    for q in &grammar {
        assert!(
            DERIVED_QUERIES.contains(&q.as_str()) || q == "locals.scm",
            "{GRAMMAR}/queries/{q} is neither copied to Zed nor known to be unused by it"
        );
    }
}

/// The tree-sitter CLI: `FLOW_TEST_TREE_SITTER`, else `tree-sitter` on
/// `PATH`; fails, saying how to install it, when there is none.
fn tree_sitter() -> PathBuf {
    std::env::var_os("FLOW_TEST_TREE_SITTER")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .map(|dir| dir.join("tree-sitter"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "checking the Zed queries needs the tree-sitter CLI on PATH \
                 (`cargo install --locked tree-sitter-cli@VERSION`, VERSION as in \
                 {GRAMMAR}/package.json; .ci/run does), or FLOW_TEST_TREE_SITTER"
            )
        })
}

/// Copies `from` into `to`, skipping `node_modules`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_name() == "node_modules" {
            continue;
        } else if src.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

#[test]
fn every_zed_query_compiles_against_the_grammar_and_matches() {
    // Zed drops a query that names a node the grammar lacks, silently: so
    // each is run by the tree-sitter CLI over the grammar's highlight test,
    // in a copy of the grammar with the CLI's caches beside it.
    let cli = tree_sitter();
    let tmp = tempfile::tempdir().unwrap();
    let grammar = tmp.path().join("tree-sitter-flow");
    copy_tree(&repo_root().join(GRAMMAR), &grammar);
    let cache = tmp.path().join("cache");
    for name in DERIVED_QUERIES.iter().chain(ZED_ONLY_QUERIES) {
        let query = repo_root()
            .join(EXTENSION)
            .join("languages/flow")
            .join(name);
        let out = Command::new(&cli)
            .arg("query")
            .arg(&query)
            .arg("test/highlight/stages.flow")
            .current_dir(&grammar)
            .env("TREE_SITTER_LIBDIR", cache.join("lib"))
            .env("TREE_SITTER_DIR", cache.join("config"))
            .env("XDG_CACHE_HOME", &cache)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", cli.display()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("capture:"),
            "{name} does not compile against the grammar, or matches nothing:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

// ---------------------------------------------------------------------------
// The manifests

/// The `key = value` lines of a TOML file, by `section.key` (top-level keys
/// by `key`), values as written. Enough for these manifests: a value that
/// spans lines (an array) is joined up to its closing `]`. The `toml` crate
/// is not a dependency of this crate, and one is not worth adding for this.
fn toml_values(text: &str) -> BTreeMap<String, String> {
    let (mut out, mut section) = (BTreeMap::new(), String::new());
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = format!("{name}.");
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not a `key = value` line: {line}"));
        let mut value = value.trim().to_string();
        if value == "[" {
            for next in lines.by_ref() {
                value.push_str(next);
                if next == "]" {
                    break;
                }
            }
        }
        let prev = out.insert(format!("{section}{}", key.trim()), value);
        assert!(prev.is_none(), "key {section}{} twice", key.trim());
    }
    out
}

/// A TOML basic string's contents (`"flow"` -> `flow`).
fn string(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not a string: {value}"))
}

/// A value in the file: fails naming the key when it is absent.
fn get<'a>(values: &'a BTreeMap<String, String>, file: &str, key: &str) -> &'a str {
    values
        .get(key)
        .unwrap_or_else(|| panic!("{file} has no `{key}`"))
}

fn manifest() -> BTreeMap<String, String> {
    toml_values(&read(&format!("{EXTENSION}/extension.toml")))
}

fn language_config() -> BTreeMap<String, String> {
    toml_values(&read(&format!("{EXTENSION}/languages/flow/config.toml")))
}

/// The one `[grammars.NAME]` of the manifest: its name.
fn grammar_name(manifest: &BTreeMap<String, String>) -> String {
    let names: Vec<&str> = manifest
        .keys()
        .filter_map(|k| k.strip_prefix("grammars.")?.split_once('.'))
        .map(|(name, _)| name)
        .collect();
    assert!(!names.is_empty(), "extension.toml declares no [grammars.…]");
    assert!(
        names.iter().all(|n| *n == names[0]),
        "several grammars: {names:?}"
    );
    names[0].to_string()
}

#[test]
fn manifest_names_the_language_server_and_the_grammar_folder() {
    let m = manifest();
    let file = "extension.toml";
    assert_eq!(get(&m, file, "id"), "\"flow\"");
    assert_eq!(get(&m, file, "version"), "\"0.1.0\"");
    assert_eq!(get(&m, file, "schema_version"), "1");
    for key in ["name", "description", "authors", "repository"] {
        get(&m, file, key);
    }
    assert_eq!(
        get(&m, file, "language_servers.flow-lsp.languages"),
        "[\"Flow\"]"
    );
    get(&m, file, "language_servers.flow-lsp.name");

    // The grammar: where Zed fetches it from, at which commit, and where in
    // that repository (this repository: the folder must exist).
    let grammar = grammar_name(&m);
    assert_eq!(grammar, "flow");
    let key = |k: &str| format!("grammars.{grammar}.{k}");
    let path = string(get(&m, file, &key("path")));
    assert_eq!(path, GRAMMAR);
    let folder = repo_root().join(path);
    for f in ["grammar.js", "src/parser.c", "src/scanner.c"] {
        assert!(folder.join(f).is_file(), "{path}/{f} missing");
    }
    // The documented placeholder: docs/editors.md says to replace it.
    let repository = string(get(&m, file, &key("repository")));
    assert!(
        read("docs/editors.md").contains(repository),
        "docs/editors.md does not mention the grammar's repository {repository}"
    );
    // Zed fetches the grammar at `rev` (a commit: `commit` is its older
    // name); it must be a commit of this repository that holds the grammar.
    let rev = string(get(&m, file, &key("rev")));
    assert!(
        rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()),
        "rev {rev} is not a full commit id"
    );
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(repo_root())
            .output()
            .expect("git")
    };
    let shallow = git(&["rev-parse", "--is-shallow-repository"]);
    if String::from_utf8_lossy(&shallow.stdout).trim() == "true" {
        eprintln!("note: a shallow clone; not checking that commit {rev} holds the grammar");
    } else {
        let found = git(&["cat-file", "-e", &format!("{rev}:{path}/grammar.js")]);
        assert!(
            found.status.success(),
            "commit {rev} (extension.toml's grammar rev) has no {path}/grammar.js"
        );
    }
}

#[test]
fn language_config_uses_the_manifests_grammar_and_language_name() {
    let m = manifest();
    let c = language_config();
    let file = "languages/flow/config.toml";
    assert_eq!(string(get(&c, file, "grammar")), grammar_name(&m));
    // The language server is attached to the language by this name.
    assert_eq!(
        format!("[{}]", get(&c, file, "name")),
        get(&m, "extension.toml", "language_servers.flow-lsp.languages")
    );
    assert_eq!(get(&c, file, "path_suffixes"), "[\"flow\"]");
    assert_eq!(get(&c, file, "line_comments"), "[\"# \"]");
    assert_eq!(get(&c, file, "tab_size"), "2");
    let brackets = get(&c, file, "brackets");
    for pair in [
        r#"{ start = "{", end = "}""#,
        r#"{ start = "[", end = "]""#,
        r#"{ start = "(", end = ")""#,
        r#"{ start = "\"", end = "\"""#,
    ] {
        assert!(brackets.contains(pair), "no bracket pair `{pair}`");
    }
}

#[test]
fn language_server_is_flow_lsp_and_a_missing_flow_says_how_to_install_it() {
    // What Zed runs can only be seen in the source without Zed: `flow`
    // found on the worktree's PATH, with `lsp`, and the README's install
    // command in the error when it is missing.
    // (Whitespace removed: rustfmt may break a method chain over lines.)
    let lib = read(&format!("{EXTENSION}/src/lib.rs"));
    let code: String = lib.split_whitespace().collect();
    for needle in [
        "worktree.which(\"flow\")",
        "args:vec![\"lsp\"",
        "env:worktree.shell_env()",
    ] {
        assert!(code.contains(needle), "src/lib.rs lacks {needle}");
    }
    let install = "cargo install --locked --path crates/cli";
    assert!(
        read("README.md").contains(install),
        "the README no longer says `{install}`"
    );
    assert!(
        lib.contains(install),
        "src/lib.rs's error does not say `{install}`"
    );
}

// ---------------------------------------------------------------------------
// The build

/// Whether the Rust toolchain has `target`'s standard library (in the
/// sysroot, whoever installed it).
fn has_target(rustc: &str, target: &str) -> bool {
    let out = Command::new(rustc)
        .args(["--print", "sysroot"])
        .current_dir(repo_root().join(EXTENSION))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {rustc}: {e}"));
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    sysroot.join("lib/rustlib").join(target).is_dir()
}

#[test]
fn a_missing_target_is_told_from_an_installed_one() {
    assert!(!has_target("rustc", "wasm32-flow-none"));
    assert!(has_target("rustc", "x86_64-unknown-linux-gnu") || !cfg!(target_arch = "x86_64"));
}

/// Runs `cargo ARGS` in the extension's folder with its own target folder,
/// kept between runs (a build takes a minute from scratch), away from the
/// workspace's; fails with cargo's errors.
fn cargo_in_extension(args: &[&str], target_dir: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(&cargo)
        .args(args)
        .current_dir(repo_root().join(EXTENSION))
        .env("CARGO_TARGET_DIR", target_dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cargo}: {e}"));
    assert!(
        out.status.success(),
        "cargo {} of {EXTENSION} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn extension_builds_to_a_zed_wasm_module() {
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("zed-extension");
    if !has_target("rustc", WASM_TARGET) {
        eprintln!(
            "NOTE: no {WASM_TARGET} target (run `rustup target add {WASM_TARGET}`): \
             the extension is type-checked for this machine's target, its WebAssembly \
             build is not tried"
        );
        cargo_in_extension(&["check", "--locked"], &target_dir);
        return;
    }
    cargo_in_extension(
        &["build", "--release", "--locked", "--target", WASM_TARGET],
        &target_dir,
    );
    let wasm = target_dir.join(WASM_TARGET).join("release/flow_zed.wasm");
    let bytes = std::fs::read(&wasm).unwrap_or_else(|e| panic!("no {}: {e}", wasm.display()));
    assert!(
        bytes.starts_with(b"\0asm"),
        "{} is not WebAssembly",
        wasm.display()
    );
    // zed_extension_api stamps the API version it was built with in a
    // custom section; Zed reads it to decide how to load the extension.
    assert!(
        bytes.windows(15).any(|w| w == b"zed:api-version"),
        "{} has no zed:api-version section: not built with zed_extension_api",
        wasm.display()
    );
    eprintln!("{}: {} bytes", wasm.display(), bytes.len());
}
