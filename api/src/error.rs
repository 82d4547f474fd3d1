//! The API's error answer: a [`QueryError`] (or anything that converts into one) as its HTTP
//! status and `{"error": message}` body. This is the one place that maps an error to HTTP.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use tracehound_query::{ErrorBody, QueryError};
use tracehound_store::search::SearchError;
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

    /// The HTTP status the error is answered with.
    pub fn status(&self) -> StatusCode {
        match &self.0 {
            QueryError::MalformedTraceId(_)
            | QueryError::InvalidParameter { .. }
            | QueryError::QuerySyntax(_)
            | QueryError::Search(SearchError::BadCursor(_) | SearchError::Invalid(_)) => StatusCode::BAD_REQUEST,
            QueryError::NotFound { .. } => StatusCode::NOT_FOUND,
            // Retryable: the hold or score was not taken; space may come back.
            QueryError::SearchUnavailable | QueryError::Store(StoreError::DiskFull { .. } | StoreError::QueueFull) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            QueryError::Store(_) | QueryError::Search(SearchError::Index(_)) | QueryError::ReadAborted(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Client mistakes are the client's to see; server faults also belong in our log.
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "API read failed");
        }
        let position = match &self.0 {
            QueryError::QuerySyntax(e) => Some(e.position),
            _ => None,
        };
        (status, Json(ErrorBody { error: self.to_string(), position })).into_response()
    }
}
