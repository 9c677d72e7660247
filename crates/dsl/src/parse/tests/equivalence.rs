//! The parser against pest's reference parser of the same grammar: in this
//! crate's tests `parse` asserts that both give the same AST and
//! diagnostics (see `parse::checked_parse`), so these tests only feed it
//! texts: every `.flow` file of the repository, each cut, each line
//! removed and tricky characters inserted at many places, and random
//! sequences of the language's tokens.

use super::super::parse;
use crate::span::SourceId;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

/// Every `.flow` file under `dir` (not in `target`, `.git` or `node_modules`).
fn flow_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if matches!(name.to_str(), Some("target" | ".git" | "node_modules")) {
            continue;
        }
        if path.is_dir() {
            flow_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "flow") {
            out.push(path);
        }
    }
}

fn repository_flows() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut paths = Vec::new();
    flow_files(&root, &mut paths);
    paths.sort();
    let flows: Vec<_> = paths
        .into_iter()
        .filter_map(|p| Some((p.clone(), std::fs::read_to_string(&p).ok()?)))
        .collect();
    assert!(flows.len() > 100, "found only {} .flow files", flows.len());
    flows
}

/// Characters and words that open, close or end something.
const INSERTS: &[&str] = &[
    "\"",
    "\"\"\"",
    "{",
    "}",
    "[",
    "(",
    "#",
    "`",
    ",",
    "=",
    "é",
    "stage x {",
];

#[test]
fn every_repository_flow_and_its_mutations_parse_alike() {
    for (_, text) in repository_flows() {
        parse(&text, SourceId(0));
        // Mutations of the smaller files only: the reference is slow in a
        // debug build, and the large ones repeat the small ones' items.
        if text.len() > 6000 {
            continue;
        }
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        // Each line removed, and the file cut at each line (the first 16).
        for i in 0..lines.len().min(16) {
            let without: String = lines
                .iter()
                .enumerate()
                .filter(|(k, _)| *k != i)
                .map(|(_, l)| *l)
                .collect();
            parse(&without, SourceId(0));
            let cut: String = lines[..i].concat();
            parse(&cut, SourceId(0));
        }
        // Inserts at up to 5 places spread over the file.
        let step = (text.len() / 5).max(1);
        let mut at = 0;
        while at < text.len() {
            if text.is_char_boundary(at) {
                for insert in INSERTS {
                    let mutated = format!("{}{insert}{}", &text[..at], &text[at..]);
                    parse(&mutated, SourceId(0));
                }
            }
            at += step;
        }
    }
}

/// Pieces of the language, valid and not, that random texts are made of.
const PIECES: &[&str] = &[
    "flow",
    "stage",
    "template",
    "use",
    "std",
    "as",
    "finally",
    "param",
    "let",
    "env",
    "secret",
    "timeout",
    "description",
    "concurrency",
    "skip",
    "if",
    "shell",
    "budget",
    "alert",
    "trigger",
    "cron",
    "every",
    "needs",
    "run",
    "builtin",
    "grace",
    "idle",
    "approval",
    "retry",
    "delay",
    "backoff",
    "outputs",
    "optional",
    "when",
    "status",
    "max",
    "allow_failure",
    "ends",
    "on",
    "again",
    "after",
    "success",
    "failure",
    "exit",
    "usd",
    "tokens",
    "true",
    "false",
    "a",
    "b-c",
    "x_1",
    "p95",
    "int",
    "str",
    "list<str>",
    "list < str >",
    "0",
    "-1",
    "2.5",
    "1e3",
    "1.5e-2",
    "99999999999999999999",
    "30s",
    "1h30m",
    "\"s\"",
    "\"a\\\"b\"",
    "\"\\q\"",
    "\"open",
    "\"\"\"\n  x\n\"\"\"",
    "\"\"\"",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "#{a: 1}",
    "`t ${a}`",
    "'c'",
    ",",
    ":",
    ".",
    "=",
    "->",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "&&",
    "||",
    "!",
    " ",
    " ",
    " ",
    "\t",
    "\n",
    "\n",
    "\r\n",
    ";",
    "# note\n",
    "#",
    "é",
    "dir/*.txt",
    "\\",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn random_token_sequences_parse_alike(
        pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..60)
    ) {
        let text: String = pieces.concat();
        parse(&text, SourceId(0));
    }

    #[test]
    fn random_text_in_a_stage_parses_alike(
        pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..40)
    ) {
        let text = format!("flow f {{\n  stage a: t(x: [1, [2]], y: \"s\") {{\n    {}\n  }}\n}}\n", pieces.concat());
        parse(&text, SourceId(0));
    }
}
