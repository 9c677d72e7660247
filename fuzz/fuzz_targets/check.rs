//! Fuzz target `check`: arbitrary bytes through parse + load + check.
//!
//! Invariants (issue 3, "never crash on any input"):
//! - `check_source` never panics;
//! - every label of every diagnostic lies inside the text of the file the
//!   diagnostic names, on character boundaries, with `start <= end`;
//! - every diagnostic renders (miette graphical, no colour) without panic;
//! - the parser gives what pest's reference parser of the grammar gives
//!   (`flow_dsl::parse::reference`, feature `pest-reference`).
//!
//! Input bytes are decoded lossily: invalid UTF-8 becomes U+FFFD, so
//! byte-level mutations still reach the parser as multi-byte characters,
//! which is where span arithmetic goes wrong.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

/// A base folder with a library (`use "lib" as lib`) and a skill, made once.
/// `use` paths in the input resolve from here.
fn base_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("flow-fuzz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(dir.join("lib/skills"));
        let _ = std::fs::create_dir_all(dir.join("skills"));
        let _ = std::fs::write(
            dir.join("lib/t.flow"),
            "template t(skill: skill, n: int = 1) {\n  timeout 1m\n  run \"echo $SKILL\"\n}\n",
        );
        let _ = std::fs::write(dir.join("lib/skills/review.md"), "review\n");
        let _ = std::fs::write(dir.join("skills/local.md"), "local\n");
        dir
    })
}

/// Stack for pest's reference parser: it recurses once per bracket (at
/// most 4,096 in an input of `-max_len=4096`, under 8 KiB each).
const REFERENCE_STACK: usize = 64 << 20;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let source = flow_dsl::SourceId(0);
    let parsed = flow_dsl::parse::parse(&text, source);
    let expected = std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(REFERENCE_STACK)
            .spawn_scoped(s, || flow_dsl::parse::reference::parse(&text, source))
            .expect("a thread for the reference parser")
            .join()
            .expect("the reference parser panicked")
    });
    assert_eq!(parsed, expected, "the parser and pest's reference differ");
    let checked = flow_dsl::check_source("fuzz.flow", &text, base_dir());
    for d in &checked.diagnostics {
        let file = checked.sources.get(d.source);
        let t: &str = &file.text;
        assert!(!d.labels.is_empty(), "{:?} without a label", d.code);
        for l in &d.labels {
            let s = l.span;
            assert!(
                s.start <= s.end && s.end <= t.len(),
                "{:?}: span {s:?} outside {} ({} bytes)",
                d.code,
                file.name,
                t.len()
            );
            assert!(
                t.is_char_boundary(s.start) && t.is_char_boundary(s.end),
                "{:?}: span {s:?} not on char boundaries in {}",
                d.code,
                file.name
            );
        }
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
                .with_width(80);
        let mut out = String::new();
        let _ = handler.render_report(&mut out, &d.render(&checked.sources));
    }
});
