//! Failing examples: distinct failing requests of a window, each with its whole context,
//! chosen to spread across sessions, users and versions, ordered by severity then recency.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use tracehound_store::model::{Document, Message, Score, SpanKind, StatusCode, VersionDimension};
use tracehound_store::{Store, TenantId, TraceData};
use utoipa::{IntoParams, ToSchema};

use crate::assess::{merged, scan_window, Assessed, Criteria, Reason};
use crate::error::QueryError;
use crate::params::parse_limit;
use crate::time_range::parse_time_bound;
use crate::timestamp::format_rfc3339;
use crate::views::RequestSummary;

/// Examples when `limit` is absent.
pub const DEFAULT_LIMIT: usize = 10;
/// Examples at most.
pub const MAX_LIMIT: usize = 1000;

/// Query string of `GET /api/v1/failing`; every field is text so errors name the parameter.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FailingParams {
    /// Oldest start: RFC 3339 or an age (`6h`). Default: 24 hours ago.
    pub since: Option<String>,
    /// Start before which: RFC 3339 or an age. Default: now.
    pub until: Option<String>,
    /// Examples at most, 1 to 1000. Default 10.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
    /// Reasons that count, comma-separated: score, negative_feedback, error, length, content_filter, refusal. Default: all.
    pub reasons: Option<String>,
    /// Score thresholds, comma-separated `NAME<NUMBER` (`*` for any name), e.g. `helpfulness<0.5`.
    pub score: Option<String>,
    /// `json` (default) or `jsonl`: one example per line.
    pub format: Option<String>,
}

/// A window `[since, until)` in Unix nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Oldest start, inclusive.
    pub since: u64,
    /// Newest start, exclusive.
    pub until: u64,
}

impl Window {
    /// Reads `since` / `until`; `since` defaults to `default_age` nanoseconds before now.
    pub fn parse(since: Option<&str>, until: Option<&str>, now: u64, default_age: u64) -> Result<Self, QueryError> {
        let until = match until.filter(|t| !t.trim().is_empty()) {
            Some(text) => parse_time_bound(text, now)
                .map_err(|e| QueryError::InvalidParameter { name: "until", reason: e.to_string() })?,
            None => now,
        };
        let since = match since.filter(|t| !t.trim().is_empty()) {
            Some(text) => parse_time_bound(text, now)
                .map_err(|e| QueryError::InvalidParameter { name: "since", reason: e.to_string() })?,
            None => until.saturating_sub(default_age),
        };
        if since >= until {
            return Err(QueryError::InvalidParameter { name: "since", reason: "must be before until".into() });
        }
        Ok(Window { since, until })
    }
}

/// The window as the answer shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WindowView {
    /// Oldest start, RFC 3339.
    pub since: String,
    /// Newest start (exclusive), RFC 3339.
    pub until: String,
}

impl From<Window> for WindowView {
    fn from(w: Window) -> Self {
        WindowView { since: format_rfc3339(w.since), until: format_rfc3339(w.until) }
    }
}

/// A failing-examples request, read and checked.
#[derive(Debug, Clone)]
pub struct FailingQuery {
    /// The window.
    pub window: Window,
    /// Examples at most.
    pub limit: usize,
    /// What counts as failing.
    pub criteria: Criteria,
    /// One example per line instead of one JSON document.
    pub jsonl: bool,
}

impl FailingQuery {
    /// Reads the parameters; ages count back from `now`.
    pub fn parse(params: &FailingParams, now: u64) -> Result<Self, QueryError> {
        let window = Window::parse(params.since.as_deref(), params.until.as_deref(), now, 24 * 3_600 * 1_000_000_000)?;
        let limit = parse_limit(&params.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
        let jsonl = match params.format.as_deref().map(str::trim) {
            None | Some("") | Some("json") => false,
            Some("jsonl") => true,
            Some(other) => {
                return Err(QueryError::InvalidParameter {
                    name: "format",
                    reason: format!("{other:?}: expected json or jsonl"),
                })
            }
        };
        let criteria = Criteria::parse(params.reasons.as_deref(), params.score.as_deref())?;
        Ok(FailingQuery { window, limit, criteria, jsonl })
    }
}

/// One model call, exact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LlmCallEvidence {
    /// Span id, 16 hex digits.
    pub span_id: String,
    /// Span name.
    pub name: String,
    /// Model requested.
    pub request_model: Option<String>,
    /// Model that answered.
    pub response_model: Option<String>,
    /// System instructions sent apart from the messages.
    pub system_instructions: Option<String>,
    /// Input messages, exact, in order.
    #[schema(value_type = Vec<Object>)]
    pub input_messages: Vec<Message>,
    /// Output messages, exact.
    #[schema(value_type = Vec<Object>)]
    pub output_messages: Vec<Message>,
    /// Finish reasons.
    pub finish_reasons: Vec<String>,
    /// `error` when the call failed.
    pub status: String,
}

