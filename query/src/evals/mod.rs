//! Online evaluation's logic: which requests are sampled, what a judge is shown, the
//! deterministic checks, the scorecard of criteria an LLM judge scores, and the judge's
//! protocol (an OpenAI-compatible chat completion answering one JSON object).
//!
//! Nothing here calls a judge or waits: the `evals` crate runs the queue, the calls, the
//! retries and the budget, and stores what this module decides.
//!
//! - [`sampling`]: a share of requests, consistent by trace id, filtered by service and
//!   version value;
//! - [`evidence`]: a request's exact question, answer, retrieved documents and tool results;
//! - [`checks`]: refusal, abstention, language mismatch, an uncited answer, invalid JSON, a
//!   tool error;
//! - [`scorecard`]: criteria as prompt templates with a scale, read from TOML, and the
//!   default one (correctness, grounding);
//! - [`judge`]: the chat-completions body and the reading of the judge's verdict.

pub mod checks;
pub mod evidence;
pub mod judge;
pub mod leases;
pub mod runs;
pub mod sampling;
pub mod scorecard;
pub mod status;

/// The `source` of scores the deterministic checks give.
pub const CHECK_SOURCE: &str = "tracehound-check";
/// The `source` of scores an LLM judge gives through online evaluation.
pub const JUDGE_SOURCE: &str = "llm-judge";
/// The scorecard name the deterministic checks' scores carry.
pub const CHECKS_SCORECARD: &str = "checks";
/// The version of the deterministic checks: bump it when a check's rule changes, so
/// scores before and after are told apart.
pub const CHECKS_VERSION: &str = "1";
