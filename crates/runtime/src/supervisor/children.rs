//! The supervisor's own children, read from `/proc`: the attempts it
//! started and every orphan it adopted as a subreaper (processes that left
//! their group with `setsid`, or daemonised).

use nix::errno::Errno;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use std::fs;

/// The pids whose parent is this process.
///
/// Reads `/proc/<pid>/task/<pid>/children` (one thread: every child is the
/// main thread's); where the kernel lacks it, scans `/proc/*/stat`.
pub fn of_self() -> Vec<Pid> {
    let me = std::process::id();
    match fs::read_to_string(format!("/proc/{me}/task/{me}/children")) {
        Ok(text) => text
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .map(Pid::from_raw)
            .collect(),
        Err(_) => scan(me),
    }
}

/// The pids whose parent is this process, whichever of its threads they
/// were re-parented to (a multi-threaded subreaper, such as `flow`, gets
/// orphans on any live thread): every thread's `children` file, else a scan.
pub fn of_process() -> Vec<Pid> {
    let me = std::process::id();
    let Ok(tasks) = fs::read_dir(format!("/proc/{me}/task")) else {
        return scan(me);
    };
    let mut pids = Vec::new();
    for task in tasks.filter_map(|t| t.ok()) {
        let path = task.path().join("children");
        match fs::read_to_string(&path) {
            Ok(text) => pids.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .map(Pid::from_raw),
            ),
            Err(_) => return scan(me),
        }
    }
    pids
}

/// Every process of `/proc` whose parent is `parent`.
fn scan(parent: u32) -> Vec<Pid> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| parent_of(&stat))
                == Some(parent)
        })
        .map(Pid::from_raw)
        .collect()
}

/// The parent pid in a `/proc/<pid>/stat` line: the second field after the
/// command name, which is in parentheses and may itself hold `)` or spaces.
fn parent_of(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Sends `sig` to `pid` and to the process group it leads, if it leads one
/// (an escapee that called `setsid` does: its group goes with it). Gone is
/// fine.
pub fn signal_tree_root(pid: Pid, sig: Signal) {
    for result in [kill(pid, sig), killpg(pid, sig)] {
        if let Err(e) = result {
            if e != Errno::ESRCH && e != Errno::EPERM {
                super::warn(format_args!("signalling {pid}: {e}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_is_read_after_the_last_parenthesis() {
        assert_eq!(parent_of("42 (a) b) S 7 42 42 0"), Some(7));
        assert_eq!(parent_of("42 (sleep) S 1 42 42 0"), Some(1));
        assert_eq!(parent_of("garbage"), None);
    }

    #[test]
    fn a_spawned_child_is_listed() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let pid = Pid::from_raw(child.id() as i32);
        // The test harness is multi-threaded: this thread may not be the
        // main one, so check the scan, which sees every thread's children.
        assert!(scan(std::process::id()).contains(&pid));
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
