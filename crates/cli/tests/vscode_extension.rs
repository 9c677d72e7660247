//! The VS Code extension (`editors/vscode/`): its manifest, language
//! configuration and TextMate grammar are valid and agree with each other,
//! the language client starts `flow lsp` with the `flow.path` setting and
//! restarts it (`test/client.test.js`, with VS Code replaced by fakes), and
//! the grammar tokenizes every shipped flow sensibly, as VS Code would
//! (`test/grammar.test.js`: vscode-textmate and vscode-oniguruma).
//!
//! The node tests need Node.js and the extension's npm packages
//! (`npm ci` in `editors/vscode`; `.ci/run` does it); without them it fails
//! and says so, as the dashboard's browser test does without Chromium.
//! `FLOW_TEST_NODE` names another `node`.

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::repo_root;

/// The extension's folder.
fn extension() -> PathBuf {
    repo_root().join("editors/vscode")
}

/// A JSON file of the extension, parsed (a parse error fails the test).
fn json(rel: &str) -> Value {
    let path = extension().join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

#[test]
fn manifest_contributes_the_flow_language_its_grammar_and_settings() {
    let manifest = json("package.json");
    let c = &manifest["contributes"];

    let language = &c["languages"][0];
    assert_eq!(language["id"], "flow");
    assert_eq!(language["extensions"], serde_json::json!([".flow"]));
    let config = language["configuration"].as_str().unwrap();
    assert!(extension().join(config).is_file(), "{config} missing");

    let grammar = &c["grammars"][0];
    assert_eq!(grammar["language"], "flow");
    let path = grammar["path"].as_str().unwrap();
    let tm = json(path);
    assert_eq!(grammar["scopeName"], tm["scopeName"]);
    assert_eq!(tm["scopeName"], "source.flow");

    let setting = &c["configuration"]["properties"]["flow.path"];
    assert_eq!(setting["type"], "string");
    assert_eq!(setting["default"], "flow");

    // The client: `main` exists and registers the command the manifest
    // declares (what it starts is `client_starts_flow_lsp…` below).
    let main = manifest["main"].as_str().unwrap();
    let client = std::fs::read_to_string(extension().join(main)).unwrap();
    let command = c["commands"][0]["command"].as_str().unwrap();
    assert!(
        client.contains(&format!("'{command}'")),
        "{main} lacks {command}"
    );

    // Dependencies are pinned by a committed lock file.
    let lock = json("package-lock.json");
    for dep in manifest["dependencies"]
        .as_object()
        .into_iter()
        .chain(manifest["devDependencies"].as_object())
        .flat_map(|m| m.keys())
    {
        assert!(
            lock["packages"][format!("node_modules/{dep}")].is_object(),
            "package-lock.json lacks {dep}: run `npm install` in editors/vscode"
        );
    }
}

#[test]
fn language_configuration_has_comments_brackets_and_closing_quotes() {
    let conf = json("language-configuration.json");
    assert_eq!(conf["comments"]["lineComment"], "#");
    let pairs: BTreeSet<String> = conf["autoClosingPairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}{}",
                p["open"].as_str().unwrap(),
                p["close"].as_str().unwrap()
            )
        })
        .collect();
    for pair in ["{}", "[]", "()", "\"\""] {
        assert!(pairs.contains(pair), "no auto-closing {pair}");
    }
    assert_eq!(conf["brackets"].as_array().unwrap().len(), 3);
}

/// Every `include` of the grammar (`#name` of its repository, or another
/// grammar's scope) names something that exists.
#[test]
fn textmate_grammar_includes_resolve() {
    let tm = json("syntaxes/flow.tmLanguage.json");
    let repository = tm["repository"].as_object().unwrap();
    let mut includes = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(s)) = m.get("include") {
                    out.push(s.clone());
                }
                m.values().for_each(|x| walk(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(&tm, &mut includes);
    assert!(includes.len() > 10);
    for inc in &includes {
        match inc.strip_prefix('#') {
            Some(name) => assert!(repository.contains_key(name), "no repository rule `{name}`"),
            // The scripts' shell: VS Code's own grammar, mapped in the manifest.
            None => assert_eq!(inc, "source.shell", "unexpected include {inc}"),
        }
    }
    // Every repository rule is used.
    for name in repository.keys() {
        assert!(
            includes.iter().any(|i| i == &format!("#{name}")),
            "repository rule `{name}` is never included"
        );
    }
}

/// `node`: `FLOW_TEST_NODE`, else `node` on `PATH`.
fn node() -> PathBuf {
    if let Some(p) = std::env::var_os("FLOW_TEST_NODE") {
        return PathBuf::from(p);
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("node"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the VS Code grammar test needs Node.js (Debian package `nodejs`; \
                 .ci/run installs it), or FLOW_TEST_NODE naming a `node`"
            )
        })
}

/// Fails, saying what to do, when `npm ci` has not been run in the extension.
fn npm_packages_installed() {
    let modules = extension().join("node_modules");
    for dep in ["vscode-textmate", "vscode-oniguruma"] {
        assert!(
            modules.join(dep).is_dir(),
            "{} is missing: run `npm ci` in editors/vscode (.ci/run does)",
            modules.join(dep).display()
        );
    }
}

#[test]
fn client_starts_flow_lsp_with_the_flow_path_setting_and_restarts_it() {
    let node = node();
    let out = Command::new(&node)
        .arg(Path::new("test").join("client.test.js"))
        .current_dir(extension())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", node.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("5 passed, 0 failed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn textmate_grammar_tokenizes_every_shipped_flow_sensibly() {
    let node = node();
    npm_packages_installed();
    // Syntax-error cases too: a highlighter meets broken text all the time,
    // and must still close its regions.
    let flows = support::shipped_flows();
    let out = Command::new(&node)
        .arg(Path::new("test").join("grammar.test.js"))
        .args(&flows)
        .current_dir(extension())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", node.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the TextMate grammar misreads shipped flows:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("{} passed, 0 failed", flows.len())),
        "{stdout}"
    );
}

#[test]
fn the_tokenizing_test_fails_on_a_region_left_open() {
    // The test above could pass with a checker that accepts anything.
    let node = node();
    npm_packages_installed();
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.flow");
    std::fs::write(
        &bad,
        "flow x {\n  stage a {\n    run \"\"\"\n      echo\n  }\n}\n",
    )
    .unwrap();
    let out = Command::new(&node)
        .arg(Path::new("test").join("grammar.test.js"))
        .arg(&bad)
        .current_dir(extension())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success()
            && stdout.contains("still open")
            && stdout.contains("0 passed, 1 failed"),
        "{stdout}"
    );
}
