//! `ExportTraceServiceRequest` → model [`Span`]s: validate ids, keep the raw evidence (capped),
//! then read every normalized field from the converted attributes.

use tracehound_proto::collector::trace::v1::ExportTraceServiceRequest;
use tracehound_proto::trace::v1::Span as ProtoSpan;
use tracehound_store::model::{KeyValue, RawSpan, Span, SpanEvent, SpanKind, SpanLink};

use super::attrs::{AttrMap, Converter};
use super::config::NormalizeConfig;
use super::identity::identity_of;
use super::ids::{span_ids, SpanIds};
use super::kind::classify;
use super::limits::{check_span, now_unix_nano};
use super::llm::{carries_call, llm_call, CarriedMessages};
use super::outcome::Normalized;
use super::retrieval::retrieval_of;
use super::status::{error_info, status_of};
use super::tool::tool_call;
use super::versions::{versions_of, VersionSources};

/// Raw input and output keys, in precedence order.
const INPUT_KEYS: &[&str] = &["input.value", "traceloop.entity.input", "langfuse.observation.input"];
const OUTPUT_KEYS: &[&str] = &["output.value", "traceloop.entity.output", "langfuse.observation.output"];

/// What every span of one scope shares: its resource and scope, already converted.
struct ScopeContext<'r> {
    resource: &'r [KeyValue],
    scope_name: String,
    scope_version: String,
    scope_attributes: Vec<KeyValue>,
    /// Resource and scope keys that were cut, recorded on each span that carries them.
    inherited_truncations: Vec<String>,
}

/// Normalizes every span of an export request; spans with invalid ids are counted and skipped.
pub fn normalize_traces(request: &ExportTraceServiceRequest, cfg: &NormalizeConfig) -> Normalized<Span> {
    let mut outcome = Normalized::default();
    let now = now_unix_nano();
    for resource_spans in &request.resource_spans {
        let mut resource_converter = Converter::new(cfg.max_value_bytes);
        let resource_attributes = resource_spans.resource.as_ref().map(|resource| resource.attributes.as_slice());
        let resource = resource_converter.key_values(resource_attributes.unwrap_or_default(), "resource/");
        outcome.truncated_values += resource_converter.truncated_values;
        for scope_spans in &resource_spans.scope_spans {
            let mut scope_converter = Converter::new(cfg.max_value_bytes);
            let scope = scope_spans.scope.as_ref();
            let scope_attributes =
                scope_converter.key_values(scope.map(|s| s.attributes.as_slice()).unwrap_or_default(), "scope/");
            outcome.truncated_values += scope_converter.truncated_values;
            let context = ScopeContext {
                resource: &resource,
                scope_name: scope.map(|s| s.name.clone()).unwrap_or_default(),
                scope_version: scope.map(|s| s.version.clone()).unwrap_or_default(),
                scope_attributes,
                inherited_truncations: [resource_converter.truncated_keys.clone(), scope_converter.truncated_keys]
                    .concat(),
            };
            for (index, span) in scope_spans.spans.iter().enumerate() {
                if let Err(error) = check_span(span, cfg, now) {
                    outcome.reject(format!("span {index} of scope '{}': {error}", context.scope_name));
                    continue;
                }
                match span_ids(&span.trace_id, &span.span_id, &span.parent_span_id) {
                    Ok(ids) => {
                        let (normalized, truncated) = normalize_span(span, ids, &context, cfg);
                        outcome.truncated_values += truncated;
                        outcome.items.push(normalized);
                    }
                    Err(error) => outcome.reject(format!("span {index} of scope '{}': {error}", context.scope_name)),
                }
            }
        }
    }
    outcome
}

