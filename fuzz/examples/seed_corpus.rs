//! Writes the seed corpora of both fuzz targets from a capture file:
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example seed_corpus -- CAPTURE CORPUS_DIR`
//!
//! - `CORPUS_DIR/decode_frame/`: every message of the capture, one file each;
//! - `CORPUS_DIR/decode_parts/`: the CAR slices of the commits (selector byte 0), their record
//!   blocks for the record decoders (selector 1 + 3k picks collection k) and for the validator and
//!   renderer (selector 2).

use std::path::{Path, PathBuf};

use ipld_core::ipld::Ipld;
use skyindex::ipld::cbor::validate_item;
use skyindex::decode::{decode_frame, Frame, TypedEvent};
use skyindex::records;
use skyindex::source::capture::CaptureReader;

const COLLECTIONS: [&str; 6] = [
    records::POST,
    records::LIKE,
    records::REPOST,
    records::FOLLOW,
    records::BLOCK,
    records::PROFILE,
];

fn write(dir: &Path, name: String, parts: &[&[u8]]) {
    std::fs::write(dir.join(name), parts.concat()).expect("write seed");
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(capture), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: seed_corpus CAPTURE CORPUS_DIR");
        std::process::exit(2);
    };
    let frames_dir = PathBuf::from(&out).join("decode_frame");
    let parts_dir = PathBuf::from(&out).join("decode_parts");
    std::fs::create_dir_all(&frames_dir).expect("create corpus dir");
    std::fs::create_dir_all(&parts_dir).expect("create corpus dir");
    let mut reader = CaptureReader::open(&PathBuf::from(capture)).expect("open capture");
    let (mut n, mut parts) = (0, 0);
    while let Some(message) = reader.next_record().expect("read capture") {
        write(&frames_dir, format!("capture-{n:05}"), &[message]);
        n += 1;
        let Ok(Frame::Event(TypedEvent::Commit(commit))) = decode_frame(message) else {
            continue;
        };
        let header_len = validate_item(message).expect("decoded frames have a header");
        if let Ok(Ipld::Map(body)) = serde_ipld_dagcbor::from_slice::<Ipld>(&message[header_len..])
        {
            if let Some(Ipld::Bytes(car)) = body.get("blocks") {
                write(&parts_dir, format!("car-{n:05}"), &[&[0], car]);
                parts += 1;
            }
        }
        for (i, op) in commit.ops.iter().enumerate() {
            let Some(record) = &op.record else { continue };
            let k = COLLECTIONS
                .iter()
                .position(|c| *c == op.collection)
                .unwrap_or(COLLECTIONS.len());
            let selector = 1 + 3 * k as u8;
            write(
                &parts_dir,
                format!("rec-{n:05}-{i}"),
                &[&[selector], &record.bytes],
            );
            write(
                &parts_dir,
                format!("cbor-{n:05}-{i}"),
                &[&[2], &record.bytes],
            );
            parts += 2;
        }
    }
    eprintln!("wrote {n} frame seeds and {parts} part seeds under {out}");
}
