//! A Tempo-compatible read API, so that Grafana's Tempo data source (and other tools that
//! speak Tempo's HTTP API) can find and open Tracehound traces. Served: trace by id (v1 and
//! v2, protobuf or JSON by `Accept`), search by service, span name, status, duration and
//! time, tag names and values for those, and the echo probe. Not served: TraceQL beyond a
//! conjunction over those attributes, TraceQL metrics, streaming search over gRPC.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use prost::Message;
use serde_json::{json, Value};
use tracehound_proto::tempo::{Trace, TraceByIdResponse};
use tracehound_query::tempo::{self, TempoSearchParams, TAGS};
use tracehound_query::QueryError;
use tracehound_store::model::TraceId;

use crate::error::ApiError;
use crate::state::{run_blocking, ApiPath, ApiQuery, ApiState, Tenant};

/// What Tempo's clients send to ask for protobuf.
const PROTOBUF: &str = "application/protobuf";

/// `GET /api/echo`: the probe Grafana's data source calls on "Save & test".
pub async fn echo() -> &'static str {
    "echo"
}

/// `GET /api/traces/{id}`: the trace as `tempopb.Trace` (protobuf), or its JSON with
/// `batches`, as Tempo's v1 answers.
pub async fn trace_v1(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let trace = read_trace(&state, tenant, &id).await?;
    if wants_protobuf(&headers) {
        return Ok(protobuf(trace.encode_to_vec()));
    }
    let spans = resource_spans_json(trace)?;
    Ok(Json(json!({"batches": spans})).into_response())
}

/// `GET /api/v2/traces/{id}`: `tempopb.TraceByIDResponse` (protobuf), or its JSON.
pub async fn trace_v2(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let trace = read_trace(&state, tenant, &id).await?;
    if wants_protobuf(&headers) {
        return Ok(protobuf(TraceByIdResponse { trace: Some(trace), status: 0 }.encode_to_vec()));
    }
    let spans = resource_spans_json(trace)?;
    Ok(Json(json!({"trace": {"resourceSpans": spans}, "status": "COMPLETE"})).into_response())
}

/// `GET /api/search`: traces by service, root span name, status and duration.
pub async fn search(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiQuery(params): ApiQuery<TempoSearchParams>,
) -> Result<Json<tempo::TempoSearchAnswer>, ApiError> {
    run_blocking(&state, move |store| tempo::search(store, tenant, &params)).await.map(Json)
}

/// `GET /api/search/tags`: the tags a search filters on.
pub async fn tags_v1() -> Json<Value> {
    Json(json!({"tagNames": TAGS.iter().map(|(_, tag)| *tag).collect::<Vec<_>>()}))
}

/// `GET /api/v2/search/tags`: the same, by scope.
pub async fn tags_v2() -> Json<Value> {
    let scopes: Vec<Value> = ["resource", "intrinsic"]
        .iter()
        .map(|scope| json!({"name": scope, "tags": TAGS.iter().filter(|(s, _)| s == scope).map(|(_, t)| *t).collect::<Vec<_>>()}))
        .collect();
    Json(json!({"scopes": scopes}))
}

/// `GET /api/search/tag/{tag}/values`.
pub async fn tag_values_v1(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiPath(tag): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let values = run_blocking(&state, move |store| tempo::tag_values(store, tenant, &tag)).await?;
    Ok(Json(json!({"tagValues": values})))
}

/// `GET /api/v2/search/tag/{tag}/values`: the values with their TraceQL types.
pub async fn tag_values_v2(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiPath(tag): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let kind = if tag.ends_with("status") { "keyword" } else { "string" };
    let values = run_blocking(&state, move |store| tempo::tag_values(store, tenant, &tag)).await?;
    Ok(Json(json!({"tagValues": values.into_iter().map(|v| json!({"type": kind, "value": v})).collect::<Vec<_>>()})))
}

async fn read_trace(state: &ApiState, tenant: tracehound_store::TenantId, id: &str) -> Result<Trace, ApiError> {
    let trace_id = parse_trace_id(id)?;
    let data = run_blocking(state, move |store| store.trace(tenant, &trace_id).map_err(QueryError::from)).await?;
    let data = data.ok_or_else(|| ApiError(QueryError::NotFound { what: "trace", id: id.to_string() }))?;
    let export = tracehound_export::trace_export(&data);
    Ok(Trace { resource_spans: export.resource_spans })
}

/// A trace id as Tempo's clients send it: hex, up to 32 digits (leading zeros may be cut).
fn parse_trace_id(id: &str) -> Result<TraceId, ApiError> {
    let invalid =
        || ApiError(QueryError::InvalidParameter { name: "trace_id", reason: format!("{id:?} is not a hex trace id") });
    let id = id.trim();
    if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid());
    }
    let padded = format!("{id:0>32}");
    let mut out = [0u8; 16];
    hex::decode_to_slice(padded, &mut out).map_err(|_| invalid())?;
    Ok(out)
}

/// The trace's resource spans as OTLP/JSON (hex ids), the array both JSON answers hold.
fn resource_spans_json(trace: Trace) -> Result<Value, ApiError> {
    let export =
        tracehound_proto::collector::trace::v1::ExportTraceServiceRequest { resource_spans: trace.resource_spans };
    let mut value = serde_json::to_value(&export).map_err(|e| ApiError(QueryError::ReadAborted(e.to_string())))?;
    Ok(value["resourceSpans"].take())
}

fn wants_protobuf(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains(PROTOBUF))
}

fn protobuf(bytes: Vec<u8>) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static(PROTOBUF))], bytes).into_response()
}
