//! Helpers shared by the integration tests.

#![allow(dead_code)]

pub mod db;
pub mod events;
pub mod proc;
pub mod truth;

use std::path::PathBuf;

/// The project's root (where Cargo.toml lives).
pub fn project_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The real-PDS capture committed with the tests: 30 accounts, 999 frames, and its truth.
pub fn pds_small() -> PathBuf {
    project_dir().join("tests/fixtures/pds-small")
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

/// Every message of a capture file, in order.
pub fn read_capture(path: &std::path::Path) -> Vec<Vec<u8>> {
    let mut reader = skyindex::source::capture::CaptureReader::open(path).expect("open capture");
    let mut out = Vec::new();
    while let Some(record) = reader.next_record().expect("read capture") {
        out.push(record.to_vec());
    }
    out
}

/// The whole messages in a possibly truncated capture's bytes.
pub fn read_capture_prefix(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 4 <= bytes.len() {
        let len = u32::from_le_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]])
            as usize;
        if pos + 4 + len > bytes.len() {
            break;
        }
        out.push(bytes[pos + 4..pos + 4 + len].to_vec());
        pos += 4 + len;
    }
    out
}

/// The installed pds-capture tool (a copy of `../shared/tools/pds-capture` with its
/// `node_modules`, at `/tmp/pds-capture` or `$PDS_CAPTURE`), if node runs; else `None`, said.
pub fn pds_capture_tool() -> Option<PathBuf> {
    let dir =
        PathBuf::from(std::env::var("PDS_CAPTURE").unwrap_or_else(|_| "/tmp/pds-capture".into()));
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if node && dir.join("node_modules").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: no node, or no installed pds-capture at {} (cp -r ../shared/tools/pds-capture /tmp/pds-capture && cd /tmp/pds-capture && npm ci)",
            dir.display()
        );
        None
    }
}
