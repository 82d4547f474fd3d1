//! Retention: deleting whole traces by age and by a disk budget, sparing what holds keep,
//! and giving the space back to the filesystem.
//!
//! Deleting a trace removes, in one atomic fjall batch per chunk of traces: its spans and
//! logs, its summary and `by_time` key, its `by_request` / `by_session` / `by_response` /
//! `by_version` entries, the scores judging it (and those judging its request, response or
//! session ids once no other trace carries them), its session's membership (the session
//! goes with its last trace) and the counters. Version stats keep their first/last seen
//! times (they are the history of what was live); only their span and trace counts go down.
//! The deleted traces are appended to the change log like any write, so the search indexer
//! finds them gone and deletes their documents.
//!
//! Summaries are read-modify-write, so deletions run on the writer thread: the writer calls
//! [`RetentionSchedule::tick`] between groups, and a pass advances one chunk per tick so
//! exports keep being committed while it runs. Reclaiming the space (flush, then major
//! compaction, which also drops blob files whose values are all dead) runs on a thread of
//! its own afterwards: the engine compacts concurrently with writes.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fjall::{Keyspace, PersistMode};
use serde::{Deserialize, Serialize};

use crate::codec::{decode, encode};
use crate::error::{Result, StoreError};
use crate::holds::HoldSet;
use crate::keys::{self, TenantId};
use crate::model::{span_score_key, LogRecord, Span, SpanId, TraceId, VersionDimension};
use crate::scores::score_prefix;
use crate::store::{Store, COUNTERS};
use crate::summary::{Counters, SessionSummary, TraceSummary, VersionStat};

/// Traces examined per chunk: one atomic batch, between two groups of exports.
const CHUNK: usize = 256;

/// Passes [`Store::retain`] runs at most to bring the store under its budget.
const MAX_FOLLOW_UPS: usize = 8;

/// `meta` record of the last retention pass.
const STATUS: &str = "retention";

/// Nominal bytes of the index entries and summary of a trace, beyond its spans and logs.
const TRACE_OVERHEAD_BYTES: u64 = 256;

/// What retention keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Traces that started longer ago than this are deleted; `None` keeps them by age.
    pub max_age: Option<Duration>,
    /// While the store (and the index) occupy more bytes than this, the oldest traces are
    /// deleted; `None` is unlimited.
    pub disk_budget_bytes: Option<u64>,
    /// Time between passes (one also runs at start-up).
    pub interval: Duration,
    /// The search index directory, counted in the disk budget.
    pub index_dir: Option<PathBuf>,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            max_age: Some(Duration::from_secs(14 * 86_400)),
            disk_budget_bytes: None,
            interval: Duration::from_secs(3_600),
            index_dir: None,
        }
    }
}

/// What a deletion removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    /// Traces (requests).
    pub traces: u64,
    /// Spans.
    pub spans: u64,
    /// Log records.
    pub logs: u64,
    /// Sessions whose last trace went.
    pub sessions: u64,
    /// Scores.
    pub scores: u64,
    /// Traces kept because a hold names them.
    pub held: u64,
    /// Stored bytes of the deleted keys and values (before reclaiming, an estimate of what
    /// the disk gets back).
    pub bytes: u64,
}

impl Deleted {
    fn add(&mut self, other: Deleted) {
        self.traces += other.traces;
        self.spans += other.spans;
        self.logs += other.logs;
        self.sessions += other.sessions;
        self.scores += other.scores;
        self.held += other.held;
        self.bytes += other.bytes;
    }
}

/// What the last retention pass did, kept in the store for `GET /api/v1/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RetentionStatus {
    /// Configured maximum age, seconds (`None`: unlimited).
    pub max_age_secs: Option<u64>,
    /// Configured disk budget, bytes (`None`: unlimited).
    pub disk_budget_bytes: Option<u64>,
    /// Seconds between passes.
    pub interval_secs: u64,
    /// When the last pass started, Unix ns.
    pub last_pass_started_unix_nano: u64,
    /// When it finished, Unix ns (0 while it runs).
    pub last_pass_finished_unix_nano: u64,
    /// What it deleted.
    pub last_pass: Deleted,
    /// Traces deleted by every pass of this process.
    pub deleted_traces_since_start: u64,
    /// The last pass's failure, if it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// Bytes under a directory (0 when it does not exist).
pub fn dir_bytes(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| entry.metadata().ok())
        .filter(|meta| meta.is_file())
        .map(|meta| meta.len())
        .sum()
}

