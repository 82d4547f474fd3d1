//! OTLP/gRPC receiver: `TraceService/Export` and `LogsService/Export`, gzip accepted.
//!
//! Hand-wired rather than the generated `TraceServiceServer`, for two answers the
//! generated code gets wrong for an OTLP receiver: a body that does not parse is the
//! sender's fault (INVALID_ARGUMENT, not prost's INTERNAL), and a body over the limit is
//! RESOURCE_EXHAUSTED, not OUT_OF_RANGE.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::task::{Context, Poll};

use prost::Message as _;
use tonic::body::Body as TonicBody;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EnabledCompressionEncodings};
use tonic::codegen::{http, BoxFuture, Service, StdError};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Code, Request, Response, Status};
use tonic_prost::ProstEncoder;

use tracehound_auth::{Gate, Principal, Scope};
use tracehound_proto::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use tracehound_proto::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};

use crate::admission::{grpc_status_of_auth, grpc_status_of_rate, log_record_count, refusal_reason, span_count};
use crate::ingest::{Ingest, IngestError, IngestReport};
use crate::self_metrics::{self, Signal};

const TRACES_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const LOGS_PATH: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

/// Which OTLP gRPC service a receiver is registered as (tonic routes by service name).
pub trait OtlpService: Send + Sync + 'static {
    /// The fully qualified gRPC service name.
    const NAME: &'static str;
}

/// `opentelemetry.proto.collector.trace.v1.TraceService`.
pub struct Traces;
/// `opentelemetry.proto.collector.logs.v1.LogsService`.
pub struct Logs;

impl OtlpService for Traces {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}

impl OtlpService for Logs {
    const NAME: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
}

/// The gRPC receiver of one OTLP service; both answer from the same [`Ingest`].
pub struct OtlpGrpc<S> {
    ingest: Ingest,
    max_message_bytes: usize,
    gate: Gate,
    _service: PhantomData<S>,
}

impl<S> Clone for OtlpGrpc<S> {
    fn clone(&self) -> Self {
        OtlpGrpc {
            ingest: self.ingest.clone(),
            max_message_bytes: self.max_message_bytes,
            gate: self.gate.clone(),
            _service: PhantomData,
        }
    }
}

impl<S: OtlpService> OtlpGrpc<S> {
    /// A receiver refusing messages larger than `max_message_bytes`, as sent or decompressed.
    pub fn new(ingest: Ingest, max_message_bytes: usize) -> Self {
        OtlpGrpc { ingest, max_message_bytes, gate: Gate::open(Default::default()), _service: PhantomData }
    }

    /// The receiver admitting only exports whose `authorization` key `gate` accepts for ingest.
    pub fn with_gate(mut self, gate: Gate) -> Self {
        self.gate = gate;
        self
    }
}

impl<S: OtlpService> NamedService for OtlpGrpc<S> {
    const NAME: &'static str = S::NAME;
}

/// A gRPC status for an ingest failure: all of them are retryable per the OTLP spec.
pub fn status_of(err: &IngestError) -> Status {
    match err {
        IngestError::Overloaded => Status::unavailable(err.to_string()),
        IngestError::Unavailable(_) => Status::unavailable(err.to_string()),
    }
}

struct ExportTraces(Ingest, Gate, Principal);

impl UnaryService<ExportTraceServiceRequest> for ExportTraces {
    type Response = ExportTraceServiceResponse;
    type Future = BoxFuture<Response<Self::Response>, Status>;

    fn call(&mut self, request: Request<ExportTraceServiceRequest>) -> Self::Future {
        let (ingest, gate, principal) = (self.0.clone(), self.1.clone(), self.2.clone());
        Box::pin(async move {
            let export = request.get_ref();
            gate.admit(&principal, export.encoded_len() as u64, span_count(export)).map_err(|e| {
                self_metrics::record_refusal(Signal::Spans, self_metrics::Refusal::RateLimited);
                grpc_status_of_rate(&e)
            })?;
            let report = ingest.traces(principal.tenant, export).await.map_err(|e| status_of(&e))?;
            Ok(Response::new(ExportTraceServiceResponse { partial_success: trace_partial(&report) }))
        })
    }
}

struct ExportLogs(Ingest, Gate, Principal);

impl UnaryService<ExportLogsServiceRequest> for ExportLogs {
    type Response = ExportLogsServiceResponse;
    type Future = BoxFuture<Response<Self::Response>, Status>;

