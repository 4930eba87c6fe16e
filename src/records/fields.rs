//! Reading a record's fields from its decoded DAG-CBOR map, each with a check of its lexicon type
//! and an error that names the field.
//!
//! The six hot record kinds (posts, likes, reposts, follows, blocks, profiles) decode straight
//! into serde structs; the rarer kinds typed here go through an `Ipld` map instead, because a
//! wrong type is then reported as `field name: expected a string, found an integer` rather than
//! as serde's message with no field in it, and because absent, empty and null stay distinct
//! (a threadgate's `allow` absent means anyone may reply, empty means nobody).
//!
//! A field the lexicon types is refused when present with another type, `null` included: the
//! lexicons here declare no field nullable, and the reference validator refuses `null` for them.
//! Fields a lexicon does not declare are left alone, as lexicons are open to new fields.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ipld_core::ipld::Ipld;

use super::common::{check_no_nul, check_text, Blob};
use super::{check_type, from_cbor, RecordError};
use crate::syntax;

pub(super) type Map = BTreeMap<String, Ipld>;

/// A record's top-level map, once its `$type` names `collection`.
pub(super) fn record(collection: &'static str, bytes: &[u8]) -> Result<Map, RecordError> {
    let map: Map = from_cbor(collection, bytes)?;
    check_type(union_type(&map), collection)?;
    Ok(map)
}

/// The `$type` of an object, if it has a string one.
pub(super) fn union_type(map: &Map) -> Option<&str> {
    match map.get("$type") {
        Some(Ipld::String(s)) => Some(s),
        _ => None,
    }
}

fn kind(value: &Ipld) -> &'static str {
    match value {
        Ipld::Null => "null",
        Ipld::Bool(_) => "a boolean",
        Ipld::Integer(_) => "an integer",
        Ipld::Float(_) => "a float",
        Ipld::String(_) => "a string",
        Ipld::Bytes(_) => "bytes",
        Ipld::List(_) => "an array",
        Ipld::Map(_) => "an object",
        Ipld::Link(_) => "a CID link",
    }
}

fn wrong(field: &'static str, expected: &str, found: &Ipld) -> RecordError {
    RecordError::field(field, format!("expected {expected}, found {}", kind(found)))
}

pub(super) fn missing(field: &'static str) -> RecordError {
    RecordError::field(field, "required but missing")
}

pub(super) fn as_str<'a>(field: &'static str, value: &'a Ipld) -> Result<&'a str, RecordError> {
    match value {
        Ipld::String(s) => Ok(s),
        other => Err(wrong(field, "a string", other)),
    }
}

pub(super) fn as_object<'a>(field: &'static str, value: &'a Ipld) -> Result<&'a Map, RecordError> {
    match value {
        Ipld::Map(m) => Ok(m),
        other => Err(wrong(field, "an object", other)),
    }
}

pub(super) fn opt_str<'a>(m: &'a Map, field: &'static str) -> Result<Option<&'a str>, RecordError> {
    m.get(field).map(|v| as_str(field, v)).transpose()
}

pub(super) fn req_str<'a>(m: &'a Map, field: &'static str) -> Result<&'a str, RecordError> {
    opt_str(m, field)?.ok_or_else(|| missing(field))
}

pub(super) fn opt_bool(m: &Map, field: &'static str) -> Result<Option<bool>, RecordError> {
    match m.get(field) {
        None => Ok(None),
        Some(Ipld::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(wrong(field, "a boolean", other)),
    }
}

pub(super) fn opt_int(m: &Map, field: &'static str) -> Result<Option<i64>, RecordError> {
    match m.get(field) {
        None => Ok(None),
        Some(Ipld::Integer(i)) => i64::try_from(*i)
            .map(Some)
            .map_err(|_| RecordError::field(field, "integer out of the 64-bit range")),
        Some(other) => Err(wrong(field, "an integer", other)),
    }
}

pub(super) fn opt_object<'a>(
    m: &'a Map,
    field: &'static str,
) -> Result<Option<&'a Map>, RecordError> {
    m.get(field).map(|v| as_object(field, v)).transpose()
}

pub(super) fn req_object<'a>(m: &'a Map, field: &'static str) -> Result<&'a Map, RecordError> {
    opt_object(m, field)?.ok_or_else(|| missing(field))
}

