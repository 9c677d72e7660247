//! Embeds the `std` library (`std-skills/` at the workspace root) into the
//! crate: every file below it becomes an entry `(relative path, bytes)` of
//! `STD_FILES` in `$OUT_DIR/std_files.rs`, included by `load::std_lib`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let root = manifest.join("../../std-skills");
    // Rerun when the folder itself changes (files added or removed) even if
    // it does not exist yet.
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    if root.is_dir() {
        if let Err(e) = walk(&root, &root, &mut files) {
            println!("cargo:warning=cannot read {}: {e}", root.display());
        }
    }
    files.sort();
    let mut out = String::from("/// Every file of the embedded `std` library: path relative to `std-skills/` (with `/`), contents.\n");
    out.push_str("pub(crate) static STD_FILES: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in &files {
        out.push_str(&format!(
            "    ({rel:?}, include_bytes!({:?})),\n",
            abs.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("std_files.rs");
    fs::write(&dest, out).expect("OUT_DIR is writable");
}

/// Collects `(relative path, absolute path)` of every file below `dir`,
/// registering each file and folder for rerun.
fn walk(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) -> io::Result<()> {
    println!("cargo:rerun-if-changed={}", dir.display());
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(root, &path, files)?;
        } else if path.is_file() {
            println!("cargo:rerun-if-changed={}", path.display());
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let abs = fs::canonicalize(&path).unwrap_or(path);
            files.push((rel.join("/"), abs));
        }
    }
    Ok(())
}