/// One span and the number of its own values that were cut.
fn normalize_span(span: &ProtoSpan, ids: SpanIds, context: &ScopeContext<'_>, cfg: &NormalizeConfig) -> (Span, u64) {
    let mut converter = Converter::new(cfg.max_value_bytes);
    let attributes = converter.key_values(&span.attributes, "");
    let events = convert_events(span, &mut converter);
    let links = convert_links(span, &mut converter);

    let attrs = AttrMap::new(&attributes);
    let resource = AttrMap::new(context.resource);
    let event_names: Vec<&str> = events.iter().map(|event| event.name.as_str()).collect();
    let (kind, subkind) = classify(&attrs, &event_names);
    let (status, status_message) = status_of(span.status.as_ref());
    let error = error_info(status, &status_message, &attrs, &events);
    let identity = identity_of(&attrs, &resource, cfg);
    let call = llm_call(&attrs, CarriedMessages::from_span_events(&events));
    let llm = (matches!(kind, SpanKind::Llm | SpanKind::Embedding) || carries_call(&call)).then_some(call);
    let tool = if kind == SpanKind::Tool { tool_call(&attrs, &span.name) } else { None };
    let retrieval = retrieval_of(&attrs, &events, kind == SpanKind::Retrieval);
    let sources = VersionSources {
        attrs: &attrs,
        resource: &resource,
        llm: llm.as_ref(),
        retrieval: retrieval.as_ref(),
        tool: tool.as_ref(),
    };
    let versions = versions_of(sources, cfg);
    let input_value = attrs.first_json_text(INPUT_KEYS);
    let output_value = attrs.first_json_text(OUTPUT_KEYS);
    let service = resource.text("service.name").unwrap_or_default();

    let mut truncated_keys = context.inherited_truncations.clone();
    truncated_keys.extend(converter.truncated_keys);
    let raw = RawSpan {
        resource: context.resource.to_vec(),
        scope_name: context.scope_name.clone(),
        scope_version: context.scope_version.clone(),
        scope_attributes: context.scope_attributes.clone(),
        attributes,
        events,
        links,
        otel_kind: span.kind,
        trace_state: span.trace_state.clone(),
        flags: span.flags,
        dropped: [span.dropped_attributes_count, span.dropped_events_count, span.dropped_links_count],
        truncated_keys,
    };
    let normalized = Span {
        trace_id: ids.trace_id,
        span_id: ids.span_id,
        parent_span_id: ids.parent_span_id,
        name: span.name.clone(),
        kind,
        subkind,
        start_unix_nano: span.start_time_unix_nano,
        end_unix_nano: span.end_time_unix_nano,
        status,
        status_message,
        service,
        request_id: identity.request_id,
        session_id: identity.session_id,
        user_id: identity.user_id,
        llm,
        tool,
        retrieval,
        input_value,
        output_value,
        error,
        versions,
        raw,
        // Filled by redaction, after normalization.
        redactions: Default::default(),
    };
    (normalized, converter.truncated_values)
}

fn convert_events(span: &ProtoSpan, converter: &mut Converter) -> Vec<SpanEvent> {
    span.events
        .iter()
        .map(|event| SpanEvent {
            name: event.name.clone(),
            time_unix_nano: event.time_unix_nano,
            attributes: converter.key_values(&event.attributes, &format!("event/{}/", event.name)),
            dropped_attributes_count: event.dropped_attributes_count,
        })
        .collect()
}

