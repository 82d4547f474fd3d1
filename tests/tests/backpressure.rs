//! Backpressure: driven far beyond what a deliberately tiny memory budget and write queue
//! admit, the server makes exports wait in line or refuses them with retryable answers, the
//! real OpenTelemetry SDK exporters retry, resident memory stays bounded, and every span lands.

mod common;

use std::process::Command;

use common::Server;

const SPANS_PER_EXPORTER: usize = 3_000;
/// Resident memory the server may reach under this load (store caches, index writer and
/// the in-flight budget below included).
const RSS_BUDGET_BYTES: u64 = 512 * 1024 * 1024;

fn python() -> String {
    std::env::var("TRACEHOUND_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn peak_rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    line.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()).expect("VmHWM value") * 1024
}

fn metric(server: &Server, name: &str, label: &str) -> f64 {
    let text = reqwest::blocking::get(server.api("/metrics")).unwrap().text().unwrap();
    text.lines()
        .filter(|l| l.starts_with(name) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn sdk_exporters_beyond_capacity_are_pushed_back_and_every_span_lands() {
    let dir = tempfile::tempdir().unwrap();
    // Room for about three of these exports at once, against four exporters that always
    // have more: some are refused, none is starved past the SDK's retry budget.
    let server = Server::start_with(dir.path(), &["--queue-capacity", "2", "--max-inflight-bytes", "8388608"]);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python/flood.py");
    let grpc = server.grpc_endpoint();
    let http = format!("http://{}", server.http_addr);
    let runs = [
        ("grpc", grpc.as_str(), "g1"),
        ("grpc", grpc.as_str(), "g2"),
        ("http", http.as_str(), "h1"),
        ("http", http.as_str(), "h2"),
    ];
    let children: Vec<_> = runs
        .iter()
        .map(|(protocol, endpoint, id)| {
            Command::new(python())
                .arg(&script)
                .args([*protocol, *endpoint, *id, &SPANS_PER_EXPORTER.to_string()])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("start the Python exporter (make test installs it)")
        })
        .collect();
    let mut exporter_logs = String::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "exporter failed: {}", String::from_utf8_lossy(&output.stderr));
        exporter_logs.push_str(&String::from_utf8_lossy(&output.stderr));
    }
    let (_, stats) = server.get_json("/api/v1/stats");
    assert_eq!(
        stats["spans"].as_u64(),
        Some((SPANS_PER_EXPORTER * runs.len()) as u64),
        "spans were lost; the exporters said: {exporter_logs}"
    );
    let refused = metric(&server, "tracehound_refused_exports_total", "overloaded");
    let waited = metric(&server, "tracehound_admission_waits_total", "spans");
    assert!(refused + waited > 0.0, "the server never pushed back, so this test proved nothing");
    let peak = peak_rss_bytes(server.pid());
    eprintln!(
        "backpressure: {waited} exports waited in line, {refused} refused and retried; peak RSS {} MiB",
        peak / (1024 * 1024)
    );
    assert!(peak < RSS_BUDGET_BYTES, "peak RSS {peak} over budget");
}
