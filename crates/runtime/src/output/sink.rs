//! Where live output goes: the terminal (`[stage] line`), nowhere, or
//! memory (tests).

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::Masker;

/// Where live output goes. `chunk` holds whole lines (the last one may lack
/// its newline at end of output or for over-long lines), already masked.
pub trait OutputSink: Send + Sync {
    /// Shows `chunk`, produced by the stage `label`.
    fn lines(&self, label: &str, chunk: &[u8]);

    /// Shows one line about the run itself (a stage started, settled, was
    /// routed). Ignored by default.
    fn notice(&self, _text: &str) {}
}

/// Drops everything (quiet mode).
#[derive(Debug, Default)]
pub struct NullSink;

impl OutputSink for NullSink {
    fn lines(&self, _label: &str, _chunk: &[u8]) {}
}

/// Writes `[label] line` to flow's stdout: lossy UTF-8, one lock and one
/// write per chunk, so lines of concurrent stages never mix.
///
/// A closed stdout (`flow run … | head`) stops the printing, not the run:
/// after the first `BrokenPipe` nothing more is written (the run goes on,
/// logged and journaled). Other write errors are ignored line by line.
#[derive(Debug, Default)]
pub struct TerminalSink;

/// Set once stdout is a closed pipe (process-wide, like stdout).
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

impl TerminalSink {
    fn write(&self, bytes: &[u8]) {
        if STDOUT_CLOSED.load(Ordering::Relaxed) {
            return;
        }
        let mut out = io::stdout().lock();
        if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
            if e.kind() == io::ErrorKind::BrokenPipe {
                STDOUT_CLOSED.store(true, Ordering::Relaxed);
            }
        }
    }
}

thread_local! {
    /// The prefixed text of a chunk, reused: a relay thread shows up to
    /// [`super::CHUNK`] bytes at a time, and a fresh buffer of that size
    /// for each would be mapped and faulted in each time.
    static PREFIXED: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

impl OutputSink for TerminalSink {
    fn lines(&self, label: &str, chunk: &[u8]) {
        PREFIXED.with_borrow_mut(|text| {
            text.clear();
            prefix_lines_into(label, chunk, text);
            self.write(text.as_bytes());
            // Do not keep an outsized buffer for the thread's later attempts.
            if text.capacity() > 2 * super::CHUNK {
                *text = String::new();
            }
        });
    }

    fn notice(&self, text: &str) {
        self.write(format!("{text}\n").as_bytes());
    }
}

/// Masks the notices of another sink (a notice may quote an expression
/// error, a reason or a file name). Output lines pass through: the writer
/// masked them already.
pub struct MaskingSink {
    inner: Arc<dyn OutputSink>,
    masker: Arc<Masker>,
}

impl MaskingSink {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn OutputSink>, masker: Arc<Masker>) -> MaskingSink {
        MaskingSink { inner, masker }
    }
}

impl OutputSink for MaskingSink {
    fn lines(&self, label: &str, chunk: &[u8]) {
        self.inner.lines(label, chunk);
    }

    fn notice(&self, text: &str) {
        self.inner.notice(&self.masker.mask_str(text));
    }
}

/// Keeps the prefixed text in memory (tests).
#[derive(Debug, Default)]
pub struct MemorySink {
    text: Mutex<String>,
}

impl MemorySink {
    /// Everything shown so far.
    pub fn text(&self) -> String {
        self.text.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl OutputSink for MemorySink {
    fn lines(&self, label: &str, chunk: &[u8]) {
        let text = prefix_lines(label, chunk);
        self.text
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_str(&text);
    }
}

/// `[label] ` before each line of `chunk` (lossy UTF-8); ends with a newline.
pub fn prefix_lines(label: &str, chunk: &[u8]) -> String {
    let mut out = String::new();
    prefix_lines_into(label, chunk, &mut out);
    out
}

/// [`prefix_lines`], appended to `out`.
pub fn prefix_lines_into(label: &str, chunk: &[u8], out: &mut String) {
    // Valid UTF-8 (the usual case) is checked once, not decoded char by char.
    let text = match std::str::from_utf8(chunk) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(chunk),
    };
    let body = text.strip_suffix('\n').unwrap_or(&text);
    // One pass with the `memchr` crate's vectorised search (a relay shows
    // 256 KiB of short lines at a time); `out` is usually a reused buffer
    // that has the room already.
    out.reserve(body.len() + label.len() + 4);
    let mut start = 0;
    let lines = memchr::memchr_iter(b'\n', body.as_bytes()).chain(std::iter::once(body.len()));
    for end in lines {
        out.push('[');
        out.push_str(label);
        out.push_str("] ");
        // `\n` is one byte of UTF-8: both ends are character boundaries.
        out.push_str(&body[start..end]);
        out.push('\n');
        start = end + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_each_line() {
        assert_eq!(prefix_lines("plan", b"a\nb\n"), "[plan] a\n[plan] b\n");
        assert_eq!(prefix_lines("plan", b"tail"), "[plan] tail\n");
        assert_eq!(prefix_lines("p", b"\xffx\n"), "[p] \u{fffd}x\n");
        assert_eq!(prefix_lines("p", b"\n"), "[p] \n");
    }
}