fn convert_links(span: &ProtoSpan, converter: &mut Converter) -> Vec<SpanLink> {
    span.links
        .iter()
        .map(|link| SpanLink {
            trace_id: hex::encode(&link.trace_id),
            span_id: hex::encode(&link.span_id),
            trace_state: link.trace_state.clone(),
            attributes: converter.key_values(&link.attributes, "link/"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehound_proto::common::v1::KeyValue as ProtoKeyValue;
    use tracehound_proto::common::v1::{any_value::Value, AnyValue, ArrayValue, InstrumentationScope, KeyValueList};
    use tracehound_proto::resource::v1::Resource;
    use tracehound_proto::trace::v1::{span::Event, ResourceSpans, ScopeSpans, Status};
    use tracehound_store::model::{AttrValue, MessagePart, StatusCode, VersionDimension};

    fn string(text: &str) -> AnyValue {
        AnyValue { value: Some(Value::StringValue(text.into())) }
    }

    fn attribute(key: &str, value: AnyValue) -> ProtoKeyValue {
        ProtoKeyValue { key: key.into(), value: Some(value), ..Default::default() }
    }

    fn kvlist(pairs: Vec<ProtoKeyValue>) -> AnyValue {
        AnyValue { value: Some(Value::KvlistValue(KeyValueList { values: pairs })) }
    }

    fn array(items: Vec<AnyValue>) -> AnyValue {
        AnyValue { value: Some(Value::ArrayValue(ArrayValue { values: items })) }
    }

    fn span(span_id: u8, attributes: Vec<ProtoKeyValue>) -> ProtoSpan {
        ProtoSpan {
            trace_id: vec![7; 16],
            span_id: vec![span_id; 8],
            name: "s".into(),
            start_time_unix_nano: 1_790_000_000_000_000_000,
            attributes,
            ..Default::default()
        }
    }

    fn request(spans: Vec<ProtoSpan>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        attribute("service.name", string("support-agent")),
                        attribute("service.version", string("1.4.2")),
                    ],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope { name: "lib".into(), ..Default::default() }),
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn normalize_one(attributes: Vec<ProtoKeyValue>) -> Span {
        let mut out = normalize_traces(&request(vec![span(1, attributes)]), &NormalizeConfig::default());
        out.items.pop().unwrap_or_default()
    }

    #[test]
    fn spans_with_bad_ids_are_rejected_while_siblings_are_kept() {
        let short_trace = ProtoSpan { trace_id: vec![1; 4], ..span(1, vec![]) };
        let zero_span = ProtoSpan { span_id: vec![0; 8], ..span(2, vec![]) };
        let bad_parent = ProtoSpan { parent_span_id: vec![1; 3], ..span(3, vec![]) };
        let good = ProtoSpan { parent_span_id: vec![9; 8], ..span(4, vec![]) };
        let out =
            normalize_traces(&request(vec![short_trace, zero_span, bad_parent, good]), &NormalizeConfig::default());
        assert_eq!(out.rejected, 3);
        assert_eq!(out.items.len(), 1);
        assert_eq!(out.items[0].span_id, [4; 8]);
        assert_eq!(out.items[0].parent_span_id, Some([9; 8]));
        assert_eq!(
            out.rejection_reasons,
            vec![
                "span 0 of scope 'lib': trace_id must be 16 bytes, got 4".to_string(),
                "span 1 of scope 'lib': span_id must not be all zero".to_string(),
                "span 2 of scope 'lib': parent_span_id must be empty or 8 bytes, got 3".to_string(),
            ]
        );
    }

    #[test]
    fn big_values_are_cut_with_a_marker_and_their_keys_recorded() {
        // Above the resource's longest value ("support-agent"), so only the span value is cut.
        let cfg = NormalizeConfig { max_value_bytes: 16, ..NormalizeConfig::default() };
        let big = "x".repeat(40);
        let out = normalize_traces(&request(vec![span(1, vec![attribute("input.value", string(&big))])]), &cfg);
        let normalized = &out.items[0];
        let expected = format!("{}…[truncated 24 bytes]", "x".repeat(16));
        assert_eq!(normalized.raw.attributes[0].value, Some(AttrValue::Str(expected.clone())));
        assert_eq!(normalized.input_value.as_deref(), Some(expected.as_str()));
        assert_eq!(normalized.raw.truncated_keys, vec!["input.value".to_string()]);
        assert_eq!(out.truncated_values, 1);
    }

    #[test]
    fn json_string_and_structured_input_messages_normalize_alike() {
        let text = r#"[{"role":"user","parts":[{"type":"text","content":"Where is my order?"}]}]"#;
        let structured = array(vec![kvlist(vec![
            attribute("role", string("user")),
            attribute(
                "parts",
                array(vec![kvlist(vec![
                    attribute("type", string("text")),
                    attribute("content", string("Where is my order?")),
                ])]),
            ),
        ])]);
        let chat = |messages| {
            vec![attribute("gen_ai.operation.name", string("chat")), attribute("gen_ai.input.messages", messages)]
        };
        let from_text = normalize_one(chat(string(text))).llm.unwrap_or_default();
        let from_structure = normalize_one(chat(structured)).llm.unwrap_or_default();
        assert_eq!(from_text.input_messages, from_structure.input_messages);
        assert_eq!(from_text.input_messages[0].parts, vec![MessagePart::Text { content: "Where is my order?".into() }]);
    }

    #[test]
    fn legacy_prompt_attributes_become_input_messages() {
        let normalized = normalize_one(vec![
            attribute("llm.request.type", string("chat")),
            attribute("gen_ai.prompt.0.role", string("user")),
            attribute("gen_ai.prompt.0.content", string("Where is my order?")),
            attribute("gen_ai.completion.0.role", string("assistant")),
            attribute("gen_ai.completion.0.content", string("On its way.")),
            attribute("gen_ai.completion.0.finish_reason", string("stop")),
        ]);
        assert_eq!(normalized.kind, SpanKind::Llm);
        let call = normalized.llm.unwrap_or_default();
        assert_eq!(call.input_messages[0].text(), "Where is my order?");
        assert_eq!(call.output_messages[0].text(), "On its way.");
        assert_eq!(call.finish_reasons, vec!["stop".to_string()]);
    }

    #[test]
    fn prompt_version_attribute_is_a_version_not_a_message() {
        let normalized = normalize_one(vec![
            attribute("gen_ai.prompt.name", string("support_system")),
            attribute("gen_ai.prompt.version", string("v7")),
        ]);
        assert_eq!(normalized.llm, None);
        assert_eq!(normalized.versions.get(&VersionDimension::PromptVersion).map(String::as_str), Some("v7"));
        assert_eq!(normalized.versions.get(&VersionDimension::PromptName).map(String::as_str), Some("support_system"));
    }

    #[test]
    fn workflow_root_with_messages_keeps_its_chain_kind_and_gets_an_llm_call() {
        let normalized = normalize_one(vec![
            attribute("gen_ai.operation.name", string("invoke_workflow")),
            attribute("gen_ai.input.messages", string(r#"[{"role":"user","parts":[{"type":"text","content":"hi"}]}]"#)),
        ]);
        assert_eq!(normalized.kind, SpanKind::Chain);
        assert_eq!(normalized.llm.map(|call| call.input_messages.len()), Some(1));
    }

    #[test]
    fn service_and_resource_versions_come_from_the_resource() {
        let normalized = normalize_one(vec![]);
        assert_eq!(normalized.service, "support-agent");
        assert_eq!(normalized.versions.get(&VersionDimension::ServiceVersion).map(String::as_str), Some("1.4.2"));
        assert_eq!(normalized.raw.resource.len(), 2);
        assert_eq!(normalized.raw.scope_name, "lib");
    }

    #[test]
    fn exception_event_and_error_status_give_error_info() {
        let event = Event {
            name: "exception".into(),
            attributes: vec![
                attribute("exception.type", string("LookupError")),
                attribute("exception.message", string("nope")),
            ],
            ..Default::default()
        };
        let failing = ProtoSpan {
            events: vec![event],
            status: Some(Status { code: 2, message: "nope".into() }),
            ..span(1, vec![attribute("gen_ai.operation.name", string("execute_tool"))])
        };
        let out = normalize_traces(&request(vec![failing]), &NormalizeConfig::default());
        let normalized = &out.items[0];
        assert_eq!(normalized.status, StatusCode::Error);
        assert_eq!(normalized.status_message, "nope");
        assert_eq!(normalized.error.as_ref().and_then(|e| e.error_type.as_deref()), Some("LookupError"));
        assert_eq!(normalized.raw.events.len(), 1);
    }

    #[test]
    fn hostile_input_does_not_panic() {
        let mut deep = string("leaf");
        for _ in 0..200 {
            deep = array(vec![deep]);
        }
        let weird = vec![
            attribute("llm.input_messages.99999999999999999999999.message.role", string("user")),
            attribute("llm.input_messages.", string("x")),
            attribute("gen_ai.input.messages", string("[[[[[[")),
            attribute("gen_ai.output.messages", array(vec![string("just text"), AnyValue { value: None }])),
            attribute("gen_ai.tool.definitions", string("{not json")),
            attribute("gen_ai.usage.input_tokens", AnyValue { value: Some(Value::DoubleValue(f64::NAN)) }),
            attribute("retrieval.documents.0.document.score", string("high")),
            attribute("deep", deep),
            ProtoKeyValue { key: String::new(), value: None, ..Default::default() },
        ];
        let spans = vec![
            ProtoSpan::default(),
            span(1, weird),
            ProtoSpan { status: Some(Status { code: -5, message: String::new() }), ..span(2, vec![]) },
        ];
        let out =
            normalize_traces(&request(spans), &NormalizeConfig { max_value_bytes: 0, ..NormalizeConfig::default() });
        assert_eq!(out.items.len(), 2);
        assert_eq!(out.rejected, 1);
    }
}
