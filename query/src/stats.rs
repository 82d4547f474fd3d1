//! The stats behind `GET /api/v1/stats`: what is stored, where the disk goes, how old
//! the oldest data is, how far the search index trails the store, and what retention does.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tracehound_store::retention::{dir_bytes, RetentionStatus};
use tracehound_store::search::SearchIndex;
use tracehound_store::{Store, TenantId};
use utoipa::ToSchema;

use crate::error::QueryError;
use crate::time_range::now_unix_nanos;
use crate::timestamp::format_rfc3339;

/// What is stored: the caller's tenant's counts and holds, beside the store-wide disk use,
/// index lag and retention (which a keyed caller is not shown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Stats {
    /// Spans the tenant has stored.
    pub spans: u64,
    /// Requests (traces) the tenant has stored.
    pub requests: u64,
    /// Sessions the tenant has stored.
    pub sessions: u64,
    /// Log records the tenant has stored.
    pub logs: u64,
    /// Bytes the store occupies on disk.
    pub disk_bytes: u64,
    /// The store's data directory.
    pub data_dir: String,
    /// Where the disk goes: store parts and the index.
    #[serde(default)]
    pub disk: DiskUsage,
    /// Start of the oldest stored request, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_start: Option<String>,
    /// How far the search index trails the store (absent without an index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<IndexLag>,
    /// Retention settings and the last pass (absent before the first pass).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionView>,
    /// Holds in force.
    #[serde(default)]
    pub holds: u64,
}

/// Where the disk goes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DiskUsage {
    /// Bytes of the store: every keyspace and the journal.
    pub store_bytes: u64,
    /// Bytes of the search index directory.
    pub index_bytes: u64,
    /// Bytes per part of the store (`spans`, `logs`, ..., `journal`).
    pub parts: BTreeMap<String, u64>,
}

/// How far the search index trails the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IndexLag {
    /// Last change the store committed.
    pub store_seq: u64,
    /// Last change the index holds.
    pub index_seq: u64,
    /// Changes (write groups) the index has yet to take in.
    pub changes_behind: u64,
    /// When the index last committed, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committed_at: Option<String>,
    /// Seconds since that commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_since_commit: Option<f64>,
    /// Requests in the index.
    pub documents: u64,
}

impl IndexLag {
    /// How long the newest unindexed change has waited at most, in seconds: 0 when the
    /// index is caught up, the time since the last commit when it is behind, infinite when
    /// it is behind and has never committed.
    pub fn lag_seconds(&self) -> f64 {
        match (self.changes_behind, self.seconds_since_commit) {
            (0, _) => 0.0,
            (_, Some(secs)) => secs,
            (_, None) => f64::INFINITY,
        }
    }
}

/// How far `index` trails `store` at `now` (Unix ns): the one computation behind both
/// `/api/v1/stats` and the `/metrics` gauges.
pub fn index_lag(store: &Store, index: &SearchIndex, now: u64) -> IndexLag {
    let committed = index.committed_at();
    let store_seq = store.last_change_seq();
    let index_seq = index.committed_seq();
    IndexLag {
        store_seq,
        index_seq,
        changes_behind: store_seq.saturating_sub(index_seq),
        committed_at: committed.map(format_rfc3339),
        seconds_since_commit: committed.map(|at| now.saturating_sub(at) as f64 / 1e9),
        documents: index.num_docs(),
    }
}

/// Retention settings and the last pass.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RetentionView {
    /// Maximum age in days (absent: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_days: Option<f64>,
    /// Disk budget in bytes (absent: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_budget_bytes: Option<u64>,
    /// Seconds between passes.
    pub interval_secs: u64,
    /// When the last pass finished, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_pass_at: Option<String>,
    /// Requests the last pass deleted.
    pub last_pass_deleted: u64,
    /// Requests the last pass kept because a hold names them.
    pub last_pass_held: u64,
    /// Requests deleted since the server started.
    pub deleted_since_start: u64,
    /// The last pass's failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl From<RetentionStatus> for RetentionView {
    fn from(status: RetentionStatus) -> RetentionView {
        RetentionView {
            max_age_days: status.max_age_secs.map(|s| s as f64 / 86_400.0),
            disk_budget_bytes: status.disk_budget_bytes,
            interval_secs: status.interval_secs,
            last_pass_at: (status.last_pass_finished_unix_nano > 0)
                .then(|| format_rfc3339(status.last_pass_finished_unix_nano)),
            last_pass_deleted: status.last_pass.traces,
            last_pass_held: status.last_pass.held,
            deleted_since_start: status.deleted_traces_since_start,
            last_error: status.last_error,
        }
    }
}

/// The stats of a tenant (a blocking read): its own counts and holds, and the store-wide
/// disk use, index lag and retention.
pub fn stats(store: &Store, search: Option<&SearchIndex>, tenant: TenantId) -> Result<Stats, QueryError> {
    let counters = store.counters(tenant)?;
    let parts: BTreeMap<String, u64> = store.disk_usage().into_iter().collect();
    // The server keeps its index in `<data dir>/index`.
    let index_bytes = search.map_or(0, |_| dir_bytes(&store.path().join("index")));
    let index = search.map(|index| index_lag(store, index, now_unix_nanos()));
    Ok(Stats {
        spans: counters.spans,
        requests: counters.traces,
        sessions: counters.sessions,
        logs: counters.logs,
        disk_bytes: store.disk_bytes(),
        data_dir: store.path().display().to_string(),
        disk: DiskUsage { store_bytes: store.disk_bytes(), index_bytes, parts },
        oldest_start: store.oldest_trace_start(tenant)?.map(format_rfc3339),
        index,
        retention: store.retention_status()?.map(RetentionView::from),
        holds: store.holds(tenant)?.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lag(changes_behind: u64, seconds_since_commit: Option<f64>) -> IndexLag {
        IndexLag { changes_behind, seconds_since_commit, ..IndexLag::default() }
    }

    #[test]
    fn a_caught_up_index_has_no_lag_however_old_its_commit() {
        assert_eq!(lag(0, Some(3_600.0)).lag_seconds(), 0.0);
    }

    #[test]
    fn an_index_behind_lags_by_the_time_since_its_commit() {
        assert_eq!(lag(3, Some(2.5)).lag_seconds(), 2.5);
        assert!(lag(3, None).lag_seconds().is_infinite());
    }
}
