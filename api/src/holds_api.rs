//! `POST/GET /api/v1/holds`, `DELETE /api/v1/holds/{id}`: pinning an incident's evidence
//! (a request, a session or a time window) so retention keeps it. The router in `router.rs`
//! mounts the handlers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use tracehound_store::holds::{Hold, HoldTarget};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::{run_blocking, ApiJson, ApiPath, ApiState, Tenant};
use tracehound_query::time_range::{now_unix_nanos, parse_time_bound};
use tracehound_query::timestamp::format_rfc3339;
use tracehound_query::ErrorBody;

/// Longest reason accepted, in bytes.
const MAX_REASON_BYTES: usize = 4_096;

/// A hold to create.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct HoldInput {
    /// `request`, `session` or `window`.
    pub kind: String,
    /// For `request`: the request id (or a trace id); for `session`: the session id.
    #[serde(default)]
    pub value: Option<String>,
    /// For `window`: its start, an RFC 3339 timestamp or an age (`6h`).
    #[serde(default)]
    pub since: Option<String>,
    /// For `window`: its end, an RFC 3339 timestamp or an age. Default: now.
    #[serde(default)]
    pub until: Option<String>,
    /// Why it is kept (an incident, a ticket); required.
    pub reason: String,
}

/// A hold, as answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HoldView {
    /// Its id, for `DELETE /api/v1/holds/{id}`.
    pub id: String,
    /// `request`, `session` or `window`.
    pub kind: String,
    /// The request or session id held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Window start, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Window end, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Why it is kept.
    pub reason: String,
    /// When it was created, RFC 3339.
    pub created_at: String,
}

/// Every hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HoldList {
    /// Oldest first.
    pub holds: Vec<HoldView>,
}

impl From<&Hold> for HoldView {
    fn from(hold: &Hold) -> HoldView {
        let (kind, value, since, until) = match &hold.target {
            HoldTarget::Request { value } => ("request", Some(value.clone()), None, None),
            HoldTarget::Session { value } => ("session", Some(value.clone()), None, None),
            HoldTarget::Window { since_unix_nano, until_unix_nano } => {
                ("window", None, Some(format_rfc3339(*since_unix_nano)), Some(format_rfc3339(*until_unix_nano)))
            }
        };
        HoldView {
            id: hold.id.clone(),
            kind: kind.to_string(),
            value,
            since,
            until,
            reason: hold.reason.clone(),
            created_at: format_rfc3339(hold.created_at_unix_nano),
        }
    }
}

impl HoldInput {
    /// Checks the input and says what it holds.
    pub fn target(&self, now: u64) -> Result<HoldTarget, ApiError> {
        let invalid = |reason: String| ApiError::invalid("hold", reason);
        if self.reason.trim().is_empty() {
            return Err(invalid("reason must not be empty".into()));
        }
        if self.reason.len() > MAX_REASON_BYTES {
            return Err(invalid(format!("reason is longer than {MAX_REASON_BYTES} bytes")));
        }
        let value = || match self.value.as_deref().map(str::trim) {
            Some(value) if !value.is_empty() => Ok(value.to_string()),
            _ => Err(invalid(format!("a {} hold needs a value", self.kind))),
        };
        match self.kind.as_str() {
            "request" => Ok(HoldTarget::Request { value: value()? }),
            "session" => Ok(HoldTarget::Session { value: value()? }),
            "window" => {
                let since = self.since.as_deref().ok_or_else(|| invalid("a window hold needs since".into()))?;
                let since = parse_time_bound(since, now).map_err(|e| invalid(format!("since: {e}")))?;
                let until = match self.until.as_deref() {
                    Some(until) => parse_time_bound(until, now).map_err(|e| invalid(format!("until: {e}")))?,
                    None => now,
                };
                if since > until {
                    return Err(invalid("since is after until".into()));
                }
                Ok(HoldTarget::Window { since_unix_nano: since, until_unix_nano: until })
            }
            other => Err(invalid(format!("kind {other:?} is none of request, session, window"))),
        }
    }
}

/// Keeps a request, a session or a time window from retention; durable when answered.
#[utoipa::path(
    post,
    path = "/api/v1/holds",
    request_body = HoldInput,
    responses(
        (status = 201, description = "Held (fsync'd)", body = HoldView),
        (status = 400, description = "The hold cannot be read", body = ErrorBody)
    )
)]
pub async fn post_hold(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiJson(input): ApiJson<HoldInput>,
) -> Result<(StatusCode, Json<HoldView>), ApiError> {
    let now = now_unix_nanos();
    let target = input.target(now)?;
    let reason = input.reason.trim().to_string();
    let hold = run_blocking(&state, move |store| store.add_hold(tenant, target, &reason, now)).await?;
    tracing::info!(id = %hold.id, reason = %hold.reason, "hold created");
    Ok((StatusCode::CREATED, Json(HoldView::from(&hold))))
}

/// Every hold, oldest first.
#[utoipa::path(get, path = "/api/v1/holds", responses((status = 200, description = "The holds", body = HoldList)))]
pub async fn list_holds(State(state): State<ApiState>, Tenant(tenant): Tenant) -> Result<Json<HoldList>, ApiError> {
    let holds = run_blocking(&state, move |store| store.holds(tenant)).await?;
    Ok(Json(HoldList { holds: holds.iter().map(HoldView::from).collect() }))
}

/// Releases a hold: what it kept is subject to retention again.
#[utoipa::path(
    delete,
    path = "/api/v1/holds/{id}",
    params(("id" = String, Path, description = "The hold's id")),
    responses(
        (status = 200, description = "Released; the hold as it was", body = HoldView),
        (status = 404, description = "No such hold", body = ErrorBody)
    )
)]
pub async fn delete_hold(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<HoldView>, ApiError> {
    let wanted = id.clone();
    let removed = run_blocking(&state, move |store| {
        let Some(hold) = store.hold(tenant, &wanted)? else { return Ok::<_, ApiError>(None) };
        Ok(store.remove_hold(tenant, &wanted)?.then_some(hold))
    })
    .await?;
    let hold = removed.ok_or(ApiError(tracehound_query::QueryError::NotFound { what: "hold", id }))?;
    tracing::info!(id = %hold.id, "hold released");
    Ok(Json(HoldView::from(&hold)))
}
