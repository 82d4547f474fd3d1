//! Judging requests: why a stored request counts as failing, and the per-request facts
//! (lengths, refusal, tool use, cohort attributes) that failing examples, versions, compare
//! and the postmortem bundle are computed from.
//!
//! # Refusal detection
//!
//! A request is a refusal when the final model output (the text of the latest-ending LLM
//! call that produced text) begins, within its first [`REFUSAL_WINDOW`] characters, with
//! one of [`REFUSAL_PHRASES`] (case-insensitive, curly apostrophes read as straight ones),
//! or when any output carries a `refusal` part or finish reason. Only the final output is
//! read: a refusal the agent recovered from is not the answer the user saw.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tracehound_store::model::{MessagePart, Score, ScoreTargetKind, Span, SpanKind, StatusCode};
use tracehound_store::summary::TraceSummary;
use tracehound_store::{Store, TenantId, TraceData};
use utoipa::ToSchema;

use crate::error::QueryError;
use crate::views::{attributes_object, spans_with_logs_merged};

/// Phrases that open a model refusal, lowercase, apostrophes straight.
pub const REFUSAL_PHRASES: &[&str] = &[
    "i'm sorry, but i can't",
    "i'm sorry, but i cannot",
    "i am sorry, but i cannot",
    "i am sorry, but i can't",
    "sorry, i can't help",
    "sorry, i cannot help",
    "i can't help with",
    "i cannot help with",
    "i can't assist with",
    "i cannot assist with",
    "i'm unable to help",
    "i am unable to help",
    "i'm unable to assist",
    "i'm not able to help",
    "i won't be able to help",
    "i can't provide",
    "i cannot provide",
    "i'm not allowed to",
    "i cannot comply",
    "i can't comply",
    "as an ai language model, i cannot",
];

/// Characters at the start of the final output searched for a refusal phrase.
pub const REFUSAL_WINDOW: usize = 200;

/// Labels that mark a score as a failure when no numeric threshold is given.
pub const FAILING_LABELS: &[&str] = &[
    "fail",
    "failed",
    "failure",
    "false",
    "incorrect",
    "wrong",
    "bad",
    "negative",
    "thumbs_down",
    "thumbs-down",
    "unhelpful",
    "hallucinated",
    "toxic",
    "irrelevant",
];

/// Requests read at most by one window scan; the answer says when it stopped there.
pub const MAX_SCAN: usize = 20_000;

/// Why a request counts as failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    /// A score below its threshold, or with a failing label.
    Score,
    /// Negative user feedback.
    NegativeFeedback,
    /// A span (a tool included) has error status.
    Error,
    /// A model call stopped at its token limit (`length`).
    Length,
    /// A model call was stopped by the content filter.
    ContentFilter,
    /// The final answer is a refusal.
    Refusal,
}

impl ReasonKind {
    /// Every kind, the default selection.
    pub const ALL: [ReasonKind; 6] = [
        ReasonKind::Score,
        ReasonKind::NegativeFeedback,
        ReasonKind::Error,
        ReasonKind::Length,
        ReasonKind::ContentFilter,
        ReasonKind::Refusal,
    ];

    /// The snake_case name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonKind::Score => "score",
            ReasonKind::NegativeFeedback => "negative_feedback",
            ReasonKind::Error => "error",
            ReasonKind::Length => "length",
            ReasonKind::ContentFilter => "content_filter",
            ReasonKind::Refusal => "refusal",
        }
    }

    /// How bad the failure is for the user: a wrong or missing answer outranks a short one.
    pub fn weight(self) -> u32 {
        match self {
            ReasonKind::Error | ReasonKind::Refusal | ReasonKind::ContentFilter | ReasonKind::NegativeFeedback => 3,
            ReasonKind::Score | ReasonKind::Length => 2,
        }
    }
}

impl fmt::Display for ReasonKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReasonKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ReasonKind::ALL.into_iter().find(|k| k.as_str() == text.trim()).ok_or_else(|| {
            let names: Vec<&str> = ReasonKind::ALL.iter().map(|k| k.as_str()).collect();
            format!("unknown reason {text:?}; expected one of {}", names.join(", "))
        })
    }
}

/// One reason a request counts as failing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Reason {
    /// The kind of failure.
    pub kind: ReasonKind,
    /// What exactly, for a human.
    pub detail: String,
    /// The span it was seen on, 16 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
}

/// A numeric threshold: scores named `name` (or any name, for `*`) below `below` fail.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// Score name, or `*` for any.
    pub name: String,
    /// Values strictly below this fail.
    pub below: f64,
}

