//! What every handler stands on: the shared state, the caller's tenant, and running a
//! blocking store call off the async workers.

use std::convert::Infallible;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::Json;
use tracehound_auth::{Gate, Principal};
use tracehound_query::QueryError;
use tracehound_store::search::SearchIndex;
use tracehound_store::{Store, TenantId};

use crate::error::ApiError;

/// What the handlers share: the store, its search index, and whether the process is ready to serve.
#[derive(Clone)]
pub struct ApiState {
    /// The store read from.
    pub store: Store,
    /// The full-text index; `None` answers searches with 503.
    pub search: Option<SearchIndex>,
    /// Set once startup is complete; `/readyz` answers 503 until then.
    pub ready: Arc<AtomicBool>,
    /// The store's writer, for `POST /api/v1/scores`; `None` answers it with 503.
    pub writer: Option<tracehound_store::writer::Writer>,
    /// The alert rules (`--alert-rules`, else the built-in set).
    pub alert_rules: Arc<tracehound_query::monitor::rules::RuleSet>,
    /// The alerts firing now, as the process's evaluator last published them.
    pub alerts: tracehound_query::monitor::live::AlertBoard,
    /// Online evaluation's state, as the process's engine last published it.
    pub evals: tracehound_query::evals::status::EvalBoard,
}

/// The tenant a request reads from: its key's, as established by the access guard
/// (`access.rs`), which the binary puts in front of every route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tenant(pub TenantId);

impl<S: Send + Sync> FromRequestParts<S> for Tenant {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Tenant(tenant_of(&parts.extensions)))
    }
}

/// Name of the UI's sign-in cookie; it holds a read key.
pub const COOKIE: &str = "tracehound_key";

/// What the guard and the sign-in routes share.
#[derive(Clone)]
pub struct AccessState {
    /// Checks keys and scopes.
    pub gate: Gate,
    /// Where the audit trail is written.
    pub store: Store,
    /// Marks the cookie `Secure`: set when the API is served over TLS.
    pub cookie_secure: bool,
}

/// The tenant of a request that passed the guard; the default tenant when none ran.
pub fn tenant_of(extensions: &axum::http::Extensions) -> TenantId {
    extensions.get::<Principal>().map_or(TenantId::DEFAULT, |p| p.tenant)
}

/// Whether the caller came with a key: its answers then hold only its tenant's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantScoped(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for TenantScoped {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(TenantScoped(parts.extensions.get::<Principal>().is_some_and(|p| p.key_id.is_some())))
    }
}

impl TenantScoped {
    /// Stats as a keyed caller may see them: disk use, the data directory, index lag and
    /// retention status are store-wide (they grow with every tenant's data), so they are
    /// left out; operators read them from `/metrics`.
    pub fn stats(self, mut stats: tracehound_query::views::Stats) -> tracehound_query::views::Stats {
        if self.0 {
            stats.disk_bytes = 0;
            stats.data_dir = String::new();
            stats.disk = tracehound_query::stats::DiskUsage::default();
            stats.index = None;
            stats.retention = None;
        }
        stats
    }
}

/// Runs a blocking store call (a read, or a write such as a score or a hold) off the async
/// workers; the handlers over [`ApiState`] go through it (the audit trail, on
/// `AccessState`, and `/metrics` spawn their own).
pub async fn run_blocking<T, E, F>(state: &ApiState, call: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
    F: FnOnce(&Store) -> Result<T, E> + Send + 'static,
{
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || call(&store)).await {
        Ok(answer) => answer.map_err(Into::into),
        Err(e) => Err(ApiError(QueryError::ReadAborted(e.to_string()))),
    }
}

/// A query string, read with axum's `Query`; one that cannot be read is our JSON 400 naming
/// the query string, not axum's plain-text one.
#[derive(Debug, FromRequestParts)]
#[from_request(via(Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// A path parameter, read with axum's `Path`; refused as our JSON 400.
#[derive(Debug, FromRequestParts)]
#[from_request(via(Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// A JSON body, read with axum's `Json`; refused as our JSON 400.
#[derive(Debug, FromRequest)]
#[from_request(via(Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::invalid("query string", rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::invalid("path", rejection.body_text())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::invalid("body", rejection.body_text())
    }
}
