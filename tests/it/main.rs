//! One integration-test binary, one module per topic, so the suite compiles once.

mod chaos;
mod common;
mod crypto;
mod decode_capture;
mod decode_hostile;
mod decode_support;
mod decode_vectors;
mod generator;
mod identity;
mod layering;
mod ops;
mod records_capture;
mod records_helpers;
mod records_hostile;
mod relay;
mod repo_commits;
mod repo_exports;
mod repo_hostile;
mod repo_mst;
mod repo_support;
mod service;
mod storage;
mod storage_cases;
mod syntax;
mod tools;
mod verify;
