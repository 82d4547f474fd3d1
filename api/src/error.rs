//! The API's error answer: a [`QueryError`] (or anything that converts into one) as the HTTP
//! status its classification gives, a `{"error": message}` body, and `Retry-After` when the
//! caller may retry.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tracehound_error::ServiceError;
use tracehound_query::{ErrorBody, QueryError};
use tracehound_store::StoreError;

/// An error on its way to the caller.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(#[from] pub QueryError);

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        ApiError(QueryError::Store(err))
    }
}

impl ApiError {
    /// A query parameter that could not be read.
    pub fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        ApiError(QueryError::InvalidParameter { name, reason: reason.into() })
    }

    /// The HTTP status the error is answered with: the one classification's.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.0.error_code().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Client mistakes are the client's to see; server faults also belong in our log.
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "API call failed");
        }
        let position = match &self.0 {
            QueryError::QuerySyntax(e) => Some(e.position),
            _ => None,
        };
        let mut response = (status, Json(ErrorBody { error: self.to_string(), position })).into_response();
        if self.0.error_code().is_retryable() {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
