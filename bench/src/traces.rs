//! Realistic LLM request traces as OTLP export requests: each trace is an agent root span with
//! a retrieval, an LLM call and a tool call under it, 100 spans per request, with prompt and
//! output text of a chosen size in the conventions real instrumentations emit (OpenInference
//! for the root and retrieval, OpenTelemetry GenAI for the model and tool calls).

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tracehound_proto::collector::trace::v1::ExportTraceServiceRequest;
use tracehound_proto::common::v1::any_value::Value;
use tracehound_proto::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use tracehound_proto::resource::v1::Resource;
use tracehound_proto::trace::v1::span::SpanKind;
use tracehound_proto::trace::v1::status::StatusCode;
use tracehound_proto::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

use crate::corpus::Corpus;

/// Spans in one trace: root, retrieval, LLM call, tool call.
pub const SPANS_PER_TRACE: usize = 4;
/// Spans in one export request, as an SDK's batch processor sends them.
pub const SPANS_PER_REQUEST: usize = 100;
/// Traces in one export request.
pub const TRACES_PER_REQUEST: usize = SPANS_PER_REQUEST / SPANS_PER_TRACE;
/// Requests (traces) per session.
pub const REQUESTS_PER_SESSION: u64 = 5;

/// Models the generated LLM calls name (filterable with `model:`).
pub const MODELS: &[&str] = &["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "llama-3.1-70b"];
/// Prompt versions the generated requests carry (filterable with `prompt_version:`).
pub const PROMPT_VERSIONS: &[&str] = &["v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8"];

/// The ids of one generated trace, to look it up later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceIds {
    /// Hex trace id.
    pub trace_id: String,
    /// `request.id` on the root span.
    pub request_id: String,
    /// `session.id` on every span.
    pub session_id: String,
}

/// One export request, ready to send.
pub struct GeneratedRequest {
    /// The request itself.
    pub request: ExportTraceServiceRequest,
    /// The traces it holds.
    pub traces: Vec<TraceIds>,
    /// Bytes of prompt, output, document and tool text in it.
    pub text_bytes: usize,
}

/// Deterministic generator of export requests whose ids never repeat within one `run`.
pub struct TraceGenerator<'c> {
    corpus: &'c Corpus,
    rng: SmallRng,
    run: u32,
    stream: u32,
    next_trace: u64,
    text_bytes: usize,
}

