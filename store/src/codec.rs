//! Value encoding: JSON, LZ4-compressed, behind a one-byte format tag.
//!
//! JSON because the model evolves (`#[serde(default)]` keeps old records readable) and
//! because the untagged attribute values need a self-describing format; LZ4 because prompts
//! repeat themselves and the compressor must stay off the profile of the ack path.

use serde::{de::DeserializeOwned, Serialize};

use crate::error::{Result, StoreError};

const FORMAT_JSON_LZ4: u8 = 1;

/// Encodes a value for storage.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(value)?;
    let mut out = Vec::with_capacity(json.len() / 2 + 8);
    out.push(FORMAT_JSON_LZ4);
    out.extend_from_slice(&lz4_flex::compress_prepend_size(&json));
    Ok(out)
}

/// Decodes a stored value.
pub fn decode<T: DeserializeOwned>(keyspace: &'static str, bytes: &[u8]) -> Result<T> {
    let corrupt = |reason: String| StoreError::Corrupt { keyspace, reason };
    match bytes.split_first() {
        Some((&FORMAT_JSON_LZ4, rest)) => {
            let json = lz4_flex::decompress_size_prepended(rest).map_err(|e| corrupt(e.to_string()))?;
            serde_json::from_slice(&json).map_err(|e| corrupt(e.to_string()))
        }
        Some((tag, _)) => Err(corrupt(format!("unknown format tag {tag}"))),
        None => Err(corrupt("empty value".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_a_value() {
        let value = serde_json::json!({"prompt": "a".repeat(10_000), "n": 3});
        let bytes = encode(&value).unwrap();
        assert!(bytes.len() < 1_000, "repetitive text compresses");
        let back: serde_json::Value = decode("test", &bytes).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn rejects_an_unknown_format_tag() {
        let err = decode::<serde_json::Value>("test", &[9, 1, 2]).unwrap_err();
        assert!(err.to_string().contains("unknown format tag 9"));
    }
}
