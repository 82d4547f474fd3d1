//! Tracehound's HTTP API: the shared state, the one error mapping, the handlers over the
//! query logic, access control and sign-in, `/metrics`, and the web UI.
//!
//! Floors, bottom up: [`state`] and [`error`] (what every handler stands on), then the
//! handlers (`*_api`, [`access`], [`signin`], [`metrics`], [`ui`]), then [`router`], which
//! alone knows every route.

pub mod access;
pub mod audit_api;
pub mod error;
pub mod evals_api;
pub mod evidence_api;
pub mod export_api;
pub mod holds_api;
pub mod metrics;
pub mod monitor_api;
pub mod requests_api;
pub mod router;
pub mod server_timing;
pub mod signin;
pub mod state;
pub mod tempo_api;
pub mod triage_api;
pub mod ui;

pub use error::ApiError;
pub use router::{guarded, openapi, router, secure};
pub use state::{AccessState, ApiState, Tenant};

#[cfg(test)]
mod api_tests;
#[cfg(test)]
mod evidence_tests;
#[cfg(test)]
mod holds_tests;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
