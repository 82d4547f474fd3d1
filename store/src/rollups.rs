//! Per-minute aggregates of the quality series, as opaque rows the query side encodes, and
//! the minutes waiting to be rolled up.
//!
//! | keyspace  | key                                    | value                      |
//! |-----------|----------------------------------------|----------------------------|
//! | `rollups` | `r` · tenant · family · minute         | the minute's cells (query) |
//! | `rollups` | `d` · tenant · minute                  | (empty): to be rolled up   |
//!
//! `family` is a split family's one-byte code and `minute` the minutes since the epoch,
//! big-endian, so one family's minutes over a window are one range read. A roller follows the
//! change log from a cursor of its own (kept in `meta`; the log is not pruned past it), marks
//! the start minute of each written trace dirty, and replaces a dirty minute's rows and clears
//! its mark in one batch.

use std::collections::BTreeSet;

use fjall::Readable;

use crate::error::Result;
use crate::keys::{self, TenantId};
use crate::store::Store;

const ROW: u8 = b'r';
const DIRTY: u8 = b'd';
/// The `meta` name of the roller's change-log cursor.
pub(crate) const ROLLUP_CURSOR: &str = "rollups_follower_seq";
const MINUTE_NANOS: u64 = 60 * 1_000_000_000;

/// One family's rows over a stretch of minutes and the tenant's dirty minutes, as of one
/// moment ([`Store::rollup_view`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupView {
    /// `(minute, encoded cells)`, oldest first.
    pub rows: Vec<(u64, Vec<u8>)>,
    /// The tenant's minutes waiting to be rolled up (again).
    pub dirty: Vec<u64>,
}

fn row_key(t: TenantId, family: u8, minute: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(14);
    key.push(ROW);
    key.extend_from_slice(&t.0.to_be_bytes());
    key.push(family);
    key.extend_from_slice(&minute.to_be_bytes());
    key
}

fn dirty_key(t: TenantId, minute: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(13);
    key.push(DIRTY);
    key.extend_from_slice(&t.0.to_be_bytes());
    key.extend_from_slice(&minute.to_be_bytes());
    key
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    bytes.get(at..at + 8).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes)
}

impl Store {
    /// The roller's change-log cursor; `None` before the roller first ran.
    pub fn rollup_cursor(&self) -> Result<Option<u64>> {
        let bytes = self.meta.get(keys::meta(TenantId::RESERVED, ROLLUP_CURSOR))?;
        Ok(bytes.and_then(|b| u64_at(&b, 0)))
    }

    /// Marks minutes to be rolled up and moves the roller's cursor, in one durable batch.
    pub fn mark_rollups_dirty(&self, minutes: &BTreeSet<(TenantId, u64)>, cursor: u64) -> Result<()> {
        self.check_headroom()?;
        let mut tx = self.db.batch();
        for (t, minute) in minutes {
            tx.insert(&self.rollups, dirty_key(*t, *minute), []);
        }
        tx.insert(&self.meta, keys::meta(TenantId::RESERVED, ROLLUP_CURSOR), cursor.to_be_bytes());
        tx.commit()?;
        self.db.persist(fjall::PersistMode::SyncAll)?;
        Ok(())
    }

    /// Every minute marked to be rolled up.
    pub fn dirty_rollups(&self) -> Result<Vec<(TenantId, u64)>> {
        let mut out = Vec::new();
        for item in self.rollups.prefix([DIRTY]) {
            let key = item.key()?;
            let tenant = key.get(1..5).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes);
            if let (Some(tenant), Some(minute)) = (tenant, u64_at(&key, 5)) {
                out.push((TenantId(tenant), minute));
            }
        }
        Ok(out)
    }

    /// Replaces a minute's rows (one per family) and clears its dirty mark, in one batch.
    /// Not fsync'd: a crash loses at most rows the roller rolls again from its dirty marks.
    pub fn put_rollup(&self, t: TenantId, minute: u64, rows: &[(u8, Vec<u8>)]) -> Result<()> {
        self.check_headroom()?;
        let mut tx = self.db.batch();
        for (family, bytes) in rows {
            tx.insert(&self.rollups, row_key(t, *family, minute), bytes.clone());
        }
        tx.remove(&self.rollups, dirty_key(t, minute));
        tx.commit()?;
        Ok(())
    }

    /// One family's rows of minutes `first..=last` and the tenant's dirty minutes, read
    /// through one snapshot: a minute the roller rolls meanwhile is seen either dirty or
    /// with its new row, never as neither (a batch is applied key by key).
    pub fn rollup_view(&self, t: TenantId, family: u8, first: u64, last: u64) -> Result<RollupView> {
        let snapshot = self.db.snapshot();
        let mut dirty_prefix = vec![DIRTY];
        dirty_prefix.extend_from_slice(&t.0.to_be_bytes());
        let mut dirty = Vec::new();
        for item in snapshot.prefix(&self.rollups, &dirty_prefix) {
            let key = item.key()?;
            if let Some(minute) = u64_at(&key, 5) {
                dirty.push(minute);
            }
        }
        let mut rows = Vec::new();
        for item in snapshot.range(&self.rollups, row_key(t, family, first)..=row_key(t, family, last)) {
            let (key, value) = item.into_inner()?;
            if let Some(minute) = u64_at(&key, 6) {
                rows.push((minute, value.to_vec()));
            }
        }
        Ok(RollupView { rows, dirty })
    }

    /// The minutes of a tenant holding the start of a stored trace (a roller's first run
    /// marks them all, so history gets rolled up too).
    pub fn minutes_with_traces(&self, t: TenantId) -> Result<BTreeSet<u64>> {
        let mut out = BTreeSet::new();
        for item in self.by_time.prefix(t.0.to_be_bytes()) {
            let key = item.key()?;
            if let Some(start) = u64_at(&key, 4) {
                out.insert(start / MINUTE_NANOS);
            }
        }
        Ok(out)
    }
}
