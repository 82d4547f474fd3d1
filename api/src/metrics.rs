//! `GET /metrics`: self-metrics in the Prometheus text format.
//!
//! Counters and histograms are recorded where things happen (the collector's receivers,
//! through the `metrics` facade); gauges of stored state are read from the store and the
//! index at scrape time, so they are never stale.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

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
    let handle = PrometheusBuilder::new()
        // Histograms as buckets, not the exporter's default summaries: quantiles of a summary
        // cannot be added up over instances or re-aggregated over time, buckets can.
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
        .map_err(|e| MetricsError(e.to_string()))?
        .install_recorder()
        .map_err(|e| MetricsError(e.to_string()))?;
    let _ = HANDLE.set(handle);
    describe();
    Ok(())
}

/// Bucket bounds of every `_seconds` histogram: from a fast acknowledgement (1 ms) to one
/// that waited on a full line and a slow disk (10 s).
const SECONDS_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// `# HELP` lines of the gauges read at scrape time.
fn describe() {
    use metrics::{describe_gauge, Unit};
    describe_gauge!("tracehound_up", "1 while the server answers.");
    describe_gauge!("tracehound_disk_bytes", Unit::Bytes, "Bytes the store occupies on disk.");
    describe_gauge!("tracehound_stored_spans", Unit::Count, "Spans stored, over every tenant.");
    describe_gauge!("tracehound_stored_requests", Unit::Count, "Requests (traces) stored, over every tenant.");
    describe_gauge!("tracehound_stored_sessions", Unit::Count, "Sessions stored, over every tenant.");
    describe_gauge!("tracehound_stored_log_records", Unit::Count, "Log records stored, over every tenant.");
    describe_gauge!("tracehound_index_lag_changes", Unit::Count, "Stored changes the search index has not committed.");
    describe_gauge!(
        "tracehound_index_lag_seconds",
        Unit::Seconds,
        "While the search index is behind, the time since its last commit (0 when caught up)."
    );
}

/// Renders every metric, after refreshing the gauges of stored state.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"),
              (status = 503, description = "metrics recorder not installed")))]
pub async fn get_metrics(State(state): State<ApiState>) -> Response {
    let Some(handle) = HANDLE.get() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics are not enabled in this process").into_response();
    };
    let quality = state.alerts.quality();
    let refreshed = tokio::task::spawn_blocking(move || refresh_gauges(&state)).await;
    if refreshed.is_err() {
        return (StatusCode::INTERNAL_SERVER_ERROR, "reading the store for metrics failed").into_response();
    }
    handle.run_upkeep();
    // Quality gauges are rendered from the last evaluation's rows as they are, not kept in
    // the recorder, so a version value no longer live leaves no stale series behind.
    let mut text = handle.render();
    text.push_str(&tracehound_query::monitor::quality::render_prometheus(&quality));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

fn refresh_gauges(state: &ApiState) {
    metrics::gauge!("tracehound_up").set(1.0);
    metrics::gauge!("tracehound_disk_bytes").set(state.store.disk_bytes() as f64);
    if let Ok(counters) = state.store.counters_over_tenants() {
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
