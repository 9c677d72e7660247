//! Starting an attempt's process: `clone(CLONE_VM | CLONE_VFORK)` and
//! `execve`, with the child doing only what an attempt needs.
//!
//! Why not `posix_spawn` (what `std::process::Command` uses): glibc's child
//! sets every one of the 64 signals' dispositions, two system calls each,
//! before it can `exec`, and the caller waits meanwhile; in a chain of
//! short stages that is a tenth of each spawn (measured: 800 → 720 µs per
//! spawn-and-wait of `true` on the project's 2-core VM). Here the parent
//! reads which signals have handlers (`SigCgt` in `/proc/self/status`,
//! once per process), and the child resets only those, and `SIGPIPE`,
//! which Rust ignores in every program and `Command` gives back to
//! children.
//!
//! The child shares the parent's memory until it calls `execve`: it only
//! makes raw system calls on data prepared before the clone (no
//! allocation, no lock), on a stack of its own, with every signal blocked
//! until just before `execve` (after the handlers were reset, so none can
//! run in it). The parent is suspended meanwhile (`CLONE_VFORK`), so that
//! stack and data stay put. What the child does: its own process group;
//! stdin `/dev/null`, stdout and stderr the attempt's pipes; its working
//! folder; the signal reset and an empty signal mask; `execve` with exactly
//! the given environment. On a failure it leaves the error number in the
//! shared data and exits 127; the parent reaps it and returns the error.

use std::cell::RefCell;
use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;
use std::sync::OnceLock;

/// The child's stack (it needs little: a few system calls).
const STACK_BYTES: usize = 64 * 1024;

/// What the child reads and writes. Built before the clone; the pointers
/// point into values that outlive it (the parent waits, `CLONE_VFORK`).
#[repr(C)]
struct Child {
    file: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    cwd: *const libc::c_char,
    stdin: libc::c_int,
    stdout: libc::c_int,
    stderr: libc::c_int,
    /// Signals to set back to their default action (0-terminated).
    reset: [libc::c_int; 66],
    /// Set by the child when a step failed: the error number.
    errno: libc::c_int,
}

thread_local! {
    /// One stack per spawning thread, reused: the child is done with it
    /// when `clone` returns.
    static STACK: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Starts `file` with `argv` (`argv[0]` as given), exactly the environment
/// `env`, in `cwd`, in a new process group, stdin `/dev/null`, stdout and
/// stderr on the given descriptors; returns its pid. The child is not
/// waited for here (unless it failed before `execve`).
///
/// # Errors
/// A string with a NUL byte, or why the child could not start: the
/// folder or the program is missing, not executable, … (its `errno`).
pub(crate) fn spawn(
    file: &Path,
    argv: &[OsString],
    env: &[(OsString, OsString)],
    cwd: &Path,
    stdout: BorrowedFd<'_>,
    stderr: BorrowedFd<'_>,
) -> io::Result<u32> {
    let c = |bytes: &[u8]| CString::new(bytes).map_err(|_| io::ErrorKind::InvalidInput);
    let file = c(file.as_os_str().as_bytes())?;
    let cwd = c(cwd.as_os_str().as_bytes())?;
    let argv: Vec<CString> = argv
        .iter()
        .map(|a| c(a.as_bytes()))
        .collect::<Result<_, _>>()?;
    let env: Vec<CString> = env
        .iter()
        .map(|(k, v)| c(&[k.as_bytes(), b"=", v.as_bytes()].concat()))
        .collect::<Result<_, _>>()?;
    let argv_ptrs = null_terminated(&argv);
    let env_ptrs = null_terminated(&env);
    let mut child = Child {
        file: file.as_ptr(),
        argv: argv_ptrs.as_ptr(),
        envp: env_ptrs.as_ptr(),
        cwd: cwd.as_ptr(),
        stdin: dev_null()?.as_raw_fd(),
        stdout: stdout.as_raw_fd(),
        stderr: stderr.as_raw_fd(),
        reset: signals_to_reset(),
        errno: 0,
    };
    let pid = STACK.with(|stack| {
        let mut stack = stack.borrow_mut();
        if stack.len() < STACK_BYTES {
            stack.resize(STACK_BYTES, 0);
        }
        // The stack grows down from its end, 16-byte aligned.
        let top = (stack.as_mut_ptr() as usize + stack.len()) & !15;
        // SAFETY: every signal is blocked around the clone, so no handler
        // runs in the child before it resets them; `run_child` only makes
        // system calls on `child`, which lives (like the stack) until the
        // child has called `execve` or exited: CLONE_VFORK suspends this
        // thread until then.
        unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
            let pid = libc::clone(
                run_child,
                top as *mut libc::c_void,
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                ptr::addr_of_mut!(child).cast(),
            );
            let clone_error = io::Error::last_os_error();
            libc::pthread_sigmask(libc::SIG_SETMASK, &old, ptr::null_mut());
            if pid < 0 {
                Err(clone_error)
            } else {
                Ok(pid)
            }
        }
    })?;
    // SAFETY: the child wrote it, if at all, before it exited; read once.
    let errno = unsafe { ptr::read_volatile(ptr::addr_of!(child.errno)) };
    if errno != 0 {
        // It exited before `execve`: reap it, so no zombie is left.
        let mut status = 0;
        // SAFETY: waits for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        return Err(io::Error::from_raw_os_error(errno));
    }
    Ok(pid as u32)
}