fn now_unix_nano() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Read-modify-write state of one deletion chunk, flushed into its batch at the end.
#[derive(Default)]
struct Staged {
    deleted: Deleted,
    touched: BTreeSet<(TenantId, TraceId)>,
    /// Sessions changed by the chunk; `None` once their last trace is gone.
    sessions: HashMap<Vec<u8>, Option<SessionSummary>>,
    versions: HashMap<Vec<u8>, VersionStat>,
    counters: HashMap<TenantId, Counters>,
    /// Score target keys to delete, once the batch knows nothing else carries them.
    score_targets: BTreeSet<(TenantId, String)>,
    /// Request and response ids whose scores go if no surviving trace carries them.
    shared_ids: Vec<(TenantId, SharedId)>,
}

enum SharedId {
    Request(String),
    Response(String),
}

/// Index values of one trace, gathered from its spans and logs.
#[derive(Default)]
struct TraceRefs {
    requests: BTreeSet<String>,
    sessions: BTreeSet<String>,
    responses: BTreeSet<(String, SpanId)>,
    versions: HashMap<(VersionDimension, String), u64>,
    span_ids: Vec<SpanId>,
}

impl Store {
    /// Deletes whole traces (ignoring holds) and makes the deletion durable. For the writer
    /// thread only, or while no writer runs: summaries are read-modify-write.
    pub fn delete_traces(&self, t: TenantId, trace_ids: &[TraceId]) -> Result<Deleted> {
        let mut tx = self.db.batch();
        let mut staged = Staged::default();
        for trace_id in trace_ids {
            if let Some(summary) = self.trace_summary(t, trace_id)? {
                self.stage_delete(&mut tx, &mut staged, t, &summary)?;
            }
        }
        self.commit_deletion(tx, staged)
    }

    fn stage_delete(
        &self,
        tx: &mut fjall::OwnedWriteBatch,
        staged: &mut Staged,
        t: TenantId,
        summary: &TraceSummary,
    ) -> Result<()> {
        let trace_id = summary.trace_id;
        let prefix = keys::trace_prefix(t, &trace_id);
        let mut refs = TraceRefs { requests: summary.request_ids.iter().cloned().collect(), ..TraceRefs::default() };
        refs.sessions.extend(summary.session_id.clone());
        let mut spans = 0u64;
        for item in self.spans.prefix(&prefix) {
            let (key, value) = item.into_inner()?;
            let span: Span = decode("spans", &value)?;
            refs.requests.extend(span.request_id.clone());
            refs.sessions.extend(span.session_id.clone());
            if let Some(response) = span.llm.as_ref().and_then(|l| l.response_id.clone()) {
                refs.responses.insert((response, span.span_id));
            }
            for (dim, value) in &span.versions {
                *refs.versions.entry((*dim, value.clone())).or_default() += 1;
            }
            refs.span_ids.push(span.span_id);
            staged.deleted.bytes += (key.len() + value.len()) as u64;
            spans += 1;
            tx.remove(&self.spans, key);
        }
        let mut logs = 0u64;
        for item in self.logs.prefix(&prefix) {
            let (key, value) = item.into_inner()?;
            let log: LogRecord = decode("logs", &value)?;
            if let Some(response) = log.llm.as_ref().and_then(|l| l.response_id.clone()) {
                refs.responses.insert((response, log.span_id));
            }
            staged.deleted.bytes += (key.len() + value.len()) as u64;
            logs += 1;
            tx.remove(&self.logs, key);
        }
        tx.remove(&self.traces, keys::trace(t, &trace_id));
        tx.remove(&self.by_time, keys::by_time(t, summary.start_unix_nano, &trace_id));
        for request in &refs.requests {
            tx.remove(&self.by_request, keys::by_value(t, request, &trace_id));
            staged.shared_ids.push((t, SharedId::Request(request.clone())));
        }
        for (response, span_id) in &refs.responses {
            tx.remove(&self.by_response, keys::by_response(t, response, &trace_id, span_id));
            staged.shared_ids.push((t, SharedId::Response(response.clone())));
        }
        for session_id in &refs.sessions {
            self.stage_session_departure(tx, staged, t, session_id, &trace_id)?;
        }
        for ((dim, value), span_count) in &refs.versions {
            tx.remove(&self.by_version, keys::by_version(t, *dim, value, &trace_id));
            let key = keys::version(t, *dim, value);
            if !staged.versions.contains_key(&key) {
                let Some(bytes) = self.versions.get(&key)? else { continue };
                staged.versions.insert(key.clone(), decode("versions", &bytes)?);
            }
            if let Some(stat) = staged.versions.get_mut(&key) {
                stat.trace_count = stat.trace_count.saturating_sub(1);
                stat.span_count = stat.span_count.saturating_sub(*span_count);
            }
        }
        let trace_hex = hex::encode(trace_id);
        for span_id in &refs.span_ids {
            staged.score_targets.insert((t, span_score_key(&trace_hex, &hex::encode(span_id))));
        }
        staged.score_targets.insert((t, trace_hex));
        let counters = staged.counters.entry(t).or_default();
        counters.traces += 1;
        counters.spans += spans;
        counters.logs += logs;
        staged.deleted.traces += 1;
        staged.deleted.spans += spans;
        staged.deleted.logs += logs;
        staged.deleted.bytes += TRACE_OVERHEAD_BYTES;
        staged.touched.insert((t, trace_id));
        Ok(())
    }

