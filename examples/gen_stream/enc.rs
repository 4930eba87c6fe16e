//! Low-level pieces of the generator: a portable PRNG, a skewed sampler, a canonical DAG-CBOR
//! writer that appends to a reused buffer, CIDs, TIDs, base32 and RFC 3339 datetimes.
//!
//! The PRNG is our own (xoshiro256++ seeded by splitmix64) rather than `rand`'s `SmallRng`, whose
//! algorithm may change between versions and platforms: the same `--seed` must give the same
//! bytes on every machine and after every dependency bump.
//!
//! The CBOR writer emits exactly what DAG-CBOR's canonical form requires (shortest heads,
//! definite lengths, tag 42 links); map keys are written by the callers in canonical order
//! (shorter keys first, then bytewise), which the tests check with the crate's strict validator
//! and by re-encoding through `serde_ipld_dagcbor`.

use sha2::{Digest, Sha256};

/// A 32-byte sha2-256 digest: all a CID of atproto's profile carries besides its codec.
pub type Digest32 = [u8; 32];

pub const CODEC_DAG_CBOR: u8 = 0x71;
pub const CODEC_RAW: u8 = 0x55;

/// Length of a binary CIDv1 with a sha2-256 multihash: version, codec, hash code, hash length.
pub const CID_BYTES: usize = 36;
/// Length of its base32 multibase string: `b` and 58 characters.
pub const CID_STR_LEN: usize = 59;

pub fn sha256(bytes: &[u8]) -> Digest32 {
    Sha256::digest(bytes).into()
}

pub fn cid_bytes(codec: u8, digest: &Digest32) -> [u8; CID_BYTES] {
    let mut out = [0u8; CID_BYTES];
    out[..4].copy_from_slice(&[0x01, codec, 0x12, 0x20]);
    out[4..].copy_from_slice(digest);
    out
}

/// The CID as atproto writes it in strings: multibase base32 lowercase, no padding.
pub fn cid_string(codec: u8, digest: &Digest32) -> [u8; CID_STR_LEN] {
    let mut out = [0u8; CID_STR_LEN];
    out[0] = b'b';
    base32_into(&cid_bytes(codec, digest), &mut out[1..]);
    out
}

const BASE32_LOWER: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const BASE32_SORTABLE: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";

/// RFC 4648 base32 (lowercase, unpadded) of `input` into `out`, which must be exactly long enough.
fn base32_into(input: &[u8], out: &mut [u8]) {
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut o = 0;
    for &b in input {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out[o] = BASE32_LOWER[((acc >> bits) & 31) as usize];
            o += 1;
        }
    }
    if bits > 0 {
        out[o] = BASE32_LOWER[((acc << (5 - bits)) & 31) as usize];
        o += 1;
    }
    debug_assert_eq!(o, out.len());
}

/// The TID of `n`: 13 base32-sortable characters, most significant first.
pub fn tid(n: u64) -> [u8; 13] {
    debug_assert!(n >> 63 == 0);
    let mut out = [0u8; 13];
    for (i, c) in out.iter_mut().enumerate() {
        *c = BASE32_SORTABLE[((n >> (60 - 5 * i)) & 31) as usize];
    }
    out
}

/// A TID as PDSes mint them: microseconds since the epoch, then a 10-bit clock id.
pub fn tid_of(micros: u64, clock: u16) -> u64 {
    (micros << 10) | u64::from(clock & 0x3ff)
}

