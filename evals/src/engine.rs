//! The loops of online evaluation: the follower queues sampled requests as their traces
//! are written, and the dispatcher judges those whose trace has been quiet, a bounded
//! number at a time.
//!
//! # Exactly once
//!
//! A request is queued under its trace id; a trace written to again only moves its
//! `not_before` later. It leaves the queue in the write group that stores its scores, so a
//! crash before that write leaves it queued (judged again after the restart) and a crash
//! after it leaves it judged; the done mark then keeps the follower from queueing it again.
//!
//! # Failures
//!
//! A judge call that fails (an error status, a timeout, no connection, an answer that is not
//! the JSON verdict) is retried with backoff, up to `max_attempts` per request; then the
//! request is given up: its deterministic checks' scores are stored, the judge's failure is
//! recorded on its done mark, counted and shown in the status. A failure is never a score.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Mutex};
use tokio::task::JoinSet;
use tracehound_query::evals::checks::{self, Check};
use tracehound_query::evals::evidence::Evidence;
use tracehound_query::evals::judge;
use tracehound_query::evals::sampling::Sampling;
use tracehound_query::evals::scorecard::{self, Scorecard};
use tracehound_query::evals::status::{EvalBoard, EvalStatus, JudgeView, ScorecardView, SpendView};
use tracehound_query::time_range::now_unix_nanos;
use tracehound_query::timestamp::format_rfc3339;
use tracehound_query::triage::requests::{scan, Norms};
use tracehound_store::evals::{day_of, DoneMark, DoneOutcome, EvalDone, QueueEntry, Spend};
use tracehound_store::model::{Score, TraceId};
use tracehound_store::summary::ModelUsage;
use tracehound_store::writer::Writer;
use tracehound_store::{Store, TenantId, WriteBatch};

use crate::judge_client::{CallError, JudgeClient};

/// Changes read from the change log per step.
const CHANGES_PER_STEP: usize = 512;
/// How often the follower and the dispatcher look when nothing is waiting.
const TICK: Duration = Duration::from_millis(250);
/// The first retry's delay; each next one doubles, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest delay between two attempts on one request.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How often a request waits again while the budget is spent.
const BUDGET_RECHECK: Duration = Duration::from_secs(60);
/// The traffic abstention is judged against: the service's last hour.
const NORMS_WINDOW: Duration = Duration::from_secs(3_600);
/// How long one tenant's norms are reused.
const NORMS_TTL: Duration = Duration::from_secs(300);
/// How long done marks are kept: longer than any trace stays open, so a late span of a
/// judged request never queues it again.
const DONE_KEPT: Duration = Duration::from_secs(2 * 86_400);
const NANOS: u64 = 1_000_000_000;

/// The LLM judge and the scorecard it scores.
#[derive(Debug, Clone)]
pub struct JudgeConfig {
    /// The judge.
    pub client: JudgeClient,
    /// The criteria.
    pub scorecard: Arc<Scorecard>,
}

/// Everything the engine needs besides the store and the writer.
#[derive(Debug, Clone)]
pub struct EvalConfig {
    /// What is sampled.
    pub sampling: Sampling,
    /// The deterministic checks run on every sampled request.
    pub checks: Vec<Check>,
    /// The judge; `None` runs the checks alone.
    pub judge: Option<JudgeConfig>,
    /// How long a trace must go unwritten before it counts as complete.
    pub quiet: Duration,
    /// How long a sampled request waits for its root span before it is judged as it is.
    pub max_wait: Duration,
    /// Requests judged at once at most.
    pub concurrency: usize,
    /// Judge calls per second at most.
    pub calls_per_second: f64,
    /// Attempts per request before it is given up.
    pub max_attempts: u32,
    /// Tokens the judge may spend per UTC day.
    pub budget_tokens: Option<u64>,
    /// US dollars the judge may spend per UTC day (by the price table).
    pub budget_usd: Option<f64>,
    /// External scorers lease the queue; the engine queues but judges nothing.
    pub external_scorers: bool,
}

