//! Suppression tests: directive parsing, and whole files through
//! [`crate::check_source`].

use super::{directive, read, Suppressions};
use crate::ast::Spanned;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::{SourceId, SourceMap, Span};
use crate::{check_source, Checked};
use std::collections::BTreeMap;

fn check(text: &str) -> Checked {
    let dir = tempfile::tempdir().expect("temp dir");
    check_source("test.flow", text, dir.path())
}

fn codes(c: &Checked) -> Vec<Code> {
    c.diagnostics.iter().map(|d| d.code).collect()
}

fn spanned<'a>(c: &'a Checked, d: &Diagnostic) -> &'a str {
    &c.sources.get(d.source).text[d.span().start..d.span().end]
}

/// The words of a directive with the text at their offsets, or why it is bad.
fn words(comment: &str) -> Option<Result<Vec<String>, &'static str>> {
    directive(comment).map(|r| {
        r.map(|ws| {
            ws.into_iter()
                .map(|(w, at)| {
                    assert_eq!(&comment[at..at + w.len()], w, "offset of {w}");
                    w.to_string()
                })
                .collect()
        })
    })
}

#[test]
fn directives_are_read_case_insensitively_with_free_blanks() {
    assert_eq!(
        words("# flow: allow(F0101)"),
        Some(Ok(vec!["F0101".into()]))
    );
    assert_eq!(
        words("#flow:ALLOW ( f0101 ,F0105, ) because the script is generated"),
        Some(Ok(vec!["f0101".into(), "F0105".into()]))
    );
    assert_eq!(
        words("#   Flow:   Allow(F0101)"),
        Some(Ok(vec!["F0101".into()]))
    );
}

#[test]
fn ordinary_comments_are_not_directives() {
    for c in [
        "# a note",
        "# flow: fetch, then build",
        "# flow: allowed stages are listed below",
        "# flows: allow(F0101)",
        "# allow(F0101)",
        "#",
    ] {
        assert_eq!(words(c), None, "{c}");
    }
}

#[test]
fn malformed_directives_say_why() {
    assert_eq!(
        words("# flow: allow F0101"),
        Some(Err("expected `(` after `allow`"))
    );
    assert_eq!(words("# flow: allow(F0101"), Some(Err("missing `)`")));
    assert_eq!(
        words("# flow: allow( , )"),
        Some(Err("no code inside `allow()`"))
    );
}

const SUPPRESSED: &str = "flow f {\n  # flow: allow(F0101)\n  stage a { run \"x\" }\n}\n";

#[test]
fn a_suppression_silences_the_warning_on_the_next_line() {
    let c = check(SUPPRESSED);
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
    assert!(c.pipeline.is_some());
    // Without the comment the warning is there.
    let c = check(&SUPPRESSED.replace("# flow: allow(F0101)", "# note"));
    assert_eq!(codes(&c), [Code::NoTimeout]);
}

#[test]
fn crlf_files_work_the_same() {
    let c = check(&SUPPRESSED.replace('\n', "\r\n"));
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
}

#[test]
fn an_unused_suppression_is_reported_at_the_comment() {
    let text = "flow f {\n  timeout 1m\n  # flow: allow(F0101)\n  stage a { run \"x\" }\n}\n";
    let c = check(text);
    assert_eq!(codes(&c), [Code::UnusedSuppression]);
    let d = &c.diagnostics[0];
    assert_eq!(spanned(&c, d), "# flow: allow(F0101)");
    assert_eq!(
        d.message,
        "unused suppression: no F0101 diagnostic starts on line 4"
    );
    assert!(d
        .help
        .as_deref()
        .unwrap_or("")
        .contains("remove the comment"));
    assert!(!d.is_error());
}

#[test]
fn two_codes_in_one_comment_each_count() {
    // F0101 is used; F0103 silences nothing and is reported at its own word.
    let text = "flow f {\n  # flow: allow(F0101, f0103)\n  stage a { run \"x\" }\n}\n";
    let c = check(text);
    assert_eq!(codes(&c), [Code::UnusedSuppression]);
    assert_eq!(spanned(&c, &c.diagnostics[0]), "f0103");
    assert!(c.diagnostics[0].message.contains("no F0103"));

    // Both used: two stages' warnings on one line.
    let text =
        "flow f {\n  # flow: allow(F0101)\n  stage a { run \"x\" } stage b { run \"y\" }\n}\n";
    assert!(check(text).diagnostics.is_empty());
}

