//! No panic and every span inside the text, whatever the input: truncated
//! files, inserted characters, deep nesting, unicode and CRLF line endings.

use super::super::parse;
use super::{errs, flow, ok, stage};
use crate::ast::{File, FlowItem, StageItem};
use crate::span::SourceId;

const EXAMPLES: &[&str] = &[
    include_str!("examples/ai_implement.flow"),
    include_str!("examples/poll.flow"),
    include_str!("examples/mylib.flow"),
    include_str!("examples/one_line.flow"),
];

/// Every `Span { start, end }` in the Debug form of a value.
fn spans_in(debug: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for chunk in debug.split("Span {").skip(1) {
        let num = |key: &str| -> usize {
            let after = chunk.split(key).nth(1).unwrap_or("");
            let digits: String = after
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().expect("span field")
        };
        out.push((num("start:"), num("end:")));
    }
    out
}

/// Parses `text` and asserts that every span of the AST and of the
/// diagnostics lies inside it, on character boundaries; returns the AST.
fn check_bounds(text: &str) -> File {
    let (file, diags) = parse(text, SourceId(0));
    let debug = format!("{file:?}{diags:?}");
    for (start, end) in spans_in(&debug) {
        assert!(
            start <= end && text.get(start..end).is_some(),
            "span {start}..{end} outside {text:?}"
        );
    }
    for d in &diags {
        assert!(!d.labels[0].message.is_empty() && d.help.is_some(), "{d:?}");
        assert!(
            !d.message.contains("kw_") && !d.message.contains("Rule"),
            "pest names leak: {d:?}"
        );
    }
    file
}

#[test]
fn every_prefix_of_every_example() {
    for text in EXAMPLES {
        for (i, _) in text.char_indices() {
            check_bounds(&text[..i]);
        }
    }
}

#[test]
fn inserted_characters_anywhere() {
    let text = EXAMPLES[3];
    for insert in ["\"", "\"\"\"", "{", "}", "(", "#", "->", "é", "\r"] {
        for (i, _) in text.char_indices() {
            check_bounds(&format!("{}{insert}{}", &text[..i], &text[i..]));
        }
    }
}

#[test]
fn deleted_lines_of_the_design_pipeline() {
    let text = EXAMPLES[0];
    let lines: Vec<&str> = text.lines().collect();
    for skip in 0..lines.len() {
        let cut: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, l)| *l)
            .collect();
        check_bounds(&cut.join("\n"));
    }
}

#[test]
fn deep_nesting_does_not_overflow() {
    for open in ["(", "[", "{", "#{"] {
        let deep = open.repeat(50_000);
        check_bounds(&format!("flow f {{ let x = {deep} }}"));
        let (_, diags) = parse(&format!("flow f {{ stage a {{ when {deep}"), SourceId(0));
        assert!(!diags.is_empty());
        check_bounds(&deep);
    }
    // Junk of 50,000 blocks: one plain error, no crash.
    let (_, diags) = parse(&"{".repeat(50_000), SourceId(0));
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].code, crate::Code::Syntax);
    check_bounds(&format!(
        "flow f {{ param p: list<str> = {} }}",
        "[".repeat(50_000)
    ));
}

/// The parser does not recurse per nesting level: nesting far deeper than a
/// test thread's 2 MiB stack could hold parses without a crash.
#[test]
fn nesting_deeper_than_the_callers_stack_parses_on_its_own() {
    for (open, close) in [("(", ")"), ("[", "]"), ("{", "}")] {
        let depth = 50_000;
        let text = format!(
            "flow f {{\n  let x = {}1{}\n  stage a {{ run \"x\" }}\n}}\n",
            open.repeat(depth),
            close.repeat(depth)
        );
        let (file, diags) = parse(&text, SourceId(0));
        assert!(diags.is_empty(), "{open}: {diags:?}");
        assert_eq!(file.flows[0].items.len(), 2, "{open}");
    }
}

