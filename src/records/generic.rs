//! Any collection we do not type (third-party apps' records, whatever is new): kept whole as
//! lex-JSON, with its `createdAt` when it has a valid one.

use chrono::{DateTime, Utc};

use super::lexjson;
use super::RecordError;

#[derive(Debug, Clone, PartialEq)]
pub struct Generic {
    pub json: serde_json::Value,
    pub created_at: Option<DateTime<Utc>>,
}

pub(crate) fn decode(collection: &str, bytes: &[u8]) -> Result<Generic, RecordError> {
    let json = lexjson::from_dag_cbor(bytes)?;
    let kind = json.get("$type").and_then(|t| t.as_str());
    if kind != Some(collection) {
        return Err(RecordError::Type {
            found: kind.map(str::to_owned),
        });
    }
    // Not every lexicon has createdAt, and a bad one is no reason to drop a record we store whole.
    let created_at = json
        .get("createdAt")
        .and_then(|t| t.as_str())
        .and_then(|t| crate::syntax::parse_datetime(t).ok());
    Ok(Generic { json, created_at })
}
