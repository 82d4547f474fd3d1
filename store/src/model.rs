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
/// views that want an object build one. `Deserialize` is hand-written, below.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

/// `AttrValue`'s `Deserialize`, written by hand because every stored span reads through it.
///
/// The untagged derive buffers each value into serde's private `Content` (copying strings,
/// which here are whole prompts), then tries the variants in turn, and every miss formats an
/// error that quotes the value: three `Debug`-escaped copies of a prompt before it reaches
/// `Str`. The JSON token already names the variant, so this reads it once. It reads what the
/// serializer writes exactly as the derive did, and still skips unknown object fields. Of the
/// derive's looser readings it drops two: a map entry written as a `["key", value]` pair, and
/// a `"value"` that is no attribute value inside a `{"bytes_b64"}` object.
mod attr_value_de {
    use std::fmt;

    use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

    use super::{AttrValue, KeyValue};

    impl<'de> Deserialize<'de> for AttrValue {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            match Element::deserialize(deserializer)? {
                Element::Value(value) => Ok(value),
                Element::Object { bytes_b64: Some(bytes_b64), .. } => Ok(AttrValue::Bytes { bytes_b64 }),
                Element::Object { .. } => Err(de::Error::missing_field("bytes_b64")),
            }
        }
    }

    /// A value read before its array is known to be an `Array` or a `Map`: an object is
    /// `{"bytes_b64"}` in the first and `{"key", "value"}` in the second.
    enum Element {
        /// Anything but an object.
        Value(AttrValue),
        /// An object's fields of either shape; unknown fields are skipped.
        Object { bytes_b64: Option<String>, key: Option<String>, value: Option<AttrValue> },
    }

    impl Element {
        fn is_value(&self) -> bool {
            !matches!(self, Element::Object { bytes_b64: None, .. })
        }

        fn is_entry(&self) -> bool {
            matches!(self, Element::Object { key: Some(_), .. })
        }

        fn into_value(self) -> Option<AttrValue> {
            match self {
                Element::Value(value) => Some(value),
                Element::Object { bytes_b64, .. } => bytes_b64.map(|bytes_b64| AttrValue::Bytes { bytes_b64 }),
            }
        }

        fn into_entry(self) -> Option<KeyValue> {
            match self {
                Element::Object { key: Some(key), value, .. } => Some(KeyValue { key, value }),
                _ => None,
            }
        }
    }

    impl<'de> Deserialize<'de> for Element {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(ElementVisitor)
        }
    }

    struct ElementVisitor;

    impl<'de> Visitor<'de> for ElementVisitor {
        type Value = Element;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an attribute value (bool, number, string, {\"bytes_b64\": ..} or array)")
        }

        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Element, E> {
            Ok(Element::Value(AttrValue::Bool(v)))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Element, E> {
            Ok(Element::Value(AttrValue::Int(v)))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Element, E> {
            // Past i64::MAX the untagged derive fell through to `Double`; keep reading it so.
            Ok(Element::Value(i64::try_from(v).map_or(AttrValue::Double(v as f64), AttrValue::Int)))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Element, E> {
            Ok(Element::Value(AttrValue::Double(v)))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Element, E> {
            Ok(Element::Value(AttrValue::Str(v.to_owned())))
        }

        fn visit_string<E: de::Error>(self, v: String) -> Result<Element, E> {
            Ok(Element::Value(AttrValue::Str(v)))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element, A::Error> {
            let mut elements: Vec<Element> = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
            while let Some(element) = seq.next_element()? {
                elements.push(element);
            }
            // `Array` first, as the derive tried it: an empty array and an array of
            // `{"bytes_b64"}` objects are arrays.
            if elements.iter().all(Element::is_value) {
                return Ok(Element::Value(AttrValue::Array(
                    elements.into_iter().filter_map(Element::into_value).collect(),
                )));
            }
            if elements.iter().all(Element::is_entry) {
                return Ok(Element::Value(AttrValue::Map(
                    elements.into_iter().filter_map(Element::into_entry).collect(),
                )));
            }
            Err(de::Error::custom(
                "array is neither attribute values nor {\"key\", \"value\"} entries (an object needs \"bytes_b64\" or \"key\")",
            ))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Element, A::Error> {
            let (mut bytes_b64, mut key, mut value) = (None, None, None);
            while let Some(field) = map.next_key()? {
                match field {
                    Field::BytesB64 if bytes_b64.is_some() => return Err(de::Error::duplicate_field("bytes_b64")),
                    Field::BytesB64 => bytes_b64 = Some(map.next_value()?),
                    Field::Key if key.is_some() => return Err(de::Error::duplicate_field("key")),
                    Field::Key => key = Some(map.next_value()?),
                    Field::Value if value.is_some() => return Err(de::Error::duplicate_field("value")),
                    Field::Value => value = Some(map.next_value::<Option<AttrValue>>()?),
                    Field::Other => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(Element::Object { bytes_b64, key, value: value.flatten() })
        }
    }

    /// An object field name, matched without allocating.
    enum Field {
        BytesB64,
        Key,
        Value,
        Other,
    }

    impl<'de> Deserialize<'de> for Field {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_identifier(FieldVisitor)
        }
    }

    struct FieldVisitor;

    impl<'de> Visitor<'de> for FieldVisitor {
        type Value = Field;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a field name")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
            Ok(match v {
                "bytes_b64" => Field::BytesB64,
                "key" => Field::Key,
                "value" => Field::Value,
                _ => Field::Other,
            })
        }
    }
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

#[cfg(test)]
mod attr_value_tests {
    use super::*;

    /// Today's `AttrValue` deserializer, the untagged derive, kept as an oracle.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum UntaggedAttrValue {
        Bool(bool),
        Int(i64),
        Double(f64),
        Str(String),
        Bytes { bytes_b64: String },
        Array(Vec<UntaggedAttrValue>),
        Map(Vec<UntaggedKeyValue>),
    }

    #[derive(Deserialize)]
    struct UntaggedKeyValue {
        key: String,
        value: Option<UntaggedAttrValue>,
    }

    impl From<UntaggedAttrValue> for AttrValue {
        fn from(v: UntaggedAttrValue) -> Self {
            match v {
                UntaggedAttrValue::Bool(b) => AttrValue::Bool(b),
                UntaggedAttrValue::Int(i) => AttrValue::Int(i),
                UntaggedAttrValue::Double(d) => AttrValue::Double(d),
                UntaggedAttrValue::Str(s) => AttrValue::Str(s),
                UntaggedAttrValue::Bytes { bytes_b64 } => AttrValue::Bytes { bytes_b64 },
                UntaggedAttrValue::Array(items) => AttrValue::Array(items.into_iter().map(Into::into).collect()),
                UntaggedAttrValue::Map(entries) => AttrValue::Map(
                    entries.into_iter().map(|kv| KeyValue { key: kv.key, value: kv.value.map(Into::into) }).collect(),
                ),
            }
        }
    }

    fn parse(json: &str) -> Result<AttrValue, serde_json::Error> {
        serde_json::from_str(json)
    }

    fn round_trip(value: &AttrValue) -> AttrValue {
        let json = serde_json::to_string(value).unwrap();
        parse(&json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    fn kv(key: &str, value: Option<AttrValue>) -> KeyValue {
        KeyValue { key: key.into(), value }
    }

    fn samples() -> Vec<AttrValue> {
        vec![
            AttrValue::Bool(true),
            AttrValue::Bool(false),
            AttrValue::Int(0),
            AttrValue::Int(42),
            AttrValue::Int(-7),
            AttrValue::Int(i64::MIN),
            AttrValue::Int(i64::MAX),
            AttrValue::Double(1.5),
            AttrValue::Double(-2.25),
            AttrValue::Double(3.0),
            AttrValue::Double(1e300),
            AttrValue::Str(String::new()),
            AttrValue::Str("say \"hi\"\n\tand é ☃".into()),
            AttrValue::Str("42".into()),
            AttrValue::Bytes { bytes_b64: "3q2+7w==".into() },
            AttrValue::Array(vec![]),
            AttrValue::Array(vec![AttrValue::Int(1), AttrValue::Str("a".into()), AttrValue::Double(2.5)]),
            AttrValue::Array(vec![AttrValue::Array(vec![AttrValue::Bool(true), AttrValue::Int(2)]), AttrValue::Int(3)]),
            AttrValue::Array(vec![
                AttrValue::Bytes { bytes_b64: "AA==".into() },
                AttrValue::Bytes { bytes_b64: "AQ==".into() },
            ]),
            AttrValue::Map(vec![kv("a", Some(AttrValue::Int(1))), kv("a", Some(AttrValue::Str("dup".into())))]),
            AttrValue::Map(vec![kv("empty", None)]),
            AttrValue::Map(vec![
                kv("nested", Some(AttrValue::Map(vec![kv("x", Some(AttrValue::Array(vec![AttrValue::Int(1)])))]))),
                kv("list", Some(AttrValue::Array(vec![]))),
            ]),
        ]
    }

    #[test]
    fn every_sample_value_round_trips() {
        for value in samples() {
            assert_eq!(round_trip(&value), value);
        }
    }

    #[test]
    fn what_the_serializer_writes_reads_back_as_the_untagged_derive_read_it() {
        for value in samples() {
            let json = serde_json::to_string(&value).unwrap();
            let oracle: AttrValue = serde_json::from_str::<UntaggedAttrValue>(&json).unwrap().into();
            assert_eq!(parse(&json).unwrap(), oracle, "{json}");
        }
    }

    #[test]
    fn serialized_shapes_are_natural_json() {
        let cases = [
            (AttrValue::Bool(true), "true"),
            (AttrValue::Int(-3), "-3"),
            (AttrValue::Double(3.0), "3.0"),
            (AttrValue::Str("x".into()), "\"x\""),
            (AttrValue::Bytes { bytes_b64: "AA==".into() }, r#"{"bytes_b64":"AA=="}"#),
            (AttrValue::Array(vec![AttrValue::Int(1)]), "[1]"),
            (AttrValue::Map(vec![kv("k", None)]), r#"[{"key":"k","value":null}]"#),
        ];
        for (value, json) in cases {
            assert_eq!(serde_json::to_string(&value).unwrap(), json);
        }
    }

    #[test]
    fn a_negative_integer_reads_as_int() {
        assert_eq!(parse("-12").unwrap(), AttrValue::Int(-12));
    }

    #[test]
    fn an_integer_above_i64_max_reads_as_double() {
        assert_eq!(parse("18446744073709551615").unwrap(), AttrValue::Double(u64::MAX as f64));
        assert_eq!(parse("9223372036854775808").unwrap(), AttrValue::Double(9_223_372_036_854_775_808.0));
    }

    #[test]
    fn a_double_without_a_fraction_reads_as_double() {
        assert_eq!(parse("2.0").unwrap(), AttrValue::Double(2.0));
        assert_eq!(parse("1e3").unwrap(), AttrValue::Double(1000.0));
    }

    #[test]
    fn an_empty_array_reads_as_array() {
        assert_eq!(parse("[]").unwrap(), AttrValue::Array(vec![]));
    }

    #[test]
    fn a_bytes_object_ignores_unknown_fields() {
        let value = parse(r#"{"extra": [1, {"x": null}], "bytes_b64": "AA=="}"#).unwrap();
        assert_eq!(value, AttrValue::Bytes { bytes_b64: "AA==".into() });
    }

    #[test]
    fn an_array_of_key_value_objects_reads_as_map() {
        let value = parse(r#"[{"key": "a", "value": 1}, {"value": "s", "key": "b"}]"#).unwrap();
        assert_eq!(
            value,
            AttrValue::Map(vec![kv("a", Some(AttrValue::Int(1))), kv("b", Some(AttrValue::Str("s".into())))])
        );
    }

    #[test]
    fn a_map_entry_with_a_null_or_absent_value_reads_as_none() {
        let value = parse(r#"[{"key": "a", "value": null}, {"key": "b"}]"#).unwrap();
        assert_eq!(value, AttrValue::Map(vec![kv("a", None), kv("b", None)]));
    }

    #[test]
    fn a_map_entry_ignores_unknown_fields() {
        let value = parse(r#"[{"key": "a", "note": {"x": [1]}, "value": true}]"#).unwrap();
        assert_eq!(value, AttrValue::Map(vec![kv("a", Some(AttrValue::Bool(true)))]));
    }

    #[test]
    fn a_one_string_array_round_trips_as_array() {
        let value = AttrValue::Array(vec![AttrValue::Str("stop".into())]);
        assert_eq!(round_trip(&value), value);
    }

    #[test]
    fn malformed_values_are_errors() {
        let cases = [
            "null",
            "{}",
            r#"{"bytes_b64": 1}"#,
            r#"{"bytes_b64": "AA==", "bytes_b64": "AQ=="}"#,
            r#"{"key": "a", "value": 1}"#,
            "[null]",
            r#"[1, {"key": "a", "value": 1}]"#,
            r#"[{"key": "a", "value": 1}, "x"]"#,
            r#"[{"key": 1, "value": 1}]"#,
            r#"[{"key": "a", "key": "b"}]"#,
            r#"[{"key": "a", "value": {}}]"#,
            r#"[{"value": 1}]"#,
            "1e400",
            "[1,",
        ];
        for json in cases {
            assert!(parse(json).is_err(), "{json} should not parse");
            assert!(serde_json::from_str::<UntaggedAttrValue>(json).is_err(), "oracle accepts {json}");
        }
    }

    #[test]
    fn an_object_without_bytes_b64_names_the_missing_field() {
        let err = parse(r#"{"key": "a", "value": 1}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `bytes_b64`"), "{err}");
    }

    #[test]
    fn an_array_mixing_values_and_entries_says_so() {
        let err = parse(r#"[1, {"key": "a", "value": 1}]"#).unwrap_err();
        assert!(err.to_string().contains("neither attribute values nor"), "{err}");
    }

    #[test]
    fn null_is_not_an_attribute_value() {
        let err = parse("null").unwrap_err();
        assert!(err.to_string().contains("expected an attribute value"), "{err}");
    }

    #[test]
    fn a_map_entry_written_as_a_pair_is_an_error() {
        // The derive read `[["k", null]]` as a map; the serializer never writes that shape.
        assert!(serde_json::from_str::<UntaggedAttrValue>(r#"[["k", null]]"#).is_ok());
        assert!(parse(r#"[["k", null]]"#).is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let json = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(&json).is_err());
    }

    /// Deterministic JSON generator for comparing against the untagged derive.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            // xorshift64: deterministic and dependency-free.
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
            options[(self.next() % options.len() as u64) as usize]
        }

        fn value(&mut self, depth: u32) -> String {
            let kinds = if depth == 0 { 5 } else { 7 };
            match self.next() % kinds {
                0 => self.pick(&["true", "false"]).into(),
                1 => self
                    .pick(&[
                        "0",
                        "7",
                        "-1",
                        "-9223372036854775808",
                        "9223372036854775807",
                        "9223372036854775808",
                        "18446744073709551615",
                    ])
                    .into(),
                2 => self.pick(&["1.5", "-0.0", "-0", "2.0", "1e3", "1E-2", "-3.25e10"]).into(),
                3 => self.pick(&[r#""""#, r#""a""#, r#""q\"uote\\n""#, r#""\u00e9\n""#, r#""12""#, r#""true""#]).into(),
                4 => self
                    .pick(&[
                        r#"{"bytes_b64":"AA=="}"#,
                        r#"{"extra":[1,{"x":null}],"bytes_b64":"AQ=="}"#,
                        r#"{"bytes_b64":"","other":"x"}"#,
                    ])
                    .into(),
                5 => {
                    let len = self.next() % 4;
                    let items: Vec<String> = (0..len).map(|_| self.value(depth - 1)).collect();
                    format!("[{}]", items.join(","))
                }
                _ => {
                    let len = 1 + self.next() % 3;
                    let entries: Vec<String> = (0..len)
                        .map(|_| {
                            let key = self.pick(&[r#""k""#, r#""dup""#, r#""é\"""#]);
                            let value = match self.next() % 4 {
                                0 => None,
                                1 => Some("null".to_string()),
                                _ => Some(self.value(depth - 1)),
                            };
                            let mut fields = vec![format!(r#""key":{key}"#)];
                            if let Some(v) = value {
                                fields.push(format!(r#""value":{v}"#));
                            }
                            if self.next().is_multiple_of(4) {
                                fields.push(r#""note":{"x":[1,2]}"#.into());
                            }
                            if self.next().is_multiple_of(2) {
                                fields.reverse();
                            }
                            format!("{{{}}}", fields.join(","))
                        })
                        .collect();
                    format!("[{}]", entries.join(","))
                }
            }
        }
    }

    #[test]
    fn generated_json_reads_as_the_untagged_derive_reads_it() {
        let mut gen = Gen(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let json = gen.value(4);
            let oracle: AttrValue = serde_json::from_str::<UntaggedAttrValue>(&json).unwrap().into();
            assert_eq!(parse(&json).unwrap(), oracle, "{json}");
        }
    }
}
