//! Aggregates kept up to date on every write: one per trace (a request), one per session,
//! one per version value. They make listings and "what changed" answerable without reading
//! spans.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{LogRecord, Message, Span, SpanId, SpanKind, StatusCode, TraceId, VersionDimension};
use crate::signals::Signals;

/// Largest JSON `input.value` / `output.value` read for its one text field.
const MAX_QUESTION_JSON_BYTES: usize = 16 * 1024;

/// Longest preview of a question or answer kept in a summary.
const PREVIEW_CHARS: usize = 200;

/// One trace (one request), summarized.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TraceSummary {
    /// Trace id.
    #[serde(with = "crate::model::hex_bytes")]
    pub trace_id: TraceId,
    /// Root span id, once the root has arrived.
    #[serde(default, with = "crate::model::hex_opt")]
    pub root_span_id: Option<SpanId>,
    /// Root span name.
    #[serde(default)]
    pub root_name: String,
    /// Service of the root (or first) span.
    #[serde(default)]
    pub service: String,
    /// Earliest span start, Unix ns.
    pub start_unix_nano: u64,
    /// Latest span end, Unix ns.
    pub end_unix_nano: u64,
    /// Spans stored.
    pub span_count: u64,
    /// Spans with error status.
    pub error_count: u64,
    /// Request id: the root's, else the first one seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Every request id seen on the trace's spans (usually one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_ids: Vec<String>,
    /// Session id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// User id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Models that answered, in order of first appearance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// Version values seen on the trace, per dimension.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub versions: BTreeMap<VersionDimension, Vec<String>>,
    /// Input tokens over all LLM calls.
    pub input_tokens: i64,
    /// Output tokens over all LLM calls.
    pub output_tokens: i64,
    /// Tokens and calls per model (the served model, else the requested one): what a price
    /// per model multiplies.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub usage_by_model: BTreeMap<String, ModelUsage>,
    /// LLM calls.
    pub llm_calls: u64,
    /// Tool calls.
    pub tool_calls: u64,
    /// Finish reasons of the LLM calls, in order of first appearance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finish_reasons: Vec<String>,
    /// The user's own question, shortened: see [`TextSource`] for where it is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// The final answer, shortened: see [`TextSource`] for where it is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// Signals beyond loud failures: sizes, languages, retrieval, tools, cohort attributes.
    #[serde(default)]
    pub signals: Signals,
    /// When each listed value (model, finish reason, request id, version value) was first
    /// carried, by the earliest span start: the lists keep that order whatever order the
    /// spans arrive in, so the same spans give the same summary.
    #[serde(default, skip_serializing_if = "FirstSeen::is_empty")]
    first_seen: FirstSeen,
    #[serde(default)]
    question_at: u64,
    #[serde(default)]
    answer_at: u64,
    #[serde(default)]
    question_source: TextSource,
    #[serde(default)]
    answer_source: TextSource,
}

/// Where a summary's question or answer was read, best first.
///
/// The root span carries what the user asked and what the app answered. An LLM call's last
/// user message is often the question with the retrieved context appended (and the system
/// prompt and history beside it), so it stands in only when the root carries no text; GenAI
/// log events, where some instrumentations put the content, come last.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextSource {
    /// The root span: its messages, else its plain-text `input.value` / `output.value`.
    Root,
    /// An agent or chain span below the root (an app's workflow under its `POST /chat`
    /// server span): its plain-text `input.value` / `output.value`. What the app was asked,
    /// before retrieval appended its context to the LLM call's user turn.
    Workflow,
    /// An LLM call: the earliest call's last user message, the latest call's output.
    /// Summaries written before sources were recorded read as this.
    #[default]
    LlmCall,
    /// A GenAI log event of the trace.
    LogEvent,
}

impl TraceSummary {
    /// An empty summary for a trace.
    pub fn new(trace_id: TraceId) -> Self {
        TraceSummary { trace_id, start_unix_nano: u64::MAX, ..Default::default() }
    }

    /// Overall status: error when any span failed.
    pub fn status(&self) -> StatusCode {
        if self.error_count > 0 {
            StatusCode::Error
        } else {
            StatusCode::Ok
        }
    }

    /// The id the request is known by: its request id, else the trace id.
    pub fn display_request_id(&self) -> String {
        self.request_id.clone().unwrap_or_else(|| hex::encode(self.trace_id))
    }

