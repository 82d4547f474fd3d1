//! Who may read and write what: API keys with scopes (`ingest`, `read`, `admin`), each
//! belonging to one tenant; the keys file that holds their hashes; the gate the receivers
//! and the API ask on every request; and per-tenant ingest rate limits.
//!
//! Depends on the store only for [`TenantId`](tracehound_store::TenantId).

pub mod error;
pub mod gate;
pub mod keys_file;
pub mod rate_limit;
pub mod scope;
pub mod secret;

pub use error::{AuthError, KeysFileError};
pub use gate::{Gate, Principal};
pub use keys_file::{KeyRecord, KeysFile, TenantLimits, TenantRecord};
pub use rate_limit::{RateLimited, RateLimiter};
pub use scope::Scope;
