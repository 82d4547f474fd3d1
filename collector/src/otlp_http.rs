//! OTLP/HTTP receiver: `POST /v1/traces` and `POST /v1/logs`, protobuf or JSON, optionally
//! gzip-compressed. Answers in the content type of the request.

use std::io::Read;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use prost::Message;
use serde::{de::DeserializeOwned, Serialize};

use tracehound_auth::{AuthError, Gate, Principal, RateLimited, Scope};
use tracehound_proto::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use tracehound_proto::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use tracehound_proto::rpc;

use crate::admission::{log_record_count, span_count};
use crate::ingest::{Ingest, IngestError};
use crate::otlp_grpc::{logs_partial, trace_partial};
use crate::self_metrics::{self, Signal};

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";
/// Seconds a refused sender is asked to wait before retrying.
const RETRY_AFTER_SECS: u64 = 1;

/// Limits of the HTTP receiver.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Largest body accepted as sent (compressed or not).
    pub max_body_bytes: usize,
    /// Largest body accepted after decompression.
    pub max_decompressed_bytes: usize,
}

#[derive(Clone)]
struct HttpState {
    ingest: Ingest,
    limits: HttpLimits,
    gate: Gate,
}

/// The OTLP/HTTP router, without keys: everything lands in the default tenant.
pub fn router(ingest: Ingest, limits: HttpLimits) -> Router {
    router_with_gate(ingest, limits, Gate::open(Default::default()))
}

/// The OTLP/HTTP router admitting only exports whose `authorization` key `gate` accepts for ingest.
pub fn router_with_gate(ingest: Ingest, limits: HttpLimits, gate: Gate) -> Router {
    Router::new()
        .route("/v1/traces", post(export_traces))
        .route("/v1/logs", post(export_logs))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .with_state(HttpState { ingest, limits, gate })
}

/// The caller's principal, or the refusal: 401 for a missing or bad key, 403 without `ingest`.
fn authorize(state: &HttpState, headers: &HeaderMap) -> Result<Principal, Refusal> {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    state.gate.authorize(authorization, Scope::Ingest).map_err(|e: AuthError| {
        let status = if e.is_unauthenticated() { StatusCode::UNAUTHORIZED } else { StatusCode::FORBIDDEN };
        Refusal::new(status, encoding_of(headers), e.to_string())
    })
}

/// 429 with `Retry-After`: OTLP/HTTP exporters retry it.
fn rate_refusal(err: RateLimited, encoding: Encoding) -> Refusal {
    let mut refusal = Refusal::new(StatusCode::TOO_MANY_REQUESTS, encoding, err.to_string());
    refusal.retry_after_secs = err.retry_after.as_secs().max(1);
    refusal
}

/// The answer's encoding guessed from the content type, for refusals before decoding.
fn encoding_of(headers: &HeaderMap) -> Encoding {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.trim().to_ascii_lowercase().starts_with(PROTOBUF) {
        Encoding::Protobuf
    } else {
        Encoding::Json
    }
}

/// Body encoding of a request and of its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

/// A refused request: status, message, and the encoding to answer in.
struct Refusal {
    status: StatusCode,
    message: String,
    encoding: Encoding,
    retry_after_secs: u64,
}

impl Refusal {
    fn new(status: StatusCode, encoding: Encoding, message: impl Into<String>) -> Self {
        Refusal { status, message: message.into(), encoding, retry_after_secs: RETRY_AFTER_SECS }
    }
}

