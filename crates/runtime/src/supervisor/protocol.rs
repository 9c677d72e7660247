//! The messages between `flow` and its supervisor, and how they travel.
//!
//! One UNIX stream socket (a `socketpair`) carries length-prefixed frames:
//! a little-endian `u32` payload length, then the payload (a tag byte and
//! the fields; byte strings as a `u32` length and the bytes, so paths and
//! environment entries need not be UTF-8). A spawn request's stdout and
//! stderr pipe ends travel beside its frame as `SCM_RIGHTS`, attached to
//! the frame's first byte; the receiver queues every descriptor it gets and
//! a [`Request::Spawn`] takes the first two when it is decoded (Linux never
//! delivers them later than the byte they are attached to).

use nix::errno::Errno;
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

/// The largest payload either side accepts (a bound on memory if the peer
/// is broken; a real request is the environment plus a few paths).
pub const MAX_FRAME: usize = 64 << 20;

/// Descriptors a [`Request::Spawn`] carries: stdout, then stderr.
pub const SPAWN_FDS: usize = 2;

/// Bytes read from the socket at a time (a reply is a few bytes, a
/// request a few KiB: the environment).
const READ_SIZE: usize = 16 * 1024;

/// `flow` → supervisor.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Start an attempt (its stdout and stderr travel beside the frame).
    Spawn(SpawnRequest),
}

/// What the supervisor needs to start one attempt process.
#[derive(Debug, Clone, PartialEq)]
pub struct SpawnRequest {
    /// Chosen by `flow`, unique within the run; every reply names it.
    pub id: u64,
    /// The file to execute; `None`: `argv[0]`, looked up on the request's
    /// `PATH`. `argv[0]` is passed as written either way.
    pub program: Option<PathBuf>,
    /// The program and its arguments (the shell, then the script file; or
    /// a script's one command, run without a shell).
    pub argv: Vec<OsString>,
    /// What to start instead when `argv` cannot be started (its program is
    /// missing, not executable, not a binary): the shell that runs the same
    /// script and reports why as it would. Empty: no second try.
    pub fallback: Vec<OsString>,
    /// The working directory.
    pub cwd: PathBuf,
    /// The whole environment (nothing is inherited from the supervisor).
    pub env: Vec<(OsString, OsString)>,
}

/// Supervisor → `flow`.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The attempt runs; its process group id is `pid`.
    Spawned {
        /// The request's id.
        id: u64,
        /// The leader's pid (= its process group id).
        pid: u32,
    },
    /// The attempt could not be started (no process exists).
    SpawnFailed {
        /// The request's id.
        id: u64,
        /// Why, for the user.
        error: String,
    },
    /// The leader exited and was reaped; its group has had SIGKILL.
    Exited {
        /// The request's id.
        id: u64,
        /// How the leader ended.
        exit: Exit,
    },
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal (this number) killed it.
    Signal(i32),
}

impl Exit {
    /// The exit code, if it exited.
    pub fn code(self) -> Option<i32> {
        match self {
            Exit::Code(c) => Some(c),
            Exit::Signal(_) => None,
        }
    }

    /// The signal that killed it, if one did.
    pub fn signal(self) -> Option<i32> {
        match self {
            Exit::Code(_) => None,
            Exit::Signal(s) => Some(s),
        }
    }
}

/// A frame that does not decode: the peer is not a matching `flow`.
#[derive(Debug, thiserror::Error)]
#[error("supervisor protocol: {0}")]
pub struct ProtocolError(pub String);

