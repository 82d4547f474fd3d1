//! Where the CPU went during a run: the whole machine, the server (by thread), this load
//! generator, and everything else on the machine (other builds and tests share it), read
//! from `/proc`. The server's thread names say which stage is busy: the writer, the indexer,
//! tantivy's indexing and merge threads, fjall's flush workers, the tokio receivers.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

/// Kernel clock ticks per second (`USER_HZ`), 100 on every Linux this runs on.
const TICKS_PER_SEC: f64 = 100.0;

/// CPU counters at one instant.
#[derive(Debug, Clone)]
pub struct CpuSnapshot {
    at: Instant,
    machine_busy: u64,
    server: u64,
    bench: u64,
    /// Each live thread of the server by id: its stage and CPU ticks.
    threads: BTreeMap<u32, (String, u64)>,
}

/// CPU used between two snapshots, in cores (CPU seconds per second).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CpuUse {
    /// Busy cores of the whole machine.
    pub machine: f64,
    /// The server process.
    pub server: f64,
    /// This load generator.
    pub bench: f64,
    /// Everything else running on the machine.
    pub other: f64,
    /// The server by thread group.
    pub server_threads: BTreeMap<String, f64>,
}

impl CpuSnapshot {
    /// Reads the counters now, with the server's threads of process `server_pid`.
    pub fn take(server_pid: u32) -> CpuSnapshot {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        CpuSnapshot {
            at: Instant::now(),
            machine_busy: stat.lines().next().map(machine_busy_ticks).unwrap_or(0),
            server: read_ticks(&format!("/proc/{server_pid}/stat")).unwrap_or(0),
            bench: read_ticks("/proc/self/stat").unwrap_or(0),
            threads: thread_ticks(server_pid),
        }
    }

    /// What was used from `earlier` until this snapshot.
    pub fn since(&self, earlier: &CpuSnapshot) -> CpuUse {
        let seconds = self.at.duration_since(earlier.at).as_secs_f64().max(1e-9);
        let cores = |now: u64, then: u64| now.saturating_sub(then) as f64 / TICKS_PER_SEC / seconds;
        let machine = cores(self.machine_busy, earlier.machine_busy);
        let server = cores(self.server, earlier.server);
        let bench = cores(self.bench, earlier.bench);
        // By thread id, not by name: tantivy respawns its indexing workers at every commit,
        // so a stage's threads at the end are not those at the start. A thread started
        // during the run counts whole; one that ended during it took its counters along,
        // so what the process used beyond the live threads is reported as its own group.
        let mut by_stage: BTreeMap<String, u64> = BTreeMap::new();
        for (tid, (stage, now)) in &self.threads {
            let then = earlier.threads.get(tid).map_or(0, |(_, ticks)| *ticks);
            *by_stage.entry(stage.clone()).or_insert(0) += now.saturating_sub(then);
        }
        let live: u64 = by_stage.values().sum();
        let ended = self.server.saturating_sub(earlier.server).saturating_sub(live);
        by_stage.insert(ENDED_THREADS.to_string(), ended);
        let server_threads = by_stage
            .into_iter()
            .map(|(stage, ticks)| (stage, ticks as f64 / TICKS_PER_SEC / seconds))
            .filter(|(_, used)| *used >= 0.005)
            .collect();
        CpuUse { machine, server, bench, other: (machine - server - bench).max(0.0), server_threads }
    }
}

/// user + nice + system + irq + softirq + steal of the `cpu` line of `/proc/stat`.
fn machine_busy_ticks(line: &str) -> u64 {
    let fields: Vec<u64> = line.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| fields.get(i)).sum()
}

/// utime + stime of a `/proc/.../stat` file.
fn read_ticks(path: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(path).ok()?;
    parse_stat_ticks(&stat)
}

/// utime + stime from the text of a `stat` file (the name in parentheses may hold spaces).
fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields after the name start at field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Stage of the CPU of server threads that ended between two snapshots: almost all of it
/// tantivy's indexing workers, which every index commit replaces.
pub const ENDED_THREADS: &str = "threads ended during the run (tantivy indexing workers)";

/// The stage and CPU ticks of each live thread of a process, by thread id.
fn thread_ticks(pid: u32) -> BTreeMap<u32, (String, u64)> {
    let mut threads = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return threads };
    for task in tasks.flatten() {
        let path = task.path();
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else { continue };
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let ticks = read_ticks(&path.join("stat").to_string_lossy()).unwrap_or(0);
        threads.insert(tid, (thread_group(name.trim()), ticks));
    }
    threads
}

/// The stage a server thread belongs to, from its (15-character) name.
pub fn thread_group(name: &str) -> String {
    let group = match name {
        n if n.starts_with("tracehound-writ") => "writer (encode, fjall batch, fsync)",
        n if n.starts_with("tracehound-inde") => "indexer (read back, build documents)",
        n if n.starts_with("thrd-tantivy") => "tantivy indexing",
        n if n.starts_with("merge_thread") => "tantivy merges",
        n if n.starts_with("segment_updater") => "tantivy merges",
        n if n.starts_with("fjall") => "fjall flush and compaction",
        n if n.starts_with("tokio") => "receivers (tokio: decode, normalize, API)",
        _ => "other",
    };
    group.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utime_and_stime_are_read_past_a_name_holding_spaces_and_parentheses() {
        let stat = "42 (tokio rt) (x)) S 1 2 3 4 5 6 7 8 9 10 150 25 0 0 20 0 4 0 100";
        assert_eq!(parse_stat_ticks(stat), Some(175));
    }

    #[test]
    fn machine_busy_counts_work_and_leaves_out_idle_and_iowait() {
        assert_eq!(machine_busy_ticks("cpu  10 1 5 1000 300 2 3 4 0 0"), 10 + 1 + 5 + 2 + 3 + 4);
    }

    #[test]
    fn server_threads_are_grouped_by_stage() {
        assert_eq!(thread_group("merge_thread_3"), thread_group("merge_thread_0"));
        assert_eq!(thread_group("tracehound-writ"), "writer (encode, fjall batch, fsync)");
        assert_eq!(thread_group("tracehound"), "other");
    }

    #[test]
    fn cpu_burnt_between_two_snapshots_is_counted_for_the_process_and_its_threads() {
        let pid = std::process::id();
        let before = CpuSnapshot::take(pid);
        // Bounded by CPU actually used, not wall time: on a loaded machine 5 ticks can take long.
        let deadline = Instant::now() + std::time::Duration::from_secs(120);
        let mut x = 0u64;
        while read_ticks("/proc/self/stat").unwrap_or(0) < before.server + 5 && Instant::now() < deadline {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let used = CpuSnapshot::take(pid).since(&before);
        assert!(used.server > 0.0, "{used:?}");
    }

    #[test]
    fn cpu_of_a_thread_that_ended_during_the_run_is_still_counted() {
        let pid = std::process::id();
        let before = CpuSnapshot::take(pid);
        let start = before.server;
        std::thread::Builder::new()
            .name("thrd-tantivy-ix".into())
            .spawn(move || {
                let deadline = Instant::now() + std::time::Duration::from_secs(120);
                let mut x = 0u64;
                while read_ticks("/proc/self/stat").unwrap_or(0) < start + 5 && Instant::now() < deadline {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            })
            .unwrap()
            .join()
            .unwrap();
        let used = CpuSnapshot::take(pid).since(&before);
        assert!(used.server_threads.get(ENDED_THREADS).is_some_and(|cores| *cores > 0.0), "{used:?}");
    }
}
