//! The string forms of keys: multibase base58btc (`z…`) around a multicodec-prefixed point, as
//! `did:key` and Multikey `publicKeyMultibase` use it, or around a bare point (legacy suites).
//!
//! Everything is bounded before it is decoded: base58 decoding is quadratic in its length, and
//! no key form is longer than a prefixed uncompressed point (67 bytes, 92 characters).

use super::error::KeyError;

/// Multicodec for a secp256k1 public key (`secp256k1-pub`).
pub const CODEC_SECP256K1_PUB: u64 = 0xe7;
/// Multicodec for a NIST P-256 public key (`p256-pub`).
pub const CODEC_P256_PUB: u64 = 0x1200;

/// Longest multibase string we decode; 92 characters hold 67 bytes.
const MAX_MULTIBASE_CHARS: usize = 128;
/// Longest decoded key form: varint prefix (at most 3 bytes here) and a 65-byte point.
const MAX_DECODED: usize = 72;

/// Decoded multibase bytes, on the stack.
pub struct Decoded {
    buf: [u8; MAX_DECODED],
    len: usize,
}

impl Decoded {
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Decodes a base58btc multibase string (`z` then base58, Bitcoin alphabet).
pub fn decode_base58btc(s: &str) -> Result<Decoded, KeyError> {
    let Some(body) = s.strip_prefix('z') else {
        return Err(KeyError::NotBase58btc);
    };
    if s.len() > MAX_MULTIBASE_CHARS {
        return Err(KeyError::TooLong(s.len()));
    }
    let mut out = Decoded {
        buf: [0; MAX_DECODED],
        len: 0,
    };
    out.len = bs58::decode(body)
        .onto(&mut out.buf[..])
        .map_err(|_| KeyError::Base58)?;
    Ok(out)
}

pub fn encode_base58btc(bytes: &[u8]) -> String {
    format!("z{}", bs58::encode(bytes).into_string())
}

/// Splits an unsigned-varint multicodec prefix off `bytes`, refusing non-minimal encodings so
/// that one key has one string.
pub fn split_codec(bytes: &[u8]) -> Result<(u64, &[u8]), KeyError> {
    let mut value: u64 = 0;
    for (i, &b) in bytes.iter().enumerate().take(9) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            if b == 0 && i > 0 {
                return Err(KeyError::Varint);
            }
            return Ok((value, &bytes[i + 1..]));
        }
    }
    Err(KeyError::Varint)
}

/// The varint prefix of a multicodec we write.
pub fn codec_prefix(codec: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(3);
    let mut v = codec;
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trip() {
        for codec in [CODEC_SECP256K1_PUB, CODEC_P256_PUB, 1, 127, 128] {
            let mut bytes = codec_prefix(codec);
            bytes.push(0xAA);
            assert_eq!(split_codec(&bytes), Ok((codec, &[0xAA][..])));
        }
        assert_eq!(codec_prefix(CODEC_SECP256K1_PUB), vec![0xe7, 0x01]);
        assert_eq!(codec_prefix(CODEC_P256_PUB), vec![0x80, 0x24]);
        assert_eq!(split_codec(&[0xe7, 0x00]), Err(KeyError::Varint));
        assert_eq!(split_codec(&[0x81, 0x00]), Err(KeyError::Varint));
        assert_eq!(split_codec(&[0x81]), Err(KeyError::Varint));
    }

    #[test]
    fn base58_is_bounded() {
        assert!(matches!(
            decode_base58btc(&format!("z{}", "2".repeat(200))),
            Err(KeyError::TooLong(_))
        ));
        assert!(matches!(
            decode_base58btc("m123"),
            Err(KeyError::NotBase58btc)
        ));
        assert!(matches!(decode_base58btc("z0OIl"), Err(KeyError::Base58)));
        // Decodes to more bytes than any key form holds.
        assert!(matches!(
            decode_base58btc(&format!("z{}", "z".repeat(120))),
            Err(KeyError::Base58)
        ));
    }
}
