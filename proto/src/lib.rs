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
