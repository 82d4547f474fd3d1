//! The audit trail: who read which evidence, when. Append-only, per tenant.
//!
//! | keyspace | key                           | value        |
//! |----------|-------------------------------|--------------|
//! | `audit`  | tenant · time (ns) · sequence | `AuditEntry` |
//!
//! Like holds, entries carry no summaries or indexes, so the API writes them directly (not
//! through the writer queue). They are journaled but not fsync'd one by one: a read must not
//! wait for a disk flush, and the journal reaches the disk with the next durable write.
//! Retention leaves the trail alone.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::codec::{decode, encode};
use crate::error::Result;
use crate::keys::TenantId;
use crate::store::Store;

/// One read of evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When it was answered, Unix ns.
    pub time_unix_nano: u64,
    /// The id of the key used (never the key); `None` when the server runs without keys.
    pub key_id: Option<String>,
    /// The tenant read.
    pub tenant: u32,
    /// The HTTP method.
    pub method: String,
    /// The path and query string read.
    pub route: String,
    /// The HTTP status answered.
    pub status: u16,
}

/// Distinguishes entries of one nanosecond.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

fn audit_key(tenant: TenantId, time_unix_nano: u64, seq: u64) -> [u8; 20] {
    let mut key = [0u8; 20];
    key[..4].copy_from_slice(&tenant.0.to_be_bytes());
    key[4..12].copy_from_slice(&time_unix_nano.to_be_bytes());
    key[12..].copy_from_slice(&seq.to_be_bytes());
    key
}

impl Store {
    /// Appends an entry to its tenant's trail.
    pub fn append_audit(&self, entry: &AuditEntry) -> Result<()> {
        self.check_headroom()?;
        let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        self.audit.insert(audit_key(TenantId(entry.tenant), entry.time_unix_nano, seq), encode(entry)?)?;
        Ok(())
    }

    /// A tenant's entries at or after `since_unix_nano`, newest first, at most `limit`.
    pub fn audit_entries(&self, tenant: TenantId, since_unix_nano: u64, limit: usize) -> Result<Vec<AuditEntry>> {
        let from = audit_key(tenant, since_unix_nano, 0);
        let to = audit_key(tenant, u64::MAX, u64::MAX);
        let mut out = Vec::new();
        for item in self.audit.range(from..=to).rev().take(limit) {
            out.push(decode("audit", &item.value()?)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(tenant: u32, time: u64, route: &str) -> AuditEntry {
        AuditEntry {
            time_unix_nano: time,
            key_id: Some("key_1".into()),
            tenant,
            method: "GET".into(),
            route: route.into(),
            status: 200,
        }
    }

    #[test]
    fn entries_come_back_newest_first_from_since() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for (time, route) in [(10, "/a"), (20, "/b"), (30, "/c")] {
            store.append_audit(&entry(1, time, route)).unwrap();
        }
        let found = store.audit_entries(TenantId(1), 15, 10).unwrap();
        let routes: Vec<&str> = found.iter().map(|e| e.route.as_str()).collect();
        assert_eq!(routes, ["/c", "/b"]);
    }

    #[test]
    fn a_tenant_sees_only_its_own_entries() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.append_audit(&entry(1, 10, "/mine")).unwrap();
        store.append_audit(&entry(2, 10, "/theirs")).unwrap();
        let found = store.audit_entries(TenantId(1), 0, 10).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].route, "/mine");
    }

    #[test]
    fn entries_of_the_same_nanosecond_are_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.append_audit(&entry(1, 10, "/a")).unwrap();
        store.append_audit(&entry(1, 10, "/a")).unwrap();
        assert_eq!(store.audit_entries(TenantId(1), 0, 10).unwrap().len(), 2);
    }
}
