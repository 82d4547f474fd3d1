//! Errors of the keys file and of checking a presented key.

use std::path::PathBuf;

use crate::scope::Scope;

/// Why a request carrying (or lacking) a key is refused.
///
/// Messages never contain the key presented.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `authorization: Bearer` header (nor sign-in cookie).
    #[error("missing API key: send `authorization: Bearer <key>`")]
    Missing,
    /// A header that is not `Bearer <key>`.
    #[error("malformed authorization header: expected `Bearer <key>`")]
    Malformed,
    /// No live key matches (unknown, or revoked).
    #[error("invalid or revoked API key")]
    Invalid,
    /// The key is valid but lacks the scope the route needs.
    #[error("this API key lacks the `{0}` scope")]
    Forbidden(Scope),
}

impl AuthError {
    /// True for the refusals answered 401 / UNAUTHENTICATED; false for 403 / PERMISSION_DENIED.
    pub fn is_unauthenticated(&self) -> bool {
        !matches!(self, AuthError::Forbidden(_))
    }
}

impl tracehound_error::ServiceError for AuthError {
    fn error_code(&self) -> tracehound_error::ErrorCode {
        if self.is_unauthenticated() {
            tracehound_error::ErrorCode::Unauthenticated
        } else {
            tracehound_error::ErrorCode::PermissionDenied
        }
    }
}

/// Why the keys file cannot be read, written or changed.
#[derive(Debug, thiserror::Error)]
pub enum KeysFileError {
    /// Reading or writing the file failed.
    #[error("keys file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The file is not a keys file this version understands.
    #[error("keys file {path} cannot be read: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A tenant name that cannot be used.
    #[error("invalid tenant name {0:?}: use 1 to 64 letters, digits, '-', '_' or '.'")]
    BadTenantName(String),
    /// A key needs at least one scope.
    #[error("a key needs at least one scope (ingest, read, admin)")]
    NoScopes,
    /// No key has this id.
    #[error("no key with id {0:?}")]
    UnknownKey(String),
    /// Every tenant id is taken.
    #[error("no tenant id left")]
    TenantsExhausted,
    /// The system's random source failed.
    #[error("cannot draw random bytes for a key: {0}")]
    Random(String),
}
