//! The store: fjall keyspaces, the write of one group of batches, and reads.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, KvSeparationOptions, PersistMode, Readable};

use crate::codec::{decode, encode};
use crate::error::Result;
use crate::keys::{self, TenantId};
use crate::model::{LogRecord, Score, ScoreTargetKind, Span, SpanId, TraceId, VersionDimension};
use crate::summary::{Counters, LogTexts, SessionSummary, TraceSummary, VersionStat};

/// What one export carries into the store.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    /// Tenant the data belongs to.
    pub tenant: TenantId,
    /// Normalized spans.
    pub spans: Vec<Span>,
    /// Log records.
    pub logs: Vec<LogRecord>,
    /// Scores (evaluations, feedback), stored under the id of what they judge.
    pub scores: Vec<Score>,
    /// Requests leaving the evaluation queue with these scores (`crate::evals`).
    pub evals_done: Vec<crate::evals::EvalDone>,
}

impl Default for TenantId {
    fn default() -> Self {
        TenantId::DEFAULT
    }
}

/// What a committed batch changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Spans new to the store.
    pub new_spans: u64,
    /// Spans already stored (re-sent), kept once.
    pub duplicate_spans: u64,
    /// Log records new to the store.
    pub new_logs: u64,
    /// Scores new to the store.
    pub new_scores: u64,
}

/// Everything stored about one trace.
#[derive(Debug, Clone, Default)]
pub struct TraceData {
    /// The trace's summary.
    pub summary: TraceSummary,
    /// Its spans, in start order.
    pub spans: Vec<Span>,
    /// Its log records, in time order.
    pub logs: Vec<LogRecord>,
    /// Scores judging it, its spans, request, responses or session, oldest first.
    pub scores: Vec<Score>,
}

/// The embedded store. Cheap to clone; all clones share one database.
#[derive(Clone)]
pub struct Store {
    pub(crate) db: Database,
    path: PathBuf,
    pub(crate) spans: Keyspace,
    pub(crate) logs: Keyspace,
    pub(crate) traces: Keyspace,
    pub(crate) by_time: Keyspace,
    pub(crate) by_request: Keyspace,
    pub(crate) by_session: Keyspace,
    pub(crate) by_response: Keyspace,
    pub(crate) by_version: Keyspace,
    pub(crate) sessions: Keyspace,
    pub(crate) versions: Keyspace,
    pub(crate) meta: Keyspace,
    changelog: Keyspace,
    pub(crate) scores: Keyspace,
    /// Incident holds: what retention must keep (see `holds.rs`).
    pub(crate) holds: Keyspace,
    /// The audit trail of evidence reads (see `audit.rs`).
    pub(crate) audit: Keyspace,
    pub(crate) evals: Keyspace,
    pub(crate) rollups: Keyspace,
    /// Serializes hold changes with retention's decide-and-delete steps, so a hold that
    /// was answered 201 is seen by every later deletion.
    pub(crate) hold_lock: Arc<std::sync::Mutex<()>>,
    /// Sequence number of the last write group that changed anything.
    last_seq: Arc<AtomicU64>,
    /// Free bytes below which every write is refused (see [`Store::check_headroom`]).
    disk_reserve: Arc<AtomicU64>,
}

/// Memtable size of the keyspaces holding span and log values (see `Store::open`).
const VALUE_MEMTABLE_BYTES: u64 = 32 * 1024 * 1024;

/// Free space kept in reserve unless the writer is configured otherwise.
pub const DEFAULT_DISK_RESERVE: u64 = 64 * 1024 * 1024;

pub(crate) const COUNTERS: &str = "counters";
const LAST_CHANGE_SEQ: &str = "last_change_seq";

/// Bytes per change-log entry: tenant (4) and trace id (16).
const CHANGE_BYTES: usize = 20;

/// The traces one committed write group touched, for the search indexer to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Sequence number of the write group, increasing.
    pub seq: u64,
    /// Traces whose spans or logs changed.
    pub traces: Vec<(TenantId, TraceId)>,
}

