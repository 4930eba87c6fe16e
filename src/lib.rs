//! skyindex: follows the AT Protocol firehose and keeps an exact PostgreSQL index of its records.
//!
//! Data flows one way:
//!
//! ```text
//! source (relay websocket | capture file)
//!   -> decode (frame header, body, CAR slice, typed records, syntax checks)
//!   -> route (hash(repo DID) -> writer; progress registers every seq)
//!   -> writer threads (grouped, typed Diesel transactions)
//!   -> db (PostgreSQL: rows, exact counters, feed items, per-repo rev, cursor)
//! ```
//!
//! Config, logging, stats, shutdown and the CLI sit at the edges and are wired in `main`.

pub mod backoff;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod decode;
pub mod dispatch;
pub mod inspect;
pub mod ipld;
pub mod logging;
pub mod notify;
pub mod ops;
pub mod progress;
pub mod records;
pub mod repo;
pub mod route;
pub mod run;
pub mod shutdown;
pub mod source;
pub mod stats;
pub mod syntax;
pub mod tools;
pub mod writer;
