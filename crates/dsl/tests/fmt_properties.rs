//! Property tests of `flow fmt` (issue 9): for flows laid out at random
//! (items on one line or many, `;`, tabs, blank lines, comments after items
//! and on lines of their own), formatting never fails on a valid file, is
//! idempotent, keeps every comment, and, without comments, gives one text
//! whatever the layout was.

use flow_dsl::fmt::format;
use flow_dsl::parse::parse;
use flow_dsl::SourceId;
use proptest::prelude::*;

/// Stage items; `true` when the item ends with an expression, which runs to
/// the end of its line, so only a line break or `;` may follow it.
const STAGE_ITEMS: &[(&str, bool)] = &[
    ("run \"echo hi\"", false),
    ("run \"\"\"\n    echo  a\n      b\n  \"\"\"", false),
    ("timeout 5m", false),
    ("retry 2 delay 1s backoff 2", false),
    ("outputs a.txt, \"b c\", dir/*.log", false),
    ("optional outputs x.md", false),
    ("max 3", false),
    ("allow_failure", false),
    ("status json", false),
    ("on exit 2, 3 -> again after 1m", false),
    ("on failure -> other", false),
    ("when params.n > 2 && [1, 2].len() == 2", true),
    ("env X = `n=${params.n}`", true),
];

const FLOW_ITEMS: &[(&str, bool)] = &[
    ("param n: int = 3", false),
    ("param xs: list<str> = [\"a\", \"b\"]", false),
    ("timeout 1h", false),
    ("secret TOKEN", false),
    ("let twice = params.n * 2", true),
    ("budget 5 usd, 100 tokens", false),
];

/// A separator between two items; after an expression, one that ends it.
fn separator(after_expr: bool) -> impl Strategy<Value = &'static str> {
    if after_expr {
        prop::sample::select(vec!["\n", ";", " ;\n", "\n\n\n", "\t;\t"])
    } else {
        prop::sample::select(vec![" ", "\n", ";", " ;\n", "\n\n\n", "\t", "\n\t\t  "])
    }
}

/// A flow from `flow_items` and `stages` (indexes into the tables), each
/// item followed by its separator and, when `comments`, maybe a comment.
#[derive(Debug, Clone)]
struct Layout {
    flow_items: Vec<(usize, &'static str, bool)>,
    stages: Vec<Vec<(usize, &'static str, bool)>>,
}

fn items(
    table: &'static [(&'static str, bool)],
    max: usize,
) -> impl Strategy<Value = Vec<(usize, &'static str, bool)>> {
    prop::collection::vec(
        (0..table.len()).prop_flat_map(move |i| (Just(i), separator(table[i].1), any::<bool>())),
        0..max,
    )
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        items(FLOW_ITEMS, 4),
        prop::collection::vec(items(STAGE_ITEMS, 6), 1..4),
    )
        .prop_map(|(flow_items, stages)| Layout { flow_items, stages })
}

/// The text of `layout`, with comments when asked.
fn render(l: &Layout, comments: bool) -> String {
    let mut out = String::from("flow f {");
    let mut n = 0;
    let mut item = |out: &mut String, text: &str, sep: &str, comment: bool| {
        out.push_str(text);
        if comments && comment {
            n += 1;
            out.push_str(&format!(" # note {n}\n"));
        }
        out.push_str(sep);
    };
    out.push('\n');
    for (i, sep, c) in &l.flow_items {
        item(&mut out, FLOW_ITEMS[*i].0, sep, *c);
    }
    for (s, stage) in l.stages.iter().enumerate() {
        out.push_str(&format!("stage s{s} {{ "));
        for (i, sep, c) in stage {
            item(&mut out, STAGE_ITEMS[*i].0, sep, *c);
        }
        out.push_str("}\n");
    }
    out.push_str("}\n");
    out
}

fn comments_of(text: &str) -> Vec<String> {
    parse(text, SourceId(0))
        .0
        .comments
        .into_iter()
        .map(|c| c.node)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn formatting_is_idempotent_and_keeps_every_comment(l in layout()) {
        let text = render(&l, true);
        let (_, diags) = parse(&text, SourceId(0));
        prop_assume!(diags.is_empty());
        let once = format(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let twice = format(&once).map_err(|e| TestCaseError::fail(format!("{e}\n{once}")))?;
        prop_assert_eq!(&once, &twice, "not idempotent:\n{}", text);
        prop_assert_eq!(comments_of(&text), comments_of(&once));
    }

    #[test]
    fn without_comments_the_layout_does_not_matter(l in layout()) {
        let text = render(&l, false);
        prop_assume!(parse(&text, SourceId(0)).1.is_empty());
        // The same items, one per line (blank lines, which are kept, where
        // the random layout had some).
        let line = |sep: &str| if sep.matches('\n').count() >= 2 { "\n\n" } else { "\n" };
        let plain = Layout {
            flow_items: l.flow_items.iter().map(|(i, s, c)| (*i, line(s), *c)).collect(),
            stages: l
                .stages
                .iter()
                .map(|st| st.iter().map(|(i, s, c)| (*i, line(s), *c)).collect())
                .collect(),
        };
        let a = format(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let b = format(&render(&plain, false)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(a, b, "\n{}", text);
    }
}
