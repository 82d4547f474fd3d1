//! `GET /api/v1/triage`: did quality shift, when, and which layer and value explain it.

use axum::extract::State;
use axum::Json;
use tracehound_query::canary::{self, CanaryAnswer, CanaryParams};
use tracehound_query::failing::Window;
use tracehound_query::shadow::{self, ShadowAnswer, ShadowParams};
use tracehound_query::time_range::{now_unix_nanos, parse_time_bound};
use tracehound_query::triage::{self, Triage, TriageParams, DEFAULT_WINDOW_NANOS};
use tracehound_query::ErrorBody;

use crate::error::ApiError;
use crate::state::{run_blocking, ApiQuery, ApiState, Tenant};

/// The triage verdict of a window, in the triage order (infra, data, prompt, model).
#[utoipa::path(
    get,
    path = "/api/v1/triage",
    params(TriageParams),
    responses(
        (status = 200, description = "The verdict, its evidence, and what was ruled out", body = Triage),
        (status = 400, description = "A parameter could not be read", body = ErrorBody)
    )
)]
pub async fn get_triage(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiQuery(params): ApiQuery<TriageParams>,
) -> Result<Json<Triage>, ApiError> {
    let now = now_unix_nanos();
    let window = Window::parse(params.since.as_deref(), params.until.as_deref(), now, DEFAULT_WINDOW_NANOS)?;
    let baseline_since = match params.baseline_since.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => {
            let at = parse_time_bound(text, now).map_err(|e| ApiError::invalid("baseline_since", e.to_string()))?;
            if at >= window.since {
                return Err(ApiError::invalid("baseline_since", format!("{text:?} is not before since")));
            }
            Some(at)
        }
        None => None,
    };
    run_blocking(&state, move |store| triage::triage(store, tenant, window, baseline_since)).await.map(Json)
}

/// Canary and shadow verdict: a candidate version value against its baseline on the
/// rollback triggers (eval scores 5 % lower, p99 latency 20 % higher, cost per request 15 %
/// higher, any safety violation), with sample sizes and intervals; `hold` while too few.
#[utoipa::path(
    get,
    path = "/api/v1/canary",
    params(CanaryParams),
    responses(
        (status = 200, description = "promote, hold or rollback, with each trigger's evidence", body = CanaryAnswer),
        (status = 400, description = "A parameter is missing or cannot be read", body = ErrorBody)
    )
)]
pub async fn get_canary(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiQuery(params): ApiQuery<CanaryParams>,
) -> Result<Json<CanaryAnswer>, ApiError> {
    run_blocking(&state, move |store| canary::canary(store, tenant, &params, now_unix_nanos())).await.map(Json)
}

/// Shadow verdict: every shadow request (one naming the request it shadows, by attribute or
/// link) paired with its primary, and the canary's triggers judged pair by pair.
#[utoipa::path(
    get,
    path = "/api/v1/shadow",
    params(ShadowParams),
    responses(
        (status = 200, description = "promote, hold or rollback, with each trigger's paired evidence", body = ShadowAnswer),
        (status = 400, description = "A parameter cannot be read", body = ErrorBody)
    )
)]
pub async fn get_shadow(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiQuery(params): ApiQuery<ShadowParams>,
) -> Result<Json<ShadowAnswer>, ApiError> {
    run_blocking(&state, move |store| shadow::shadow(store, tenant, &params, now_unix_nanos())).await.map(Json)
}