impl Store {
    /// Opens (or creates) the store in `dir`, recovering the journal after a crash.
    pub fn open(dir: &Path) -> Result<Store> {
        let db = Database::builder(dir.join("fjall")).open().map_err(|e| match e {
            fjall::Error::Locked => crate::StoreError::InUse { dir: dir.to_path_buf() },
            other => crate::StoreError::Engine(other),
        })?;
        // Span values are large: keep them out of the LSM so compaction rewrites keys only.
        // Every blob file a compaction touches may be rewritten once a quarter of it is
        // dead (the default considers only the oldest quarter of them), so the space of
        // deleted traces comes back (retention.rs).
        // Values are LZ4 already (codec.rs); compressing blobs again saves nothing, and
        // uncompressed blob files are recognised as wholly dead and dropped.
        let blob_options = KvSeparationOptions::default()
            .compression(fjall::CompressionType::None)
            .staleness_threshold(0.25)
            .age_cutoff(1.0);
        // Memtables of span and log values hold whole prompts: at fjall's default of 64 MiB,
        // an active one and the four sealed ones fjall allows while flushes catch up came to
        // over 300 MiB of the 1 GiB budget under bursts. 32 MiB halves that at the cost of
        // twice as many (smaller) flushes.
        let blobs = || {
            KeyspaceCreateOptions::default()
                .with_kv_separation(Some(blob_options.clone()))
                .max_memtable_size(VALUE_MEMTABLE_BYTES)
        };
        let plain = KeyspaceCreateOptions::default;
        let changelog = db.keyspace("changelog", plain)?;
        let last_seq = match changelog.last_key_value() {
            Some(item) => item.key()?.get(..8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_be_bytes),
            None => 0,
        };
        let meta = db.keyspace("meta", plain)?;
        // The change log is pruned once indexed, so an empty log says nothing of the last
        // sequence number; the meta keyspace remembers it.
        let remembered = match meta.get(keys::meta(TenantId::RESERVED, LAST_CHANGE_SEQ))? {
            Some(bytes) => bytes.get(..8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_be_bytes),
            None => 0,
        };
        Ok(Store {
            changelog,
            last_seq: Arc::new(AtomicU64::new(last_seq.max(remembered))),
            spans: db.keyspace("spans", blobs)?,
            logs: db.keyspace("logs", blobs)?,
            traces: db.keyspace("traces", plain)?,
            by_time: db.keyspace("by_time", plain)?,
            by_request: db.keyspace("by_request", plain)?,
            by_session: db.keyspace("by_session", plain)?,
            by_response: db.keyspace("by_response", plain)?,
            by_version: db.keyspace("by_version", plain)?,
            sessions: db.keyspace("sessions", plain)?,
            versions: db.keyspace("versions", plain)?,
            scores: db.keyspace("scores", plain)?,
            holds: db.keyspace("holds", plain)?,
            audit: db.keyspace("audit", plain)?,
            evals: db.keyspace("evals", plain)?,
            rollups: db.keyspace("rollups", plain)?,
            hold_lock: Arc::default(),
            disk_reserve: Arc::new(AtomicU64::new(DEFAULT_DISK_RESERVE)),
            meta,
            path: dir.to_path_buf(),
            db,
        })
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets the free space below which writes are refused (the writer's configuration).
    pub fn set_disk_reserve(&self, bytes: u64) {
        self.disk_reserve.store(bytes, Ordering::Relaxed);
    }

    /// Refuses, retryably, when the filesystem has less free space than the reserve.
    ///
    /// fjall treats a failed journal write as fatal and poisons the whole database, so no
    /// write may meet a full disk: not the writer's, nor the audit trail's, nor a hold's.
    /// Unknown free space is no reason to refuse.
    pub fn check_headroom(&self) -> Result<()> {
        let reserve = self.disk_reserve.load(Ordering::Relaxed);
        match fs4::available_space(&self.path) {
            Ok(free) if free < reserve => Err(crate::StoreError::DiskFull { free, reserve }),
            _ => Ok(()),
        }
    }

    /// Bytes the store occupies on disk.
    pub fn disk_bytes(&self) -> u64 {
        self.db.disk_space().unwrap_or(0)
    }

    /// Writes a group of batches atomically and makes them durable (fsync) before returning.
    ///
    /// Called by the single writer thread only: summaries are read, updated and written
    /// back here, which is only race-free with one writer.
    pub fn write_group(&self, batches: &[WriteBatch]) -> Result<Vec<WriteOutcome>> {
        let started = Instant::now();
        let mut tx = self.db.batch();
        let mut pending = Pending::default();
        let mut outcomes = Vec::with_capacity(batches.len());
        for batch in batches {
            outcomes.push(self.stage_batch(&mut tx, &mut pending, batch)?);
        }
        let seq = self.stage_change(&mut tx, &pending.touched);
        self.stage_summaries(&mut tx, pending)?;
        let staged = Instant::now();
        tx.commit()?;
        let applied = Instant::now();
        self.db.persist(PersistMode::SyncAll)?;
        let synced = Instant::now();
        self.publish_change(seq);
        record_group_timing(batches.len(), staged - started, applied - staged, synced - applied);
        Ok(outcomes)
    }

    /// Stages a change-log entry naming `touched` (none when empty); returns its sequence
    /// number, to [`Store::publish_change`] once the batch is durable.
    pub(crate) fn stage_change(
        &self,
        tx: &mut fjall::OwnedWriteBatch,
        touched: &BTreeSet<(TenantId, TraceId)>,
    ) -> Option<u64> {
        if touched.is_empty() {
            return None;
        }
        let seq = self.last_seq.load(Ordering::SeqCst) + 1;
        let mut entry = Vec::with_capacity(touched.len() * CHANGE_BYTES);
        for (tenant, trace) in touched {
            entry.extend_from_slice(&tenant.0.to_be_bytes());
            entry.extend_from_slice(trace);
        }
        tx.insert(&self.changelog, seq.to_be_bytes(), entry);
        tx.insert(&self.meta, keys::meta(TenantId::RESERVED, LAST_CHANGE_SEQ), seq.to_be_bytes());
        Some(seq)
    }

    /// Makes a committed change-log entry the last known one.
    pub(crate) fn publish_change(&self, seq: Option<u64>) {
        if let Some(seq) = seq {
            self.last_seq.store(seq, Ordering::SeqCst);
        }
    }

    /// Sequence number of the last committed change (0 before any).
    pub fn last_change_seq(&self) -> u64 {
        self.last_seq.load(Ordering::SeqCst)
    }

    /// Changes committed after `seq`, oldest first, at most `max` of them.
    pub fn changes_after(&self, seq: u64, max: usize) -> Result<Vec<Change>> {
        let mut out = Vec::new();
        let start = seq.saturating_add(1).to_be_bytes();
        // A snapshot sees only batches applied whole: plain reads see a batch key by key as
        // it is applied, so an entry could be seen before the traces it names.
        for item in self.db.snapshot().range(&self.changelog, start..) {
            if out.len() >= max {
                break;
            }
            let (key, value) = item.into_inner()?;
            let Some(seq) = key.get(..8).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes) else { continue };
            let traces = value
                .chunks_exact(CHANGE_BYTES)
                .filter_map(|c| {
                    let tenant = TenantId(u32::from_be_bytes(c.get(..4)?.try_into().ok()?));
                    Some((tenant, c.get(4..20)?.try_into().ok()?))
                })
                .collect();
            out.push(Change { seq, traces });
        }
        Ok(out)
    }

    /// Forgets changes up to and including `seq` (the indexer has made them durable).
    pub fn prune_changes_through(&self, seq: u64) -> Result<()> {
        // Pruning only saves space later; on a nearly full disk it waits.
        if self.check_headroom().is_err() {
            return Ok(());
        }
        // The evaluation follower and the roller read the log too: what they have not read stays.
        let followers = [self.eval_follower_cursor()?, self.rollup_cursor()?];
        let seq = followers.into_iter().flatten().fold(seq, u64::min);
        let end = seq.saturating_add(1).to_be_bytes();
        let keys: Vec<_> = self.changelog.range(..end).map(|item| item.key()).collect::<Result<_, _>>()?;
        for key in keys {
            self.changelog.remove(key)?;
        }
        Ok(())
    }

    /// The ids of a trace's stored spans, from their keys alone (span values are not read).
    pub fn span_ids(&self, t: TenantId, trace_id: &TraceId) -> Result<Vec<SpanId>> {
        let mut out = Vec::new();
        for item in self.spans.prefix(keys::trace_prefix(t, trace_id)) {
            let key = item.key()?;
            if let Some(span) = key.get(20..28).and_then(|b| b.try_into().ok()) {
                out.push(span);
            }
        }
        Ok(out)
    }

    /// Every stored trace of every tenant, in key order (for rebuilding the index).
    pub fn all_traces(&self) -> impl Iterator<Item = Result<(TenantId, TraceId)>> + '_ {
        self.traces.iter().map(|item| {
            let key = item.key()?;
            let tenant = key.get(..4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes);
            let trace = key.get(4..20).and_then(|b| b.try_into().ok());
            match (tenant, trace) {
                (Some(tenant), Some(trace)) => Ok((TenantId(tenant), trace)),
                _ => Err(crate::StoreError::Corrupt { keyspace: "traces", reason: "short key".into() }),
            }
        })
    }

