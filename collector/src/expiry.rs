//! Refusing, in `partial_success`, what retention would delete at its next pass.
//!
//! Retention deletes whole traces that started longer ago than the maximum age, unless a
//! hold keeps them. A backfill of last month used to be acknowledged and then vanish at the
//! next pass (at the latest at the next start-up), which no sender can tell from success.
//! Refusing it up front, with the reason, is the only answer that loses nothing silently.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracehound_store::holds::HoldSet;
use tracehound_store::model::{LogRecord, Span, TraceId};
use tracehound_store::summary::TraceSummary;
use tracehound_store::{Store, StoreError, TenantId};

/// When an item ran and what it belongs to: what retention and holds judge it by.
#[derive(Debug, Clone, Copy)]
pub struct Lifetime<'a> {
    /// Its trace.
    pub trace_id: TraceId,
    /// Start, Unix ns.
    pub start_unix_nano: u64,
    /// End, Unix ns.
    pub end_unix_nano: u64,
    /// Its request id, if it carries one.
    pub request_id: Option<&'a str>,
    /// Its session id, if it carries one.
    pub session_id: Option<&'a str>,
}

/// An item retention judges by its lifetime.
pub trait Expires {
    /// Its lifetime.
    fn lifetime(&self) -> Lifetime<'_>;
}

impl Expires for Span {
    fn lifetime(&self) -> Lifetime<'_> {
        Lifetime {
            trace_id: self.trace_id,
            start_unix_nano: self.start_unix_nano,
            end_unix_nano: self.end_unix_nano,
            request_id: self.request_id.as_deref(),
            session_id: self.session_id.as_deref(),
        }
    }
}

impl Expires for LogRecord {
    fn lifetime(&self) -> Lifetime<'_> {
        Lifetime {
            trace_id: self.trace_id,
            start_unix_nano: self.time_unix_nano,
            end_unix_nano: self.time_unix_nano,
            request_id: None,
            session_id: None,
        }
    }
}

/// The retention rule ingest applies: the store's maximum age, and the holds that override it.
#[derive(Clone)]
pub struct Expiry {
    max_age: Duration,
    store: Store,
}

/// What was refused for its age.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expired {
    /// Items refused.
    pub count: u64,
    /// How long ago the oldest of them started.
    pub oldest_age: Duration,
    /// The retention they were judged by.
    pub max_age: Duration,
}

impl Expiry {
    /// Refuses what started longer than `max_age` ago and no hold of `store` keeps.
    pub fn new(max_age: Duration, store: Store) -> Self {
        Expiry { max_age, store }
    }

    /// Removes from `items` those retention would delete, and says how many went.
    ///
    /// A trace is kept whole when a hold keeps it: by a request or session id carried by
    /// any of its items here or by what is stored of it, or by a window it overlaps.
    pub fn split_off<T: Expires>(&self, tenant: TenantId, items: &mut Vec<T>) -> Result<Expired, StoreError> {
        let now =
            u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos())).unwrap_or(u64::MAX);
        let cutoff = now.saturating_sub(u64::try_from(self.max_age.as_nanos()).unwrap_or(u64::MAX));
        // The common case reads nothing: every item is recent.
        if items.iter().all(|item| item.lifetime().start_unix_nano >= cutoff) {
            return Ok(Expired::default());
        }
        let holds = HoldSet::new(&self.store.holds(tenant)?);
        // Per trace with an old item: what a hold could recognise it by.
        let mut traces: BTreeMap<TraceId, TraceSummary> = BTreeMap::new();
        for item in items.iter() {
            let life = item.lifetime();
            if life.start_unix_nano < cutoff {
                traces.entry(life.trace_id).or_insert_with(|| TraceSummary::new(life.trace_id));
            }
        }
        for (trace_id, summary) in traces.iter_mut() {
            if let Some(stored) = self.store.trace_summary(tenant, trace_id)? {
                *summary = stored;
            }
        }
        for item in items.iter() {
            let life = item.lifetime();
            if let Some(summary) = traces.get_mut(&life.trace_id) {
                summary.start_unix_nano = summary.start_unix_nano.min(life.start_unix_nano);
                summary.end_unix_nano = summary.end_unix_nano.max(life.end_unix_nano);
                if let Some(request) = life.request_id {
                    if !summary.request_ids.iter().any(|r| r == request) {
                        summary.request_ids.push(request.to_string());
                    }
                }
                if summary.session_id.is_none() {
                    summary.session_id = life.session_id.map(str::to_string);
                }
            }
        }
        let (mut count, mut oldest) = (0, u64::MAX);
        items.retain(|item| {
            let life = item.lifetime();
            let dies = life.start_unix_nano < cutoff && traces.get(&life.trace_id).is_some_and(|s| !holds.keeps(s));
            if dies {
                count += 1;
                oldest = oldest.min(life.start_unix_nano);
            }
            !dies
        });
        if count == 0 {
            return Ok(Expired::default());
        }
        Ok(Expired { count, oldest_age: Duration::from_nanos(now.saturating_sub(oldest)), max_age: self.max_age })
    }
}
