//! Serde for ids as lowercase hex.

/// Serde for fixed-size byte arrays as lowercase hex.
pub mod hex_bytes {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    /// Writes the bytes as lowercase hex.
    pub fn serialize<S: Serializer, const N: usize>(v: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    /// Reads lowercase or uppercase hex of exactly N bytes.
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; N];
        hex::decode_to_slice(&text, &mut out).map_err(D::Error::custom)?;
        Ok(out)
    }
}

/// Serde for an optional 8-byte id as lowercase hex (`null` when absent).
pub mod hex_opt {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    /// Writes the id as hex, or null.
    pub fn serialize<S: Serializer>(v: &Option<[u8; 8]>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(id) => s.serialize_str(&hex::encode(id)),
            None => s.serialize_none(),
        }
    }

    /// Reads hex or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 8]>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        match text {
            None => Ok(None),
            Some(t) if t.is_empty() => Ok(None),
            Some(t) => {
                let mut out = [0u8; 8];
                hex::decode_to_slice(&t, &mut out).map_err(D::Error::custom)?;
                Ok(Some(out))
            }
        }
    }
}