    fn stage_batch(
        &self,
        tx: &mut fjall::OwnedWriteBatch,
        pending: &mut Pending,
        batch: &WriteBatch,
    ) -> Result<WriteOutcome> {
        let t = batch.tenant;
        let mut outcome = WriteOutcome::default();
        for span in &batch.spans {
            let key = keys::span(t, &span.trace_id, &span.span_id);
            let seen = !pending.span_keys.insert(key.clone()) || self.spans.contains_key(&key)?;
            if seen {
                outcome.duplicate_spans += 1;
                continue;
            }
            outcome.new_spans += 1;
            pending.touched.insert((t, span.trace_id));
            tx.insert(&self.spans, key, encode(span)?);
            self.stage_span_indexes(tx, pending, t, span)?;
        }
        for log in &batch.logs {
            let content = encode(log)?;
            let hash = blake3::hash(&content);
            let mut h8 = [0u8; 8];
            h8.copy_from_slice(&hash.as_bytes()[..8]);
            let key = keys::log(t, &log.trace_id, &log.span_id, log.time_unix_nano, h8);
            if !pending.log_keys.insert(key.clone()) || self.logs.contains_key(&key)? {
                continue;
            }
            outcome.new_logs += 1;
            pending.counters_mut(t).logs += 1;
            if log.trace_id != [0; 16] {
                pending.touched.insert((t, log.trace_id));
                self.fold_log_into_summary(pending, t, log)?;
            }
            if let Some(response_id) = log.llm.as_ref().and_then(|l| l.response_id.as_deref()) {
                tx.insert(&self.by_response, keys::by_response(t, response_id, &log.trace_id, &log.span_id), []);
            }
            tx.insert(&self.logs, key, content);
        }
        outcome.new_scores = self.stage_scores(tx, &mut pending.score_keys, t, &batch.scores)?;
        // A score changes what its trace's minute of the quality series holds: the roller
        // follows the change log, so a trace a score names is touched.
        for score in &batch.scores {
            let trace_hex = match score.target_kind {
                ScoreTargetKind::Trace => Some(score.target_id.as_str()),
                ScoreTargetKind::Span => score.trace_id.as_deref(),
                _ => None,
            };
            let trace: Option<TraceId> = trace_hex.and_then(|h| hex::decode(h).ok()).and_then(|b| b.try_into().ok());
            if let Some(trace) = trace {
                pending.touched.insert((t, trace));
            }
        }
        self.stage_evals_done(tx, t, &batch.evals_done)?;
        Ok(outcome)
    }