    fn stage_session_departure(
        &self,
        tx: &mut fjall::OwnedWriteBatch,
        staged: &mut Staged,
        t: TenantId,
        session_id: &str,
        trace_id: &TraceId,
    ) -> Result<()> {
        let member = keys::by_value(t, session_id, trace_id);
        if !self.by_session.contains_key(&member)? {
            return Ok(());
        }
        tx.remove(&self.by_session, member);
        let key = keys::session(t, session_id);
        if !staged.sessions.contains_key(&key) {
            let Some(bytes) = self.sessions.get(&key)? else { return Ok(()) };
            let summary: SessionSummary = decode("sessions", &bytes)?;
            if summary.session_id != session_id {
                return Ok(());
            }
            staged.sessions.insert(key.clone(), Some(summary));
        }
        if let Some(entry) = staged.sessions.get_mut(&key) {
            if let Some(session) = entry {
                session.request_count = session.request_count.saturating_sub(1);
                if session.request_count == 0 {
                    *entry = None;
                    staged.counters.entry(t).or_default().sessions += 1;
                    staged.deleted.sessions += 1;
                    staged.score_targets.insert((t, session_id.to_string()));
                }
            }
        }
        Ok(())
    }

    /// Whether an index still names a trace other than those this chunk deletes.
    fn still_carried(&self, index: &Keyspace, t: TenantId, value: &str, staged: &Staged) -> Result<bool> {
        for item in index.prefix(keys::by_value_prefix(t, value)) {
            let key = item.key()?;
            if let Some(trace) = keys::trace_of_by_value(&key) {
                if !staged.touched.contains(&(t, trace)) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    fn commit_deletion(&self, mut tx: fjall::OwnedWriteBatch, mut staged: Staged) -> Result<Deleted> {
        if staged.touched.is_empty() {
            return Ok(staged.deleted);
        }
        for (t, id) in std::mem::take(&mut staged.shared_ids) {
            let (index, value) = match &id {
                SharedId::Request(value) => (&self.by_request, value),
                SharedId::Response(value) => (&self.by_response, value),
            };
            if !self.still_carried(index, t, value, &staged)? {
                staged.score_targets.insert((t, value.clone()));
            }
        }
        for (t, target) in &staged.score_targets {
            for item in self.scores.prefix(score_prefix(*t, target)) {
                tx.remove(&self.scores, item.key()?);
                staged.deleted.scores += 1;
            }
        }
        for (key, session) in staged.sessions {
            match session {
                Some(session) => tx.insert(&self.sessions, key, encode(&session)?),
                None => tx.remove(&self.sessions, key),
            }
        }
        for (key, stat) in staged.versions {
            tx.insert(&self.versions, key, encode(&stat)?);
        }
        for (t, gone) in &staged.counters {
            let mut counters = self.counters(*t)?;
            counters.spans = counters.spans.saturating_sub(gone.spans);
            counters.traces = counters.traces.saturating_sub(gone.traces);
            counters.sessions = counters.sessions.saturating_sub(gone.sessions);
            counters.logs = counters.logs.saturating_sub(gone.logs);
            tx.insert(&self.meta, keys::meta(*t, COUNTERS), encode(&counters)?);
        }
        let seq = self.stage_change(&mut tx, &staged.touched);
        tx.commit()?;
        self.db.persist(PersistMode::SyncAll)?;
        self.publish_change(seq);
        Ok(staged.deleted)
    }

    /// Deletes up to a chunk of the oldest traces, in `by_time` order after `cursor`, that
    /// no hold keeps: those starting before `cutoff` (age), and, while `bytes_wanted` is
    /// above zero, any (budget). Returns what went and where to continue (`None`: done).
    fn retention_chunk(
        &self,
        cursor: Option<Vec<u8>>,
        cutoff: Option<u64>,
        mut bytes_wanted: Option<u64>,
    ) -> Result<(Deleted, Option<Vec<u8>>)> {
        // Holds are read and the chunk is committed under one lock, so a hold created
        // meanwhile is either seen here or created after the deletion.
        let _order = self.hold_lock.lock().map_err(|_| StoreError::WriteFailed("hold lock poisoned".into()))?;
        let mut holds: HashMap<TenantId, HoldSet> = HashMap::new();
        let mut tx = self.db.batch();
        let mut staged = Staged::default();
        let mut held = 0;
        let mut next = None;
        let mut examined = 0;
        let mut jump: Option<Option<Vec<u8>>> = None;
        let range = match &cursor {
            Some(after) => self.by_time.range((std::ops::Bound::Excluded(after.clone()), std::ops::Bound::Unbounded)),
            None => self.by_time.iter(),
        };
        for item in range {
            if examined >= CHUNK || bytes_wanted == Some(0) {
                break;
            }
            let key = item.key()?;
            let Some(t) = key.get(..4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes).map(TenantId) else {
                continue;
            };
            let Some((start, trace_id)) = keys::parse_by_time(&key) else { continue };
            examined += 1;
            next = Some(key.to_vec());
            let expired = cutoff.is_some_and(|cutoff| start < cutoff);
            if !expired && bytes_wanted.is_none() {
                // Keys are in time order within a tenant: nothing younger is expired, so
                // the next chunk starts at the next tenant.
                jump = Some(t.0.checked_add(1).map(|next| keys::by_time_bound(TenantId(next), 0)));
                break;
            }
            let Some(summary) = self.trace_summary(t, &trace_id)? else { continue };
            let tenant_holds = match holds.entry(t) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => entry.insert(HoldSet::new(&self.holds(t)?)),
            };
            if tenant_holds.keeps(&summary) {
                held += 1;
                continue;
            }
            let before = staged.deleted.bytes;
            self.stage_delete(&mut tx, &mut staged, t, &summary)?;
            if let Some(wanted) = bytes_wanted.as_mut() {
                *wanted = wanted.saturating_sub(staged.deleted.bytes - before);
            }
        }
        let next = match jump {
            Some(next_tenant) => next_tenant,
            None if examined < CHUNK || bytes_wanted == Some(0) => None,
            None => next,
        };
        let mut deleted = self.commit_deletion(tx, staged)?;
        deleted.held += held;
        Ok((deleted, next))
    }

    /// Bytes retention counts against the budget: the store's keyspaces, plus the index
    /// directory. Not the journal: it is preallocated, bounded by the engine, and deleting
    /// data does not shrink it.
    pub fn retention_bytes(&self, policy: &RetentionPolicy) -> u64 {
        let journal = self.db.journal_disk_space().unwrap_or(0);
        self.disk_bytes().saturating_sub(journal) + policy.index_dir.as_deref().map_or(0, dir_bytes)
    }

    /// Gives the space of deleted data back: writes the in-memory tables out (so the
    /// deletions reach disk), then compacts every keyspace fully, which drops dead values
    /// and blob files none of whose values are live any more.
    pub fn reclaim_space(&self) -> Result<()> {
        for keyspace in self.data_keyspaces() {
            // Both are public but hidden in fjall 3's docs; they are the engine's only way to
            // force a flush and a full compaction.
            keyspace.rotate_memtable_and_wait()?;
            // The first compaction drops deleted keys and learns which blobs they pointed
            // to; the second, knowing that, drops or rewrites the blob files that are dead.
            keyspace.major_compact()?;
            keyspace.major_compact()?;
        }
        Ok(())
    }

    fn data_keyspaces(&self) -> [&Keyspace; 11] {
        [
            &self.spans,
            &self.logs,
            &self.traces,
            &self.by_time,
            &self.by_request,
            &self.by_session,
            &self.by_response,
            &self.by_version,
            &self.sessions,
            &self.scores,
            &self.meta,
        ]
    }

    /// Bytes on disk per part of the store: each keyspace, and the journal.
    pub fn disk_usage(&self) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> =
            self.data_keyspaces().iter().map(|k| (k.name().to_string(), k.disk_space())).collect();
        out.push(("journal".to_string(), self.db.journal_disk_space().unwrap_or(0)));
        out
    }

    /// Start time of the oldest stored trace of a tenant, Unix ns.
    pub fn oldest_trace_start(&self, t: TenantId) -> Result<Option<u64>> {
        match self.by_time.prefix(keys::tenant_prefix(t)).next() {
            Some(item) => Ok(keys::parse_by_time(&item.key()?).map(|(start, _)| start)),
            None => Ok(None),
        }
    }

    /// What the last retention pass did, if one ran.
    pub fn retention_status(&self) -> Result<Option<RetentionStatus>> {
        match self.meta.get(keys::meta(TenantId::RESERVED, STATUS))? {
            Some(bytes) => Ok(Some(decode("meta", &bytes)?)),
            None => Ok(None),
        }
    }

    fn put_retention_status(&self, status: &RetentionStatus) -> Result<()> {
        self.meta.insert(keys::meta(TenantId::RESERVED, STATUS), encode(status)?)?;
        Ok(())
    }

    /// Runs one whole retention pass now, reclaiming the space before returning. For the
    /// writer thread only, or while no writer runs (tests, maintenance).
    /// Like the schedule, it follows up while a budget is still exceeded after reclaiming
    /// (deleted bytes only estimate what the disk gives back), a few passes at most.
    pub fn retain(&self, policy: &RetentionPolicy, now_unix_nano: u64) -> Result<Deleted> {
        let mut total = Deleted::default();
        for _ in 0..MAX_FOLLOW_UPS {
            let mut pass = Pass::new(policy, now_unix_nano);
            while !pass.step(self, policy)? {}
            total.add(pass.deleted);
            if pass.deleted.traces == 0 {
                break;
            }
            self.reclaim_space()?;
            if policy.disk_budget_bytes.is_none_or(|budget| self.retention_bytes(policy) <= budget) {
                break;
            }
        }
        Ok(total)
    }
}

enum Phase {
    Age { cursor: Option<Vec<u8>> },
    Budget { cursor: Option<Vec<u8>>, wanted: u64 },
}

/// One pass in progress.
struct Pass {
    phase: Phase,
    cutoff: Option<u64>,
    started_unix_nano: u64,
    deleted: Deleted,
}

impl Pass {
    fn new(policy: &RetentionPolicy, now: u64) -> Pass {
        let cutoff = policy.max_age.map(|age| now.saturating_sub(u64::try_from(age.as_nanos()).unwrap_or(u64::MAX)));
        Pass { phase: Phase::Age { cursor: None }, cutoff, started_unix_nano: now, deleted: Deleted::default() }
    }

