//! Key material: generation, the stored hash, and constant-time comparison.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::error::KeysFileError;

/// Prefix of every key, so a leaked one is recognisable (and greppable by secret scanners).
pub const KEY_PREFIX: &str = "th_";

/// Random bytes in a key.
const KEY_BYTES: usize = 32;

/// A key as shown once to its owner. Deliberately not `Debug`, so it cannot reach a log.
pub struct NewKey {
    /// The key: `th_` and 32 random bytes in base64url.
    pub secret: String,
    /// Its hash, as stored.
    pub hash: KeyHash,
}

/// The stored form of a key.
///
/// A plain BLAKE3 hash, not a slow password hash: keys are 256 random bits, so there is no
/// dictionary to try and a fast hash loses nothing, while every request can afford it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyHash(pub [u8; 32]);

impl KeyHash {
    /// The hash of a presented key.
    pub fn of(secret: &str) -> KeyHash {
        KeyHash(*blake3::hash(secret.as_bytes()).as_bytes())
    }

    /// Lower-case hex, as in the keys file.
    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }

    /// Reads the keys file's hex form.
    pub fn from_hex(text: &str) -> Option<KeyHash> {
        let bytes = hex::decode(text).ok()?;
        bytes.try_into().ok().map(KeyHash)
    }

    /// Equality whose time does not depend on where the hashes differ.
    pub fn ct_eq(&self, other: &KeyHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// Draws a new key.
pub fn generate() -> Result<NewKey, KeysFileError> {
    let mut bytes = [0u8; KEY_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| KeysFileError::Random(e.to_string()))?;
    let secret = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = KeyHash::of(&secret);
    Ok(NewKey { secret, hash })
}

/// A short random id naming a key in listings and the audit trail (`key_` and 12 hex digits).
pub fn new_key_id() -> Result<String, KeysFileError> {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).map_err(|e| KeysFileError::Random(e.to_string()))?;
    Ok(format!("key_{}", hex::encode(bytes)))
}

/// The key of an `authorization` header value: `Bearer <key>`, scheme in any case.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_prefixed_and_distinct() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert!(a.secret.starts_with(KEY_PREFIX));
        assert_eq!(a.secret.len(), KEY_PREFIX.len() + 43);
        assert_ne!(a.secret, b.secret);
    }

    #[test]
    fn a_key_matches_its_hash_and_no_other() {
        let key = generate().unwrap();
        assert!(KeyHash::of(&key.secret).ct_eq(&key.hash));
        assert!(!KeyHash::of("th_other").ct_eq(&key.hash));
    }

    #[test]
    fn hash_hex_round_trips() {
        let hash = KeyHash::of("th_x");
        assert!(KeyHash::from_hex(&hash.to_hex()).is_some_and(|h| h.ct_eq(&hash)));
        assert!(KeyHash::from_hex("abcd").is_none());
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("Bearer th_abc"), Some("th_abc"));
        assert_eq!(bearer_token("bearer  th_abc "), Some("th_abc"));
        assert_eq!(bearer_token("Basic dXNlcg=="), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