impl From<ProtocolError> for io::Error {
    fn from(e: ProtocolError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

const SPAWN: u8 = 1;
const SPAWNED: u8 = 2;
const SPAWN_FAILED: u8 = 3;
const EXITED_CODE: u8 = 4;
const EXITED_SIGNAL: u8 = 5;

impl Request {
    /// The frame (length prefix included).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Encoder::new();
        match self {
            Request::Spawn(s) => {
                w.u8(SPAWN);
                w.u64(s.id);
                // An empty path is no path (execve rejects it anyway).
                w.bytes(
                    s.program
                        .as_deref()
                        .map_or(&[][..], |p| p.as_os_str().as_bytes()),
                );
                for words in [&s.argv, &s.fallback] {
                    w.u32(len32(words.len()));
                    for a in words {
                        w.bytes(a.as_bytes());
                    }
                }
                w.bytes(s.cwd.as_os_str().as_bytes());
                w.u32(len32(s.env.len()));
                for (k, v) in &s.env {
                    w.bytes(k.as_bytes());
                    w.bytes(v.as_bytes());
                }
            }
        }
        w.finish()
    }

    /// Decodes a payload (without its length prefix).
    pub fn decode(payload: &[u8]) -> Result<Request, ProtocolError> {
        let mut r = Decoder(payload);
        let request = match r.u8()? {
            SPAWN => {
                let id = r.u64()?;
                let program =
                    Some(PathBuf::from(r.os_string()?)).filter(|p| !p.as_os_str().is_empty());
                let argv = r.words()?;
                let fallback = r.words()?;
                let cwd = PathBuf::from(r.os_string()?);
                let env = (0..r.u32()?)
                    .map(|_| Ok((r.os_string()?, r.os_string()?)))
                    .collect::<Result<_, ProtocolError>>()?;
                Request::Spawn(SpawnRequest {
                    id,
                    program,
                    argv,
                    fallback,
                    cwd,
                    env,
                })
            }
            tag => return Err(ProtocolError(format!("unknown request tag {tag}"))),
        };
        r.end()?;
        Ok(request)
    }
}

impl Reply {
    /// The frame (length prefix included).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Encoder::new();
        match self {
            Reply::Spawned { id, pid } => {
                w.u8(SPAWNED);
                w.u64(*id);
                w.u32(*pid);
            }
            Reply::SpawnFailed { id, error } => {
                w.u8(SPAWN_FAILED);
                w.u64(*id);
                w.bytes(error.as_bytes());
            }
            Reply::Exited { id, exit } => {
                let (tag, n) = match exit {
                    Exit::Code(c) => (EXITED_CODE, c),
                    Exit::Signal(s) => (EXITED_SIGNAL, s),
                };
                w.u8(tag);
                w.u64(*id);
                w.u32(*n as u32);
            }
        }
        w.finish()
    }

    /// Decodes a payload (without its length prefix).
    pub fn decode(payload: &[u8]) -> Result<Reply, ProtocolError> {
        let mut r = Decoder(payload);
        let reply = match r.u8()? {
            SPAWNED => Reply::Spawned {
                id: r.u64()?,
                pid: r.u32()?,
            },
            SPAWN_FAILED => Reply::SpawnFailed {
                id: r.u64()?,
                error: String::from_utf8_lossy(r.bytes()?).into_owned(),
            },
            tag @ (EXITED_CODE | EXITED_SIGNAL) => {
                let id = r.u64()?;
                let n = r.u32()? as i32;
                let exit = if tag == EXITED_CODE {
                    Exit::Code(n)
                } else {
                    Exit::Signal(n)
                };
                Reply::Exited { id, exit }
            }
            tag => return Err(ProtocolError(format!("unknown reply tag {tag}"))),
        };
        r.end()?;
        Ok(reply)
    }
}

/// Lengths are bounded by [`MAX_FRAME`] long before `u32` overflows; a
/// longer one saturates and the receiver rejects the frame.
fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

struct Encoder(Vec<u8>);

impl Encoder {
    fn new() -> Encoder {
        // Room for the length prefix, filled in by `finish`.
        Encoder(vec![0; 4])
    }
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(len32(b.len()));
        self.0.extend_from_slice(b);
    }
    fn finish(mut self) -> Vec<u8> {
        let len = len32(self.0.len() - 4).to_le_bytes();
        self.0[..4].copy_from_slice(&len);
        self.0
    }
}

