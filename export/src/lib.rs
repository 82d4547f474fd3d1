//! Stored requests back to OTLP, so that evidence can travel: into a ticket, another store,
//! or a fresh Tracehound that rebuilds identical request views from it.
//!
//! A span is exported as it was received (resource, scope, attributes, events, links, kind,
//! status, flags), from its raw record; so is a log record. Normalization then reads them
//! again exactly as it did the first time. Scores are the one thing ingest cannot always
//! rebuild: those posted to the API, or attached to a request or session id, exist in no
//! span or log. Each of those travels as a `gen_ai.evaluation.result` log record with
//! Tracehound's own `tracehound.score.*` attributes naming its exact target and source,
//! which normalization reads back (`normalize/src/scores.rs`).

use std::collections::BTreeMap;

use base64::Engine;
use tracehound_proto::collector::logs::v1::ExportLogsServiceRequest;
use tracehound_proto::collector::trace::v1::ExportTraceServiceRequest;
use tracehound_proto::common::v1::KeyValue as OtlpKeyValue;
use tracehound_proto::common::v1::{any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValueList};
use tracehound_proto::logs::v1::{LogRecord as OtlpLogRecord, ResourceLogs, ScopeLogs};
use tracehound_proto::resource::v1::Resource;
use tracehound_proto::trace::v1::{span, ResourceSpans, ScopeSpans, Span as OtlpSpan, Status};
use tracehound_store::model::{AttrValue, KeyValue, LogRecord, Score, Span, StatusCode};
use tracehound_store::TraceData;

/// The event name of an evaluation result, as OTel GenAI names it.
pub const EVALUATION_EVENT: &str = "gen_ai.evaluation.result";
/// Attribute naming a carried score's target kind (`request`, `session`, `span`, ...).
pub const SCORE_TARGET_KIND: &str = "tracehound.score.target_kind";
/// Attribute naming a carried score's target id, exact.
pub const SCORE_TARGET_ID: &str = "tracehound.score.target_id";
/// Attribute naming, for a span target, the span's trace id (hex).
pub const SCORE_TRACE_ID: &str = "tracehound.score.trace_id";
/// Attribute naming a carried score's source (`api`, `llm-judge`, ...).
pub const SCORE_SOURCE: &str = "tracehound.score.source";
/// Attributes naming the scorecard, its version and the judge model of a score Tracehound's
/// online evaluation produced.
pub const SCORE_EVALUATOR: [&str; 3] =
    ["tracehound.score.evaluator.scorecard", "tracehound.score.evaluator.version", "tracehound.score.evaluator.model"];

/// One stored request as OTLP: its trace export, and its logs export when it has log
/// records or scores ingest would not rebuild from its spans and logs.
pub fn request_export(data: &TraceData) -> (ExportTraceServiceRequest, Option<ExportLogsServiceRequest>) {
    let mut rebuilt = tracehound_normalize::scores_from_spans(&data.spans);
    rebuilt.extend(tracehound_normalize::scores_from_logs(&data.logs));
    let carried = carried_scores(data, &rebuilt);
    (trace_export(data), logs_export(data, &carried))
}

/// The spans of one stored request as one OTLP trace export, grouped by resource and scope.
pub fn trace_export(data: &TraceData) -> ExportTraceServiceRequest {
    // Keyed by the resource and scope as they were sent, in first-seen order.
    let mut groups: Vec<(Vec<KeyValue>, Scope, Vec<OtlpSpan>)> = Vec::new();
    for span in &data.spans {
        let scope = Scope::of_span(span);
        let otlp = otlp_span(span);
        match groups.iter_mut().find(|(r, s, _)| *r == span.raw.resource && *s == scope) {
            Some((_, _, spans)) => spans.push(otlp),
            None => groups.push((span.raw.resource.clone(), scope, vec![otlp])),
        }
    }
    let mut by_resource: Vec<ResourceSpans> = Vec::new();
    for (resource, scope, spans) in groups {
        let scope_spans = ScopeSpans { scope: Some(scope.otlp()), spans, schema_url: String::new() };
        match by_resource
            .iter_mut()
            .find(|r| r.resource.as_ref().map(|r| &r.attributes) == Some(&attributes(&resource)))
        {
            Some(existing) => existing.scope_spans.push(scope_spans),
            None => by_resource.push(ResourceSpans {
                resource: Some(Resource { attributes: attributes(&resource), ..Default::default() }),
                scope_spans: vec![scope_spans],
                schema_url: String::new(),
            }),
        }
    }
    ExportTraceServiceRequest { resource_spans: by_resource }
}

