//! The domain model: one normalized span, whatever convention it arrived in.
//!
//! The collector fills these from OTLP; the store persists them; the query side reads them.
//! Normalized fields are an index over the evidence, never a replacement: every span keeps
//! its raw resource, scope and span attributes, events and links verbatim in [`RawSpan`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Trace id: 16 bytes, shown as 32 lowercase hex digits.
pub type TraceId = [u8; 16];
/// Span id: 8 bytes, shown as 16 lowercase hex digits.
pub type SpanId = [u8; 8];

/// One attribute value, as OTLP's `AnyValue` carries it.
///
/// Serialized untagged, so scalars and arrays show as natural JSON (`"x"`, `3`, `1.5`,
/// `[..]`) while int and double stay distinct (a double is always written with a
/// fraction). A key-value list keeps order and duplicates as `[{"key": .., "value": ..}]`;
/// views that want an object build one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttrValue {
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// A 64-bit float.
    Double(f64),
    /// A UTF-8 string.
    Str(String),
    /// Raw bytes, kept as `{"bytes_b64": "..."}` so they cannot be mistaken for text.
    Bytes {
        /// The bytes, standard base64.
        bytes_b64: String,
    },
    /// An ordered array.
    Array(Vec<AttrValue>),
    /// A key-value list; order kept, duplicate keys kept.
    Map(Vec<KeyValue>),
}

/// One key and its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyValue {
    /// Attribute key, verbatim.
    pub key: String,
    /// Attribute value; `None` for an empty `AnyValue`.
    pub value: Option<AttrValue>,
}

impl AttrValue {
    /// The value as text: strings as they are, scalars printed, structures as JSON.
    pub fn as_text(&self) -> String {
        match self {
            AttrValue::Str(s) => s.clone(),
            AttrValue::Bool(b) => b.to_string(),
            AttrValue::Int(i) => i.to_string(),
            AttrValue::Double(d) => d.to_string(),
            other => serde_json::to_string(other).unwrap_or_default(),
        }
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an integer, if it is one or a string holding one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            AttrValue::Int(i) => Some(*i),
            AttrValue::Double(d) if d.fract() == 0.0 => Some(*d as i64),
            AttrValue::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The value as a float, if it is numeric or a string holding a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AttrValue::Int(i) => Some(*i as f64),
            AttrValue::Double(d) => Some(*d),
            AttrValue::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Converts to a `serde_json::Value` (the natural JSON shape).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

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

/// One part of a message: text, a tool call, a tool result, or anything else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MessagePart {
    /// Plain text.
    Text {
        /// The text, exact.
        content: String,
    },
    /// The model asks for a tool to be called.
    ToolCall {
        /// Provider's tool call id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Tool name.
        name: String,
        /// Arguments, usually a JSON text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        arguments: Option<String>,
    },
    /// A tool's result fed back to the model.
    ToolCallResponse {
        /// The tool call id it answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The result text.
        response: String,
    },
    /// Reasoning or thinking text.
    Reasoning {
        /// The text.
        content: String,
    },
    /// Any other part type, kept whole.
    Other {
        /// The part type as sent.
        part_type: String,
        /// The part as JSON.
        value: serde_json::Value,
    },
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user`, `assistant`, `tool`, or whatever the emitter sent.
    pub role: String,
    /// The parts, in order.
    pub parts: Vec<MessagePart>,
    /// Optional participant name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Finish reason carried on an output message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

impl Message {
    /// The message's text parts joined by newlines.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            let piece = match part {
                MessagePart::Text { content } | MessagePart::Reasoning { content } => content,
                MessagePart::ToolCallResponse { response, .. } => response,
                _ => continue,
            };
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(piece);
        }
        out
    }
}

/// Token usage of one call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Input (prompt) tokens, cached included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<i64>,
    /// Output (completion) tokens, reasoning included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<i64>,
    /// Total tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// Cached input tokens read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<i64>,
    /// Cached input tokens written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<i64>,
    /// Reasoning tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<i64>,
}

/// A model call: what was sent, what came back, and with which model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LlmCall {
    /// Operation name as sent (`chat`, `embeddings`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Provider (`openai`, `anthropic`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Model requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_model: Option<String>,
    /// Model that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_model: Option<String>,
    /// Provider backend configuration fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// Provider response id (`chatcmpl-...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    /// System instructions, when sent apart from the messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_instructions: Option<String>,
    /// Input messages, exact, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_messages: Vec<Message>,
    /// Output messages (one per choice).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_messages: Vec<Message>,
    /// Request parameters (temperature, max_tokens, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// Token usage.
    #[serde(default)]
    pub usage: TokenUsage,
    /// Finish reasons, one per choice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finish_reasons: Vec<String>,
    /// Tool definitions offered to the model, as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_definitions: Option<String>,
    /// Texts sent for embedding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub embedding_inputs: Vec<String>,
}

/// A tool invocation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Tool name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tool call id, matching the model's tool_call part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// Tool type (`function`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_type: Option<String>,
    /// Tool description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Arguments, exact text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
    /// Result, exact text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

/// One retrieved document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Document id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Relevance score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Content, exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Metadata as sent (often JSON text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
}

/// A retrieval: the query and what came back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Retrieval {
    /// Query text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Data source (index, collection, knowledge base) id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source: Option<String>,
    /// Top-k requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<i64>,
    /// Documents, in rank order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<Document>,
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

