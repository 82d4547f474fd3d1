//! Indexing runs at a lower CPU priority than ingest, but is never starved.
//!
//! On two cores the tantivy threads and the writer compete for the same CPU. An
//! acknowledgement waits for the writer; a search waits only for the next index commit.
//! So when both want a core the writer should win, and indexing should yield: under a
//! burst the index lags and catches up afterwards, instead of every exporter's
//! acknowledgement slowing down.
//!
//! `SCHED_IDLE` was tried and is wrong for a server: an idle-class thread gets almost no CPU
//! (a weight of 3 against 1,024) while *any* other process on the machine keeps the cores
//! busy, and an unprivileged thread can never leave the idle class again. With four busy
//! loops beside the release server, the fixtures' requests took 18–21 s to become
//! searchable under `SCHED_IDLE`, 5–6 s at nice 19 and 1.3–1.6 s at nice 10; a
//! long-running neighbour (a build, a batch job) would have held the index back for as
//! long as it ran. Indexing threads run as `SCHED_BATCH` at nice 10: about a tenth of a
//! contended core each, never preempting a thread that wakes up. In the paced 8 KB runs of
//! `make bench`, acknowledgement latency at nice 10, nice 19 and `SCHED_IDLE` differed by
//! less than run-to-run noise.
//!
//! Linux keeps a scheduling policy and nice value per thread and a new thread inherits its
//! creator's, so lowering the threads that create tantivy's workers (the indexer thread,
//! whose commits respawn them, and the thread that opens the writer, which starts the
//! merge threads) lowers all of them.

/// Nice value of the indexing threads: below ingest (0), above the floor (19) so that
/// even on a busy machine the index keeps up with a modest ingest rate.
#[cfg(target_os = "linux")]
const INDEXING_NICE: libc::c_int = 10;

/// Lowers the calling thread to background priority (Linux; a no-op elsewhere):
/// `SCHED_BATCH`, so it never preempts a waking ingest thread, at nice
/// [`INDEXING_NICE`]. Failure only costs acknowledgement latency under load, so it is
/// logged, not returned.
pub fn lower_current_thread() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` outlives the call; pid 0 is the calling thread.
        let policy = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
        // On Linux the nice value belongs to the thread, and `who = 0` is the calling thread.
        // SAFETY: a plain system call with no pointers.
        let nice = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, INDEXING_NICE) };
        if policy != 0 || nice != 0 {
            tracing::warn!(
                error = %std::io::Error::last_os_error(),
                "cannot lower the indexing threads' priority; ingest and indexing share the CPU equally"
            );
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The calling thread's scheduling policy and nice value.
    fn priority() -> (libc::c_int, libc::c_int) {
        // SAFETY: plain system calls on the calling thread, no pointers.
        unsafe { (libc::sched_getscheduler(0), libc::getpriority(libc::PRIO_PROCESS, 0)) }
    }

    #[test]
    fn a_lowered_thread_and_the_threads_it_starts_run_in_the_background() {
        let (own, child) = std::thread::spawn(move || {
            super::lower_current_thread();
            (priority(), std::thread::spawn(priority).join().unwrap())
        })
        .join()
        .unwrap();
        assert_eq!(own, (libc::SCHED_BATCH, super::INDEXING_NICE));
        assert_eq!(child, own, "threads started by a lowered thread inherit its priority");
        assert_eq!(priority().0, libc::SCHED_OTHER, "the caller's own thread is left alone");
    }
}
