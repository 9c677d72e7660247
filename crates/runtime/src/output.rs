//! Streaming an attempt's output: line-aligned chunks, secret masking, the
//! log file and the live terminal echo.
//!
//! ```text
//! stdout pipe ──pump──┐                      ┌─▶ log file (raw bytes, masked)
//!                     ├─▶ bounded channel ─▶ writer (one thread per attempt)
//! stderr pipe ──pump──┘                      └─▶ OutputSink (`[stage] line`, masked)
//! ```
//!
//! Each pump reads what the pipe has (up to [`CHUNK`] bytes) and forwards it
//! cut at the last newline, so a chunk holds whole lines and the writer never
//! interleaves stdout and stderr mid-line. (This is `read_until(b'\n')`
//! batched: one message per pipe read instead of one per line, which keeps
//! 2 M lines cheap.) A line longer than [`CHUNK`] is forwarded in pieces.
//! Memory is bounded by the channel capacity × [`CHUNK`], whatever the output
//! size.

use aho_corasick::{AhoCorasick, MatchKind};
use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

use crate::process::Activity;
use crate::status::Tail;

/// Largest chunk a pump forwards (and the read size).
pub const CHUNK: usize = 64 * 1024;

/// Chunks in flight between the pumps and the writer.
pub(crate) const CHANNEL_CHUNKS: usize = 32;

/// Secrets (and lines of multi-line secrets) shorter than this many bytes
/// are not masked: replacing every `a` or `42` of the output would make it
/// unreadable and would tell the secret anyway. A run warns about each such
/// secret by name ([`short_secrets`]).
pub const MIN_SECRET_LEN: usize = 4;

/// The lines of the secret values that are masked: non-empty, without a
/// trailing `\r`, at least [`MIN_SECRET_LEN`] bytes.
fn pieces(value: &str) -> impl Iterator<Item = &str> {
    value
        .split('\n')
        .map(|p| p.strip_suffix('\r').unwrap_or(p))
        .filter(|p| !p.is_empty())
}

/// Names of the secrets with a (line) value too short to be masked (see
/// [`MIN_SECRET_LEN`]); an empty secret has nothing to hide.
pub fn short_secrets(secrets: &[(String, String)]) -> Vec<&str> {
    secrets
        .iter()
        .filter(|(_, v)| pieces(v).any(|p| p.len() < MIN_SECRET_LEN))
        .map(|(name, _)| name.as_str())
        .collect()
}

/// Replaces secret values by `***`.
///
/// A multi-line secret is masked line by line (output is cut at newlines, so
/// a secret spanning lines could not be matched whole). Values (or lines)
/// shorter than [`MIN_SECRET_LEN`] bytes are not masked.
#[derive(Debug, Default)]
pub struct Masker {
    /// What is masked, sorted.
    pieces: Vec<String>,
    matcher: Option<AhoCorasick>,
}

impl Masker {
    /// A masker for these secret values (empty and short values ignored).
    pub fn new<S: AsRef<str>>(secrets: &[S]) -> Masker {
        let pieces: Vec<String> = secrets
            .iter()
            .flat_map(|s| pieces(s.as_ref()))
            .filter(|p| p.len() >= MIN_SECRET_LEN)
            .map(str::to_string)
            .collect();
        Masker::of_pieces(pieces)
    }

    /// The masker for JSON text (the journal): each secret as JSON writes
    /// it inside a string (`"` as `\"`, a tab as `\t` …). Only that form
    /// can occur in JSON text, and masking it never breaks the syntax.
    pub fn for_json(&self) -> Masker {
        let escaped = self
            .pieces
            .iter()
            .map(|p| {
                let quoted = serde_json::Value::String(p.clone()).to_string();
                quoted[1..quoted.len() - 1].to_string()
            })
            .collect();
        Masker::of_pieces(escaped)
    }

    fn of_pieces(mut pieces: Vec<String>) -> Masker {
        pieces.sort();
        pieces.dedup();
        if pieces.is_empty() {
            return Masker::default();
        }
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&pieces);
        // Building only fails for absurd pattern sets; masking then falls
        // back to nothing rather than aborting the run — log it loudly.
        if let Err(e) = &matcher {
            tracing::error!("cannot build the secret masker: {e}");
        }
        Masker {
            pieces,
            matcher: matcher.ok(),
        }
    }

    /// True when there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.matcher.is_none()
    }

    /// `bytes` with every secret replaced by `***`.
    pub fn mask<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        let Some(m) = &self.matcher else {
            return Cow::Borrowed(bytes);
        };
        if m.find(bytes).is_none() {
            return Cow::Borrowed(bytes);
        }
        let mut out = Vec::with_capacity(bytes.len());
        m.replace_all_with_bytes(bytes, &mut out, |_, _, dst| {
            dst.extend_from_slice(b"***");
            true
        });
        Cow::Owned(out)
    }

    /// `text` with every secret replaced by `***`.
    pub fn mask_str<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.mask(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            Cow::Owned(v) => Cow::Owned(String::from_utf8_lossy(&v).into_owned()),
        }
    }

    /// `value` with every secret masked in its strings and object keys.
    /// Masking values before they are serialised (rather than the JSON
    /// text) also catches secrets JSON escapes (`"`, `\`, control
    /// characters), and never breaks the JSON.
    pub fn mask_json(&self, value: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(self.mask_str(s).into_owned()),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.mask_json(v)).collect()),
            Value::Object(map) => Value::Object(self.mask_object(map)),
            other => other.clone(),
        }
    }

    /// [`Masker::mask_json`] for an object.
    pub fn mask_object(
        &self,
        map: &serde_json::Map<String, serde_json::Value>,
    ) -> serde_json::Map<String, serde_json::Value> {
        map.iter()
            .map(|(k, v)| (self.mask_str(k).into_owned(), self.mask_json(v)))
            .collect()
    }
}

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