    /// A log record of a trace already summarized (in this group or before) adds its texts to
    /// the summary; one that comes first is folded in when the trace's first span arrives.
    fn fold_log_into_summary(&self, pending: &mut Pending, t: TenantId, log: &LogRecord) -> Result<()> {
        let Some(texts) = LogTexts::of(log) else { return Ok(()) };
        let key = (t, log.trace_id);
        if let Some(early) = pending.early_logs.get_mut(&key) {
            early.push(texts);
            return Ok(());
        }
        if !pending.traces.contains_key(&key) {
            let Some(bytes) = self.traces.get(keys::trace(t, &log.trace_id))? else {
                pending.early_logs.insert(key, vec![texts]);
                return Ok(());
            };
            let summary = decode::<TraceSummary>("traces", &bytes)?;
            pending.traces.insert(key, (Some(summary.start_unix_nano), summary));
        }
        if let Some((_, summary)) = pending.traces.get_mut(&key) {
            summary.add_log_texts(texts);
        }
        Ok(())
    }

    fn stage_span_indexes(
        &self,
        tx: &mut fjall::OwnedWriteBatch,
        pending: &mut Pending,
        t: TenantId,
        span: &Span,
    ) -> Result<()> {
        let trace_id = span.trace_id;
        pending.counters_mut(t).spans += 1;
        if !pending.traces.contains_key(&(t, trace_id)) {
            let existing = match self.traces.get(keys::trace(t, &trace_id))? {
                Some(bytes) => Some(decode::<TraceSummary>("traces", &bytes)?),
                None => None,
            };
            let old_start = existing.as_ref().map(|s| s.start_unix_nano);
            let summary = match existing {
                Some(summary) => summary,
                None => {
                    pending.counters_mut(t).traces += 1;
                    // Log records may have come first; they could not reach a summary then.
                    let mut summary = TraceSummary::new(trace_id);
                    for item in self.logs.prefix(keys::trace_prefix(t, &trace_id)) {
                        let (_, value) = item.into_inner()?;
                        summary.add_log(&decode::<LogRecord>("logs", &value)?);
                    }
                    for texts in pending.early_logs.remove(&(t, trace_id)).unwrap_or_default() {
                        summary.add_log_texts(texts);
                    }
                    summary
                }
            };
            pending.traces.insert((t, trace_id), (old_start, summary));
        }
        // Which of the span's version values are new to its trace: the trace summary already
        // lists every value seen, so this needs no read of the `by_version` index.
        let mut new_to_trace = vec![true; span.versions.len()];
        if let Some((_, summary)) = pending.traces.get_mut(&(t, trace_id)) {
            for ((dim, value), new) in span.versions.iter().zip(new_to_trace.iter_mut()) {
                *new = !summary.versions.get(dim).is_some_and(|seen| seen.contains(value));
            }
            summary.add_span(span);
        }
        if let Some(request_id) = &span.request_id {
            tx.insert(&self.by_request, keys::by_value(t, request_id, &trace_id), []);
        }
        if let Some(session_id) = &span.session_id {
            let member_key = keys::by_value(t, session_id, &trace_id);
            let new_member =
                !pending.session_members.contains(&member_key) && !self.by_session.contains_key(&member_key)?;
            pending.session_members.insert(member_key.clone());
            tx.insert(&self.by_session, member_key, []);
            let session = self.pending_session(pending, t, session_id)?;
            session.first_seen = session.first_seen.min(span.start_unix_nano);
            session.last_seen = session.last_seen.max(span.end_unix_nano);
            if session.user_id.is_none() {
                session.user_id = span.user_id.clone();
            }
            if new_member {
                session.request_count += 1;
            }
        }
        if let Some(response_id) = span.llm.as_ref().and_then(|l| l.response_id.as_deref()) {
            tx.insert(&self.by_response, keys::by_response(t, response_id, &trace_id, &span.span_id), []);
        }
        for ((dim, value), new_member) in span.versions.iter().zip(new_to_trace) {
            if new_member {
                tx.insert(&self.by_version, keys::by_version(t, *dim, value, &trace_id), []);
            }
            let stat = self.pending_version(pending, t, *dim, value)?;
            stat.first_seen = stat.first_seen.min(span.start_unix_nano);
            stat.last_seen = stat.last_seen.max(span.end_unix_nano);
            stat.span_count += 1;
            if new_member {
                stat.trace_count += 1;
            }
        }
        Ok(())
    }

