//! Key layout. Every key starts with the tenant; every part is fixed-width.
//!
//! Attribute values (request ids, session ids, versions) never appear raw in a key: they
//! are hashed to 16 bytes, so a hostile value cannot shape the key space, and the record
//! found is checked against the value it was looked up by.
//!
//! | keyspace      | key                                             | value            |
//! |---------------|-------------------------------------------------|------------------|
//! | `spans`       | tenant · trace_id · span_id                     | `Span`           |
//! | `logs`        | tenant · trace_id · span_id · time · hash8      | `LogRecord`      |
//! | `traces`      | tenant · trace_id                               | `TraceSummary`   |
//! | `by_time`     | tenant · start_ns · trace_id                    | (empty)          |
//! | `by_request`  | tenant · h(request_id) · trace_id               | (empty)          |
//! | `by_session`  | tenant · h(session_id) · trace_id               | (empty)          |
//! | `by_response` | tenant · h(response_id) · trace_id · span_id    | (empty)          |
//! | `by_version`  | tenant · dim · h(value) · trace_id              | (empty)          |
//! | `sessions`    | tenant · h(session_id)                          | `SessionSummary` |
//! | `versions`    | tenant · dim · h(value)                         | `VersionStat`    |
//! | `meta`        | tenant · name                                   | counters         |

use crate::model::{SpanId, TraceId, VersionDimension};

/// A tenant's numeric id; part of every key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(pub u32);

impl TenantId {
    /// The tenant everything lands in until keys with tenants exist.
    pub const DEFAULT: TenantId = TenantId(0);
    /// Never a real tenant: holds store-wide records in the `meta` keyspace.
    pub const RESERVED: TenantId = TenantId(u32::MAX);

    fn bytes(self) -> [u8; 4] {
        self.0.to_be_bytes()
    }
}

/// 16-byte hash of an attribute value, for index keys.
pub fn value_hash(value: &str) -> [u8; 16] {
    let hash = blake3::hash(value.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&hash.as_bytes()[..16]);
    out
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    let len = parts.iter().map(|p| p.len()).sum();
    let mut key = Vec::with_capacity(len);
    for part in parts {
        key.extend_from_slice(part);
    }
    key
}

/// `spans` key of one span.
pub fn span(t: TenantId, trace: &TraceId, span: &SpanId) -> Vec<u8> {
    concat(&[&t.bytes(), trace, span])
}

/// Prefix of every span (or log) of a trace.
pub fn trace_prefix(t: TenantId, trace: &TraceId) -> Vec<u8> {
    concat(&[&t.bytes(), trace])
}

/// `logs` key of one log record.
pub fn log(t: TenantId, trace: &TraceId, span: &SpanId, time: u64, content_hash: [u8; 8]) -> Vec<u8> {
    concat(&[&t.bytes(), trace, span, &time.to_be_bytes(), &content_hash])
}

/// `traces` key.
pub fn trace(t: TenantId, trace: &TraceId) -> Vec<u8> {
    trace_prefix(t, trace)
}

/// `by_time` key: traces ordered by start time.
pub fn by_time(t: TenantId, start_ns: u64, trace: &TraceId) -> Vec<u8> {
    concat(&[&t.bytes(), &start_ns.to_be_bytes(), trace])
}

/// `by_time` bound for a time: every trace starting at or after `ns` sorts at or after it.
pub fn by_time_bound(t: TenantId, ns: u64) -> Vec<u8> {
    concat(&[&t.bytes(), &ns.to_be_bytes()])
}

/// Splits a `by_time` key into start time and trace id.
pub fn parse_by_time(key: &[u8]) -> Option<(u64, TraceId)> {
    if key.len() != 4 + 8 + 16 {
        return None;
    }
    let start = u64::from_be_bytes(key[4..12].try_into().ok()?);
    let trace = key[12..28].try_into().ok()?;
    Some((start, trace))
}

/// Index key `tenant · h(value) · trace_id` (request and session indexes).
pub fn by_value(t: TenantId, value: &str, trace: &TraceId) -> Vec<u8> {
    concat(&[&t.bytes(), &value_hash(value), trace])
}

/// Prefix of [`by_value`] keys for one value.
pub fn by_value_prefix(t: TenantId, value: &str) -> Vec<u8> {
    concat(&[&t.bytes(), &value_hash(value)])
}

/// The trace id at the end of a [`by_value`] key.
pub fn trace_of_by_value(key: &[u8]) -> Option<TraceId> {
    key.get(20..36)?.try_into().ok()
}

/// `by_response` key.
pub fn by_response(t: TenantId, response_id: &str, trace: &TraceId, span: &SpanId) -> Vec<u8> {
    concat(&[&t.bytes(), &value_hash(response_id), trace, span])
}

/// `sessions` key.
pub fn session(t: TenantId, session_id: &str) -> Vec<u8> {
    by_value_prefix(t, session_id)
}

/// `versions` key of one dimension value.
pub fn version(t: TenantId, dim: VersionDimension, value: &str) -> Vec<u8> {
    concat(&[&t.bytes(), &[dim.code()], &value_hash(value)])
}

/// Prefix of every `versions` key of a tenant.
pub fn tenant_prefix(t: TenantId) -> Vec<u8> {
    t.bytes().to_vec()
}

/// `by_version` key.
pub fn by_version(t: TenantId, dim: VersionDimension, value: &str, trace: &TraceId) -> Vec<u8> {
    concat(&[&t.bytes(), &[dim.code()], &value_hash(value), trace])
}

/// Prefix of `by_version` keys for one dimension value.
pub fn by_version_prefix(t: TenantId, dim: VersionDimension, value: &str) -> Vec<u8> {
    version(t, dim, value)
}

/// `meta` key.
pub fn meta(t: TenantId, name: &str) -> Vec<u8> {
    concat(&[&t.bytes(), name.as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_keys_sort_by_time_then_trace() {
        let a = by_time(TenantId::DEFAULT, 5, &[9; 16]);
        let b = by_time(TenantId::DEFAULT, 256, &[0; 16]);
        assert!(a < b);
    }

    #[test]
    fn tenants_never_share_a_prefix() {
        let a = span(TenantId(1), &[0; 16], &[0; 8]);
        let b = span(TenantId(2), &[0; 16], &[0; 8]);
        assert!(!b.starts_with(&trace_prefix(TenantId(1), &[0; 16])));
        assert_ne!(a, b);
    }

    #[test]
    fn by_time_key_parses_back() {
        let key = by_time(TenantId(7), 123_456, &[3; 16]);
        assert_eq!(parse_by_time(&key), Some((123_456, [3; 16])));
    }

    #[test]
    fn raw_values_do_not_appear_in_keys() {
        let key = by_value(TenantId::DEFAULT, "req_secret_123", &[1; 16]);
        assert!(!key.windows(6).any(|w| w == b"secret"));
        assert_eq!(trace_of_by_value(&key), Some([1; 16]));
    }
}
