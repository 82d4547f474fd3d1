//! External scorers: teams with their own judges lease sampled requests, with the evidence
//! a judge needs, and complete the lease with their scores. With `--eval-external-scorers`
//! the server judges nothing itself and the queue is theirs.
//!
//! A lease holds its requests until it expires; a request of an expired lease can be leased
//! again, and then the old lease can no longer complete it. Completing stores the scores
//! and takes the request out of the queue in one write, so a request is scored once.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tracehound_store::evals::{DoneMark, DoneOutcome, EvalDone, QueueEntry};
use tracehound_store::model::{EvaluatorVersion, Score, ScoreTargetKind, TraceId};
use tracehound_store::{Store, TenantId, WriteBatch};
use utoipa::ToSchema;

use super::evidence::Evidence;
use crate::error::QueryError;
use crate::timestamp::format_rfc3339;

/// Requests one lease takes at most.
pub const MAX_LEASE: usize = 100;
/// The longest lease.
pub const MAX_LEASE_SECONDS: u64 = 3_600;
/// The `source` of scores an external scorer completes a lease with.
pub const EXTERNAL_SOURCE: &str = "external-scorer";

/// Two leases must not take the same request: the read of the queue and the write of the
/// lease are one step. One process serves the API, so a process-wide lock orders them.
static LEASING: Mutex<()> = Mutex::new(());

/// The body of `POST /api/v1/evals/leases`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaseInput {
    /// Requests to take, 1 to 100. Default 10.
    #[serde(default)]
    pub limit: Option<usize>,
    /// How long the lease holds them, seconds, up to 3600. Default 300.
    #[serde(default)]
    pub lease_seconds: Option<u64>,
}

/// A retrieved document shown to a scorer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LeasedDocument {
    /// Its id, when the retriever gave one.
    pub id: Option<String>,
    /// Its content, exact.
    pub content: String,
}

/// A tool call shown to a scorer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LeasedTool {
    /// The tool.
    pub name: String,
    /// Its arguments, exact.
    pub arguments: Option<String>,
    /// Its result, exact.
    pub result: Option<String>,
    /// Whether it failed, and why.
    pub error: Option<String>,
}

/// One leased request and its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LeasedRequest {
    /// The trace id (hex): what the scores name.
    pub trace_id: String,
    /// The request id.
    pub request_id: String,
    /// The service.
    pub service: String,
    /// When it started, RFC 3339.
    pub start_time: String,
    /// The question, exact.
    pub question: Option<String>,
    /// The answer, exact.
    pub answer: Option<String>,
    /// The documents retrieved.
    pub documents: Vec<LeasedDocument>,
    /// The tool calls.
    pub tool_results: Vec<LeasedTool>,
}

/// A lease.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Lease {
    /// Its id, for `POST /api/v1/evals/leases/{id}`.
    pub lease_id: String,
    /// When it expires, RFC 3339.
    pub expires_at: String,
    /// The requests it holds (none when nothing waits).
    pub requests: Vec<LeasedRequest>,
}

/// One score of a completed lease.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreInput {
    /// What was judged (`correctness`).
    pub name: String,
    /// 0 to 1, or any number the scorer uses.
    #[serde(default)]
    pub value: Option<f64>,
    /// `pass`, `fail`, ...
    #[serde(default)]
    pub label: Option<String>,
    /// Why.
    #[serde(default)]
    pub explanation: Option<String>,
}

/// The scores of one leased request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultInput {
    /// The trace id (hex) of a request the lease holds.
    pub trace_id: String,
    /// Its scores.
    pub scores: Vec<ScoreInput>,
}

/// The body of `POST /api/v1/evals/leases/{id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteInput {
    /// The scorer's scorecard name, version and model, recorded on each score.
    #[serde(default)]
    pub scorecard: Option<String>,
    /// The scorecard's version.
    #[serde(default)]
    pub version: Option<String>,
    /// The judge model.
    #[serde(default)]
    pub model: Option<String>,
    /// The results, one per request.
    pub results: Vec<ResultInput>,
}

/// Takes due requests of the tenant for an external scorer.
pub fn take(store: &Store, tenant: TenantId, input: &LeaseInput, now: u64) -> Result<Lease, QueryError> {
    let invalid = |name: &'static str, reason: String| QueryError::InvalidParameter { name, reason };
    let limit = input.limit.unwrap_or(10);
    if !(1..=MAX_LEASE).contains(&limit) {
        return Err(invalid("limit", format!("{limit} is not from 1 to {MAX_LEASE}")));
    }
    let seconds = input.lease_seconds.unwrap_or(300);
    if !(1..=MAX_LEASE_SECONDS).contains(&seconds) {
        return Err(invalid("lease_seconds", format!("{seconds} is not from 1 to {MAX_LEASE_SECONDS}")));
    }
    let expires = now + seconds * 1_000_000_000;
    let lease_id = format!("lease_{now:016x}{:04x}", std::process::id() & 0xffff);
    let _one_at_a_time = LEASING.lock().unwrap_or_else(|p| p.into_inner());
    let mut due: Vec<(TenantId, TraceId, QueueEntry)> =
        store.eval_queue()?.into_iter().filter(|(t, _, e)| *t == tenant && e.not_before_unix_nano <= now).collect();
    due.sort_by_key(|(_, _, e)| e.not_before_unix_nano);
    due.truncate(limit);
    let mut requests = Vec::with_capacity(due.len());
    let mut gone = Vec::new();
    for (_, trace, entry) in due.iter_mut() {
        entry.lease = Some(lease_id.clone());
        entry.not_before_unix_nano = expires;
        // A trace deleted while queued (retention) has nothing to score: it leaves the queue
        // rather than being leased again at every expiry.
        let Some(data) = store.trace(tenant, trace)? else {
            gone.push((tenant, *trace));
            continue;
        };
        let evidence = Evidence::of(&data);
        requests.push(LeasedRequest {
            trace_id: hex::encode(trace),
            request_id: data.summary.display_request_id(),
            service: data.summary.service.clone(),
            start_time: format_rfc3339(data.summary.start_unix_nano),
            question: evidence.question,
            answer: evidence.answer,
            documents: evidence
                .documents
                .into_iter()
                .map(|d| LeasedDocument { id: d.id, content: d.content })
                .collect(),
            tool_results: evidence
                .tool_results
                .into_iter()
                .map(|t| LeasedTool { name: t.name, arguments: t.arguments, result: t.result, error: t.error })
                .collect(),
        });
    }
    due.retain(|(t, trace, _)| !gone.contains(&(*t, *trace)));
    store.eval_requeue_all(&due)?;
    store.eval_dequeue(&gone)?;
    Ok(Lease { lease_id, expires_at: format_rfc3339(expires), requests })
}

