//! Per-request signals beyond loud failures, folded into the trace summary as spans
//! arrive, so that triage scans a window of summaries and reads no span.
//!
//! Everything here is cheap (counts, lengths, a trigram language guess in microseconds):
//! it runs on the write path. Whatever is relative to the rest of the traffic (is this
//! answer short *for its service*, is it the same answer many questions got) is decided at
//! read time from these numbers, never here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{AttrValue, KeyValue, Span, SpanKind, StatusCode};

/// Retrieved document ids kept for the citation check.
const MAX_DOC_IDS: usize = 32;
/// Id-like tokens of the answer kept for the citation check.
const MAX_ANSWER_REFS: usize = 24;
/// Tool calls whose duration is kept.
const MAX_TOOL_TIMINGS: usize = 16;
/// Root and resource attributes kept for cohorts.
const MAX_ATTRIBUTES: usize = 24;
/// Longest attribute value that is still a category, not free text.
const MAX_ATTRIBUTE_CHARS: usize = 64;

/// What a request's spans say beyond errors: sizes, languages, retrieval, tools.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    /// Characters of the user's question (whole, not the preview).
    #[serde(default)]
    pub question_chars: u32,
    /// Characters of the final answer.
    #[serde(default)]
    pub answer_chars: u32,
    /// ISO 639-1 language of the question, when it can be told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question_language: Option<String>,
    /// ISO 639-1 language of the answer, when it can be told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_language: Option<String>,
    /// Question and answer in different languages (see `tracehound_language::differ`);
    /// `None` until both are known and readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_mismatch: Option<bool>,
    /// Tool calls that failed (error status or an error recorded on the span).
    #[serde(default)]
    pub tool_errors: u32,
    /// Retrieval spans.
    #[serde(default)]
    pub retrievals: u32,
    /// Documents they returned.
    #[serde(default)]
    pub documents: u32,
    /// Best document score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_score: Option<f64>,
    /// Sum of document scores, over `scored_documents`.
    #[serde(default)]
    pub score_sum: f64,
    /// Documents that carried a score.
    #[serde(default)]
    pub scored_documents: u32,
    /// Ids of the retrieved documents (first few).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub doc_ids: Vec<String>,
    /// Id-like tokens of the final answer (with a digit), to tell whether it cites a document.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answer_refs: Vec<String>,
    /// Name and duration of each tool call (first few), for latency shifts per tool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_timings: Vec<ToolTiming>,
    /// A model call produced as many output tokens as its `max_tokens` allowed.
    #[serde(default)]
    pub hit_max_tokens: bool,
    /// Low-cardinality string attributes of the root span, and of its resource (`resource.` prefix).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// The request or trace id this request shadows, when a span names one: an attribute of
    /// [`SHADOW_OF_KEYS`], else a link whose type (an attribute of [`LINK_TYPE_KEYS`]) is
    /// `shadow_of` (the link's trace id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow_of: Option<String>,
}

/// Attributes naming the request a shadow request shadows (its request id or trace id).
pub const SHADOW_OF_KEYS: &[&str] = &["tracehound.shadow_of", "shadow_of", "app.shadow_of"];
/// Link attributes giving the link's type; `shadow_of` marks the link to the primary.
pub const LINK_TYPE_KEYS: &[&str] = &["tracehound.link.type", "link.type"];

/// One tool call's name and how long it took.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolTiming {
    /// Tool name.
    pub name: String,
    /// Duration, milliseconds.
    pub millis: f64,
    /// Whether the call failed.
    #[serde(default)]
    pub failed: bool,
}

impl Signals {
    /// Mean document score, when any document was scored.
    pub fn mean_score(&self) -> Option<f64> {
        (self.scored_documents > 0).then(|| self.score_sum / f64::from(self.scored_documents))
    }

    /// Whether the answer names one of the retrieved documents; `None` when nothing was
    /// retrieved or there is no answer to look in.
    pub fn cites_a_document(&self) -> Option<bool> {
        if self.doc_ids.is_empty() || self.answer_chars == 0 {
            return None;
        }
        Some(self.doc_ids.iter().any(|id| self.answer_refs.iter().any(|r| r == id)))
    }

    /// Folds one span in.
    pub(crate) fn add_span(&mut self, span: &Span, is_root: bool) {
        if span.kind == SpanKind::Tool {
            let failed = span.status == StatusCode::Error || span.error.is_some();
            self.tool_errors += u32::from(failed);
            if self.tool_timings.len() < MAX_TOOL_TIMINGS {
                let name = span.tool.as_ref().and_then(|t| t.name.clone()).unwrap_or_else(|| span.name.clone());
                let millis = span.end_unix_nano.saturating_sub(span.start_unix_nano) as f64 / 1e6;
                self.tool_timings.push(ToolTiming { name, millis, failed });
            }
        }
        if let Some(retrieval) = &span.retrieval {
            self.retrievals += 1;
            self.documents += retrieval.documents.len() as u32;
            for doc in &retrieval.documents {
                if let Some(score) = doc.score.filter(|s| s.is_finite()) {
                    self.top_score = Some(self.top_score.map_or(score, |t| t.max(score)));
                    self.score_sum += score;
                    self.scored_documents += 1;
                }
                if let Some(id) = &doc.id {
                    if self.doc_ids.len() < MAX_DOC_IDS && !self.doc_ids.contains(id) {
                        self.doc_ids.push(id.clone());
                    }
                }
            }
        } else if span.kind == SpanKind::Retrieval {
            self.retrievals += 1;
        }
        if let Some(llm) = &span.llm {
            let limit = ["max_tokens", "max_completion_tokens", "max_output_tokens"]
                .iter()
                .find_map(|k| llm.parameters.get(*k).and_then(serde_json::Value::as_i64));
            if let (Some(limit), Some(output)) = (limit, llm.usage.output) {
                self.hit_max_tokens |= limit > 0 && output >= limit;
            }
        }
        if self.shadow_of.is_none() {
            self.shadow_of = shadow_target(span);
        }
        if is_root {
            self.attributes.clear();
            add_attributes(&mut self.attributes, "resource.", &span.raw.resource);
            add_attributes(&mut self.attributes, "", &span.raw.attributes);
        }
    }

