//! Writer threads: each owns one connection and applies groups of events in transactions.

pub mod apply;
pub mod deltas;
pub mod keys;
pub mod plan;
mod rows;
pub mod sim;
pub mod worker;
