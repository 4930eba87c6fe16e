//! Writer threads: each owns one connection and applies groups of events in transactions.

pub mod apply;
pub mod plan;
pub mod sim;
pub mod worker;