    /// Folds one newly stored span in.
    pub fn add_span(&mut self, span: &Span) {
        self.span_count += 1;
        self.start_unix_nano = self.start_unix_nano.min(span.start_unix_nano);
        self.end_unix_nano = self.end_unix_nano.max(span.end_unix_nano);
        if span.status == StatusCode::Error {
            self.error_count += 1;
        }
        let is_root = span.parent_span_id.is_none();
        if is_root {
            self.root_span_id = Some(span.span_id);
            self.root_name = span.name.clone();
            self.service = span.service.clone();
        } else if self.service.is_empty() {
            self.service = span.service.clone();
        }
        if let Some(id) = &span.request_id {
            push_in_time(&mut self.request_ids, &mut self.first_seen.request_ids, id, span.start_unix_nano);
            if is_root || self.request_id.is_none() {
                self.request_id = Some(id.clone());
            }
        }
        if span.session_id.is_some() && (is_root || self.session_id.is_none()) {
            self.session_id = span.session_id.clone();
        }
        if span.user_id.is_some() && (is_root || self.user_id.is_none()) {
            self.user_id = span.user_id.clone();
        }
        for (dim, value) in &span.versions {
            let list = self.versions.entry(*dim).or_default();
            push_in_time(list, self.first_seen.versions.entry(*dim).or_default(), value, span.start_unix_nano);
        }
        if span.kind == SpanKind::Tool {
            self.tool_calls += 1;
        }
        if let Some(llm) = &span.llm {
            if span.kind == SpanKind::Llm {
                self.llm_calls += 1;
            }
            if let Some(model) = &llm.response_model {
                push_in_time(&mut self.models, &mut self.first_seen.models, model, span.start_unix_nano);
            }
            self.input_tokens += llm.usage.input.unwrap_or(0);
            self.output_tokens += llm.usage.output.unwrap_or(0);
            if let Some(model) = llm.response_model.as_ref().or(llm.request_model.as_ref()) {
                let usage = self.usage_by_model.entry(model.clone()).or_default();
                usage.calls += 1;
                usage.input += llm.usage.input.unwrap_or(0);
                usage.output += llm.usage.output.unwrap_or(0);
                usage.cache_read += llm.usage.cache_read.unwrap_or(0);
            }
            for reason in &llm.finish_reasons {
                push_in_time(
                    &mut self.finish_reasons,
                    &mut self.first_seen.finish_reasons,
                    reason,
                    span.start_unix_nano,
                );
            }
        }
        self.signals.add_span(span, is_root);
        self.note_texts(span, is_root);
    }

    /// Folds one newly stored log record in: its messages stand in for the question and the
    /// answer when no span carries them.
    pub fn add_log(&mut self, log: &LogRecord) {
        if let Some(texts) = LogTexts::of(log) {
            self.add_log_texts(texts);
        }
    }

    /// Folds in what a log record offered, kept from before the trace had a summary.
    pub fn add_log_texts(&mut self, texts: LogTexts) {
        self.offer_question(texts.question, TextSource::LogEvent, texts.at);
        self.offer_answer(texts.answer, TextSource::LogEvent, texts.at);
    }

    fn note_texts(&mut self, span: &Span, is_root: bool) {
        let (question, answer, source) = span_texts(span, is_root);
        self.offer_question(question, source, span.start_unix_nano);
        self.offer_answer(answer, source, span.end_unix_nano);
    }

    /// The question from a better source wins; from the same source, the earliest.
    fn offer_question(&mut self, text: Option<String>, source: TextSource, at: u64) {
        let Some(text) = text else { return };
        let current = self.question.is_some().then_some((self.question_source, self.question_at));
        if question_wins(current, source, at) {
            self.signals.set_question(&text);
            self.question = Some(preview(&text));
            self.question_at = at;
            self.question_source = source;
            self.signals.check_languages(self.question.as_deref(), self.answer.as_deref());
        }
    }

    /// The answer from a better source wins; from the same source, the latest.
    fn offer_answer(&mut self, text: Option<String>, source: TextSource, at: u64) {
        let Some(text) = text else { return };
        let current = self.answer.is_some().then_some((self.answer_source, self.answer_at));
        if answer_wins(current, source, at) {
            self.signals.set_answer(&text);
            self.answer = Some(preview(&text));
            self.answer_at = at;
            self.answer_source = source;
            self.signals.check_languages(self.question.as_deref(), self.answer.as_deref());
        }
    }
}

