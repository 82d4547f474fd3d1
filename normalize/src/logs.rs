//! `ExportLogsServiceRequest` → model [`LogRecord`]s, verbatim, plus what GenAI events carry
//! about their model call (read with the same parsers as spans).

use tracehound_proto::collector::logs::v1::ExportLogsServiceRequest;
use tracehound_proto::logs::v1::LogRecord as ProtoLogRecord;
use tracehound_store::model::{AttrValue, KeyValue, LlmCall, LogRecord, SpanId, TraceId};

use super::attrs::{any_json, AttrMap, Converter};
use super::config::NormalizeConfig;
use super::ids::log_ids;
use super::limits::{check_time, now_unix_nano, LimitError};
use super::llm::{llm_call, CarriedMessages};
use super::messages::{event_message, is_message_event};
use super::outcome::Normalized;

/// The OTel GenAI details event: the inference span's attributes, content structured.
pub const DETAILS_EVENT: &str = "gen_ai.client.inference.operation.details";

/// Normalizes every log record of an export request; records with misshapen ids are counted
/// and skipped (empty ids are fine: a log need not belong to a span).
pub fn normalize_logs(request: &ExportLogsServiceRequest, cfg: &NormalizeConfig) -> Normalized<LogRecord> {
    let mut outcome = Normalized::default();
    let now = now_unix_nano();
    for resource_logs in &request.resource_logs {
        let mut resource_converter = Converter::new(cfg.max_value_bytes);
        let resource_attributes = resource_logs.resource.as_ref().map(|resource| resource.attributes.as_slice());
        let resource = resource_converter.key_values(resource_attributes.unwrap_or_default(), "resource/");
        outcome.truncated_values += resource_converter.truncated_values;
        for scope_logs in &resource_logs.scope_logs {
            let scope_name = scope_logs.scope.as_ref().map(|scope| scope.name.clone()).unwrap_or_default();
            for (index, record) in scope_logs.log_records.iter().enumerate() {
                let time =
                    if record.time_unix_nano != 0 { record.time_unix_nano } else { record.observed_time_unix_nano };
                let limited = if record.attributes.len() > cfg.max_attributes_per_span {
                    Err(LimitError::Attributes { count: record.attributes.len(), limit: cfg.max_attributes_per_span })
                } else {
                    check_time(time, cfg, now)
                };
                if let Err(error) = limited {
                    outcome.reject(format!("log record {index} of scope '{scope_name}': {error}"));
                    continue;
                }
                match log_ids(&record.trace_id, &record.span_id) {
                    Ok(ids) => {
                        let (normalized, truncated) = normalize_record(record, ids, &resource, &scope_name, cfg);
                        outcome.truncated_values += truncated;
                        outcome.items.push(normalized);
                    }
                    Err(error) => outcome.reject(format!("log record {index} of scope '{scope_name}': {error}")),
                }
            }
        }
    }
    outcome
}

/// One record and the number of its values that were cut.
fn normalize_record(
    record: &ProtoLogRecord,
    (trace_id, span_id): (TraceId, SpanId),
    resource: &[KeyValue],
    scope_name: &str,
    cfg: &NormalizeConfig,
) -> (LogRecord, u64) {
    let mut converter = Converter::new(cfg.max_value_bytes);
    let attributes = converter.key_values(&record.attributes, "");
    let body = converter.value(record.body.as_ref(), "", "body");
    let attrs = AttrMap::new(&attributes);
    // Older SDKs name the event in an attribute rather than the record's own field.
    let event_name = Some(record.event_name.clone())
        .filter(|name| !name.is_empty())
        .or_else(|| attrs.text("event.name"))
        .unwrap_or_default();
    let llm = genai_call(&event_name, &attributes, body.as_ref());
    let time_unix_nano =
        if record.time_unix_nano != 0 { record.time_unix_nano } else { record.observed_time_unix_nano };
    let normalized = LogRecord {
        trace_id,
        span_id,
        event_name,
        time_unix_nano,
        severity_number: record.severity_number,
        severity_text: record.severity_text.clone(),
        body,
        attributes,
        resource: resource.to_vec(),
        scope_name: scope_name.to_string(),
        llm,
        // Filled by redaction, after normalization.
        redactions: Default::default(),
    };
    (normalized, converter.truncated_values)
}