/// A version dimension: one axis along which "what changed" is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionDimension {
    /// Model requested.
    RequestModel,
    /// Model that answered.
    ResponseModel,
    /// Provider system fingerprint.
    SystemFingerprint,
    /// Prompt name.
    PromptName,
    /// Prompt version.
    PromptVersion,
    /// Computed fingerprint of the system instructions.
    SystemInstructionsFingerprint,
    /// Retrieval component (data source) id.
    RetrievalComponent,
    /// Retrieval index version.
    IndexVersion,
    /// Tool schema version.
    ToolSchemaVersion,
    /// Computed fingerprint of the tool definitions.
    ToolDefinitionsFingerprint,
    /// `service.version`.
    ServiceVersion,
    /// `deployment.environment.name`.
    DeploymentEnvironment,
}

impl VersionDimension {
    /// Every dimension, in a stable order.
    pub const ALL: [VersionDimension; 12] = [
        VersionDimension::RequestModel,
        VersionDimension::ResponseModel,
        VersionDimension::SystemFingerprint,
        VersionDimension::PromptName,
        VersionDimension::PromptVersion,
        VersionDimension::SystemInstructionsFingerprint,
        VersionDimension::RetrievalComponent,
        VersionDimension::IndexVersion,
        VersionDimension::ToolSchemaVersion,
        VersionDimension::ToolDefinitionsFingerprint,
        VersionDimension::ServiceVersion,
        VersionDimension::DeploymentEnvironment,
    ];

    /// Stable one-byte code used in index keys; never reuse a retired code.
    pub fn code(self) -> u8 {
        match self {
            VersionDimension::RequestModel => 1,
            VersionDimension::ResponseModel => 2,
            VersionDimension::SystemFingerprint => 3,
            VersionDimension::PromptName => 4,
            VersionDimension::PromptVersion => 5,
            VersionDimension::SystemInstructionsFingerprint => 6,
            VersionDimension::RetrievalComponent => 7,
            VersionDimension::IndexVersion => 8,
            VersionDimension::ToolSchemaVersion => 9,
            VersionDimension::ToolDefinitionsFingerprint => 10,
            VersionDimension::ServiceVersion => 11,
            VersionDimension::DeploymentEnvironment => 12,
        }
    }

    /// The snake_case name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionDimension::RequestModel => "request_model",
            VersionDimension::ResponseModel => "response_model",
            VersionDimension::SystemFingerprint => "system_fingerprint",
            VersionDimension::PromptName => "prompt_name",
            VersionDimension::PromptVersion => "prompt_version",
            VersionDimension::SystemInstructionsFingerprint => "system_instructions_fingerprint",
            VersionDimension::RetrievalComponent => "retrieval_component",
            VersionDimension::IndexVersion => "index_version",
            VersionDimension::ToolSchemaVersion => "tool_schema_version",
            VersionDimension::ToolDefinitionsFingerprint => "tool_definitions_fingerprint",
            VersionDimension::ServiceVersion => "service_version",
            VersionDimension::DeploymentEnvironment => "deployment_environment",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == name)
    }
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

/// What kind of thing a [`Score`] judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ScoreTargetKind {
    /// One span (`trace_id` and `target_id` = span id).
    Span,
    /// One trace, by trace id.
    Trace,
    /// One request, by request id.
    Request,
    /// A whole session, by session id.
    Session,
    /// One model response, by provider response id (`chatcmpl-...`).
    Response,
    /// Any identifier of a request; resolved to the kind that matched when read.
    #[default]
    Any,
}

impl ScoreTargetKind {
    /// The snake_case name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ScoreTargetKind::Span => "span",
            ScoreTargetKind::Trace => "trace",
            ScoreTargetKind::Request => "request",
            ScoreTargetKind::Session => "session",
            ScoreTargetKind::Response => "response",
            ScoreTargetKind::Any => "any",
        }
    }
}

/// An evaluation result or a piece of feedback, attached to what it judges.
///
/// Stored under its target's id, not its target's record, so a score that arrives before
/// the span it judges attaches when that span is read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// What kind of id `target_id` is.
    pub target_kind: ScoreTargetKind,
    /// The judged thing's id: span id (hex), trace id (hex), request, session or response id.
    pub target_id: String,
    /// For a span target: the span's trace id, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// What was judged (`helpfulness`, `faithfulness`, `thumbs`, ...).
    pub name: String,
    /// Numeric score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Label (`pass`, `fail`, `thumbs_down`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Why, as the evaluator put it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    /// Who judged: `llm-judge`, `user-feedback`, `code`, `otel-event`, `openinference`, ...
    pub source: String,
    /// When the score was produced, Unix nanoseconds.
    pub time_unix_nano: u64,
}

impl Score {
    /// The id the score is stored under: `trace/span` (hex) for a span, else `target_id`.
    pub fn target_key(&self) -> String {
        match (&self.target_kind, &self.trace_id) {
            (ScoreTargetKind::Span, Some(trace)) => span_score_key(trace, &self.target_id),
            _ => self.target_id.clone(),
        }
    }
}

/// The id scores of one span are stored under, from hex trace and span ids (any case).
pub fn span_score_key(trace_hex: &str, span_hex: &str) -> String {
    format!("{}/{}", trace_hex.to_ascii_lowercase(), span_hex.to_ascii_lowercase())
}