/// Describes the engine's metrics, for `/metrics`' HELP lines.
pub fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, Unit};
    describe_gauge!("tracehound_eval_backlog", Unit::Count, "Sampled requests waiting to be evaluated.");
    describe_gauge!("tracehound_eval_due", Unit::Count, "Queued requests whose trace is complete, waiting for a slot.");
    describe_gauge!("tracehound_eval_lag_seconds", Unit::Seconds, "How long the oldest due request has waited.");
    describe_counter!("tracehound_eval_sampled_total", Unit::Count, "Requests sampled for online evaluation.");
    describe_counter!(
        "tracehound_eval_requests_total",
        Unit::Count,
        "Requests whose evaluation ended, by outcome (scored, judge_failed, skipped)."
    );
    describe_counter!("tracehound_eval_scores_total", Unit::Count, "Scores stored by online evaluation.");
    describe_counter!(
        "tracehound_judge_calls_total",
        Unit::Count,
        "Calls to the LLM judge, by outcome (ok, timeout, unreachable, error_status, invalid_answer)."
    );
    describe_counter!(
        "tracehound_judge_tokens_total",
        Unit::Count,
        "Tokens the judge reported, by kind (input, output)."
    );
    describe_gauge!("tracehound_judge_spend_usd_today", "US dollars the judge cost today (UTC), by the price table.");
    describe_gauge!("tracehound_judge_budget_exhausted", "1 while the judge's daily budget is spent, else 0.");
}

/// Counters since the start, for the status.
#[derive(Debug, Default)]
struct Counters {
    judged: AtomicU64,
    failed: AtomicU64,
    calls: AtomicU64,
    call_failures: AtomicU64,
}

/// Online evaluation for one process.
pub struct EvalEngine {
    store: Store,
    writer: Writer,
    config: EvalConfig,
    board: EvalBoard,
    counters: Counters,
    /// Requests being judged now.
    in_flight: std::sync::Mutex<HashSet<(TenantId, TraceId)>>,
    /// The next moment a judge call may start (the rate).
    next_call: Mutex<Instant>,
    /// Serializes the read-and-add of the day's spend.
    spend: Mutex<()>,
    norms: Mutex<HashMap<TenantId, (Instant, Arc<Norms>)>>,
}

/// What judging one request came to.
enum Judged {
    /// Scores to store, and how it ended.
    Done(Vec<Score>, DoneMark),
    /// Not yet: queue it again with this entry.
    Later(QueueEntry),
}

impl EvalEngine {
    /// An engine; with sampling off, it unregisters the follower so the change log is pruned
    /// as the indexer alone needs.
    pub fn new(store: Store, writer: Writer, config: EvalConfig, board: EvalBoard) -> Arc<EvalEngine> {
        let status = EvalStatus {
            enabled: config.sampling.enabled(),
            sample_rate: config.sampling.rate,
            services: config.sampling.services.clone(),
            versions: config
                .sampling
                .versions
                .iter()
                .flat_map(|(dim, values)| values.iter().map(move |v| format!("{}={v}", dim.as_str())))
                .collect(),
            checks: config.checks.iter().map(|c| c.as_str().to_string()).collect(),
            external_scorers: config.external_scorers,
            judge: config
                .judge
                .as_ref()
                .map(|j| JudgeView { url: j.client.endpoint_base().to_string(), model: j.client.model().to_string() }),
            scorecard: config.judge.as_ref().map(|j| ScorecardView {
                name: j.scorecard.name.clone(),
                version: j.scorecard.version.clone(),
                criteria: j.scorecard.criteria.iter().map(|c| c.name.clone()).collect(),
            }),
            ..EvalStatus::default()
        };
        board.update(|s| *s = status);
        Arc::new(EvalEngine {
            store,
            writer,
            config,
            board,
            counters: Counters::default(),
            in_flight: std::sync::Mutex::default(),
            next_call: Mutex::new(Instant::now()),
            spend: Mutex::new(()),
            norms: Mutex::default(),
        })
    }

