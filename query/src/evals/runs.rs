//! Backfill runs: `POST /api/v1/evals/runs` scores stored history (an incident's window,
//! for its postmortem) with the same checks and judge as live sampling. A run queues its
//! requests in the one durable queue, so it survives restarts and judge outages like live
//! sampling does; its progress is what is left of it in the queue; cancelling it takes
//! what is left out.

use serde::{Deserialize, Serialize};
use tracehound_store::evals::{EvalRun, QueueEntry};
use tracehound_store::{Store, TenantId};
use utoipa::ToSchema;

use super::checks::Check;
use super::sampling::Sampling;
use super::status::EvalStatus;
use crate::error::QueryError;
use crate::failing::{Window, WindowView};
use crate::timestamp::format_rfc3339;

/// Requests one run scores at most: a larger window is refused with what to do instead.
pub const MAX_RUN_REQUESTS: usize = 100_000;
/// The evaluator name of the LLM judge (the others are the checks' names).
pub const JUDGE: &str = "judge";

/// The body of `POST /api/v1/evals/runs`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunInput {
    /// Oldest start: RFC 3339 or an age (`6h`).
    pub since: String,
    /// Start before which: RFC 3339 or an age. Default: now.
    #[serde(default)]
    pub until: Option<String>,
    /// Only these services.
    #[serde(default)]
    pub services: Vec<String>,
    /// Only requests carrying these version values, `dimension=value`.
    #[serde(default)]
    pub versions: Vec<String>,
    /// The evaluators: check names and `judge`. Default: the server's checks, and the
    /// judge when one is configured.
    #[serde(default)]
    pub evaluators: Option<Vec<String>>,
    /// The share of matching requests to score, 0 to 1. Default 1.
    #[serde(default)]
    pub sample_rate: Option<f64>,
}

/// A run and how far it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunView {
    /// Its id.
    pub id: String,
    /// When it was created, RFC 3339.
    pub created_at: String,
    /// The window scored.
    pub window: WindowView,
    /// Only these services, when any.
    pub services: Vec<String>,
    /// Only these version values, when any.
    pub versions: Vec<String>,
    /// The evaluators run.
    pub evaluators: Vec<String>,
    /// The share of matching requests scored.
    pub sample_rate: f64,
    /// Requests the run queued.
    pub queued: u64,
    /// Matching requests left out because they were judged or queued already.
    pub already_judged: u64,
    /// Of the queued, those still waiting.
    pub remaining: u64,
    /// Of the queued, those evaluated.
    pub done: u64,
    /// `running`, `done` or `cancelled`.
    pub state: String,
}

/// Creates a run and queues its requests.
pub fn create_run(
    store: &Store,
    tenant: TenantId,
    input: &RunInput,
    status: &EvalStatus,
    now: u64,
) -> Result<RunView, QueryError> {
    let invalid = |name: &'static str, reason: String| QueryError::InvalidParameter { name, reason };
    let window = Window::parse(Some(&input.since), input.until.as_deref(), now, 0)?;
    let rate = input.sample_rate.unwrap_or(1.0);
    let sampling = Sampling::new(rate, &input.services, &input.versions).map_err(|e| {
        invalid(if rate.is_finite() && (0.0..=1.0).contains(&rate) { "versions" } else { "sample_rate" }, e.to_string())
    })?;
    let evaluators = match &input.evaluators {
        Some(names) => {
            let mut out = Vec::new();
            for name in names.iter().map(|n| n.trim()) {
                if name == JUDGE {
                    if status.judge.is_none() {
                        return Err(invalid(
                            "evaluators",
                            "no judge is configured: start the server with --judge-url and --judge-model".into(),
                        ));
                    }
                } else if Check::parse(name).is_none() {
                    let known: Vec<&str> = Check::ALL.iter().map(|c| c.as_str()).chain([JUDGE]).collect();
                    return Err(invalid(
                        "evaluators",
                        format!("{name:?} is not an evaluator; evaluators: {}", known.join(", ")),
                    ));
                }
                if !out.iter().any(|n| n == name) {
                    out.push(name.to_string());
                }
            }
            out
        }
        None => status.checks.iter().cloned().chain(status.judge.as_ref().map(|_| JUDGE.to_string())).collect(),
    };
    if evaluators.is_empty() {
        return Err(invalid("evaluators", "nothing to run: name a check, or `judge` with a judge configured".into()));
    }
    let ids = store.trace_ids_between(tenant, window.since, window.until, MAX_RUN_REQUESTS + 1)?;
    if ids.len() > MAX_RUN_REQUESTS {
        return Err(invalid(
            "since",
            format!("the window holds over {MAX_RUN_REQUESTS} requests: take a shorter window or a sample_rate below 1 in several runs"),
        ));
    }
    let id = new_run_id(now);
    let mut entries = Vec::new();
    for trace in ids.iter().filter(|t| sampling.picks(t)) {
        let Some(summary) = store.trace_summary(tenant, trace)? else { continue };
        if !sampling.matches(&summary) {
            continue;
        }
        let entry = QueueEntry {
            sampled_unix_nano: now,
            not_before_unix_nano: now,
            run: Some(id.clone()),
            evaluators: Some(evaluators.clone()),
            ..QueueEntry::default()
        };
        entries.push((tenant, *trace, entry));
    }
    let queued = store.eval_enqueue(&entries)? as u64;
    let run = EvalRun {
        id,
        created_unix_nano: now,
        since_unix_nano: window.since,
        until_unix_nano: window.until,
        services: input.services.clone(),
        versions: input.versions.clone(),
        evaluators,
        sample_rate: rate,
        queued,
        already: entries.len() as u64 - queued,
        cancelled_unix_nano: None,
    };
    store.put_eval_run(tenant, &run)?;
    view(store, tenant, run)
}

