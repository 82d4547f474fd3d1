//! The indexer thread: follows the store's change log, rewrites the documents of the
//! requests that changed, and commits on an interval. The commit payload remembers the
//! last change included, so after a crash the indexer resumes from there; when the log no
//! longer reaches back that far (the index was deleted or is older than the log), it
//! rebuilds from the store.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::search::index::SearchIndex;
use crate::search::request::SearchError;
use crate::store::Store;

/// Changes read from the log per step.
const CHANGES_PER_STEP: usize = 256;

/// Tuning of the indexer.
#[derive(Debug, Clone, Copy)]
pub struct IndexerConfig {
    /// Time between commits.
    pub commit_interval: Duration,
}

impl Default for IndexerConfig {
    fn default() -> Self {
        IndexerConfig { commit_interval: Duration::from_secs(1) }
    }
}

/// The running indexer.
pub struct Indexer {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl Indexer {
    /// Catches up with the store, then keeps following it on a thread of its own.
    pub fn start(store: Store, index: SearchIndex, config: IndexerConfig) -> std::io::Result<Indexer> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let handle = std::thread::Builder::new().name("tracehound-indexer".into()).spawn(move || {
            crate::search::priority::lower_current_thread();
            loop {
                let stopping = thread_stop.load(Ordering::SeqCst);
                if let Err(e) = catch_up(&store, &index) {
                    tracing::error!(error = %e, "indexing failed; retrying at the next interval");
                }
                if stopping {
                    break;
                }
                std::thread::park_timeout(config.commit_interval);
            }
            tracing::info!("indexer committed and stopped");
        })?;
        Ok(Indexer { stop, handle })
    }

    /// Indexes what is left, commits, and stops.
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.thread().unpark();
        if self.handle.join().is_err() {
            tracing::error!("indexer thread panicked");
        }
    }
}

fn now_unix_nano() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// Brings the index up to the store's last change and commits. Returns requests indexed.
pub fn catch_up(store: &Store, index: &SearchIndex) -> Result<usize, SearchError> {
    let store_err = |e: crate::StoreError| SearchError::Index(e.to_string());
    let mut seq = index.committed_seq();
    // Read before the log: a change published after this read is in the log by then, so
    // an empty log with a newer published change really is a gap, not a race.
    let published = store.last_change_seq();
    let first = store.changes_after(seq, 1).map_err(store_err)?.first().map(|c| c.seq);
    let gap = match first {
        Some(first) => first > seq + 1,
        None => published > seq,
    };
    if gap {
        tracing::warn!(index_seq = seq, "the index is behind what the change log remembers; rebuilding it");
        return rebuild(store, index, |_| {});
    }
    let mut indexed = 0;
    loop {
        let changes = store.changes_after(seq, CHANGES_PER_STEP).map_err(store_err)?;
        let Some(last) = changes.last().map(|c| c.seq) else { break };
        let traces: BTreeSet<_> = changes.into_iter().flat_map(|c| c.traces).collect();
        for (tenant, trace_id) in &traces {
            let data = store.trace(*tenant, trace_id).map_err(store_err)?;
            index.upsert(*tenant, trace_id, data.as_ref())?;
        }
        indexed += traces.len();
        seq = last;
    }
    if seq > index.committed_seq() {
        index.commit(seq, now_unix_nano())?;
        store.prune_changes_through(seq).map_err(store_err)?;
    }
    Ok(indexed)
}

/// Rebuilds the index from every request in the store, calling `progress` with the count
/// done so far. Changes committed while it runs are picked up by the next catch-up.
pub fn rebuild(store: &Store, index: &SearchIndex, mut progress: impl FnMut(u64)) -> Result<usize, SearchError> {
    let store_err = |e: crate::StoreError| SearchError::Index(e.to_string());
    let target = store.last_change_seq();
    index.clear()?;
    let mut done = 0u64;
    for entry in store.all_traces() {
        let (tenant, trace_id) = entry.map_err(store_err)?;
        let data = store.trace(tenant, &trace_id).map_err(store_err)?;
        index.upsert(tenant, &trace_id, data.as_ref())?;
        done += 1;
        progress(done);
    }
    index.commit(target, now_unix_nano())?;
    store.prune_changes_through(target).map_err(store_err)?;
    Ok(done as usize)
}
