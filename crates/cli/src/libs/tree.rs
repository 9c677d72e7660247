//! A library's files as one SHA-256 (the lock's `sha256`): every regular
//! file and symbolic link below the folder, in path order, each hashed with
//! its kind, relative path, executable bit and contents (a link: its
//! target), so any edit, addition, removal, rename or `chmod +x` changes it.

use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// SHA-256 (lowercase hex) of the files below `dir`.
///
/// # Errors
/// A file or folder cannot be read, or something other than a file, a link
/// or a folder is there (a FIFO is never opened).
pub fn hash(dir: &Path) -> std::io::Result<String> {
    let mut entries = Vec::new();
    walk(dir, dir, &mut entries)?;
    entries.sort();
    let mut h = Sha256::new();
    for rel in entries {
        let path = dir.join(&rel);
        let meta = std::fs::symlink_metadata(&path)?;
        let name = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let (kind, bytes) = if meta.file_type().is_symlink() {
            (
                "l",
                std::fs::read_link(&path)?
                    .as_os_str()
                    .as_encoded_bytes()
                    .to_vec(),
            )
        } else if meta.permissions().mode() & 0o111 != 0 {
            ("x", std::fs::read(&path)?)
        } else {
            ("f", std::fs::read(&path)?)
        };
        h.update(format!("{kind} {name}\0{}\0", bytes.len()).as_bytes());
        h.update(&bytes);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Collects the paths (relative to `root`) of the files and links below `dir`.
fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if kind.is_file() || kind.is_symlink() {
            out.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
        } else {
            return Err(std::io::Error::other(format!(
                "{} is not a file, link or folder",
                path.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_change_of_content_name_or_mode_changes_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("skills")).unwrap();
        std::fs::write(dir.path().join("skills/a.md"), "a").unwrap();
        std::fs::write(dir.path().join("t.flow"), "t").unwrap();
        let first = hash(dir.path()).unwrap();
        assert_eq!(hash(dir.path()).unwrap(), first);
        std::fs::write(dir.path().join("skills/a.md"), "b").unwrap();
        let edited = hash(dir.path()).unwrap();
        assert_ne!(edited, first);
        std::fs::set_permissions(
            dir.path().join("t.flow"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let chmod = hash(dir.path()).unwrap();
        assert_ne!(chmod, edited);
        std::fs::rename(dir.path().join("t.flow"), dir.path().join("u.flow")).unwrap();
        assert_ne!(hash(dir.path()).unwrap(), chmod);
        nix::unistd::mkfifo(&dir.path().join("fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert!(hash(dir.path()).is_err(), "a FIFO is refused, never opened");
    }
}
