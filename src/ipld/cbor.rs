//! A strict DAG-CBOR validator: one pass over the bytes, no allocation.
//!
//! Neither ciborium nor serde_ipld_dagcbor enforces all of DAG-CBOR's determinism rules (shortest
//! integer and length forms, map keys as text in length-then-bytewise order without duplicates, no
//! indefinite lengths, only tag 42 for CIDs, only 64-bit finite floats, only `false`/`true`/`null`
//! as simple values), and the same bytes must mean the same thing to every consumer: a record
//! whose bytes have two readings is hostile. So every CBOR item we decode passes here first;
//! the typed decoders then only see canonical input.

use thiserror::Error;

use super::limits::MAX_CBOR_DEPTH;

/// Why bytes are not canonical DAG-CBOR. `at` is the byte offset of the offending item.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid DAG-CBOR at byte {at}: {reason}")]
pub struct CborError {
    pub at: usize,
    pub reason: &'static str,
}

/// Validates exactly one DAG-CBOR item at the start of `bytes` and returns its length in bytes.
/// Trailing bytes are left to the caller (a frame is two items back to back).
pub fn validate_item(bytes: &[u8]) -> Result<usize, CborError> {
    let mut v = Validator::new(bytes);
    v.item(0)?;
    Ok(v.pos)
}

/// Validates that `bytes` is exactly one DAG-CBOR item, nothing before or after it.
pub fn validate_exact(bytes: &[u8]) -> Result<(), CborError> {
    let n = validate_item(bytes)?;
    if n != bytes.len() {
        return Err(CborError {
            at: n,
            reason: "trailing bytes after the item",
        });
    }
    Ok(())
}

/// The entries of a top-level map that are well formed, in order, up to the first damage: what
/// a damaged frame body can still tell the log (`seq` and `repo` sort before `blocks`, where
/// damage usually is). Keys come back as text, values as their encoded bytes.
pub fn leading_map_entries(bytes: &[u8]) -> Vec<(&str, &[u8])> {
    let mut out = Vec::new();
    let mut v = Validator::new(bytes);
    let Ok(head) = v.byte() else { return out };
    if head >> 5 != 5 {
        return out;
    }
    let Ok(n) = v.argument(head & 0x1f, 0) else {
        return out;
    };
    for _ in 0..n.min(64) {
        let key_at = v.pos;
        let Ok(key_head) = v.byte() else { break };
        if key_head >> 5 != 3 {
            break;
        }
        let Ok(len) = v.argument(key_head & 0x1f, key_at) else {
            break;
        };
        let key_start = v.pos;
        if v.take(len, key_at).is_err() {
            break;
        }
        let Ok(key) = std::str::from_utf8(&bytes[key_start..v.pos]) else {
            break;
        };
        let start = v.pos;
        let Ok(value_len) = validate_item(&bytes[start..]) else {
            break;
        };
        v.pos += value_len;
        out.push((key, &bytes[start..v.pos]));
    }
    out
}

/// The encoded items of an array that [`validate_exact`] accepted, in order, borrowed. Labels
/// keep each element's own bytes, since a signature covers exactly those bytes.
pub fn array_items(bytes: &[u8]) -> Result<Vec<&[u8]>, CborError> {
    let mut v = Validator::new(bytes);
    let head = v.byte()?;
    if head >> 5 != 4 {
        return v.err(0, "not an array");
    }
    let n = v.argument(head & 0x1f, 0)?;
    // Each element takes at least one byte, so the count is bounded by the input's length.
    if n > (bytes.len() - v.pos) as u64 {
        return v.err(0, "array length runs past the end of input");
    }
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let start = v.pos;
        v.pos += validate_item(&bytes[start..]).map_err(|e| CborError {
            at: start + e.at,
            reason: e.reason,
        })?;
        out.push(&bytes[start..v.pos]);
    }
    Ok(out)
}

/// The canonical encoding of a map without its entry `key` (the map's bytes unchanged when it
/// has no such entry), for a map [`validate_exact`] accepted. Taking an entry out of a
/// canonical map leaves the other entries in canonical order, so only the head changes: this is
/// how a signature over "the object without `sig`" is checked on the very bytes that were sent,
/// with no re-encoding that could differ from the signer's.
pub fn map_without_key(bytes: &[u8], key: &str) -> Result<Vec<u8>, CborError> {
    let mut v = Validator::new(bytes);
    let head = v.byte()?;
    if head >> 5 != 5 {
        return v.err(0, "not a map");
    }
    let n = v.argument(head & 0x1f, 0)?;
    let entries_start = v.pos;
    let mut found: Option<(usize, usize)> = None;
    for _ in 0..n {
        let entry_start = v.pos;
        let key_head = v.byte()?;
        if key_head >> 5 != 3 {
            return v.err(entry_start, "map key is not a text string");
        }
        let len = v.argument(key_head & 0x1f, entry_start)?;
        let this_key = v.take(len, entry_start)?;
        let is_it = this_key == key.as_bytes();
        let value_start = v.pos;
        v.pos += validate_item(&bytes[value_start..]).map_err(|e| CborError {
            at: value_start + e.at,
            reason: e.reason,
        })?;
        if is_it {
            found = Some((entry_start, v.pos));
        }
    }
    let Some((cut_start, cut_end)) = found else {
        return Ok(bytes[..v.pos].to_vec());
    };
    let mut out = Vec::with_capacity(v.pos);
    write_head(&mut out, 5, n - 1);
    out.extend_from_slice(&bytes[entries_start..cut_start]);
    out.extend_from_slice(&bytes[cut_end..v.pos]);
    Ok(out)
}

