//! `flow lsp` (issue 9): the real binary over stdio, as an editor drives it:
//! initialize, didOpen/didChange → publishDiagnostics (the same diagnostics
//! as `flow check`, in the library's file too), hover, definition,
//! references, rename, completion, documentSymbol, formatting, codeAction
//! (the "did you mean" fix), UTF-16 and UTF-8 positions, shutdown/exit.

mod lsp_support;

use lsp_support::{find, pos, range, url, Client};
use serde_json::{json, Value};
use std::path::Path;

/// A clean flow using `std`, a library folder and a skill.
const DEMO: &str = r#"use std
use "lib" as mine

flow demo {
  description "A demo"
  timeout 1h
  param issue: int = 1
  let title = `#${issue}`

  stage build {
    when issue > 0
    run "make"
  }

  stage test {
    needs build
    when stages.build.outcome == "succeeded" && title != ""
    run "make test"
  }

  stage plan: std.agent(skill: "plan") {
    needs test
    outputs PLAN.md
  }

  stage review: mine.review(depth: 2) {
    needs plan
  }
}
"#;

const LIBRARY: &str = "template review(depth: int = 1) {\n  when depth > 0\n  run \"true\"\n}\n";

/// A folder with `demo.flow` (not written: the editor's text is what
/// counts) and `lib/review.flow`; `PATH` without shellcheck.
fn project() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir_path = dir.path().canonicalize().expect("canonical");
    std::fs::create_dir_all(dir_path.join("lib")).expect("lib");
    std::fs::write(dir_path.join("lib/review.flow"), LIBRARY).expect("library");
    std::fs::create_dir_all(dir_path.join("empty-path")).expect("path");
    let doc = url(&dir_path.join("demo.flow"));
    let lib = url(&dir_path.join("lib/review.flow"));
    (dir, doc, lib)
}

fn start(dir: &Path, utf8: bool) -> Client {
    let path = dir.canonicalize().expect("canonical").join("empty-path");
    let (client, init) = Client::start(dir, path.to_str().expect("utf-8"), utf8);
    let caps = &init["capabilities"];
    assert_eq!(
        caps["positionEncoding"],
        if utf8 { "utf-8" } else { "utf-16" }
    );
    assert_eq!(caps["textDocumentSync"], 1, "full sync");
    client
}

fn codes(diags: &[Value]) -> Vec<String> {
    diags
        .iter()
        .map(|d| d["code"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn diagnostics_follow_open_and_change_and_quick_fix_the_typo() {
    let (dir, doc, _) = project();
    let mut c = start(dir.path(), false);
    c.open(&doc, DEMO);
    assert_eq!(c.diagnostics(&doc, Some(1)), Vec::<Value>::new());

    let typo = DEMO.replace("needs build", "needs biuld");
    c.change(&doc, 2, &typo);
    let diags = c.diagnostics(&doc, Some(2));
    assert_eq!(codes(&diags), ["F0003"], "{diags:#?}");
    let d = &diags[0];
    assert_eq!(d["range"], range(pos(15, 10), pos(15, 15)));
    assert_eq!(d["severity"], 1);
    assert_eq!(d["source"], "flow");
    assert_eq!(
        d["message"],
        "unknown stage `biuld` (no such stage)\nhelp: did you mean `build`?\nflow explain F0003"
    );

    let actions = c.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": doc }, "range": range(pos(15, 12), pos(15, 12)),
                "context": { "diagnostics": [] } }),
    );
    assert_eq!(actions.as_array().map(Vec::len), Some(1), "{actions}");
    let a = &actions[0];
    assert_eq!(a["title"], "Replace `biuld` with `build`");
    assert_eq!(a["kind"], "quickfix");
    assert_eq!(
        a["edit"]["changes"][&doc],
        json!([{ "range": range(pos(15, 10), pos(15, 15)), "newText": "build" }])
    );

    // The diagnostic's hover explains the code as `flow explain` does.
    let hover = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": doc }, "position": pos(15, 12) }),
    );
    let value = hover["contents"]["value"].as_str().expect("markdown");
    let explain = flow_dsl::Code::UnknownStage.explanation();
    assert!(
        value.contains("**F0003** (unknown stage)") && value.contains(explain),
        "{value}"
    );

    // Back to the clean text: the diagnostic is cleared. (An incremental
    // change, from a client that sends ranges although asked for whole texts.)
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": doc, "version": 3 },
                "contentChanges": [{ "range": range(pos(15, 11), pos(15, 13)), "text": "ui" }] }),
    );
    assert_eq!(c.diagnostics(&doc, Some(3)), Vec::<Value>::new());
    assert_eq!(c.stop(), Some(0));
}

