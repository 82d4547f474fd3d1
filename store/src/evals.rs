//! The durable queue of online evaluation: which requests were sampled and wait to be
//! judged, which were judged (so none is judged twice), and what the judge cost per day.
//!
//! | keyspace | key                           | value          |
//! |----------|-------------------------------|----------------|
//! | `evals`  | `q` · tenant · trace_id       | [`QueueEntry`] |
//! | `evals`  | `d` · tenant · trace_id       | [`DoneMark`]   |
//! | `evals`  | `s` · day (days since epoch)  | [`Spend`]      |
//! | `evals`  | `r` · tenant · run id         | [`EvalRun`]    |
//!
//! A request leaves the queue in the same atomic write group that stores its scores
//! ([`crate::WriteBatch::evals_done`]): after a crash it is either still queued and judged
//! again, or judged with its scores stored, never both and never neither.
//!
//! Sampled requests are found by following the change log (the traces each write group
//! touched) from a cursor of their own. While the cursor is registered, the change log is
//! not pruned past it, so a restart resumes where the follower stopped.

use serde::{Deserialize, Serialize};

use crate::codec::{decode, encode};
use crate::error::Result;
use crate::keys::{self, TenantId};
use crate::model::TraceId;
use crate::store::Store;

const QUEUED: u8 = b'q';
const DONE: u8 = b'd';
const SPEND: u8 = b's';
const RUN: u8 = b'r';
/// The `meta` name of the evaluation follower's change-log cursor.
const FOLLOWER_CURSOR: &str = "evals_follower_seq";

/// One request waiting to be judged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueEntry {
    /// When it was sampled, Unix ns.
    pub sampled_unix_nano: u64,
    /// Not to be judged before, Unix ns: the trace's last write plus the quiet period, or
    /// the next retry.
    pub not_before_unix_nano: u64,
    /// Judge attempts that failed so far.
    #[serde(default)]
    pub attempts: u32,
    /// The last failure, when an attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The backfill run that queued it; `None` for live sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// The evaluators to run (check names, `judge`); `None` for the server's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluators: Option<Vec<String>>,
    /// The external scorer's lease holding it, until `not_before`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<String>,
}

/// A backfill run: stored history scored on request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalRun {
    /// Its id.
    pub id: String,
    /// When it was created, Unix ns.
    pub created_unix_nano: u64,
    /// The window's start, Unix ns.
    pub since_unix_nano: u64,
    /// The window's end, Unix ns.
    pub until_unix_nano: u64,
    /// Only these services, when any.
    #[serde(default)]
    pub services: Vec<String>,
    /// Only these version values (`dimension=value`), when any.
    #[serde(default)]
    pub versions: Vec<String>,
    /// The evaluators run.
    #[serde(default)]
    pub evaluators: Vec<String>,
    /// The share of the window's matching requests scored.
    pub sample_rate: f64,
    /// Requests it queued.
    pub queued: u64,
    /// Matching requests it left out because they were judged or queued already.
    #[serde(default)]
    pub already: u64,
    /// When it was cancelled, Unix ns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_unix_nano: Option<u64>,
}

/// How a request's evaluation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoneOutcome {
    /// Scores were stored.
    Scored,
    /// The judge failed on every attempt; only the deterministic checks' scores were stored.
    JudgeFailed,
    /// Nothing to judge: the trace had no question or answer, or was deleted, or did not
    /// match the sampling filters.
    Skipped,
}

/// A request whose evaluation is over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoneMark {
    /// When it ended, Unix ns.
    pub at_unix_nano: u64,
    /// How.
    pub outcome: DoneOutcome,
    /// Why, for a failure or a skip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A request leaving the queue, written with its scores in one write group.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalDone {
    /// The judged trace.
    pub trace_id: TraceId,
    /// How its evaluation ended.
    pub mark: DoneMark,
}

/// What the judge cost over one UTC day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Spend {
    /// Judge calls answered.
    pub calls: u64,
    /// Prompt tokens the judge reported.
    pub input_tokens: u64,
    /// Completion tokens the judge reported.
    pub output_tokens: u64,
    /// US dollars by the price table; calls to an unpriced model add nothing.
    pub cost_usd: f64,
}