/// The child's side (see the module docs): raw system calls only.
extern "C" fn run_child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the parent's `Child`, alive while this runs; only
    // async-signal-safe calls follow, on pointers prepared by the parent.
    unsafe {
        let child = &mut *arg.cast::<Child>();
        if libc::setpgid(0, 0) != 0 {
            fail(child);
        }
        for (from, to) in [(child.stdin, 0), (child.stdout, 1), (child.stderr, 2)] {
            // `dup2` onto itself would keep close-on-exec set.
            let ok = if from == to {
                libc::fcntl(to, libc::F_SETFD, 0) == 0
            } else {
                libc::dup2(from, to) == to
            };
            if !ok {
                fail(child);
            }
        }
        if libc::chdir(child.cwd) != 0 {
            fail(child);
        }
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        for &sig in child.reset.iter().take_while(|&&s| s != 0) {
            libc::sigaction(sig, &default, ptr::null_mut());
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::pthread_sigmask(libc::SIG_SETMASK, &none, ptr::null_mut());
        libc::execve(child.file, child.argv, child.envp);
        fail(child)
    }
}

/// Leaves this thread's error number for the parent and exits (the child
/// of [`run_child`]).
///
/// # Safety
/// Only in that child, with its `Child`.
unsafe fn fail(child: &mut Child) -> ! {
    // SAFETY: the caller's promise; `__errno_location` is this thread's.
    unsafe {
        ptr::write_volatile(&mut child.errno, *libc::__errno_location());
        libc::_exit(127)
    }
}

/// Pointers to `strings`, then a null pointer.
fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(ptr::null()))
        .collect()
}

/// `/dev/null`, opened once per process (close-on-exec; the child gets a
/// copy as its stdin).
fn dev_null() -> io::Result<&'static OwnedFd> {
    static NULL: OnceLock<OwnedFd> = OnceLock::new();
    if let Some(fd) = NULL.get() {
        return Ok(fd);
    }
    let fd = OwnedFd::from(std::fs::File::open("/dev/null")?);
    Ok(NULL.get_or_init(|| fd))
}

/// The signals this process has handlers for (`SigCgt` of
/// `/proc/self/status`), and `SIGPIPE`, 0-terminated; without `/proc`,
/// every signal but the uncatchable ones and glibc's own two (32, 33).
/// Read at the first spawn of the process (reading it each time cost a
/// tenth of a spawn): handlers installed later would not be reset. flow
/// installs all of its own first (Rust's at start, the run's `SIGINT`,
/// `SIGTERM` and `SIGHUP` listeners before any attempt); and such a
/// handler could only run in the child if its signal arrived in the
/// instant between the child's unblocking and its `execve`.
fn signals_to_reset() -> [libc::c_int; 66] {
    static RESET: OnceLock<[libc::c_int; 66]> = OnceLock::new();
    *RESET.get_or_init(read_signals_to_reset)
}

