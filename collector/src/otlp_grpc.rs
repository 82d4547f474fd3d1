//! OTLP/gRPC receiver: `TraceService/Export` and `LogsService/Export`, gzip accepted.
//!
//! Hand-wired rather than the generated `TraceServiceServer`, for two answers the
//! generated code gets wrong for an OTLP receiver: a body that does not parse is the
//! sender's fault (INVALID_ARGUMENT, not prost's INTERNAL), and a body over the limit is
//! RESOURCE_EXHAUSTED, not OUT_OF_RANGE.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::task::{Context, Poll};

use tonic::body::Body as TonicBody;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EnabledCompressionEncodings};
use tonic::codegen::{http, BoxFuture, Service, StdError};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Code, Request, Response, Status};
use tonic_prost::ProstEncoder;
use tracehound_auth::Principal;

use tracehound_error::ServiceError;
use tracehound_proto::collector::logs::v1::ExportLogsServiceRequest;
use tracehound_proto::collector::trace::v1::ExportTraceServiceRequest;

use crate::ingest::{Export, Ingest};

const TRACES_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const LOGS_PATH: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

/// One OTLP gRPC service: its name and the export request its one method takes.
pub trait OtlpService: Send + Sync + 'static {
    /// The fully qualified service name.
    const NAME: &'static str;
    /// The path of its `Export` method.
    const PATH: &'static str;
    /// The export request of its `Export` method.
    type Request: Export;
}

/// `opentelemetry.proto.collector.trace.v1.TraceService`.
pub struct Traces;
/// `opentelemetry.proto.collector.logs.v1.LogsService`.
pub struct Logs;

impl OtlpService for Traces {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
    const PATH: &'static str = TRACES_PATH;
    type Request = ExportTraceServiceRequest;
}

impl OtlpService for Logs {
    const NAME: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
    const PATH: &'static str = LOGS_PATH;
    type Request = ExportLogsServiceRequest;
}

/// The tonic service of one OTLP service over [`Ingest`].
pub struct OtlpGrpc<S> {
    ingest: Ingest,
    max_message_bytes: usize,
    _service: PhantomData<S>,
}

impl<S> Clone for OtlpGrpc<S> {
    fn clone(&self) -> Self {
        OtlpGrpc { ingest: self.ingest.clone(), max_message_bytes: self.max_message_bytes, _service: PhantomData }
    }
}

impl<S: OtlpService> OtlpGrpc<S> {
    /// The service; keys and rates are the ingest's ([`Ingest::with_gate`]).
    pub fn new(ingest: Ingest, max_message_bytes: usize) -> Self {
        OtlpGrpc { ingest, max_message_bytes, _service: PhantomData }
    }
}

impl<S: OtlpService> NamedService for OtlpGrpc<S> {
    const NAME: &'static str = S::NAME;
}

/// The gRPC status of any classified error: the one mapping's code, the error's message.
pub fn status_of(err: &impl ServiceError) -> Status {
    Status::new(Code::from_i32(err.error_code().grpc_code()), err.to_string())
}

struct ExportCall<R>(Ingest, Principal, PhantomData<R>);

impl<R: Export> UnaryService<R> for ExportCall<R> {
    type Response = R::Response;
    type Future = BoxFuture<Response<Self::Response>, Status>;

    fn call(&mut self, request: Request<R>) -> Self::Future {
        let (ingest, principal) = (self.0.clone(), self.1.clone());
        Box::pin(async move {
            let answer = ingest.export(&principal, request.get_ref()).await.map_err(|e| status_of(&e))?;
            Ok(Response::new(answer))
        })
    }
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
        let limit = self.max_message_bytes;
        let path = req.uri().path();
        if path != S::PATH {
            return Box::pin(async move { Ok(Status::unimplemented("no such OTLP method").into_http()) });
        }
        // Checked before the body is read, so an unauthenticated sender costs no decoding.
        let authorization = req.headers().get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let principal = match ingest.authorize(<S::Request as Export>::SIGNAL, authorization) {
            Ok(principal) => principal,
            Err(e) => {
                let status = status_of(&e);
                return Box::pin(async move { Ok(status.into_http()) });
            }
        };
        Box::pin(async move {
            let mut grpc = grpc_for::<<S::Request as Export>::Response, S::Request>(limit);
            let call = ExportCall::<S::Request>(ingest, principal, PhantomData);
            Ok(resource_exhausted_for_oversize(grpc.unary(call, req).await))
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use tracehound_auth::{AuthError, Scope};

    #[test]
    fn a_missing_scope_is_permission_denied_and_a_bad_key_unauthenticated() {
        assert_eq!(status_of(&AuthError::Forbidden(Scope::Ingest)).code(), Code::PermissionDenied);
        assert_eq!(status_of(&AuthError::Invalid).code(), Code::Unauthenticated);
        assert_eq!(status_of(&AuthError::Missing).code(), Code::Unauthenticated);
    }
}
