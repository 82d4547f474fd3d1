//! Scores carried by telemetry: OTel `gen_ai.evaluation.result` events (span events and log
//! records) and OpenInference `evaluations.*` / `annotations.*` attributes, inline on the
//! judged span or on an evaluator span linked to its target.
//!
//! Read from normalized spans and records (their raw attributes are kept verbatim), so the
//! span and log normalization stay as they are; the ingest step adds these scores to the
//! same write batch.

use tracehound_store::model::{KeyValue, LogRecord, Score, ScoreTargetKind, Span, SpanKind};

use super::attrs::AttrMap;

/// The OTel GenAI event carrying one evaluation result.
pub const EVALUATION_EVENT: &str = "gen_ai.evaluation.result";

/// Every score the spans carry.
pub fn scores_from_spans(spans: &[Span]) -> Vec<Score> {
    let mut out = Vec::new();
    for span in spans {
        let trace_hex = hex::encode(span.trace_id);
        let span_hex = hex::encode(span.span_id);
        for event in span.raw.events.iter().filter(|e| e.name == EVALUATION_EVENT) {
            // The event sits on the span it judges, unless it names a response instead.
            let fallback = Some(Target::span(&trace_hex, &span_hex));
            if let Some(score) = evaluation_result(&event.attributes, event.time_unix_nano, fallback) {
                out.push(score);
            }
        }
        openinference_scores(span, &trace_hex, &span_hex, &mut out);
    }
    out
}

/// Every score the log records carry (`gen_ai.evaluation.result` events).
pub fn scores_from_logs(logs: &[LogRecord]) -> Vec<Score> {
    let mut out = Vec::new();
    for log in logs.iter().filter(|l| l.event_name == EVALUATION_EVENT || names_evaluation(&l.attributes)) {
        let fallback = if log.span_id != [0; 8] && log.trace_id != [0; 16] {
            Some(Target::span(&hex::encode(log.trace_id), &hex::encode(log.span_id)))
        } else if log.trace_id != [0; 16] {
            Some(Target { kind: ScoreTargetKind::Trace, id: hex::encode(log.trace_id), trace_id: None })
        } else {
            None
        };
        if let Some(score) = evaluation_result(&log.attributes, log.time_unix_nano, fallback) {
            out.push(score);
        }
    }
    out
}

/// Whether a log record is only a score Tracehound exported (it names the score's target
/// with `tracehound.score.target_id`): ingest keeps the score, not the record, so that an
/// import shows what the exporting server showed.
pub fn is_exported_score(log: &LogRecord) -> bool {
    log.event_name == EVALUATION_EVENT && log.attributes.iter().any(|kv| kv.key == "tracehound.score.target_id")
}

/// Older SDKs put the event name in an `event.name` attribute.
fn names_evaluation(attributes: &[KeyValue]) -> bool {
    AttrMap::new(attributes).text("event.name").as_deref() == Some(EVALUATION_EVENT)
}

struct Target {
    kind: ScoreTargetKind,
    id: String,
    trace_id: Option<String>,
}

impl Target {
    fn span(trace_hex: &str, span_hex: &str) -> Target {
        Target { kind: ScoreTargetKind::Span, id: span_hex.to_string(), trace_id: Some(trace_hex.to_string()) }
    }

    fn score(self, name: String, time_unix_nano: u64, source: &str) -> Score {
        Score {
            target_kind: self.kind,
            target_id: self.id,
            trace_id: self.trace_id,
            name,
            source: source.to_string(),
            time_unix_nano,
            ..Score::default()
        }
    }
}

