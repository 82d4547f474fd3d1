//! The roller: keeps the per-minute aggregates of the quality series as data arrives
//! (`tracehound_query::monitor::rollup`). It follows the store's change log from a cursor of
//! its own, marks the start minute of every written trace dirty, and rolls a dirty minute up
//! once it has ended and settled. On its first run it marks every stored minute, so history
//! is rolled up too (newest first). Off the ingest path: ingest only wrote the change log it
//! already writes.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::sync::watch;
use tracehound_query::monitor::rollup::{encode_cells, roll_minute, MinuteCache, MINUTE};
use tracehound_query::time_range::now_unix_nanos;
use tracehound_query::QueryError;
use tracehound_store::{Store, TenantId};

/// How often the roller looks.
const TICK: Duration = Duration::from_secs(1);
/// How long after a minute ends before it is rolled: late spans of its requests land first.
pub const SETTLE: Duration = Duration::from_secs(30);
/// Changes read per step.
const CHANGES_PER_STEP: usize = 1_024;
/// Minutes rolled per step at most, so that following the log never waits long.
const MINUTES_PER_STEP: usize = 120;

/// Describes the roller's metrics, for `/metrics`' HELP lines.
pub fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, Unit};
    describe_gauge!(
        "tracehound_rollup_dirty_minutes",
        Unit::Count,
        "Minutes waiting to be rolled up for the quality series."
    );
    describe_counter!("tracehound_rollup_minutes_total", Unit::Count, "Minutes rolled up for the quality series.");
}

/// Runs the roller until `stop` turns true.
pub async fn run(store: Store, mut stop: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.changed() => break,
        }
        let store = store.clone();
        match tokio::task::spawn_blocking(move || step(&store, now_unix_nanos())).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("the quality series' roll-up failed a step: {e}"),
            Err(e) => tracing::warn!("the quality series' roll-up failed a step: {e}"),
        }
    }
}

/// One step: follow the change log, then roll the settled dirty minutes, newest first.
pub fn step(store: &Store, now: u64) -> Result<(), QueryError> {
    follow(store)?;
    let mut dirty = store.dirty_rollups()?;
    metrics::gauge!("tracehound_rollup_dirty_minutes").set(dirty.len() as f64);
    let settled = now.saturating_sub(SETTLE.as_nanos() as u64) / MINUTE;
    dirty.retain(|(_, minute)| *minute < settled);
    dirty.sort_by_key(|(_, minute)| std::cmp::Reverse(*minute));
    // Neighbouring minutes share their norms' reads within a step; a new step reads afresh,
    // so late requests of a minute reach its neighbours' norms.
    let mut cache = MinuteCache::default();
    for (tenant, minute) in dirty.into_iter().take(MINUTES_PER_STEP) {
        let families = roll_minute(store, tenant, minute, &mut cache)?;
        let mut rows = Vec::with_capacity(families.len());
        for (family, cells) in families {
            rows.push((family, encode_cells(&cells)?));
        }
        store.put_rollup(tenant, minute, &rows)?;
        metrics::counter!("tracehound_rollup_minutes_total").increment(1);
    }
    Ok(())
}

/// Marks the minutes of what was written since the cursor.
fn follow(store: &Store) -> Result<(), QueryError> {
    let cursor = match store.rollup_cursor()? {
        Some(cursor) => cursor,
        None => {
            // First run: everything stored so far is history to roll up.
            let seq = store.last_change_seq();
            let mut minutes = BTreeSet::new();
            for tenant in store.tenants()? {
                minutes.extend(store.minutes_with_traces(tenant)?.into_iter().map(|m| (tenant, m)));
            }
            store.mark_rollups_dirty(&minutes, seq)?;
            seq
        }
    };
    let changes = store.changes_after(cursor, CHANGES_PER_STEP)?;
    let Some(last) = changes.last().map(|c| c.seq) else { return Ok(()) };
    let mut minutes: BTreeSet<(TenantId, u64)> = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for (tenant, trace) in changes.iter().flat_map(|c| c.traces.iter()) {
        if !seen.insert((*tenant, *trace)) {
            continue;
        }
        if let Some(summary) = store.trace_summary(*tenant, trace)? {
            minutes.insert((*tenant, summary.start_unix_nano / MINUTE));
        }
    }
    store.mark_rollups_dirty(&minutes, last)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehound_store::model::Span;
    use tracehound_store::WriteBatch;

    const T0: u64 = 1_700_000_000_000_000_000;

    fn write(store: &Store, trace: u8, start: u64) {
        let span = Span {
            trace_id: [trace; 16],
            span_id: [1; 8],
            start_unix_nano: start,
            end_unix_nano: start + 1_000_000,
            ..Default::default()
        };
        store.write_group(&[WriteBatch { spans: vec![span], ..Default::default() }]).unwrap();
    }

    #[test]
    fn the_first_step_rolls_up_history_and_later_writes_mark_their_minute_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        write(&store, 1, T0);
        write(&store, 2, T0 + 5 * MINUTE);
        let later = T0 + 3_600 * 1_000_000_000;
        step(&store, later).unwrap();
        assert!(store.dirty_rollups().unwrap().is_empty());
        let first = T0 / MINUTE;
        let view = store.rollup_view(TenantId::DEFAULT, 0, first, first + 10).unwrap();
        assert_eq!(view.rows.iter().map(|(m, _)| *m).collect::<Vec<_>>(), vec![first, first + 5]);

        write(&store, 3, T0 + 5 * MINUTE + 1);
        follow(&store).unwrap();
        assert_eq!(store.dirty_rollups().unwrap(), vec![(TenantId::DEFAULT, first + 5)]);
        step(&store, later).unwrap();
        assert!(store.dirty_rollups().unwrap().is_empty());
    }

    #[test]
    fn a_minute_is_not_rolled_before_it_has_settled() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        step(&store, T0).unwrap();
        write(&store, 1, T0);
        step(&store, T0 + MINUTE).unwrap();
        assert_eq!(store.dirty_rollups().unwrap().len(), 1, "the minute ended, but has not settled");
        step(&store, T0 + MINUTE + SETTLE.as_nanos() as u64 + MINUTE).unwrap();
        assert!(store.dirty_rollups().unwrap().is_empty());
    }
}