/// The log records of one stored request, and the scores `carried` (those ingest cannot
/// rebuild from its spans and logs), as one OTLP logs export; `None` when there are neither.
pub fn logs_export(data: &TraceData, carried: &[Score]) -> Option<ExportLogsServiceRequest> {
    if data.logs.is_empty() && carried.is_empty() {
        return None;
    }
    let mut groups: BTreeMap<(String, Vec<u8>), LogGroup> = BTreeMap::new();
    for log in &data.logs {
        // The resource's encoded form is a key that orders and compares; first seen order is
        // not needed for logs, which carry their own times.
        let key = (log.scope_name.clone(), resource_key(&log.resource));
        groups
            .entry(key)
            .or_insert_with(|| (log.resource.clone(), log.scope_name.clone(), Vec::new()))
            .2
            .push(otlp_log(log));
    }
    let resource_of_trace = data.spans.first().map(|s| s.raw.resource.clone()).unwrap_or_default();
    for score in carried {
        let key = ("tracehound".to_string(), resource_key(&resource_of_trace));
        groups
            .entry(key)
            .or_insert_with(|| (resource_of_trace.clone(), "tracehound".to_string(), Vec::new()))
            .2
            .push(score_log(score, data));
    }
    let resource_logs = groups
        .into_values()
        .map(|(resource, scope, log_records)| ResourceLogs {
            resource: Some(Resource { attributes: attributes(&resource), ..Default::default() }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope { name: scope, ..Default::default() }),
                log_records,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        })
        .collect();
    Some(ExportLogsServiceRequest { resource_logs })
}

/// Log records of one resource and scope: the resource, the scope name, the records.
type LogGroup = (Vec<KeyValue>, String, Vec<OtlpLogRecord>);

/// The stored scores of a request that ingest would not rebuild from `rebuilt`, the scores
/// its spans and logs yield when read again.
pub fn carried_scores(data: &TraceData, rebuilt: &[Score]) -> Vec<Score> {
    data.scores.iter().filter(|s| !rebuilt.contains(s)).cloned().collect()
}

#[derive(Debug, Clone, PartialEq)]
struct Scope {
    name: String,
    version: String,
    attributes: Vec<KeyValue>,
}

impl Scope {
    fn of_span(span: &Span) -> Self {
        Scope {
            name: span.raw.scope_name.clone(),
            version: span.raw.scope_version.clone(),
            attributes: span.raw.scope_attributes.clone(),
        }
    }

    fn otlp(&self) -> InstrumentationScope {
        InstrumentationScope {
            name: self.name.clone(),
            version: self.version.clone(),
            attributes: attributes(&self.attributes),
            dropped_attributes_count: 0,
        }
    }
}

fn resource_key(resource: &[KeyValue]) -> Vec<u8> {
    // Only for grouping: a lossy rendering would merely split a group in two.
    format!("{resource:?}").into_bytes()
}

fn otlp_span(span: &Span) -> OtlpSpan {
    let raw = &span.raw;
    OtlpSpan {
        trace_id: span.trace_id.to_vec(),
        span_id: span.span_id.to_vec(),
        trace_state: raw.trace_state.clone(),
        parent_span_id: span.parent_span_id.map(|p| p.to_vec()).unwrap_or_default(),
        flags: raw.flags,
        name: span.name.clone(),
        kind: raw.otel_kind,
        start_time_unix_nano: span.start_unix_nano,
        end_time_unix_nano: span.end_unix_nano,
        attributes: attributes(&raw.attributes),
        dropped_attributes_count: raw.dropped[0],
        events: raw
            .events
            .iter()
            .map(|e| span::Event {
                time_unix_nano: e.time_unix_nano,
                name: e.name.clone(),
                attributes: attributes(&e.attributes),
                dropped_attributes_count: e.dropped_attributes_count,
            })
            .collect(),
        dropped_events_count: raw.dropped[1],
        links: raw
            .links
            .iter()
            .map(|l| span::Link {
                trace_id: hex::decode(&l.trace_id).unwrap_or_default(),
                span_id: hex::decode(&l.span_id).unwrap_or_default(),
                trace_state: l.trace_state.clone(),
                attributes: attributes(&l.attributes),
                dropped_attributes_count: 0,
                flags: 0,
            })
            .collect(),
        dropped_links_count: raw.dropped[2],
        status: Some(Status {
            message: span.status_message.clone(),
            code: match span.status {
                StatusCode::Unset => 0,
                StatusCode::Ok => 1,
                StatusCode::Error => 2,
            },
        }),
    }
}

