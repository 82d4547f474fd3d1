//! Shared harness: start the real `tracehound` binary on free loopback ports, talk to it,
//! and stop it by PID.

#![allow(dead_code)]

pub mod http;
pub mod keys;
pub mod otlp;
pub mod replay;
pub mod scenarios;
pub mod tls;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running server; killed (by PID) when dropped.
pub struct Server {
    child: Option<Child>,
    pub data_dir: PathBuf,
    pub grpc_addr: String,
    pub http_addr: String,
    pub api_addr: String,
    extra_args: Vec<String>,
    /// `http`, or `https` when started with TLS.
    pub scheme: &'static str,
    /// Trusts the test CA when started with TLS.
    client: reqwest::blocking::Client,
}

/// Path of the `tracehound` binary built by `make build`.
pub fn binary() -> PathBuf {
    if let Ok(path) = std::env::var("TRACEHOUND_BIN") {
        return PathBuf::from(path);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("debug/tracehound");
    assert!(path.exists(), "{} is missing: run `make test` (it builds the binary first)", path.display());
    path
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

impl Server {
    /// Starts a server on a fresh data directory.
    pub fn start(data_dir: &Path) -> Server {
        Server::start_with(data_dir, &[])
    }

    /// Starts a server with extra `serve` flags.
    pub fn start_with(data_dir: &Path, extra: &[&str]) -> Server {
        Server::start_configured(data_dir, extra, None)
    }

    /// Starts a server serving TLS on every listener with the test certificate.
    pub fn start_tls(data_dir: &Path, tls: &tls::TestTls, extra: &[&str]) -> Server {
        Server::start_configured(data_dir, extra, Some(tls))
    }

    fn start_configured(data_dir: &Path, extra: &[&str], tls: Option<&tls::TestTls>) -> Server {
        let mut extra_args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        if let Some(tls) = tls {
            extra_args.extend(tls.serve_flags());
        }
        let mut server = Server {
            child: None,
            data_dir: data_dir.to_path_buf(),
            grpc_addr: String::new(),
            http_addr: String::new(),
            api_addr: String::new(),
            extra_args,
            scheme: if tls.is_some() { "https" } else { "http" },
            client: tls.map(tls::TestTls::client).unwrap_or_default(),
        };
        // A port found free can be taken by a test running beside this one before the server
        // binds it; the server then exits at start-up, and fresh ports are tried.
        for _ in 0..3 {
            server.grpc_addr = format!("127.0.0.1:{}", free_port());
            server.http_addr = format!("127.0.0.1:{}", free_port());
            server.api_addr = format!("127.0.0.1:{}", free_port());
            match server.try_spawn() {
                Ok(()) => return server,
                Err(status) => eprintln!("tracehound exited during start-up ({status}); trying other ports"),
            }
        }
        panic!("tracehound exited during start-up three times");
    }

    fn spawn(&mut self) {
        if let Err(status) = self.try_spawn() {
            panic!("tracehound exited during start-up: {status}");
        }
    }

    fn try_spawn(&mut self) -> Result<(), std::process::ExitStatus> {
        let child = Command::new(binary())
            .arg("serve")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--otlp-grpc-addr", &self.grpc_addr, "--otlp-http-addr", &self.http_addr])
            .args(["--api-addr", &self.api_addr])
            // The fixtures are timestamped at a fixed date: keep them whatever the clock says,
            // unless a test is about retention.
            .args(if self.extra_args.iter().any(|a| a == "--retention-days") {
                &[][..]
            } else {
                &["--retention-days", "0"][..]
            })
            .args(&self.extra_args)
            .env("TRACEHOUND_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tracehound");
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), std::process::ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = self.client.clone();
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(status);
                }
            }
            if let Ok(resp) = client.get(self.api("/readyz")).send() {
                if resp.status().is_success() {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("tracehound did not become ready within 30 s");
    }

    /// An HTTP client for this server (trusting its test CA under TLS).
    pub fn client(&self) -> reqwest::blocking::Client {
        self.client.clone()
    }

    /// PID of the server process.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).expect("server is running")
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        signal(child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("tracehound did not exit within 30 s of SIGTERM");
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same data directory and ports.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the server before restarting it");
        self.spawn();
    }

    /// Full URL of an API path.
    pub fn api(&self, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.api_addr, path)
    }

    /// Full URL of an OTLP/HTTP path.
    pub fn otlp_http(&self, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.http_addr, path)
    }

    /// gRPC endpoint URL.
    pub fn grpc_endpoint(&self) -> String {
        format!("{}://{}", self.scheme, self.grpc_addr)
    }

    /// GET an API path and parse the JSON; returns the status too.
    pub fn get_json(&self, path: &str) -> (u16, Value) {
        let resp = self.client.get(self.api(path)).send().expect("API reachable");
        let status = resp.status().as_u16();
        let body = resp.text().expect("body");
        (status, serde_json::from_str(&body).unwrap_or(Value::String(body)))
    }

    /// Waits until the search index holds every change the store has acknowledged, for
    /// tests that search once (a browser page does not search again by itself).
    pub fn wait_indexed(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (status, stats) = self.get_json("/api/v1/stats");
            let index = &stats["index"];
            if let (200, Some(indexed), Some(stored)) =
                (status, index["index_seq"].as_u64(), index["store_seq"].as_u64())
            {
                if indexed >= stored {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "the index did not catch up with the store in 120 s: {index}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill").arg(format!("-{name}")).arg(pid.to_string()).status().expect("run kill");
    assert!(status.success(), "kill -{name} {pid} failed");
}

/// Every string anywhere in a JSON value.
pub fn strings(value: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    collect(value, &mut out);
    out
}

fn collect<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect(v, out)),
        _ => {}
    }
}

/// True when some string in the JSON contains `needle`.
pub fn mentions(value: &Value, needle: &str) -> bool {
    strings(value).iter().any(|s| s.contains(needle))
}

/// Root of the shared fixtures.
pub fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures")
}

/// Every fixture directory, sorted.
pub fn fixture_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures_root())
        .expect("fixtures present")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("manifest.json").exists())
        .collect();
    dirs.sort();
    dirs
}

/// A fixture's manifest.
pub fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest")).expect("manifest JSON")
}
