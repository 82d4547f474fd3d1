//! The server under test: the real `tracehound` binary on loopback ports with a fresh data
//! directory, its resident memory sampled while it runs, and stopped by its PID.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// A running `tracehound serve` and its addresses.
pub struct Server {
    child: Child,
    /// `host:port` of the OTLP/gRPC listener.
    pub grpc_addr: String,
    /// `host:port` of the OTLP/HTTP listener.
    pub http_addr: String,
    /// `host:port` of the query API.
    pub api_addr: String,
    /// The data directory.
    pub data_dir: PathBuf,
    sampler: Option<RssSampler>,
}

impl Server {
    /// Starts `binary` on free loopback ports over `data_dir` and waits for `/readyz`.
    pub fn start(binary: &Path, data_dir: &Path) -> anyhow::Result<Server> {
        let grpc_addr = free_addr()?;
        let http_addr = free_addr()?;
        let api_addr = free_addr()?;
        let child = Command::new(binary)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--otlp-grpc-addr", &grpc_addr, "--otlp-http-addr", &http_addr, "--api-addr", &api_addr])
            .env("TRACEHOUND_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let sampler = Some(RssSampler::start(child.id()));
        let mut server = Server { child, grpc_addr, http_addr, api_addr, data_dir: data_dir.to_path_buf(), sampler };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let client = reqwest::blocking::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("tracehound exited during startup: {status}");
            }
            let ready = client.get(format!("http://{}/readyz", self.api_addr)).send();
            if ready.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("tracehound was not ready within 60 s")
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory now, and the most seen since the last [`reset_rss_peak`](Self::reset_rss_peak).
    pub fn rss(&self) -> RssReading {
        let now = read_rss_kib(self.pid()).unwrap_or(0);
        let anon = read_status_kib(self.pid(), "RssAnon:").unwrap_or(0);
        let peak = |f: fn(&RssSampler) -> &AtomicU64| self.sampler.as_ref().map_or(0, |s| f(s).load(Ordering::Relaxed));
        RssReading {
            now_kib: now,
            window_peak_kib: peak(|s| &s.window_peak).max(now),
            anon_window_peak_kib: peak(|s| &s.anon_window_peak).max(anon),
            anon_now_kib: anon,
            file_now_kib: read_status_kib(self.pid(), "RssFile:").unwrap_or(0),
            process_peak_kib: read_status_kib(self.pid(), "VmHWM:").unwrap_or(0),
        }
    }

    /// Starts a new window for [`RssReading::window_peak_kib`].
    pub fn reset_rss_peak(&self) {
        if let Some(sampler) = &self.sampler {
            sampler.window_peak.store(0, Ordering::Relaxed);
            sampler.anon_window_peak.store(0, Ordering::Relaxed);
        }
    }

    /// SIGTERM, then SIGKILL after 30 s; returns the exit code if there was one.
    pub fn stop(mut self) -> anyhow::Result<Option<i32>> {
        let pid = self.pid().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status.code());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill()?;
        self.child.wait()?;
        Ok(None)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(sampler) = self.sampler.take() {
            sampler.stop();
        }
        // Only a server still running (an early error) needs this; stop() has reaped it otherwise.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Resident memory of the server, KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RssReading {
    /// Now.
    pub now_kib: u64,
    /// Largest sample (every 100 ms) in the current window.
    pub window_peak_kib: u64,
    /// Largest sample of anonymous memory (heap, not mapped files) in the current window.
    pub anon_window_peak_kib: u64,
    /// Anonymous memory now (`RssAnon`).
    pub anon_now_kib: u64,
    /// File-backed pages mapped now (`RssFile`: the index's memory-mapped segments, which
    /// the kernel can drop and read again).
    pub file_now_kib: u64,
    /// The kernel's high-water mark for the whole process life (`VmHWM`).
    pub process_peak_kib: u64,
}

struct RssSampler {
    window_peak: Arc<AtomicU64>,
    anon_window_peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let window_peak = Arc::new(AtomicU64::new(0));
        let anon_window_peak = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (peak, anon_peak, halt) = (window_peak.clone(), anon_window_peak.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !halt.load(Ordering::Relaxed) {
                if let Some(kib) = read_rss_kib(pid) {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                if let Some(kib) = read_status_kib(pid, "RssAnon:") {
                    anon_peak.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        RssSampler { window_peak, anon_window_peak, stop, thread }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

fn read_rss_kib(pid: u32) -> Option<u64> {
    read_status_kib(pid, "VmRSS:")
}

fn read_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

fn free_addr() -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.to_string())
}

/// Bytes of every file under `dir` (apparent sizes, as `du --apparent-size -b`).
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => dir_bytes(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Bytes allocated on disk under `dir` (blocks × 512, as `du -B1`).
pub fn dir_allocated_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => dir_allocated_bytes(&entry.path()),
            Ok(meta) => meta.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}
