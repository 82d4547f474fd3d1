//! Admission of an export before it reaches ingest: the caller's key (which fixes the tenant),
//! its `ingest` scope, and the tenant's rate limit, answered in each transport's terms.

use tracehound_auth::{AuthError, RateLimited};
use tracehound_proto::collector::logs::v1::ExportLogsServiceRequest;
use tracehound_proto::collector::trace::v1::ExportTraceServiceRequest;

use crate::self_metrics;

/// Spans in a trace export, for the spans-per-second limit.
pub fn span_count(request: &ExportTraceServiceRequest) -> u64 {
    request.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len() as u64).sum()
}

/// Log records in a logs export, counted against the same limit as spans.
pub fn log_record_count(request: &ExportLogsServiceRequest) -> u64 {
    request.resource_logs.iter().flat_map(|r| &r.scope_logs).map(|s| s.log_records.len() as u64).sum()
}

/// The self-metrics reason of a refused key.
pub fn refusal_reason(err: &AuthError) -> self_metrics::Refusal {
    if err.is_unauthenticated() {
        self_metrics::Refusal::Unauthenticated
    } else {
        self_metrics::Refusal::PermissionDenied
    }
}

/// The gRPC answer to a refused key: UNAUTHENTICATED, or PERMISSION_DENIED for a missing scope.
pub fn grpc_status_of_auth(err: &AuthError) -> tonic::Status {
    if err.is_unauthenticated() {
        tonic::Status::unauthenticated(err.to_string())
    } else {
        tonic::Status::permission_denied(err.to_string())
    }
}

/// The gRPC answer to a tenant over its rate: UNAVAILABLE, which OTLP exporters retry.
pub fn grpc_status_of_rate(err: &RateLimited) -> tonic::Status {
    tonic::Status::unavailable(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehound_auth::Scope;
    use tracehound_proto::trace::v1::{ResourceSpans, ScopeSpans, Span};

    #[test]
    fn spans_are_counted_across_resources_and_scopes() {
        let scope = |n| ScopeSpans { spans: vec![Span::default(); n], ..Default::default() };
        let request = ExportTraceServiceRequest {
            resource_spans: vec![
                ResourceSpans { scope_spans: vec![scope(2), scope(3)], ..Default::default() },
                ResourceSpans { scope_spans: vec![scope(1)], ..Default::default() },
            ],
        };
        assert_eq!(span_count(&request), 6);
    }

    #[test]
    fn a_missing_scope_is_permission_denied_and_a_bad_key_unauthenticated() {
        assert_eq!(grpc_status_of_auth(&AuthError::Forbidden(Scope::Ingest)).code(), tonic::Code::PermissionDenied);
        assert_eq!(grpc_status_of_auth(&AuthError::Invalid).code(), tonic::Code::Unauthenticated);
        assert_eq!(grpc_status_of_auth(&AuthError::Missing).code(), tonic::Code::Unauthenticated);
    }
}