#[test]
fn a_library_error_is_published_to_the_library_file() {
    let (dir, doc, lib) = project();
    std::fs::write(
        dir.path().join("lib/review.flow"),
        "template review(depth: itn = 1) {\n  run \"true\"\n}\n",
    )
    .expect("library");
    let mut c = start(dir.path(), false);
    c.open(&doc, DEMO);
    let in_lib = c.diagnostics(&lib, None);
    assert!(codes(&in_lib).contains(&"F0008".to_string()), "{in_lib:#?}");
    let itn = in_lib.iter().find(|d| d["code"] == "F0008").expect("F0008");
    assert_eq!(itn["range"], range(pos(0, 23), pos(0, 26)));
    // Closing the document clears both files' diagnostics.
    c.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": doc } }),
    );
    assert_eq!(c.cleared(&doc), Vec::<Value>::new());
    assert_eq!(c.cleared(&lib), Vec::<Value>::new());
    assert_eq!(c.stop(), Some(0));
}

#[test]
fn hover_shows_stages_params_templates_skills_and_keywords() {
    let (dir, doc, _) = project();
    let mut c = start(dir.path(), false);
    c.open(&doc, DEMO);
    c.diagnostics(&doc, Some(1));
    let mut hover = |at: Value| -> String {
        let h = c.request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": doc }, "position": at }),
        );
        h["contents"]["value"].as_str().unwrap_or("").to_string()
    };
    assert_eq!(
        hover(find(DEMO, "needs build", 0, 7)),
        "```flow\nstage build\n  when issue > 0\n  run \"make\"\n```"
    );
    assert_eq!(
        hover(find(DEMO, "issue > 0", 0, 1)),
        "```flow\nparam issue: int = 1\n```"
    );
    let agent = hover(find(DEMO, "agent", 0, 1));
    assert!(
        agent.starts_with("```flow\ntemplate std.agent(skill: skill, prompt: str = \"\""),
        "{agent}"
    );
    let skill = hover(find(DEMO, "\"plan\"", 0, 2));
    assert!(
        skill.starts_with(
            "skill `plan` (`std/skills/plan.md`)\n\n# Plan the change\n\nTurn one issue"
        ),
        "{skill}"
    );
    let depth = hover(find(DEMO, "depth: 2", 0, 1));
    assert_eq!(
        depth,
        "```flow\ndepth: int = 1 (parameter of `review`)\n```"
    );
    assert!(hover(find(DEMO, "needs", 0, 1)).starts_with("`needs A, B`: wait for A and B"));
    assert!(hover(pos(3, 0)).starts_with("`flow NAME { … }`"));
    assert_eq!(hover(find(DEMO, "A demo", 0, 3)), "");
    assert_eq!(c.stop(), Some(0));
}

