//! One WebSocket message in: `decode_frame` must return, never panic, abort or overflow its
//! stack; and every record of a commit it accepts must be canonical DAG-CBOR that renders as
//! lex-JSON.

#![no_main]

use libfuzzer_sys::fuzz_target;
use skyindex::ipld::cbor::validate_exact;
use skyindex::decode::{decode_frame, Frame, TypedEvent};

fuzz_target!(|data: &[u8]| {
    if let Ok(Frame::Event(TypedEvent::Commit(commit))) = decode_frame(data) {
        for op in &commit.ops {
            if let Some(record) = &op.record {
                assert!(validate_exact(&record.bytes).is_ok());
                assert!(!record.lex_json().is_null());
            }
        }
    }
});
