//! Tracehound's store: the domain model of LLM session traces, and its embedded,
//! durable home in fjall.
//!
//! Knows nothing of OTLP transports, HTTP or queries: the collector hands it normalized
//! [`model::Span`]s through a [`writer::Writer`], and the query side reads through [`Store`].

pub mod audit;
pub mod codec;
pub mod error;
pub mod evals;
pub mod holds;
pub mod keys;
pub mod model;
pub mod retention;
pub mod rollups;
pub mod scores;
pub mod search;
pub mod signals;
pub mod store;
pub mod summary;
pub mod writer;

pub use error::{Result, StoreError};
pub use keys::TenantId;
pub use store::{Store, TraceData, WriteBatch, WriteOutcome};
