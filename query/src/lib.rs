//! Tracehound's query logic: the read model (views, lookup, listing, search and its
//! syntax, stats) and diagnosis (assess, failing, versions, compare, postmortem).
//!
//! It knows no transport: the API crate serves these answers over HTTP and the CLI crate
//! renders them for a terminal. Every answer is a type of [`views`] (or of its own module),
//! and every failure a [`QueryError`].

pub mod assess;
pub mod canary;
pub mod compare;
pub mod cost;
pub mod error;
pub mod evals;
pub mod export;
pub mod failing;
pub mod listing;
pub mod lookup;
pub mod monitor;
pub mod params;
pub mod postmortem;
pub mod postmortem_md;
pub mod search;
pub mod search_syntax;
pub mod shadow;
pub mod stats;
pub mod tempo;
pub mod text;
pub mod time_range;
pub mod timestamp;
pub mod triage;
pub mod versions;
pub mod views;

pub use error::{ErrorBody, QueryError};

#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