    /// Does one chunk; `true` when the pass is complete.
    fn step(&mut self, store: &Store, policy: &RetentionPolicy) -> Result<bool> {
        match &mut self.phase {
            Phase::Age { cursor } => {
                if self.cutoff.is_some() {
                    let (deleted, next) = store.retention_chunk(cursor.take(), self.cutoff, None)?;
                    self.deleted.add(deleted);
                    if next.is_some() {
                        *cursor = next;
                        return Ok(false);
                    }
                }
                let Some(budget) = policy.disk_budget_bytes else { return Ok(true) };
                // What the age phase deleted is not reclaimed yet, so it still counts on disk.
                let wanted = store.retention_bytes(policy).saturating_sub(budget).saturating_sub(self.deleted.bytes);
                if wanted == 0 {
                    return Ok(true);
                }
                tracing::info!(wanted, budget, "over the disk budget: deleting the oldest requests");
                self.phase = Phase::Budget { cursor: None, wanted };
                Ok(false)
            }
            Phase::Budget { cursor, wanted } => {
                let (deleted, next) = store.retention_chunk(cursor.take(), None, Some(*wanted))?;
                *wanted = wanted.saturating_sub(deleted.bytes);
                self.deleted.add(deleted);
                *cursor = next;
                Ok(cursor.is_none() || *wanted == 0)
            }
        }
    }
}

/// Drives retention from the writer thread: a pass at start-up and every interval, one
/// chunk per [`RetentionSchedule::tick`], then space reclaimed on a thread of its own.
pub struct RetentionSchedule {
    policy: RetentionPolicy,
    next_due: Instant,
    pass: Option<Pass>,
    reclaim: Option<JoinHandle<Result<()>>>,
    status: RetentionStatus,
}

impl RetentionSchedule {
    /// A schedule whose first pass is due now.
    pub fn new(policy: RetentionPolicy) -> RetentionSchedule {
        let status = RetentionStatus {
            max_age_secs: policy.max_age.map(|a| a.as_secs()),
            disk_budget_bytes: policy.disk_budget_bytes,
            interval_secs: policy.interval.as_secs(),
            ..RetentionStatus::default()
        };
        RetentionSchedule { policy, next_due: Instant::now(), pass: None, reclaim: None, status }
    }