#[test]
fn a_suppression_does_not_reach_two_lines_below() {
    let text = "flow f {\n  # flow: allow(F0101)\n\n  stage a { run \"x\" }\n}\n";
    let c = check(text);
    assert_eq!(codes(&c), [Code::UnusedSuppression, Code::NoTimeout]);
    // Nor the line the comment follows.
    let text = "flow f {\n  stage a { run \"x\" }\n  # flow: allow(F0101)\n}\n";
    assert_eq!(
        codes(&check(text)),
        [Code::NoTimeout, Code::UnusedSuppression]
    );
}

#[test]
fn a_directive_inside_a_script_or_string_does_nothing() {
    let text = concat!(
        "flow f {\n",
        "  description \"# flow: allow(F0101)\"\n",
        "  stage a {\n",
        "    run \"\"\"\n",
        "      # flow: allow(F0101)\n",
        "      echo hi\n",
        "    \"\"\"\n",
        "  }\n",
        "}\n",
    );
    let c = check(text);
    // The stage's warning (line 3) stays, and nothing reports a suppression.
    assert_eq!(codes(&c), [Code::NoTimeout]);
    let text = text.replace("  stage a {\n    run", "  stage a { run");
    assert_eq!(codes(&check(&text)), [Code::NoTimeout]);
}

#[test]
fn a_trailing_directive_is_reported_and_silences_nothing() {
    let text =
        "flow f {\n  stage a { run \"x\" } # flow: allow(F0101)\n  stage b { run \"y\" }\n}\n";
    let c = check(text);
    assert_eq!(
        codes(&c),
        [Code::NoTimeout, Code::UnusedSuppression, Code::NoTimeout]
    );
    assert_eq!(
        c.diagnostics[1].message,
        "a suppression must be on a line of its own"
    );
}

#[test]
fn unknown_codes_errors_and_f0104_cannot_be_allowed() {
    let text = "flow f {\n  # flow: allow(F9999, F0003, F0104, F0101)\n  stage a { run \"x\" needs nope }\n}\n";
    let c = check(text);
    let msgs: Vec<(Code, &str, &str)> = c
        .diagnostics
        .iter()
        .map(|d| (d.code, spanned(&c, d), d.message.as_str()))
        .collect();
    assert_eq!(
        msgs,
        [
            (
                Code::UnusedSuppression,
                "F9999",
                "unknown code `F9999` in a suppression"
            ),
            (
                Code::UnusedSuppression,
                "F0003",
                "F0003 is an error, and errors cannot be suppressed"
            ),
            (
                Code::UnusedSuppression,
                "F0104",
                "F0104 (unused suppression) cannot be suppressed"
            ),
            (Code::UnknownStage, "nope", msgs[3].2),
        ]
    );
    // The valid F0101 did silence the stage's warning.
    assert!(!codes(&c).contains(&Code::NoTimeout));
}

#[test]
fn a_malformed_directive_is_reported() {
    let text = "flow f {\n  timeout 1m\n  # flow: allow F0101\n  stage a { run \"x\" }\n}\n";
    let c = check(text);
    assert_eq!(codes(&c), [Code::UnusedSuppression]);
    assert_eq!(
        c.diagnostics[0].message,
        "malformed suppression: expected `(` after `allow`"
    );
}

#[test]
fn after_a_syntax_error_suppressions_apply_but_none_is_unused() {
    let text =
        "flow f {\n  # flow: allow(F0101)\n  stage a { run \"x\" }\n  stage b { bogus }\n}\n";
    let c = check(text);
    assert_eq!(codes(&c), [Code::Syntax]);
    // Still reported: a code that can never be silenced.
    let c = check(&text.replace("F0101", "F0001"));
    assert_eq!(codes(&c), [Code::UnusedSuppression, Code::Syntax]);
}

#[test]
fn findings_added_later_are_silenced_and_mark_their_suppression_used() {
    let text = "flow f {\n  timeout 1m\n  stage a {\n    # flow: allow(F0105)\n    run \"echo $x\"\n  }\n}\n";
    let mut c = check(text);
    assert_eq!(codes(&c), [Code::UnusedSuppression]);
    let at = text.find("\"echo").expect("script");
    let finding = Diagnostic::new(
        Code::Shellcheck,
        c.diagnostics[0].source,
        Span::new(at + 6, at + 8),
        "SC2086",
    );
    let elsewhere = Diagnostic::new(Code::Shellcheck, finding.source, Span::new(0, 4), "SC2148");
    c.add_findings(vec![finding, elsewhere.clone()]);
    assert_eq!(c.diagnostics, [elsewhere]);
}

