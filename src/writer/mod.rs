//! Writer threads: each owns one connection and applies groups of events in transactions.

pub mod plan;
pub mod sim;
