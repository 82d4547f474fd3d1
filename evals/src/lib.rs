//! Online evaluation, live: what ingest stored is followed through the store's change log,
//! a share of requests is queued durably, and each, once its trace is quiet, is scored by
//! the deterministic checks and an LLM judge; the scores are stored with the request's
//! leaving the queue, in one write. Never on the ingest path: ingest only wrote the change
//! log it already writes.
//!
//! What is sampled, checked and asked is decided in `tracehound_query::evals`; this crate
//! runs it: the follower, the dispatcher, the judge's HTTP calls with a timeout, retries
//! with backoff, a rate, a concurrency bound and a daily budget, and the metrics.

pub mod engine;
pub mod judge_client;

pub use engine::{describe_metrics, EvalConfig, EvalEngine, JudgeConfig};
