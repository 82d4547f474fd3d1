//! The tracehound collector: OTLP receivers, the transport-neutral ingest step, and the
//! normalization of LLM trace conventions into the store's domain model.

pub mod admission;
pub mod ingest;
pub mod normalize;
pub mod otlp_grpc;
pub mod otlp_http;
pub mod redact;
pub mod self_metrics;
pub mod tls;