fn otlp_log(log: &LogRecord) -> OtlpLogRecord {
    OtlpLogRecord {
        time_unix_nano: log.time_unix_nano,
        observed_time_unix_nano: log.time_unix_nano,
        severity_number: log.severity_number,
        severity_text: log.severity_text.clone(),
        body: log.body.as_ref().map(any_value_of),
        attributes: attributes(&log.attributes),
        dropped_attributes_count: 0,
        flags: 0,
        trace_id: if log.trace_id == [0; 16] { Vec::new() } else { log.trace_id.to_vec() },
        span_id: if log.span_id == [0; 8] { Vec::new() } else { log.span_id.to_vec() },
        event_name: log.event_name.clone(),
    }
}

/// A score as an evaluation-result log record that names its exact target and source.
fn score_log(score: &Score, data: &TraceData) -> OtlpLogRecord {
    let text =
        |key: &str, value: &str| OtlpKeyValue { key: key.into(), value: Some(string(value)), ..Default::default() };
    let mut attrs = vec![
        text("gen_ai.evaluation.name", &score.name),
        text(SCORE_TARGET_KIND, score.target_kind.as_str()),
        text(SCORE_TARGET_ID, &score.target_id),
        text(SCORE_SOURCE, &score.source),
    ];
    if let Some(trace) = &score.trace_id {
        attrs.push(text(SCORE_TRACE_ID, trace));
    }
    if let Some(evaluator) = &score.evaluator {
        attrs.push(text(SCORE_EVALUATOR[0], &evaluator.scorecard));
        attrs.push(text(SCORE_EVALUATOR[1], &evaluator.version));
        if let Some(model) = &evaluator.model {
            attrs.push(text(SCORE_EVALUATOR[2], model));
        }
    }
    if let Some(value) = score.value {
        attrs.push(OtlpKeyValue {
            key: "gen_ai.evaluation.score.value".into(),
            value: Some(AnyValue { value: Some(any_value::Value::DoubleValue(value)) }),
            ..Default::default()
        });
    }
    if let Some(label) = &score.label {
        attrs.push(text("gen_ai.evaluation.score.label", label));
    }
    if let Some(explanation) = &score.explanation {
        attrs.push(text("gen_ai.evaluation.explanation", explanation));
    }
    OtlpLogRecord {
        time_unix_nano: score.time_unix_nano,
        observed_time_unix_nano: score.time_unix_nano,
        attributes: attrs,
        // The trace it travels with, so that an import keeps it beside its request.
        trace_id: data.summary.trace_id.to_vec(),
        event_name: EVALUATION_EVENT.into(),
        ..Default::default()
    }
}

fn string(value: &str) -> AnyValue {
    AnyValue { value: Some(any_value::Value::StringValue(value.to_string())) }
}

fn attributes(list: &[KeyValue]) -> Vec<OtlpKeyValue> {
    list.iter()
        .map(|kv| OtlpKeyValue {
            key: kv.key.clone(),
            value: kv.value.as_ref().map(any_value_of),
            ..Default::default()
        })
        .collect()
}

