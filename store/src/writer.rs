//! The single writer: a bounded queue in front of one thread that commits groups.
//!
//! Receivers submit batches and wait for the answer; the thread takes every batch queued
//! since its last commit, writes them as one atomic fjall batch and fsyncs once, so
//! concurrent exporters share the cost of durability. A full queue is refused at once
//! (the caller answers "retry later") instead of buffering without bound.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::oneshot;

use crate::error::{Result, StoreError};
use crate::retention::{RetentionPolicy, RetentionSchedule};
use crate::store::{Store, WriteBatch, WriteOutcome};

/// Tuning of the writer.
#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    /// Batches waiting at most; more are refused with [`StoreError::QueueFull`].
    pub queue_capacity: usize,
    /// Batches committed together at most.
    pub max_group: usize,
    /// Writes are refused (retryably) while the data directory's filesystem has less free
    /// space than this. The storage engine treats a failed journal write as fatal, so the
    /// writer must never let it run out of space.
    pub min_free_disk_bytes: u64,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig { queue_capacity: 256, max_group: 128, min_free_disk_bytes: crate::store::DEFAULT_DISK_RESERVE }
    }
}

struct Job {
    batch: WriteBatch,
    reply: oneshot::Sender<Result<WriteOutcome>>,
}

/// Counters the writer keeps for self-metrics.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Batches waiting in the queue.
    pub queued: AtomicUsize,
    /// Groups committed.
    pub commits: AtomicU64,
    /// Batches committed.
    pub batches: AtomicU64,
    /// Commit failures.
    pub failures: AtomicU64,
    /// Total commit time, microseconds.
    pub commit_micros: AtomicU64,
}

/// Handle to the writer thread. Dropping every handle stops the thread after it drains.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::SyncSender<Job>,
    stats: Arc<WriterStats>,
}

/// Owns the writer thread; `join` waits until everything queued is committed.
pub struct WriterThread {
    handle: JoinHandle<()>,
}

impl WriterThread {
    /// Waits for the thread to drain the queue and stop (all `Writer` handles dropped).
    pub fn join(self) {
        if self.handle.join().is_err() {
            tracing::error!("writer thread panicked");
        }
    }
}

impl Writer {
    /// Starts the writer thread over `store`.
    pub fn start(store: Store, config: WriterConfig) -> std::io::Result<(Writer, WriterThread)> {
        Writer::start_with_retention(store, config, None)
    }

    /// Starts the writer thread, which also runs retention passes between groups (see
    /// `retention.rs`: deletions rewrite summaries, so only this thread may make them).
    pub fn start_with_retention(
        store: Store,
        config: WriterConfig,
        retention: Option<RetentionPolicy>,
    ) -> std::io::Result<(Writer, WriterThread)> {
        // The store checks the reserve before every write, the writer's and the others'.
        store.set_disk_reserve(config.min_free_disk_bytes);
        let schedule = retention.map(RetentionSchedule::new);
        let (tx, rx) = mpsc::sync_channel::<Job>(config.queue_capacity.max(1));
        let stats = Arc::new(WriterStats::default());
        let thread_stats = stats.clone();
        let handle = std::thread::Builder::new()
            .name("tracehound-writer".into())
            .spawn(move || run(store, rx, config, thread_stats, schedule))?;
        Ok((Writer { tx, stats }, WriterThread { handle }))
    }

    /// Queues a batch; the receiver answers once it is durable. Refuses when full.
    pub fn submit(&self, batch: WriteBatch) -> Result<oneshot::Receiver<Result<WriteOutcome>>> {
        let (reply, answer) = oneshot::channel();
        match self.tx.try_send(Job { batch, reply }) {
            Ok(()) => {
                self.stats.queued.fetch_add(1, Ordering::Relaxed);
                Ok(answer)
            }
            Err(mpsc::TrySendError::Full(_)) => Err(StoreError::QueueFull),
            Err(mpsc::TrySendError::Disconnected(_)) => Err(StoreError::WriterStopped),
        }
    }

    /// Queues a batch and waits until it is durable.
    pub async fn write(&self, batch: WriteBatch) -> Result<WriteOutcome> {
        let answer = self.submit(batch)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }

    /// The writer's counters.
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }
}

/// The next job, running retention work while none arrives; `None` once every handle is gone.
fn next_job(store: &Store, rx: &mpsc::Receiver<Job>, retention: &mut Option<RetentionSchedule>) -> Option<Job> {
    let Some(schedule) = retention.as_mut() else { return rx.recv().ok() };
    loop {
        match rx.recv_timeout(schedule.wait()) {
            Ok(job) => return Some(job),
            Err(mpsc::RecvTimeoutError::Timeout) => schedule.tick(store),
            Err(mpsc::RecvTimeoutError::Disconnected) => return None,
        }
    }
}

fn run(
    store: Store,
    rx: mpsc::Receiver<Job>,
    config: WriterConfig,
    stats: Arc<WriterStats>,
    mut retention: Option<RetentionSchedule>,
) {
    let max_group = config.max_group.max(1);
    while let Some(first) = next_job(&store, &rx, &mut retention) {
        let mut jobs = vec![first];
        while jobs.len() < max_group {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        stats.queued.fetch_sub(jobs.len(), Ordering::Relaxed);
        let (batches, replies): (Vec<_>, Vec<_>) = jobs.into_iter().map(|j| (j.batch, j.reply)).unzip();
        let started = Instant::now();
        match store.check_headroom().and_then(|()| store.write_group(&batches)) {
            Ok(outcomes) => {
                stats.commits.fetch_add(1, Ordering::Relaxed);
                stats.batches.fetch_add(batches.len() as u64, Ordering::Relaxed);
                stats.commit_micros.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    // A caller that gave up waiting is no reason to stop.
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(StoreError::DiskFull { free, reserve }) => {
                stats.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(free, reserve, "disk nearly full: refusing writes until space returns");
                for reply in replies {
                    let _ = reply.send(Err(StoreError::DiskFull { free, reserve }));
                }
            }
            Err(err) => {
                stats.failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %err, batches = batches.len(), "write group failed; nothing of it acknowledged");
                let message = err.to_string();
                for reply in replies {
                    let _ = reply.send(Err(StoreError::WriteFailed(message.clone())));
                }
            }
        }
        // Under steady load the queue never times out; retention must still advance.
        if let Some(schedule) = retention.as_mut() {
            schedule.tick(&store);
        }
    }
    if let Some(schedule) = retention {
        schedule.stop();
    }
    tracing::info!("writer drained and stopped");
}