/// One `gen_ai.evaluation.result`: the response it names wins over its context.
fn evaluation_result(attributes: &[KeyValue], time: u64, context: Option<Target>) -> Option<Score> {
    let attrs = AttrMap::new(attributes);
    let name = attrs.text("gen_ai.evaluation.name")?;
    // A score exported by Tracehound names its exact target and source (see the export
    // crate): a score posted for a request id must come back as one, not as the span's.
    let exported = match (attrs.text("tracehound.score.target_kind"), attrs.text("tracehound.score.target_id")) {
        (Some(kind), Some(id)) => {
            target_kind(&kind).map(|kind| Target { kind, id, trace_id: attrs.text("tracehound.score.trace_id") })
        }
        _ => None,
    };
    let target = match (exported, attrs.text("gen_ai.response.id")) {
        (Some(target), _) => target,
        (None, Some(response_id)) => Target { kind: ScoreTargetKind::Response, id: response_id, trace_id: None },
        (None, None) => context?,
    };
    let value = attrs.float("gen_ai.evaluation.score.value");
    let label = attrs.text("gen_ai.evaluation.score.label");
    if value.is_none() && label.is_none() {
        return None;
    }
    let source = attrs.text("tracehound.score.source");
    let mut score = target.score(name, time, source.as_deref().unwrap_or("otel-event"));
    score.value = value.filter(|v| v.is_finite());
    score.label = label;
    score.explanation = attrs.text("gen_ai.evaluation.explanation");
    if let (Some(scorecard), Some(version)) =
        (attrs.text("tracehound.score.evaluator.scorecard"), attrs.text("tracehound.score.evaluator.version"))
    {
        let model = attrs.text("tracehound.score.evaluator.model");
        score.evaluator = Some(tracehound_store::model::EvaluatorVersion { scorecard, version, model });
    }
    Some(score)
}

/// A target kind by its API name.
fn target_kind(name: &str) -> Option<ScoreTargetKind> {
    [
        ScoreTargetKind::Span,
        ScoreTargetKind::Trace,
        ScoreTargetKind::Request,
        ScoreTargetKind::Session,
        ScoreTargetKind::Response,
        ScoreTargetKind::Any,
    ]
    .into_iter()
    .find(|k| k.as_str() == name)
}

/// OpenInference feedback: `[trace.|session.]{evaluations.N.evaluation|annotations.N.annotation}.*`.
///
/// Without a scope prefix the target is the span itself, or, on an evaluator span, the span
/// its link names (parentage never names the target, per the OpenInference spec).
fn openinference_scores(span: &Span, trace_hex: &str, span_hex: &str, out: &mut Vec<Score>) {
    let attrs = AttrMap::new(&span.raw.attributes);
    let link = span.links_target();
    for (scope, family, item) in [
        ("", "evaluations.", "evaluation."),
        ("", "annotations.", "annotation."),
        ("trace.", "evaluations.", "evaluation."),
        ("trace.", "annotations.", "annotation."),
        ("session.", "evaluations.", "evaluation."),
        ("session.", "annotations.", "annotation."),
    ] {
        let prefix = format!("{scope}{family}");
        for (_, entry) in attrs.indexed(&prefix) {
            let Some(name) = entry.text(&format!("{item}name")) else { continue };
            let target = match scope {
                "trace." => Target {
                    kind: ScoreTargetKind::Trace,
                    id: link.as_ref().map_or_else(|| trace_hex.to_string(), |(t, _)| t.clone()),
                    trace_id: None,
                },
                "session." => {
                    let Some(session) = span.session_id.clone().or_else(|| attrs.text("session.id")) else { continue };
                    Target { kind: ScoreTargetKind::Session, id: session, trace_id: None }
                }
                _ => match &link {
                    Some((t, s)) => Target::span(t, s),
                    None => Target::span(trace_hex, span_hex),
                },
            };
            let source = match entry.text(&format!("{item}annotator_kind")).as_deref() {
                Some(kind) if kind.eq_ignore_ascii_case("HUMAN") => "user-feedback",
                Some(kind) if kind.eq_ignore_ascii_case("LLM") => "llm-judge",
                Some(kind) if kind.eq_ignore_ascii_case("CODE") => "code",
                _ => "openinference",
            };
            let value = entry.float(&format!("{item}score")).filter(|v| v.is_finite());
            let label = entry.text(&format!("{item}label"));
            if value.is_none() && label.is_none() {
                continue;
            }
            let mut score = target.score(name, span.end_unix_nano, source);
            score.value = value;
            score.label = label;
            score.explanation = entry.text(&format!("{item}explanation"));
            out.push(score);
        }
    }
}

/// The span an evaluator span points at through its (first) link, as hex ids.
trait LinkTarget {
    fn links_target(&self) -> Option<(String, String)>;
}

impl LinkTarget for Span {
    fn links_target(&self) -> Option<(String, String)> {
        if self.kind != SpanKind::Evaluation {
            return None;
        }
        let link = self.raw.links.first()?;
        Some((link.trace_id.to_ascii_lowercase(), link.span_id.to_ascii_lowercase()))
    }
}

