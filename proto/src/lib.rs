//! Wire types. OTLP messages and gRPC services come from the `opentelemetry-proto` crate;
//! [`rpc::Status`] is the one message of our own, the body OTLP/HTTP prescribes for errors.

pub use opentelemetry_proto::tonic::*;

/// `google.rpc.Status`, which OTLP/HTTP servers return as the body of a failed request.
pub mod rpc {
    /// The error body of an OTLP/HTTP response (`google.rpc.Status`).
    #[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
    pub struct Status {
        /// A `google.rpc.Code` value.
        #[prost(int32, tag = "1")]
        pub code: i32,
        /// A message for the developer.
        #[prost(string, tag = "2")]
        pub message: String,
    }
}

/// The messages of Grafana Tempo's trace-by-id answers (`tempopb`), so that Grafana's Tempo
/// data source can open a Tracehound trace. Tempo's `Trace` has the same field as OTLP's
/// `ExportTraceServiceRequest`; its own name is kept for the wrapper.
pub mod tempo {
    use super::trace::v1::ResourceSpans;

    /// `tempopb.Trace`: every span of one trace, grouped by resource.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Trace {
        /// The spans, by resource and scope.
        #[prost(message, repeated, tag = "1")]
        pub resource_spans: Vec<ResourceSpans>,
    }

    /// `tempopb.TraceByIDResponse`, the answer of `GET /api/v2/traces/{id}`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TraceByIdResponse {
        /// The trace.
        #[prost(message, optional, tag = "1")]
        pub trace: Option<Trace>,
        /// `COMPLETE` (0) or `PARTIAL` (1).
        #[prost(int32, tag = "3")]
        pub status: i32,
    }
}
