//! Tracehound's read side: the HTTP query API over the store, and the CLI client that
//! talks to it.
//!
//! The API answers with the types of [`views`]; the CLI reads the same types back and
//! renders them as text ([`render`]).

pub mod access;
pub mod api;
pub mod api_error;
pub mod assess;
pub mod cli;
pub mod client;
pub mod compare;
pub mod evidence_api;
pub mod evidence_cli;
pub mod failing;
pub mod holds_api;
pub mod listing;
pub mod lookup;
pub mod metrics;
pub mod postmortem;
pub mod postmortem_md;
pub mod render;
pub mod search;
pub mod search_syntax;
pub mod server_timing;
pub mod signin;
pub mod stats;
pub mod time_range;
pub mod timestamp;
pub mod ui;
pub mod versions;
pub mod views;

pub use api::{openapi, router, ApiState, Tenant};
pub use api_error::ApiError;
pub use cli::{get, ls, run_get, run_ls, run_search, search, GetArgs, LsArgs, SearchArgs};
pub use client::{ApiClient, CliError, SearchOptions, SearchSort};

#[cfg(test)]
mod api_tests;
#[cfg(test)]
mod cli_tests;
#[cfg(test)]
mod evidence_tests;
#[cfg(test)]
mod holds_tests;
#[cfg(test)]
mod search_tests;
#[cfg(test)]
mod test_support;