/// One run and its progress.
pub fn run_view(store: &Store, tenant: TenantId, id: &str) -> Result<RunView, QueryError> {
    let run = store
        .eval_run(tenant, id)?
        .ok_or_else(|| QueryError::NotFound { what: "evaluation run", id: id.to_string() })?;
    view(store, tenant, run)
}

/// The tenant's runs, newest first.
pub fn list_runs(store: &Store, tenant: TenantId) -> Result<Vec<RunView>, QueryError> {
    let mut out = Vec::new();
    for run in store.eval_runs(tenant)?.into_iter().rev() {
        out.push(view(store, tenant, run)?);
    }
    Ok(out)
}

/// Cancels a run: what it had not evaluated leaves the queue.
pub fn cancel_run(store: &Store, tenant: TenantId, id: &str, now: u64) -> Result<RunView, QueryError> {
    let mut run = store
        .eval_run(tenant, id)?
        .ok_or_else(|| QueryError::NotFound { what: "evaluation run", id: id.to_string() })?;
    let left: Vec<_> = store
        .eval_queue()?
        .into_iter()
        .filter(|(t, _, e)| *t == tenant && e.run.as_deref() == Some(id))
        .map(|(t, trace, _)| (t, trace))
        .collect();
    store.eval_dequeue(&left)?;
    if run.cancelled_unix_nano.is_none() {
        run.cancelled_unix_nano = Some(now);
        store.put_eval_run(tenant, &run)?;
    }
    view(store, tenant, run)
}

fn view(store: &Store, tenant: TenantId, run: EvalRun) -> Result<RunView, QueryError> {
    let remaining = store
        .eval_queue()?
        .iter()
        .filter(|(t, _, e)| *t == tenant && e.run.as_deref() == Some(run.id.as_str()))
        .count() as u64;
    let state = match (run.cancelled_unix_nano, remaining) {
        (Some(_), _) => "cancelled",
        (None, 0) => "done",
        (None, _) => "running",
    };
    let window = Window { since: run.since_unix_nano, until: run.until_unix_nano };
    Ok(RunView {
        created_at: format_rfc3339(run.created_unix_nano),
        window: window.into(),
        services: run.services,
        versions: run.versions,
        evaluators: run.evaluators,
        sample_rate: run.sample_rate,
        queued: run.queued,
        already_judged: run.already,
        done: run.queued.saturating_sub(remaining),
        remaining,
        state: state.into(),
        id: run.id,
    })
}

/// A run id: its creation time first, so ids sort by it, then a few random-looking bytes.
fn new_run_id(now: u64) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mixed = (n ^ u64::from(std::process::id())).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!("run_{now:016x}{:06x}", mixed >> 40)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evals::status::JudgeView;
    use crate::test_support::{span, Fixture, T0};
    use tracehound_store::WriteBatch;

    fn status(judge: bool) -> EvalStatus {
        EvalStatus {
            checks: vec!["refusal".into()],
            judge: judge.then(|| JudgeView { url: "http://127.0.0.1:1/v1".into(), model: "j".into() }),
            ..Default::default()
        }
    }

    fn input() -> RunInput {
        RunInput {
            since: "1970-01-01T00:00:00Z".into(),
            until: Some("2100-01-01T00:00:00Z".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_run_queues_the_window_s_requests_and_cancelling_takes_them_out() {
        let fixture = Fixture::new();
        let spans = (1..=3).map(|t| span(t, 1, None, u64::from(t) * 10)).collect();
        fixture.store.write_group(&[WriteBatch { spans, ..Default::default() }]).unwrap();
        let run = create_run(&fixture.store, TenantId::DEFAULT, &input(), &status(true), T0).unwrap();
        assert_eq!((run.queued, run.remaining, run.state.as_str()), (3, 3, "running"));
        assert_eq!(run.evaluators, vec!["refusal", "judge"]);
        let again = create_run(&fixture.store, TenantId::DEFAULT, &input(), &status(true), T0).unwrap();
        assert_eq!((again.queued, again.already_judged), (0, 3), "queued already");
        let cancelled = cancel_run(&fixture.store, TenantId::DEFAULT, &run.id, T0).unwrap();
        assert_eq!((cancelled.remaining, cancelled.state.as_str()), (0, "cancelled"));
        assert!(fixture.store.eval_queue().unwrap().is_empty());
    }

    #[test]
    fn the_judge_is_refused_as_an_evaluator_when_none_is_configured() {
        let fixture = Fixture::new();
        let input = RunInput { evaluators: Some(vec!["judge".into()]), ..input() };
        let err = create_run(&fixture.store, TenantId::DEFAULT, &input, &status(false), T0).unwrap_err().to_string();
        assert!(err.contains("--judge-url"), "{err}");
    }

    #[test]
    fn an_unknown_evaluator_is_refused_naming_the_known_ones() {
        let fixture = Fixture::new();
        let input = RunInput { evaluators: Some(vec!["toxicity".into()]), ..input() };
        let err = create_run(&fixture.store, TenantId::DEFAULT, &input, &status(true), T0).unwrap_err().to_string();
        assert!(err.contains("\"toxicity\" is not an evaluator") && err.contains("tool_error"), "{err}");
    }
}
