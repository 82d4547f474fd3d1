//! Monitoring: quality over time, and alert rules replayed over stored history.
//!
//! Both read a stretch of traffic the way triage does ([`crate::triage::requests`]): one
//! compact record per request from its trace summary, marked *suspect* when it failed
//! loudly or the silent evidence agrees, with the silent cues judged against the stretch's
//! own traffic of the same service. Then:
//! - [`series`] puts the requests into time buckets and gives one metric per bucket, split
//!   by a dimension;
//! - [`rules`] says what an alert rule is (a metric, a split, a window against a
//!   baseline, thresholds, `for` durations) and which rules hold with no configuration;
//! - [`backtest`] evaluates rules at every interval over history, as a live evaluation
//!   would have, and lists what would have fired and when it would have resolved.

pub mod backtest;
pub mod live;
pub mod metric;
pub mod quality;
pub mod rollup;
pub mod rules;
pub mod series;

use crate::error::QueryError;
use crate::triage::requests::{mark_suspects, scan_sampled, Request};
use tracehound_store::{Store, TenantId};

/// The requests starting in `[since, until)`, oldest first, each marked suspect or not by
/// the stretch's own norms; and whether there were more than triage's request cap, so that
/// a sample of them by trace id across the stretch was read.
pub fn marked_requests(
    store: &Store,
    tenant: TenantId,
    since: u64,
    until: u64,
) -> Result<(Vec<Request>, bool), QueryError> {
    let (mut requests, truncated) = scan_sampled(store, tenant, since, until)?;
    mark_suspects(&mut requests);
    Ok((requests, truncated))
}