/// One tool invocation and its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ToolEvidence {
    /// Span id, 16 hex digits.
    pub span_id: String,
    /// Tool name.
    pub name: String,
    /// Arguments, exact.
    pub arguments: Option<String>,
    /// Result, exact.
    pub result: Option<String>,
    /// `ok` or `error`.
    pub status: String,
    /// Error type and message, when it failed.
    pub error: Option<String>,
}

/// One retrieval and the documents it returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RetrievalEvidence {
    /// Span id, 16 hex digits.
    pub span_id: String,
    /// Span name.
    pub name: String,
    /// Query text.
    pub query: Option<String>,
    /// Data source id.
    pub data_source: Option<String>,
    /// Documents, in rank order, exact.
    #[schema(value_type = Vec<Object>)]
    pub documents: Vec<Document>,
}

/// One failing request with its whole context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FailingExample {
    /// The request id (the trace id when the spans carried none).
    pub request_id: String,
    /// Why it counts as failing.
    pub reasons: Vec<Reason>,
    /// Worst reason's weight × 10 + kinds of reason; higher is worse.
    pub severity: u32,
    /// Trace id, 32 hex digits.
    pub trace_id: String,
    /// Session id.
    pub session_id: Option<String>,
    /// User id.
    pub user_id: Option<String>,
    /// Start, RFC 3339.
    pub start_time: String,
    /// The summary line.
    pub summary: RequestSummary,
    /// Version values live for the request, by dimension.
    pub versions: BTreeMap<String, Vec<String>>,
    /// Scores judging the request, its spans, responses or session.
    #[schema(value_type = Vec<Object>)]
    pub scores: Vec<Score>,
    /// Every model call, in start order.
    pub llm_calls: Vec<LlmCallEvidence>,
    /// Every tool invocation, in start order.
    pub tool_calls: Vec<ToolEvidence>,
    /// Every retrieval, in start order.
    pub retrievals: Vec<RetrievalEvidence>,
    /// The session's requests, oldest first (this one included).
    pub session_requests: Vec<RequestSummary>,
}

impl FailingExample {
    /// The evidence of one stored request, judged.
    pub fn build(store: &Store, tenant: TenantId, data: &TraceData, assessed: &Assessed) -> Result<Self, QueryError> {
        let summary = RequestSummary::from_trace(&data.summary);
        let mut example = FailingExample {
            request_id: summary.request_id.clone(),
            reasons: assessed.reasons.clone(),
            severity: assessed.severity(),
            trace_id: summary.trace_id.clone(),
            session_id: summary.session_id.clone(),
            user_id: summary.user_id.clone(),
            start_time: summary.start_time.clone(),
            versions: data.summary.versions.iter().map(|(d, v)| (d.as_str().to_string(), v.clone())).collect(),
            scores: data.scores.clone(),
            summary,
            llm_calls: Vec::new(),
            tool_calls: Vec::new(),
            retrievals: Vec::new(),
            session_requests: Vec::new(),
        };
        for span in merged(data) {
            let span_id = hex::encode(span.span_id);
            let status = if span.status == StatusCode::Error { "error" } else { "ok" }.to_string();
            if let (SpanKind::Llm, Some(llm)) = (span.kind, &span.llm) {
                example.llm_calls.push(LlmCallEvidence {
                    span_id: span_id.clone(),
                    name: span.name.clone(),
                    request_model: llm.request_model.clone(),
                    response_model: llm.response_model.clone(),
                    system_instructions: llm.system_instructions.clone(),
                    input_messages: llm.input_messages.clone(),
                    output_messages: llm.output_messages.clone(),
                    finish_reasons: llm.finish_reasons.clone(),
                    status: status.clone(),
                });
            }
            if span.kind == SpanKind::Tool || span.tool.is_some() {
                let tool = span.tool.clone().unwrap_or_default();
                let error = span.error.as_ref().map(|e| {
                    [e.error_type.clone(), e.message.clone()].into_iter().flatten().collect::<Vec<_>>().join(": ")
                });
                example.tool_calls.push(ToolEvidence {
                    span_id: span_id.clone(),
                    name: tool.name.unwrap_or_else(|| span.name.clone()),
                    arguments: tool.arguments,
                    result: tool.result.or_else(|| span.output_value.clone()),
                    status: status.clone(),
                    error: error.filter(|e| !e.is_empty()),
                });
            }
            if let Some(retrieval) = &span.retrieval {
                example.retrievals.push(RetrievalEvidence {
                    span_id,
                    name: span.name.clone(),
                    query: retrieval.query.clone(),
                    data_source: retrieval.data_source.clone(),
                    documents: retrieval.documents.clone(),
                });
            }
        }
        if let Some(session_id) = &data.summary.session_id {
            if let Some((_, traces)) = store.session(tenant, session_id)? {
                example.session_requests = traces.iter().map(RequestSummary::from_trace).collect();
            }
        }
        Ok(example)
    }
}