impl OutputSink for TerminalSink {
    fn lines(&self, label: &str, chunk: &[u8]) {
        self.write(prefix_lines(label, chunk).as_bytes());
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
    // Valid UTF-8 (the usual case) is checked once, not decoded char by char.
    let text = match std::str::from_utf8(chunk) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(chunk),
    };
    let body = text.strip_suffix('\n').unwrap_or(&text);
    let lines = memchr::memchr_iter(b'\n', body.as_bytes()).count() + 1;
    let mut out = String::with_capacity(body.len() + lines * (label.len() + 4));
    for line in body.split('\n') {
        out.push('[');
        out.push_str(label);
        out.push_str("] ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// One forwarded piece of output.
#[derive(Debug)]
pub(crate) struct Chunk(pub Vec<u8>);

/// A read of at least this many bytes that empties the pipe means the stage
/// is streaming output: the pump then waits [`COALESCE`] before reading
/// again, so it reads a lot at a time instead of waking for each write of
/// the stage (`fold` writes 4 KiB at a time; 200 MB would be 50,000
/// wake-ups). Smaller reads (lines of a chatty stage) go on without delay.
const STREAMING: usize = 4096;

/// How long the pump lets a streaming stage's output gather in the pipe
/// (which holds [`PIPE_BYTES`], more than a fast stage writes meanwhile).
const COALESCE: std::time::Duration = std::time::Duration::from_millis(1);

/// The capacity asked for each output pipe (the default is 64 KiB); a pipe
/// that cannot grow keeps its size.
pub(crate) const PIPE_BYTES: usize = 256 * 1024;

/// Reads `r` to the end, forwarding line-aligned chunks to `tx`, and
/// telling `activity` when output comes. Keeps the stream's tail in `tail`
/// when given (stdout of `status json` stages). Returns the tail. Stops early (without error) if the writer is gone.
pub(crate) async fn pump<R: AsyncRead + Unpin>(
    mut r: R,
    tx: mpsc::Sender<Chunk>,
    mut tail: Option<Tail>,
    activity: Arc<Activity>,
) -> io::Result<Option<Tail>> {
    // Output not yet forwarded (a line's start). Read into its spare
    // capacity: nothing is zeroed, and a silent stage costs no more.
    let mut buf: Vec<u8> = Vec::new();
    // How much one read takes: small at first (most stages print little),
    // doubled after each read that filled it, up to CHUNK.
    let mut size = 4096;
    loop {
        let old = buf.len();
        let want = size.min(CHUNK - old);
        buf.reserve(want);
        let n = (&mut r).take(want as u64).read_buf(&mut buf).await?;
        if n == 0 {
            if !buf.is_empty() {
                // A gone writer only means nobody wants the last piece.
                let _ = tx.send(Chunk(buf)).await;
            }
            return Ok(tail);
        }
        activity.touch();
        if let Some(t) = tail.as_mut() {
            t.push(&buf[old..]);
        }
        let cut = match memchr::memrchr(b'\n', &buf[old..]) {
            Some(pos) => old + pos + 1,
            None if buf.len() == CHUNK => CHUNK,
            None => 0,
        };
        if cut > 0 {
            if tx.send(Chunk(buf[..cut].to_vec())).await.is_err() {
                return Ok(tail);
            }
            buf.drain(..cut);
        }
        // A full read: there is more to read at once. A short but large
        // one: the pipe was emptied by a stage that is streaming.
        if n == want {
            size = (size * 2).min(CHUNK);
        } else if n >= STREAMING {
            tokio::time::sleep(COALESCE).await;
        }
    }
}

/// The writer side: masks each chunk, appends it to the log at `log_path`
/// (created, with its folder, at the first chunk: a silent attempt has no
/// log file) and
/// shows it. Runs on a blocking thread. Keeps draining after a log error (a
/// full disk must not block the stage on a full pipe) and returns the first
/// error.
pub(crate) fn write_loop(
    mut rx: mpsc::Receiver<Chunk>,
    log_path: &Path,
    masker: Arc<Masker>,
    sink: Arc<dyn OutputSink>,
    label: String,
) -> io::Result<u64> {
    let mut log: Option<BufWriter<File>> = None;
    let mut written = 0u64;
    let mut first_err: Option<io::Error> = None;
    while let Some(Chunk(bytes)) = rx.blocking_recv() {
        let masked = masker.mask(&bytes);
        if first_err.is_none() {
            if log.is_none() {
                match create_log(log_path) {
                    Ok(f) => log = Some(BufWriter::with_capacity(4 * CHUNK, f)),
                    Err(e) => first_err = Some(e),
                }
            }
            if let Some(file) = log.as_mut() {
                match file.write_all(&masked) {
                    Ok(()) => written += masked.len() as u64,
                    Err(e) => first_err = Some(e),
                }
            }
        }
        sink.lines(&label, &masked);
    }
    if let Some(Err(e)) = log.as_mut().map(Write::flush) {
        first_err.get_or_insert(e);
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(written),
    }
}

/// Creates the log file, and its folder if that is missing.
fn create_log(path: &Path) -> io::Result<File> {
    match File::create(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(folder) = path.parent() {
                std::fs::create_dir_all(folder)?;
            }
            File::create(path)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_secrets_longest_first() {
        let m = Masker::new(&["abcd", "abcdefg", ""]);
        assert_eq!(&*m.mask(b"x abcdefg y abcd z"), b"x *** y *** z");
        assert!(matches!(m.mask(b"nothing"), Cow::Borrowed(_)));
        assert!(Masker::new::<&str>(&[]).is_empty());
    }

    /// Issue 6: a 1-character secret masked every such character of the
    /// output.
    #[test]
    fn short_secrets_are_not_masked_and_are_named() {
        let m = Masker::new(&["a", "42", "xyz"]);
        assert!(m.is_empty());
        assert_eq!(m.mask_str("a 42 xyz banana"), "a 42 xyz banana");
        let secrets = [
            ("ONE".to_string(), "a".to_string()),
            ("OK".to_string(), "long enough".to_string()),
            ("EMPTY".to_string(), String::new()),
            ("PEM".to_string(), "-----BEGIN-----\n==\n".to_string()),
        ];
        assert_eq!(short_secrets(&secrets), ["ONE", "PEM"]);
        let m = Masker::new(&["-----BEGIN-----\n==\n"]);
        assert_eq!(m.mask_str("-----BEGIN----- ==\n"), "*** ==\n");
    }

    #[test]
    fn json_values_are_masked_before_escaping() {
        let m = Masker::new(&["sec\"ret\\x", "canary-1234"]);
        let v = serde_json::json!({
            "status": "sec\"ret\\x",
            "nested": ["a canary-1234 b", {"canary-1234": 1}],
            "n": 3
        });
        let masked = m.mask_json(&v);
        assert_eq!(
            masked,
            serde_json::json!({"status": "***", "nested": ["a *** b", {"***": 1}], "n": 3})
        );
    }

    #[test]
    fn multi_line_secret_masked_per_line() {
        let m = Masker::new(&["line1\r\nline2\n"]);
        assert_eq!(m.mask_str("a line1\nb line2\n"), "a ***\nb ***\n");
    }

    #[test]
    fn prefixes_each_line() {
        assert_eq!(prefix_lines("plan", b"a\nb\n"), "[plan] a\n[plan] b\n");
        assert_eq!(prefix_lines("plan", b"tail"), "[plan] tail\n");
        assert_eq!(prefix_lines("p", b"\xffx\n"), "[p] \u{fffd}x\n");
        assert_eq!(prefix_lines("p", b"\n"), "[p] \n");
    }

    #[tokio::test]
    async fn pump_forwards_whole_lines_and_all_bytes() {
        let mut input = Vec::new();
        for i in 0..20_000 {
            input.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        input.extend_from_slice(b"no newline at end");
        let (tx, mut rx) = mpsc::channel(4);
        let data = input.clone();
        let h = tokio::spawn(async move {
            pump(
                &data[..],
                tx,
                Some(Tail::new(64)),
                Arc::new(Activity::new()),
            )
            .await
        });
        let mut got = Vec::new();
        let mut chunks = 0;
        while let Some(Chunk(c)) = rx.recv().await {
            chunks += 1;
            got.extend_from_slice(&c);
            assert!(c.ends_with(b"\n") || got.len() == input.len() || c.len() >= CHUNK);
        }
        assert_eq!(got, input);
        assert!(chunks > 1);
        let tail = h.await.unwrap().unwrap().unwrap();
        assert!(tail.bytes().ends_with(b"no newline at end"));
    }

    #[tokio::test]
    async fn pump_splits_overlong_lines() {
        let input = vec![b'x'; 3 * CHUNK + 10];
        let (tx, mut rx) = mpsc::channel(4);
        let data = input.clone();
        tokio::spawn(async move { pump(&data[..], tx, None, Arc::new(Activity::new())).await });
        let mut total = 0;
        while let Some(Chunk(c)) = rx.recv().await {
            assert!(c.len() <= CHUNK);
            total += c.len();
        }
        assert_eq!(total, input.len());
    }
}
