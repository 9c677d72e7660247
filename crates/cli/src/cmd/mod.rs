//! One module per subcommand (`history` holds what the run-history
//! commands share).

pub mod approve;
pub mod cancel;
pub mod check;
pub mod completions;
pub mod explain;
pub mod fmt;
pub mod graph;
pub mod history;
pub mod logs;
pub mod lsp;
pub mod prune;
pub mod resume;
pub mod run;
pub mod runs;
pub mod show;
pub mod stats;
pub mod submit;
pub mod update;
