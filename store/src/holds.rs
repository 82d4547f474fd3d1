//! Holds: what retention must keep, whatever its age or the disk budget. An incident's
//! evidence (a request, a session, a time window) is pinned with a reason and released
//! when the postmortem is done.
//!
//! | keyspace | key            | value  |
//! |----------|----------------|--------|
//! | `holds`  | tenant · id    | `Hold` |
//!
//! Holds carry no summaries or indexes, so they are written directly to their keyspace
//! (not through the writer queue): the API can pin evidence even while the queue is full.
//! `Store::hold_lock` orders each hold change against retention's decide-and-delete step,
//! so once a hold is answered, no later deletion misses it.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::codec::{decode, encode};
use crate::error::{Result, StoreError};
use crate::keys::TenantId;
use crate::store::Store;
use crate::summary::TraceSummary;

/// What a hold keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HoldTarget {
    /// Every trace carrying this request id (or whose trace id, in hex, it is).
    Request {
        /// The request id, exact.
        value: String,
    },
    /// Every trace of this session.
    Session {
        /// The session id, exact.
        value: String,
    },
    /// Every trace whose run overlaps `[since, until]`.
    Window {
        /// Window start, Unix ns.
        since_unix_nano: u64,
        /// Window end, Unix ns.
        until_unix_nano: u64,
    },
}

/// One hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// Its id, given by the store; sorts by creation time.
    pub id: String,
    /// What it keeps.
    #[serde(flatten)]
    pub target: HoldTarget,
    /// Why (an incident number, a ticket).
    pub reason: String,
    /// When it was created, Unix ns.
    pub created_at_unix_nano: u64,
}

/// A tenant's holds, ready to test traces against.
#[derive(Debug, Clone, Default)]
pub struct HoldSet {
    requests: HashSet<String>,
    sessions: HashSet<String>,
    windows: Vec<(u64, u64)>,
}

impl HoldSet {
    /// Compiles a list of holds.
    pub fn new(holds: &[Hold]) -> HoldSet {
        let mut set = HoldSet::default();
        for hold in holds {
            match &hold.target {
                HoldTarget::Request { value } => {
                    set.requests.insert(value.clone());
                }
                HoldTarget::Session { value } => {
                    set.sessions.insert(value.clone());
                }
                HoldTarget::Window { since_unix_nano, until_unix_nano } => {
                    set.windows.push((*since_unix_nano, *until_unix_nano));
                }
            }
        }
        set
    }

    /// Whether any hold keeps this trace.
    pub fn keeps(&self, summary: &TraceSummary) -> bool {
        let by_request = || {
            summary.request_ids.iter().any(|r| self.requests.contains(r))
                || (!self.requests.is_empty() && self.requests.contains(&hex::encode(summary.trace_id)))
        };
        let by_session = || summary.session_id.as_ref().is_some_and(|s| self.sessions.contains(s));
        let by_window = || {
            let end = summary.end_unix_nano.max(summary.start_unix_nano);
            self.windows.iter().any(|(since, until)| summary.start_unix_nano <= *until && end >= *since)
        };
        by_request() || by_session() || by_window()
    }
}

fn hold_key(t: TenantId, id: &str) -> Vec<u8> {
    let mut key = t.0.to_be_bytes().to_vec();
    key.extend_from_slice(id.as_bytes());
    key
}

/// Process-wide counter so two holds created in the same nanosecond still differ.
static HOLD_COUNTER: AtomicU64 = AtomicU64::new(0);

fn new_hold_id(now_unix_nano: u64) -> String {
    let n = HOLD_COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut seed = Vec::with_capacity(20);
    seed.extend_from_slice(&now_unix_nano.to_be_bytes());
    seed.extend_from_slice(&n.to_be_bytes());
    seed.extend_from_slice(&std::process::id().to_be_bytes());
    let salt = blake3::hash(&seed);
    // Time first so that listing in key order lists oldest first.
    format!("hold_{now_unix_nano:016x}{}", hex::encode(&salt.as_bytes()[..3]))
}

impl Store {
    /// Creates a hold and makes it durable before returning it.
    pub fn add_hold(&self, t: TenantId, target: HoldTarget, reason: &str, now_unix_nano: u64) -> Result<Hold> {
        let hold = Hold {
            id: new_hold_id(now_unix_nano),
            target,
            reason: reason.to_string(),
            created_at_unix_nano: now_unix_nano,
        };
        let _order = self.hold_lock.lock().map_err(|_| StoreError::WriteFailed("hold lock poisoned".into()))?;
        self.check_headroom()?;
        self.holds.insert(hold_key(t, &hold.id), encode(&hold)?)?;
        self.db.persist(fjall::PersistMode::SyncAll)?;
        Ok(hold)
    }

    /// A tenant's holds, oldest first.
    pub fn holds(&self, t: TenantId) -> Result<Vec<Hold>> {
        let mut out = Vec::new();
        for item in self.holds.prefix(t.0.to_be_bytes()) {
            out.push(decode("holds", &item.value()?)?);
        }
        Ok(out)
    }

    /// One hold, by id.
    pub fn hold(&self, t: TenantId, id: &str) -> Result<Option<Hold>> {
        match self.holds.get(hold_key(t, id))? {
            Some(bytes) => Ok(Some(decode("holds", &bytes)?)),
            None => Ok(None),
        }
    }

    /// Releases a hold; `false` when there was none with this id.
    pub fn remove_hold(&self, t: TenantId, id: &str) -> Result<bool> {
        let _order = self.hold_lock.lock().map_err(|_| StoreError::WriteFailed("hold lock poisoned".into()))?;
        let key = hold_key(t, id);
        if !self.holds.contains_key(&key)? {
            return Ok(false);
        }
        self.check_headroom()?;
        self.holds.remove(key)?;
        self.db.persist(fjall::PersistMode::SyncAll)?;
        Ok(true)
    }

    /// Holds of every tenant.
    pub fn hold_count(&self) -> Result<u64> {
        let mut n = 0;
        for item in self.holds.iter() {
            item.key()?;
            n += 1;
        }
        Ok(n)
    }
}
