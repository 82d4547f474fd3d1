//! Tracehound's command-line client: the HTTP client of the API, the commands, and their
//! rendering as terminal text. It reads the API's answers back into the query crate's types.

pub mod canary_cli;
pub mod cli;
pub mod client;
pub mod evals_cli;
pub mod evidence_cli;
pub mod monitor_cli;
pub mod render;
pub mod stats;
pub mod text;
pub mod transfer;
pub mod triage_cli;

pub use cli::{get, ls, run_get, run_ls, run_search, search, GetArgs, LsArgs, SearchArgs};
pub use client::{ApiClient, CliError, ListOptions, ListStatus, SearchOptions, SearchSort};

#[cfg(test)]
mod cli_tests;
#[cfg(test)]
mod search_tests;