struct Decoder<'a>(&'a [u8]);

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtocolError> {
        if self.0.len() < n {
            return Err(ProtocolError("truncated frame".into()));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, ProtocolError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, ProtocolError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, ProtocolError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    fn bytes(&mut self) -> Result<&'a [u8], ProtocolError> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn os_string(&mut self) -> Result<OsString, ProtocolError> {
        Ok(OsString::from_vec(self.bytes()?.to_vec()))
    }
    /// A count, then that many byte strings.
    fn words(&mut self) -> Result<Vec<OsString>, ProtocolError> {
        (0..self.u32()?).map(|_| self.os_string()).collect()
    }
    fn end(&self) -> Result<(), ProtocolError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ProtocolError("trailing bytes in a frame".into()))
        }
    }
}

/// Bytes read from the socket, cut into frames.
#[derive(Debug, Default)]
pub struct Frames {
    buf: Vec<u8>,
}

impl Frames {
    /// Appends bytes as read.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole payload, if one has arrived.
    ///
    /// # Errors
    /// A length above [`MAX_FRAME`].
    pub fn next_payload(&mut self) -> Result<Option<Vec<u8>>, ProtocolError> {
        let Some(prefix) = self.buf.get(..4) else {
            return Ok(None);
        };
        let len = u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
        if len > MAX_FRAME {
            return Err(ProtocolError(format!("a frame of {len} bytes")));
        }
        if self.buf.len() < 4 + len {
            return Ok(None);
        }
        let payload = self.buf[4..4 + len].to_vec();
        self.buf.drain(..4 + len);
        Ok(Some(payload))
    }
}

/// Sends one frame, with `fds` attached to its first byte. Blocks until the
/// whole frame is in the socket (the socket must be blocking).
///
/// # Errors
/// The socket's (`EPIPE` once the peer is gone).
pub fn send_frame(sock: BorrowedFd<'_>, frame: &[u8], fds: &[RawFd]) -> io::Result<()> {
    let mut sent = send_some(sock, frame, fds)?;
    // A blocking stream socket sends everything unless a signal interrupts
    // it part way; the descriptors went with the first part.
    while sent < frame.len() {
        sent += send_some(sock, &frame[sent..], &[])?;
    }
    Ok(())
}

