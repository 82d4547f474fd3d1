//! HTTP handlers of the postmortem evidence: posting scores, failing examples, versions,
//! compare and the postmortem bundle. The router in `router.rs` mounts them.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tracehound_store::model::{Score, ScoreTargetKind};
use tracehound_store::WriteBatch;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::{run_blocking, ApiJson, ApiQuery, ApiState, Tenant};
use tracehound_query::compare::{self, CompareAnswer, CompareParams};
use tracehound_query::failing::{self, FailingAnswer, FailingParams, FailingQuery, Window};
use tracehound_query::params::parse_limit;
use tracehound_query::postmortem::{self, Postmortem, PostmortemParams, DEFAULT_EVIDENCE, MAX_EVIDENCE};
use tracehound_query::postmortem_md;
use tracehound_query::time_range::now_unix_nanos;
use tracehound_query::timestamp::parse_rfc3339;
use tracehound_query::versions::{self, VersionsAnswer, VersionsParams};
use tracehound_query::{ErrorBody, QueryError};

const HOUR: u64 = 3_600 * 1_000_000_000;

/// A score to attach: an evaluation result or user feedback.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ScoreInput {
    /// What is judged: a trace id, request id, session id, provider response id, or a span id
    /// (with `trace_id`). The target need not be stored yet.
    pub target_id: String,
    /// `span`, `trace`, `request`, `session`, `response`, or `any` (default: whichever id of a request matches).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub target_kind: Option<ScoreTargetKind>,
    /// For a span target: its trace id (32 hex digits).
    #[serde(default)]
    pub trace_id: Option<String>,
    /// What was judged (`helpfulness`, `thumbs`, ...).
    pub name: String,
    /// Numeric score.
    #[serde(default)]
    pub value: Option<f64>,
    /// Label (`pass`, `fail`, `thumbs_down`, ...).
    #[serde(default)]
    pub label: Option<String>,
    /// Why.
    #[serde(default)]
    pub explanation: Option<String>,
    /// Who judged: `llm-judge`, `user-feedback`, `code`, ... Default `api`.
    #[serde(default)]
    pub source: Option<String>,
    /// When it was produced, RFC 3339. Default: now.
    #[serde(default)]
    pub time: Option<String>,
}

/// The answer to a stored score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScoreAccepted {
    /// The score as stored.
    #[schema(value_type = Object)]
    pub score: Score,
    /// False when the same score was already stored.
    pub new: bool,
    /// False when nothing stored matches the target yet: it may still arrive (the score then
    /// attaches to it), or its id is mistyped.
    #[serde(default)]
    pub target_known: bool,
}

impl ScoreInput {
    /// Checks the input and builds the score.
    pub fn into_score(self, now: u64) -> Result<Score, String> {
        let name = self.name.trim().to_string();
        if name.is_empty() {
            return Err("name must not be empty".into());
        }
        let target_id = self.target_id.trim().to_string();
        if target_id.is_empty() {
            return Err("target_id must not be empty".into());
        }
        if self.value.is_none() && self.label.as_deref().is_none_or(|l| l.trim().is_empty()) {
            return Err("a score needs a numeric value, a label, or both".into());
        }
        if self.value.is_some_and(|v| !v.is_finite()) {
            return Err("value must be a finite number".into());
        }
        let kind = self.target_kind.unwrap_or_default();
        let is_hex = |text: &str, len: usize| text.len() == len && text.bytes().all(|b| b.is_ascii_hexdigit());
        let (target_id, trace_id) = match kind {
            ScoreTargetKind::Span => {
                let trace = self.trace_id.as_deref().map(str::trim).unwrap_or_default().to_ascii_lowercase();
                if !is_hex(&trace, 32) || !is_hex(&target_id, 16) {
                    return Err("a span target needs target_id = 16 hex digits and trace_id = 32 hex digits".into());
                }
                (target_id.to_ascii_lowercase(), Some(trace))
            }
            ScoreTargetKind::Trace if !is_hex(&target_id, 32) => {
                return Err("a trace target_id is 32 hex digits".into());
            }
            ScoreTargetKind::Trace => (target_id.to_ascii_lowercase(), None),
            // Trace ids are stored lowercase; an "any" id that is one must match them.
            ScoreTargetKind::Any if is_hex(&target_id, 32) => (target_id.to_ascii_lowercase(), None),
            _ => (target_id, None),
        };
        let time_unix_nano = match self.time.as_deref().filter(|t| !t.trim().is_empty()) {
            Some(text) => parse_rfc3339(text.trim()).map_err(|e| format!("time {text:?}: {e}"))?,
            None => now,
        };
        Ok(Score {
            target_kind: kind,
            target_id,
            trace_id,
            name,
            value: self.value,
            label: self.label.map(|l| l.trim().to_string()).filter(|l| !l.is_empty()),
            explanation: self.explanation,
            source: self.source.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).unwrap_or_else(|| "api".into()),
            time_unix_nano,
            evaluator: None,
        })
    }
}

/// Attaches a score to a span, trace, request, session or response; durable when answered.
#[utoipa::path(
    post,
    path = "/api/v1/scores",
    request_body = ScoreInput,
    responses(
        (status = 201, description = "Stored (fsync'd)", body = ScoreAccepted),
        (status = 400, description = "The score cannot be read", body = ErrorBody),
        (status = 503, description = "Over capacity or no writer in this process; retry", body = ErrorBody)
    )
)]
pub async fn post_score(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiJson(input): ApiJson<ScoreInput>,
) -> Result<(StatusCode, Json<ScoreAccepted>), ApiError> {
    let score = input.into_score(now_unix_nanos()).map_err(|reason| ApiError::invalid("score", reason))?;
    let writer = state.writer.clone().ok_or(ApiError(QueryError::WritesUnavailable))?;
    let batch = WriteBatch { tenant, scores: vec![score.clone()], ..WriteBatch::default() };
    let outcome = writer.write(batch).await.map_err(|e| ApiError(QueryError::Write(e)))?;
    let judged = score.clone();
    // The score is durable by now: a failed look-up must not turn its answer into an error.
    let target_known =
        run_blocking(&state, move |store| tracehound_query::lookup::score_target_known(store, tenant, &judged))
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot tell whether a score's target is stored");
                false
            });
    Ok((StatusCode::CREATED, Json(ScoreAccepted { score, new: outcome.new_scores > 0, target_known })))
}