/// What a GenAI event says about its model call; `None` for any other log.
pub fn genai_call(event_name: &str, attributes: &[KeyValue], body: Option<&AttrValue>) -> Option<LlmCall> {
    if event_name == DETAILS_EVENT {
        // The spec puts the details in attributes; a body kvlist is read too, attributes first.
        let mut combined = attributes.to_vec();
        if let Some(AttrValue::Map(entries)) = body {
            combined.extend(entries.iter().cloned());
        }
        return Some(llm_call(&AttrMap::new(&combined), CarriedMessages::default()));
    }
    if !is_message_event(event_name) {
        return None;
    }
    let attrs = AttrMap::new(attributes);
    // A message event without a body may carry its fields as attributes instead.
    let body_json = body.map(any_json).unwrap_or_else(|| attrs.to_json_object());
    let mut carried = CarriedMessages::default();
    if let Some(message) = event_message(event_name, &body_json) {
        carried.push(message);
    }
    Some(llm_call(&attrs, carried))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehound_proto::common::v1::{any_value::Value, AnyValue, KeyValue as ProtoKeyValue};
    use tracehound_proto::logs::v1::{ResourceLogs, ScopeLogs};
    use tracehound_store::model::MessagePart;

    fn request(records: Vec<ProtoLogRecord>) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs { log_records: records, ..Default::default() }],
                ..Default::default()
            }],
        }
    }

    fn string(text: &str) -> AnyValue {
        AnyValue { value: Some(Value::StringValue(text.into())) }
    }

    fn attribute(key: &str, value: AnyValue) -> ProtoKeyValue {
        ProtoKeyValue { key: key.into(), value: Some(value), ..Default::default() }
    }

    #[test]
    fn empty_ids_become_zeros_and_observed_time_stands_in() {
        let record = ProtoLogRecord { observed_time_unix_nano: 42, ..Default::default() };
        let out = normalize_logs(&request(vec![record]), &NormalizeConfig::default());
        assert_eq!(out.items[0].trace_id, [0; 16]);
        assert_eq!(out.items[0].span_id, [0; 8]);
        assert_eq!(out.items[0].time_unix_nano, 42);
    }

    #[test]
    fn misshapen_ids_are_rejected_and_siblings_kept() {
        let bad = ProtoLogRecord { trace_id: vec![1; 5], time_unix_nano: 1, ..Default::default() };
        let good =
            ProtoLogRecord { trace_id: vec![1; 16], span_id: vec![2; 8], time_unix_nano: 1, ..Default::default() };
        let out = normalize_logs(&request(vec![bad, good]), &NormalizeConfig::default());
        assert_eq!(out.items.len(), 1);
        assert_eq!(out.rejected, 1);
        assert_eq!(
            out.rejection_reasons,
            vec!["log record 0 of scope '': trace_id must be empty or 16 bytes, got 5".to_string()]
        );
    }

    #[test]
    fn event_name_attribute_is_a_fallback() {
        let record = ProtoLogRecord {
            attributes: vec![attribute("event.name", string("gen_ai.user.message"))],
            time_unix_nano: 1,
            ..Default::default()
        };
        let out = normalize_logs(&request(vec![record]), &NormalizeConfig::default());
        assert_eq!(out.items[0].event_name, "gen_ai.user.message");
    }

    #[test]
    fn legacy_user_message_event_body_becomes_an_input_message() {
        let body = AnyValue {
            value: Some(Value::KvlistValue(tracehound_proto::common::v1::KeyValueList {
                values: vec![attribute("content", string("Where is my order?"))],
            })),
        };
        let record = ProtoLogRecord {
            event_name: "gen_ai.user.message".into(),
            body: Some(body),
            attributes: vec![attribute("gen_ai.system", string("openai"))],
            time_unix_nano: 1,
            ..Default::default()
        };
        let out = normalize_logs(&request(vec![record]), &NormalizeConfig::default());
        let call = out.items[0].llm.clone().unwrap_or_default();
        assert_eq!(call.provider.as_deref(), Some("openai"));
        assert_eq!(call.input_messages[0].role, "user");
        assert_eq!(call.input_messages[0].parts, vec![MessagePart::Text { content: "Where is my order?".into() }]);
    }

    #[test]
    fn ordinary_logs_carry_no_llm_call() {
        let record = ProtoLogRecord {
            event_name: "app.started".into(),
            body: Some(string("hello")),
            time_unix_nano: 1,
            ..Default::default()
        };
        let out = normalize_logs(&request(vec![record]), &NormalizeConfig::default());
        assert_eq!(out.items[0].llm, None);
        assert_eq!(out.items[0].body, Some(AttrValue::Str("hello".into())));
    }
}
