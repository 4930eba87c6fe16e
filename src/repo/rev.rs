//! A rev is a TID: 64 bits (top bit zero, 53 bits of microseconds since the Unix epoch, 10
//! bits of clock id) in base32-sortable. Its timestamp lets a consumer refuse revs from the
//! future, which the repository spec asks for beyond a fudge factor.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How far ahead of our clock a rev may be: clocks drift, a PDS's a little more.
pub const FUTURE_REV_TOLERANCE: Duration = Duration::from_secs(5 * 60);

const ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";

/// The microseconds since the epoch a TID carries, or `None` if it is not a TID.
pub fn tid_timestamp_micros(tid: &str) -> Option<u64> {
    crate::syntax::tid(tid).ok()?;
    let mut value: u64 = 0;
    for &c in tid.as_bytes() {
        let digit = ALPHABET.iter().position(|&a| a == c)? as u64;
        value = (value << 5) | digit;
    }
    Some((value >> 10) & ((1 << 53) - 1))
}

/// How many seconds `rev` is ahead of `now` beyond the tolerance, if it is.
pub fn seconds_in_future(rev: &str, now: SystemTime) -> Option<i64> {
    let micros = tid_timestamp_micros(rev)?;
    let now_micros = now.duration_since(UNIX_EPOCH).ok()?.as_micros() as u64;
    let limit = now_micros.saturating_add(FUTURE_REV_TOLERANCE.as_micros() as u64);
    if micros > limit {
        Some(((micros - now_micros) / 1_000_000) as i64)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(tid_timestamp_micros("2222222222222"), Some(0));
        // 3lmxjza3nva27: a real rev of 2025-04-16T21:30:26Z.
        let t = tid_timestamp_micros("3lmxjza3nva27").unwrap();
        let secs = t / 1_000_000;
        assert!((1_744_839_000..1_744_840_000).contains(&secs), "{secs}");
        assert_eq!(tid_timestamp_micros("not-a-tid"), None);
    }

    #[test]
    fn future() {
        let now = UNIX_EPOCH + Duration::from_secs(1_744_839_000);
        assert_eq!(seconds_in_future("3lmxjza3nva27", now), None);
        let earlier = UNIX_EPOCH + Duration::from_secs(1_744_830_000);
        assert!(seconds_in_future("3lmxjza3nva27", earlier).is_some_and(|s| s > 7_000));
    }
}
