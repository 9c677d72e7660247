//! `flow approve RUN STAGE --decision WORD [--message TEXT | --message-file
//! FILE]`: gives an approval stage its decision (docs/language.md
//! "Approval"). The checks and the file are the runtime's
//! (`flow_runtime::run::approval::approve`); this only reads the message
//! and says what happens next.

use super::history::Base;
use std::path::PathBuf;

/// Arguments of `flow approve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A run id, a unique prefix of one, or `last`.
    pub run: String,
    /// The approval stage that waits.
    pub stage: String,
    /// One of the stage's decisions (its `approval` words).
    #[arg(long)]
    pub decision: String,
    /// Words for the next stage (its `message.md`).
    #[arg(long, conflicts_with = "message_file")]
    pub message: Option<String>,
    /// A file holding the message.
    #[arg(long, value_name = "FILE")]
    pub message_file: Option<PathBuf>,
    #[command(flatten)]
    pub base: Base,
}

/// Gives the decision. Exit 0 once written (the run reads it within a
/// moment, or `flow resume` does); 1 when the stage does not wait for one
/// or the word is not one of its decisions; 2 when RUN names no run or the
/// message file cannot be read.
pub fn run(args: &Args) -> u8 {
    let root = match args.base.resolve(&args.run) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let message = match &args.message_file {
        Some(file) => match std::fs::read_to_string(file) {
            Ok(text) => Some(text),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", file.display());
                return 2;
            }
        },
        None => args.message.clone(),
    };
    let by = std::env::var("USER").ok();
    let id = root
        .file_name()
        .map_or_else(|| args.run.clone(), |n| n.to_string_lossy().into_owned());
    match flow_runtime::run::approval::approve(
        &root,
        &args.stage,
        &args.decision,
        message.as_deref(),
        by.as_deref(),
    ) {
        Ok(done) if done.live => {
            eprintln!("✓ {}: {} (run {id} goes on)", args.stage, args.decision);
            0
        }
        Ok(_) => {
            eprintln!(
                "✓ {}: {} — run {id} is not running; `flow resume {id}` goes on with this decision",
                args.stage, args.decision
            );
            0
        }
        Err(why) => {
            eprintln!("error: run {id}: {why}");
            1
        }
    }
}
