//! The read-side HTTP API: router, handlers and the OpenAPI document describing them.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use tracehound_store::search::SearchIndex;
use tracehound_store::{Store, TenantId};
use utoipa::OpenApi;

use crate::access::BearerAuth;
use crate::api_error::ApiError;
use crate::listing::{self, ListParams, ListQuery};
use crate::lookup;
use crate::search::{self, SearchParams, SearchQuery};
use crate::time_range::now_unix_nanos;
use crate::views::{
    ErrorBody, LookupAnswer, MatchedBy, RequestList, RequestStatus, RequestSummary, RequestView, SearchMatch,
    SearchQueryInfo, SearchResult, SearchResults, SessionView, SpanNode, Stats,
};

/// What the handlers share: the store, its search index, and whether the process is ready to serve.
#[derive(Clone)]
pub struct ApiState {
    /// The store read from.
    pub store: Store,
    /// The full-text index; `None` answers searches with 503.
    pub search: Option<SearchIndex>,
    /// Set once startup is complete; `/readyz` answers 503 until then.
    pub ready: Arc<AtomicBool>,
    /// The store's writer, for `POST /api/v1/scores`; `None` answers it with 503.
    pub writer: Option<tracehound_store::writer::Writer>,
}

/// The tenant a request reads from: its key's, as established by the access guard
/// (`access.rs`), which the binary puts in front of every route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tenant(pub TenantId);

impl<S: Send + Sync> FromRequestParts<S> for Tenant {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Tenant(crate::access::tenant_of(&parts.extensions)))
    }
}

/// The API's router; the binary merges it into its own and serves it.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/readyz", get(readyz))
        .route("/api/v1/lookup/{id}", get(get_lookup))
        .route("/api/v1/traces/{trace_id}", get(get_trace))
        .route("/api/v1/requests", get(list_requests))
        .route("/api/v1/requests/{request_id}", get(get_request))
        .route("/api/v1/sessions/{session_id}", get(get_session))
        .route("/api/v1/search", get(search_requests))
        .route("/api/v1/stats", get(get_stats))
        .route("/api/v1/openapi.json", get(get_openapi))
        .route("/api/v1/holds", get(crate::holds_api::list_holds).post(crate::holds_api::post_hold))
        .route("/api/v1/holds/{id}", axum::routing::delete(crate::holds_api::delete_hold))
        .route("/api/v1/scores", axum::routing::post(crate::evidence_api::post_score))
        .route("/api/v1/failing", get(crate::evidence_api::get_failing))
        .route("/api/v1/versions", get(crate::evidence_api::get_versions))
        .route("/api/v1/compare", get(crate::evidence_api::get_compare))
        .route("/api/v1/postmortem", get(crate::evidence_api::get_postmortem))
        .route("/metrics", get(crate::metrics::get_metrics))
        .merge(crate::ui::router())
        .layer(axum::middleware::from_fn(crate::server_timing::server_timing))
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
        readyz,
        get_lookup,
        get_trace,
        list_requests,
        get_request,
        get_session,
        search_requests,
        get_stats,
        get_openapi,
        crate::holds_api::post_hold,
        crate::holds_api::list_holds,
        crate::holds_api::delete_hold,
        crate::evidence_api::post_score,
        crate::evidence_api::get_failing,
        crate::evidence_api::get_versions,
        crate::evidence_api::get_compare,
        crate::evidence_api::get_postmortem,
        crate::metrics::get_metrics,
        crate::access::get_audit
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
        crate::stats::DiskUsage,
        crate::stats::IndexLag,
        crate::stats::RetentionView,
        crate::holds_api::HoldInput,
        crate::holds_api::HoldView,
        crate::holds_api::HoldList,
        crate::access::AuditList,
        crate::access::AuditView,
        ErrorBody
    ))
)]
struct ApiDoc;

/// Runs a blocking store call off the async workers; every handler goes through it.
pub(crate) async fn read<T, F>(state: &ApiState, read: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
{
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || read(&store)).await.map_err(|e| ApiError::ReadAborted(e.to_string()))?
}

/// A path segment, or our JSON error instead of axum's plain-text one.
fn path_value(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(value)| value).map_err(|e| ApiError::InvalidParameter { name: "path", reason: e.body_text() })
}

/// Readiness probe.
#[utoipa::path(
    get,
    path = "/readyz",
    responses(
        (status = 200, description = "Startup is complete", body = String, content_type = "text/plain"),
        (status = 503, description = "Still starting", body = String, content_type = "text/plain")
    )
)]
async fn readyz(State(state): State<ApiState>) -> (StatusCode, &'static str) {
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
async fn get_lookup(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<LookupAnswer>, ApiError> {
    let id = path_value(id)?;
    read(&state, move |store| lookup::lookup(store, tenant, &id)).await.map(Json)
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
async fn get_trace(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    trace_id: Result<Path<String>, PathRejection>,
) -> Result<Json<RequestView>, ApiError> {
    let text = path_value(trace_id)?;
    let trace_id = lookup::parse_trace_id(&text)?;
    let found = read(&state, move |store| lookup::request_by_trace(store, tenant, &trace_id)).await?;
    found.map(Json).ok_or(ApiError::NotFound { what: "trace", id: text })
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
async fn get_request(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    request_id: Result<Path<String>, PathRejection>,
) -> Result<Json<RequestView>, ApiError> {
    let request_id = path_value(request_id)?;
    read(&state, move |store| lookup::request_by_id(store, tenant, &request_id)).await.map(Json)
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
async fn get_session(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    session_id: Result<Path<String>, PathRejection>,
) -> Result<Json<SessionView>, ApiError> {
    let session_id = path_value(session_id)?;
    let lookup_id = session_id.clone();
    let found = read(&state, move |store| lookup::session(store, tenant, &lookup_id)).await?;
    found.map(Json).ok_or(ApiError::NotFound { what: "session", id: session_id })
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
async fn list_requests(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<RequestList>, ApiError> {
    let Query(params) =
        params.map_err(|e| ApiError::InvalidParameter { name: "query string", reason: e.body_text() })?;
    let query = ListQuery::parse(&params, now_unix_nanos())?;
    read(&state, move |store| listing::list_requests(store, tenant, &query)).await.map(Json)
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
async fn search_requests(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<SearchResults>, ApiError> {
    let Query(params) =
        params.map_err(|e| ApiError::InvalidParameter { name: "query string", reason: e.body_text() })?;
    let query = SearchQuery::parse(&params, now_unix_nanos())?;
    let index = state.search.clone().ok_or(ApiError::SearchUnavailable)?;
    read(&state, move |store| search::search(store, &index, tenant, &query)).await.map(Json)
}

/// Store-wide counts and size.
#[utoipa::path(
    get,
    path = "/api/v1/stats",
    responses((status = 200, description = "Counts, disk use by part, oldest data, index lag, retention", body = Stats))
)]
async fn get_stats(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    scoped: crate::access::TenantScoped,
) -> Result<Json<Stats>, ApiError> {
    let search = state.search.clone();
    read(&state, move |store| crate::stats::stats(store, search.as_ref(), tenant)).await.map(|s| Json(scoped.stats(s)))
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