impl Spend {
    /// Input plus output tokens.
    pub fn tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

fn entry_key(tag: u8, t: TenantId, trace: &TraceId) -> Vec<u8> {
    let mut key = Vec::with_capacity(21);
    key.push(tag);
    key.extend_from_slice(&t.0.to_be_bytes());
    key.extend_from_slice(trace);
    key
}

fn parse_entry_key(key: &[u8]) -> Option<(TenantId, TraceId)> {
    let tenant = u32::from_be_bytes(key.get(1..5)?.try_into().ok()?);
    Some((TenantId(tenant), key.get(5..21)?.try_into().ok()?))
}

fn run_key(t: TenantId, id: &str) -> Vec<u8> {
    let mut key = vec![RUN];
    key.extend_from_slice(&t.0.to_be_bytes());
    key.extend_from_slice(id.as_bytes());
    key
}

fn spend_key(day: u32) -> Vec<u8> {
    let mut key = vec![SPEND];
    key.extend_from_slice(&day.to_be_bytes());
    key
}

/// The UTC day of a Unix-ns time, counted from 1970-01-01.
pub fn day_of(unix_nano: u64) -> u32 {
    u32::try_from(unix_nano / (86_400 * 1_000_000_000)).unwrap_or(u32::MAX)
}

impl Store {
    /// Stages the marks of requests leaving the queue (part of [`Store::write_group`]).
    pub(crate) fn stage_evals_done(
        &self,
        tx: &mut fjall::OwnedWriteBatch,
        t: TenantId,
        done: &[EvalDone],
    ) -> Result<()> {
        for item in done {
            tx.remove(&self.evals, entry_key(QUEUED, t, &item.trace_id));
            tx.insert(&self.evals, entry_key(DONE, t, &item.trace_id), encode(&item.mark)?);
        }
        Ok(())
    }

    /// The evaluation follower's change-log cursor; `None` when no follower is registered.
    pub fn eval_follower_cursor(&self) -> Result<Option<u64>> {
        let bytes = self.meta.get(keys::meta(TenantId::RESERVED, FOLLOWER_CURSOR))?;
        Ok(bytes.and_then(|b| b.get(..8).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes)))
    }

    /// Forgets the follower: the change log is pruned as the indexer alone needs (sampling
    /// was turned off).
    pub fn unregister_eval_follower(&self) -> Result<()> {
        self.meta.remove(keys::meta(TenantId::RESERVED, FOLLOWER_CURSOR))?;
        Ok(())
    }

    /// Queues newly sampled requests, or pushes a queued one's `not_before` later (its trace
    /// was written to again), skipping requests already judged; and moves the follower's
    /// cursor to `cursor`. One atomic, durable batch: a crash loses neither.
    pub fn eval_follow(&self, sampled: &[(TenantId, TraceId, QueueEntry)], cursor: u64) -> Result<usize> {
        self.check_headroom()?;
        let mut tx = self.db.batch();
        let mut queued = 0;
        for (t, trace, entry) in sampled {
            if self.evals.contains_key(entry_key(DONE, *t, trace))? {
                continue;
            }
            let key = entry_key(QUEUED, *t, trace);
            let entry = match self.evals.get(&key)? {
                Some(bytes) => {
                    let mut existing: QueueEntry = decode("evals", &bytes)?;
                    existing.not_before_unix_nano = existing.not_before_unix_nano.max(entry.not_before_unix_nano);
                    existing
                }
                None => {
                    queued += 1;
                    entry.clone()
                }
            };
            tx.insert(&self.evals, key, encode(&entry)?);
        }
        tx.insert(&self.meta, keys::meta(TenantId::RESERVED, FOLLOWER_CURSOR), cursor.to_be_bytes());
        tx.commit()?;
        self.db.persist(fjall::PersistMode::SyncAll)?;
        Ok(queued)
    }

    /// Queues requests for a backfill run, skipping those queued or judged already.
    pub fn eval_enqueue(&self, entries: &[(TenantId, TraceId, QueueEntry)]) -> Result<usize> {
        self.check_headroom()?;
        let mut tx = self.db.batch();
        let mut queued = 0;
        for (t, trace, entry) in entries {
            let key = entry_key(QUEUED, *t, trace);
            if self.evals.contains_key(entry_key(DONE, *t, trace))? || self.evals.contains_key(&key)? {
                continue;
            }
            tx.insert(&self.evals, key, encode(entry)?);
            queued += 1;
        }
        tx.commit()?;
        self.db.persist(fjall::PersistMode::SyncAll)?;
        Ok(queued)
    }

    /// Every queued request, in key order.
    pub fn eval_queue(&self) -> Result<Vec<(TenantId, TraceId, QueueEntry)>> {
        let mut out = Vec::new();
        for item in self.evals.prefix([QUEUED]) {
            let (key, value) = item.into_inner()?;
            let Some((t, trace)) = parse_entry_key(&key) else { continue };
            out.push((t, trace, decode("evals", &value)?));
        }
        Ok(out)
    }

    /// Rewrites a queued request (a failed attempt, a later `not_before`); durable.
    pub fn eval_requeue(&self, t: TenantId, trace: &TraceId, entry: &QueueEntry) -> Result<()> {
        self.check_headroom()?;
        self.evals.insert(entry_key(QUEUED, t, trace), encode(entry)?)?;
        self.db.persist(fjall::PersistMode::SyncAll)?;
        Ok(())
    }