impl FromStr for Threshold {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (name, value) = text.split_once('<').ok_or_else(|| format!("{text:?} is not NAME<NUMBER"))?;
        let below: f64 = value.trim().parse().map_err(|_| format!("{value:?} in {text:?} is not a number"))?;
        let name = name.trim();
        if name.is_empty() || !below.is_finite() {
            return Err(format!("{text:?} is not NAME<NUMBER"));
        }
        Ok(Threshold { name: name.to_string(), below })
    }
}

/// Which reasons count, and the score thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct Criteria {
    /// Reasons that make a request failing.
    pub kinds: BTreeSet<ReasonKind>,
    /// Score thresholds; without any, only failing labels make a score fail.
    pub thresholds: Vec<Threshold>,
}

impl Default for Criteria {
    fn default() -> Self {
        Criteria { kinds: ReasonKind::ALL.into_iter().collect(), thresholds: Vec::new() }
    }
}

impl Criteria {
    /// Reads `reasons=error,refusal` and `score=NAME<0.5[,NAME<0.7]`; absent means all / none.
    pub fn parse(reasons: Option<&str>, scores: Option<&str>) -> Result<Self, QueryError> {
        let mut criteria = Criteria::default();
        if let Some(text) = reasons.filter(|t| !t.trim().is_empty()) {
            criteria.kinds = text
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|reason| QueryError::InvalidParameter { name: "reasons", reason })?;
        }
        if let Some(text) = scores.filter(|t| !t.trim().is_empty()) {
            criteria.thresholds = text
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|reason| QueryError::InvalidParameter { name: "score", reason })?;
        }
        Ok(criteria)
    }
}

/// What is known of one request after judging it.
#[derive(Debug, Clone)]
pub struct Assessed {
    /// Its summary.
    pub summary: TraceSummary,
    /// Why it fails; empty when it does not.
    pub reasons: Vec<Reason>,
    /// Scores judging it (session scores included, marked so).
    pub scores: Vec<Score>,
    /// Characters of the user's question to the first model call.
    pub input_chars: usize,
    /// Characters of the final model output.
    pub output_chars: usize,
    /// Whether the final output is a refusal.
    pub refusal: bool,
    /// Low-cardinality string attributes of the root span and resource, for cohorts.
    pub attributes: BTreeMap<String, String>,
}

impl Assessed {
    /// True when any reason counts.
    pub fn failing(&self) -> bool {
        !self.reasons.is_empty()
    }

    /// Severity: the worst reason's weight, then how many kinds of reason.
    pub fn severity(&self) -> u32 {
        let worst = self.reasons.iter().map(|r| r.kind.weight()).max().unwrap_or(0);
        let kinds: BTreeSet<ReasonKind> = self.reasons.iter().map(|r| r.kind).collect();
        worst * 10 + kinds.len() as u32
    }

    /// Scores that judge the request itself (not its session) and carry a value.
    pub fn own_values(&self) -> impl Iterator<Item = f64> + '_ {
        self.own_scores().map(|(_, value)| value)
    }

    /// The same, each with its score's name.
    pub fn own_scores(&self) -> impl Iterator<Item = (&str, f64)> + '_ {
        self.scores
            .iter()
            .filter(|s| s.target_kind != ScoreTargetKind::Session)
            .filter_map(|s| Some((s.name.as_str(), s.value?)))
    }
}

/// The spans of a trace with their log records merged in, as views show them.
pub fn merged(data: &TraceData) -> Vec<Span> {
    spans_with_logs_merged(data.spans.clone(), data.logs.clone())
}

