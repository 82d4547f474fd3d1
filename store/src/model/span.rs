//! One normalized span, its raw attributes kept verbatim, and log records.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::attr::{AttrValue, KeyValue};
use super::llm::{LlmCall, Retrieval, ToolCall};
use super::versions::VersionDimension;
use super::{hex_bytes, hex_opt, SpanId, TraceId};

/// What a span does, across conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    /// A model inference call (chat, completion, generate).
    Llm,
    /// A tool invocation.
    Tool,
    /// A retrieval (vector search, reranker, memory search).
    Retrieval,
    /// An embeddings call.
    Embedding,
    /// An agent invocation.
    Agent,
    /// A workflow, chain or task.
    Chain,
    /// An evaluator.
    Evaluation,
    /// A guardrail check.
    Guardrail,
    /// Anything else.
    #[default]
    Other,
}

impl SpanKind {
    /// The lowercase name used in the API and the query language.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Llm => "llm",
            SpanKind::Tool => "tool",
            SpanKind::Retrieval => "retrieval",
            SpanKind::Embedding => "embedding",
            SpanKind::Agent => "agent",
            SpanKind::Chain => "chain",
            SpanKind::Evaluation => "evaluation",
            SpanKind::Guardrail => "guardrail",
            SpanKind::Other => "other",
        }
    }
}

/// Span status, as OTLP defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StatusCode {
    /// Not set by the instrumentation.
    #[default]
    Unset,
    /// Explicitly OK.
    Ok,
    /// An error.
    Error,
}

/// An error seen on a span: its status, `error.type`, and the exception event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// Exception type or `error.type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// Exception or status message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Stack trace, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stacktrace: Option<String>,
}

/// A span event, verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanEvent {
    /// Event name.
    pub name: String,
    /// Time, Unix nanoseconds.
    pub time_unix_nano: u64,
    /// Attributes, verbatim.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<KeyValue>,
    /// Attributes the sender dropped.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped_attributes_count: u32,
}

/// A span link, verbatim (ids as hex).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanLink {
    /// Linked trace id, hex.
    pub trace_id: String,
    /// Linked span id, hex.
    pub span_id: String,
    /// W3C trace state.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub trace_state: String,
    /// Attributes, verbatim.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<KeyValue>,
}

/// Everything the sender sent about a span, kept verbatim.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RawSpan {
    /// Resource attributes.
    #[serde(default)]
    pub resource: Vec<KeyValue>,
    /// Instrumentation scope name.
    #[serde(default)]
    pub scope_name: String,
    /// Instrumentation scope version.
    #[serde(default)]
    pub scope_version: String,
    /// Instrumentation scope attributes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope_attributes: Vec<KeyValue>,
    /// Span attributes.
    #[serde(default)]
    pub attributes: Vec<KeyValue>,
    /// Span events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<SpanEvent>,
    /// Span links.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<SpanLink>,
    /// OTLP span kind number (0 unspecified .. 5 consumer).
    #[serde(default)]
    pub otel_kind: i32,
    /// W3C trace state.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub trace_state: String,
    /// OTLP span flags.
    #[serde(default)]
    pub flags: u32,
    /// Counts the sender dropped: attributes, events, links.
    #[serde(default)]
    pub dropped: [u32; 3],
    /// Attribute values cut to the configured cap, by key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub truncated_keys: Vec<String>,
}

/// One normalized span: the unit the store keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Span {
    /// Trace id.
    #[serde(with = "hex_bytes")]
    pub trace_id: TraceId,
    /// Span id.
    #[serde(with = "hex_bytes")]
    pub span_id: SpanId,
    /// Parent span id; `None` for a root.
    #[serde(default, with = "hex_opt")]
    pub parent_span_id: Option<SpanId>,
    /// Span name.
    pub name: String,
    /// Normalized kind.
    pub kind: SpanKind,
    /// The raw operation name or convention kind the kind came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subkind: Option<String>,
    /// Start, Unix nanoseconds.
    pub start_unix_nano: u64,
    /// End, Unix nanoseconds.
    pub end_unix_nano: u64,
    /// Status code.
    pub status: StatusCode,
    /// Status message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status_message: String,
    /// `service.name` of the resource.
    #[serde(default)]
    pub service: String,
    /// Request id, when a configured attribute names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Session (conversation) id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// End-user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Model call details (llm and embedding spans).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmCall>,
    /// Tool details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<ToolCall>,
    /// Retrieval details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrieval: Option<Retrieval>,
    /// Raw input (`input.value`, `traceloop.entity.input`, ...), exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_value: Option<String>,
    /// Raw output (`output.value`, `traceloop.entity.output`, ...), exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_value: Option<String>,
    /// Error details, when the span failed or recorded an exception.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// Versions live for this span.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub versions: BTreeMap<VersionDimension, String>,
    /// What was sent, verbatim.
    #[serde(default)]
    pub raw: RawSpan,
    /// Values redacted at ingest, counted by rule (`email`, `card`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub redactions: BTreeMap<String, u64>,
}

impl Span {
    /// Duration in nanoseconds (0 when the clock went backwards).
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano)
    }
}

/// A log record (a GenAI event, or any other log), joined to its span by ids.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogRecord {
    /// Trace id; all zero when the record names none.
    #[serde(with = "hex_bytes")]
    pub trace_id: TraceId,
    /// Span id; all zero when the record names none.
    #[serde(with = "hex_bytes")]
    pub span_id: SpanId,
    /// Event name (`event_name`, or the `event.name` attribute of older SDKs).
    #[serde(default)]
    pub event_name: String,
    /// Time, Unix nanoseconds (the observed time when the time is unset).
    pub time_unix_nano: u64,
    /// Severity number.
    #[serde(default)]
    pub severity_number: i32,
    /// Severity text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub severity_text: String,
    /// Body, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<AttrValue>,
    /// Attributes, verbatim.
    #[serde(default)]
    pub attributes: Vec<KeyValue>,
    /// Resource attributes.
    #[serde(default)]
    pub resource: Vec<KeyValue>,
    /// Instrumentation scope name.
    #[serde(default)]
    pub scope_name: String,
    /// What the collector read out of this record for its span (messages, model...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmCall>,
    /// Values redacted at ingest, counted by rule (`email`, `card`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub redactions: BTreeMap<String, u64>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