impl<'c> TraceGenerator<'c> {
    /// A generator for spans of about `text_bytes` of text each; `(run, stream)` keeps ids
    /// apart from every other generator's.
    pub fn new(corpus: &'c Corpus, run: u32, stream: u32, text_bytes: usize) -> TraceGenerator<'c> {
        let seed = (u64::from(run) << 32) | u64::from(stream);
        TraceGenerator { corpus, rng: SmallRng::seed_from_u64(seed), run, stream, next_trace: 0, text_bytes }
    }

    /// The next export request: [`TRACES_PER_REQUEST`] traces of [`SPANS_PER_TRACE`] spans.
    pub fn next_request(&mut self) -> GeneratedRequest {
        self.next_request_with(None)
    }

    /// Like [`next_request`](Self::next_request), with `marker` written into the first trace's
    /// prompt so a search for it finds exactly that trace.
    pub fn next_request_with(&mut self, marker: Option<&str>) -> GeneratedRequest {
        let mut spans = Vec::with_capacity(SPANS_PER_REQUEST);
        let mut traces = Vec::with_capacity(TRACES_PER_REQUEST);
        let mut text_bytes = 0;
        for i in 0..TRACES_PER_REQUEST {
            let (ids, trace_spans, bytes) = self.trace(if i == 0 { marker } else { None });
            traces.push(ids);
            spans.extend(trace_spans);
            text_bytes += bytes;
        }
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", "support-agent"),
                        kv("service.version", "2.4.1"),
                        kv("deployment.environment", "bench"),
                    ],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "tracehound-bench".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..Default::default()
                    }),
                    spans,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        GeneratedRequest { request, traces, text_bytes }
    }

    fn trace(&mut self, marker: Option<&str>) -> (TraceIds, Vec<Span>, usize) {
        let n = self.next_trace;
        self.next_trace += 1;
        let mut trace_id = [0u8; 16];
        trace_id[..4].copy_from_slice(&self.run.to_be_bytes());
        trace_id[4..8].copy_from_slice(&self.stream.to_be_bytes());
        trace_id[8..].copy_from_slice(&n.to_be_bytes());
        let span_id = |k: u8| {
            let mut id = [0u8; 8];
            id[..7].copy_from_slice(&n.to_be_bytes()[1..]);
            id[7] = k + 1;
            id
        };
        let ids = TraceIds {
            trace_id: hex::encode(trace_id),
            request_id: format!("req-{:x}-{}-{n}", self.run, self.stream),
            session_id: format!("sess-{:x}-{}-{}", self.run, self.stream, n / REQUESTS_PER_SESSION),
        };
        let rng = &mut self.rng;
        let model = MODELS[rng.random_range(0..MODELS.len())];
        let prompt_version = PROMPT_VERSIONS[rng.random_range(0..PROMPT_VERSIONS.len())];
        let order = format!("B-{:05}", rng.random_range(0..100_000));
        let user = format!("user-{}", rng.random_range(0..5_000));
        let failed = rng.random_ratio(1, 50);
        let start = now_nanos();
        let size = self.text_bytes;
        let corpus = self.corpus;
        let mut text_bytes = 0;
        let mut text = |rng: &mut SmallRng, bytes: usize| {
            let t = corpus.text(rng, bytes.max(1));
            text_bytes += t.len();
            t
        };

        let question = text(rng, size / 4);
        let answer = text(rng, size * 3 / 4);
        let root = Span {
            trace_id: trace_id.to_vec(),
            span_id: span_id(0).to_vec(),
            name: "support-agent.handle".into(),
            kind: SpanKind::Server as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: start + 2_400_000_000,
            attributes: vec![
                kv("openinference.span.kind", "AGENT"),
                kv("request.id", &ids.request_id),
                kv("session.id", &ids.session_id),
                kv("user.id", &user),
                kv("input.value", &question),
                kv("output.value", &answer),
            ],
            status: Some(status(failed)),
            ..Default::default()
        };

        let query = text(rng, 60);
        let documents: Vec<String> = (0..4).map(|_| text(rng, size / 4)).collect();
        let mut retrieval_attrs = vec![
            kv("openinference.span.kind", "RETRIEVER"),
            kv("session.id", &ids.session_id),
            kv("input.value", &query),
            kv("gen_ai.data_source.id", "support-kb"),
            kv("app.index.version", "kb-2026-11"),
        ];
        for (i, doc) in documents.iter().enumerate() {
            retrieval_attrs.push(kv(&format!("retrieval.documents.{i}.document.id"), &format!("kb-{}", i * 97 + 3)));
            retrieval_attrs.push(kv(&format!("retrieval.documents.{i}.document.content"), doc));
        }
        let retrieval = child(&trace_id, span_id(1), span_id(0), "kb.search", start + 10_000_000, retrieval_attrs);

        let mut prompt = text(rng, size * 3 / 4);
        if let Some(marker) = marker {
            prompt.push(' ');
            prompt.push_str(marker);
        }
        prompt.push_str(" order ");
        prompt.push_str(&order);
        let output = text(rng, size / 4);
        let input_messages = json!([
            {"role": "system", "parts": [{"type": "text", "content": "You are a support agent for ACME."}]},
            {"role": "user", "parts": [{"type": "text", "content": prompt}]},
        ]);
        let output_messages = json!([
            {"role": "assistant", "parts": [{"type": "text", "content": output}], "finish_reason": "stop"},
        ]);
        let mut llm_span = child(
            &trace_id,
            span_id(2),
            span_id(0),
            &format!("chat {model}"),
            start + 300_000_000,
            vec![
                kv("gen_ai.operation.name", "chat"),
                kv("gen_ai.provider.name", "openai"),
                kv("gen_ai.request.model", model),
                kv("gen_ai.response.model", model),
                kv("gen_ai.response.id", &format!("chatcmpl-{}", ids.trace_id)),
                kv("gen_ai.prompt.name", "support-answer"),
                kv("gen_ai.prompt.version", prompt_version),
                kv("session.id", &ids.session_id),
                kv("gen_ai.input.messages", &input_messages.to_string()),
                kv("gen_ai.output.messages", &output_messages.to_string()),
                int_kv("gen_ai.usage.input_tokens", (size / 4) as i64),
                int_kv("gen_ai.usage.output_tokens", (size / 16) as i64),
            ],
        );
        llm_span.status = Some(status(failed));

        let arguments = json!({"order_id": order, "note": text(rng, size / 4)});
        let result = json!({"order": order, "state": "shipped", "history": text(rng, size * 3 / 4)});
        let tool = child(
            &trace_id,
            span_id(3),
            span_id(0),
            "execute_tool lookup_order",
            start + 1_900_000_000,
            vec![
                kv("gen_ai.operation.name", "execute_tool"),
                kv("gen_ai.tool.name", "lookup_order"),
                kv("gen_ai.tool.call.id", &format!("call_{n}")),
                kv("session.id", &ids.session_id),
                kv("gen_ai.tool.call.arguments", &arguments.to_string()),
                kv("gen_ai.tool.call.result", &result.to_string()),
            ],
        );
        (ids, vec![root, retrieval, llm_span, tool], text_bytes)
    }
}

