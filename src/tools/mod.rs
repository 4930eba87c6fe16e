//! Tools that come with the indexer: recording a relay, serving a capture as a relay.

pub mod capture;
pub mod replay;
