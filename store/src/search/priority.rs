//! Indexing runs at a lower CPU priority than ingest.
//!
//! On two cores the tantivy threads and the writer compete for the same CPU. An
//! acknowledgement waits for the writer; a search waits only for the next index commit.
//! So when both want a core the writer should win, and indexing takes whatever is idle:
//! under a burst the index lags and catches up afterwards, instead of every exporter's
//! acknowledgement slowing down.
//!
//! Linux keeps a scheduling policy per thread and a new thread inherits its creator's, so lowering
//! the threads that create tantivy's workers (the indexer thread, whose commits respawn
//! them, and the thread that opens the writer, which starts the merge threads) lowers all
//! of them.

/// Lowers the calling thread to `SCHED_IDLE` (Linux; a no-op elsewhere): it runs only on a
/// core nothing else wants, and any ingest thread that wakes up preempts it at once. A
/// nice value was tried first; at nice 10 the acknowledgement p99 still carried the wait
/// for a running indexing thread's time slice. Failure only costs acknowledgement latency
/// under load, so it is logged, not returned.
pub fn lower_current_thread() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` outlives the call; pid 0 is the calling thread.
        let result = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
        if result != 0 {
            tracing::warn!(
                error = %std::io::Error::last_os_error(),
                "cannot lower the indexing threads' priority; ingest and indexing share the CPU equally"
            );
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn a_lowered_thread_and_the_threads_it_starts_run_only_on_idle_cores() {
        // SAFETY: pid 0 is the calling thread.
        let policy = || unsafe { libc::sched_getscheduler(0) };
        let (own, child) = std::thread::spawn(move || {
            super::lower_current_thread();
            (policy(), std::thread::spawn(policy).join().unwrap())
        })
        .join()
        .unwrap();
        assert_eq!((own, child), (libc::SCHED_IDLE, libc::SCHED_IDLE));
        assert_ne!(policy(), libc::SCHED_IDLE, "the caller's own thread is left alone");
    }
}