/// Judges one stored request.
pub fn assess(data: &TraceData, criteria: &Criteria) -> Assessed {
    let spans = merged(data);
    let mut reasons = Vec::new();
    let want = |k: ReasonKind| criteria.kinds.contains(&k);
    for score in data.scores.iter().filter(|s| s.target_kind != ScoreTargetKind::Session) {
        if want(ReasonKind::NegativeFeedback) && is_negative_feedback(score) {
            reasons.push(Reason {
                kind: ReasonKind::NegativeFeedback,
                detail: format!("{} feedback {}", score.name, score_text(score)),
                span_id: score_span(score),
            });
        } else if want(ReasonKind::Score) {
            if let Some(why) = score_failure(score, &criteria.thresholds) {
                reasons.push(Reason { kind: ReasonKind::Score, detail: why, span_id: score_span(score) });
            }
        }
    }
    for span in &spans {
        let span_id = Some(hex::encode(span.span_id));
        if want(ReasonKind::Error) && span.status == StatusCode::Error {
            reasons.push(Reason { kind: ReasonKind::Error, detail: error_detail(span), span_id: span_id.clone() });
        }
        let Some(llm) = &span.llm else { continue };
        for reason in &llm.finish_reasons {
            let kind = match reason.as_str() {
                "length" | "max_tokens" | "MAX_TOKENS" => ReasonKind::Length,
                "content_filter" | "safety" | "SAFETY" => ReasonKind::ContentFilter,
                _ => continue,
            };
            if want(kind) {
                reasons.push(Reason {
                    kind,
                    detail: format!("model call '{}' finished with '{reason}'", span.name),
                    span_id: span_id.clone(),
                });
            }
        }
    }
    let final_output = final_output(&spans);
    let refusal = final_output.as_ref().is_some_and(|(_, text)| is_refusal_text(text)) || has_refusal_part(&spans);
    if refusal && want(ReasonKind::Refusal) {
        let (span_id, text) = final_output.clone().unwrap_or_default();
        reasons.push(Reason {
            kind: ReasonKind::Refusal,
            detail: format!("final answer refuses: {:?}", crate::text::cut(&text, 120)),
            span_id: (!span_id.is_empty()).then_some(span_id),
        });
    }
    Assessed {
        summary: data.summary.clone(),
        reasons,
        scores: data.scores.clone(),
        input_chars: first_question(&spans).map_or(0, |q| q.chars().count()),
        output_chars: final_output.map_or(0, |(_, text)| text.chars().count()),
        refusal,
        attributes: cohort_attributes(&spans),
    }
}

/// Whether a text opens like a refusal (see the module documentation).
pub fn is_refusal_text(text: &str) -> bool {
    let head: String = text.trim_start().chars().take(REFUSAL_WINDOW).collect();
    let head = head.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'");
    REFUSAL_PHRASES.iter().any(|phrase| head.contains(phrase))
}

fn has_refusal_part(spans: &[Span]) -> bool {
    spans.iter().filter_map(|s| s.llm.as_ref()).any(|llm| {
        llm.finish_reasons.iter().any(|r| r == "refusal")
            || llm.output_messages.iter().flat_map(|m| &m.parts).any(
                |p| matches!(p, MessagePart::Other { part_type, value } if part_type == "refusal" && !value.is_null()),
            )
    })
}

/// The span id and text of the final model output: the latest-ending LLM call with text.
pub fn final_output(spans: &[Span]) -> Option<(String, String)> {
    let mut calls: Vec<&Span> = spans.iter().filter(|s| s.kind == SpanKind::Llm && s.llm.is_some()).collect();
    calls.sort_by_key(|s| (s.end_unix_nano, s.start_unix_nano));
    calls.iter().rev().find_map(|span| {
        let llm = span.llm.as_ref()?;
        let text: Vec<String> = llm.output_messages.iter().map(|m| m.text()).filter(|t| !t.is_empty()).collect();
        let text = if text.is_empty() { span.output_value.clone().filter(|t| !t.is_empty())? } else { text.join("\n") };
        Some((hex::encode(span.span_id), text))
    })
}

/// The user's question to the earliest LLM call: its last user message.
pub fn first_question(spans: &[Span]) -> Option<String> {
    let mut calls: Vec<&Span> = spans.iter().filter(|s| s.kind == SpanKind::Llm && s.llm.is_some()).collect();
    calls.sort_by_key(|s| s.start_unix_nano);
    calls.iter().find_map(|span| {
        let llm = span.llm.as_ref()?;
        llm.input_messages.iter().rev().find(|m| m.role == "user").map(|m| m.text()).filter(|t| !t.is_empty())
    })
}

fn is_negative_feedback(score: &Score) -> bool {
    let from_user = score.source == "user-feedback"
        || matches!(score.name.as_str(), "user_feedback" | "feedback" | "thumbs" | "user-feedback");
    from_user && (score.value.is_some_and(|v| v <= 0.0) || score.label.as_deref().is_some_and(failing_label))
}

fn failing_label(label: &str) -> bool {
    let label = label.trim().to_lowercase();
    FAILING_LABELS.contains(&label.as_str())
}

