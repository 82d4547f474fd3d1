//! Decoding cost of a stored LLM span: what every trace view and index rebuild pays per span.
//!
//! The span is shaped like a real OpenInference chat span: the normalized messages, and the
//! raw attributes kept verbatim beside them, so the prompt text is stored twice and every
//! attribute value goes through `AttrValue`'s deserializer.

// A benchmark's fixtures are ours: a failure to build them is a broken benchmark, not input.
#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::collections::BTreeMap;
use std::hint::black_box;
use tracehound_store::codec;
use tracehound_store::model::{
    AttrValue, KeyValue, LlmCall, Message, MessagePart, RawSpan, Span, SpanKind, StatusCode, TokenUsage,
};

/// Prose with the newlines, quotes and tabs real prompts carry, so JSON escapes them.
fn text(bytes: usize, seed: &str) -> String {
    let line = format!(
        "{seed}: the customer wrote \"my order #4471 never arrived\"\tand asked for a refund; \
         check the policy, cite it, and answer politely.\n"
    );
    line.repeat(bytes / line.len() + 1)[..bytes].to_string()
}

fn kv(key: &str, value: AttrValue) -> KeyValue {
    KeyValue { key: key.into(), value: Some(value) }
}

fn str_attr(key: &str, value: &str) -> KeyValue {
    kv(key, AttrValue::Str(value.into()))
}

fn llm_span() -> Span {
    let prompt = text(8 * 1024, "user");
    let answer = text(2 * 1024, "assistant");
    let system = "You are a support agent for an online shop. Answer in the customer's language.";
    let message = |role: &str, content: &str| Message {
        role: role.into(),
        parts: vec![MessagePart::Text { content: content.into() }],
        name: None,
        finish_reason: None,
    };
    let parameters: BTreeMap<String, serde_json::Value> =
        [("temperature".to_string(), serde_json::json!(0.2)), ("max_tokens".to_string(), serde_json::json!(1024))]
            .into();
    let llm = LlmCall {
        operation: Some("chat".into()),
        provider: Some("openai".into()),
        request_model: Some("gpt-4o-mini".into()),
        response_model: Some("gpt-4o-mini-2024-07-18".into()),
        system_fingerprint: Some("fp_0ba0d124f1".into()),
        response_id: Some("chatcmpl-AZ3x9Q1bC7pKf0t2".into()),
        system_instructions: Some(system.into()),
        input_messages: vec![message("system", system), message("user", &prompt)],
        output_messages: vec![Message { finish_reason: Some("stop".into()), ..message("assistant", &answer) }],
        parameters,
        usage: TokenUsage { input: Some(2113), output: Some(517), total: Some(2630), ..TokenUsage::default() },
        finish_reasons: vec!["stop".into()],
        ..LlmCall::default()
    };
    let attributes = vec![
        str_attr("openinference.span.kind", "LLM"),
        str_attr("llm.system", "openai"),
        str_attr("llm.provider", "openai"),
        str_attr("llm.model_name", "gpt-4o-mini-2024-07-18"),
        str_attr("llm.invocation_parameters", r#"{"temperature": 0.2, "max_tokens": 1024}"#),
        str_attr("llm.input_messages.0.message.role", "system"),
        str_attr("llm.input_messages.0.message.content", system),
        str_attr("llm.input_messages.1.message.role", "user"),
        str_attr("llm.input_messages.1.message.content", &prompt),
        str_attr("llm.output_messages.0.message.role", "assistant"),
        str_attr("llm.output_messages.0.message.content", &answer),
        kv("llm.token_count.prompt", AttrValue::Int(2113)),
        kv("llm.token_count.completion", AttrValue::Int(517)),
        kv("llm.token_count.total", AttrValue::Int(2630)),
        kv("llm.temperature", AttrValue::Double(0.2)),
        kv("llm.stream", AttrValue::Bool(false)),
        kv("gen_ai.response.finish_reasons", AttrValue::Array(vec![AttrValue::Str("stop".into())])),
        str_attr("session.id", "sess-5a1f00d3-0000-4c1e-9e21-42b1c0a7"),
        str_attr("user.id", "user-88231"),
        str_attr("metadata", r#"{"prompt_version": "v8", "tenant": "acme"}"#),
    ];
    let resource = vec![
        str_attr("service.name", "support-bot"),
        str_attr("service.version", "2.14.1"),
        str_attr("deployment.environment.name", "production"),
        str_attr("telemetry.sdk.language", "python"),
    ];
    Span {
        trace_id: [7; 16],
        span_id: [9; 8],
        parent_span_id: Some([3; 8]),
        name: "ChatCompletion".into(),
        kind: SpanKind::Llm,
        subkind: Some("LLM".into()),
        start_unix_nano: 1_764_300_000_000_000_000,
        end_unix_nano: 1_764_300_002_400_000_000,
        status: StatusCode::Ok,
        service: "support-bot".into(),
        session_id: Some("sess-5a1f00d3-0000-4c1e-9e21-42b1c0a7".into()),
        user_id: Some("user-88231".into()),
        llm: Some(llm),
        raw: RawSpan {
            resource,
            scope_name: "openinference.instrumentation.openai".into(),
            scope_version: "0.1.18".into(),
            attributes,
            ..RawSpan::default()
        },
        ..Span::default()
    }
}

fn decode(c: &mut Criterion) {
    let span = llm_span();
    let stored = codec::encode(&span).expect("encode");
    let json_len = serde_json::to_vec(&span).expect("json").len();
    let back: Span = codec::decode("spans", &stored).expect("decode");
    assert_eq!(back, span, "the bench span must round-trip");

    let mut group = c.benchmark_group("codec/decode");
    group.throughput(Throughput::Bytes(json_len as u64));
    group.bench_function("llm span (8 KiB prompt, 20 raw attributes)", |b| {
        b.iter(|| codec::decode::<Span>("spans", black_box(&stored)))
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