fn any_value_of(value: &AttrValue) -> AnyValue {
    let value = match value {
        AttrValue::Bool(b) => any_value::Value::BoolValue(*b),
        AttrValue::Int(i) => any_value::Value::IntValue(*i),
        AttrValue::Double(d) => any_value::Value::DoubleValue(*d),
        AttrValue::Str(s) => any_value::Value::StringValue(s.clone()),
        AttrValue::Bytes { bytes_b64 } => any_value::Value::BytesValue(
            base64::engine::general_purpose::STANDARD.decode(bytes_b64).unwrap_or_default(),
        ),
        AttrValue::Array(items) => {
            any_value::Value::ArrayValue(ArrayValue { values: items.iter().map(any_value_of).collect() })
        }
        AttrValue::Map(entries) => any_value::Value::KvlistValue(KeyValueList { values: attributes(entries) }),
    };
    AnyValue { value: Some(value) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use tracehound_normalize::{normalize_logs, normalize_traces, NormalizeConfig};
    use tracehound_store::model::{EvaluatorVersion, ScoreTargetKind};
    use tracehound_store::summary::TraceSummary;

    const FIXTURE: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/otel-genai-http-protobuf/requests");

    /// Every span and log record of the fixture, as normalization stores them.
    fn stored() -> (Vec<Span>, Vec<LogRecord>) {
        let config = NormalizeConfig::default();
        let (mut spans, mut logs) = (Vec::new(), Vec::new());
        let mut files: Vec<_> = std::fs::read_dir(FIXTURE).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for path in files {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with("-traces.pb") {
                let request = ExportTraceServiceRequest::decode(&std::fs::read(&path).unwrap()[..]).unwrap();
                spans.extend(normalize_traces(&request, &config).items);
            } else if name.ends_with("-logs.pb") {
                let request = ExportLogsServiceRequest::decode(&std::fs::read(&path).unwrap()[..]).unwrap();
                logs.extend(normalize_logs(&request, &config).items);
            }
        }
        (spans, logs)
    }

    fn data(spans: Vec<Span>, logs: Vec<LogRecord>, scores: Vec<Score>) -> TraceData {
        let trace_id = spans.first().map(|s| s.trace_id).unwrap_or_default();
        TraceData { summary: TraceSummary::new(trace_id), spans, logs, scores }
    }

    #[test]
    fn spans_read_again_from_their_export_are_the_spans_stored() {
        let (spans, _) = stored();
        assert!(spans.len() > 10, "the fixture has spans");
        let again = normalize_traces(&trace_export(&data(spans.clone(), vec![], vec![])), &NormalizeConfig::default());
        assert_eq!(again.rejected, 0);
        // Grouped by resource and scope, the export orders spans its own way.
        let key = |s: &Span| (s.trace_id, s.span_id);
        let (mut again, mut spans) = (again.items, spans);
        again.sort_by_key(key);
        spans.sort_by_key(key);
        assert_eq!(again.len(), spans.len());
        for (a, b) in again.iter().zip(&spans) {
            assert_eq!(a, b, "span {} differs", hex::encode(b.span_id));
        }
    }

    #[test]
    fn log_records_read_again_from_their_export_are_the_records_stored() {
        let (spans, logs) = stored();
        assert!(!logs.is_empty(), "the fixture has GenAI log events");
        let export = logs_export(&data(spans, logs.clone(), vec![]), &[]).unwrap();
        let mut again = normalize_logs(&export, &NormalizeConfig::default()).items;
        let key = |l: &LogRecord| (l.time_unix_nano, l.span_id);
        again.sort_by_key(key);
        let mut logs = logs;
        logs.sort_by_key(key);
        assert_eq!(again, logs);
    }

    #[test]
    fn a_score_posted_for_a_request_id_comes_back_as_one() {
        let (spans, _) = stored();
        let score = Score {
            target_kind: ScoreTargetKind::Request,
            target_id: "req_0001".into(),
            trace_id: None,
            name: "helpfulness".into(),
            value: Some(0.25),
            label: Some("fail".into()),
            explanation: Some("did not answer".into()),
            source: "llm-judge".into(),
            time_unix_nano: 1_795_898_433_000_000_000,
            evaluator: Some(EvaluatorVersion {
                scorecard: "support".into(),
                version: "3".into(),
                model: Some("judge-1".into()),
            }),
        };
        let export = logs_export(&data(spans, vec![], vec![score.clone()]), std::slice::from_ref(&score)).unwrap();
        let logs = normalize_logs(&export, &NormalizeConfig::default()).items;
        assert_eq!(tracehound_normalize::scores_from_logs(&logs), vec![score]);
    }
}
