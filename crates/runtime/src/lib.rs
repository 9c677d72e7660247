//! `flow-runtime`: runs a checked [`flow_dsl::ir::Pipeline`].
//!
//! The [`scheduler`] is a pure state machine (no processes, no clocks); the
//! executor performs its decisions (spawn, kill, wait, journal) and feeds the
//! results back as events.
#![deny(missing_docs)]

pub mod artifacts;
pub mod builtin;
pub mod direct;
pub mod engine;
pub mod env;
pub mod journal;
pub mod output;
pub mod process;
pub mod run;
pub mod rundir;
pub mod runlock;
pub mod scheduler;
pub mod status;
pub mod store;
pub mod supervisor;
pub mod usage;
pub mod warden;