/// Why a score fails, if it does: below a matching threshold, or (with no thresholds) a failing label.
fn score_failure(score: &Score, thresholds: &[Threshold]) -> Option<String> {
    if thresholds.is_empty() {
        return score
            .label
            .as_deref()
            .filter(|l| failing_label(l))
            .map(|_| format!("score {} {} ({})", score.name, score_text(score), score.source));
    }
    let value = score.value?;
    let threshold =
        thresholds.iter().find(|t| t.name == score.name).or_else(|| thresholds.iter().find(|t| t.name == "*"))?;
    (value < threshold.below)
        .then(|| format!("score {} = {value} below {} ({})", score.name, threshold.below, score.source))
}

fn score_text(score: &Score) -> String {
    match (score.value, &score.label) {
        (Some(v), Some(l)) => format!("= {v} ({l})"),
        (Some(v), None) => format!("= {v}"),
        (None, Some(l)) => format!("= {l}"),
        (None, None) => String::new(),
    }
}

fn score_span(score: &Score) -> Option<String> {
    (score.target_kind == ScoreTargetKind::Span).then(|| score.target_id.clone())
}

fn error_detail(span: &Span) -> String {
    let what = match span.kind {
        SpanKind::Tool => {
            format!("tool '{}'", span.tool.as_ref().and_then(|t| t.name.clone()).unwrap_or_else(|| span.name.clone()))
        }
        kind => format!("{} span '{}'", kind.as_str(), span.name),
    };
    let error = span.error.as_ref();
    let kind = error.and_then(|e| e.error_type.clone());
    let message =
        error.and_then(|e| e.message.clone()).or_else(|| Some(span.status_message.clone()).filter(|m| !m.is_empty()));
    match (kind, message) {
        (Some(k), Some(m)) => format!("{what} failed: {k}: {m}"),
        (Some(k), None) => format!("{what} failed: {k}"),
        (None, Some(m)) => format!("{what} failed: {m}"),
        (None, None) => format!("{what} failed"),
    }
}

/// Root span and resource string attributes that can split requests into cohorts: short
/// values, and no identifiers (an id splits every request into its own cohort).
fn cohort_attributes(spans: &[Span]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(root) = spans.iter().find(|s| s.parent_span_id.is_none()).or_else(|| spans.first()) else { return out };
    let objects = [("resource.", attributes_object(&root.raw.resource)), ("", attributes_object(&root.raw.attributes))];
    for (prefix, object) in objects {
        for (key, value) in object {
            let Some(text) = value.as_str() else { continue };
            if is_identifier_key(&key) || text.is_empty() || text.chars().count() > 64 {
                continue;
            }
            out.insert(format!("{prefix}{key}"), text.to_string());
        }
    }
    out
}

fn is_identifier_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.ends_with(".id")
        || key.ends_with("_id")
        || key.ends_with(".name") && key.starts_with("gen_ai.agent")
        || key.contains("conversation")
        || key.contains("input")
        || key.contains("output")
        || key.contains("prompt")
        || key.starts_with("telemetry.sdk")
        || key.contains("instance")
        || key.contains("version")
}

/// Every request starting in `[since, until)`, judged, newest first; and whether the scan
/// stopped at [`MAX_SCAN`].
pub fn scan_window(
    store: &Store,
    tenant: TenantId,
    since: u64,
    until: u64,
    criteria: &Criteria,
) -> Result<(Vec<Assessed>, bool), QueryError> {
    let mut out = Vec::new();
    let mut before = None;
    loop {
        let page = store.recent_traces(tenant, since, until, before, 512)?;
        let Some(last) = page.last() else { break };
        before = Some((last.start_unix_nano, last.trace_id));
        let page_len = page.len();
        for summary in page {
            if out.len() >= MAX_SCAN {
                return Ok((out, true));
            }
            if let Some(data) = store.trace(tenant, &summary.trace_id)? {
                out.push(assess(&data, criteria));
            }
        }
        if page_len < 512 {
            break;
        }
    }
    Ok((out, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_polite_refusal_is_detected() {
        assert!(is_refusal_text("I’m sorry, but I can’t help with questions about orders."));
    }

    #[test]
    fn an_apology_that_goes_on_to_answer_is_no_refusal() {
        assert!(!is_refusal_text("Sorry for the delay! Your order B-1 ships tomorrow."));
    }

    #[test]
    fn a_threshold_reads_name_and_number() {
        assert_eq!("helpfulness<0.5".parse(), Ok(Threshold { name: "helpfulness".into(), below: 0.5 }));
        assert!("helpfulness<x".parse::<Threshold>().is_err());
    }

    #[test]
    fn an_unknown_reason_is_refused_with_the_known_ones() {
        let err = Criteria::parse(Some("error,typo"), None).unwrap_err().to_string();
        assert!(err.contains("typo") && err.contains("refusal"), "{err}");
    }
}
