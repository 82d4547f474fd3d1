//! Where the tools read from: the query API's JSON answers, in-process or over HTTP.
//!
//! Every tool is one or two `GET /api/v1/…` calls. Going through the API, not the query
//! logic, is what makes a tool call pass the same key check and scope and leave the same
//! audit entry as the API call it makes.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

/// One `GET /api/v1/{segments…}?{query}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCall {
    /// Path segments after `/api/v1/`, unescaped (`["lookup", "req_1"]`).
    pub segments: Vec<String>,
    /// Query pairs, unescaped; absent parameters are left out.
    pub query: Vec<(String, String)>,
}

impl ApiCall {
    /// A call of `/api/v1/{segments…}` without parameters.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(segments: I) -> Self {
        ApiCall { segments: segments.into_iter().map(Into::into).collect(), query: Vec::new() }
    }

    /// Adds `name=value` when a value is given.
    pub fn param(mut self, name: &str, value: Option<impl ToString>) -> Self {
        if let Some(value) = value {
            self.query.push((name.to_string(), value.to_string()));
        }
        self
    }
}

/// Why an API call gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The API answered with an error status; the message is its own.
    #[error("the Tracehound API answered {status}: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The API's explanation.
        message: String,
    },
    /// No answer at all (unreachable, aborted, not JSON).
    #[error("{0}")]
    Failed(String),
}

/// The caller's credentials, as its HTTP request to `/mcp` carried them; `None` over stdio,
/// where the source holds its own key.
pub type Credentials = Option<http::HeaderMap>;

/// A boxed future, so that sources can be held as trait objects.
pub type SourceFuture = Pin<Box<dyn Future<Output = Result<Value, SourceError>> + Send>>;

/// The query API, answering as the caller.
pub trait EvidenceSource: Send + Sync + 'static {
    /// The JSON answer of `call`, made with `credentials` when given.
    fn get(&self, call: ApiCall, credentials: Credentials) -> SourceFuture;
}
