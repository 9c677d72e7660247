//! `flow run`'s two processes: a warden, the process the user started, and
//! the engine's, its child, which supervises the attempts itself
//! ([`crate::supervisor::local`]).
//!
//! # Theory of operation
//!
//! * [`split`] forks while the process has one thread. The parent becomes
//!   the warden: a child subreaper that waits in `sigwaitinfo` and does
//!   three things only. It forwards the signals meant for `flow` (`SIGINT`,
//!   `SIGTERM`, `SIGHUP`, …) to the engine; Ctrl-Z stops both and `fg`
//!   continues both. When the engine ends, it kills whatever the engine
//!   left (its children re-parented to the warden: attempt groups, adopted
//!   orphans; SIGTERM, then SIGKILL, within 1 s) and exits as the engine
//!   did (its code, or the same signal). It never touches the run itself.
//! * The child runs the command. It is in a session of its own, so signals
//!   from the terminal reach the warden only and arrive once. It asks the
//!   kernel for a signal when the warden dies (`PR_SET_PDEATHSIG`, which is
//!   tied to the thread that forked: the warden has only one). A thread of
//!   its own waits for that signal; when it comes and the warden is really
//!   gone, the journal stops taking lines (the run's record ends where the
//!   warden died, exactly as if `flow` had died: `flow resume` takes over),
//!   every child is killed ([`crate::supervisor::local::kill_children`]),
//!   and the process exits.
//!
//! So whatever ends `flow` — SIGKILL or the OOM killer for either process,
//! a panic, a hang-up — the other one kills every process of the run
//! within about a second. Both dying at once (SIGKILL to each) leaves the
//! attempts running, as killing `flow` and the supervisor process did.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Instant;

/// Set in the engine's process once [`split`] made it one.
static WARDED: AtomicBool = AtomicBool::new(false);

/// Set when the warden died: nothing may be recorded any more.
static GONE: AtomicBool = AtomicBool::new(false);

/// The warden's pid, seen from the engine's process.
static WARDEN_PID: AtomicI32 = AtomicI32::new(0);

/// The signals the warden forwards to the engine as they are.
const FORWARDED: [i32; 7] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
];

/// Whether this process is the engine's half of [`split`] (so it may
/// supervise its attempts itself).
pub fn is_warded() -> bool {
    WARDED.load(Ordering::SeqCst)
}

/// Whether the warden has died: the journal refuses lines from then on.
pub fn is_gone() -> bool {
    GONE.load(Ordering::SeqCst)
}

/// The signal the kernel sends the engine's process when the warden dies.
fn warden_gone_signal() -> i32 {
    // Real-time signals above glibc's own (SIGRTMIN..+2) are free: nothing
    // in flow or its libraries uses them.
    libc::SIGRTMIN() + 4
}

/// A signal set of `signals`.
fn sigset(signals: &[i32]) -> libc::sigset_t {
    // SAFETY: `sigemptyset` initialises the set; `sigaddset` only writes it.
    unsafe {
        let mut set = std::mem::zeroed::<libc::sigset_t>();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// Blocks `set` in the calling thread; returns the previous mask.
fn block(set: &libc::sigset_t) -> libc::sigset_t {
    // SAFETY: both pointers are to live, initialised sets.
    unsafe {
        let mut old = std::mem::zeroed::<libc::sigset_t>();
        libc::pthread_sigmask(libc::SIG_BLOCK, set, &mut old);
        old
    }
}

/// Splits `flow` into the warden and the engine's process (see the module
/// docs). Returns in the child only; the parent stays the warden until the
/// child ends and then exits as it did. Must be called while the process
/// has a single thread (before any runtime, logger or helper thread).
///
/// # Errors
/// The fork failed: nothing changed, the caller goes on without a warden.
pub fn split() -> io::Result<()> {
    let mut watched: Vec<i32> = FORWARDED.to_vec();
    watched.extend([libc::SIGCHLD, libc::SIGTSTP, libc::SIGCONT]);
    let watched = sigset(&watched);
    // Blocked before the fork: a Ctrl-C at this instant must wait for the
    // warden's loop, not kill the warden by its default action.
    let old = block(&watched);
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        restore(&old);
        return Err(e.into());
    }
    let warden = std::process::id() as i32;
    // SAFETY: the process has one thread (the caller's promise), so the
    // child may run anything after the fork.
    match unsafe { libc::fork() } {
        -1 => {
            let e = io::Error::last_os_error();
            let _ = nix::sys::prctl::set_child_subreaper(false);
            restore(&old);
            Err(e)
        }
        0 => {
            become_engine(warden, &old);
            Ok(())
        }
        child => warden_loop(child, &watched),
    }
}

/// Sets the calling thread's signal mask back to `old`.
fn restore(old: &libc::sigset_t) {
    // SAFETY: `old` is a live, initialised set.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, old, std::ptr::null_mut());
    }
}