    /// Runs the follower and the dispatcher until `stop` turns true; requests being judged
    /// then are dropped unfinished and stay queued.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        if !self.config.sampling.enabled() {
            let store = self.store.clone();
            match tokio::task::spawn_blocking(move || store.unregister_eval_follower()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("cannot unregister the evaluation follower: {e}"),
                Err(e) => tracing::warn!("cannot unregister the evaluation follower: {e}"),
            }
        }
        let mut tasks = JoinSet::new();
        let mut ticks = tokio::time::interval(TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut last_prune = Instant::now();
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop.changed() => break,
            }
            while tasks.try_join_next().is_some() {}
            if self.config.sampling.enabled() {
                if let Err(e) = self.clone().follow().await {
                    tracing::warn!("online evaluation cannot follow the change log: {e}");
                }
            }
            if let Err(e) = self.clone().dispatch(&mut tasks).await {
                tracing::warn!("online evaluation cannot read its queue: {e}");
            }
            if last_prune.elapsed() > Duration::from_secs(3_600) {
                last_prune = Instant::now();
                let store = self.store.clone();
                let before = now_unix_nanos().saturating_sub(DONE_KEPT.as_nanos() as u64);
                let _ = tokio::task::spawn_blocking(move || store.prune_eval_done(before)).await;
            }
        }
        tasks.shutdown().await;
    }

    /// Queues the sampled traces of every change since the follower's cursor.
    async fn follow(self: Arc<Self>) -> Result<(), String> {
        let engine = self.clone();
        tokio::task::spawn_blocking(move || -> Result<(), String> {
            let store = &engine.store;
            let cursor = match store.eval_follower_cursor().map_err(|e| e.to_string())? {
                Some(cursor) => cursor,
                // First start with sampling on: sample what arrives from now on (history is
                // for backfill runs).
                None => {
                    let now = store.last_change_seq();
                    store.eval_follow(&[], now).map_err(|e| e.to_string())?;
                    now
                }
            };
            let changes = store.changes_after(cursor, CHANGES_PER_STEP).map_err(|e| e.to_string())?;
            let Some(last) = changes.last().map(|c| c.seq) else { return Ok(()) };
            let now = now_unix_nanos();
            let entry = QueueEntry {
                sampled_unix_nano: now,
                not_before_unix_nano: now + engine.config.quiet.as_nanos() as u64,
                ..QueueEntry::default()
            };
            let mut sampled: Vec<(TenantId, TraceId, QueueEntry)> = Vec::new();
            let mut seen = HashSet::new();
            for (tenant, trace) in changes.iter().flat_map(|c| c.traces.iter()) {
                if engine.config.sampling.picks(trace) && seen.insert((*tenant, *trace)) {
                    sampled.push((*tenant, *trace, entry.clone()));
                }
            }
            let queued = store.eval_follow(&sampled, last).map_err(|e| e.to_string())?;
            metrics::counter!("tracehound_eval_sampled_total").increment(queued as u64);
            Ok(())
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Starts judging the due requests, as many as free slots allow; publishes the queue's
    /// state.
    async fn dispatch(self: Arc<Self>, tasks: &mut JoinSet<()>) -> Result<(), String> {
        let store = self.store.clone();
        let queue = tokio::task::spawn_blocking(move || store.eval_queue())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let now = now_unix_nanos();
        let mut due: Vec<(TenantId, TraceId, QueueEntry)> =
            queue.iter().filter(|(_, _, e)| e.not_before_unix_nano <= now).cloned().collect();
        due.sort_by_key(|(_, _, e)| e.not_before_unix_nano);
        let lag = due.first().map_or(0.0, |(_, _, e)| now.saturating_sub(e.not_before_unix_nano) as f64 / 1e9);
        metrics::gauge!("tracehound_eval_backlog").set(queue.len() as f64);
        metrics::gauge!("tracehound_eval_due").set(due.len() as f64);
        metrics::gauge!("tracehound_eval_lag_seconds").set(lag);
        let spend = self.spend_view(now).await;
        self.board.update(|s| {
            s.backlog = queue.len() as u64;
            s.due = due.len() as u64;
            s.lag_seconds = lag;
            s.judged = self.counters.judged.load(Ordering::Relaxed);
            s.failed = self.counters.failed.load(Ordering::Relaxed);
            s.judge_calls = self.counters.calls.load(Ordering::Relaxed);
            s.judge_failures = self.counters.call_failures.load(Ordering::Relaxed);
            s.spend = spend;
        });
        if self.config.external_scorers {
            return Ok(());
        }
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        for (tenant, trace, entry) in due {
            if in_flight.len() >= self.config.concurrency.max(1) {
                break;
            }
            if !in_flight.insert((tenant, trace)) {
                continue;
            }
            let engine = self.clone();
            tasks.spawn(async move {
                engine.evaluate(tenant, trace, entry).await;
                engine.in_flight.lock().unwrap_or_else(|p| p.into_inner()).remove(&(tenant, trace));
            });
        }
        Ok(())
    }

    /// Judges one request and stores the outcome.
    async fn evaluate(self: &Arc<Self>, tenant: TenantId, trace: TraceId, entry: QueueEntry) {
        let judged = match self.judge_request(tenant, trace, entry.clone()).await {
            Ok(judged) => judged,
            Err(e) => {
                tracing::warn!(trace = %hex::encode(trace), "cannot evaluate a request: {e}");
                Judged::Later(QueueEntry {
                    not_before_unix_nano: now_unix_nanos() + BUDGET_RECHECK.as_nanos() as u64,
                    ..entry
                })
            }
        };
        match judged {
            Judged::Later(entry) => {
                let store = self.store.clone();
                let result = tokio::task::spawn_blocking(move || store.eval_requeue(tenant, &trace, &entry)).await;
                if !matches!(result, Ok(Ok(()))) {
                    tracing::warn!(trace = %hex::encode(trace), "cannot requeue a request for evaluation");
                }
            }
            Judged::Done(scores, mark) => {
                let outcome = mark.outcome;
                let stored = scores.len() as u64;
                let batch = WriteBatch {
                    tenant,
                    scores,
                    evals_done: vec![EvalDone { trace_id: trace, mark }],
                    ..WriteBatch::default()
                };
                match self.writer.write(batch).await {
                    Ok(_) => {
                        let label = match outcome {
                            DoneOutcome::Scored => "scored",
                            DoneOutcome::JudgeFailed => "judge_failed",
                            DoneOutcome::Skipped => "skipped",
                        };
                        metrics::counter!("tracehound_eval_requests_total", "outcome" => label).increment(1);
                        metrics::counter!("tracehound_eval_scores_total").increment(stored);
                        match outcome {
                            DoneOutcome::Scored => self.counters.judged.fetch_add(1, Ordering::Relaxed),
                            DoneOutcome::JudgeFailed => self.counters.failed.fetch_add(1, Ordering::Relaxed),
                            DoneOutcome::Skipped => 0,
                        };
                    }
                    // Still queued: the next dispatch takes it again.
                    Err(e) => tracing::warn!(trace = %hex::encode(trace), "cannot store evaluation scores: {e}"),
                }
            }
        }
    }

    async fn judge_request(
        self: &Arc<Self>,
        tenant: TenantId,
        trace: TraceId,
        entry: QueueEntry,
    ) -> Result<Judged, String> {
        let now = now_unix_nanos();
        let store = self.store.clone();
        let data = tokio::task::spawn_blocking(move || store.trace(tenant, &trace))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let done = |outcome, detail: Option<&str>, scores| {
            Ok(Judged::Done(scores, DoneMark { at_unix_nano: now, outcome, detail: detail.map(str::to_string) }))
        };
        let Some(data) = data else { return done(DoneOutcome::Skipped, Some("the trace is gone"), Vec::new()) };
        let waited = now.saturating_sub(entry.sampled_unix_nano);
        if data.summary.root_span_id.is_none() && waited < self.config.max_wait.as_nanos() as u64 {
            let not_before = now + self.config.quiet.as_nanos() as u64;
            return Ok(Judged::Later(QueueEntry { not_before_unix_nano: not_before, ..entry }));
        }
        if entry.run.is_none() && !self.config.sampling.matches(&data.summary) {
            return done(DoneOutcome::Skipped, Some("outside the sampling filters"), Vec::new());
        }
        let evidence = Evidence::of(&data);
        let trace_hex = hex::encode(trace);
        let norms = self.norms_of(tenant).await;
        // A backfill run names its evaluators; live sampling runs the server's.
        let (chosen_checks, with_judge) = match &entry.evaluators {
            Some(names) => (
                names.iter().filter_map(|n| Check::parse(n)).collect::<Vec<_>>(),
                names.iter().any(|n| n == tracehound_query::evals::runs::JUDGE),
            ),
            None => (self.config.checks.clone(), true),
        };
        let mut scores: Vec<Score> = checks::run(&chosen_checks, &evidence, &data.summary, &norms)
            .iter()
            .map(|r| r.score(&trace_hex, now))
            .collect();
        let Some(judge) = self.config.judge.as_ref().filter(|_| with_judge) else {
            let outcome = if scores.is_empty() { DoneOutcome::Skipped } else { DoneOutcome::Scored };
            return done(outcome, None, scores);
        };
        if evidence.answer.is_none() {
            let outcome = if scores.is_empty() { DoneOutcome::Skipped } else { DoneOutcome::Scored };
            return done(outcome, Some("no answer recorded: nothing for the judge"), scores);
        }
        if self.budget_spent(now).await {
            self.board.update(|s| s.spend.exhausted = true);
            metrics::gauge!("tracehound_judge_budget_exhausted").set(1.0);
            let not_before = now + BUDGET_RECHECK.as_nanos() as u64;
            return Ok(Judged::Later(QueueEntry { not_before_unix_nano: not_before, ..entry }));
        }
        match self.ask_judge(judge, &evidence, &trace_hex).await {
            Ok(judged) => {
                scores.extend(judged);
                done(DoneOutcome::Scored, None, scores)
            }
            Err(error) => {
                let attempts = entry.attempts + 1;
                if attempts >= self.config.max_attempts.max(1) {
                    let detail = format!("the judge failed {attempts} times; last: {error}");
                    tracing::warn!(trace = %trace_hex, "giving up on judging a request: {detail}");
                    return done(DoneOutcome::JudgeFailed, Some(&detail), scores);
                }
                let backoff = FIRST_BACKOFF.saturating_mul(1 << (attempts - 1).min(16)).min(MAX_BACKOFF);
                Ok(Judged::Later(QueueEntry {
                    attempts,
                    last_error: Some(error.to_string()),
                    not_before_unix_nano: now_unix_nanos() + backoff.as_nanos() as u64,
                    ..entry
                }))
            }
        }
    }

    /// Every criterion of the scorecard on one request; the first failure fails them all
    /// (the request is retried whole: a verdict is never half-stored).
    async fn ask_judge(
        &self,
        judge: &JudgeConfig,
        evidence: &Evidence,
        trace_hex: &str,
    ) -> Result<Vec<Score>, CallError> {
        let mut scores = Vec::with_capacity(judge.scorecard.criteria.len());
        for criterion in &judge.scorecard.criteria {
            let prompt = scorecard::prompt(criterion, evidence);
            self.wait_for_rate().await;
            self.counters.calls.fetch_add(1, Ordering::Relaxed);
            match judge.client.judge(&judge.scorecard, &prompt).await {
                Ok(reply) => {
                    metrics::counter!("tracehound_judge_calls_total", "outcome" => "ok").increment(1);
                    self.record_spend(judge.client.model(), reply.input_tokens, reply.output_tokens).await;
                    let now = now_unix_nanos();
                    scores.push(judge::score(
                        &reply.verdict,
                        criterion,
                        &judge.scorecard,
                        judge.client.model(),
                        trace_hex,
                        now,
                    ));
                }
                Err(error) => {
                    metrics::counter!("tracehound_judge_calls_total", "outcome" => error.kind()).increment(1);
                    self.counters.call_failures.fetch_add(1, Ordering::Relaxed);
                    if matches!(error, CallError::Reply(_)) {
                        // An answer came, and the tokens behind it were spent.
                        self.record_spend(judge.client.model(), 0, 0).await;
                    }
                    let text = error.to_string();
                    let at = format_rfc3339(now_unix_nanos());
                    self.board.update(|s| {
                        s.last_error = Some(text);
                        s.last_error_at = Some(at);
                    });
                    return Err(error);
                }
            }
        }
        Ok(scores)
    }

    /// Waits for the next call slot the rate allows.
    async fn wait_for_rate(&self) {
        let rate = self.config.calls_per_second;
        if !(rate.is_finite() && rate > 0.0) {
            return;
        }
        let slot = {
            let mut next = self.next_call.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + Duration::from_secs_f64(1.0 / rate);
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
    }

    async fn record_spend(&self, model: &str, input: u64, output: u64) {
        let usage = BTreeMap::from([(
            model.to_string(),
            ModelUsage { calls: 1, input: input as i64, output: output as i64, ..ModelUsage::default() },
        )]);
        let cost_usd = tracehound_query::cost::prices().cost(&usage).unwrap_or(0.0);
        metrics::counter!("tracehound_judge_tokens_total", "kind" => "input").increment(input);
        metrics::counter!("tracehound_judge_tokens_total", "kind" => "output").increment(output);
        let call = Spend { calls: 1, input_tokens: input, output_tokens: output, cost_usd };
        let _turn = self.spend.lock().await;
        let store = self.store.clone();
        let day = day_of(now_unix_nanos());
        match tokio::task::spawn_blocking(move || store.add_eval_spend(day, call)).await {
            Ok(Ok(total)) => metrics::gauge!("tracehound_judge_spend_usd_today").set(total.cost_usd),
            _ => tracing::warn!("cannot record the judge's spend"),
        }
    }

    /// Whether today's spend has reached a budget.
    async fn budget_spent(&self, now: u64) -> bool {
        let view = self.spend_view(now).await;
        if !view.exhausted {
            metrics::gauge!("tracehound_judge_budget_exhausted").set(0.0);
        }
        view.exhausted
    }

    async fn spend_view(&self, now: u64) -> SpendView {
        let store = self.store.clone();
        let day = day_of(now);
        let spend = match tokio::task::spawn_blocking(move || store.eval_spend(day)).await {
            Ok(Ok(spend)) => spend,
            _ => Spend::default(),
        };
        let exhausted = self.config.budget_tokens.is_some_and(|b| spend.tokens() >= b)
            || self.config.budget_usd.is_some_and(|b| spend.cost_usd >= b);
        SpendView {
            day: format_rfc3339(u64::from(day) * 86_400 * NANOS).chars().take(10).collect(),
            calls: spend.calls,
            tokens: spend.tokens(),
            cost_usd: spend.cost_usd,
            budget_tokens: self.config.budget_tokens,
            budget_usd: self.config.budget_usd,
            exhausted,
        }
    }

    /// The tenant's norms of the last hour, for abstention; reused for a few minutes.
    async fn norms_of(&self, tenant: TenantId) -> Arc<Norms> {
        let mut cache = self.norms.lock().await;
        if let Some((at, norms)) = cache.get(&tenant) {
            if at.elapsed() < NORMS_TTL {
                return norms.clone();
            }
        }
        let store = self.store.clone();
        let now = now_unix_nanos();
        let since = now.saturating_sub(NORMS_WINDOW.as_nanos() as u64);
        let norms = match tokio::task::spawn_blocking(move || scan(&store, tenant, since, now)).await {
            Ok(Ok((requests, _))) => Arc::new(Norms::of(&requests)),
            _ => Arc::new(Norms::default()),
        };
        cache.insert(tenant, (Instant::now(), norms.clone()));
        norms
    }
}