/// Junk nested far deeper than a test thread's stack could hold is still
/// explained: pest, which recurses on it, runs on a stack sized for the file.
#[test]
fn deeply_nested_junk_is_explained_without_a_crash() {
    for (open, close) in [("(", ")"), ("[", "]"), ("{", "}")] {
        let depth = 50_000;
        // Unclosed: `when` is junk, which pest parses again to the depth.
        let text = format!(
            "flow f {{\n  stage a {{\n    when {}1{}\n    run \"x\"\n  }}\n}}\n",
            open.repeat(depth),
            close.repeat(depth - 1)
        );
        let diags = errs(&text);
        assert_eq!(diags.len(), 1, "{open}: {diags:?}");
    }
}

/// A tree nested deeper than 256 levels (a list of lists …) is one syntax
/// error and no tree: the builder and the checker recurse on it.
#[test]
fn a_tree_nested_too_deeply_is_one_error() {
    let depth = 5_000;
    let text = format!(
        "flow f {{\n  param p: list<str> = {}{}\n}}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let (file, diags) = parse(&text, SourceId(0));
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(diags[0].message.contains("nested too deeply"), "{diags:?}");
    assert!(file.flows.is_empty());
    // A list nested a little is fine.
    let text = format!(
        "flow f {{\n  param p: list<str> = {}{}\n}}\n",
        "[".repeat(20),
        "]".repeat(20)
    );
    let (_, diags) = parse(&text, SourceId(0));
    assert!(
        diags.iter().all(|d| !d.message.contains("nested")),
        "{diags:?}"
    );
}

/// Unclosed `${` in backtick strings: each used to double the ways to parse
/// the rest (30 of them took seconds, 100 forever). Now linear: the test
/// would not finish otherwise.
#[test]
fn unclosed_interpolations_do_not_backtrack_exponentially() {
    let text = format!("flow f {{\n  let x = {}\n}}\n", "`${".repeat(200));
    let (_, diags) = parse(&text, SourceId(0));
    assert!(!diags.is_empty());
    check_bounds(&text);
    // A closed one still parses as one expression.
    let file = ok("flow f {\n  let x = `a ${b + `c ${d}`} $e`\n}\n");
    assert!(
        matches!(&flow(&file).items[0], FlowItem::Let(_, e) if e.source == "`a ${b + `c ${d}`} $e`")
    );
}

#[test]
fn many_unclosed_brackets_stay_fast() {
    let line = format!("flow f {{ let x = {} }}\n", "f(".repeat(2_000));
    let start = std::time::Instant::now();
    check_bounds(&line.repeat(20));
    assert!(start.elapsed().as_secs() < 10, "took {:?}", start.elapsed());
}

#[test]
fn unicode_in_strings_comments_expressions_and_scripts() {
    let text = "# ünïcødé ✓\nflow f { # 日本\n  description \"héllo → wörld\"\n  let s = \"✓ ${x}\" + `ß` # ∑\n  stage a { run \"\"\"\n    echo «ok» 🎉\n  \"\"\" }\n}\n";
    let file = ok(text);
    let f = flow(&file);
    assert!(matches!(&f.items[0], FlowItem::Description(d) if d.node == "héllo → wörld"));
    assert!(matches!(&f.items[1], FlowItem::Let(_, e) if e.source == "\"✓ ${x}\" + `ß`"));
    assert!(matches!(&stage(f, "a").items[0], StageItem::Run(s) if s.node == "echo «ok» 🎉"));
}

#[test]
fn unicode_where_a_name_is_expected() {
    let text = "flow f { stage café { run \"x\" } }";
    let (_, diags) = parse(text, SourceId(0));
    let d = &diags[0];
    assert_eq!(&text[d.span().start..d.span().end], "é");
    check_bounds("flow ñ { }");
    check_bounds("🎉");
}

#[test]
fn crlf_gives_the_same_ast_contents_as_lf() {
    for text in EXAMPLES {
        let crlf = text.replace('\n', "\r\n");
        let lf_file = ok(text);
        let crlf_file = check_bounds(&crlf);
        let (_, diags) = parse(&crlf, SourceId(0));
        assert!(diags.is_empty(), "{diags:?}");
        // Same contents: compare the Debug forms without spans.
        let strip = |f: &File| {
            let d = format!("{f:?}");
            d.split("Span {")
                .map(|c| c.split_once('}').map_or(c, |(_, rest)| rest))
                .collect::<String>()
        };
        assert_eq!(strip(&lf_file), strip(&crlf_file));
    }
}
