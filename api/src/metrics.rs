//! `GET /metrics`: self-metrics in the Prometheus text format.
//!
//! Counters and histograms are recorded where things happen (the collector's receivers,
//! through the `metrics` facade); gauges of stored state are read from the store and the
//! index at scrape time, so they are never stale.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::state::ApiState;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Why the metrics recorder could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("cannot install the metrics recorder: {0}")]
pub struct MetricsError(String);

/// Installs the process-wide recorder that `/metrics` renders. Call once, at start-up.
pub fn install() -> Result<(), MetricsError> {
    if HANDLE.get().is_some() {
        return Ok(());
    }
    let handle = PrometheusBuilder::new().install_recorder().map_err(|e| MetricsError(e.to_string()))?;
    let _ = HANDLE.set(handle);
    Ok(())
}

/// Renders every metric, after refreshing the gauges of stored state.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"),
              (status = 503, description = "metrics recorder not installed")))]
pub async fn get_metrics(State(state): State<ApiState>) -> Response {
    let Some(handle) = HANDLE.get() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics are not enabled in this process").into_response();
    };
    let refreshed = tokio::task::spawn_blocking(move || refresh_gauges(&state)).await;
    if refreshed.is_err() {
        return (StatusCode::INTERNAL_SERVER_ERROR, "reading the store for metrics failed").into_response();
    }
    handle.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()).into_response()
}

fn refresh_gauges(state: &ApiState) {
    metrics::gauge!("tracehound_up").set(1.0);
    metrics::gauge!("tracehound_disk_bytes").set(state.store.disk_bytes() as f64);
    if let Ok(counters) = state.store.counters(tracehound_store::TenantId::DEFAULT) {
        metrics::gauge!("tracehound_stored_spans").set(counters.spans as f64);
        metrics::gauge!("tracehound_stored_requests").set(counters.traces as f64);
        metrics::gauge!("tracehound_stored_sessions").set(counters.sessions as f64);
        metrics::gauge!("tracehound_stored_log_records").set(counters.logs as f64);
    }
    if let Some(index) = &state.search {
        let lag =
            tracehound_query::stats::index_lag(&state.store, index, tracehound_query::time_range::now_unix_nanos());
        metrics::gauge!("tracehound_index_lag_changes").set(lag.changes_behind as f64);
        metrics::gauge!("tracehound_index_lag_seconds").set(lag.lag_seconds());
    }
}
