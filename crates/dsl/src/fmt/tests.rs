//! Golden tests of the formatter: odd layouts in, the canonical one out
//! (snapshots in `snapshots/`, `INSTA_UPDATE=always` or `cargo insta` to
//! review a change). Every case is also checked to be a fixed point.

use super::{format, FormatError};

/// Formats `text`, asserts formatting the result changes nothing, and
/// returns it.
fn fmt(text: &str) -> String {
    let once = format(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let twice = format(&once).unwrap_or_else(|e| panic!("{e}: {once}"));
    assert_eq!(once, twice, "not idempotent");
    once
}

#[test]
fn one_line_flow_becomes_one_item_per_line() {
    insta::assert_snapshot!(fmt(
        "use std\nflow f{ param n:int=3; timeout 1h\nstage a{run \"echo a\"; timeout 5m} stage b : std.test(){needs a,b2 ; on failure->a}}"
    ));
}

#[test]
fn every_kind_of_item_has_its_spelling() {
    insta::assert_snapshot!(fmt(concat!(
        "flow  all {\n",
        "    description   \"every item\"\n",
        "    param  xs :  list < str >  = [ \"a\" ,\"b\", ]\n",
        "    concurrency   2\n",
        "    skip  if   params.n >   2\n",
        "    let   x=1+2\n",
        "    env   X  =  `${x}`\n",
        "    secret   TOKEN\n",
        "    shell   \"bash -eu\"\n",
        "    alert  p95( a )  >   10m\n",
        "    budget  5   usd ,  100 tokens\n",
        "    trigger   cron  \"0 * * * *\"\n",
        "    trigger every   4h\n",
        "    stage a : lib.t( n : 1 , s:\"x\" ,) {\n",
        "        needs b ,c\n",
        "        retry 2   delay 1s   backoff 2.0\n",
        "        outputs  a.txt , \"b c\" ,dir/*.log\n",
        "        optional   outputs x\n",
        "        approval \"yes\" ,\"no\"\n",
        "        grace 5s ; idle 1m ; max   3 ; allow_failure ; status   json\n",
        "        when   stages.b.status == \"OK\"\n",
        "        on   exit 2 ,3->b\n",
        "        on status \"X\" ->   again   after 1m\n",
        "        ends   run   blocked\n",
        "    }\n",
        "    finally   tidy { run \"true\" }\n",
        "}\n",
        "template t ( n : int , s : str = \"\" ) { run \"echo\" }\n",
        "template u { timeout 1m }\n",
    )));
}

#[test]
fn comments_stay_where_they_are() {
    insta::assert_snapshot!(fmt(concat!(
        "# top of file\n",
        "\n",
        "\n",
        "use std   # trailing after use\n",
        "flow f { # after the brace\n",
        "  # first in the flow\n",
        "  timeout 1h     # trailing\n",
        "  param long_name: str = \"x\" # aligned with the line above\n",
        "\n",
        "\n",
        "\n",
        "  # between items, after blank lines\n",
        "  # a second line\n",
        "  stage a {\n",
        "    run \"x\" # after a string\n",
        "    # before the closing brace\n",
        "  } # after the closing brace\n",
        "  # right below a stage\n",
        "  stage b { }\n",
        "  stage c {\n",
        "    # only a comment\n",
        "  }\n",
        "  # last in the flow\n",
        "}\n",
        "# end of file\n",
    )));
}

#[test]
fn a_comment_between_the_tokens_of_an_item_keeps_it_as_written() {
    insta::assert_snapshot!(fmt(concat!(
        "flow g {\n",
        "  param xs: list<str> = [\n",
        "    \"a\", # the first\n",
        "    \"b\",\n",
        "  ]\n",
        "  stage a: std.agent(\n",
        "      skill: \"plan\", # why\n",
        "    ) {\n",
        "    needs   x, # one\n",
        "       y\n",
        "  }\n",
        "}\n",
    )));
}

#[test]
fn scripts_and_expressions_are_kept_byte_for_byte() {
    insta::assert_snapshot!(fmt(concat!(
        "flow f {\n",
        "      let m = #{ a: 1,\n",
        "             b: [1, 2,\n",
        "                 3] }   # a map\n",
        "      stage a {\n",
        "          run \"\"\"\n",
        "            echo  '#'   \t tabs\n",
        "          \"\"\"   # after the script\n",
        "          when  m.a==1&&  m.b.len()>2\n",
        "      }\n",
        "}\n",
    )));
}

#[test]
fn tabs_and_semicolons() {
    insta::assert_snapshot!(fmt(
        "flow f {\n\tstage a {\n\t\trun \"x\";;\n\t\ttimeout\t5m;\n\t}\n}\n"
    ));
}

#[test]
fn crlf_stays_crlf() {
    let text = "# c\r\nflow f {\r\n    stage a {  run \"x\" } # t\r\n    stage b {\r\n        run \"\"\"\r\n          echo\r\n        \"\"\"\r\n    }\r\n}\r\n";
    let out = fmt(text);
    assert_eq!(
        out,
        "# c\r\nflow f {\r\n  stage a {\r\n    run \"x\"\r\n  }  # t\r\n\r\n  stage b {\r\n    run \"\"\"\r\n          echo\r\n        \"\"\"\r\n  }\r\n}\r\n"
    );
    assert!(
        !out.replace("\r\n", "").contains('\n'),
        "a bare \\n in {out:?}"
    );
}

#[test]
fn empty_and_comment_only_files() {
    assert_eq!(fmt(""), "");
    assert_eq!(fmt("\n\n  \n"), "");
    assert_eq!(fmt("  # only\n\n\n# two\n"), "# only\n\n# two\n");
    assert_eq!(fmt("flow f {}"), "flow f {}\n");
    assert_eq!(fmt("flow f {\n\n}\n"), "flow f {}\n");
}

#[test]
fn blocks_are_set_apart_by_one_blank_line() {
    insta::assert_snapshot!(fmt(
        "use std\nflow f {\n  timeout 1h\n  stage a { run \"a\" }\n  stage b { run \"b\" }\n  # doc of c\n  stage c { run \"c\" }\n  secret S\n}\ntemplate t() { run \"t\" }\n"
    ));
}

#[test]
fn a_file_with_syntax_errors_is_not_formatted() {
    match format("flow f {\n  stage a { bogus }\n}\n") {
        Err(FormatError::Syntax(d)) => assert!(!d.is_empty()),
        other => panic!("expected syntax errors, got {other:?}"),
    }
    assert!(matches!(
        format("flow f {\n  stage a {\n"),
        Err(FormatError::Syntax(_))
    ));
}

#[test]
fn the_line_below_a_suppression_stays_one_line() {
    // `# flow: allow` silences the line below it: splitting that line
    // would move a warning out of its reach.
    insta::assert_snapshot!(fmt(concat!(
        "flow f {\n",
        "  # flow: allow(F0106)\n",
        "  stage a {  max 3;  run \"x\" }\n",
        "  # flow: allow(F0101)\n",
        "  timeout 1h; concurrency 2\n",
        "  # an ordinary comment\n",
        "  stage b { max 3; run \"x\" }\n",
        "  # flow: allow(F0106)\n",
        "  stage c { max 3\n",
        "      run \"x\"\n",
        "  }\n",
        "  # flow: allow(F0102)\n",
        "  stage d {\n",
        "      needs c;   run \"x\"\n",
        "  }\n",
        "}\n",
    )));
}

#[test]
fn the_safety_net_catches_a_changed_tree() {
    use crate::parse::parse;
    use crate::span::SourceId;
    let tree = |t: &str| parse(t, SourceId(0)).0;
    let a = tree("flow f {\n  stage a {\n    run \"x\"\n  }\n}\n");
    // Spans differ only: the same tree.
    assert!(super::verify::same_tree(&a, &tree("flow f { stage a { run \"x\" } }")).is_ok());
    // A value, a comment, an item's order: different trees.
    for other in [
        "flow f { stage a { run \"y\" } }",
        "flow f { stage a { run \"x\" } } # c",
        "flow f { stage a { run \"x\"; timeout 1m } }",
    ] {
        assert!(
            super::verify::same_tree(&a, &tree(other)).is_err(),
            "{other}"
        );
    }
}
