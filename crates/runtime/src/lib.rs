//! `flow-runtime`: runs a checked [`flow_dsl::ir::Pipeline`].
//!
//! The [`scheduler`] is a pure state machine (no processes, no clocks); the
//! executor performs its decisions (spawn, kill, wait, journal) and feeds the
//! results back as events.
#![deny(missing_docs)]

pub mod scheduler;