    /// Compares the languages of the summary's question and answer, once both are known.
    pub(crate) fn check_languages(&mut self, question: Option<&str>, answer: Option<&str>) {
        self.language_mismatch = match (question, answer) {
            (Some(q), Some(a)) => tracehound_language::differ(q, a),
            _ => None,
        };
    }

    /// Records the question chosen for the summary.
    pub(crate) fn set_question(&mut self, text: &str) {
        self.question_chars = text.chars().count() as u32;
        self.question_language = tracehound_language::identify(text).map(str::to_string);
    }

    /// Records the answer chosen for the summary.
    pub(crate) fn set_answer(&mut self, text: &str) {
        self.answer_chars = text.chars().count() as u32;
        self.answer_language = tracehound_language::identify(text).map(str::to_string);
        self.answer_refs.clear();
        for token in text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
            let token = token.trim_matches('.');
            if token.len() >= 2
                && token.len() <= 64
                && token.chars().any(|c| c.is_ascii_digit())
                && !self.answer_refs.iter().any(|r| r == token)
            {
                self.answer_refs.push(token.to_string());
                if self.answer_refs.len() >= MAX_ANSWER_REFS {
                    break;
                }
            }
        }
    }
}

/// The primary a span says its request shadows: by attribute, else by a typed link.
fn shadow_target(span: &Span) -> Option<String> {
    let text = |attributes: &[KeyValue], keys: &[&str]| {
        attributes.iter().filter(|kv| keys.contains(&kv.key.as_str())).find_map(|kv| match &kv.value {
            Some(AttrValue::Str(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            _ => None,
        })
    };
    text(&span.raw.attributes, SHADOW_OF_KEYS).or_else(|| {
        span.raw
            .links
            .iter()
            .find(|link| text(&link.attributes, LINK_TYPE_KEYS).is_some_and(|t| t == "shadow_of"))
            .map(|link| link.trace_id.to_ascii_lowercase())
    })
}

fn add_attributes(out: &mut BTreeMap<String, String>, prefix: &str, attributes: &[KeyValue]) {
    for kv in attributes {
        if out.len() >= MAX_ATTRIBUTES {
            return;
        }
        let Some(AttrValue::Str(text)) = &kv.value else { continue };
        if text.is_empty() || text.chars().count() > MAX_ATTRIBUTE_CHARS || is_not_a_category(&kv.key) {
            continue;
        }
        out.insert(format!("{prefix}{}", kv.key), text.clone());
    }
}

/// Keys whose values are identifiers, texts or versions: each splits requests into cohorts
/// of one, or is already a version dimension of its own.
fn is_not_a_category(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.ends_with(".id")
        || key.ends_with("_id")
        || key == "id"
        || key.contains("conversation")
        || key.contains("input")
        || key.contains("output")
        || key.contains("prompt")
        || key.contains("message")
        || key.contains("query")
        || key.starts_with("telemetry.sdk")
        || key.contains("instance")
        || key.contains("version")
        || key.contains("host")
        || key.contains("process.")
        || key == "service.name"
        || key.contains("model")
        || key.contains("fingerprint")
        || key.contains("url")
        || key.contains("path")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SpanLink;

    fn text(key: &str, value: &str) -> KeyValue {
        KeyValue { key: key.into(), value: Some(AttrValue::Str(value.into())) }
    }

    #[test]
    fn a_span_naming_its_primary_by_attribute_marks_a_shadow() {
        let mut span = Span::default();
        span.raw.attributes.push(text("tracehound.shadow_of", " req-42 "));
        assert_eq!(shadow_target(&span).as_deref(), Some("req-42"));
    }

    #[test]
    fn a_link_typed_shadow_of_marks_a_shadow_of_the_linked_trace() {
        let mut span = Span::default();
        let link = |kind: &str, trace: &str| SpanLink {
            trace_id: trace.into(),
            span_id: "00f067aa0ba902b7".into(),
            trace_state: String::new(),
            attributes: vec![text("link.type", kind)],
        };
        span.raw.links.push(link("follows_from", "AAAA"));
        assert_eq!(shadow_target(&span), None, "a link of another type is not a shadow");
        span.raw.links.push(link("shadow_of", "4BF92F3577B34DA6A3CE929D0E0E4736"));
        assert_eq!(shadow_target(&span).as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    }
}