/// The child's side of [`split`]: its own session, the death signal, the
/// thread that waits for it.
fn become_engine(warden: i32, old: &libc::sigset_t) {
    WARDED.store(true, Ordering::SeqCst);
    WARDEN_PID.store(warden, Ordering::SeqCst);
    let gone = warden_gone_signal();
    // Blocked in this thread, hence in every thread made after: only the
    // watcher takes it, with `sigwaitinfo`.
    restore(old);
    block(&sigset(&[gone]));
    // SAFETY: plain system calls with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, gone as libc::c_ulong, 0, 0, 0);
        libc::setsid();
    }
    std::thread::Builder::new()
        .name("warden-watch".into())
        .spawn(move || watch(warden, gone))
        .map(drop)
        .unwrap_or_else(|e| tracing::warn!("cannot watch flow's warden process: {e}"));
    // The warden may have died before the death signal was asked for.
    if nix::unistd::getppid().as_raw() != warden {
        // SAFETY: sends a signal to this process.
        unsafe { libc::kill(libc::getpid(), gone) };
    }
}

/// The engine's watcher: waits for the warden's death, then ends every
/// process of the run and this process.
fn watch(warden: i32, gone: i32) {
    let set = sigset(&[gone]);
    loop {
        // SAFETY: `set` is initialised; no `siginfo_t` is asked for.
        let sig = unsafe { libc::sigwaitinfo(&set, std::ptr::null_mut()) };
        // Sent by someone else while the warden lives: not its death.
        if sig != gone || nix::unistd::getppid().as_raw() == warden {
            continue;
        }
        GONE.store(true, Ordering::SeqCst);
        crate::supervisor::local::kill_children(Instant::now());
        // Not `exit`: the other threads are still running; nothing may
        // flush or record now.
        // SAFETY: ends the process.
        unsafe { libc::_exit(1) };
    }
}

/// The warden: forwards signals to `child` until it ends, kills what it
/// left, and exits as it did. `watched` is blocked in this thread.
fn warden_loop(child: i32, watched: &libc::sigset_t) -> ! {
    let status = loop {
        // SAFETY: `watched` is initialised; no `siginfo_t` is asked for.
        let sig = unsafe { libc::sigwaitinfo(watched, std::ptr::null_mut()) };
        match sig {
            -1 => continue,
            libc::SIGCHLD => {
                if let Some(status) = reap(child) {
                    break status;
                }
            }
            // Ctrl-Z: the engine stops, then the warden (its shell sees a
            // stopped job); `fg` sends SIGCONT, passed on below.
            libc::SIGTSTP => {
                // SAFETY: signals to the child and to this process.
                unsafe {
                    libc::kill(child, libc::SIGSTOP);
                    libc::kill(libc::getpid(), libc::SIGSTOP);
                }
            }
            sig => {
                // SAFETY: a signal to the child.
                unsafe { libc::kill(child, sig) };
            }
        }
    };
    crate::supervisor::local::kill_children(Instant::now());
    exit_as(status)
}

/// Reaps every child that has ended; the wait status of `child` if it has.
fn reap(child: i32) -> Option<i32> {
    let mut ended = None;
    loop {
        let mut status = 0;
        // SAFETY: `status` is a live int.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return ended;
        }
        if pid == child {
            ended = Some(status);
        }
    }
}

/// Ends the warden as the engine ended: with its exit code, or killed by the
/// same signal (so a shell reports it the same way).
fn exit_as(status: i32) -> ! {
    if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        // SAFETY: default action for `sig`, unblocked, then raised.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            restore(&sigset(&[]));
            libc::kill(libc::getpid(), sig);
        }
        std::process::exit(128 + sig);
    }
    std::process::exit(libc::WEXITSTATUS(status))
}
