//! OTLP/HTTP receiver: `POST /v1/traces` and `POST /v1/logs`, protobuf or JSON, optionally
//! gzip-compressed. Answers in the content type of the request.

use std::io::Read;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use prost::Message;
use serde::{de::DeserializeOwned, Serialize};

use tracehound_error::{ErrorCode, ServiceError};
use tracehound_proto::collector::logs::v1::ExportLogsServiceRequest;
use tracehound_proto::collector::trace::v1::ExportTraceServiceRequest;
use tracehound_proto::rpc;

use crate::ingest::{Export, Ingest};
use crate::self_metrics::{warn_misdirected, Misdirected, Signal};

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

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
}

/// The OTLP/HTTP router. Keys and rates are the ingest's ([`Ingest::with_gate`]).
pub fn router(ingest: Ingest, limits: HttpLimits) -> Router {
    Router::new()
        .route("/v1/traces", post(export::<ExportTraceServiceRequest>))
        .route("/v1/logs", post(export::<ExportLogsServiceRequest>))
        .fallback(unrouted)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .with_state(HttpState { ingest, limits })
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

/// A refused request: what kind of refusal, the message, and the encoding to answer in.
#[derive(Debug)]
struct Refusal {
    code: ErrorCode,
    message: String,
    encoding: Encoding,
    retry_after_secs: u64,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refusal {}

impl ServiceError for Refusal {
    fn error_code(&self) -> ErrorCode {
        self.code
    }
}

impl Refusal {
    fn new(code: ErrorCode, encoding: Encoding, message: impl Into<String>) -> Self {
        Refusal { code, message: message.into(), encoding, retry_after_secs: 1 }
    }

    /// The refusal of any classified error.
    fn of(err: &impl ServiceError, encoding: Encoding) -> Self {
        Refusal::new(err.error_code(), encoding, err.to_string())
    }

    fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = secs.max(1);
        self
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = rpc::Status { code: self.code.grpc_code(), message: self.message };
        let mut response = encode_answer(self.encoding, &body, body.encode_to_vec());
        *response.status_mut() =
            StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if self.code.is_retryable() {
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

/// `POST /v1/traces` and `/v1/logs`: the key first (an unauthenticated sender costs no
/// decoding), then the body, then ingest.
async fn export<R: Export>(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let principal =
        state.ingest.authorize(R::SIGNAL, authorization).map_err(|e| Refusal::of(&e, encoding_of(&headers)))?;
    let (encoding, request) = decode_request::<R>(&headers, &body, state.limits)
        .inspect_err(|refusal| state.ingest.refused(R::SIGNAL, refusal))?;
    let answer = state
        .ingest
        .export(&principal, &request)
        .await
        .map_err(|e| Refusal::of(&e, encoding).retry_after(e.retry_after_secs()))?;
    Ok(encode_answer(encoding, &answer, answer.encode_to_vec()))
}

/// Any other method or path: a clear answer naming the right one (a POST counted as a refused
/// export), where
/// an empty 404 left senders guessing. A gRPC exporter pointed at this port gets a gRPC
/// `UNIMPLEMENTED` it can print, rather than an HTTP 404 it reports as such.
async fn unrouted(State(state): State<HttpState>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let path = uri.path();
    let signal = if path.contains("log") {
        Signal::LogRecords
    } else if path.contains("trace") {
        Signal::Spans
    } else {
        Signal::Unknown
    };
    if content_type.starts_with("application/grpc") {
        let message = "this is the OTLP/HTTP port: send OTLP/gRPC to the gRPC port (default 4317)";
        let refusal = Refusal::new(ErrorCode::NotServed, Encoding::Protobuf, message);
        state.ingest.refused(signal, &refusal);
        warn_misdirected(
            Misdirected::GrpcOnHttpPort,
            &format!("gRPC {path} on the OTLP/HTTP port: OTLP/gRPC goes to the gRPC port (default 4317)"),
        );
        let mut response = StatusCode::OK.into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        // UNIMPLEMENTED, in the trailers-only form gRPC allows for an error without a body.
        headers.insert("grpc-status", HeaderValue::from(refusal.code.grpc_code()));
        headers.insert(
            "grpc-message",
            HeaderValue::from_static(
                "this%20is%20the%20OTLP/HTTP%20port:%20send%20OTLP/gRPC%20to%20the%20gRPC%20port%20(default%204317)",
            ),
        );
        return response;
    }
    let refusal = Refusal::new(
        ErrorCode::NotFound,
        encoding_of(&headers),
        format!(
            "no OTLP/HTTP endpoint at {method} {path}: send traces to POST /v1/traces and logs to POST /v1/logs on this port"
        ),
    );
    // A GET (a health check, a browser) is no export: answered, not counted.
    if method == Method::POST {
        state.ingest.refused(signal, &refusal);
        warn_misdirected(
            Misdirected::UnknownPath,
            &format!("POST {path} on the OTLP/HTTP port, which serves POST /v1/traces and /v1/logs"),
        );
    }
    refusal.into_response()
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
                ErrorCode::UnsupportedMediaType,
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
                    ErrorCode::TooLarge,
                    encoding,
                    format!("body exceeds {} bytes after decompression", limits.max_decompressed_bytes),
                ),
                GunzipError::Corrupt(msg) => {
                    Refusal::new(ErrorCode::BadRequest, encoding, format!("body is not valid gzip: {msg}"))
                }
            })?;
            &inflated[..]
        }
        other => {
            return Err(Refusal::new(
                ErrorCode::UnsupportedMediaType,
                encoding,
                format!("unsupported content encoding {other:?}: send gzip or identity"),
            ))
        }
    };
    let request = match encoding {
        Encoding::Protobuf => T::decode(bytes).map_err(|e| {
            Refusal::new(ErrorCode::BadRequest, encoding, format!("body is not a valid OTLP protobuf message: {e}"))
        })?,
        Encoding::Json => serde_json::from_slice(bytes)
            .map_err(|e| Refusal::new(ErrorCode::BadRequest, encoding, format!("body is not valid OTLP/JSON: {e}")))?,
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