/// Distinct failing requests of a window with their whole context, and why each fails.
#[utoipa::path(
    get,
    path = "/api/v1/failing",
    params(FailingParams),
    responses(
        (status = 200, description = "Examples, worst then newest first; `format=jsonl` gives one per line", body = FailingAnswer),
        (status = 400, description = "A parameter could not be read", body = ErrorBody)
    )
)]
pub async fn get_failing(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiQuery(params): ApiQuery<FailingParams>,
) -> Result<Response, ApiError> {
    let query = FailingQuery::parse(&params, now_unix_nanos())?;
    let jsonl = query.jsonl;
    let answer = run_blocking(&state, move |store| failing::failing(store, tenant, &query)).await?;
    if jsonl {
        let body = failing::to_jsonl(&answer)?;
        return Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response());
    }
    Ok(Json(answer).into_response())
}

/// Every version value seen in a window, and the values first seen in it.
#[utoipa::path(
    get,
    path = "/api/v1/versions",
    params(VersionsParams),
    responses(
        (status = 200, description = "Values per dimension, and changes", body = VersionsAnswer),
        (status = 400, description = "A parameter could not be read", body = ErrorBody)
    )
)]
pub async fn get_versions(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiQuery(params): ApiQuery<VersionsParams>,
) -> Result<Json<VersionsAnswer>, ApiError> {
    let window = Window::parse(params.since.as_deref(), params.until.as_deref(), now_unix_nanos(), 48 * HOUR)?;
    run_blocking(&state, move |store| versions::versions(store, tenant, window)).await.map(Json)
}

fn windows(
    since: Option<&str>,
    until: Option<&str>,
    baseline_since: Option<&str>,
    baseline_until: Option<&str>,
) -> Result<(Window, Option<Window>), ApiError> {
    let now = now_unix_nanos();
    let incident = Window::parse(since, until, now, HOUR)?;
    let given = |t: Option<&str>| t.is_some_and(|t| !t.trim().is_empty());
    if !given(baseline_since) && !given(baseline_until) {
        return Ok((incident, None));
    }
    let default = compare::default_baseline(incident);
    let baseline_until = match baseline_until.filter(|t| !t.trim().is_empty()) {
        Some(text) => Window::parse(Some("1970-01-01T00:00:00Z"), Some(text), now, 0)?.until,
        None => default.until,
    };
    let length = incident.until - incident.since;
    let baseline = match baseline_since.filter(|t| !t.trim().is_empty()) {
        Some(text) => Window::parse(Some(text), None, baseline_until, 0)
            .map_err(|_| ApiError::invalid("baseline_since", format!("{text:?} is no time before baseline_until")))?,
        None => Window { since: baseline_until.saturating_sub(length), until: baseline_until },
    };
    Ok((incident, Some(baseline)))
}

/// Incident window against a baseline: over-represented values, input and output changes.
#[utoipa::path(
    get,
    path = "/api/v1/compare",
    params(CompareParams),
    responses(
        (status = 200, description = "The comparison", body = CompareAnswer),
        (status = 400, description = "A parameter could not be read", body = ErrorBody)
    )
)]
pub async fn get_compare(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiQuery(params): ApiQuery<CompareParams>,
) -> Result<Json<CompareAnswer>, ApiError> {
    let p = params;
    let (incident, baseline) =
        windows(p.since.as_deref(), p.until.as_deref(), p.baseline_since.as_deref(), p.baseline_until.as_deref())?;
    let baseline = baseline.unwrap_or_else(|| compare::default_baseline(incident));
    run_blocking(&state, move |store| compare::compare(store, tenant, incident, baseline)).await.map(Json)
}

/// The postmortem bundle of a window, as JSON or (`format=md`) Markdown.
#[utoipa::path(
    get,
    path = "/api/v1/postmortem",
    params(PostmortemParams),
    responses(
        (status = 200, description = "The bundle; `format=md` answers text/markdown", body = Postmortem),
        (status = 400, description = "A parameter could not be read", body = ErrorBody)
    )
)]
pub async fn get_postmortem(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiQuery(params): ApiQuery<PostmortemParams>,
) -> Result<Response, ApiError> {
    let p = params;
    let (incident, baseline) =
        windows(p.since.as_deref(), p.until.as_deref(), p.baseline_since.as_deref(), p.baseline_until.as_deref())?;
    let evidence = parse_limit(&p.limit, DEFAULT_EVIDENCE, MAX_EVIDENCE)?;
    let markdown = match p.format.as_deref().map(str::trim) {
        None | Some("") | Some("json") => false,
        Some("md" | "markdown") => true,
        Some(other) => {
            return Err(ApiError::invalid("format", format!("{other:?}: expected json or md")));
        }
    };
    let bundle =
        run_blocking(&state, move |store| postmortem::postmortem(store, tenant, incident, baseline, evidence)).await?;
    if markdown {
        return Ok(
            ([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], postmortem_md::render(&bundle)).into_response()
        );
    }
    Ok(Json(bundle).into_response())
}
