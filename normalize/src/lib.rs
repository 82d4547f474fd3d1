//! Convention normalization: decoded OTLP export requests → the store's domain model.
//!
//! Spans and log records arrive in whichever LLM convention their instrumentation speaks
//! (OTel GenAI old and new, OpenInference, OpenLLMetry/Traceloop, Langfuse). Each is read
//! into one [`Span`](tracehound_store::model::Span) or
//! [`LogRecord`](tracehound_store::model::LogRecord) following the mapping in
//! `shared/reference/semconv.md` §7. Normalized fields are an index over the evidence: the
//! raw attributes, events and links are kept verbatim (only cut to the size cap).
//!
//! Redaction (`redact`) runs on the normalized items, before anything reaches the disk.
//!
//! Nothing here panics on input: ids are the only thing validated, and a bad id rejects that
//! one item while its siblings are kept.

mod attrs;
mod config;
mod identity;
mod ids;
mod kind;
mod limits;
mod llm;
mod logs;
mod messages;
mod outcome;
mod retrieval;
mod scores;
mod status;
mod tool;
mod traces;
mod versions;

pub mod redact;

#[cfg(test)]
mod fixture_tests;

pub use config::NormalizeConfig;
pub use logs::normalize_logs;
pub use outcome::Normalized;
pub use scores::{is_exported_score, scores_from_logs, scores_from_spans};
pub use traces::normalize_traces;
