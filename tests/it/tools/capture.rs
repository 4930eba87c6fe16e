//! `skyindex capture` recording from a replay server.

use skyindex::replay::ReplayOptions;

use super::{fixture_frames, serve, skyindex, TempDir};
use crate::common::read_capture;

#[test]
fn records_a_relay_byte_for_byte() {
    let fixture = fixture_frames();
    let server = serve(ReplayOptions::default());
    let dir = TempDir::new("capture");
    let out = dir.0.join("cap.bin.zst");
    let result = skyindex(&[
        "capture",
        "--relay",
        &server.url(),
        "--out",
        out.to_str().unwrap(),
        "--max-events",
        "300",
        "--cursor",
        "0",
    ]);
    assert!(result.status.success(), "{result:?}");
    let captured = read_capture(&out);
    assert_eq!(captured.len(), 300);
    assert!(captured[..] == fixture[..300]);
    assert_eq!(server.cursors(), vec![Some(0)]);
    // Compressed: the name asked for it.
    let raw = std::fs::read(&out).unwrap();
    assert_eq!(&raw[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
}

#[test]
fn ends_cleanly_when_the_relay_closes() {
    let server = serve(ReplayOptions {
        error_frame_after: Some((10, "ConsumerTooSlow".into())),
        ..ReplayOptions::default()
    });
    let dir = TempDir::new("capture-close");
    let out = dir.0.join("cap.bin");
    let result = skyindex(&[
        "capture",
        "--relay",
        &server.url(),
        "--out",
        out.to_str().unwrap(),
        "--cursor",
        "0",
    ]);
    assert!(result.status.success(), "{result:?}");
    // The error frame is part of the stream and is recorded too.
    let captured = read_capture(&out);
    assert_eq!(captured.len(), 11);
    assert!(captured[..10] == fixture_frames()[..10]);
}