#[test]
fn definition_and_references_cross_needs_routes_expressions_and_libraries() {
    let (dir, doc, lib) = project();
    let mut c = start(dir.path(), false);
    c.open(&doc, DEMO);
    c.diagnostics(&doc, Some(1));
    let def = |c: &mut Client, at: Value| {
        c.request(
            "textDocument/definition",
            json!({ "textDocument": { "uri": doc }, "position": at }),
        )
    };
    // `stages.build` in an expression → the stage's name.
    let build_def = json!([{ "uri": doc, "range": range(pos(9, 8), pos(9, 13)) }]);
    assert_eq!(def(&mut c, find(DEMO, "stages.build", 0, 8)), build_def);
    assert_eq!(def(&mut c, find(DEMO, "needs build", 0, 6)), build_def);
    // A library template, its parameter → the library's file.
    assert_eq!(
        def(&mut c, find(DEMO, "review(", 0, 1)),
        json!([{ "uri": lib, "range": range(pos(0, 9), pos(0, 15)) }])
    );
    assert_eq!(
        def(&mut c, find(DEMO, "depth: 2", 0, 0)),
        json!([{ "uri": lib, "range": range(pos(0, 16), pos(0, 21)) }])
    );
    // `std` lives in the binary: no file to go to.
    assert_eq!(def(&mut c, find(DEMO, "agent", 0, 1)), Value::Null);

    let refs = c.request(
        "textDocument/references",
        json!({ "textDocument": { "uri": doc }, "position": pos(9, 9),
                "context": { "includeDeclaration": true } }),
    );
    let ranges: Vec<&Value> = refs
        .as_array()
        .expect("list")
        .iter()
        .map(|l| &l["range"])
        .collect();
    assert_eq!(
        ranges,
        [
            &range(pos(9, 8), pos(9, 13)),
            &range(pos(15, 10), pos(15, 15)),
            &range(pos(16, 16), pos(16, 21)),
        ]
    );
    assert_eq!(c.stop(), Some(0));
}

#[test]
fn rename_a_param_and_a_stage_everywhere_they_are_used() {
    let (dir, doc, _) = project();
    let mut c = start(dir.path(), false);
    c.open(&doc, DEMO);
    c.diagnostics(&doc, Some(1));
    let rename = |c: &mut Client, at: Value, name: &str| {
        c.request_raw(
            "textDocument/rename",
            json!({ "textDocument": { "uri": doc }, "position": at, "newName": name }),
        )
    };
    let edit = rename(&mut c, find(DEMO, "issue > 0", 0, 0), "ticket");
    let edits = edit["result"]["changes"][&doc]
        .as_array()
        .cloned()
        .expect("edits");
    let applied = apply(DEMO, &edits);
    assert_eq!(applied, DEMO.replace("issue", "ticket"));

    let edit = rename(&mut c, find(DEMO, "stage build", 0, 6), "compile");
    let edits = edit["result"]["changes"][&doc]
        .as_array()
        .cloned()
        .expect("edits");
    assert_eq!(apply(DEMO, &edits), DEMO.replace("build", "compile"));

    // A variable cannot hold `-`; a taken name is refused.
    let bad = rename(&mut c, find(DEMO, "issue > 0", 0, 0), "my-issue");
    assert!(
        bad["error"]["message"]
            .as_str()
            .expect("error")
            .contains("cannot hold `-`"),
        "{bad}"
    );
    let dashed = rename(&mut c, find(DEMO, "stage build", 0, 6), "my-build");
    assert!(
        dashed["error"]["message"]
            .as_str()
            .expect("error")
            .contains("`stages.NAME`"),
        "{dashed}"
    );
    let edit = rename(&mut c, find(DEMO, "stage plan", 0, 6), "make-plan");
    let edits = edit["result"]["changes"][&doc]
        .as_array()
        .cloned()
        .expect("edits");
    assert_eq!(
        apply(DEMO, &edits),
        DEMO.replace("stage plan", "stage make-plan")
            .replace("needs plan", "needs make-plan")
    );
    let taken = rename(&mut c, find(DEMO, "stage build", 0, 6), "test");
    assert_eq!(taken["error"]["message"], "`test` is already declared here");
    let prepare = c.request(
        "textDocument/prepareRename",
        json!({ "textDocument": { "uri": doc }, "position": find(DEMO, "title !=", 0, 2) }),
    );
    assert_eq!(prepare, range(pos(16, 48), pos(16, 53)));
    assert_eq!(c.stop(), Some(0));
}

