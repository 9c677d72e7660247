//! Property tests of `flow check`'s robustness (issue 3): whatever the input,
//! `check_source` returns diagnostics instead of panicking, every label lies
//! inside its file on character boundaries, CRLF files get the same
//! diagnostics at the same lines and columns as LF files, expression
//! columns count characters, not bytes, and valid conditions raise no error.
//!
//! The fuzz target `fuzz/fuzz_targets/check.rs` checks the same invariants on
//! mutated inputs; these run with `cargo test` on every change.

use flow_dsl::span::{line_col, offset_of};
use flow_dsl::{check_source, Checked, Code};
use proptest::prelude::*;
use std::path::Path;

/// Checks `text` from an empty folder.
fn check(text: &str) -> Checked {
    let dir = tempfile::tempdir().expect("temp dir");
    check_source("prop.flow", text, dir.path())
}

/// Asserts every label of every diagnostic lies inside its file, on
/// character boundaries, and that its line/column round-trips to the offset.
fn assert_spans_valid(c: &Checked) -> Result<(), TestCaseError> {
    for d in &c.diagnostics {
        let file = c.sources.get(d.source);
        let text: &str = &file.text;
        prop_assert!(!d.labels.is_empty(), "{:?} without a label", d.code);
        for l in &d.labels {
            let s = l.span;
            prop_assert!(
                s.start <= s.end && s.end <= text.len(),
                "{:?}: span {:?} outside {} ({} bytes): {}",
                d.code,
                s,
                file.name,
                text.len(),
                d.message
            );
            prop_assert!(
                text.is_char_boundary(s.start) && text.is_char_boundary(s.end),
                "{:?}: span {:?} splits a character in {}",
                d.code,
                s,
                file.name
            );
            for off in [s.start, s.end] {
                let (line, col) = line_col(text, off);
                prop_assert!(line >= 1 && col >= 1);
                prop_assert!(line <= text.split('\n').count());
                let line_text = text.split('\n').nth(line - 1).unwrap_or("");
                prop_assert!(col <= line_text.chars().count() + 1);
                prop_assert_eq!(offset_of(text, line, col), off, "line/col round trip");
            }
        }
    }
    Ok(())
}

/// A 1-based (line, column).
type LineCol = (usize, usize);

/// Codes and (line, column) of every label's start and end, in order.
fn positions(c: &Checked) -> Vec<(Code, Vec<(LineCol, LineCol)>)> {
    c.diagnostics
        .iter()
        .map(|d| {
            let text: &str = &c.sources.get(d.source).text;
            let spans = d
                .labels
                .iter()
                .map(|l| (line_col(text, l.span.start), line_col(text, l.span.end)))
                .collect();
            (d.code, spans)
        })
        .collect()
}

// ── generators ──────────────────────────────────────────────────────────────

/// Pieces of the language, so random strings look like flows often enough to
/// get past the parser.
const TOKENS: &[&str] = &[
    "flow f {",
    "stage a {",
    "stage b {",
    "template t() {",
    "finally z {",
    "}",
    "{",
    "(",
    ")",
    "[",
    "]",
    "\n",
    "\r\n",
    "\t",
    " ",
    "run \"x\"",
    "run \"\"\"\n  echo é\n\"\"\"",
    "needs a",
    "needs b, a",
    "timeout 1m",
    "timeout 5",
    "retry 2 delay 1s",
    "max 3",
    "when ",
    "skip if ",
    "let x = ",
    "param p: int = 1",
    "param s: str = \"é\"",
    "on success -> b",
    "on failure -> a",
    "on exit 1, 2 -> b",
    "on status \"ok\" -> a",
    "on timeout -> again after 1s",
    "status json",
    "allow_failure",
    "ends run broken",
    "outputs out.txt",
    "optional outputs *.log",
    "shell \"sh -eu\"",
    "shell \"\"",
    "param path: path",
    "retry 3 backoff 1e20",
    "timeout 999999999999d",
    "use std",
    "use \"lib\" as l",
    ": std.agent(skill: \"x\")",
    "stages.a.outcome == \"failed\"",
    "stages.nope.x",
    "p > 1",
    "s + 1",
    "\"",
    "\"\"\"",
    "'",
    "`",
    "#",
    "# flow: allow(F0101)",
    "#{",
    "é",
    "€",
    "😀",
    "日本",
    "\u{feff}",
    "\0",
    "-1",
    "99999999999999999999",
    "1.5",
    "true",
    "->",
    ",",
    ":",
    "=",
    ";",
];