/// One `sendmsg` of `bytes` (a frame or its rest) with `fds` attached to
/// its first byte, retried on `EINTR`. Returns how many bytes went: fewer
/// than all is possible (the descriptors went with the first one).
///
/// # Errors
/// The socket's: `WouldBlock` on a full non-blocking socket, `EPIPE` once
/// the peer is gone.
pub fn send_some(sock: BorrowedFd<'_>, bytes: &[u8], fds: &[RawFd]) -> io::Result<usize> {
    let rights = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &rights };
    loop {
        match sendmsg::<()>(
            sock.as_raw_fd(),
            &[IoSlice::new(bytes)],
            cmsgs,
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Ok(n) => return Ok(n),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Reads what the socket has (blocking if nothing), appending it to
/// `frames` and any received descriptors to `fds` (close-on-exec). Returns
/// the number of bytes read: 0 is end of file (the peer closed its end).
///
/// # Errors
/// The socket's, or descriptors cut off (the peer sent more than a spawn).
pub fn recv_some(
    sock: BorrowedFd<'_>,
    frames: &mut Frames,
    fds: &mut VecDeque<OwnedFd>,
) -> io::Result<usize> {
    let mut buf = [0u8; READ_SIZE];
    let mut space = nix::cmsg_space!([RawFd; 4]);
    let (n, truncated) = loop {
        let mut iov = [IoSliceMut::new(&mut buf)];
        match recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(msg) => {
                for cmsg in msg.cmsgs()? {
                    if let ControlMessageOwned::ScmRights(raw) = cmsg {
                        for fd in raw {
                            // SAFETY: the kernel has just installed `fd` in
                            // this process for this message; nothing else
                            // knows it, so this is its only owner.
                            fds.push_back(unsafe { OwnedFd::from_raw_fd(fd) });
                        }
                    }
                }
                break (msg.bytes, msg.flags.contains(MsgFlags::MSG_CTRUNC));
            }
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    if truncated {
        return Err(ProtocolError("descriptors were cut off".into()).into());
    }
    frames.extend(&buf[..n]);
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip_request(r: &Request) -> Request {
        let frame = r.encode();
        let mut f = Frames::default();
        f.extend(&frame[..3]);
        assert_eq!(f.next_payload().unwrap(), None, "a partial prefix waits");
        f.extend(&frame[3..]);
        let payload = f.next_payload().unwrap().unwrap();
        assert_eq!(f.next_payload().unwrap(), None);
        Request::decode(&payload).unwrap()
    }

    #[test]
    fn requests_survive_encoding_with_non_utf8_bytes() {
        let r = Request::Spawn(SpawnRequest {
            id: u64::MAX - 1,
            program: Some(PathBuf::from("/usr/bin/bash")),
            argv: vec!["bash".into(), OsString::from_vec(vec![0xff, b'x'])],
            fallback: vec!["sh".into(), "-c".into(), "true".into()],
            cwd: PathBuf::from("/tmp/a b"),
            env: vec![
                ("A".into(), "1".into()),
                ("EMPTY".into(), "".into()),
                (
                    OsString::from_vec(vec![b'B', 0xfe]),
                    OsString::from_vec(vec![0x80]),
                ),
            ],
        });
        assert_eq!(roundtrip_request(&r), r);
    }

    #[test]
    fn replies_survive_encoding() {
        for reply in [
            Reply::Spawned { id: 7, pid: 4242 },
            Reply::SpawnFailed {
                id: 8,
                error: "cannot start `nope`: No such file".into(),
            },
            Reply::Exited {
                id: 9,
                exit: Exit::Code(-1),
            },
            Reply::Exited {
                id: 10,
                exit: Exit::Signal(9),
            },
        ] {
            let frame = reply.encode();
            let mut f = Frames::default();
            f.extend(&frame);
            let payload = f.next_payload().unwrap().unwrap();
            assert_eq!(Reply::decode(&payload).unwrap(), reply);
        }
    }

    #[test]
    fn broken_frames_are_errors_not_panics() {
        assert!(Request::decode(&[]).is_err());
        assert!(Request::decode(&[9]).is_err());
        assert!(Request::decode(&[SPAWN, 1, 2]).is_err());
        let mut frame = Reply::Spawned { id: 1, pid: 2 }.encode();
        frame.push(0);
        assert!(Reply::decode(&frame[4..]).is_err(), "trailing byte");
        let mut f = Frames::default();
        f.extend(&u32::MAX.to_le_bytes());
        assert!(f.next_payload().is_err(), "absurd length");
    }

    #[test]
    fn descriptors_travel_with_their_frame() {
        use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
        use std::io::{Read, Write};
        use std::os::fd::AsFd;
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::Stream,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .unwrap();
        let (r, w) = nix::unistd::pipe().unwrap();
        let frame = Reply::Spawned { id: 1, pid: 2 }.encode();
        send_frame(a.as_fd(), &frame, &[w.as_raw_fd()]).unwrap();
        drop(w);
        let (mut frames, mut fds) = (Frames::default(), VecDeque::new());
        let n = recv_some(b.as_fd(), &mut frames, &mut fds).unwrap();
        assert_eq!(n, frame.len());
        assert_eq!(fds.len(), 1);
        let mut passed = std::fs::File::from(fds.pop_front().unwrap());
        passed.write_all(b"hi").unwrap();
        drop(passed);
        let mut got = String::new();
        std::fs::File::from(r).read_to_string(&mut got).unwrap();
        assert_eq!(got, "hi");
        drop(a);
        assert_eq!(recv_some(b.as_fd(), &mut frames, &mut fds).unwrap(), 0);
    }
}
