//! The tracehound collector: the OTLP receivers (gRPC and HTTP) and the transport-neutral
//! ingest step that admits an export (key, scope, rate, memory), normalizes it and waits
//! until the writer has made it durable.

pub mod expiry;
pub mod grpc_listener;
pub mod ingest;
pub mod otlp_grpc;
pub mod otlp_http;
pub mod self_metrics;