/// Arbitrary unicode, or a soup of language tokens.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(prop::sample::select(TOKENS), 0..40).prop_map(|v| v.concat()),
    ]
}

/// Text for strings and comments: ASCII with multi-byte characters mixed in.
fn words() -> impl Strategy<Value = String> {
    "[a-z é€😀日本\u{301}]{0,12}"
}

/// A rhai expression over params `n: int`, `s: str` and stages `s0..sN`:
/// valid ones and every kind of mistake the checker reports.
fn expr(stages: usize) -> impl Strategy<Value = String> {
    let stage = 0..stages.max(1);
    // Kinds 14.. repeat the valid forms, so about half of them check clean.
    (stage, 0..24usize, words(), 0..100i64).prop_map(|(st, kind, w, k)| match kind {
        0 => format!("n > {k}"),
        1 => format!("s == \"{w}\""),
        2 => format!("stages.s{st}.outcome == \"failed\""),
        3 => format!("stages.s{st}.exit_code == {k}"),
        4 => format!("stages.s{st}.bogus == 1"),
        5 => format!("stages.nope{st}.outcome == \"x\""),
        6 => format!("\"{w}\" + n"),
        7 => format!("n + s > {k}"),
        8 => format!("len(s) > {k} && \"{w}\" != s"),
        9 => format!("runs(\"f\", \"succeeded\") < {k}"),
        10 => format!("\"{w}\" == undefined_{k}"),
        11 => format!("(n > 1 &&\n    \"{w}\" == s)"),
        12 => "n +".to_string(),
        13 => format!("{k}"),
        14..=16 => format!("n > {k} || s == \"{w}\""),
        17..=19 => format!("stages.s{st}.outcome == \"failed\""),
        _ => format!("runs(\"f\", \"failed\") < {k}"),
    })
}

/// One stage of a flow with `count` stages.
fn stage(index: usize, count: usize) -> impl Strategy<Value = String> {
    let other = 0..count;
    (
        prop::collection::vec(other.clone(), 0..3),
        prop::collection::vec(
            (
                0..6usize,
                other,
                prop::sample::select(&[1u16, 2, 3, 300][..]),
            ),
            0..3,
        ),
        prop::option::of(prop::sample::select(
            &["1m", "10s", "1m", "2h30m", "30s", "5", "1 m", "0s"][..],
        )),
        prop::option::of(expr(count)),
        prop::option::of(0..5u32),
        prop::option::of(1..4u32),
        words(),
        any::<bool>(),
        prop::bool::weighted(0.15),
    )
        .prop_map(
            move |(needs, routes, timeout, when, retry, max, w, status, wild)| {
                let mut items = Vec::new();
                if !needs.is_empty() {
                    // Mostly distinct earlier stages; a wild stage keeps
                    // cycles, self-needs and repeats.
                    let mut needs = needs;
                    if !wild {
                        needs.sort_unstable();
                        needs.dedup();
                    }
                    let names: Vec<String> = needs
                        .iter()
                        .filter(|&&n| wild || n < index)
                        .map(|n| format!("s{n}"))
                        .collect();
                    if !names.is_empty() {
                        items.push(format!("needs {}", names.join(", ")));
                    }
                }
                if let Some(t) = timeout {
                    items.push(format!("timeout {t}"));
                }
                if let Some(e) = when {
                    items.push(format!("when {e}"));
                }
                if let Some(r) = retry {
                    items.push(format!("retry {r} delay 1s"));
                }
                if let Some(m) = max {
                    items.push(format!("max {m}"));
                }
                if status {
                    items.push("status json".to_string());
                }
                items.push(format!("# {w}"));
                items.push(format!("run \"\"\"\n    echo '{w}'\n    exit 1\n  \"\"\""));
                for (kind, target, code) in routes {
                    let on = match kind {
                        0 => "success".to_string(),
                        1 => "failure".to_string(),
                        2 => "timeout".to_string(),
                        3 => format!("exit {code}"),
                        4 => format!("status \"{w}\""),
                        _ => "success".to_string(),
                    };
                    let to = if kind == 5 {
                        "again after 1s".to_string()
                    } else {
                        format!("s{target}")
                    };
                    items.push(format!("on {on} -> {to}"));
                }
                format!("stage s{index} {{\n{}\n}}", items.join("\n"))
            },
        )
}

