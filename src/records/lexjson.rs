//! DAG-CBOR to atproto lex-JSON: links as `{"$link": cid}`, bytes as `{"$bytes": base64}`
//! (standard alphabet, no padding), blobs (maps with `$type: blob`) fall out of the link rule.

use base64::Engine;
use ipld_core::ipld::Ipld;
use serde_json::{Map, Value};

use super::RecordError;

/// Renders one DAG-CBOR value as lex-JSON. Refuses NUL in strings, which jsonb cannot hold.
pub fn from_dag_cbor(bytes: &[u8]) -> Result<Value, RecordError> {
    let ipld: Ipld =
        serde_ipld_dagcbor::from_slice(bytes).map_err(|e| RecordError::Cbor(e.to_string()))?;
    from_ipld(ipld)
}

pub fn from_ipld(ipld: Ipld) -> Result<Value, RecordError> {
    Ok(match ipld {
        Ipld::Null => Value::Null,
        Ipld::Bool(b) => Value::Bool(b),
        Ipld::Integer(i) => {
            if let Ok(v) = i64::try_from(i) {
                Value::from(v)
            } else if let Ok(v) = u64::try_from(i) {
                Value::from(v)
            } else {
                return Err(RecordError::Cbor(format!("integer {i} out of range")));
            }
        }
        Ipld::Float(f) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| RecordError::Cbor("float is not finite".into()))?,
        Ipld::String(s) => {
            if s.contains('\0') {
                return Err(RecordError::Cbor("string contains a NUL character".into()));
            }
            Value::String(s)
        }
        Ipld::Bytes(b) => {
            let mut m = Map::new();
            m.insert(
                "$bytes".into(),
                Value::String(base64::engine::general_purpose::STANDARD_NO_PAD.encode(b)),
            );
            Value::Object(m)
        }
        Ipld::List(items) => Value::Array(
            items
                .into_iter()
                .map(from_ipld)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Ipld::Map(entries) => {
            let mut m = Map::new();
            for (k, v) in entries {
                if k.contains('\0') {
                    return Err(RecordError::Cbor("map key contains a NUL character".into()));
                }
                m.insert(k, from_ipld(v)?);
            }
            Value::Object(m)
        }
        Ipld::Link(cid) => {
            let mut m = Map::new();
            m.insert("$link".into(), Value::String(cid.to_string()));
            Value::Object(m)
        }
    })
}
