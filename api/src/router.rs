//! The top floor: every route of the API in one router, the guard around it, and the
//! OpenAPI document describing them.

use axum::routing::{get, post};
use axum::{Json, Router};
use tracehound_query::views::{
    LookupAnswer, MatchedBy, RequestList, RequestStatus, RequestSummary, RequestView, SearchMatch, SearchQueryInfo,
    SearchResult, SearchResults, SessionView, SpanNode, Stats,
};
use tracehound_query::ErrorBody;
use utoipa::OpenApi;

use crate::access::{guard, BearerAuth};
use crate::state::{AccessState, ApiState};
use crate::{
    audit_api, evals_api, evidence_api, export_api, holds_api, metrics, monitor_api, requests_api, server_timing,
    signin, tempo_api, triage_api, ui,
};

/// The API's router; the binary merges it into its own and serves it.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/readyz", get(requests_api::readyz))
        .route("/api/v1/lookup/{id}", get(requests_api::get_lookup))
        .route("/api/v1/traces/{trace_id}", get(requests_api::get_trace))
        .route("/api/v1/requests", get(requests_api::list_requests))
        .route("/api/v1/requests/{request_id}", get(requests_api::get_request))
        .route("/api/v1/sessions/{session_id}", get(requests_api::get_session))
        .route("/api/v1/search", get(requests_api::search_requests))
        .route("/api/v1/export", get(export_api::get_export))
        .route("/api/v1/canary", get(triage_api::get_canary))
        .route("/api/v1/shadow", get(triage_api::get_shadow))
        // Tempo's HTTP API, for Grafana's Tempo data source (`api/src/tempo_api.rs`).
        .route("/api/echo", get(tempo_api::echo))
        .route("/api/traces/{id}", get(tempo_api::trace_v1))
        .route("/api/v2/traces/{id}", get(tempo_api::trace_v2))
        .route("/api/search", get(tempo_api::search))
        .route("/api/search/tags", get(tempo_api::tags_v1))
        .route("/api/v2/search/tags", get(tempo_api::tags_v2))
        .route("/api/search/tag/{tag}/values", get(tempo_api::tag_values_v1))
        .route("/api/v2/search/tag/{tag}/values", get(tempo_api::tag_values_v2))
        .route("/api/v1/stats", get(requests_api::get_stats))
        .route("/api/v1/openapi.json", get(get_openapi))
        .route("/api/v1/holds", get(holds_api::list_holds).post(holds_api::post_hold))
        .route("/api/v1/holds/{id}", axum::routing::delete(holds_api::delete_hold))
        .route("/api/v1/scores", post(evidence_api::post_score))
        .route("/api/v1/failing", get(evidence_api::get_failing))
        .route("/api/v1/versions", get(evidence_api::get_versions))
        .route("/api/v1/compare", get(evidence_api::get_compare))
        .route("/api/v1/postmortem", get(evidence_api::get_postmortem))
        .route("/api/v1/triage", get(triage_api::get_triage))
        .route("/api/v1/series", get(monitor_api::get_series))
        .route("/api/v1/alerts/backtest", get(monitor_api::get_backtest))
        .route("/api/v1/alerts", get(monitor_api::get_alerts))
        .route("/api/v1/evals", get(evals_api::get_evals))
        .route("/api/v1/evals/runs", get(evals_api::list_runs).post(evals_api::post_run))
        .route("/api/v1/evals/runs/{id}", get(evals_api::get_run).delete(evals_api::delete_run))
        .route("/api/v1/evals/leases", post(evals_api::post_lease))
        .route("/api/v1/evals/leases/{id}", post(evals_api::complete_lease))
        .route("/metrics", get(metrics::get_metrics))
        .merge(ui::router())
        .fallback(requests_api::unrouted)
        .layer(axum::middleware::from_fn(server_timing::server_timing))
        .with_state(state)
}

/// The OpenAPI document of every route of [`router`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Tracehound query API", description = "Read LLM requests, sessions and their span trees."),
    modifiers(&BearerAuth),
    paths(
        requests_api::readyz,
        requests_api::get_lookup,
        requests_api::get_trace,
        requests_api::list_requests,
        requests_api::get_request,
        requests_api::get_session,
        requests_api::search_requests,
        requests_api::get_stats,
        get_openapi,
        holds_api::post_hold,
        holds_api::list_holds,
        holds_api::delete_hold,
        evidence_api::post_score,
        evidence_api::get_failing,
        evidence_api::get_versions,
        evidence_api::get_compare,
        evidence_api::get_postmortem,
        triage_api::get_triage,
        triage_api::get_canary,
        triage_api::get_shadow,
        monitor_api::get_series,
        monitor_api::get_backtest,
        monitor_api::get_alerts,
        evals_api::get_evals,
        evals_api::post_run,
        evals_api::list_runs,
        evals_api::get_run,
        evals_api::delete_run,
        evals_api::post_lease,
        evals_api::complete_lease,
        export_api::get_export,
        metrics::get_metrics,
        audit_api::get_audit
    ),
    components(schemas(
        LookupAnswer,
        MatchedBy,
        RequestView,
        SessionView,
        SpanNode,
        RequestSummary,
        RequestStatus,
        RequestList,
        SearchResults,
        SearchResult,
        SearchMatch,
        SearchQueryInfo,
        Stats,
        tracehound_query::stats::DiskUsage,
        tracehound_query::stats::IndexLag,
        tracehound_query::stats::RetentionView,
        holds_api::HoldInput,
        holds_api::HoldView,
        holds_api::HoldList,
        audit_api::AuditList,
        audit_api::AuditView,
        ErrorBody
    ))
)]
struct ApiDoc;

/// The API router behind the guard, with the sign-in and audit routes added.
///
/// The binary serves this; [`router`] alone has no access control and reads the default
/// tenant.
pub fn secure(api: Router, access: AccessState) -> Router {
    let own = Router::new()
        .route("/api/v1/audit", get(audit_api::get_audit))
        .route("/ui/signin", post(signin::post_signin))
        .route("/ui/signout", post(signin::post_signout))
        .with_state(access.clone());
    api.merge(own).layer(axum::middleware::from_fn_with_state(access, guard))
}

/// `routes` behind the guard: for routes the binary adds beside the API's own (`/mcp`).
pub fn guarded(routes: Router, access: AccessState) -> Router {
    routes.layer(axum::middleware::from_fn_with_state(access, guard))
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json"))
)]
async fn get_openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi())
}