#[cfg(test)]
mod tests {
    use tracehound_store::model::{AttrValue, RawSpan, SpanEvent, SpanLink};

    use super::*;

    fn kv(key: &str, value: AttrValue) -> KeyValue {
        KeyValue { key: key.to_string(), value: Some(value) }
    }

    fn text(key: &str, value: &str) -> KeyValue {
        kv(key, AttrValue::Str(value.to_string()))
    }

    fn span_with(attributes: Vec<KeyValue>) -> Span {
        Span {
            trace_id: [1; 16],
            span_id: [2; 8],
            end_unix_nano: 9,
            raw: RawSpan { attributes, ..RawSpan::default() },
            ..Span::default()
        }
    }

    #[test]
    fn an_evaluation_event_on_a_span_judges_that_span() {
        let mut span = span_with(vec![]);
        span.raw.events.push(SpanEvent {
            name: EVALUATION_EVENT.into(),
            time_unix_nano: 5,
            attributes: vec![
                text("gen_ai.evaluation.name", "relevance"),
                kv("gen_ai.evaluation.score.value", AttrValue::Double(0.25)),
                text("gen_ai.evaluation.score.label", "fail"),
                text("gen_ai.evaluation.explanation", "off topic"),
            ],
            dropped_attributes_count: 0,
        });
        let scores = scores_from_spans(&[span]);
        assert_eq!(scores.len(), 1);
        let s = &scores[0];
        assert_eq!(
            (s.target_kind, s.target_key().as_str()),
            (ScoreTargetKind::Span, format!("{}/{}", "01".repeat(16), "02".repeat(8)).as_str())
        );
        assert_eq!(
            (s.value, s.label.as_deref(), s.explanation.as_deref()),
            (Some(0.25), Some("fail"), Some("off topic"))
        );
    }

    #[test]
    fn an_evaluation_log_naming_a_response_id_judges_that_response() {
        let log = LogRecord {
            event_name: EVALUATION_EVENT.into(),
            attributes: vec![
                text("gen_ai.evaluation.name", "accuracy"),
                kv("gen_ai.evaluation.score.value", AttrValue::Int(1)),
                text("gen_ai.response.id", "chatcmpl-9"),
            ],
            ..LogRecord::default()
        };
        let scores = scores_from_logs(&[log]);
        assert_eq!((scores[0].target_kind, scores[0].target_id.as_str()), (ScoreTargetKind::Response, "chatcmpl-9"));
    }

    #[test]
    fn an_evaluation_log_without_any_target_is_not_a_score() {
        let log = LogRecord {
            event_name: EVALUATION_EVENT.into(),
            attributes: vec![
                text("gen_ai.evaluation.name", "x"),
                kv("gen_ai.evaluation.score.value", AttrValue::Int(1)),
            ],
            ..LogRecord::default()
        };
        assert!(scores_from_logs(&[log]).is_empty());
    }

    #[test]
    fn an_openinference_evaluator_span_judges_the_span_it_links_to() {
        let mut span = span_with(vec![
            text("evaluations.0.evaluation.name", "hallucination"),
            text("evaluations.0.evaluation.label", "hallucinated"),
            kv("evaluations.0.evaluation.score", AttrValue::Double(0.0)),
            text("evaluations.0.evaluation.annotator_kind", "LLM"),
        ]);
        span.kind = SpanKind::Evaluation;
        span.raw.links.push(SpanLink {
            trace_id: "AB".repeat(16),
            span_id: "CD".repeat(8),
            trace_state: String::new(),
            attributes: vec![],
        });
        let scores = scores_from_spans(&[span]);
        assert_eq!(scores[0].target_key(), format!("{}/{}", "ab".repeat(16), "cd".repeat(8)));
        assert_eq!(scores[0].source, "llm-judge");
    }

    #[test]
    fn openinference_session_feedback_judges_the_session() {
        let mut span = span_with(vec![
            text("session.annotations.0.annotation.name", "thumbs"),
            text("session.annotations.0.annotation.label", "thumbs_down"),
            text("session.annotations.0.annotation.annotator_kind", "HUMAN"),
        ]);
        span.session_id = Some("sess_1".into());
        let scores = scores_from_spans(&[span]);
        assert_eq!((scores[0].target_kind, scores[0].target_id.as_str()), (ScoreTargetKind::Session, "sess_1"));
        assert_eq!(scores[0].source, "user-feedback");
    }
}
