//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// The project's root (where Cargo.toml lives).
pub fn project_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/fixtures` beside the checkout, if present. Tests that need the public conformance
/// vectors call this and skip (saying so) when it is absent, as in a user's own clone.
pub fn shared_fixtures() -> Option<PathBuf> {
    let dir = project_dir().join("../shared/fixtures");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: ../shared/fixtures is not beside this checkout");
        None
    }
}