/// `did:plc:` and 24 base32 characters, derived from the repo's index alone (so the same
/// accounts appear under every seed).
pub fn plc_did(index: u32) -> [u8; 32] {
    let a = splitmix64(&mut (u64::from(index) ^ 0x5ca1_ab1e_d1d0_0000));
    let b = splitmix64(&mut (a ^ 0x0123_4567_89ab_cdef));
    let mut out = [0u8; 32];
    out[..8].copy_from_slice(b"did:plc:");
    // 24 characters take 120 bits: 64 from `a`, 56 from `b`.
    for i in 0..24 {
        let v = if i < 12 {
            (a >> (59 - 5 * i)) & 31
        } else {
            (b >> (59 - 5 * (i - 12))) & 31
        };
        out[8 + i] = BASE32_LOWER[v as usize];
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Random numbers

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// xoshiro256++: fast, small, and fixed forever here.
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut st = seed;
        let s = [
            splitmix64(&mut st),
            splitmix64(&mut st),
            splitmix64(&mut st),
            splitmix64(&mut st),
        ];
        Rng { s }
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (multiply-shift; the bias is far below anything we measure).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    #[inline]
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `[0, 1)`.
    #[inline]
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Exponentially distributed with this mean.
    pub fn exp(&mut self, mean: f64) -> f64 {
        -(1.0 - self.f64()).ln() * mean
    }

    /// Roughly normal (sum of four uniforms), mean 0, standard deviation 1.
    pub fn normalish(&mut self) -> f64 {
        let s = self.f64() + self.f64() + self.f64() + self.f64();
        (s - 2.0) * (3.0f64).sqrt()
    }

    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    pub fn digest(&mut self) -> Digest32 {
        let mut d = [0u8; 32];
        self.fill(&mut d);
        d
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A copy of a uniformly chosen item.
    pub fn choose<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// An index drawn with the given weights.
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.f64() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

/// Zipf-like draws over `0..n`: rank `k` has weight `1 / (k + 1)^s`, and ranks map to items
/// through a seeded permutation, so the busiest item is not always index 0.
pub struct Zipf {
    cdf: Vec<f64>,
    perm: Vec<u32>,
}

impl Zipf {
    pub fn new(n: u32, s: f64, rng: &mut Rng) -> Zipf {
        let mut cdf = Vec::with_capacity(n as usize);
        let mut acc = 0.0;
        for k in 0..n {
            acc += 1.0 / f64::from(k + 1).powf(s);
            cdf.push(acc);
        }
        let mut perm: Vec<u32> = (0..n).collect();
        for i in (1..perm.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            perm.swap(i, j);
        }
        Zipf { cdf, perm }
    }

    pub fn rank(&self, rng: &mut Rng) -> usize {
        let total = *self.cdf.last().expect("at least one item");
        let x = rng.f64() * total;
        self.cdf
            .partition_point(|&c| c <= x)
            .min(self.cdf.len() - 1)
    }

    pub fn sample(&self, rng: &mut Rng) -> u32 {
        self.perm[self.rank(rng)]
    }
}

// ---------------------------------------------------------------------------------------------
// Canonical DAG-CBOR, appended to a Vec

#[inline]
pub fn head(buf: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        buf.push(m | n as u8);
    } else if n < 0x100 {
        buf.extend_from_slice(&[m | 24, n as u8]);
    } else if n < 0x1_0000 {
        buf.push(m | 25);
        buf.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n < 0x1_0000_0000 {
        buf.push(m | 26);
        buf.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        buf.push(m | 27);
        buf.extend_from_slice(&n.to_be_bytes());
    }
}

#[inline]
pub fn uint(buf: &mut Vec<u8>, n: u64) {
    head(buf, 0, n);
}

#[inline]
pub fn map(buf: &mut Vec<u8>, n: usize) {
    head(buf, 5, n as u64);
}

#[inline]
pub fn array(buf: &mut Vec<u8>, n: usize) {
    head(buf, 4, n as u64);
}

#[inline]
pub fn null(buf: &mut Vec<u8>) {
    buf.push(0xf6);
}

#[inline]
pub fn boolean(buf: &mut Vec<u8>, b: bool) {
    buf.push(if b { 0xf5 } else { 0xf4 });
}

/// A text string; the bytes must be UTF-8 (callers only pass ASCII or `&str` bytes).
#[inline]
pub fn text(buf: &mut Vec<u8>, s: &[u8]) {
    head(buf, 3, s.len() as u64);
    buf.extend_from_slice(s);
}

/// A text string made of several pieces.
#[inline]
pub fn text_parts(buf: &mut Vec<u8>, parts: &[&[u8]]) {
    let n: usize = parts.iter().map(|p| p.len()).sum();
    head(buf, 3, n as u64);
    for p in parts {
        buf.extend_from_slice(p);
    }
}

#[inline]
pub fn bytes(buf: &mut Vec<u8>, b: &[u8]) {
    head(buf, 2, b.len() as u64);
    buf.extend_from_slice(b);
}

/// A CID link: tag 42 around a byte string of the identity multibase prefix and the CID.
#[inline]
pub fn link(buf: &mut Vec<u8>, codec: u8, digest: &Digest32) {
    buf.extend_from_slice(&[0xd8, 0x2a, 0x58, 0x25, 0x00]);
    buf.extend_from_slice(&cid_bytes(codec, digest));
}

/// An unsigned LEB128 varint, as CAR files frame their sections.
pub fn varint(buf: &mut Vec<u8>, mut n: u64) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            buf.push(b);
            return;
        }
        buf.push(b | 0x80);
    }
}

