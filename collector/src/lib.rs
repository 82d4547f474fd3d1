//! The tracehound collector: the OTLP receivers (gRPC and HTTP), admission (keys, scopes,
//! rate limits), and the transport-neutral ingest step that normalizes an export and waits
//! until the writer has made it durable.

pub mod admission;
pub mod ingest;
pub mod otlp_grpc;
pub mod otlp_http;
pub mod self_metrics;