/// What one span offers as the request's question and answer, and from which source.
fn span_texts(span: &Span, is_root: bool) -> (Option<String>, Option<String>, TextSource) {
    let (question, answer) = match (&span.llm, is_root) {
        (Some(llm), true) => (
            last_user_text(&llm.input_messages).or_else(|| plain_text(span.input_value.as_deref())),
            first_text(&llm.output_messages).or_else(|| plain_text(span.output_value.as_deref())),
        ),
        (None, true) => (plain_text(span.input_value.as_deref()), plain_text(span.output_value.as_deref())),
        (Some(llm), false) if span.kind == SpanKind::Llm => {
            (last_user_text(&llm.input_messages), first_text(&llm.output_messages))
        }
        (_, false) if matches!(span.kind, SpanKind::Agent | SpanKind::Chain) => {
            (plain_text(span.input_value.as_deref()), plain_text(span.output_value.as_deref()))
        }
        _ => (None, None),
    };
    let source = match (is_root, span.kind) {
        (true, _) => TextSource::Root,
        (false, SpanKind::Agent | SpanKind::Chain) => TextSource::Workflow,
        (false, _) => TextSource::LlmCall,
    };
    (question, answer, source)
}

/// The question from a better source wins; from the same source, the earliest.
fn question_wins(current: Option<(TextSource, u64)>, source: TextSource, at: u64) -> bool {
    current.is_none_or(|(held, held_at)| source < held || (source == held && at < held_at))
}

/// The answer from a better source wins; from the same source, the latest.
fn answer_wins(current: Option<(TextSource, u64)>, source: TextSource, at: u64) -> bool {
    current.is_none_or(|(held, held_at)| source < held || (source == held && at >= held_at))
}

/// A request's question and answer in full, read from its spans and log records by the
/// rules a summary keeps their previews by (see [`TextSource`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestTexts {
    /// The user's question, exact.
    pub question: Option<String>,
    /// The final answer, exact.
    pub answer: Option<String>,
}

impl RequestTexts {
    /// The texts of a whole trace.
    pub fn of(spans: &[Span], logs: &[LogRecord]) -> RequestTexts {
        let mut question: Option<(String, TextSource, u64)> = None;
        let mut answer: Option<(String, TextSource, u64)> = None;
        let mut offer = |q: Option<String>, a: Option<String>, source: TextSource, q_at: u64, a_at: u64| {
            if let Some(text) = q {
                if question_wins(question.as_ref().map(|(_, s, at)| (*s, *at)), source, q_at) {
                    question = Some((text, source, q_at));
                }
            }
            if let Some(text) = a {
                if answer_wins(answer.as_ref().map(|(_, s, at)| (*s, *at)), source, a_at) {
                    answer = Some((text, source, a_at));
                }
            }
        };
        for span in spans {
            let (q, a, source) = span_texts(span, span.parent_span_id.is_none());
            offer(q, a, source, span.start_unix_nano, span.end_unix_nano);
        }
        for log in logs {
            let Some(llm) = log.llm.as_ref() else { continue };
            let q = last_user_text(&llm.input_messages);
            let a = first_text(&llm.output_messages);
            offer(q, a, TextSource::LogEvent, log.time_unix_nano, log.time_unix_nano);
        }
        RequestTexts { question: question.map(|(t, _, _)| t), answer: answer.map(|(t, _, _)| t) }
    }
}

fn last_user_text(messages: &[Message]) -> Option<String> {
    messages.iter().rev().find(|m| m.role == "user").map(Message::text).filter(|t| !t.trim().is_empty())
}

fn first_text(messages: &[Message]) -> Option<String> {
    messages.iter().map(Message::text).find(|t| !t.trim().is_empty())
}

/// A root's `input.value` / `output.value` as the user's text: plain text as it is, or the
/// one string field of a JSON object (`{"question": "..."}`); other JSON is a request body,
/// not a question.
fn plain_text(value: Option<&str>) -> Option<String> {
    let text = value?.trim();
    if text.is_empty() {
        return None;
    }
    if !(text.starts_with('{') || text.starts_with('[')) {
        return Some(text.to_string());
    }
    // A one-field question object is small; a large JSON input is a request body, and parsing
    // it on the write path would cost for nothing.
    if text.len() > MAX_QUESTION_JSON_BYTES {
        return None;
    }
    let serde_json::Value::Object(object) = serde_json::from_str::<serde_json::Value>(text).ok()? else { return None };
    let mut strings = object.values().filter_map(|v| v.as_str()).filter(|s| !s.trim().is_empty());
    match (strings.next(), strings.next()) {
        (Some(only), None) if object.len() == 1 => Some(only.trim().to_string()),
        _ => None,
    }
}

