//! What a builtin gets for one attempt.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

use crate::output::{Masker, OutputSink};

/// One attempt of a builtin stage: where it runs, what it sees, how it
/// reports and when it must stop. Cheap to clone (a spawned task of the
/// builtin may keep one).
#[derive(Clone)]
pub struct BuiltinContext {
    pub(super) stage: String,
    pub(super) visit: u32,
    pub(super) attempt: u32,
    pub(super) dir: PathBuf,
    pub(super) env: Arc<Vec<(String, String)>>,
    pub(super) stop: watch::Receiver<bool>,
    pub(super) log: Arc<AttemptLog>,
}

impl BuiltinContext {
    /// The stage's name.
    pub fn stage(&self) -> &str {
        &self.stage
    }

    /// 1-based visit of the stage (`$FLOW_VISIT`).
    pub fn visit(&self) -> u32 {
        self.visit
    }

    /// 1-based attempt within the visit (`$FLOW_ATTEMPT`).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The attempt's own fresh folder (a script's working directory):
    /// the needs' outputs are copied in, and the stage's `outputs` are
    /// collected from it once the builtin returns. Absolute. The process's
    /// working directory is not changed: join paths to this one.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The variables a script of this stage would get besides the
    /// environment of the program (params and `let`s upper-cased, `env`
    /// items, secrets, `FLOW_RUN_ID`, `FLOW_STAGE`, `FLOW_WORKSPACE` …, as
    /// docs/language.md "Environment of a stage" lists them), in order.
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// The value of one of [`BuiltinContext::env`]'s variables (`ISSUE`
    /// for `param issue`), the last one when it is set twice.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// True once the attempt must stop (its `timeout`, or the run was
    /// cancelled): a script would have got SIGTERM. The future is dropped
    /// `grace` later if it has not returned by then.
    pub fn is_cancelled(&self) -> bool {
        *self.stop.borrow()
    }

    /// Resolves once the attempt must stop (see
    /// [`BuiltinContext::is_cancelled`]); never if it need not.
    pub async fn cancelled(&self) {
        let mut stop = self.stop.clone();
        if stop.wait_for(|s| *s).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Writes `text` as the attempt's output: to its log
    /// (`logs/<stage>.<visit>.<attempt>.log`) and live as `[stage] text`,
    /// the run's secrets masked, a line break added when missing. A log
    /// that cannot be written is a warning at the attempt's end, as for a
    /// script.
    pub fn log(&self, text: &str) {
        self.log.write(text);
    }
}

/// The log of one builtin attempt: created on the first line (a silent
/// attempt has none, as a silent script), masked, mirrored to the sink.
pub(crate) struct AttemptLog {
    path: PathBuf,
    label: String,
    masker: Arc<Masker>,
    sink: Arc<dyn OutputSink>,
    file: Mutex<Option<File>>,
    bytes: AtomicU64,
    error: Mutex<Option<String>>,
}

impl AttemptLog {
    pub(crate) fn new(
        path: PathBuf,
        label: String,
        masker: Arc<Masker>,
        sink: Arc<dyn OutputSink>,
    ) -> AttemptLog {
        AttemptLog {
            path,
            label,
            masker,
            sink,
            file: Mutex::new(None),
            bytes: AtomicU64::new(0),
            error: Mutex::new(None),
        }
    }

    /// Appends one chunk. The file is a regular file of the run directory
    /// opened `O_NOFOLLOW|O_NONBLOCK`, so a write never blocks for long.
    pub(crate) fn write(&self, text: &str) {
        let mut line = self.masker.mask_str(text).into_owned();
        if !line.ends_with('\n') {
            line.push('\n');
        }
        self.sink.lines(&self.label, line.as_bytes());
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if file.is_none() {
            match crate::output::open_log(&self.path, true) {
                Ok(f) => *file = Some(f),
                Err(e) => return self.fail(format!("cannot write the log: {e}")),
            }
        }
        if let Some(f) = file.as_mut() {
            match f.write_all(line.as_bytes()) {
                Ok(()) => {
                    self.bytes.fetch_add(line.len() as u64, Ordering::Relaxed);
                }
                Err(e) => self.fail(format!("cannot write the log: {e}")),
            }
        }
    }

    fn fail(&self, message: String) {
        self.error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(message);
    }

    /// Bytes written so far.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The first write error, if any.
    pub(crate) fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
