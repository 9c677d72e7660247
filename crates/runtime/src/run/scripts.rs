//! Each stage's script, written once per run to `scripts/<stage>` and run
//! as `SHELL… FILE`: never as an argv entry, which Linux limits to 128 KiB
//! (`E2BIG`).

use flow_dsl::ir::Pipeline;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use crate::rundir::RunDir;

/// Writes every stage's script (mode 0600: only the user reads it; scripts
/// hold no secrets, which reach them through the environment). Returns the
/// files by stage index.
///
/// # Errors
/// The first file that cannot be written.
pub(super) fn write_all(dir: &RunDir, pipeline: &Pipeline) -> io::Result<Vec<PathBuf>> {
    let folder = dir.root.join("scripts");
    fs::create_dir_all(&folder)?;
    pipeline
        .stages
        .iter()
        .map(|stage| {
            let path = dir.script(&stage.name);
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&path)?;
            file.write_all(stage.script.as_bytes())?;
            Ok(path)
        })
        .collect()
}
