//! Finding the program of a spawn request on the request's own `PATH`.
//!
//! `std::process::Command` uses `posix_spawn` (no copy of the parent's
//! memory) for an absolute program, but falls back to `fork` + `execvp`
//! when the child's `PATH` differs from the parent's and the program must
//! be looked up — always the case here, as every request carries its whole
//! environment. So the supervisor looks the program up itself, the way
//! `execvp` does (each `PATH` entry in order, the first executable regular
//! file; an empty entry is the working folder), and keeps `argv[0]` as
//! written.

use nix::unistd::{access, AccessFlags};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// `execvp`'s search path when `PATH` is unset (glibc).
const DEFAULT_PATH: &str = "/bin:/usr/bin";

/// The file `program` names for a child with this environment and working
/// folder, or `None` (then the spawn reports the error itself). A program
/// with a `/` is taken as it is.
pub fn resolve(program: &OsStr, env: &[(OsString, OsString)], cwd: &Path) -> Option<PathBuf> {
    if program.is_empty() || program.as_bytes().contains(&b'/') {
        return None;
    }
    let path = env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map_or(OsStr::new(DEFAULT_PATH), |(_, v)| v.as_os_str());
    path.as_bytes()
        .split(|b| *b == b':')
        .map(|dir| {
            let dir = if dir.is_empty() {
                Path::new(".")
            } else {
                Path::new(OsStr::from_bytes(dir))
            };
            cwd.join(dir).join(program)
        })
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    path.metadata().is_ok_and(|m| m.is_file()) && access(path, AccessFlags::X_OK).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(path: &str) -> Vec<(OsString, OsString)> {
        vec![
            ("PATH".into(), "/nowhere".into()),
            ("PATH".into(), path.into()),
        ]
    }

    #[test]
    fn the_first_executable_on_the_last_path_wins() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(a.join("tool"), "not executable").unwrap();
        std::fs::write(b.join("tool"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(b.join("tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir_all(a.join("dir")).unwrap();
        let path = format!("{}:{}", a.display(), b.display());
        let cwd = Path::new("/");
        assert_eq!(
            resolve("tool".as_ref(), &env(&path), cwd),
            Some(b.join("tool"))
        );
        assert_eq!(
            resolve("dir".as_ref(), &env(&path), cwd),
            None,
            "a folder is not a program"
        );
        assert_eq!(resolve("missing".as_ref(), &env(&path), cwd), None);
        assert_eq!(
            resolve("./tool".as_ref(), &env(&path), cwd),
            None,
            "a path is taken as is"
        );
        // An empty entry is the working folder.
        assert_eq!(
            resolve("tool".as_ref(), &env(":/nowhere"), &b),
            Some(b.join(".").join("tool"))
        );
    }
}
