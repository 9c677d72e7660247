//! The relay: the one thread of an attempt that reads its stdout and stderr
//! pipes and writes what they carry to the log and the live output (see the
//! module above for why one thread does both).

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::{Masker, OutputSink, CHUNK};
use crate::process::Activity;
use crate::status::Tail;

/// The first read of a pipe takes this much; each read that fills the
/// space it had doubles the buffer, up to [`CHUNK`] (most stages print
/// little, and a silent one costs no buffer at all).
const FIRST_READ: usize = 4096;

/// A read of at least this many bytes that empties the pipe means the stage
/// is streaming output: the relay then waits [`COALESCE`] before reading
/// again, so it reads a lot at a time instead of waking for each write of
/// the stage (`fold` writes 4 KiB at a time; 200 MB would be 50,000
/// wake-ups). Smaller reads (lines of a chatty stage) go on without delay.
const STREAMING: usize = 4096;

/// How long the relay lets a streaming stage's output gather in the pipe
/// (which holds [`super::PIPE_BYTES`], more than a fast stage writes
/// meanwhile). A read that fills its buffer is never followed by a wait:
/// the stage may be blocked on a full pipe.
const COALESCE: Duration = Duration::from_millis(1);

/// Where a relay writes, and what it keeps.
pub(crate) struct Relay {
    /// The log file: created (in an existing folder, else with it) when the
    /// first byte comes; never, if none does.
    pub log_path: PathBuf,
    /// Masks every chunk before it is written anywhere.
    pub masker: Arc<Masker>,
    /// The live output.
    pub sink: Arc<dyn OutputSink>,
    /// Prefix of live output lines (the stage name).
    pub label: String,
    /// Keep the last this many bytes of stdout (`status json` stages).
    pub tail: Option<usize>,
    /// Touched after every read (what `idle` measures).
    pub activity: Arc<Activity>,
}

/// What a relay did.
#[derive(Debug, Default)]
pub(crate) struct Relayed {
    /// Bytes written to the log (after masking).
    pub log_bytes: u64,
    /// The kept tail of stdout, when [`Relay::tail`] asked for one.
    pub tail: Option<Tail>,
    /// The first error writing the log. Reading went on after it: a full
    /// disk must not leave the stage blocked on a full pipe.
    pub log_error: Option<io::Error>,
    /// A pipe that could not be read (treated as its end).
    pub read_error: Option<io::Error>,
}

/// Ends a relay early: for pipes still held open, after the attempt's
/// process group was killed, by a process that escaped it. Dropping it
/// stops the relay too (nobody would wait for it any more).
pub(crate) struct StopRelay(Arc<Switch>);

/// What [`StopRelay`] and its relay share. A relay waiting on the event
/// loop is told by `notify`; one on its thread polls a pipe it makes only
/// then (most attempts print nothing and never need one).
#[derive(Default)]
struct Switch {
    stopped: AtomicBool,
    notify: tokio::sync::Notify,
    /// The write end of the relay thread's stop pipe, once it has one.
    pipe: Mutex<Option<OwnedFd>>,
}

impl StopRelay {
    /// A stop switch, for one [`relay`] given [`StopRelay::watch`].
    pub(crate) fn new() -> StopRelay {
        StopRelay(Arc::default())
    }

    /// What [`relay`] watches.
    pub(crate) fn watch(&self) -> StopWatch {
        StopWatch(self.0.clone())
    }

    /// Tells the relay to stop (it forwards what it holds, and returns).
    pub(crate) fn stop(&self) {
        self.0.stopped.store(true, Ordering::SeqCst);
        self.0.notify.notify_one();
        if let Some(fd) = &*self.0.pipe.lock().unwrap_or_else(|p| p.into_inner()) {
            let _ = nix::unistd::write(fd, b".");
        }
    }
}

impl Drop for StopRelay {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The relay's side of a [`StopRelay`].
pub(crate) struct StopWatch(Arc<Switch>);

impl StopWatch {
    fn stopped(&self) -> bool {
        self.0.stopped.load(Ordering::SeqCst)
    }

