//! Each stage's script, written once per run to `scripts/<stage>` and run
//! as `SHELL… FILE`: never as an argv entry, which Linux limits to 128 KiB
//! (`E2BIG`). A script that is one simple command is not written: it runs
//! without bash, or as `SHELL… -c SCRIPT FILE` (a single short line), see
//! [`crate::direct`].

use flow_dsl::ir::Pipeline;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::direct::{self, SimpleCommand};
use crate::rundir::RunDir;

/// How a stage's script is run.
#[derive(Debug, Clone)]
pub(super) struct StageScript {
    /// `scripts/<stage>` (not written for a simple command).
    pub file: PathBuf,
    /// The script as one simple command, if it is one.
    pub command: Option<Arc<SimpleCommand>>,
}

/// Writes every stage's script that is not a simple command (mode 0600:
/// only the user reads it; scripts hold no secrets, which reach them
/// through the environment). Returns the scripts by stage index.
///
/// # Errors
/// The first file that cannot be written.
pub(super) fn write_all(dir: &RunDir, pipeline: &Pipeline) -> io::Result<Vec<StageScript>> {
    let folder = dir.root.join("scripts");
    fs::create_dir_all(&folder)?;
    pipeline
        .stages
        .iter()
        .map(|stage| {
            let path = dir.script(&stage.name);
            // A builtin stage has no script to write.
            if stage.builtin.is_some() {
                return Ok(StageScript {
                    file: path,
                    command: None,
                });
            }
            let command = direct::simple_command(&stage.shell, &stage.script).map(Arc::new);
            if command.is_some() {
                return Ok(StageScript {
                    file: path,
                    command,
                });
            }
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&path)?;
            file.write_all(stage.script.as_bytes())?;
            Ok(StageScript {
                file: path,
                command: None,
            })
        })
        .collect()
}
