//! The little canonical DAG-CBOR writing the repository needs: MST nodes and commits are maps
//! of a fixed shape, so they are written directly (heads in shortest form, keys already in
//! canonical order by the callers) rather than through a general serializer.

use cid::Cid;

pub fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= 0xff {
        out.push(m | 24);
        out.push(n as u8);
    } else if n <= 0xffff {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= 0xffff_ffff {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

pub fn uint(out: &mut Vec<u8>, n: u64) {
    head(out, 0, n);
}

pub fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    head(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

pub fn text(out: &mut Vec<u8>, s: &str) {
    head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

pub fn null(out: &mut Vec<u8>) {
    out.push(0xf6);
}

/// A link: tag 42 over the identity multibase prefix 0x00 and the binary CID.
pub fn cid(out: &mut Vec<u8>, c: &Cid) {
    out.extend_from_slice(&[0xd8, 0x2a]);
    head(out, 2, c.encoded_len() as u64 + 1);
    out.push(0);
    // Writing into a Vec cannot fail; the CID's bytes go in place, with no copy of their own.
    let _ = c.write_bytes(&mut *out);
}

pub fn nullable_cid(out: &mut Vec<u8>, c: Option<&Cid>) {
    match c {
        Some(c) => cid(out, c),
        None => null(out),
    }
}

/// The CID (v1, dag-cbor, sha-256) of canonical bytes.
pub fn dag_cbor_cid(bytes: &[u8]) -> Cid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(bytes);
    match cid::multihash::Multihash::wrap(crate::ipld::cid::HASH_SHA2_256, &digest) {
        Ok(mh) => Cid::new_v1(crate::ipld::cid::CODEC_DAG_CBOR, mh),
        // A 32-byte digest always fits the 64-byte multihash.
        Err(_) => unreachable!("sha-256 digest fits a multihash"),
    }
}
