//! Comparison of ECDSA verifiers behind the crate choice (BENCHMARKS.md, "Signatures"): per-core verify speed
//! of one fixed signature (SHA-256 of a 160-byte message, compact r||s), key parsed once, and
//! whether each library refuses the high-S twin of a valid signature by itself.
//!
//! `cargo run --release` in this folder (pin to one core with `taskset -c 0`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

const MESSAGE: [u8; 160] = [0x5a; 160];

fn rate(name: &str, mut f: impl FnMut() -> bool) {
    assert!(f(), "{name}: the valid signature must verify");
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let started = Instant::now();
        let mut n = 0u32;
        while started.elapsed() < Duration::from_millis(400) {
            for _ in 0..50 {
                black_box(f());
            }
            n += 50;
        }
        best = best.min(started.elapsed().as_secs_f64() * 1e6 / f64::from(n));
    }
    println!("{name:<46} {best:>7.2} µs/verify  {:>8.0} verifies/s", 1e6 / best);
}

/// The same signature with s replaced by n - s (valid for the same key and message).
fn high_s(sig: &[u8; 64], order: &[u8; 32]) -> [u8; 64] {
    let mut out = *sig;
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(order[i]) - i16::from(sig[32 + i]) - borrow;
        borrow = i16::from(d < 0);
        out[32 + i] = (d + if d < 0 { 256 } else { 0 }) as u8;
    }
    out
}

const K256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
];
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

fn main() {
    // secp256k1 (ES256K): sign once with k256, low-S as atproto requires.
    use k256::ecdsa::signature::{Signer, Verifier};
    let k_sk = k256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let k_sig: k256::ecdsa::Signature = k_sk.sign(&MESSAGE);
    let k_sig = k_sig.normalize_s().unwrap_or(k_sig);
    let k_sig_bytes: [u8; 64] = k_sig.to_bytes().into();
    let k_pk_compressed = k_sk.verifying_key().to_encoded_point(true).as_bytes().to_vec();
    let k_pk_uncompressed = k_sk.verifying_key().to_encoded_point(false).as_bytes().to_vec();
    let k_high = high_s(&k_sig_bytes, &K256_ORDER);

    let k_vk = k256::ecdsa::VerifyingKey::from_sec1_bytes(&k_pk_compressed).unwrap();
    rate("k256 0.13 (RustCrypto, pure Rust)", || {
        let sig = k256::ecdsa::Signature::from_slice(&k_sig_bytes).unwrap();
        k_vk.verify(black_box(&MESSAGE), &sig).is_ok()
    });
    let k_high_sig = k256::ecdsa::Signature::from_slice(&k_high).unwrap();
    println!("  k256 refuses high-S by itself: {}", k_vk.verify(&MESSAGE, &k_high_sig).is_err());

    let s_pk = secp256k1::PublicKey::from_slice(&k_pk_compressed).unwrap();
    rate("secp256k1 0.33 (libsecp256k1 via cc)", || {
        let digest: [u8; 32] = Sha256::digest(black_box(&MESSAGE)).into();
        let sig = secp256k1::ecdsa::Signature::from_compact(&k_sig_bytes).unwrap();
        secp256k1::ecdsa::verify(&sig, secp256k1::Message::from_digest(digest), &s_pk).is_ok()
    });
    let digest: [u8; 32] = Sha256::digest(MESSAGE).into();
    let s_high = secp256k1::ecdsa::Signature::from_compact(&k_high).unwrap();
    println!(
        "  secp256k1 refuses high-S by itself: {}",
        secp256k1::ecdsa::verify(&s_high, secp256k1::Message::from_digest(digest), &s_pk).is_err()
    );

    let a_k = aws_lc_rs::signature::ParsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P256K1_SHA256_FIXED,
        &k_pk_uncompressed,
    )
    .unwrap();
    rate("aws-lc-rs 1.19 secp256k1 (parsed key)", || {
        a_k.verify_sig(black_box(&MESSAGE), &k_sig_bytes).is_ok()
    });
    println!("  aws-lc-rs secp256k1 refuses high-S by itself: {}", a_k.verify_sig(&MESSAGE, &k_high).is_err());

    // NIST P-256 (ES256).
    let p_sk = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
    let p_sig: p256::ecdsa::Signature = p_sk.sign(&MESSAGE);
    let p_sig = p_sig.normalize_s().unwrap_or(p_sig);
    let p_sig_bytes: [u8; 64] = p_sig.to_bytes().into();
    let p_pk_compressed = p_sk.verifying_key().to_encoded_point(true).as_bytes().to_vec();
    let p_pk_uncompressed = p_sk.verifying_key().to_encoded_point(false).as_bytes().to_vec();
    let p_high = high_s(&p_sig_bytes, &P256_ORDER);

    let p_vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&p_pk_compressed).unwrap();
    rate("p256 0.13 (RustCrypto, pure Rust)", || {
        let sig = p256::ecdsa::Signature::from_slice(&p_sig_bytes).unwrap();
        p_vk.verify(black_box(&MESSAGE), &sig).is_ok()
    });
    let p_high_sig = p256::ecdsa::Signature::from_slice(&p_high).unwrap();
    println!("  p256 refuses high-S by itself: {}", p_vk.verify(&MESSAGE, &p_high_sig).is_err());

    let r_pk = ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_FIXED,
        p_pk_uncompressed.clone(),
    );
    rate("ring 0.17 P-256 (uncompressed key, parsed per call)", || {
        r_pk.verify(black_box(&MESSAGE), &p_sig_bytes).is_ok()
    });
    println!("  ring refuses high-S by itself: {}", r_pk.verify(&MESSAGE, &p_high).is_err());
    let r_compressed = ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_FIXED,
        p_pk_compressed.clone(),
    );
    println!("  ring reads a compressed key: {}", r_compressed.verify(&MESSAGE, &p_sig_bytes).is_ok());

    let a_p = aws_lc_rs::signature::ParsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
        &p_pk_compressed,
    );
    println!("  aws-lc-rs reads a compressed key: {}", a_p.is_ok());
    let a_p = aws_lc_rs::signature::ParsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
        &p_pk_uncompressed,
    )
    .unwrap();
    rate("aws-lc-rs 1.19 P-256 (parsed key)", || {
        a_p.verify_sig(black_box(&MESSAGE), &p_sig_bytes).is_ok()
    });
    println!("  aws-lc-rs P-256 refuses high-S by itself: {}", a_p.verify_sig(&MESSAGE, &p_high).is_err());

    // Parsing a compressed key (point decompression) happens once per account key, not per
    // commit; shown for completeness.
    rate("k256 parse compressed key (once per account)", || {
        k256::ecdsa::VerifyingKey::from_sec1_bytes(black_box(&k_pk_compressed)).is_ok()
    });
    rate("secp256k1 parse compressed key", || {
        secp256k1::PublicKey::from_slice(black_box(&k_pk_compressed)).is_ok()
    });
    rate("p256 parse compressed key", || {
        p256::ecdsa::VerifyingKey::from_sec1_bytes(black_box(&p_pk_compressed)).is_ok()
    });
}