fn child(trace_id: &[u8; 16], id: [u8; 8], parent: [u8; 8], name: &str, start: u64, attributes: Vec<KeyValue>) -> Span {
    Span {
        trace_id: trace_id.to_vec(),
        span_id: id.to_vec(),
        parent_span_id: parent.to_vec(),
        name: name.into(),
        kind: SpanKind::Client as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 400_000_000,
        attributes,
        status: Some(status(false)),
        ..Default::default()
    }
}

fn status(failed: bool) -> Status {
    if failed {
        Status { code: StatusCode::Error as i32, message: "upstream timeout".into() }
    } else {
        Status { code: StatusCode::Ok as i32, message: String::new() }
    }
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

fn int_kv(key: &str, value: i64) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(Value::IntValue(value)) }), ..Default::default() }
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use prost::Message;
    use tracehound_normalize::{normalize_traces, NormalizeConfig};
    use tracehound_store::model::SpanKind as ModelKind;

    use super::*;

    fn corpus() -> Corpus {
        Corpus::new(2_000)
    }

    #[test]
    fn a_request_holds_one_hundred_spans_in_twenty_five_traces() {
        let corpus = corpus();
        let generated = TraceGenerator::new(&corpus, 1, 0, 256).next_request();
        let spans = &generated.request.resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans.len(), 100);
        assert_eq!(generated.traces.len(), 25);
        let traces: HashSet<&[u8]> = spans.iter().map(|s| s.trace_id.as_slice()).collect();
        assert_eq!(traces.len(), 25);
    }

    #[test]
    fn span_ids_never_repeat_across_requests_and_streams() {
        let corpus = corpus();
        let mut seen = HashSet::new();
        for stream in 0..2 {
            let mut generator = TraceGenerator::new(&corpus, 9, stream, 64);
            for _ in 0..3 {
                for span in &generator.next_request().request.resource_spans[0].scope_spans[0].spans {
                    assert!(seen.insert((span.trace_id.clone(), span.span_id.clone())));
                }
            }
        }
    }

    #[test]
    fn spans_carry_about_the_requested_text_size() {
        let corpus = corpus();
        for size in [1024, 8192] {
            let generated = TraceGenerator::new(&corpus, 1, 0, size).next_request();
            let per_span = generated.text_bytes / SPANS_PER_REQUEST;
            assert!(per_span >= size && per_span < size + size / 4 + 200, "{size}: {per_span}");
            let encoded = generated.request.encoded_len() / SPANS_PER_REQUEST;
            assert!(encoded >= size, "{size}: encoded {encoded}");
        }
    }

    #[test]
    fn the_collector_reads_each_span_as_its_intended_kind_with_its_identity() {
        let corpus = corpus();
        let generated = TraceGenerator::new(&corpus, 1, 0, 128).next_request();
        let normalized = normalize_traces(&generated.request, &NormalizeConfig::default());
        assert_eq!(normalized.items.len(), 100);
        let kinds: Vec<ModelKind> = normalized.items[..4].iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [ModelKind::Agent, ModelKind::Retrieval, ModelKind::Llm, ModelKind::Tool]);
        let root = &normalized.items[0];
        assert_eq!(root.request_id.as_deref(), Some(generated.traces[0].request_id.as_str()));
        assert_eq!(root.session_id.as_deref(), Some(generated.traces[0].session_id.as_str()));
    }

    #[test]
    fn a_marker_lands_in_the_first_traces_prompt() {
        let corpus = corpus();
        let generated = TraceGenerator::new(&corpus, 1, 0, 128).next_request_with(Some("zzmarker42"));
        let spans = &generated.request.resource_spans[0].scope_spans[0].spans;
        let holds = |span: &Span| format!("{:?}", span.attributes).contains("zzmarker42");
        assert!(holds(&spans[2]));
        assert_eq!(spans.iter().filter(|s| holds(s)).count(), 1);
    }
}
