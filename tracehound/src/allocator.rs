//! The process allocator: jemalloc, configured to hand freed memory back to the system.
//!
//! With glibc's malloc the loaded server kept about one arena per thread that had
//! allocated (15 were seen) and seldom returned their pages, so resident memory grew to
//! 1.9 GiB while far less was live. jemalloc's background thread purges pages unused for a
//! second, and its allocation fast path is cheaper for the many short-lived buffers of
//! decoding and indexing.

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Options jemalloc reads before `main`. The crate builds jemalloc with its symbols
/// prefixed `_rjem_`, so the option string is that prefix's `malloc_conf`; the environment
/// variable `_RJEM_MALLOC_CONF` still overrides it.
#[export_name = "_rjem_malloc_conf"]
static MALLOC_CONF: &[u8; 60] = b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";