    fn call(&mut self, request: Request<ExportLogsServiceRequest>) -> Self::Future {
        let (ingest, gate, principal) = (self.0.clone(), self.1.clone(), self.2.clone());
        Box::pin(async move {
            let export = request.get_ref();
            gate.admit(&principal, export.encoded_len() as u64, log_record_count(export)).map_err(|e| {
                self_metrics::record_refusal(Signal::LogRecords, self_metrics::Refusal::RateLimited);
                grpc_status_of_rate(&e)
            })?;
            let report = ingest.logs(principal.tenant, export).await.map_err(|e| status_of(&e))?;
            Ok(Response::new(ExportLogsServiceResponse { partial_success: logs_partial(&report) }))
        })
    }
}

/// `partial_success` for a trace export; absent when everything was accepted untouched.
pub fn trace_partial(report: &IngestReport) -> Option<ExportTracePartialSuccess> {
    (report.rejected > 0 || !report.message.is_empty()).then(|| ExportTracePartialSuccess {
        rejected_spans: report.rejected as i64,
        error_message: report.message.clone(),
    })
}

/// `partial_success` for a logs export; absent when everything was accepted untouched.
pub fn logs_partial(report: &IngestReport) -> Option<ExportLogsPartialSuccess> {
    (report.rejected > 0 || !report.message.is_empty()).then(|| ExportLogsPartialSuccess {
        rejected_log_records: report.rejected as i64,
        error_message: report.message.clone(),
    })
}

impl<S, B> Service<http::Request<B>> for OtlpGrpc<S>
where
    S: OtlpService,
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<TonicBody>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let ingest = self.ingest.clone();
        let gate = self.gate.clone();
        let limit = self.max_message_bytes;
        let path = req.uri().path();
        if path != TRACES_PATH && path != LOGS_PATH {
            return Box::pin(async move { Ok(Status::unimplemented("no such OTLP method").into_http()) });
        }
        // Checked before the body is read, so an unauthenticated sender costs no decoding.
        let authorization = req.headers().get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let principal = match gate.authorize(authorization, Scope::Ingest) {
            Ok(principal) => principal,
            Err(e) => {
                let signal = if path == TRACES_PATH { Signal::Spans } else { Signal::LogRecords };
                self_metrics::record_refusal(signal, refusal_reason(&e));
                let status = grpc_status_of_auth(&e);
                return Box::pin(async move { Ok(status.into_http()) });
            }
        };
        match req.uri().path() {
            TRACES_PATH => Box::pin(async move {
                let mut grpc = grpc_for::<ExportTraceServiceResponse, ExportTraceServiceRequest>(limit);
                Ok(resource_exhausted_for_oversize(grpc.unary(ExportTraces(ingest, gate, principal), req).await))
            }),
            LOGS_PATH => Box::pin(async move {
                let mut grpc = grpc_for::<ExportLogsServiceResponse, ExportLogsServiceRequest>(limit);
                Ok(resource_exhausted_for_oversize(grpc.unary(ExportLogs(ingest, gate, principal), req).await))
            }),
            _ => Box::pin(async move { Ok(Status::unimplemented("no such OTLP method").into_http()) }),
        }
    }
}

fn grpc_for<T, U>(limit: usize) -> Grpc<OtlpCodec<T, U>>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    let mut gzip = EnabledCompressionEncodings::default();
    gzip.enable(CompressionEncoding::Gzip);
    // tonic applies one limit to the frame as sent and to its decompressed size, so a gzip
    // bomb stops at `limit` bytes.
    Grpc::new(OtlpCodec { _pd: PhantomData })
        .apply_compression_config(gzip, gzip)
        .apply_max_message_size_config(Some(limit), None)
}

/// tonic refuses an oversize frame with OUT_OF_RANGE before any codec runs; OTLP senders
/// expect RESOURCE_EXHAUSTED for "too big", so the trailers-only answer is relabelled.
fn resource_exhausted_for_oversize(mut response: http::Response<TonicBody>) -> http::Response<TonicBody> {
    let out_of_range = (Code::OutOfRange as i32).to_string();
    let headers = response.headers_mut();
    if headers.get("grpc-status").and_then(|v| v.to_str().ok()) == Some(out_of_range.as_str()) {
        headers.insert("grpc-status", http::HeaderValue::from(Code::ResourceExhausted as i32));
    }
    response
}

/// Prost codec that reports parse failures as INVALID_ARGUMENT.
struct OtlpCodec<T, U> {
    _pd: PhantomData<(T, U)>,
}

impl<T, U> Codec for OtlpCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = OtlpDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        OtlpDecoder { _pd: PhantomData }
    }
}

struct OtlpDecoder<U> {
    _pd: PhantomData<U>,
}

impl<U: prost::Message + Default> Decoder for OtlpDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        U::decode(buf)
            .map(Some)
            .map_err(|e| Status::invalid_argument(format!("request body is not a valid OTLP protobuf message: {e}")))
    }
}