    /// How long the writer may wait for exports before the next tick is useful.
    pub fn wait(&self) -> Duration {
        if self.pass.is_some() {
            return Duration::ZERO;
        }
        let until_due = self.next_due.saturating_duration_since(Instant::now());
        if self.reclaim.is_some() {
            // Poll the reclaim thread, to follow up on a budget it could not meet.
            until_due.min(Duration::from_secs(1))
        } else {
            until_due
        }
    }

    /// Does the next bit of retention work, if any is due. Errors are logged and recorded
    /// in the status; the pass is retried at the next interval.
    pub fn tick(&mut self, store: &Store) {
        self.poll_reclaim(store);
        let now = Instant::now();
        if self.pass.is_none() {
            if now < self.next_due {
                return;
            }
            if self.reclaim.is_some() {
                // Measuring the disk while it is being compacted would over-delete.
                self.next_due = now + Duration::from_secs(1);
                return;
            }
            self.pass = Some(Pass::new(&self.policy, now_unix_nano()));
        }
        let Some(pass) = self.pass.as_mut() else { return };
        match pass.step(store, &self.policy) {
            Ok(false) => {}
            Ok(true) => {
                let deleted = pass.deleted;
                let started = pass.started_unix_nano;
                self.pass = None;
                self.next_due = now + self.policy.interval;
                self.status.last_error = None;
                self.finish(store, started, deleted);
            }
            Err(e) => {
                tracing::error!(error = %e, "retention pass failed; retrying at the next interval");
                let deleted = pass.deleted;
                let started = pass.started_unix_nano;
                self.pass = None;
                self.next_due = now + self.policy.interval;
                self.status.last_error = Some(e.to_string());
                self.finish(store, started, deleted);
            }
        }
    }

