//! Indexing runs at a lower CPU priority than ingest.
//!
//! On two cores the tantivy threads and the writer compete for the same CPU. An
//! acknowledgement waits for the writer; a search waits only for the next index commit.
//! So when both want a core the writer should win, and indexing takes whatever is idle:
//! under a burst the index lags and catches up afterwards, instead of every exporter's
//! acknowledgement slowing down.
//!
//! Linux keeps a nice value per thread and a new thread inherits its creator's, so lowering
//! the threads that create tantivy's workers (the indexer thread, whose commits respawn
//! them, and the thread that opens the writer, which starts the merge threads) lowers all
//! of them.

/// Nice value of indexing threads: under contention a thread at 10 gets about a tenth of
/// the CPU of one at 0, and all of an otherwise idle core.
const INDEXING_NICE: i32 = 10;

/// Lowers the calling thread's CPU priority (Linux; a no-op elsewhere). Failure only
/// costs acknowledgement latency under load, so it is logged, not returned.
pub fn lower_current_thread() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid and setpriority take plain integers and touch no memory of ours.
        let result = unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, INDEXING_NICE)
        };
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
    fn a_lowered_thread_and_the_threads_it_starts_run_at_the_indexing_nice_value() {
        let nice_of_current = || {
            // SAFETY: as above; errno is not consulted because the expected value is not -1.
            unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
        };
        let (own, child) = std::thread::spawn(move || {
            super::lower_current_thread();
            let own = nice_of_current();
            let child = std::thread::spawn(nice_of_current).join().unwrap();
            (own, child)
        })
        .join()
        .unwrap();
        assert_eq!((own, child), (super::INDEXING_NICE, super::INDEXING_NICE));
    }
}