/// An item head in its shortest form.
fn write_head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend((n as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend(n.to_be_bytes());
        }
    }
}

/// Most atproto text is ASCII (keys always are); checking that first skips the general decoder.
fn is_utf8(bytes: &[u8]) -> bool {
    bytes.is_ascii() || std::str::from_utf8(bytes).is_ok()
}

/// Like [`validate_exact`], and also refuses a NUL character in any text string or map key: a
/// record is stored as text and jsonb, which cannot hold NUL, and its lex-JSON rendering refuses
/// it, so a record carrying one (even in a field we do not read) cannot be kept as sent.
pub fn validate_record(bytes: &[u8]) -> Result<(), CborError> {
    let mut v = Validator::new(bytes);
    v.item(0)?;
    if v.pos != bytes.len() {
        return v.err(v.pos, "trailing bytes after the item");
    }
    match v.nul_at {
        Some(at) => v.err(at, "text contains a NUL character"),
        None => Ok(()),
    }
}

struct Validator<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Where the first text string (or map key) holding a NUL character starts, if any.
    nul_at: Option<usize>,
}

impl<'a> Validator<'a> {
    fn new(bytes: &'a [u8]) -> Validator<'a> {
        Validator {
            bytes,
            pos: 0,
            nul_at: None,
        }
    }

    fn note_nul(&mut self, has_nul: bool, at: usize) {
        if has_nul && self.nul_at.is_none() {
            self.nul_at = Some(at);
        }
    }
    fn err<T>(&self, at: usize, reason: &'static str) -> Result<T, CborError> {
        Err(CborError { at, reason })
    }

    fn byte(&mut self) -> Result<u8, CborError> {
        match self.bytes.get(self.pos) {
            Some(b) => {
                self.pos += 1;
                Ok(*b)
            }
            None => self.err(self.pos, "unexpected end of input"),
        }
    }

    /// Takes `n` bytes, checking first that they are there, so a length that claims gigabytes
    /// fails here instead of at an allocation.
    fn take(&mut self, n: u64, at: usize) -> Result<&[u8], CborError> {
        let left = (self.bytes.len() - self.pos) as u64;
        if n > left {
            return self.err(at, "length runs past the end of input");
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.bytes[start..self.pos])
    }

    /// Reads the argument of an item head, insisting on the shortest form.
    fn argument(&mut self, info: u8, at: usize) -> Result<u64, CborError> {
        let (value, min) = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => (u64::from(self.byte()?), 24),
            25 => {
                let b = self.take(2, at)?;
                (u64::from(u16::from_be_bytes([b[0], b[1]])), 0x100)
            }
            26 => {
                let b = self.take(4, at)?;
                (
                    u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
                    0x1_0000,
                )
            }
            27 => {
                let b = self.take(8, at)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                (u64::from_be_bytes(a), 0x1_0000_0000)
            }
            28..=30 => return self.err(at, "reserved additional information"),
            _ => return self.err(at, "indefinite length is not allowed"),
        };
        if value < min {
            return self.err(at, "integer or length not in its shortest form");
        }
        Ok(value)
    }

    fn item(&mut self, depth: usize) -> Result<(), CborError> {
        if depth > MAX_CBOR_DEPTH {
            return self.err(self.pos, "nested too deeply");
        }
        let at = self.pos;
        let head = self.byte()?;
        let major = head >> 5;
        let info = head & 0x1f;
        match major {
            0 => self.argument(info, at).map(drop),
            1 => {
                // Negative integers beyond i64 have no place in the atproto data model.
                if self.argument(info, at)? > i64::MAX as u64 {
                    return self.err(at, "negative integer out of range");
                }
                Ok(())
            }
            2 => {
                let n = self.argument(info, at)?;
                self.take(n, at).map(drop)
            }
            3 => {
                let n = self.argument(info, at)?;
                let s = self.take(n, at)?;
                if !is_utf8(s) {
                    return self.err(at, "text is not valid UTF-8");
                }
                let has_nul = s.contains(&0);
                self.note_nul(has_nul, at);
                Ok(())
            }
            4 => {
                let n = self.argument(info, at)?;
                // Each element takes at least one byte: a count above what is left is a lie.
                if n > (self.bytes.len() - self.pos) as u64 {
                    return self.err(at, "array length runs past the end of input");
                }
                for _ in 0..n {
                    self.item(depth + 1)?;
                }
                Ok(())
            }
            5 => self.map(info, at, depth),
            6 => {
                if self.argument(info, at)? != 42 {
                    return self.err(at, "tag other than 42 (CID)");
                }
                let cid_at = self.pos;
                let head = self.byte()?;
                if head >> 5 != 2 {
                    return self.err(cid_at, "CID tag must wrap a byte string");
                }
                let n = self.argument(head & 0x1f, cid_at)?;
                let b = self.take(n, cid_at)?;
                let Some((&0, cid)) = b.split_first() else {
                    return self.err(
                        cid_at,
                        "CID bytes must start with the identity multibase 0x00",
                    );
                };
                // The link itself must be a whole CID of atproto's profile (v1, dag-cbor or
                // raw, sha-256), with nothing after it.
                match super::cid::read_cid(cid) {
                    Ok((_, n)) if n == cid.len() => Ok(()),
                    Ok(_) => self.err(cid_at, "trailing bytes after the CID"),
                    Err(_) => self.err(cid_at, "CID is malformed or not v1/dag-cbor|raw/sha-256"),
                }
            }
            _ => self.simple(info, at),
        }
    }

