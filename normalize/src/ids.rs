//! Trace and span id validation: the only checks that reject an item. Everything else about a
//! span is evidence and is kept, however odd.

use tracehound_store::model::{SpanId, TraceId};

/// Why an id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id has the wrong length.
    #[error("{field} must be {expected} bytes, got {got}")]
    Length {
        /// Which id.
        field: &'static str,
        /// Required length.
        expected: usize,
        /// Length sent.
        got: usize,
    },
    /// An optional id is neither empty nor of the right length.
    #[error("{field} must be empty or {expected} bytes, got {got}")]
    OptionalLength {
        /// Which id.
        field: &'static str,
        /// Required length when present.
        expected: usize,
        /// Length sent.
        got: usize,
    },
    /// The id is all zero bytes, which OTLP defines as invalid.
    #[error("{field} must not be all zero")]
    AllZero {
        /// Which id.
        field: &'static str,
    },
}

/// The validated ids of a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanIds {
    /// Trace id.
    pub trace_id: TraceId,
    /// Span id.
    pub span_id: SpanId,
    /// Parent span id; `None` for a root (empty or all-zero parent).
    pub parent_span_id: Option<SpanId>,
}

/// Validates a span's ids: trace and span id required and non-zero, parent empty or 8 bytes.
pub fn span_ids(trace_id: &[u8], span_id: &[u8], parent_span_id: &[u8]) -> Result<SpanIds, IdError> {
    let trace_id = required::<16>("trace_id", trace_id)?;
    let span_id = required::<8>("span_id", span_id)?;
    let parent_span_id = optional::<8>("parent_span_id", parent_span_id)?;
    Ok(SpanIds { trace_id, span_id, parent_span_id })
}

/// Validates a log record's ids: each empty (→ zeros) or of the right length.
pub fn log_ids(trace_id: &[u8], span_id: &[u8]) -> Result<(TraceId, SpanId), IdError> {
    let trace_id = optional::<16>("trace_id", trace_id)?.unwrap_or_default();
    let span_id = optional::<8>("span_id", span_id)?.unwrap_or_default();
    Ok((trace_id, span_id))
}

fn required<const N: usize>(field: &'static str, bytes: &[u8]) -> Result<[u8; N], IdError> {
    let id: [u8; N] = bytes.try_into().map_err(|_| IdError::Length { field, expected: N, got: bytes.len() })?;
    if id.iter().all(|byte| *byte == 0) {
        return Err(IdError::AllZero { field });
    }
    Ok(id)
}

/// An all-zero optional id means "none", as an empty one does.
fn optional<const N: usize>(field: &'static str, bytes: &[u8]) -> Result<Option<[u8; N]>, IdError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let id: [u8; N] = bytes.try_into().map_err(|_| IdError::OptionalLength { field, expected: N, got: bytes.len() })?;
    Ok(id.iter().any(|byte| *byte != 0).then_some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_trace_id_is_refused_with_its_length() {
        let error = span_ids(&[1; 4], &[1; 8], &[]).unwrap_err();
        assert_eq!(error.to_string(), "trace_id must be 16 bytes, got 4");
    }

    #[test]
    fn all_zero_span_id_is_refused() {
        assert_eq!(span_ids(&[1; 16], &[0; 8], &[]), Err(IdError::AllZero { field: "span_id" }));
    }

    #[test]
    fn parent_of_wrong_length_is_refused() {
        let error = span_ids(&[1; 16], &[1; 8], &[1; 3]).unwrap_err();
        assert_eq!(error.to_string(), "parent_span_id must be empty or 8 bytes, got 3");
    }

    #[test]
    fn empty_or_zero_parent_means_root() {
        assert_eq!(span_ids(&[1; 16], &[1; 8], &[]).map(|ids| ids.parent_span_id), Ok(None));
        assert_eq!(span_ids(&[1; 16], &[1; 8], &[0; 8]).map(|ids| ids.parent_span_id), Ok(None));
        assert_eq!(span_ids(&[1; 16], &[1; 8], &[2; 8]).map(|ids| ids.parent_span_id), Ok(Some([2; 8])));
    }

    #[test]
    fn log_ids_may_be_empty_but_not_misshapen() {
        assert_eq!(log_ids(&[], &[]), Ok(([0; 16], [0; 8])));
        assert_eq!(log_ids(&[1; 16], &[]), Ok(([1; 16], [0; 8])));
        assert!(log_ids(&[1; 15], &[]).is_err());
        assert!(log_ids(&[], &[1; 9]).is_err());
    }
}
