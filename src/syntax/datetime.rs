//! Datetime syntax (<https://atproto.com/specs/lexicon#datetime>): the intersection of RFC 3339
//! and ISO 8601, `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, plus parsing to a UTC instant.
//!
//! Syntax and parsing are split as the interop vectors split them: `datetime_parse_invalid.txt`
//! lists strings such as month 13 or second 61 whose *shape* is fine but which name no instant.
//! `datetime` checks the shape only (fields are any two digits); `parse_datetime` also checks
//! the calendar and clock ranges.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use super::SyntaxError;

// Not in the spec: the reference implementations' bound, far above any real timestamp (the
// fixed part is at most 25 bytes), so a huge fraction can't make us scan megabytes.
const DATETIME_MAX_LEN: usize = 64;

/// `YYYY-MM-DDTHH:MM:SS`, the fixed-width head every datetime starts with.
const HEAD_LEN: usize = 19;

const SECS_PER_DAY: i32 = 24 * 60 * 60;

const fn fail(reason: &'static str) -> SyntaxError {
    SyntaxError::new("datetime", reason)
}

/// The fields of a syntactically valid datetime, not yet range-checked.
struct Fields {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    /// The first nine fraction digits; later ones are below chrono's resolution.
    nanos: u32,
    /// Offset east of UTC, in minutes (`Z` is 0).
    offset_minutes: i32,
    offset_hour: u32,
    offset_minute: u32,
}

/// Checks that `s` has the shape of an atproto datetime.
///
/// Besides the shape, two rules from the spec and vectors apply here: `-00:00` is refused
/// (RFC 3339 allows it to mean "unknown offset", ISO 8601 does not), and so is any datetime
/// that normalises to UTC outside years 0000–9999. The latter follows the newer
/// `atproto/interop-test-files` copy, whose `datetime_syntax_invalid.txt` lists
/// `0000-01-01T00:00:00+01:00`; the older `atproto-interop-tests` copy listed it under
/// `datetime_parse_invalid.txt` instead (rejected either way, only the stage differs).
pub fn datetime(s: &str) -> Result<(), SyntaxError> {
    fields(s).map(|_| ())
}

/// Checks `s` with [`datetime`], then parses it to a UTC instant, refusing dates that do not
/// exist (month 13, April 31, February 29 of a common year) and times out of range.
///
/// Leap seconds (`:60`) are refused too: the reference implementations (JavaScript `Date`, Go
/// `time.Parse`) reject them, so a record carrying one never validated upstream. Fraction
/// digits beyond nanoseconds are dropped, not rounded.
pub fn parse_datetime(s: &str) -> Result<DateTime<Utc>, SyntaxError> {
    let f = fields(s)?;
    // `fields` read at most four digits into each of these, so the casts can't overflow.
    let date = NaiveDate::from_ymd_opt(f.year as i32, f.month, f.day)
        .ok_or(fail("date does not exist (month or day out of range)"))?;
    // chrono takes second 60 only as 59 plus a second of nanos; nanos here are below a second,
    // so this refuses leap seconds along with minute 99 and the like.
    let time = NaiveTime::from_hms_nano_opt(f.hour, f.minute, f.second, f.nanos)
        .ok_or(fail("time of day out of range"))?;
    if f.offset_hour > 23 || f.offset_minute > 59 {
        return Err(fail("timezone offset out of range"));
    }
    let offset =
        FixedOffset::east_opt(f.offset_minutes * 60).ok_or(fail("timezone offset out of range"))?;
    let utc = NaiveDateTime::new(date, time)
        .checked_sub_offset(offset)
        .ok_or(fail("normalizes outside years 0000-9999"))?
        .and_utc();
    if !(0..=9999).contains(&utc.year()) {
        return Err(fail("normalizes outside years 0000-9999"));
    }
    Ok(utc)
}

fn fields(s: &str) -> Result<Fields, SyntaxError> {
    let b = s.as_bytes();
    if b.len() > DATETIME_MAX_LEN {
        return Err(fail("longer than 64 bytes"));
    }
    let Some(head) = b.get(..HEAD_LEN) else {
        return Err(fail("must start YYYY-MM-DDTHH:MM:SS"));
    };
    // Separators are matched byte for byte: 'T' must be uppercase, and lookalikes such as an
    // en dash are multi-byte, so they fail here rather than slipping through a char compare.
    let head_ok = head.iter().enumerate().all(|(i, &c)| match i {
        4 | 7 => c == b'-',
        10 => c == b'T',
        13 | 16 => c == b':',
        _ => c.is_ascii_digit(),
    });
    if !head_ok {
        return Err(fail("must start YYYY-MM-DDTHH:MM:SS"));
    }
    let num = |i: usize, n: usize| {
        head[i..i + n]
            .iter()
            .fold(0, |a, &c| a * 10 + u32::from(c - b'0'))
    };

    let mut i = HEAD_LEN;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return Err(fail("fraction needs at least one digit"));
        }
        for k in 0..9 {
            let d = if k < digits {
                u32::from(b[i + k] - b'0')
            } else {
                0
            };
            nanos = nanos * 10 + d;
        }
        i += digits;
    }

    let (offset_minutes, offset_hour, offset_minute) = match &b[i..] {
        b"Z" => (0, 0, 0),
        b"-00:00" => return Err(fail("\"-00:00\" is not allowed; use Z or +00:00")),
        &[sign @ (b'+' | b'-'), h1, h2, b':', m1, m2]
            if [h1, h2, m1, m2].iter().all(u8::is_ascii_digit) =>
        {
            let h = u32::from(h1 - b'0') * 10 + u32::from(h2 - b'0');
            let m = u32::from(m1 - b'0') * 10 + u32::from(m2 - b'0');
            // At most 99 * 60 + 99, so the cast can't overflow.
            let total = (h * 60 + m) as i32;
            (if sign == b'-' { -total } else { total }, h, m)
        }
        _ => return Err(fail("must end with Z or a ±HH:MM offset")),
    };

    let f = Fields {
        year: num(0, 4),
        month: num(5, 2),
        day: num(8, 2),
        hour: num(11, 2),
        minute: num(14, 2),
        second: num(17, 2),
        nanos,
        offset_minutes,
        offset_hour,
        offset_minute,
    };
    check_normalizes_in_range(&f)?;
    Ok(f)
}

/// Refuses datetimes that, moved to UTC, leave years 0000–9999: their canonical `Z` form would
/// need a sign or a fifth year digit, which is not the datetime format any more. Only the first
/// and last day of that span can cross it, because offsets are under a day.
fn check_normalizes_in_range(f: &Fields) -> Result<(), SyntaxError> {
    // The raw field values may be out of range here (that is for parse_datetime to judge); the
    // arithmetic stays small either way.
    let local_secs = ((f.hour * 60 + f.minute) * 60 + f.second) as i32;
    let offset_secs = f.offset_minutes * 60;
    if f.year == 0 && f.month == 1 && f.day == 1 && local_secs < offset_secs {
        return Err(fail("normalizes to a time before year 0000"));
    }
    if f.year == 9999 && f.month == 12 && f.day == 31 && local_secs - offset_secs >= SECS_PER_DAY {
        return Err(fail("normalizes to a time after year 9999"));
    }
    Ok(())
}
