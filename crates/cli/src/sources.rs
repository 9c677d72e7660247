//! The files a flow was checked from, with a hash of each, for the journal
//! (`run_started.sources`): `flow resume` refuses a run whose files changed.

use flow_dsl::span::SourceMap;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// Every source file of `sources` → SHA-256 of its text (lowercase hex).
/// A file on disk is named by its absolute path (so the name does not
/// depend on the current folder); an embedded one (`std/agent.flow`) by its
/// name.
pub fn hashes(sources: &SourceMap) -> BTreeMap<String, String> {
    sources
        .files()
        .map(|(_, f)| {
            let name = if Path::new(&f.name).is_file() {
                std::path::absolute(&f.name)
                    .map_or_else(|_| f.name.clone(), |p| p.display().to_string())
            } else {
                f.name.clone()
            };
            let digest = Sha256::digest(f.text.as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            (name, hex)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_files_on_disk_absolutely_and_hashes_their_text() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.flow");
        std::fs::write(&file, "abc").unwrap();
        let mut map = SourceMap::default();
        map.add(file.display().to_string(), "abc");
        map.add("std/agent.flow", "");
        let h = hashes(&map);
        assert_eq!(
            h[&file.display().to_string()],
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(h.contains_key("std/agent.flow"));
    }
}