    fn finish(&mut self, store: &Store, started: u64, deleted: Deleted) {
        self.status.last_pass_started_unix_nano = started;
        self.status.last_pass_finished_unix_nano = now_unix_nano();
        self.status.last_pass = deleted;
        self.status.deleted_traces_since_start += deleted.traces;
        if let Err(e) = store.put_retention_status(&self.status) {
            tracing::warn!(error = %e, "cannot record the retention status");
        }
        if deleted.traces > 0 {
            tracing::info!(
                traces = deleted.traces,
                spans = deleted.spans,
                held = deleted.held,
                bytes = deleted.bytes,
                "retention deleted old requests; reclaiming their space"
            );
            let store = store.clone();
            let spawned =
                std::thread::Builder::new().name("tracehound-reclaim".into()).spawn(move || store.reclaim_space());
            match spawned {
                Ok(handle) => self.reclaim = Some(handle),
                Err(e) => tracing::warn!(error = %e, "cannot start reclaiming space; the engine will in time"),
            }
        }
    }

    fn poll_reclaim(&mut self, store: &Store) {
        if !self.reclaim.as_ref().is_some_and(JoinHandle::is_finished) {
            return;
        }
        let Some(handle) = self.reclaim.take() else { return };
        match handle.join() {
            Ok(Ok(())) => {
                let over = self.policy.disk_budget_bytes.is_some_and(|b| store.retention_bytes(&self.policy) > b);
                // Deleted bytes are an estimate below what the disk really gives back, so a
                // budget is approached in steps; only follow up when the last step did something.
                if over && self.status.last_pass.traces > 0 {
                    self.next_due = Instant::now();
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "reclaiming space failed; the engine will in time"),
            Err(_) => tracing::error!("reclaim thread panicked"),
        }
    }

    /// Waits for a reclaim in progress (at shutdown).
    pub fn stop(mut self) {
        if let Some(handle) = self.reclaim.take() {
            if handle.join().is_err() {
                tracing::error!("reclaim thread panicked");
            }
        }
    }
}
