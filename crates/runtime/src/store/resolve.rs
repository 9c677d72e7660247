//! `RUN` on the command line: a full run id, a unique prefix of one, or
//! `last` (the run started last; ids sort by start time).
//!
//! Read from the run directories, not the index, so it works whatever state
//! the index is in.

use std::path::{Path, PathBuf};

/// How many candidates an ambiguous prefix lists.
const MAX_CANDIDATES: usize = 10;

/// Why `RUN` names no single run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// `<base>/runs/` holds no run.
    #[error("no runs in {}", .0.display())]
    NoRuns(PathBuf),
    /// No run id starts with the text.
    #[error("no run `{0}` (see `flow runs`)")]
    Unknown(String),
    /// Several run ids start with the text.
    #[error("`{text}` matches {} runs: {}{}", .total, .candidates.join(", "), if *.total > .candidates.len() { ", …" } else { "" })]
    Ambiguous {
        /// What was given.
        text: String,
        /// The first matching ids, in order (at most ten).
        candidates: Vec<String>,
        /// How many ids match.
        total: usize,
    },
    /// `<base>/runs/` cannot be read.
    #[error("cannot read {path}: {message}")]
    Unreadable {
        /// The folder.
        path: String,
        /// The I/O error.
        message: String,
    },
}

/// The run directory (`<base>/runs/<id>`) that `text` names: a full id, a
/// unique prefix of one, or `last`. Only folders holding a `journal.jsonl`
/// count as runs.
///
/// # Errors
/// See [`ResolveError`]: unknown, ambiguous (listing candidates), no runs,
/// or an unreadable `runs/` folder.
pub fn resolve_run(base: &Path, text: &str) -> Result<PathBuf, ResolveError> {
    let runs = base.join("runs");
    let mut ids: Vec<String> = match std::fs::read_dir(&runs) {
        Ok(read) => read
            .filter_map(Result::ok)
            .filter(|e| e.path().join("journal.jsonl").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(ResolveError::Unreadable {
                path: runs.display().to_string(),
                message: e.to_string(),
            })
        }
    };
    if ids.is_empty() {
        return Err(ResolveError::NoRuns(runs));
    }
    ids.sort();
    if text == "last" {
        return Ok(runs.join(last(&runs, &ids)));
    }
    if ids.iter().any(|id| id == text) {
        return Ok(runs.join(text));
    }
    let matching: Vec<&String> = if text.is_empty() {
        Vec::new()
    } else {
        ids.iter().filter(|id| id.starts_with(text)).collect()
    };
    match matching.as_slice() {
        [] => Err(ResolveError::Unknown(text.to_string())),
        [one] => Ok(runs.join(one.as_str())),
        many => Err(ResolveError::Ambiguous {
            text: text.to_string(),
            candidates: many
                .iter()
                .take(MAX_CANDIDATES)
                .map(|s| s.to_string())
                .collect(),
            total: many.len(),
        }),
    }
}

/// The run started last among `ids` (sorted, not empty): ids sort by the
/// second they started in, so only the runs of the last second are told
/// apart, by their `run_started` time (milliseconds).
fn last<'a>(runs: &Path, ids: &'a [String]) -> &'a str {
    let Some(newest) = ids.last() else {
        return "";
    };
    let second = newest.split_once('-').map_or(newest.as_str(), |(s, _)| s);
    ids.iter()
        .filter(|id| id.starts_with(second))
        .max_by_key(|id| (started_ts(&runs.join(id)), id.as_str()))
        .map_or(newest.as_str(), String::as_str)
}

/// The `ts` of a run's first journal line.
fn started_ts(root: &Path) -> Option<String> {
    use std::io::BufRead;
    let file = std::fs::File::open(root.join("journal.jsonl")).ok()?;
    let mut first = String::new();
    std::io::BufReader::new(file).read_line(&mut first).ok()?;
    let v: serde_json::Value = serde_json::from_str(first.trim_end()).ok()?;
    v["ts"].as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_prefixes_last_and_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path();
        assert!(matches!(
            resolve_run(base, "last"),
            Err(ResolveError::NoRuns(_))
        ));
        for id in [
            "20260101T000000Z-aaaaaa",
            "20260101T000000Z-aabbbb",
            "20260102T000000Z-cccccc",
        ] {
            std::fs::create_dir_all(base.join("runs").join(id)).unwrap();
            std::fs::write(base.join("runs").join(id).join("journal.jsonl"), "").unwrap();
        }
        // Same second: the later `run_started` is last, whatever the nonce.
        let ts =
            |ms| format!("{{\"ts\":\"2026-01-02T00:00:00.{ms}Z\",\"event\":\"run_started\"}}\n");
        std::fs::create_dir_all(base.join("runs/20260102T000000Z-000000")).unwrap();
        std::fs::write(
            base.join("runs/20260102T000000Z-000000/journal.jsonl"),
            ts("900"),
        )
        .unwrap();
        std::fs::write(
            base.join("runs/20260102T000000Z-cccccc/journal.jsonl"),
            ts("100"),
        )
        .unwrap();
        assert_eq!(
            resolve_run(base, "last").unwrap(),
            base.join("runs/20260102T000000Z-000000")
        );
        std::fs::remove_dir_all(base.join("runs/20260102T000000Z-000000")).unwrap();
        // A folder without a journal is not a run.
        std::fs::create_dir_all(base.join("runs/20270101T000000Z-zzzzzz")).unwrap();
        let runs = base.join("runs");
        assert_eq!(
            resolve_run(base, "last").unwrap(),
            runs.join("20260102T000000Z-cccccc")
        );
        assert_eq!(
            resolve_run(base, "20260102").unwrap(),
            runs.join("20260102T000000Z-cccccc")
        );
        assert_eq!(
            resolve_run(base, "20260101T000000Z-aaaaaa").unwrap(),
            runs.join("20260101T000000Z-aaaaaa")
        );
        let err = resolve_run(base, "20260101T000000Z-aa").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`20260101T000000Z-aa` matches 2 runs: 20260101T000000Z-aaaaaa, 20260101T000000Z-aabbbb"
        );
        assert_eq!(
            resolve_run(base, "2027").unwrap_err(),
            ResolveError::Unknown("2027".into())
        );
        assert!(matches!(
            resolve_run(base, ""),
            Err(ResolveError::Unknown(_))
        ));
    }
}