/// A whole flow in LF form: params, a `let`, 1..6 stages, maybe a finally.
fn flow_text() -> impl Strategy<Value = String> {
    (1..6usize)
        .prop_flat_map(|count| {
            (
                (0..count).map(|i| stage(i, count)).collect::<Vec<_>>(),
                expr(count),
                words(),
                any::<bool>(),
            )
        })
        .prop_map(|(stages, let_expr, w, finally)| {
            let mut text = format!(
                "# {w}\nflow f {{\n  description \"{w}\"\n  timeout 1m\n  param n: int = 1\n  param s: str = \"{w}\"\n  let l = {let_expr}\n"
            );
            for s in stages {
                text.push_str(&s);
                text.push('\n');
            }
            if finally {
                text.push_str("finally cleanup {\n  run \"true\"\n}\n");
            }
            text.push_str("}\n");
            text
        })
}

/// Indents with spaces or tabs (inside raw strings too: dedent must cope).
fn indent(text: &str, tabs: bool) -> String {
    let pad = if tabs { "\t" } else { "  " };
    text.lines().map(|l| format!("{pad}{l}\n")).collect()
}

// ── properties ──────────────────────────────────────────────────────────────

// The default 256 cases per property: about 10 s in a debug build.
proptest! {
    /// (a) Any text checks or yields diagnostics, with valid spans.
    #[test]
    fn any_text_never_panics_and_spans_are_valid(text in any_text()) {
        let c = check(&text);
        assert_spans_valid(&c)?;
    }

    /// (b) Generated flows, indented with spaces or tabs, in LF or CRLF.
    #[test]
    fn generated_flows_have_valid_spans(
        text in flow_text(),
        tabs in any::<bool>(),
        crlf in any::<bool>(),
    ) {
        let mut text = indent(&text, tabs);
        if crlf {
            text = text.replace('\n', "\r\n");
        }
        let c = check(&text);
        assert_spans_valid(&c)?;
    }

    /// (c) A file and its CRLF version: same codes at the same lines and columns.
    #[test]
    fn crlf_gives_the_same_diagnostics_as_lf(text in flow_text(), tabs in any::<bool>()) {
        let lf = indent(&text, tabs);
        let crlf = lf.replace('\n', "\r\n");
        let (a, b) = (check(&lf), check(&crlf));
        prop_assert_eq!(positions(&a), positions(&b), "\nLF:\n{}", lf);
    }

    /// (d) rhai columns are characters: an unknown variable after non-ASCII
    /// text (on the same line, or on the next line of a bracketed
    /// expression) is labelled exactly.
    #[test]
    fn expression_errors_after_unicode_land_on_the_right_character(
        before in "[a-zé€😀日本\u{301}\t ]{0,10}",
        name in "zz[a-z]{1,6}",
        newline in any::<bool>(),
        crlf in any::<bool>(),
    ) {
        let sep = if newline { "\n    \t  " } else { " " };
        let mut text = format!(
            "flow f {{\n  timeout 1m\n  stage a {{\n    when (\"{before}\" == \"é\" ||{sep}{name} == 1)\n    run \"true\"\n  }}\n}}\n"
        );
        if crlf {
            text = text.replace('\n', "\r\n");
        }
        let c = check(&text);
        assert_spans_valid(&c)?;
        let d = c.diagnostics.iter().find(|d| d.code == Code::UnknownVariable);
        prop_assert!(d.is_some(), "no F0010 in {:?}", c.diagnostics);
        let span = d.map(|d| d.span()).unwrap_or_default();
        prop_assert_eq!(&text[span.start..span.end], name.as_str());
    }
}

/// Conditions that are valid for these params and stages (every kind of
/// value the checker types: int, float, str, bool, duration, list, lets,
/// stage fields, `env`, `run`, `runs`).
const VALID_CONDITIONS: &[&str] = &[
    "n > 1",
    "s == \"é\"",
    "b",
    "!b",
    "x >= 1.5",
    "n + 1 < 10",
    "x * 2.0 > n.to_float()",
    "d > 60",
    "l.len() > 0",
    "\"a\" in l",
    "s.len() == 3",
    "stages.a.outcome == \"failed\"",
    "stages.a.exit_code == 1",
    "stages.a.attempts > 1",
    "stages.a.duration > 1.0",
    "runs(\"f\", \"succeeded\") > 0",
    "env.HOME != ()",
    "run.id != \"\"",
    "s.contains(\"x\")",
    "n % 2 == 0",
    "`${s}-${n}` != \"\"",
    "(n + 2) * 3 > 7",
    "s + \"x\" == \"yx\"",
    "stages.a.status == \"ok\"",
    "stages.a.result != ()",
    "stages.a.visits < 3",
    "l[0] == \"a\"",
    "n.to_string() == s",
    "k > 0",
    "k == 5",
    "x > 0.0 && n > 0",
    "type_of(n) == \"i64\"",
];