/// `text` with LSP `edits` (UTF-16 positions, ASCII text) applied.
fn apply(text: &str, edits: &[Value]) -> String {
    let offset = |p: &Value| {
        let line = p["line"].as_u64().expect("line") as usize;
        let col = p["character"].as_u64().expect("character") as usize;
        text.split_inclusive('\n')
            .take(line)
            .map(str::len)
            .sum::<usize>()
            + col
    };
    let mut spans: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().expect("text").to_string(),
            )
        })
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = text.to_string();
    for (start, end, new) in spans {
        out.replace_range(start..end, &new);
    }
    out
}

#[test]
fn completion_knows_where_the_cursor_is() {
    let (dir, doc, _) = project();
    let text = DEMO
        .replace(
            "    needs test\n",
            "    needs test, \n    when stages.build. == 1\n    \n",
        )
        .replace("    when issue > 0\n", "    when is\n");
    let mut c = start(dir.path(), false);
    c.open(&doc, &text);
    c.diagnostics(&doc, Some(1));
    let mut labels = |at: Value| -> Vec<String> {
        let r = c.request(
            "textDocument/completion",
            json!({ "textDocument": { "uri": doc }, "position": at }),
        );
        let mut l: Vec<String> = r
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|i| i["label"].as_str().unwrap_or("").to_string())
            .collect();
        l.sort();
        l
    };
    assert_eq!(
        labels(find(&text, "needs test, ", 0, 12)),
        ["build", "plan", "review", "test"]
    );
    assert_eq!(
        labels(find(&text, "stages.build.", 0, 13)),
        [
            "attempts",
            "duration",
            "exit_code",
            "outcome",
            "result",
            "status",
            "visits"
        ]
    );
    assert_eq!(
        labels(find(&text, "when is", 0, 7)),
        ["env", "issue", "run", "stages", "title"]
    );
    let empty_line = find(&text, "    \n", 0, 4);
    let keywords = labels(empty_line);
    assert!(keywords.contains(&"needs".to_string()) && keywords.contains(&"retry".to_string()));
    assert!(!keywords.contains(&"param".to_string()), "{keywords:?}");
    // Templates after `stage NAME:`, with their required parameters.
    let header = "  stage extra: \n";
    let with_header = DEMO.replace("  stage test {\n", &format!("{header}  stage test {{\n"));
    c.change(&doc, 2, &with_header);
    let r = c.request(
        "textDocument/completion",
        json!({ "textDocument": { "uri": doc }, "position": find(&with_header, "extra: ", 0, 7) }),
    );
    let agent = r
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["label"] == "std.agent")
        .expect("std.agent");
    assert_eq!(agent["insertText"], "std.agent(skill: \"${1}\")");
    assert_eq!(agent["insertTextFormat"], 2);
    assert!(r
        .as_array()
        .expect("items")
        .iter()
        .any(|i| i["label"] == "mine.review"));
    assert_eq!(c.stop(), Some(0));
}

