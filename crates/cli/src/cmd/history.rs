//! What the run-history commands (`runs`, `show`, `logs`, `cancel`,
//! `prune`) share: `--runs-dir`, naming a run, printing to a stdout that
//! may close early (`flow runs | head -1`), and times for people.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `--runs-dir DIR`, as `flow run` takes it.
#[derive(clap::Args, Debug, Clone)]
pub struct Base {
    /// Where the runs live: `DIR/runs/` (default `.flow`, as for `flow run`).
    #[arg(long = "runs-dir", value_name = "DIR")]
    pub runs_dir: Option<PathBuf>,
}

impl Base {
    /// The base directory.
    pub fn dir(&self) -> PathBuf {
        self.runs_dir
            .clone()
            .unwrap_or_else(flow_runtime::rundir::default_base)
    }

    /// The run directory RUN names, or the error printed (exit 2).
    pub fn resolve(&self, run: &str) -> Result<PathBuf, u8> {
        flow_runtime::store::resolve_run(&self.dir(), run).map_err(|e| {
            eprintln!("error: {e}");
            crate::EXIT_USAGE
        })
    }
}

/// Stdout for line output: a closed pipe ends the printing quietly (Rust
/// ignores SIGPIPE, so `println!` would panic).
pub struct Out {
    out: io::BufWriter<io::Stdout>,
    closed: bool,
}

impl Out {
    /// Buffered stdout.
    pub fn new() -> Out {
        Out {
            out: io::BufWriter::new(io::stdout()),
            closed: false,
        }
    }

    /// Writes `bytes`; false once the reader went away (stop printing).
    pub fn bytes(&mut self, bytes: &[u8]) -> bool {
        if !self.closed {
            if let Err(e) = self.out.write_all(bytes) {
                self.fail(&e);
            }
        }
        !self.closed
    }

    /// Writes `text` and a newline; false once the reader went away.
    pub fn line(&mut self, text: &str) -> bool {
        self.bytes(text.as_bytes()) && self.bytes(b"\n")
    }

    /// Flushes; false once the reader went away.
    pub fn flush(&mut self) -> bool {
        if !self.closed {
            if let Err(e) = self.out.flush() {
                self.fail(&e);
            }
        }
        !self.closed
    }

    fn fail(&mut self, e: &io::Error) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("error: writing to stdout: {e}");
        }
        self.closed = true;
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        self.flush();
    }
}

/// `2026-12-05 19:05:10` (UTC) from Unix milliseconds.
pub fn when(ms: Option<i64>) -> String {
    let Some(t) = ms
        .and_then(|ms| u64::try_from(ms).ok())
        .and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms)))
    else {
        return "-".into();
    };
    let text = flow_runtime::rundir::rfc3339(t);
    text.get(..19).unwrap_or(&text).replace('T', " ")
}

/// `1.2s`, `3m 4s`, `2h 5m`: a duration for people.
pub fn span(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..=59 => format!("{:.1}s", ms as f64 / 1000.0),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        _ => format!("{}h {}m", s / 3600, (s % 3600) / 60),
    }
}

/// Milliseconds since the Unix epoch now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_for_people() {
        assert_eq!(when(Some(1_795_229_580_123)), "2026-11-21 02:53:00");
        assert_eq!(when(None), "-");
        assert_eq!(when(Some(-5)), "-");
        assert_eq!(span(1234), "1.2s");
        assert_eq!(span(61_000), "1m 1s");
        assert_eq!(span(7_500_000), "2h 5m");
    }
}
