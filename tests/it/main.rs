//! One integration-test binary, one module per topic, so the suite compiles once.

mod common;
mod syntax;
