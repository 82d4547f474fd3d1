//! The one error type of the API, and its HTTP answer `{"error": message}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use tracehound_store::search::SearchError;
use tracehound_store::StoreError;

use crate::search_syntax::SyntaxError;
use crate::views::ErrorBody;

/// Anything an API call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A path segment that must be a trace id is not 32 hex digits.
    #[error("malformed trace id {0:?}: expected 32 hexadecimal digits")]
    MalformedTraceId(String),
    /// A query parameter could not be read.
    #[error("invalid {name}: {reason}")]
    InvalidParameter {
        /// The parameter's name, as in the URL.
        name: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
    /// Nothing is stored under the identifier.
    #[error("no {what} matches {id:?}")]
    NotFound {
        /// What was looked for (`trace`, `session`, ...).
        what: &'static str,
        /// The identifier as given.
        id: String,
    },
    /// The store failed to read.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The search query text cannot be read.
    #[error(transparent)]
    QuerySyntax(#[from] SyntaxError),
    /// This process runs without a search index.
    #[error("search index not available")]
    SearchUnavailable,
    /// The search index refused or failed the search.
    #[error(transparent)]
    Search(#[from] SearchError),
    /// The blocking read task panicked or was cancelled.
    #[error("the read did not complete: {0}")]
    ReadAborted(String),
}

impl ApiError {
    /// The HTTP status the error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedTraceId(_)
            | ApiError::InvalidParameter { .. }
            | ApiError::QuerySyntax(_)
            | ApiError::Search(SearchError::BadCursor(_) | SearchError::Invalid(_)) => StatusCode::BAD_REQUEST,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            // Retryable: the hold or score was not taken; space may come back.
            ApiError::SearchUnavailable | ApiError::Store(StoreError::DiskFull { .. } | StoreError::QueueFull) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Store(_) | ApiError::Search(SearchError::Index(_)) | ApiError::ReadAborted(_) => {
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
        let position = match &self {
            ApiError::QuerySyntax(e) => Some(e.position),
            _ => None,
        };
        (status, Json(ErrorBody { error: self.to_string(), position })).into_response()
    }
}
