//! IPLD as atproto uses it, strictly: canonical DAG-CBOR ([`cbor`]), CIDs of atproto's profile
//! ([`cid`]) and CAR v1 ([`car`]). Pure: bytes in, values or typed errors out. Everything that
//! reads IPLD bytes (frames, records, repository trees, signed commits, labels) reads them here,
//! so one set of strictness rules holds for all of them.

pub mod car;
pub mod cbor;
pub mod cid;
pub mod limits;

pub use car::{Block, CarError, CarSlice};
pub use cbor::CborError;
