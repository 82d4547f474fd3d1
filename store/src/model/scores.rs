//! Scores: evaluations and feedback, stored under the id they judge.

use serde::{Deserialize, Serialize};

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
    /// The evaluator's versions, for scores Tracehound's online evaluation produced: an
    /// eval changes like a prompt does, and a shift in scores may be the judge's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluator: Option<EvaluatorVersion>,
}

/// Which evaluator produced a score, and at which versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluatorVersion {
    /// The scorecard's name (`builtin` for the default one, `checks` for deterministic checks).
    pub scorecard: String,
    /// The scorecard's version.
    pub version: String,
    /// The judge model, for a score an LLM judge gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
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