    fn map(&mut self, info: u8, at: usize, depth: usize) -> Result<(), CborError> {
        let n = self.argument(info, at)?;
        if n > (self.bytes.len() - self.pos) as u64 / 2 {
            return self.err(at, "map length runs past the end of input");
        }
        let mut prev: Option<&[u8]> = None;
        for _ in 0..n {
            let key_at = self.pos;
            let head = self.byte()?;
            if head >> 5 != 3 {
                return self.err(key_at, "map key is not a text string");
            }
            let len = self.argument(head & 0x1f, key_at)?;
            let start = self.pos;
            self.take(len, key_at)?;
            let key = &self.bytes[start..self.pos];
            if !is_utf8(key) {
                return self.err(key_at, "map key is not valid UTF-8");
            }
            self.note_nul(key.contains(&0), key_at);
            if let Some(p) = prev {
                // DAG-CBOR's order: shorter keys first, then bytewise.
                match (p.len(), p).cmp(&(key.len(), key)) {
                    std::cmp::Ordering::Less => {}
                    std::cmp::Ordering::Equal => return self.err(key_at, "duplicate map key"),
                    std::cmp::Ordering::Greater => {
                        return self.err(key_at, "map keys not in canonical order")
                    }
                }
            }
            prev = Some(key);
            self.item(depth + 1)?;
        }
        Ok(())
    }

    fn simple(&mut self, info: u8, at: usize) -> Result<(), CborError> {
        match info {
            20..=22 => Ok(()),
            27 => {
                let b = self.take(8, at)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                if !f64::from_be_bytes(a).is_finite() {
                    return self.err(at, "NaN and infinite floats are not allowed");
                }
                Ok(())
            }
            25 | 26 => self.err(at, "floats must be 64-bit"),
            31 => self.err(at, "unexpected break"),
            _ => self.err(at, "simple value other than false, true, null"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_items_split_an_array() {
        // [1, "ab", {"a": 2}]
        let bytes = [0x83, 0x01, 0x62, b'a', b'b', 0xa1, 0x61, b'a', 0x02];
        validate_exact(&bytes).expect("canonical");
        let items = array_items(&bytes).expect("array");
        assert_eq!(
            items,
            [&[0x01][..], &[0x62, b'a', b'b'], &[0xa1, 0x61, b'a', 0x02]]
        );
        assert!(array_items(&[0xa0]).is_err());
        assert!(array_items(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn map_without_key_keeps_the_other_entries_as_sent() {
        // {"a": 1, "b": 2, "sig": h'00'}
        let bytes = [
            0xa3, 0x61, b'a', 0x01, 0x61, b'b', 0x02, 0x63, b's', b'i', b'g', 0x41, 0x00,
        ];
        validate_exact(&bytes).expect("canonical");
        let cut = map_without_key(&bytes, "sig").expect("map");
        assert_eq!(cut, [0xa2, 0x61, b'a', 0x01, 0x61, b'b', 0x02]);
        validate_exact(&cut).expect("still canonical");
        assert_eq!(map_without_key(&bytes, "zz").expect("map"), bytes);
        assert_eq!(
            map_without_key(&bytes, "a").expect("map"),
            [0xa2, 0x61, b'b', 0x02, 0x63, b's', b'i', b'g', 0x41, 0x00]
        );
        assert!(map_without_key(&[0x80], "a").is_err());
    }

    #[test]
    fn a_map_of_24_entries_shrinks_its_head() {
        let mut bytes = vec![0xb8, 24];
        for i in 0..24u8 {
            bytes.extend([0x62, b'k', b'a' + i, 0x00]);
        }
        validate_exact(&bytes).expect("canonical");
        let cut = map_without_key(&bytes, "ka").expect("map");
        assert_eq!(cut[0], 0xb7);
        assert_eq!(cut.len(), bytes.len() - 5);
        validate_exact(&cut).expect("still canonical");
    }
}
