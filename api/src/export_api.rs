//! `GET /api/v1/export`: stored requests as OTLP/JSON lines, for a ticket, another store, or
//! `tracehound import` into a fresh server.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tracehound_query::export::{self, ExportParams};
use tracehound_query::time_range::now_unix_nanos;
use tracehound_query::ErrorBody;
use tracehound_store::{Store, TenantId};

use crate::error::ApiError;
use crate::state::{run_blocking, ApiQuery, ApiState, Tenant};

/// Header saying the export stopped at its cap and left the newest requests out.
pub const TRUNCATED_HEADER: &str = "x-tracehound-export-truncated";

/// Lines produced ahead of the client, at most: a slow reader holds back the store reads.
const LINES_AHEAD: usize = 32;

/// Streams the chosen requests, oldest first: per request one `ExportTraceServiceRequest`
/// line (`{"resourceSpans": …}`) and, when it has log records or scores ingest cannot
/// rebuild, one `ExportLogsServiceRequest` line (`{"resourceLogs": …}`). Posting each line
/// to `/v1/traces` or `/v1/logs` of an OTLP/HTTP receiver rebuilds the same requests.
#[utoipa::path(
    get,
    path = "/api/v1/export",
    tag = "evidence",
    params(ExportParams),
    responses(
        (status = 200, description = "OTLP/JSON lines, one export request per line", content_type = "application/x-ndjson"),
        (status = 400, description = "A parameter or the query cannot be read", body = ErrorBody),
        (status = 503, description = "A query was given and this process has no search index", body = ErrorBody)
    )
)]
pub async fn get_export(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let search = state.search.clone();
    let selection =
        run_blocking(&state, move |store| export::select(store, search.as_ref(), tenant, &params, now_unix_nanos()))
            .await?;
    let truncated = selection.truncated;
    let (tx, rx) = mpsc::channel(LINES_AHEAD);
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || stream_lines(&store, tenant, &selection.trace_ids, &tx));
    let mut response = Body::from_stream(ReceiverStream::new(rx)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    headers.insert(TRUNCATED_HEADER, HeaderValue::from_static(if truncated { "true" } else { "false" }));
    Ok(response)
}

/// Sends each request's lines; a store error ends the body with an error, so the client
/// sees a broken transfer rather than a short file it takes for whole.
fn stream_lines(
    store: &Store,
    tenant: TenantId,
    trace_ids: &[tracehound_store::model::TraceId],
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    for trace_id in trace_ids {
        let lines = match store.trace(tenant, trace_id) {
            // Deleted by retention since it was chosen.
            Ok(None) => continue,
            Ok(Some(data)) => request_lines(&data),
            Err(e) => Err(std::io::Error::other(e.to_string())),
        };
        let failed = lines.is_err();
        // A closed receiver means the client went away.
        if tx.blocking_send(lines.map(Bytes::from)).is_err() || failed {
            return;
        }
    }
}

fn request_lines(data: &tracehound_store::TraceData) -> Result<Vec<u8>, std::io::Error> {
    let (traces, logs) = tracehound_export::request_export(data);
    let mut out = serde_json::to_vec(&traces).map_err(std::io::Error::other)?;
    out.push(b'\n');
    if let Some(logs) = logs {
        out.extend(serde_json::to_vec(&logs).map_err(std::io::Error::other)?);
        out.push(b'\n');
    }
    Ok(out)
}
