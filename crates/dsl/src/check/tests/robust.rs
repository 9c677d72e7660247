//! The checker never panics, and the shipped library checks clean.

use super::*;

const AI_IMPLEMENT: &str = include_str!("../../parse/tests/examples/ai_implement.flow");
const POLL: &str = include_str!("../../parse/tests/examples/poll.flow");

#[test]
fn every_std_file_checks_clean_as_a_library_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../std-skills");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "flow") {
            let c = crate::check_file(&path);
            let errors: Vec<_> = c.diagnostics.iter().filter(|d| d.is_error()).collect();
            assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
            assert!(c.pipeline.is_none());
        }
    }
}

#[test]
fn truncated_and_mangled_files_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let check = |text: &str| check_in(dir.path(), text);
    for text in [AI_IMPLEMENT, POLL] {
        let mut cuts: Vec<usize> = (0..text.len()).step_by(11).collect();
        cuts.push(text.len());
        for cut in cuts.into_iter().filter(|c| text.is_char_boundary(*c)) {
            let _ = check(&text[..cut]);
            // Dropping one chunk from the middle breaks names and nesting.
            let end = (cut + 7).min(text.len());
            if text.is_char_boundary(end) {
                let _ = check(&format!("{}{}", &text[..cut], &text[end..]));
            }
        }
    }
}

#[test]
fn odd_values_never_panic() {
    for body in [
        "  stage a { run \"x\"  max 99999999999  retry 99999999999 backoff 1e308 }",
        "  stage a { run \"x\"  on exit -1, 99999999999 -> a }",
        "  stage a { run \"x\"  timeout 99999999999999999999d }",
        "  concurrency -5\n  stage a { run \"x\"  outputs \"\", \"..\", \"./../.\" }",
        "  stage a { needs a, b, a  run \"x\"  on success -> a  on success -> b }\n  stage b { needs a  run \"y\" }",
        "  stage a: nothing() { }\n  finally a { needs a  on failure -> a }",
    ] {
        let _ = check(&flow(body));
    }
}