impl Refusal {
    /// Counts a body refused before ingest, by its status.
    fn count(&self, signal: Signal) {
        let reason = match self.status {
            StatusCode::PAYLOAD_TOO_LARGE => self_metrics::Refusal::TooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => self_metrics::Refusal::UnsupportedMediaType,
            StatusCode::UNAUTHORIZED => self_metrics::Refusal::Unauthenticated,
            StatusCode::FORBIDDEN => self_metrics::Refusal::PermissionDenied,
            StatusCode::TOO_MANY_REQUESTS => self_metrics::Refusal::RateLimited,
            _ => self_metrics::Refusal::Malformed,
        };
        self_metrics::record_refusal(signal, reason);
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let code = match self.status {
            StatusCode::BAD_REQUEST => 3,                                          // INVALID_ARGUMENT
            StatusCode::UNAUTHORIZED => 16,                                        // UNAUTHENTICATED
            StatusCode::FORBIDDEN => 7,                                            // PERMISSION_DENIED
            StatusCode::PAYLOAD_TOO_LARGE => 8,                                    // RESOURCE_EXHAUSTED
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => 14, // UNAVAILABLE
            _ => 2,                                                                // UNKNOWN
        };
        let body = rpc::Status { code, message: self.message };
        let mut response = encode_answer(self.encoding, &body, body.encode_to_vec());
        *response.status_mut() = self.status;
        if matches!(self.status, StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS) {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(self.retry_after_secs));
        }
        response
    }
}

fn encode_answer<T: Serialize>(encoding: Encoding, value: &T, protobuf: Vec<u8>) -> Response {
    match encoding {
        Encoding::Protobuf => ([(header::CONTENT_TYPE, PROTOBUF)], protobuf).into_response(),
        Encoding::Json => match serde_json::to_vec(value) {
            Ok(json) => ([(header::CONTENT_TYPE, JSON)], json).into_response(),
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        },
    }
}

async fn export_traces(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Result<Response, Refusal> {
    let principal = authorize(&state, &headers).inspect_err(|r| r.count(Signal::Spans))?;
    let (encoding, request) = decode_request::<ExportTraceServiceRequest>(&headers, &body, state.limits)
        .inspect_err(|r| r.count(Signal::Spans))?;
    state
        .gate
        .admit(&principal, request.encoded_len() as u64, span_count(&request))
        .map_err(|e| rate_refusal(e, encoding))
        .inspect_err(|r| r.count(Signal::Spans))?;
    let report = state.ingest.traces(principal.tenant, &request).await.map_err(|e| refusal_of(e, encoding))?;
    let answer = ExportTraceServiceResponse { partial_success: trace_partial(&report) };
    Ok(encode_answer(encoding, &answer, answer.encode_to_vec()))
}

async fn export_logs(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Result<Response, Refusal> {
    let principal = authorize(&state, &headers).inspect_err(|r| r.count(Signal::LogRecords))?;
    let (encoding, request) = decode_request::<ExportLogsServiceRequest>(&headers, &body, state.limits)
        .inspect_err(|r| r.count(Signal::LogRecords))?;
    state
        .gate
        .admit(&principal, request.encoded_len() as u64, log_record_count(&request))
        .map_err(|e| rate_refusal(e, encoding))
        .inspect_err(|r| r.count(Signal::LogRecords))?;
    let report = state.ingest.logs(principal.tenant, &request).await.map_err(|e| refusal_of(e, encoding))?;
    let answer = ExportLogsServiceResponse { partial_success: logs_partial(&report) };
    Ok(encode_answer(encoding, &answer, answer.encode_to_vec()))
}

fn refusal_of(err: IngestError, encoding: Encoding) -> Refusal {
    Refusal::new(StatusCode::SERVICE_UNAVAILABLE, encoding, err.to_string())
}

fn decode_request<T: Message + Default + DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
    limits: HttpLimits,
) -> Result<(Encoding, T), Refusal> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let encoding = match mime.as_str() {
        PROTOBUF => Encoding::Protobuf,
        JSON => Encoding::Json,
        other => {
            return Err(Refusal::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Encoding::Json,
                format!("unsupported content type {other:?}: send application/x-protobuf or application/json"),
            ))
        }
    };
    let content_encoding = headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("identity");
    let inflated;
    let bytes = match content_encoding.trim().to_ascii_lowercase().as_str() {
        "" | "identity" => body,
        "gzip" => {
            inflated = gunzip_bounded(body, limits.max_decompressed_bytes).map_err(|e| match e {
                GunzipError::TooLarge => Refusal::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    encoding,
                    format!("body exceeds {} bytes after decompression", limits.max_decompressed_bytes),
                ),
                GunzipError::Corrupt(msg) => {
                    Refusal::new(StatusCode::BAD_REQUEST, encoding, format!("body is not valid gzip: {msg}"))
                }
            })?;
            &inflated[..]
        }
        other => {
            return Err(Refusal::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                encoding,
                format!("unsupported content encoding {other:?}: send gzip or identity"),
            ))
        }
    };
    let request = match encoding {
        Encoding::Protobuf => T::decode(bytes).map_err(|e| {
            Refusal::new(StatusCode::BAD_REQUEST, encoding, format!("body is not a valid OTLP protobuf message: {e}"))
        })?,
        Encoding::Json => serde_json::from_slice(bytes).map_err(|e| {
            Refusal::new(StatusCode::BAD_REQUEST, encoding, format!("body is not valid OTLP/JSON: {e}"))
        })?,
    };
    Ok((encoding, request))
}