    /// Rewrites several queued requests at once (a lease taking them); durable.
    pub fn eval_requeue_all(&self, items: &[(TenantId, TraceId, QueueEntry)]) -> Result<()> {
        self.check_headroom()?;
        let mut tx = self.db.batch();
        for (t, trace, entry) in items {
            tx.insert(&self.evals, entry_key(QUEUED, *t, trace), encode(entry)?);
        }
        tx.commit()?;
        self.db.persist(fjall::PersistMode::SyncAll)?;
        Ok(())
    }

    /// One queued request.
    pub fn eval_queued(&self, t: TenantId, trace: &TraceId) -> Result<Option<QueueEntry>> {
        match self.evals.get(entry_key(QUEUED, t, trace))? {
            Some(bytes) => Ok(Some(decode("evals", &bytes)?)),
            None => Ok(None),
        }
    }

    /// Drops queued requests (a cancelled run); durable.
    pub fn eval_dequeue(&self, items: &[(TenantId, TraceId)]) -> Result<()> {
        let mut tx = self.db.batch();
        for (t, trace) in items {
            tx.remove(&self.evals, entry_key(QUEUED, *t, trace));
        }
        tx.commit()?;
        self.db.persist(fjall::PersistMode::SyncAll)?;
        Ok(())
    }

    /// How a request's evaluation ended, if it has.
    pub fn eval_done(&self, t: TenantId, trace: &TraceId) -> Result<Option<DoneMark>> {
        match self.evals.get(entry_key(DONE, t, trace))? {
            Some(bytes) => Ok(Some(decode("evals", &bytes)?)),
            None => Ok(None),
        }
    }

    /// Every done mark, in key order.
    pub fn eval_done_marks(&self) -> Result<Vec<(TenantId, TraceId, DoneMark)>> {
        let mut out = Vec::new();
        for item in self.evals.prefix([DONE]) {
            let (key, value) = item.into_inner()?;
            let Some((t, trace)) = parse_entry_key(&key) else { continue };
            out.push((t, trace, decode("evals", &value)?));
        }
        Ok(out)
    }

    /// Forgets done marks older than `before` (Unix ns): the follower never looks that far
    /// back, so they can no longer stop a second judgement.
    pub fn prune_eval_done(&self, before: u64) -> Result<u64> {
        let mut stale = Vec::new();
        for (t, trace, mark) in self.eval_done_marks()? {
            if mark.at_unix_nano < before {
                stale.push(entry_key(DONE, t, &trace));
            }
        }
        let n = stale.len() as u64;
        for key in stale {
            self.evals.remove(key)?;
        }
        Ok(n)
    }

    /// The judge's spend on one UTC day ([`day_of`]).
    pub fn eval_spend(&self, day: u32) -> Result<Spend> {
        match self.evals.get(spend_key(day))? {
            Some(bytes) => decode("evals", &bytes),
            None => Ok(Spend::default()),
        }
    }

    /// Adds one call's spend to its day; durable. A read and a write: callers take turns
    /// (the evaluation engine holds a lock around it).
    pub fn add_eval_spend(&self, day: u32, call: Spend) -> Result<Spend> {
        let mut spend = self.eval_spend(day)?;
        spend.calls += call.calls;
        spend.input_tokens += call.input_tokens;
        spend.output_tokens += call.output_tokens;
        spend.cost_usd += call.cost_usd;
        self.evals.insert(spend_key(day), encode(&spend)?)?;
        self.db.persist(fjall::PersistMode::SyncAll)?;
        Ok(spend)
    }

    /// Stores a backfill run (new or changed); durable.
    pub fn put_eval_run(&self, t: TenantId, run: &EvalRun) -> Result<()> {
        self.check_headroom()?;
        self.evals.insert(run_key(t, &run.id), encode(run)?)?;
        self.db.persist(fjall::PersistMode::SyncAll)?;
        Ok(())
    }

    /// One backfill run of a tenant.
    pub fn eval_run(&self, t: TenantId, id: &str) -> Result<Option<EvalRun>> {
        match self.evals.get(run_key(t, id))? {
            Some(bytes) => Ok(Some(decode("evals", &bytes)?)),
            None => Ok(None),
        }
    }

    /// A tenant's backfill runs, oldest first (ids sort by creation time).
    pub fn eval_runs(&self, t: TenantId) -> Result<Vec<EvalRun>> {
        let mut prefix = vec![RUN];
        prefix.extend_from_slice(&t.0.to_be_bytes());
        let mut out = Vec::new();
        for item in self.evals.prefix(prefix) {
            out.push(decode("evals", &item.value()?)?);
        }
        Ok(out)
    }
}