/// The answer of `GET /api/v1/failing`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FailingAnswer {
    /// The chosen failing requests, worst first, then newest first.
    pub examples: Vec<FailingExample>,
    /// Failing requests in the window.
    pub failing_total: usize,
    /// Requests judged.
    pub scanned: usize,
    /// True when the window held more requests than one scan reads.
    pub truncated: bool,
    /// The window.
    pub window: WindowView,
    /// Reasons that counted.
    pub reasons_counted: Vec<String>,
}

/// Picks up to `limit` failing requests, spread over sessions, users and versions.
///
/// Candidates are taken worst and newest first, but a candidate whose session, user or
/// version set has been picked fewer times goes ahead of one already represented: ten
/// failures of one session tell less than ten sessions' worth. The chosen ones are then
/// ordered by severity, then recency.
pub fn choose_diverse(assessed: &[Assessed], limit: usize) -> Vec<usize> {
    let mut candidates: Vec<usize> = (0..assessed.len()).filter(|&i| assessed[i].failing()).collect();
    candidates.sort_by(|&a, &b| {
        let (a, b) = (&assessed[a], &assessed[b]);
        b.severity().cmp(&a.severity()).then(b.summary.start_unix_nano.cmp(&a.summary.start_unix_nano))
    });
    let key = |i: usize| {
        let s = &assessed[i].summary;
        let version =
            [VersionDimension::PromptVersion, VersionDimension::RequestModel, VersionDimension::ServiceVersion]
                .iter()
                .map(|d| s.versions.get(d).and_then(|v| v.first()).cloned().unwrap_or_default())
                .collect::<Vec<_>>()
                .join("|");
        (
            s.session_id.clone().unwrap_or_else(|| hex::encode(s.trace_id)),
            s.user_id.clone().unwrap_or_default(),
            version,
        )
    };
    let mut by_session: HashMap<String, usize> = HashMap::new();
    let mut by_user: HashMap<String, usize> = HashMap::new();
    let mut by_version: HashMap<String, usize> = HashMap::new();
    let mut chosen = Vec::new();
    let mut taken = vec![false; candidates.len()];
    while chosen.len() < limit {
        let mut best: Option<(usize, (usize, usize, usize))> = None;
        for (pos, &i) in candidates.iter().enumerate() {
            if taken[pos] {
                continue;
            }
            let (session, user, version) = key(i);
            let seen = (
                by_session.get(&session).copied().unwrap_or(0),
                by_user.get(&user).copied().unwrap_or(0),
                by_version.get(&version).copied().unwrap_or(0),
            );
            if best.is_none_or(|(_, b)| seen < b) {
                best = Some((pos, seen));
                if seen == (0, 0, 0) {
                    break;
                }
            }
        }
        let Some((pos, _)) = best else { break };
        taken[pos] = true;
        let i = candidates[pos];
        let (session, user, version) = key(i);
        *by_session.entry(session).or_default() += 1;
        *by_user.entry(user).or_default() += 1;
        *by_version.entry(version).or_default() += 1;
        chosen.push(i);
    }
    chosen.sort_by(|&a, &b| {
        let (a, b) = (&assessed[a], &assessed[b]);
        b.severity().cmp(&a.severity()).then(b.summary.start_unix_nano.cmp(&a.summary.start_unix_nano))
    });
    chosen
}

/// Builds the evidence of the chosen requests.
pub fn examples(
    store: &Store,
    tenant: TenantId,
    assessed: &[Assessed],
    chosen: &[usize],
) -> Result<Vec<FailingExample>, QueryError> {
    let mut out = Vec::with_capacity(chosen.len());
    for &i in chosen {
        let a = &assessed[i];
        if let Some(data) = store.trace(tenant, &a.summary.trace_id)? {
            out.push(FailingExample::build(store, tenant, &data, a)?);
        }
    }
    Ok(out)
}

/// Answers `GET /api/v1/failing`.
pub fn failing(store: &Store, tenant: TenantId, query: &FailingQuery) -> Result<FailingAnswer, QueryError> {
    let (assessed, truncated) = scan_window(store, tenant, query.window.since, query.window.until, &query.criteria)?;
    let chosen = choose_diverse(&assessed, query.limit);
    Ok(FailingAnswer {
        examples: examples(store, tenant, &assessed, &chosen)?,
        failing_total: assessed.iter().filter(|a| a.failing()).count(),
        scanned: assessed.len(),
        truncated,
        window: query.window.into(),
        reasons_counted: query.criteria.kinds.iter().map(|k| k.as_str().to_string()).collect(),
    })
}

/// The examples as JSON Lines: one request per line, for a regression dataset.
pub fn to_jsonl(answer: &FailingAnswer) -> Result<String, QueryError> {
    let mut out = String::new();
    for example in &answer.examples {
        let line = serde_json::to_string(example)
            .map_err(|e| QueryError::ReadAborted(format!("cannot encode an example: {e}")))?;
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}