/// A condition joining 1..4 valid ones with `&&` / `||`.
fn valid_condition() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VALID_CONDITIONS), 1..4)
        .prop_flat_map(|atoms| {
            let n = atoms.len();
            (Just(atoms), prop::collection::vec(any::<bool>(), n))
        })
        .prop_map(|(atoms, ands)| {
            let mut out = String::new();
            for (i, (a, and)) in atoms.iter().zip(ands).enumerate() {
                if i > 0 {
                    out.push_str(if and { " && " } else { " || " });
                }
                out.push_str(&format!("({a})"));
            }
            out
        })
}

proptest! {
    /// (e) No false error: a flow whose conditions are all valid checks clean.
    #[test]
    fn valid_conditions_check_clean(cond in valid_condition(), crlf in any::<bool>()) {
        let mut text = format!(
            "flow f {{\n  timeout 1m\n  param n: int = 1\n  param s: str = \"é\"\n  param b: bool = true\n  param x: float = 1.5\n  param d: duration = 1m\n  param l: list<str> = [\"a\"]\n  let k = n + 1\n  stage a {{ run \"true\" }}\n  stage c {{\n    needs a\n    when {cond}\n    run \"true\"\n  }}\n}}\n"
        );
        if crlf {
            text = text.replace('\n', "\r\n");
        }
        let c = check(&text);
        let found: Vec<_> = c.diagnostics.iter().map(|d| (d.code, &d.message)).collect();
        prop_assert!(found.is_empty(), "{}\n{:?}", text, found);
        prop_assert!(c.pipeline.is_some());
    }
}

/// The base folder matters only for `use` and skills; a file that loads a
/// missing library still gets valid spans.
#[test]
fn missing_library_and_skills_have_valid_spans() {
    let c = check_source(
        "prop.flow",
        "use \"nowhere/é\" as x\nflow f {\n  timeout 1m\n  stage a: x.t(skill: \"日本\") { }\n}\n",
        Path::new("/nonexistent-flow-prop"),
    );
    assert!(!c.diagnostics.is_empty());
    assert_spans_valid(&c).unwrap();
}

/// The flow generator is worth its time only if its flows get past the
/// parser: most must reach the checker, and some must check clean.
#[test]
fn generated_flows_reach_the_checker() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = flow_text();
    let (mut checked, mut clean) = (0, 0);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..64 {
        let text = strategy.new_tree(&mut runner).expect("a flow").current();
        let c = check(&text);
        if !c.diagnostics.iter().any(|d| d.code == Code::Syntax) {
            checked += 1;
        }
        if c.pipeline.is_some() {
            clean += 1;
        }
        seen.extend(c.diagnostics.iter().map(|d| d.code));
        if std::env::var_os("FLOW_PROP_SHOW").is_some() {
            eprintln!(
                "{text}\n=> {:?}\n",
                c.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>()
            );
        }
    }
    eprintln!("{checked}/64 past the parser, {clean} clean, codes {seen:?}");
    assert!(checked >= 48, "only {checked}/64 generated flows parse");
    assert!(clean >= 4, "only {clean}/64 generated flows check clean");
}

proptest! {
    /// (f) `Retry::delay_before` never panics and never exceeds
    /// `MAX_DURATION`, whatever its fields hold (issue 6: `backoff 1e20`
    /// panicked `flow run`): any delay, any float (NaN, infinities,
    /// negatives, subnormals), any retry number.
    #[test]
    fn delay_before_never_panics(
        secs in any::<u64>(),
        nanos in 0u32..1_000_000_000,
        backoff in prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            1.0f64..=10.0,
        ],
        retries in any::<u32>(),
        k in any::<u32>(),
    ) {
        let retry = flow_dsl::ir::Retry {
            retries,
            delay: std::time::Duration::new(secs, nanos),
            backoff,
        };
        prop_assert!(retry.delay_before(k) <= flow_dsl::ir::MAX_DURATION);
    }
}
