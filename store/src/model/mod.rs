//! The domain model: one normalized span, whatever convention it arrived in.
//!
//! The collector fills these from OTLP; the store persists them; the query side reads them.
//! Normalized fields are an index over the evidence, never a replacement: every span keeps
//! its raw resource, scope and span attributes, events and links verbatim in [`RawSpan`].

mod attr;
mod hex_serde;
mod llm;
mod scores;
mod span;
mod versions;

pub use attr::{AttrValue, KeyValue};
pub use hex_serde::{hex_bytes, hex_opt};
pub use llm::*;
pub use scores::{span_score_key, EvaluatorVersion, Score, ScoreTargetKind};
pub use span::*;
pub use versions::VersionDimension;

/// Trace id: 16 bytes, shown as 32 lowercase hex digits.
pub type TraceId = [u8; 16];
/// Span id: 8 bytes, shown as 16 lowercase hex digits.
pub type SpanId = [u8; 8];