    fn pending_session<'p>(
        &self,
        pending: &'p mut Pending,
        t: TenantId,
        session_id: &str,
    ) -> Result<&'p mut SessionSummary> {
        let key = keys::session(t, session_id);
        if !pending.sessions.contains_key(&key) {
            let summary = match self.sessions.get(&key)? {
                Some(bytes) => decode("sessions", &bytes)?,
                None => {
                    pending.counters_mut(t).sessions += 1;
                    SessionSummary { session_id: session_id.to_string(), first_seen: u64::MAX, ..Default::default() }
                }
            };
            pending.sessions.insert(key.clone(), summary);
        }
        Ok(pending.sessions.entry(key).or_default())
    }

    fn pending_version<'p>(
        &self,
        pending: &'p mut Pending,
        t: TenantId,
        dim: VersionDimension,
        value: &str,
    ) -> Result<&'p mut VersionStat> {
        let key = keys::version(t, dim, value);
        if !pending.versions.contains_key(&key) {
            let stat = match self.versions.get(&key)? {
                Some(bytes) => decode("versions", &bytes)?,
                None => VersionStat { value: value.to_string(), first_seen: u64::MAX, ..Default::default() },
            };
            pending.versions.insert(key.clone(), stat);
        }
        Ok(pending.versions.entry(key).or_default())
    }

    fn stage_summaries(&self, tx: &mut fjall::OwnedWriteBatch, pending: Pending) -> Result<()> {
        for ((t, trace_id), (old_start, summary)) in pending.traces {
            if old_start != Some(summary.start_unix_nano) {
                if let Some(old) = old_start {
                    tx.remove(&self.by_time, keys::by_time(t, old, &trace_id));
                }
                tx.insert(&self.by_time, keys::by_time(t, summary.start_unix_nano, &trace_id), []);
            }
            tx.insert(&self.traces, keys::trace(t, &trace_id), encode(&summary)?);
        }
        for (key, session) in pending.sessions {
            tx.insert(&self.sessions, key, encode(&session)?);
        }
        for (key, stat) in pending.versions {
            tx.insert(&self.versions, key, encode(&stat)?);
        }
        for (t, delta) in pending.counters {
            let mut counters = self.counters(t)?;
            counters.spans += delta.spans;
            counters.traces += delta.traces;
            counters.sessions += delta.sessions;
            counters.logs += delta.logs;
            tx.insert(&self.meta, keys::meta(t, COUNTERS), encode(&counters)?);
        }
        Ok(())
    }

    /// Store-wide counters of a tenant.
    pub fn counters(&self, t: TenantId) -> Result<Counters> {
        match self.meta.get(keys::meta(t, COUNTERS))? {
            Some(bytes) => decode("meta", &bytes),
            None => Ok(Counters::default()),
        }
    }

    /// The counters of every tenant, added up: what an operator's gauges show.
    pub fn counters_over_tenants(&self) -> Result<Counters> {
        let mut total = Counters::default();
        for item in self.meta.iter() {
            let (key, value) = item.into_inner()?;
            // `meta` keys are a tenant's four bytes, then the record's name.
            if key.get(4..) == Some(COUNTERS.as_bytes()) && key.get(..4) != Some(&TenantId::RESERVED.0.to_be_bytes()) {
                let counters: Counters = decode("meta", &value)?;
                total.spans += counters.spans;
                total.traces += counters.traces;
                total.sessions += counters.sessions;
                total.logs += counters.logs;
            }
        }
        Ok(total)
    }

    /// Every tenant that has stored anything, by id.
    pub fn tenants(&self) -> Result<Vec<TenantId>> {
        let mut out = Vec::new();
        for item in self.meta.iter() {
            let (key, _) = item.into_inner()?;
            if key.get(4..) != Some(COUNTERS.as_bytes()) {
                continue;
            }
            let Some(id) = key.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()).map(u32::from_be_bytes) else {
                continue;
            };
            if id != TenantId::RESERVED.0 {
                out.push(TenantId(id));
            }
        }
        Ok(out)
    }

    /// The summary of a trace, if any span of it is stored.
    pub fn trace_summary(&self, t: TenantId, trace_id: &TraceId) -> Result<Option<TraceSummary>> {
        match self.traces.get(keys::trace(t, trace_id))? {
            Some(bytes) => Ok(Some(decode("traces", &bytes)?)),
            None => Ok(None),
        }
    }

    /// Everything stored about a trace, or `None` when it is unknown.
    pub fn trace(&self, t: TenantId, trace_id: &TraceId) -> Result<Option<TraceData>> {
        // One snapshot for the summary, spans and logs: never half of a write group.
        let snapshot = self.db.snapshot();
        let summary: TraceSummary = match snapshot.get(&self.traces, keys::trace(t, trace_id))? {
            Some(bytes) => decode("traces", &bytes)?,
            None => return Ok(None),
        };
        let prefix = keys::trace_prefix(t, trace_id);
        let mut spans = Vec::new();
        for item in snapshot.prefix(&self.spans, &prefix) {
            let value = item.value()?;
            spans.push(decode::<Span>("spans", &value)?);
        }
        spans.sort_by_key(|s| (s.start_unix_nano, s.span_id));
        let mut logs = Vec::new();
        for item in snapshot.prefix(&self.logs, &prefix) {
            let value = item.value()?;
            logs.push(decode::<LogRecord>("logs", &value)?);
        }
        logs.sort_by_key(|l| l.time_unix_nano);
        let scores = self.trace_scores(t, &summary, &spans, &logs)?;
        Ok(Some(TraceData { summary, spans, logs, scores }))
    }

    /// Traces whose request id is `request_id`.
    pub fn traces_by_request(&self, t: TenantId, request_id: &str) -> Result<Vec<TraceSummary>> {
        let found = self.traces_in_index(&self.by_request, t, request_id)?;
        Ok(found.into_iter().filter(|s| s.request_ids.iter().any(|r| r == request_id)).collect())
    }

    /// The session summary and its traces in start order.
    pub fn session(&self, t: TenantId, session_id: &str) -> Result<Option<(SessionSummary, Vec<TraceSummary>)>> {
        let summary: SessionSummary = match self.sessions.get(keys::session(t, session_id))? {
            Some(bytes) => decode("sessions", &bytes)?,
            None => return Ok(None),
        };
        if summary.session_id != session_id {
            return Ok(None);
        }
        let mut traces = self.traces_in_index(&self.by_session, t, session_id)?;
        traces.sort_by_key(|s| s.start_unix_nano);
        Ok(Some((summary, traces)))
    }

    /// Traces holding a span (or log) with this provider response id, with the span ids.
    pub fn traces_by_response(&self, t: TenantId, response_id: &str) -> Result<Vec<(TraceId, SpanId)>> {
        let mut out = Vec::new();
        for item in self.by_response.prefix(keys::by_value_prefix(t, response_id)) {
            let key = item.key()?;
            if let (Some(trace), Some(span)) = (key.get(20..36), key.get(36..44)) {
                if let (Ok(trace), Ok(span)) = (trace.try_into(), span.try_into()) {
                    out.push((trace, span));
                }
            }
        }
        Ok(out)
    }

    fn traces_in_index(&self, index: &Keyspace, t: TenantId, value: &str) -> Result<Vec<TraceSummary>> {
        let mut out = Vec::new();
        for item in index.prefix(keys::by_value_prefix(t, value)) {
            let key = item.key()?;
            if let Some(trace_id) = keys::trace_of_by_value(&key) {
                if let Some(summary) = self.trace_summary(t, &trace_id)? {
                    out.push(summary);
                }
            }
        }
        Ok(out)
    }

    /// Traces starting in `[since, until)`, newest first, after `before` (a cursor: the
    /// start time and trace id of the last trace of the previous page), at most `limit`.
    /// Ids of the traces starting in `[since, until)`, oldest first, at most `limit`: the
    /// keys alone, for a caller that reads the summaries on threads of its own.
    pub fn trace_ids_between(&self, t: TenantId, since: u64, until: u64, limit: usize) -> Result<Vec<TraceId>> {
        let low = keys::by_time_bound(t, since);
        let high = keys::by_time_bound(t, until);
        let mut out = Vec::new();
        if low >= high {
            return Ok(out);
        }
        for item in self.by_time.range(low..high) {
            if out.len() >= limit {
                break;
            }
            if let Some((_, trace_id)) = keys::parse_by_time(&item.key()?) {
                out.push(trace_id);
            }
        }
        Ok(out)
    }

    /// The summaries of the traces starting in `[since, until)`, newest first.
    pub fn recent_traces(
        &self,
        t: TenantId,
        since: u64,
        until: u64,
        before: Option<(u64, TraceId)>,
        limit: usize,
    ) -> Result<Vec<TraceSummary>> {
        let low = keys::by_time_bound(t, since);
        let high = match before {
            Some((start, trace)) => keys::by_time(t, start, &trace),
            None => keys::by_time_bound(t, until),
        };
        let mut out = Vec::new();
        if low >= high {
            return Ok(out);
        }
        for item in self.by_time.range(low..high).rev() {
            if out.len() >= limit {
                break;
            }
            let key = item.key()?;
            if let Some((_, trace_id)) = keys::parse_by_time(&key) {
                if let Some(summary) = self.trace_summary(t, &trace_id)? {
                    out.push(summary);
                }
            }
        }
        Ok(out)
    }

    /// Every value seen of every version dimension.
    pub fn version_stats(&self, t: TenantId) -> Result<Vec<(VersionDimension, VersionStat)>> {
        let mut out = Vec::new();
        for item in self.versions.prefix(keys::tenant_prefix(t)) {
            let (key, value) = item.into_inner()?;
            let Some(dim) = key.get(4).and_then(|code| VersionDimension::ALL.into_iter().find(|d| d.code() == *code))
            else {
                continue;
            };
            out.push((dim, decode("versions", &value)?));
        }
        Ok(out)
    }

    /// Traces that carried one version value.
    pub fn traces_by_version(&self, t: TenantId, dim: VersionDimension, value: &str) -> Result<Vec<TraceId>> {
        let mut out = Vec::new();
        for item in self.by_version.prefix(keys::by_version_prefix(t, dim, value)) {
            let key = item.key()?;
            if let Some(Ok(trace)) = key.get(21..37).map(TryInto::try_into) {
                out.push(trace);
            }
        }
        Ok(out)
    }
}

