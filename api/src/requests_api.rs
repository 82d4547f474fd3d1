//! The read model's routes: probes, lookups by any id, listing, search and stats.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use tracehound_query::listing::{self, ListParams, ListQuery};
use tracehound_query::lookup;
use tracehound_query::search::{self, SearchParams};
use tracehound_query::time_range::now_unix_nanos;
use tracehound_query::views::{LookupAnswer, RequestList, RequestView, SearchResults, SessionView, Stats};
use tracehound_query::{ErrorBody, QueryError};

use crate::error::ApiError;
use crate::state::{run_blocking, ApiPath, ApiQuery, ApiState, Tenant, TenantScoped};

/// Readiness probe.
#[utoipa::path(
    get,
    path = "/readyz",
    responses(
        (status = 200, description = "Startup is complete", body = String, content_type = "text/plain"),
        (status = 503, description = "Still starting", body = String, content_type = "text/plain")
    )
)]
pub async fn readyz(State(state): State<ApiState>) -> (StatusCode, &'static str) {
    if state.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

/// Resolves any identifier: trace id, request id, session id or provider response id.
#[utoipa::path(
    get,
    path = "/api/v1/lookup/{id}",
    params(("id" = String, Path, description = "Trace id (32 hex), request id, session id or provider response id")),
    responses(
        (status = 200, description = "What the identifier names", body = LookupAnswer),
        (status = 404, description = "Nothing matches", body = ErrorBody)
    )
)]
pub async fn get_lookup(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<LookupAnswer>, ApiError> {
    run_blocking(&state, move |store| lookup::lookup(store, tenant, &id)).await.map(Json)
}

/// One request, by trace id.
#[utoipa::path(
    get,
    path = "/api/v1/traces/{trace_id}",
    params(("trace_id" = String, Path, description = "32 hex digits, either case")),
    responses(
        (status = 200, description = "The request and its span tree", body = RequestView),
        (status = 400, description = "Not a trace id", body = ErrorBody),
        (status = 404, description = "No such trace", body = ErrorBody)
    )
)]
pub async fn get_trace(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiPath(text): ApiPath<String>,
) -> Result<Json<RequestView>, ApiError> {
    let trace_id = lookup::parse_trace_id(&text)?;
    let found = run_blocking(&state, move |store| lookup::request_by_trace(store, tenant, &trace_id)).await?;
    found.map(Json).ok_or(ApiError(QueryError::NotFound { what: "trace", id: text }))
}

/// One request, by request id (the earliest when several traces share it), or by trace id.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{request_id}",
    params(("request_id" = String, Path, description = "Request id, or the trace id of a request without one")),
    responses(
        (status = 200, description = "The request and its span tree", body = RequestView),
        (status = 404, description = "No such request", body = ErrorBody)
    )
)]
pub async fn get_request(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiPath(request_id): ApiPath<String>,
) -> Result<Json<RequestView>, ApiError> {
    run_blocking(&state, move |store| lookup::request_by_id(store, tenant, &request_id)).await.map(Json)
}

/// One session with every request, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/sessions/{session_id}",
    params(("session_id" = String, Path, description = "Session id, exact")),
    responses(
        (status = 200, description = "The session", body = SessionView),
        (status = 404, description = "No such session", body = ErrorBody)
    )
)]
pub async fn get_session(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiPath(session_id): ApiPath<String>,
) -> Result<Json<SessionView>, ApiError> {
    let lookup_id = session_id.clone();
    let found = run_blocking(&state, move |store| lookup::session(store, tenant, &lookup_id)).await?;
    found.map(Json).ok_or(ApiError(QueryError::NotFound { what: "session", id: session_id }))
}

/// Recent requests, newest first, one page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/requests",
    params(ListParams),
    responses(
        (status = 200, description = "One page", body = RequestList),
        (status = 400, description = "A parameter could not be read", body = ErrorBody)
    )
)]
pub async fn list_requests(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<RequestList>, ApiError> {
    let query = ListQuery::parse(&params, now_unix_nanos())?;
    run_blocking(&state, move |store| listing::list_requests(store, tenant, &query)).await.map(Json)
}

/// Full-text search over requests; the query language is described in the README.
#[utoipa::path(
    get,
    path = "/api/v1/search",
    params(SearchParams),
    responses(
        (status = 200, description = "One page of matching requests", body = SearchResults),
        (
            status = 400,
            description = "The query or a parameter cannot be read; `position` locates a query error",
            body = ErrorBody
        ),
        (status = 503, description = "This process has no search index", body = ErrorBody)
    )
)]
pub async fn search_requests(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> Result<Json<SearchResults>, ApiError> {
    let query = search::parse_search(&params, tenant, now_unix_nanos())?;
    let index = state.search.clone().ok_or(ApiError(QueryError::SearchUnavailable))?;
    run_blocking(&state, move |store| search::search(store, &index, &query)).await.map(Json)
}

/// Store-wide counts and size.
#[utoipa::path(
    get,
    path = "/api/v1/stats",
    responses((status = 200, description = "Counts, disk use by part, oldest data, index lag, retention", body = Stats))
)]
pub async fn get_stats(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    scoped: TenantScoped,
) -> Result<Json<Stats>, ApiError> {
    let search = state.search.clone();
    run_blocking(&state, move |store| tracehound_query::stats::stats(store, search.as_ref(), tenant))
        .await
        .map(|s| Json(scoped.stats(s)))
}

/// Any other route: a JSON 404 naming what was asked, where axum answered an empty one. OTLP
/// sent here (a common first mistake) is told where the receivers listen, and counted with
/// the receivers' refusals.
pub async fn unrouted(method: axum::http::Method, uri: axum::http::Uri) -> (StatusCode, Json<ErrorBody>) {
    let path = uri.path();
    let signal = match (path, method == axum::http::Method::POST) {
        ("/v1/traces", true) => Some("spans"),
        ("/v1/logs", true) => Some("log_records"),
        _ => None,
    };
    let error = match signal {
        Some(signal) => {
            // The receivers' counter and label; this crate knows no ingest to count through.
            let reason = tracehound_error::ErrorCode::NotFound.metric_label();
            metrics::counter!("tracehound_refused_exports_total", "signal" => signal, "reason" => reason).increment(1);
            // Once per process: the counter has the rest, and an SDK retries for ever.
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| {
                tracing::warn!(
                    "OTLP POST {path} on the API port: send it to the OTLP/HTTP port (default 4318); further ones \
                     are only counted in tracehound_refused_exports_total"
                );
            });
            format!(
                "this is the Tracehound query API: send OTLP/HTTP to the OTLP/HTTP port (default 4318) at POST \
                 {path}, and OTLP/gRPC to port 4317"
            )
        }
        None => format!("no route {method} {path}; the API is described at /api/v1/openapi.json"),
    };
    (StatusCode::NOT_FOUND, Json(ErrorBody { error, position: None }))
}
