//! Streaming an attempt's output: line-aligned chunks, secret masking, the
//! log file and the live terminal echo.
//!
//! ```text
//! stdout pipe ──┐                  ┌─▶ log file (raw bytes, masked)
//!               ├─▶ relay thread ──┤
//! stderr pipe ──┘  (one per        └─▶ OutputSink (`[stage] line`, masked)
//!                   attempt)
//! ```
//!
//! One thread per attempt ([`relay`]) polls both pipes, reads what a pipe
//! has (up to [`CHUNK`] bytes) and forwards it cut at the last newline, so
//! the log and the sink get whole lines and stdout and stderr never
//! interleave mid-line. (This is `read_until(b'\n')` batched: one forward
//! per pipe read instead of one per line, which keeps 2 M lines cheap.) A
//! line longer than [`CHUNK`] is forwarded in pieces. Memory is bounded by
//! two buffers of [`CHUNK`], whatever the output size.
//!
//! Why a thread that reads the pipes itself, rather than async readers on
//! the event loop feeding a writer thread: the thread does the blocking
//! file writes the event loop must not do, and reading in the same thread
//! spares a hand-over (and a wake-up of another thread) per chunk and at
//! the end of every attempt, which is most of what a short stage costs.

mod mask;
mod relay;
mod sink;

pub use mask::{short_secrets, Masker, MIN_SECRET_LEN};
pub(crate) use relay::{open_log, relay, Relay, StopRelay};
pub use sink::{prefix_lines, MaskingSink, MemorySink, NullSink, OutputSink, TerminalSink};

/// Largest chunk forwarded at once, and the most one read takes: as much
/// as a stdout pipe holds ([`PIPE_BYTES`]), so one read empties it.
pub const CHUNK: usize = 256 * 1024;

/// The capacity asked for each stdout pipe (the default is 64 KiB); a pipe
/// that cannot grow keeps its size.
pub(crate) const PIPE_BYTES: usize = 256 * 1024;