/// [`signals_to_reset`], read now.
fn read_signals_to_reset() -> [libc::c_int; 66] {
    let caught = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("SigCgt:"))?;
            u64::from_str_radix(line["SigCgt:".len()..].trim(), 16).ok()
        })
        .unwrap_or(u64::MAX);
    let mut out = [0; 66];
    let mut n = 0;
    for sig in 1..=64 {
        let uncatchable = sig == libc::SIGKILL || sig == libc::SIGSTOP;
        let glibc_own = sig == 32 || sig == 33;
        if uncatchable || glibc_own {
            continue;
        }
        if caught & (1 << (sig - 1)) != 0 || sig == libc::SIGPIPE {
            out[n] = sig;
            n += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    fn run(
        file: &str,
        argv: &[&str],
        env: &[(&str, &str)],
        cwd: &Path,
    ) -> (io::Result<u32>, String) {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let argv: Vec<OsString> = argv.iter().map(OsString::from).collect();
        let env: Vec<(OsString, OsString)> =
            env.iter().map(|(k, v)| (k.into(), v.into())).collect();
        let pid = spawn(
            Path::new(file),
            &argv,
            &env,
            cwd,
            write.as_fd(),
            write.as_fd(),
        );
        drop(write);
        let mut out = String::new();
        std::io::Read::read_to_string(&mut std::fs::File::from(read), &mut out).unwrap();
        if let Ok(pid) = pid {
            let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid as i32), None);
            assert!(status.is_ok());
        }
        (pid, out)
    }

    #[test]
    fn the_child_gets_its_folder_environment_group_and_empty_stdin() {
        let tmp = tempfile::tempdir().unwrap();
        let script = "echo \"$PWD $ONLY $(cut -d' ' -f5 /proc/$$/stat) $$\"; cat; echo end";
        let env = [("ONLY", "x"), ("PATH", "/usr/bin:/bin")];
        let (pid, out) = run("/bin/sh", &["sh", "-c", script], &env, tmp.path());
        let pid = pid.unwrap();
        let words: Vec<&str> = out.split_whitespace().collect();
        let dir = std::fs::canonicalize(tmp.path()).unwrap();
        assert_eq!(words[0], dir.to_str().unwrap(), "{out}");
        assert_eq!(words[1], "x", "only the given environment");
        assert_eq!(words[2], pid.to_string(), "its own process group");
        assert_eq!(words[3], pid.to_string());
        assert_eq!(words[4], "end", "stdin is empty: {out}");
    }

    #[test]
    fn the_child_has_no_blocked_signals_and_sigpipe_back() {
        let tmp = tempfile::tempdir().unwrap();
        // `grep` itself is the child: its own masks, at its start.
        let argv = ["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"];
        let (pid, out) = run("/bin/grep", &argv, &[], tmp.path());
        pid.unwrap();
        let mask = |name: &str| {
            let line = out.lines().find(|l| l.starts_with(name)).unwrap();
            u64::from_str_radix(line[name.len()..].trim(), 16).unwrap()
        };
        // Rust ignores SIGPIPE in this process; the child gets it back.
        assert_eq!(mask("SigIgn:") & (1 << (libc::SIGPIPE - 1)), 0, "{out}");
        assert_eq!(mask("SigBlk:"), 0, "{out}");
    }

    #[test]
    fn a_missing_folder_or_program_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let (pid, _) = run(
            "/bin/sh",
            &["sh", "-c", "true"],
            &[],
            &tmp.path().join("gone"),
        );
        assert_eq!(pid.unwrap_err().kind(), io::ErrorKind::NotFound);
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let missing = spawn(
            &tmp.path().join("nothing"),
            &["nothing".into()],
            &[],
            tmp.path(),
            write.as_fd(),
            write.as_fd(),
        );
        drop((read, write));
        assert_eq!(missing.unwrap_err().kind(), io::ErrorKind::NotFound);
    }
}
