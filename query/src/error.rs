//! The one error type of the query logic, and the body every error answer carries.
//!
//! Each error says what kind of failure it is ([`ServiceError`]); the API answers that
//! through the one mapping of `tracehound-error`.

use serde::{Deserialize, Serialize};
use tracehound_error::{ErrorCode, ServiceError};
use tracehound_store::search::SearchError;
use tracehound_store::StoreError;
use utoipa::ToSchema;

use crate::search_syntax::SyntaxError;

/// Anything a query can fail with.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
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
    /// The store failed to read or write.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The search query text cannot be read.
    #[error(transparent)]
    QuerySyntax(#[from] SyntaxError),
    /// This process runs without a search index.
    #[error("search index not available")]
    SearchUnavailable,
    /// A write (a score) was not made durable; nothing of it was stored.
    #[error("storage unavailable: {0}")]
    Write(#[source] StoreError),
    /// This process has no writer (a score or hold was sent to a read-only server).
    #[error("this process accepts no writes")]
    WritesUnavailable,
    /// The search index refused or failed the search.
    #[error(transparent)]
    Search(#[from] SearchError),
    /// The blocking read task panicked or was cancelled.
    #[error("the read did not complete: {0}")]
    ReadAborted(String),
}

impl ServiceError for QueryError {
    fn error_code(&self) -> ErrorCode {
        match self {
            QueryError::MalformedTraceId(_)
            | QueryError::InvalidParameter { .. }
            | QueryError::QuerySyntax(_)
            | QueryError::Search(SearchError::BadCursor(_) | SearchError::Invalid(_)) => ErrorCode::BadRequest,
            QueryError::NotFound { .. } => ErrorCode::NotFound,
            QueryError::Store(e) => e.error_code(),
            QueryError::SearchUnavailable | QueryError::WritesUnavailable => ErrorCode::NotServed,
            // As ingest answers a store that cannot make a write durable: the sender retries.
            QueryError::Write(StoreError::QueueFull) => ErrorCode::Overloaded,
            QueryError::Write(_) => ErrorCode::Unavailable,
            QueryError::Search(SearchError::Index(_)) | QueryError::ReadAborted(_) => ErrorCode::Internal,
        }
    }
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a human.
    pub error: String,
    /// For a search query that cannot be read: where, in characters from 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
}
