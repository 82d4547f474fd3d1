//! One classification of every error and refusal, after Quickwit's `ServiceErrorCode`.
//!
//! Each error type of the libraries says which [`ErrorCode`] it is ([`ServiceError`]); the
//! transports then answer it the same way everywhere: the HTTP status, the gRPC code, whether
//! the sender may retry (and is told `Retry-After`), and the `reason` label it is counted
//! under. This crate is the only place those four are decided. It depends on nothing, so
//! the logic crates can classify their errors without knowing any transport.

/// What kind of failure an error is, as far as a caller is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The input cannot be read: a body that does not parse, a parameter out of range.
    BadRequest,
    /// No valid key.
    Unauthenticated,
    /// A valid key without the scope the call needs.
    PermissionDenied,
    /// Nothing is stored under the identifier.
    NotFound,
    /// The body is over a size limit (as sent, or after decompression).
    TooLarge,
    /// A content type or content encoding this endpoint does not speak.
    UnsupportedMediaType,
    /// The tenant is over its rate.
    RateLimited,
    /// A queue or memory budget is full: the sender backs off and retries.
    Overloaded,
    /// A dependency (the disk, the index, the writer) cannot serve now; it may come back.
    Unavailable,
    /// This process or port does not serve the call at all (no search index, no writer, or
    /// gRPC sent to the HTTP port): retrying the same call here cannot help.
    NotServed,
    /// A fault of ours.
    Internal,
}

/// gRPC status codes, as numbered by `google.rpc.Code`.
mod grpc {
    pub const UNKNOWN: i32 = 2;
    pub const INVALID_ARGUMENT: i32 = 3;
    pub const NOT_FOUND: i32 = 5;
    pub const PERMISSION_DENIED: i32 = 7;
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    pub const INTERNAL: i32 = 13;
    pub const UNIMPLEMENTED: i32 = 12;
    pub const UNAVAILABLE: i32 = 14;
    pub const UNAUTHENTICATED: i32 = 16;
}

impl ErrorCode {
    /// Every code, for tests and documentation.
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::BadRequest,
        ErrorCode::Unauthenticated,
        ErrorCode::PermissionDenied,
        ErrorCode::NotFound,
        ErrorCode::TooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::RateLimited,
        ErrorCode::Overloaded,
        ErrorCode::Unavailable,
        ErrorCode::NotServed,
        ErrorCode::Internal,
    ];

    /// The HTTP status it is answered with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::PermissionDenied => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::TooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::RateLimited => 429,
            ErrorCode::Overloaded | ErrorCode::Unavailable | ErrorCode::NotServed => 503,
            ErrorCode::Internal => 500,
        }
    }

    /// The gRPC status code it is answered with (also the `code` of an OTLP/HTTP
    /// `google.rpc.Status` body). Refusals a sender should retry are `UNAVAILABLE`, which
    /// OTLP exporters retry; a too-large body is `RESOURCE_EXHAUSTED`, which they do not.
    pub fn grpc_code(self) -> i32 {
        match self {
            ErrorCode::BadRequest => grpc::INVALID_ARGUMENT,
            ErrorCode::Unauthenticated => grpc::UNAUTHENTICATED,
            ErrorCode::PermissionDenied => grpc::PERMISSION_DENIED,
            ErrorCode::NotFound => grpc::NOT_FOUND,
            ErrorCode::TooLarge => grpc::RESOURCE_EXHAUSTED,
            // As OTLP/HTTP's own receivers answer it in a google.rpc.Status body.
            ErrorCode::UnsupportedMediaType => grpc::UNKNOWN,
            ErrorCode::RateLimited | ErrorCode::Overloaded | ErrorCode::Unavailable => grpc::UNAVAILABLE,
            ErrorCode::NotServed => grpc::UNIMPLEMENTED,
            ErrorCode::Internal => grpc::INTERNAL,
        }
    }

    /// Whether the same call may succeed later unchanged; such answers carry `Retry-After`.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorCode::RateLimited | ErrorCode::Overloaded | ErrorCode::Unavailable)
    }

    /// The `reason` label it is counted under in `/metrics`.
    pub fn metric_label(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "malformed",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::NotFound => "not_found",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Overloaded => "overloaded",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::NotServed => "not_served",
            ErrorCode::Internal => "internal",
        }
    }
}

/// An error that knows its [`ErrorCode`].
pub trait ServiceError: std::error::Error {
    /// Its classification.
    fn error_code(&self) -> ErrorCode;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_the_retryable_codes_are_grpc_unavailable_and_answer_429_or_503() {
        for code in ErrorCode::ALL {
            assert_eq!(code.is_retryable(), code.grpc_code() == grpc::UNAVAILABLE, "{code:?}");
            if code.is_retryable() {
                assert!(matches!(code.http_status(), 429 | 503), "{code:?}");
            }
        }
    }

    #[test]
    fn a_call_this_process_does_not_serve_is_not_worth_retrying() {
        assert_eq!(ErrorCode::NotServed.http_status(), 503);
        assert_eq!(ErrorCode::NotServed.grpc_code(), grpc::UNIMPLEMENTED);
        assert!(!ErrorCode::NotServed.is_retryable());
    }

    #[test]
    fn every_code_has_its_own_metric_label() {
        let mut labels: Vec<_> = ErrorCode::ALL.iter().map(|c| c.metric_label()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), ErrorCode::ALL.len());
    }

    #[test]
    fn client_mistakes_are_4xx_and_faults_5xx() {
        assert_eq!(ErrorCode::BadRequest.http_status(), 400);
        assert_eq!(ErrorCode::TooLarge.grpc_code(), grpc::RESOURCE_EXHAUSTED);
        assert_eq!(ErrorCode::Internal.http_status(), 500);
        assert!(!ErrorCode::Internal.is_retryable());
    }
}