/// The write that completes a lease: the scores, and the requests leaving the queue.
pub fn completion(
    store: &Store,
    tenant: TenantId,
    lease_id: &str,
    input: &CompleteInput,
    now: u64,
) -> Result<WriteBatch, QueryError> {
    let invalid = |reason: String| QueryError::InvalidParameter { name: "results", reason };
    if input.results.is_empty() {
        return Err(invalid("no results: each names a trace_id the lease holds and its scores".into()));
    }
    let evaluator = match (&input.scorecard, &input.version) {
        (Some(scorecard), Some(version)) => Some(EvaluatorVersion {
            scorecard: scorecard.clone(),
            version: version.clone(),
            model: input.model.clone(),
        }),
        (None, None) => None,
        _ => return Err(invalid("scorecard and version go together".into())),
    };
    let mut batch = WriteBatch { tenant, ..WriteBatch::default() };
    for result in &input.results {
        let trace: TraceId = hex::decode(result.trace_id.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| invalid(format!("{:?} is not a trace id of 32 hex digits", result.trace_id)))?;
        // An expired lease completes nothing: its requests may be another's now.
        let held = store
            .eval_queued(tenant, &trace)?
            .is_some_and(|e| e.lease.as_deref() == Some(lease_id) && e.not_before_unix_nano > now);
        if !held {
            return Err(QueryError::NotFound { what: "request held by this lease", id: result.trace_id.clone() });
        }
        if result.scores.is_empty() || result.scores.iter().any(|s| s.name.trim().is_empty()) {
            return Err(invalid(format!("the scores of {} need a name each, and at least one", result.trace_id)));
        }
        if result.scores.iter().any(|s| s.value.is_none() && s.label.is_none()) {
            return Err(invalid(format!("a score of {} has neither a value nor a label", result.trace_id)));
        }
        let trace_hex = hex::encode(trace);
        for score in &result.scores {
            batch.scores.push(Score {
                target_kind: ScoreTargetKind::Trace,
                target_id: trace_hex.clone(),
                trace_id: None,
                name: score.name.trim().to_string(),
                value: score.value.filter(|v| v.is_finite()),
                label: score.label.clone(),
                explanation: score.explanation.clone(),
                source: EXTERNAL_SOURCE.into(),
                time_unix_nano: now,
                evaluator: evaluator.clone(),
            });
        }
        batch.evals_done.push(EvalDone {
            trace_id: trace,
            mark: DoneMark {
                at_unix_nano: now,
                outcome: DoneOutcome::Scored,
                detail: Some(format!("lease {lease_id}")),
            },
        });
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{span, Fixture, T0};

    fn queued(not_before: u64) -> QueueEntry {
        QueueEntry { sampled_unix_nano: 1, not_before_unix_nano: not_before, ..QueueEntry::default() }
    }

    #[test]
    fn a_lease_takes_due_requests_with_their_evidence_and_drops_a_trace_that_is_gone() {
        let fixture = Fixture::new();
        fixture.write(vec![span(1, 1, None, 0)]);
        let (live, gone) = (crate::test_support::trace_id(1), [9u8; 16]);
        fixture
            .store
            .eval_follow(&[(TenantId::DEFAULT, live, queued(1)), (TenantId::DEFAULT, gone, queued(1))], 0)
            .unwrap();
        let lease = take(&fixture.store, TenantId::DEFAULT, &LeaseInput::default(), T0).unwrap();
        assert_eq!(lease.requests.len(), 1);
        assert_eq!(lease.requests[0].trace_id, hex::encode(live));
        let queue = fixture.store.eval_queue().unwrap();
        assert_eq!(queue.len(), 1, "the gone trace left the queue: {queue:?}");
        assert_eq!(queue[0].2.lease.as_deref(), Some(lease.lease_id.as_str()));
    }

    #[test]
    fn a_limit_out_of_range_is_refused_with_the_range() {
        let fixture = Fixture::new();
        let input = LeaseInput { limit: Some(0), lease_seconds: None };
        let err = take(&fixture.store, TenantId::DEFAULT, &input, T0).unwrap_err().to_string();
        assert!(err.contains("not from 1 to 100"), "{err}");
    }
}
