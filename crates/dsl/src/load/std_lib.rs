//! The `std` library, embedded at build time from `std-skills/` (see the
//! crate's `build.rs`), so `use std` works on a machine without the sources.

use std::collections::BTreeMap;

include!(concat!(env!("OUT_DIR"), "/std_files.rs"));

/// Every file of the embedded `std` library: path relative to the library
/// root (`agent.flow`, `skills/plan.md`, `bin/flow-agent`) → contents.
pub fn files() -> BTreeMap<String, Vec<u8>> {
    STD_FILES
        .iter()
        .map(|(path, bytes)| (path.to_string(), bytes.to_vec()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_paths_are_relative_with_forward_slashes() {
        for (path, _) in STD_FILES {
            assert!(!path.starts_with('/') && !path.contains('\\'), "{path}");
        }
        assert_eq!(files().len(), STD_FILES.len());
    }
}
