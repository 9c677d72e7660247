//! The files a flow was checked from, with a hash of each, for the journal
//! (`run_started.sources`): `flow resume` refuses a run whose files changed.

use flow_dsl::span::SourceMap;
use std::collections::BTreeMap;

/// Every source file of `sources` → SHA-256 of its text (lowercase hex),
/// named as [`flow_runtime::engine::source_hashes`] says.
pub fn hashes(sources: &SourceMap) -> BTreeMap<String, String> {
    flow_runtime::engine::source_hashes(sources.files().map(|(_, f)| (f.name.as_str(), &*f.text)))
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