#[test]
fn document_symbols_and_formatting() {
    let (dir, doc, _) = project();
    let squeezed = DEMO.replace("\n\n  stage", "\n  stage");
    let mut c = start(dir.path(), false);
    c.open(&doc, &squeezed);
    c.diagnostics(&doc, Some(1));
    let symbols = c.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": doc } }),
    );
    let top: Vec<&str> = symbols
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(top, ["std", "mine", "demo"]);
    let flow = &symbols[2];
    let children: Vec<(&str, &str)> = flow["children"]
        .as_array()
        .expect("children")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("name"),
                s["detail"].as_str().expect("detail"),
            )
        })
        .collect();
    assert_eq!(
        children,
        [
            ("issue", "param"),
            ("title", "let"),
            ("build", "stage"),
            ("test", "stage"),
            ("plan", "stage"),
            ("review", "stage")
        ]
    );
    assert_eq!(flow["selectionRange"], range(pos(3, 5), pos(3, 9)));

    let edits = c.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": doc }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    let expected = flow_dsl::fmt::format(&squeezed).expect("formats");
    assert_eq!(expected, DEMO);
    let lines = squeezed.lines().count() as u32;
    assert_eq!(
        edits,
        json!([{ "range": range(pos(0, 0), pos(lines, 0)), "newText": DEMO }])
    );
    // Already formatted: no edit. A syntax error: a failed request.
    c.change(&doc, 2, DEMO);
    let none = c.request("textDocument/formatting", json!({ "textDocument": { "uri": doc }, "options": { "tabSize": 2, "insertSpaces": true } }));
    assert_eq!(none, json!([]));
    c.change(&doc, 3, "flow {");
    let failed = c.request_raw("textDocument/formatting", json!({ "textDocument": { "uri": doc }, "options": { "tabSize": 2, "insertSpaces": true } }));
    assert!(
        failed["error"]["message"]
            .as_str()
            .expect("error")
            .contains("syntax error"),
        "{failed}"
    );
    assert_eq!(c.stop(), Some(0));
}

#[test]
fn positions_count_utf16_units_or_bytes_as_negotiated() {
    // `é` is 1 UTF-16 unit and 2 bytes, `𝄞` 2 units and 4 bytes.
    let text = DEMO.replace(
        "    when issue > 0\n",
        "    when \"é𝄞\" != \"\" && isue > 0\n",
    );
    let col16 = "    when \"é𝄞\" != \"\" && ".encode_utf16().count() as u32;
    let col8 = "    when \"é𝄞\" != \"\" && ".len() as u32;
    assert_eq!((col16, col8), (24, 27));
    for (utf8, col) in [(false, col16), (true, col8)] {
        let (dir, doc, _) = project();
        let mut c = start(dir.path(), utf8);
        c.open(&doc, &text);
        let diags = c.diagnostics(&doc, Some(1));
        assert_eq!(codes(&diags), ["F0010"], "{diags:#?}");
        assert_eq!(diags[0]["range"], range(pos(10, col), pos(10, col + 4)));
        // And back: hovering there finds the diagnostic.
        let h = c.request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": doc }, "position": pos(10, col + 2) }),
        );
        assert!(
            h["contents"]["value"]
                .as_str()
                .expect("hover")
                .contains("F0010"),
            "{h}"
        );
        assert_eq!(c.stop(), Some(0));
    }
}

#[test]
fn shellcheck_findings_follow_the_check_when_installed() {
    let Some(dir_of_sc) = std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).find(|d| d.join("shellcheck").is_file()))
    else {
        eprintln!("shellcheck is not installed: skipped (CI installs it)");
        return;
    };
    let (dir, doc, _) = project();
    let path = dir_of_sc.to_str().expect("utf-8").to_string();
    let (mut c, _) = Client::start(dir.path(), &path, false);
    let text = DEMO.replace("run \"make\"", "run \"echo $undefined_thing\"");
    c.open(&doc, &text);
    // First the check's (clean), then again with shellcheck's finding.
    assert_eq!(c.diagnostics(&doc, Some(1)), Vec::<Value>::new());
    let later = c.diagnostics(&doc, Some(1));
    assert!(codes(&later).iter().all(|c| c == "F0105"), "{later:#?}");
    let undefined = later
        .iter()
        .find(|d| {
            d["message"]
                .as_str()
                .expect("message")
                .starts_with("SC2154: undefined_thing")
        })
        .expect("SC2154");
    assert_eq!(undefined["range"], range(pos(11, 14), pos(11, 30)));
    assert_eq!(c.stop(), Some(0));
}