/// Two files: suppressions in a library file apply to its diagnostics, but
/// are reported unused only in the checked file.
#[test]
fn library_files_are_silenced_but_not_reported_unused() {
    let mut sources = SourceMap::default();
    let main_text = "# flow: allow(F0101)\nstage\n";
    let lib_text = "# flow: allow(F0101)\nstage\n# flow: allow(F0103)\nx\n";
    let main = sources.add("main.flow", main_text);
    let lib = sources.add("lib.flow", lib_text);
    let comment = |text: &str, at: usize| {
        let end = at + text[at..].find('\n').unwrap_or(text.len() - at);
        Spanned::new(text[at..end].to_string(), Span::new(at, end))
    };
    let comments = BTreeMap::from([
        (main, vec![comment(main_text, 0)]),
        (lib, vec![comment(lib_text, 0), comment(lib_text, 27)]),
    ]);
    let (mut all, bad) = Suppressions::read(&sources, &comments, &[], Some(main));
    assert!(bad.is_empty());
    assert_eq!(all.allows().len(), 3);
    let mut diags = vec![Diagnostic::new(
        Code::NoTimeout,
        lib,
        Span::new(21, 26),
        "no timeout",
    )];
    all.silence(&mut diags);
    assert!(diags.is_empty());
    let unused = all.unused(&sources);
    assert_eq!(unused.len(), 1);
    assert_eq!(unused[0].source, main);
}

#[test]
fn read_never_panics_on_odd_spans() {
    let text = "é # flow: allow(F0101)";
    let comments = vec![Spanned::new(
        "# flow: allow(F0101)".to_string(),
        Span::new(1, 5),
    )];
    // Offset 1 is inside `é`: the comment is skipped, not a panic.
    let (allows, bad) = read(SourceId(0), text, &comments);
    assert!(allows.is_empty() && bad.is_empty());
    let comments = vec![Spanned::new(
        "# flow: allow(F0101)".to_string(),
        Span::new(99, 120),
    )];
    let (allows, _) = read(SourceId(0), text, &comments);
    assert!(allows.is_empty());
}

#[test]
fn the_loader_keeps_the_comments_of_library_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lib = dir.path().join("lib");
    std::fs::create_dir(&lib).expect("lib dir");
    std::fs::write(
        lib.join("t.flow"),
        "# flow: allow(F0101)\ntemplate t() { run \"# not one\" }\n",
    )
    .expect("lib file");
    let text = "use \"lib\" as mine\n# main\nflow f { timeout 1m stage a: mine.t() {} }\n";
    let loaded = crate::load::load_source("m.flow", text, dir.path(), &crate::parse::parse);
    let found: Vec<(String, Vec<String>)> = loaded
        .comments
        .iter()
        .map(|(id, cs)| {
            let name = loaded.sources.get(*id).name.clone();
            (name, cs.iter().map(|c| c.node.clone()).collect())
        })
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0], ("m.flow".to_string(), vec!["# main".to_string()]));
    assert!(found[1].0.ends_with("t.flow"));
    assert_eq!(found[1].1, ["# flow: allow(F0101)"]);
}

#[test]
fn a_suppression_above_a_script_covers_the_whole_script() {
    let text = concat!(
        "flow f {\n",
        "  timeout 1m\n",
        "  stage a {\n",
        "    # flow: allow(F0105)\n",
        "    run \"\"\"\n",
        "      cd /tmp\n",
        "      rm -rf $X/\n",
        "    \"\"\"\n",
        "    # flow: allow(F0105)\n",
        "    outputs x\n",
        "  }\n",
        "}\n",
    );
    let mut c = check(text);
    assert_eq!(codes(&c).len(), 2, "{:?}", c.diagnostics);
    let src = c.diagnostics[0].source;
    let at = text.find("$X").expect("in script");
    let after = text.find("outputs").expect("after");
    let inside = Diagnostic::new(Code::Shellcheck, src, Span::new(at, at + 2), "SC2115");
    let below = Diagnostic::new(Code::Shellcheck, src, Span::new(after, after + 7), "x");
    c.add_findings(vec![inside, below]);
    // The first comment covered the script; the second one, its next line.
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
}