/// Gives the write path's metrics their `# HELP` lines. Call once the recorder is installed.
pub fn describe_metrics() {
    metrics::describe_histogram!(
        "tracehound_write_group_seconds",
        metrics::Unit::Seconds,
        "Where a write group's time went (stage, apply, fsync): every export in it waited for all of it."
    );
}

/// Where a write group's time went, for `/metrics` and for the log when it was slow: the
/// acknowledgement of every export in the group waited for all of it.
fn record_group_timing(batches: usize, stage: Duration, apply: Duration, sync: Duration) {
    metrics::histogram!("tracehound_write_group_seconds", "step" => "stage").record(stage.as_secs_f64());
    metrics::histogram!("tracehound_write_group_seconds", "step" => "apply").record(apply.as_secs_f64());
    metrics::histogram!("tracehound_write_group_seconds", "step" => "fsync").record(sync.as_secs_f64());
    let total = stage + apply + sync;
    if total >= SLOW_GROUP {
        tracing::warn!(
            batches,
            stage_ms = stage.as_millis() as u64,
            apply_ms = apply.as_millis() as u64,
            fsync_ms = sync.as_millis() as u64,
            "slow write group: acknowledgements waited"
        );
    } else {
        tracing::trace!(batches, ?stage, ?apply, ?sync, "write group");
    }
}