    /// Drops the write end of the stop pipe (the relay is done with it).
    fn forget_pipe(&self) {
        self.0.pipe.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// The read end of a pipe that becomes readable when the relay is told
    /// to stop; `None` if it already was (or no pipe can be made: then the
    /// relay cannot be stopped early, and ends with its pipes).
    fn pipe(&self) -> Option<Option<OwnedFd>> {
        let watched = nix::unistd::pipe2(OFlag::O_CLOEXEC)
            .ok()
            .map(|(watched, switch)| {
                *self.0.pipe.lock().unwrap_or_else(|p| p.into_inner()) = Some(switch);
                watched
            });
        // Checked after the pipe is published: a stop before it is seen
        // here, a stop after it writes to it.
        if self.stopped() {
            return None;
        }
        Some(watched)
    }
}

/// Relays `stdout` and `stderr` to the log and the sink until both pipes
/// end (every holder of their write ends is gone) or its [`StopRelay`] is
/// used or dropped. `stderr` is `None` when the attempt writes both to the
/// one pipe `stdout` (then in the order it wrote them).
///
/// It waits on the event loop until a pipe has something: the end of both
/// (a silent attempt: nothing is written, no thread is taken) or output,
/// which it then relays on a blocking thread of its own, since writing the
/// log blocks.
///
/// # Errors
/// A descriptor is not a pipe, or cannot be registered with the event
/// loop; nothing was read then.
pub(crate) async fn relay(
    stdout: OwnedFd,
    stderr: Option<OwnedFd>,
    stop: StopWatch,
    to: Relay,
) -> io::Result<Relayed> {
    let Some(streams) = first_output(stdout, stderr, &stop).await? else {
        return Ok(Relayed::default());
    };
    to.activity.touch();
    tokio::task::spawn_blocking(move || relay_blocking(streams, &stop, &to))
        .await
        .map_err(io::Error::other)
}

/// Waits until a pipe has output: returns the streams (the output read
/// held by its stream). `None` when every pipe ended first, or `stop` came.
async fn first_output(
    stdout: OwnedFd,
    stderr: Option<OwnedFd>,
    stop: &StopWatch,
) -> io::Result<Option<Vec<Stream>>> {
    use tokio::net::unix::pipe::Receiver;
    let pipes = std::iter::once(stdout)
        .chain(stderr)
        .map(Receiver::from_owned_fd)
        .collect::<io::Result<Vec<_>>>()?;
    let mut open = vec![true; pipes.len()];
    let is_open = |open: &[bool], i: usize| open.get(i) == Some(&true);
    let (first, bytes) = loop {
        if stop.stopped() {
            return Ok(None);
        }
        let i = tokio::select! {
            ready = readable(pipes.first()), if is_open(&open, 0) => ready.map(|()| 0)?,
            ready = readable(pipes.get(1)), if is_open(&open, 1) => ready.map(|()| 1)?,
            () = stop.0.notify.notified() => return Ok(None),
        };
        let mut buf = vec![0; FIRST_READ];
        match pipes[i].try_read(&mut buf) {
            Ok(0) => {
                open[i] = false;
                if !open.contains(&true) {
                    return Ok(None);
                }
            }
            Ok(n) => {
                buf.truncate(n);
                break (i, buf);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    };
    let mut streams = pipes
        .into_iter()
        .zip(open)
        .map(|(pipe, open)| Ok(Stream::new(pipe.into_nonblocking_fd()?, open)))
        .collect::<io::Result<Vec<_>>>()?;
    streams[first].held = bytes.len();
    streams[first].buf = bytes;
    Ok(Some(streams))
}

/// Waits until `pipe` is readable; forever when there is no such pipe (its
/// `select!` branch is disabled then, but still built).
async fn readable(pipe: Option<&tokio::net::unix::pipe::Receiver>) -> io::Result<()> {
    match pipe {
        Some(pipe) => pipe.readable().await,
        None => std::future::pending().await,
    }
}

/// The relay's blocking part: forwards what [`first_output`] read, then
/// reads and forwards until both pipes end or `stop`.
fn relay_blocking(mut streams: Vec<Stream>, stop: &StopWatch, to: &Relay) -> Relayed {
    let mut tail = to.tail.map(Tail::new);
    let mut out = Out {
        log: None,
        to,
        relayed: Relayed::default(),
    };
    for (i, stream) in streams.iter_mut().enumerate() {
        let keep = if i == 0 { tail.as_mut() } else { None };
        stream.absorb(0, &mut out, keep);
    }
    let stop_pipe = stop.pipe();
    let stop_fd = match &stop_pipe {
        Some(pipe) => pipe.as_ref(),
        None => {
            // Stopped already.
            streams.iter_mut().for_each(|s| s.open = false);
            None
        }
    };
    while streams.iter().any(|s| s.open) {
        let ready = match wait(&streams, stop_fd) {
            Ok(ready) => ready,
            Err(e) => {
                out.relayed.read_error = Some(e.into());
                break;
            }
        };
        if ready.stop {
            break;
        }
        let (mut streaming, mut full) = (false, false);
        for (i, stream) in streams.iter_mut().enumerate() {
            if !ready.streams[i] {
                continue;
            }
            let keep = if i == 0 { tail.as_mut() } else { None };
            match stream.read(&mut out, keep) {
                Ok(Some(read)) => {
                    if read.bytes > 0 {
                        to.activity.touch();
                    }
                    streaming |= read.bytes >= STREAMING;
                    full |= read.filled;
                }
                Ok(None) => stream.open = false,
                Err(e) => {
                    out.relayed.read_error.get_or_insert(e);
                    stream.open = false;
                }
            }
        }
        if streaming && !full {
            std::thread::sleep(COALESCE);
        }
    }
    // No stop can come any more: a later one must not write to a pipe
    // nobody reads (SIGPIPE).
    stop.forget_pipe();
    // Nothing read is lost: a line cut short by the end (or the stop) goes
    // out as it is.
    for stream in &mut streams {
        stream.flush(&mut out);
    }
    let mut relayed = out.relayed;
    relayed.tail = tail;
    relayed
}

/// Which of the relay's descriptors are ready.
struct Ready {
    streams: [bool; 2],
    stop: bool,
}

/// Waits until a pipe that is still open has something (data or its end),
/// or the stop switch is used.
fn wait(streams: &[Stream], stop: Option<&OwnedFd>) -> Result<Ready, Errno> {
    let mut fds = Vec::with_capacity(3);
    if let Some(stop) = stop {
        fds.push(PollFd::new(stop.as_fd(), PollFlags::POLLIN));
    }
    let first = fds.len();
    let mut which = Vec::with_capacity(2);
    for (i, stream) in streams.iter().enumerate() {
        if stream.open {
            fds.push(PollFd::new(stream.file.as_fd(), PollFlags::POLLIN));
            which.push(i);
        }
    }
    loop {
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(_) => break,
        }
    }
    let hit = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
    let mut ready = Ready {
        streams: [false; 2],
        stop: first == 1 && hit(&fds[0]),
    };
    for (k, i) in which.into_iter().enumerate() {
        ready.streams[i] = hit(&fds[first + k]);
    }
    Ok(ready)
}

/// One read's size, and whether it filled the space it was given.
struct Got {
    bytes: usize,
    filled: bool,
}

/// One pipe and the unfinished line read from it.
struct Stream {
    file: File,
    /// Read space (zeroed once as it grows); `buf[..held]` is output read
    /// but not forwarded yet (a line's start).
    buf: Vec<u8>,
    held: usize,
    open: bool,
}

impl Stream {
    /// The stream of a pipe's read end (non-blocking: reads follow `poll`,
    /// and one that finds nothing is no harm).
    fn new(fd: OwnedFd, open: bool) -> Stream {
        Stream {
            file: File::from(fd),
            buf: Vec::new(),
            held: 0,
            open,
        }
    }

    /// Doubles a full buffer (from nothing to [`FIRST_READ`]), up to
    /// [`CHUNK`].
    fn grow_if_full(&mut self) {
        if self.held == self.buf.len() && self.buf.len() < CHUNK {
            let size = (self.buf.len() * 2).clamp(FIRST_READ, CHUNK);
            self.buf.resize(size, 0);
        }
    }

    /// Reads once into the buffer, after what is held: `Some(0)` when the
    /// pipe has nothing now, `None` at its end.
    fn fill(&mut self) -> io::Result<Option<usize>> {
        self.grow_if_full();
        loop {
            match self.file.read(&mut self.buf[self.held..]) {
                Ok(0) => return Ok(None),
                Ok(n) => {
                    self.held += n;
                    return Ok(Some(n));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Some(0)),
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads once, forwarding the whole lines read; `None` at the end of
    /// the pipe.
    fn read(&mut self, out: &mut Out, tail: Option<&mut Tail>) -> io::Result<Option<Got>> {
        if self.held == self.buf.len() && self.buf.len() == CHUNK {
            // A line longer than CHUNK goes out in pieces.
            out.forward(&self.buf[..self.held]);
            self.held = 0;
        }
        self.grow_if_full();
        let start = self.held;
        let space = self.buf.len() - start;
        let Some(n) = self.fill()? else {
            return Ok(None);
        };
        self.absorb(start, out, tail);
        let filled = n == space;
        if filled && self.buf.len() < CHUNK {
            // There was more to read: take more at a time from now on.
            self.buf.resize((self.buf.len() * 2).min(CHUNK), 0);
        }
        Ok(Some(Got { bytes: n, filled }))
    }

    /// Takes in `buf[start..held]`, just read: keeps it in `tail` and
    /// forwards the whole lines held.
    fn absorb(&mut self, start: usize, out: &mut Out, tail: Option<&mut Tail>) {
        if start == self.held {
            return;
        }
        if let Some(t) = tail {
            t.push(&self.buf[start..self.held]);
        }
        if let Some(pos) = memchr::memrchr(b'\n', &self.buf[start..self.held]) {
            let cut = start + pos + 1;
            out.forward(&self.buf[..cut]);
            self.buf.copy_within(cut..self.held, 0);
            self.held -= cut;
        }
    }

    /// Forwards what is held.
    fn flush(&mut self, out: &mut Out) {
        if self.held > 0 {
            out.forward(&self.buf[..self.held]);
            self.held = 0;
        }
    }
}

/// The writing side of a relay.
struct Out<'a> {
    log: Option<File>,
    to: &'a Relay,
    relayed: Relayed,
}

impl Out<'_> {
    /// Masks `bytes`, appends them to the log (until a log error) and shows
    /// them.
    fn forward(&mut self, bytes: &[u8]) {
        let masked = self.to.masker.mask(bytes);
        if self.relayed.log_error.is_none() {
            if self.log.is_none() {
                match create_log(&self.to.log_path) {
                    Ok(f) => self.log = Some(f),
                    Err(e) => self.relayed.log_error = Some(e),
                }
            }
            if let Some(file) = self.log.as_mut() {
                match file.write_all(&masked) {
                    Ok(()) => self.relayed.log_bytes += masked.len() as u64,
                    Err(e) => self.relayed.log_error = Some(e),
                }
            }
        }
        self.to.sink.lines(&self.to.label, &masked);
    }
}

/// Creates the log file (truncated), and its folder if that is missing.
fn create_log(path: &Path) -> io::Result<File> {
    open_log(path, false)
}

/// Opens an attempt's log for writing, created if missing: appending to it,
/// or else truncated. Only a regular file is written: a stage can reach
/// `logs/`, and a link there (followed, the output would land in the file
/// it names) or a FIFO (opening it for writing waits for a reader, for
/// good) is an error, not a target.
pub(crate) fn open_log(path: &Path, append: bool) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let open = || {
        std::fs::OpenOptions::new()
            .write(true)
            .append(append)
            .create(true)
            .truncate(!append)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
            .open(path)
    };
    let file = match open() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(folder) = path.parent() {
                std::fs::create_dir_all(folder)?;
            }
            open()?
        }
        other => other?,
    };
    if !file.metadata()?.is_file() {
        return Err(io::Error::other(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    Ok(file)
}

#[cfg(test)]
mod tests;
