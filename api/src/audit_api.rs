//! `GET /api/v1/audit`: who read which evidence (admin scope).

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use tracehound_query::params::parse_limit;
use tracehound_query::time_range::{now_unix_nanos, parse_time_bound};
use tracehound_query::{ErrorBody, QueryError};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::state::{AccessState, ApiQuery, Tenant};

/// Query of `GET /api/v1/audit`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditParams {
    /// Oldest entry: an age (`30m`, `48h`, `7d`) or RFC 3339; default 24h.
    pub since: Option<String>,
    /// Most entries, newest first: 1 to 1000, default 100.
    pub limit: Option<String>,
}

/// The caller's tenant's audit trail.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditList {
    /// Entries, newest first.
    pub entries: Vec<AuditView>,
}

/// One audited read.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditView {
    /// When, Unix ns.
    pub time_unix_nano: u64,
    /// The key's id (never the key); absent when the server runs without keys.
    pub key_id: Option<String>,
    /// The HTTP method.
    pub method: String,
    /// Path and query read.
    pub route: String,
    /// Status answered.
    pub status: u16,
}

/// Who read which evidence, newest first (admin scope).
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    params(AuditParams),
    responses(
        (status = 200, description = "The caller's tenant's audit trail", body = AuditList),
        (status = 400, description = "A parameter could not be read", body = ErrorBody),
        (status = 401, description = "No valid key", body = ErrorBody),
        (status = 403, description = "The key lacks the admin scope", body = ErrorBody)
    )
)]
pub async fn get_audit(
    State(access): State<AccessState>,
    Tenant(tenant): Tenant,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> Result<Json<AuditList>, ApiError> {
    let now = now_unix_nanos();
    let since = match params.since.as_deref() {
        Some(text) => parse_time_bound(text, now).map_err(|e| ApiError::invalid("since", e.to_string()))?,
        None => now.saturating_sub(86_400 * 1_000_000_000),
    };
    let limit = parse_limit(&params.limit, 100, 1000)?;
    let store = access.store.clone();
    let entries = tokio::task::spawn_blocking(move || store.audit_entries(tenant, since, limit))
        .await
        .map_err(|e| ApiError(QueryError::ReadAborted(e.to_string())))??;
    let entries = entries
        .into_iter()
        .map(|e| AuditView {
            time_unix_nano: e.time_unix_nano,
            key_id: e.key_id,
            method: e.method,
            route: e.route,
            status: e.status,
        })
        .collect();
    Ok(Json(AuditList { entries }))
}
