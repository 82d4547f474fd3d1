//! The one error type of the query logic, and the body every error answer carries.
//!
//! How each error is answered (HTTP status, retryability) is the API crate's to say; the
//! logic only says what went wrong.

use serde::{Deserialize, Serialize};
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
    /// The search index refused or failed the search.
    #[error(transparent)]
    Search(#[from] SearchError),
    /// The blocking read task panicked or was cancelled.
    #[error("the read did not complete: {0}")]
    ReadAborted(String),
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
