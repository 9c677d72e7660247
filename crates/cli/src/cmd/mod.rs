//! One module per subcommand.

pub mod check;
pub mod explain;
pub mod graph;
pub mod resume;
pub mod run;