/// What one log record offers a summary, already shortened: all that is kept of a record
/// whose trace has no summary yet, rather than the record itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTexts {
    question: Option<String>,
    answer: Option<String>,
    at: u64,
}

impl LogTexts {
    /// The record's question and answer; `None` when it carries neither (most logs), so the
    /// write path reads no summary for it.
    pub fn of(log: &LogRecord) -> Option<LogTexts> {
        let llm = log.llm.as_ref()?;
        let question = last_user_text(&llm.input_messages).map(|q| preview(&q));
        let answer = first_text(&llm.output_messages).map(|a| preview(&a));
        (question.is_some() || answer.is_some()).then_some(LogTexts { question, answer, at: log.time_unix_nano })
    }
}

/// One session, summarized.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    /// Session id, exact.
    pub session_id: String,
    /// User id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// First span start seen, Unix ns.
    pub first_seen: u64,
    /// Last span end seen, Unix ns.
    pub last_seen: u64,
    /// Traces (requests) in the session.
    pub request_count: u64,
}

/// One value of one version dimension, with when it was seen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionStat {
    /// The value, exact.
    pub value: String,
    /// First span start carrying it, Unix ns.
    pub first_seen: u64,
    /// Last span end carrying it, Unix ns.
    pub last_seen: u64,
    /// Spans carrying it.
    pub span_count: u64,
    /// Traces carrying it.
    pub trace_count: u64,
}

/// One model's tokens over a request's calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelUsage {
    /// Calls.
    pub calls: u64,
    /// Input tokens, cached ones included.
    pub input: i64,
    /// Output tokens.
    pub output: i64,
    /// Input tokens read from the provider's cache.
    #[serde(default)]
    pub cache_read: i64,
}

/// Store-wide counters of a tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    /// Spans stored.
    pub spans: u64,
    /// Traces (requests) stored.
    pub traces: u64,
    /// Sessions stored.
    pub sessions: u64,
    /// Log records stored.
    pub logs: u64,
}

/// When each value of a summary's lists was first carried: one time per value, in the
/// list's order. Numbers beside the lists, not a map keyed by the values, because every
/// window scan decodes every summary and strings are what decoding pays for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct FirstSeen {
    #[serde(default, rename = "m", skip_serializing_if = "Vec::is_empty")]
    models: Vec<u64>,
    #[serde(default, rename = "f", skip_serializing_if = "Vec::is_empty")]
    finish_reasons: Vec<u64>,
    #[serde(default, rename = "r", skip_serializing_if = "Vec::is_empty")]
    request_ids: Vec<u64>,
    #[serde(default, rename = "v", skip_serializing_if = "BTreeMap::is_empty")]
    versions: BTreeMap<VersionDimension, Vec<u64>>,
}

impl FirstSeen {
    fn is_empty(&self) -> bool {
        self.models.is_empty()
            && self.finish_reasons.is_empty()
            && self.request_ids.is_empty()
            && self.versions.is_empty()
    }
}

/// Adds `value` to `list` unless present, and keeps `list` in order of each value's
/// earliest span start (`at`), kept in `times` beside it.
fn push_in_time(list: &mut Vec<String>, times: &mut Vec<u64>, value: &str, at: u64) {
    // Values of summaries written before times were kept sort first, as they were.
    times.resize(list.len(), 0);
    match list.iter().position(|v| v == value) {
        Some(i) if at < times[i] => times[i] = at,
        Some(_) => return,
        None => {
            list.push(value.to_string());
            times.push(at);
        }
    }
    if times.windows(2).all(|w| w[0] <= w[1]) {
        return;
    }
    let mut pairs: Vec<(u64, String)> = times.iter().copied().zip(list.drain(..)).collect();
    // Stable: values first carried at the same time keep their order.
    pairs.sort_by_key(|(t, _)| *t);
    times.clear();
    for (t, v) in pairs {
        times.push(t);
        list.push(v);
    }
}

fn preview(text: &str) -> String {
    match text.char_indices().nth(PREVIEW_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}