/// An optional array of at most `max_len` items (a lexicon array's `maxLength` counts items).
pub(super) fn opt_array<'a>(
    m: &'a Map,
    field: &'static str,
    max_len: usize,
) -> Result<Option<&'a [Ipld]>, RecordError> {
    match m.get(field) {
        None => Ok(None),
        Some(Ipld::List(items)) if items.len() > max_len => Err(RecordError::field(
            field,
            format!("{} items, over the limit of {max_len}", items.len()),
        )),
        Some(Ipld::List(items)) => Ok(Some(items)),
        Some(other) => Err(wrong(field, "an array", other)),
    }
}

/// An optional array of strings, each checked by `check`.
pub(super) fn opt_strings(
    m: &Map,
    field: &'static str,
    max_len: usize,
    check: impl Fn(&str) -> Result<(), RecordError>,
) -> Result<Option<Vec<String>>, RecordError> {
    let Some(items) = opt_array(m, field, max_len)? else {
        return Ok(None);
    };
    items
        .iter()
        .map(|v| {
            let s = as_str(field, v)?;
            check(s)?;
            Ok(s.to_owned())
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Any array length: the lexicon sets no `maxLength` (the record's size bounds it).
pub(super) const UNBOUNDED: usize = usize::MAX;

/// No grapheme limit beyond the byte limit (a string has no more graphemes than bytes).
pub(super) const NO_GRAPHEME_LIMIT: usize = usize::MAX;

/// An optional string with the lexicon's `maxLength` (bytes) and `maxGraphemes`.
pub(super) fn opt_text(
    m: &Map,
    field: &'static str,
    max_bytes: usize,
    max_graphemes: usize,
) -> Result<Option<String>, RecordError> {
    let Some(s) = opt_str(m, field)? else {
        return Ok(None);
    };
    check_text(field, s, max_bytes, max_graphemes)?;
    Ok(Some(s.to_owned()))
}

/// A required string with the lexicon's `minLength` (bytes), `maxLength` and `maxGraphemes`.
pub(super) fn req_text(
    m: &Map,
    field: &'static str,
    min_bytes: usize,
    max_bytes: usize,
    max_graphemes: usize,
) -> Result<String, RecordError> {
    let s = opt_text(m, field, max_bytes, max_graphemes)?.ok_or_else(|| missing(field))?;
    if s.len() < min_bytes {
        return Err(RecordError::field(
            field,
            format!("{} bytes, under the minimum of {min_bytes}", s.len()),
        ));
    }
    Ok(s)
}

/// A string the lexicon leaves open (`knownValues` are a hint, not a closed set): any value is
/// kept as sent, except NUL, which no stored text may hold.
pub(super) fn open_value(field: &'static str, s: &str) -> Result<String, RecordError> {
    check_no_nul(field, s)?;
    Ok(s.to_owned())
}

pub(super) fn check_at_uri(field: &'static str, s: &str) -> Result<(), RecordError> {
    syntax::at_uri(s).map_err(|e| RecordError::field(field, e))
}

pub(super) fn check_did(field: &'static str, s: &str) -> Result<(), RecordError> {
    syntax::did(s).map_err(|e| RecordError::field(field, e))
}

pub(super) fn req_at_uri(m: &Map, field: &'static str) -> Result<String, RecordError> {
    let s = req_str(m, field)?;
    check_at_uri(field, s)?;
    Ok(s.to_owned())
}

pub(super) fn req_did(m: &Map, field: &'static str) -> Result<String, RecordError> {
    let s = req_str(m, field)?;
    check_did(field, s)?;
    Ok(s.to_owned())
}

/// The required `createdAt` datetime.
pub(super) fn created_at(m: &Map) -> Result<DateTime<Utc>, RecordError> {
    super::common::created_at(req_str(m, "createdAt")?)
}

/// A URI of the lexicon `uri` format, as the reference checks it (`@atproto/syntax` `isValidUri`):
/// a scheme of word characters, a colon, an optional `//`, then at least one character that is
/// neither whitespace nor `/`, and no whitespace anywhere. RFC 3986 in full is not required.
pub(super) fn check_uri(field: &'static str, s: &str) -> Result<(), RecordError> {
    let bad = |reason: &str| Err(RecordError::field(field, format!("invalid uri: {reason}")));
    let Some((scheme, rest)) = s.split_once(':') else {
        return bad("no scheme");
    };
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_')
    {
        return bad("scheme must be letters, digits or '_'");
    }
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    if rest.is_empty() || rest.starts_with('/') {
        return bad("nothing after the scheme");
    }
    if s.chars().any(char::is_whitespace) {
        return bad("contains whitespace");
    }
    Ok(())
}

/// A blob: `{$type: "blob", ref: <link>, mimeType, size}`, or the legacy `{cid, mimeType}`.
///
/// The lexicon's `accept` and `maxSize` are not checked, and legacy blobs are kept: so does the
/// reference AppView we compare with (`@atproto/bsky` 0.0.221, whose `@atproto/lexicon` checks
/// only that a blob is a blob ref, legacy ones included); they bind the PDS when the blob is
/// uploaded. (The AppView's later `@atproto/lex` validator checks both in its default strict
/// mode, and refuses legacy blobs.)
pub(super) fn opt_blob(m: &Map, field: &'static str) -> Result<Option<Blob>, RecordError> {
    let Some(value) = m.get(field) else {
        return Ok(None);
    };
    let b = as_object(field, value)?;
    let mime_type = match b.get("mimeType") {
        Some(v) => as_str(field, v)?.to_owned(),
        None => return Err(RecordError::field(field, "blob without mimeType")),
    };
    check_no_nul(field, &mime_type)?;
    if let Some(kind) = b.get("$type") {
        if as_str(field, kind)? != "blob" {
            return Err(RecordError::field(
                field,
                "$type of a blob must be \"blob\"",
            ));
        }
        let link = match b.get("ref") {
            Some(Ipld::Link(cid)) => *cid,
            Some(other) => return Err(wrong(field, "a CID link as ref", other)),
            None => return Err(RecordError::field(field, "blob without ref")),
        };
        let size = match b.get("size") {
            Some(Ipld::Integer(i)) => i64::try_from(*i)
                .ok()
                .filter(|s| *s >= 0)
                .ok_or_else(|| RecordError::field(field, "blob size out of range"))?,
            Some(other) => return Err(wrong(field, "an integer size", other)),
            None => return Err(RecordError::field(field, "blob without size")),
        };
        return Ok(Some(Blob {
            link: Some(link),
            cid: None,
            mime_type: Some(mime_type),
            size: Some(size),
        }));
    }
    let cid = match b.get("cid") {
        Some(v) => as_str(field, v)?,
        None => return Err(RecordError::field(field, "blob without $type or cid")),
    };
    syntax::cid(cid).map_err(|e| RecordError::field(field, e))?;
    Ok(Some(Blob {
        link: None,
        cid: Some(cid.to_owned()),
        mime_type: Some(mime_type),
        size: None,
    }))
}

const MAX_SELF_LABELS: usize = 10;
const MAX_SELF_LABEL_BYTES: usize = 128;

/// Self-label values from a `labels` union whose only member is `com.atproto.label.defs#selfLabels`
/// (at most 10 values, each at most 128 bytes). The union is open, so a member of another `$type`
/// is no error: it carries no self-labels we know.
pub(super) fn self_labels(m: &Map) -> Result<Vec<String>, RecordError> {
    let Some(labels) = opt_object(m, "labels")? else {
        return Ok(Vec::new());
    };
    match union_type(labels) {
        Some("com.atproto.label.defs#selfLabels") => {}
        Some(_) => return Ok(Vec::new()),
        None => return Err(RecordError::field("labels", "union member without $type")),
    }
    let values = opt_array(labels, "values", MAX_SELF_LABELS)
        .map_err(|e| within("labels", None, e))?
        .ok_or_else(|| RecordError::field("labels", "selfLabels without values"))?;
    values
        .iter()
        .map(|v| {
            let val = req_str(as_object("labels", v)?, "val")
                .map_err(|_| RecordError::field("labels", "selfLabel without a string val"))?;
            check_text("labels", val, MAX_SELF_LABEL_BYTES, NO_GRAPHEME_LIMIT)?;
            Ok(val.to_owned())
        })
        .collect()
}

/// An error in a field of a nested object, reported under the outer field (field names are
/// static, a path such as `policies.labelValueDefinitions[2].locales[0].name` is not), with the
/// item's position and the inner field in the reason.
pub(super) fn within(outer: &'static str, at: Option<usize>, e: RecordError) -> RecordError {
    let RecordError::Field { field, reason } = e else {
        return e;
    };
    let mut place = at.map(|i| format!("item {i}: ")).unwrap_or_default();
    if field != outer {
        place.push_str(field);
        place.push_str(": ");
    }
    RecordError::field(outer, format!("{place}{reason}"))
}