#[test]
fn exit_without_shutdown_is_exit_code_1() {
    let (dir, _, _) = project();
    let mut c = start(dir.path(), false);
    c.notify("exit", Value::Null);
    let status = loop {
        if let Some(s) = c_status(&mut c) {
            break s;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    assert_eq!(status, Some(1));
}

fn c_status(c: &mut Client) -> Option<Option<i32>> {
    c.try_status()
}

/// A flow calling the library template `review` of `lib/` through `ALIAS`
/// (`PATH` is the `use` path from the flow's folder).
fn caller(path: &str, alias: &str, depth: u32) -> String {
    format!(
        "use \"{path}\" as {alias}\n\nflow f {{\n  stage check: {alias}.review(depth: {depth}) {{\n    run \"true\"\n  }}\n}}\n"
    )
}

/// A workspace: `lib/review.flow`; `a.flow` and `sub/b.flow` calling its
/// `review` under two aliases; `c.flow` calling another library's
/// `review` (same name, another file: never one of its references);
/// `target/t.flow` (a skipped folder) calling the first. Returns the
/// folder and the URIs of the library, a, b, c.
fn workspace() -> (tempfile::TempDir, [String; 4]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    for sub in ["lib", "sub", "other", "target", "empty-path"] {
        std::fs::create_dir_all(root.join(sub)).expect("folder");
    }
    let files = [
        ("lib/review.flow", LIBRARY.to_string()),
        ("other/review.flow", LIBRARY.to_string()),
        ("a.flow", caller("lib", "mine", 2)),
        ("sub/b.flow", caller("../lib", "tools", 3)),
        ("c.flow", caller("other", "mine", 4)),
        ("target/t.flow", caller("../lib", "mine", 5)),
    ];
    for (name, text) in &files {
        std::fs::write(root.join(name), text).expect("write");
    }
    let uri = |name: &str| url(&root.join(name));
    let uris = [
        uri("lib/review.flow"),
        uri("a.flow"),
        uri("sub/b.flow"),
        uri("c.flow"),
    ];
    (dir, uris)
}

/// The `uri` and range of each location, sorted.
fn places(locations: &Value) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = locations
        .as_array()
        .expect("locations")
        .iter()
        .map(|l| {
            (
                l["uri"].as_str().expect("uri").to_string(),
                l["range"].clone(),
            )
        })
        .collect();
    out.sort_by_key(|(u, r)| (u.clone(), r.to_string()));
    out
}

/// The edits of a rename's `changes` for each file, sorted by URI.
fn changes(edit: &Value) -> Vec<(String, Vec<Value>)> {
    let mut out: Vec<(String, Vec<Value>)> = edit["changes"]
        .as_object()
        .expect("changes")
        .iter()
        .map(|(u, e)| (u.clone(), e.as_array().cloned().expect("edits")))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn references_to_a_library_template_span_the_workspace_files_that_use_it() {
    let (dir, [lib, a, b, _]) = workspace();
    let mut c = start(dir.path(), false);
    c.open(&lib, LIBRARY);
    c.diagnostics(&lib, Some(1));
    let call = range(pos(3, 20), pos(3, 26)); // `review` in `mine.review(`
    let call_b = range(pos(3, 21), pos(3, 27)); // in `tools.review(`
    let declaration = range(pos(0, 9), pos(0, 15));
    let mut expected = vec![
        (a.clone(), call.clone()),
        (lib.clone(), declaration.clone()),
        (b.clone(), call_b.clone()),
    ];
    expected.sort_by_key(|(u, r)| (u.clone(), r.to_string()));
    let refs = |c: &mut Client, uri: &str, at: Value, declaration: bool| {
        c.request(
            "textDocument/references",
            json!({ "textDocument": { "uri": uri }, "position": at,
                    "context": { "includeDeclaration": declaration } }),
        )
    };
    // From the declaration: every call in the workspace through any alias;
    // not `c.flow`'s call of another library's `review`, nor `target/`'s.
    assert_eq!(places(&refs(&mut c, &lib, pos(0, 10), true)), expected);

    // From a call in a flow file (its unsaved text wins over the disk's: one
    // more call of the template).
    let text = caller("lib", "mine", 2).replace(
        "}\n}\n",
        "}\n  stage again: mine.review() {\n    needs check\n  }\n}\n",
    );
    c.open(&a, &text);
    c.diagnostics(&a, Some(1));
    let again = find(&text, "review()", 0, 0);
    let mut with_unsaved = expected.clone();
    let again_end = find(&text, "review()", 0, "review".len());
    with_unsaved.push((a.clone(), range(again.clone(), again_end)));
    with_unsaved.sort_by_key(|(u, r)| (u.clone(), r.to_string()));
    assert_eq!(places(&refs(&mut c, &a, pos(3, 22), true)), with_unsaved);
    with_unsaved.retain(|(_, r)| *r != declaration);
    assert_eq!(places(&refs(&mut c, &a, again, false)), with_unsaved);
    assert_eq!(c.stop(), Some(0));
}

#[test]
fn rename_a_library_template_edits_the_library_and_every_flow_calling_it() {
    let (dir, [lib, a, b, other]) = workspace();
    let mut c = start(dir.path(), false);
    let a_text = caller("lib", "mine", 2);
    c.open(&a, &a_text);
    c.diagnostics(&a, Some(1));
    let edit = c.request(
        "textDocument/rename",
        json!({ "textDocument": { "uri": a }, "position": pos(3, 22), "newName": "audit" }),
    );
    let changes = changes(&edit);
    let files: Vec<&str> = changes.iter().map(|(u, _)| u.as_str()).collect();
    let mut want = vec![a.as_str(), lib.as_str(), b.as_str()];
    want.sort();
    assert_eq!(files, want, "{edit}");
    assert!(!files.contains(&other.as_str()));
    let edits_of = |uri: &str| {
        changes
            .iter()
            .find(|(u, _)| u == uri)
            .map(|(_, e)| e.clone())
            .expect("edits")
    };
    assert_eq!(
        edits_of(&lib),
        vec![json!({ "range": range(pos(0, 9), pos(0, 15)), "newText": "audit" })]
    );
    assert_eq!(
        apply(&a_text, &edits_of(&a)),
        a_text.replace("mine.review", "mine.audit")
    );
    let b_text = caller("../lib", "tools", 3);
    assert_eq!(
        apply(&b_text, &edits_of(&b)),
        b_text.replace("tools.review", "tools.audit")
    );
    // Taken where it is declared (a second template of the library).
    std::fs::write(
        dir.path().join("lib/audit.flow"),
        "template audit() {\n  run \"true\"\n}\n",
    )
    .expect("write");
    let taken = c.request_raw(
        "textDocument/rename",
        json!({ "textDocument": { "uri": a }, "position": pos(3, 22), "newName": "audit" }),
    );
    assert_eq!(
        taken["error"]["message"],
        "`audit` is already declared here"
    );
    assert_eq!(c.stop(), Some(0));
}

#[test]
fn rename_a_template_parameter_edits_argument_names_in_other_files() {
    let (dir, [lib, a, b, other]) = workspace();
    let mut c = start(dir.path(), false);
    c.open(&lib, LIBRARY);
    c.diagnostics(&lib, Some(1));
    let prepare = c.request(
        "textDocument/prepareRename",
        json!({ "textDocument": { "uri": lib }, "position": pos(0, 17) }),
    );
    assert_eq!(prepare, range(pos(0, 16), pos(0, 21)));
    let edit = c.request(
        "textDocument/rename",
        json!({ "textDocument": { "uri": lib }, "position": pos(0, 17), "newName": "level" }),
    );
    let changes = changes(&edit);
    let files: Vec<&str> = changes.iter().map(|(u, _)| u.as_str()).collect();
    let mut want = vec![a.as_str(), lib.as_str(), b.as_str()];
    want.sort();
    assert_eq!(files, want, "{edit}");
    assert!(!files.contains(&other.as_str()));
    for (uri, text) in [
        (&lib, LIBRARY.to_string()),
        (&a, caller("lib", "mine", 2)),
        (&b, caller("../lib", "tools", 3)),
    ] {
        let edits = &changes.iter().find(|(u, _)| u == uri).expect("file").1;
        assert_eq!(apply(&text, edits), text.replace("depth", "level"), "{uri}");
    }
    // A variable cannot hold `-`.
    let bad = c.request_raw(
        "textDocument/rename",
        json!({ "textDocument": { "uri": lib }, "position": pos(0, 17), "newName": "my-depth" }),
    );
    assert!(bad["error"]["message"]
        .as_str()
        .expect("error")
        .contains("cannot hold `-`"));
    assert_eq!(c.stop(), Some(0));
}

#[test]
fn without_a_workspace_references_and_rename_stay_in_the_document() {
    let (dir, [lib, a, _, _]) = workspace();
    let path = dir
        .path()
        .canonicalize()
        .expect("canonical")
        .join("empty-path");
    let (mut c, _) = Client::start_with(dir.path(), path.to_str().expect("utf-8"), false, false);
    c.open(&lib, LIBRARY);
    c.diagnostics(&lib, Some(1));
    let refs = c.request(
        "textDocument/references",
        json!({ "textDocument": { "uri": lib }, "position": pos(0, 10),
                "context": { "includeDeclaration": true } }),
    );
    assert_eq!(
        places(&refs),
        vec![(lib.clone(), range(pos(0, 9), pos(0, 15)))]
    );
    let edit = c.request(
        "textDocument/rename",
        json!({ "textDocument": { "uri": lib }, "position": pos(0, 17), "newName": "level" }),
    );
    let changes = changes(&edit);
    assert_eq!(changes.len(), 1, "{edit}");
    assert_eq!(
        apply(LIBRARY, &changes[0].1),
        LIBRARY.replace("depth", "level")
    );
    // From a call: the document's calls only, as before.
    let a_text = caller("lib", "mine", 2);
    c.open(&a, &a_text);
    c.diagnostics(&a, Some(1));
    let refs = c.request(
        "textDocument/references",
        json!({ "textDocument": { "uri": a }, "position": pos(3, 22),
                "context": { "includeDeclaration": true } }),
    );
    assert_eq!(
        places(&refs),
        vec![(a.clone(), range(pos(3, 20), pos(3, 26)))]
    );
    assert_eq!(c.stop(), Some(0));
}

#[test]
fn a_flow_files_own_template_renames_with_its_calls_and_argument_names() {
    let (dir, _) = workspace();
    let root = dir.path().canonicalize().expect("canonical");
    let own = url(&root.join("own.flow"));
    let text = "template greet(who: string) {\n  when who != \"\"\n  run \"true\"\n}\n\n\
                flow f {\n  stage hi: greet(who: \"me\") {\n    run \"true\"\n  }\n}\n";
    let mut c = start(dir.path(), false);
    c.open(&own, text);
    c.diagnostics(&own, Some(1));
    let rename = |c: &mut Client, at: Value, name: &str| {
        c.request(
            "textDocument/rename",
            json!({ "textDocument": { "uri": own }, "position": at, "newName": name }),
        )
    };
    // From the call's argument name: the parameter, its use, the argument.
    let edit = rename(&mut c, find(text, "who: \"me\"", 0, 1), "name");
    let changes = changes(&edit);
    assert_eq!(changes.len(), 1, "{edit}");
    assert_eq!(apply(text, &changes[0].1), text.replace("who", "name"));
    // From the call's template name: the declaration and the call.
    let edit = rename(&mut c, find(text, "greet(who: \"", 0, 1), "welcome");
    let changes = self::changes(&edit);
    assert_eq!(changes.len(), 1, "{edit}");
    assert_eq!(apply(text, &changes[0].1), text.replace("greet", "welcome"));
    assert_eq!(c.stop(), Some(0));
}
