//! Tracehound over the Model Context Protocol (rmcp, the official Rust SDK): the tools an
//! on-call agent calls, answers sized for its context, and the two transports.
//!
//! The tools read the query API's answers through an [`EvidenceSource`]: in-process through
//! the guarded API router for `/mcp` on the API listener, or over HTTP for
//! `tracehound mcp --api-url` on stdio. Either way a tool call is an API call, with the
//! same key check, scope and audit entry.

pub mod fit;
pub mod source;
pub mod tools;
pub mod transport;

pub use source::{ApiCall, Credentials, EvidenceSource, SourceError, SourceFuture};
pub use tools::EvidenceTools;