/// A write group slower than this is logged: its exports were acknowledged that late.
const SLOW_GROUP: Duration = Duration::from_millis(200);

/// Read-modify-write state of one write group, flushed into the batch at the end.
#[derive(Default)]
struct Pending {
    /// Traces changed by this group, for the change log.
    touched: BTreeSet<(TenantId, TraceId)>,
    span_keys: HashSet<Vec<u8>>,
    log_keys: HashSet<Vec<u8>>,
    score_keys: HashSet<Vec<u8>>,
    session_members: HashSet<Vec<u8>>,
    /// Per trace: its start time as stored before this group (to move its time key), and
    /// the summary being updated.
    traces: HashMap<(TenantId, TraceId), (Option<u64>, TraceSummary)>,
    /// Log records of this group whose trace had no summary yet: a span later in the group
    /// may create it, before the records are readable from the keyspace.
    early_logs: HashMap<(TenantId, TraceId), Vec<LogTexts>>,
    sessions: HashMap<Vec<u8>, SessionSummary>,
    versions: HashMap<Vec<u8>, VersionStat>,
    counters: HashMap<TenantId, Counters>,
}

impl Pending {
    fn counters_mut(&mut self, t: TenantId) -> &mut Counters {
        self.counters.entry(t).or_default()
    }
}
