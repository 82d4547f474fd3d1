//! HTTP handlers of monitoring: quality series over time and alert rules replayed over
//! stored history. The router in `router.rs` mounts them.

use axum::extract::State;
use axum::Json;
use tracehound_query::failing::Window;
use tracehound_query::monitor::backtest::{self, BacktestAnswer, BacktestParams};
use tracehound_query::monitor::live::AlertsView;
use tracehound_query::monitor::series::{self, SeriesAnswer, SeriesParams, SeriesQuery};
use tracehound_query::time_range::now_unix_nanos;
use tracehound_query::ErrorBody;

use crate::error::ApiError;
use crate::state::{run_blocking, ApiQuery, ApiState, Tenant};

/// One metric over time in buckets of `step`, optionally one series per service, language
/// or version value: failing, suspect and abstention shares, any cue's share, latency
/// quantiles, tokens, cost per request, or one eval score's mean.
#[utoipa::path(
    get,
    path = "/api/v1/series",
    params(SeriesParams),
    responses(
        (status = 200, description = "One point per bucket and series; a bucket without requests has no value", body = SeriesAnswer),
        (status = 400, description = "A parameter could not be read, or the window holds too many buckets", body = ErrorBody)
    )
)]
pub async fn get_series(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiQuery(params): ApiQuery<SeriesParams>,
) -> Result<Json<SeriesAnswer>, ApiError> {
    let query = SeriesQuery::parse(&params, now_unix_nanos())?;
    run_blocking(&state, move |store| series::series(store, tenant, &query)).await.map(Json)
}

/// The alert rules (the `--alert-rules` file's, else the built-in set) replayed over stored
/// history: what would have fired, when, on what numbers, and when it would have resolved.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/backtest",
    params(BacktestParams),
    responses(
        (status = 200, description = "The firings, the rules replayed, and the series too thin to judge", body = BacktestAnswer),
        (status = 400, description = "A parameter could not be read", body = ErrorBody)
    )
)]
pub async fn get_backtest(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiQuery(params): ApiQuery<BacktestParams>,
) -> Result<Json<BacktestAnswer>, ApiError> {
    let window = Window::parse(
        params.since.as_deref(),
        params.until.as_deref(),
        now_unix_nanos(),
        backtest::DEFAULT_WINDOW_NANOS,
    )?;
    let rules = state.alert_rules.clone();
    run_blocking(&state, move |store| backtest::backtest(store, tenant, &rules, window)).await.map(Json)
}

/// The alerts firing now, when the rules were last evaluated, and whether notifications are
/// waiting for a receiver.
#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    responses(
        (status = 200, description = "The caller's tenant's alerts firing now and its undelivered notifications", body = AlertsView)
    )
)]
pub async fn get_alerts(State(state): State<ApiState>, Tenant(tenant): Tenant) -> Json<AlertsView> {
    Json(state.alerts.snapshot().for_tenant(tenant.0))
}