enum GunzipError {
    TooLarge,
    Corrupt(String),
}

/// Inflates at most `limit` bytes, so a gzip bomb is refused without being inflated whole.
fn gunzip_bounded(body: &[u8], limit: usize) -> Result<Vec<u8>, GunzipError> {
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    let reader = flate2::read::MultiGzDecoder::new(body);
    reader.take(limit as u64 + 1).read_to_end(&mut out).map_err(|e| GunzipError::Corrupt(e.to_string()))?;
    if out.len() > limit {
        return Err(GunzipError::TooLarge);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gunzip_refuses_a_bomb_without_inflating_it_whole() {
        let bomb = gzip(&vec![0u8; 50 * 1024 * 1024]);
        assert!(matches!(gunzip_bounded(&bomb, 1024 * 1024), Err(GunzipError::TooLarge)));
    }

    #[test]
    fn gunzip_reports_corrupt_input() {
        assert!(matches!(gunzip_bounded(b"not gzip at all", 1024), Err(GunzipError::Corrupt(_))));
    }

    #[test]
    fn every_fixture_json_body_decodes_as_otlp_json() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures");
        let mut decoded = 0;
        for dir in std::fs::read_dir(&root).unwrap().flatten() {
            if !dir.file_name().to_string_lossy().ends_with("http-json") {
                continue;
            }
            let requests = dir.path().join("requests");
            let Ok(entries) = std::fs::read_dir(&requests) else { continue };
            for file in entries.flatten() {
                let path = file.path();
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                if !name.ends_with(".wire.json") {
                    continue;
                }
                let body = std::fs::read(&path).unwrap();
                let pb = std::fs::read(requests.join(name.replace(".wire.json", ".pb"))).unwrap();
                if name.contains("-traces") {
                    let from_json: ExportTraceServiceRequest = serde_json::from_slice(&body).unwrap();
                    assert_eq!(from_json, ExportTraceServiceRequest::decode(&pb[..]).unwrap(), "{name}");
                } else {
                    let from_json: ExportLogsServiceRequest = serde_json::from_slice(&body).unwrap();
                    assert_eq!(from_json, ExportLogsServiceRequest::decode(&pb[..]).unwrap(), "{name}");
                }
                decoded += 1;
            }
        }
        let expected = std::fs::read_dir(&root)
            .unwrap()
            .flatten()
            .filter(|d| d.file_name().to_string_lossy().ends_with("http-json"))
            .map(|d| std::fs::read_dir(d.path().join("requests")).unwrap().flatten().count() / 5)
            .sum::<usize>();
        assert_eq!(decoded, expected, "every captured OTLP/JSON body was checked");
        assert!(decoded > 0);
    }
}
