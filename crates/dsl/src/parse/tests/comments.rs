//! Comments: found between tokens, never inside a string, script,
//! expression or junk.

use crate::parse::parse;
use crate::span::SourceId;

fn comments(text: &str) -> Vec<String> {
    let (file, _) = parse(text, SourceId(0));
    for c in &file.comments {
        assert_eq!(&text[c.span.start..c.span.end], c.node, "span of {c:?}");
    }
    file.comments.into_iter().map(|c| c.node).collect()
}

#[test]
fn finds_whole_line_and_trailing_comments() {
    let text = "# top\nflow f { # after brace\n  timeout 1m # trailing\r\n  stage a {\n    # inside\n    run \"x\"\n  }\n}\n# end";
    assert_eq!(
        comments(text),
        ["# top", "# after brace", "# trailing", "# inside", "# end"]
    );
}

#[test]
fn a_hash_inside_a_string_script_or_expression_is_not_a_comment() {
    let text = concat!(
        "flow f {\n",
        "  description \"# not a comment\"\n",
        "  stage a {\n",
        "    run \"\"\"\n",
        "      # flow: allow(F0101)\n",
        "      echo '#'\n",
        "    \"\"\"\n",
        "    when #{a: 1}.a == 1 # real\n",
        "  }\n",
        "}\n",
    );
    assert_eq!(comments(text), ["# real"]);
}

#[test]
fn no_comments_and_empty_text() {
    assert!(comments("").is_empty());
    assert!(comments("flow f { stage a { run \"x\" } }").is_empty());
    assert_eq!(comments("#"), ["#"]);
}

#[test]
fn comments_survive_a_syntax_error_elsewhere() {
    let text = "flow f {\n  # keep\n  bogus thing\n  # also\n}\n";
    let found = comments(text);
    assert!(found.contains(&"# keep".to_string()), "{found:?}");
}