// ---------------------------------------------------------------------------------------------
// Datetimes

/// `(year, month, day)` of a day count since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A datetime string in a fixed buffer.
pub struct DateBuf {
    buf: [u8; 32],
    len: usize,
}

impl DateBuf {
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Any string of up to 32 bytes, valid or not (for hostile records).
    pub fn from_bytes(s: &[u8]) -> DateBuf {
        let mut buf = [0u8; 32];
        let len = s.len().min(32);
        buf[..len].copy_from_slice(&s[..len]);
        DateBuf { buf, len }
    }
}

fn two(out: &mut [u8], v: u32) {
    out[0] = b'0' + (v / 10) as u8;
    out[1] = b'0' + (v % 10) as u8;
}

/// Formats `micros` since the epoch as `YYYY-MM-DDTHH:MM:SS.fff` with 3 or 6 fraction digits,
/// then `Z` (offset 0) or `±HH:MM` with the local time shifted by `offset_minutes`.
pub fn datetime(micros: u64, frac_digits: usize, offset_minutes: i32) -> DateBuf {
    let local = micros as i64 + i64::from(offset_minutes) * 60_000_000;
    let secs = local.div_euclid(1_000_000);
    let frac = local.rem_euclid(1_000_000) as u32;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400) as u32;
    let mut b = [0u8; 32];
    let y = y as u32;
    two(&mut b[0..2], y / 100);
    two(&mut b[2..4], y % 100);
    b[4] = b'-';
    two(&mut b[5..7], mo);
    b[7] = b'-';
    two(&mut b[8..10], d);
    b[10] = b'T';
    two(&mut b[11..13], sod / 3600);
    b[13] = b':';
    two(&mut b[14..16], sod / 60 % 60);
    b[16] = b':';
    two(&mut b[17..19], sod % 60);
    b[19] = b'.';
    let mut i = 20;
    let (mut v, mut div) = if frac_digits >= 6 {
        (frac, 100_000)
    } else {
        (frac / 1000, 100)
    };
    while div > 0 {
        b[i] = b'0' + (v / div) as u8;
        v %= div;
        div /= 10;
        i += 1;
    }
    if offset_minutes == 0 {
        b[i] = b'Z';
        i += 1;
    } else {
        b[i] = if offset_minutes > 0 { b'+' } else { b'-' };
        let m = offset_minutes.unsigned_abs();
        two(&mut b[i + 1..i + 3], m / 60);
        b[i + 3] = b':';
        two(&mut b[i + 4..i + 6], m % 60);
        i += 6;
    }
    DateBuf { buf: b, len: i }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_formats() {
        let t = 1_748_736_000_000_000 + 1_234_567; // 2025-06-01T00:00:01.234567Z
        assert_eq!(
            datetime(t, 3, 0).as_bytes(),
            b"2025-06-01T00:00:01.234Z".as_slice()
        );
        assert_eq!(
            datetime(t, 6, 540).as_bytes(),
            b"2025-06-01T09:00:01.234567+09:00".as_slice()
        );
    }
}
