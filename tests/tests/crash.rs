//! Crash harness: while several exporters send concurrently, the server is killed with
//! SIGKILL at random moments and restarted; after every restart each span whose export
//! was acknowledged must be present, and search must catch up without a manual step.
//!
//! `make test` runs the short form; `make crash-test` sets `TRACEHOUND_CRASH_KILLS=20`.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::otlp::{export_bytes, text};
use common::Server;
use prost::Message;
use tracehound_proto::collector::trace::v1::ExportTraceServiceResponse;
use tracehound_proto::trace::v1::Span;

const SPANS_PER_EXPORT: u8 = 20;
const EXPORTERS: u64 = 4;

/// A tiny deterministic generator: the seed is printed, so a failure can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// One export: one trace of `SPANS_PER_EXPORT` spans with an LLM call among them.
fn export_for(trace: [u8; 16], n: u64) -> Vec<u8> {
    let start = 1_790_000_000_000_000_000 + n * 1_000;
    let spans = (1..=SPANS_PER_EXPORT)
        .map(|i| {
            let mut attributes = vec![text("request.id", &format!("req_crash_{}", hex::encode(trace)))];
            if i == 2 {
                attributes.push(text("gen_ai.operation.name", "chat"));
                attributes.push(text("gen_ai.response.model", "gpt-4o-2024-08-06"));
            }
            Span {
                trace_id: trace.to_vec(),
                span_id: vec![i; 8],
                parent_span_id: if i == 1 { vec![] } else { vec![1; 8] },
                name: format!("crash span {i}"),
                start_time_unix_nano: start + u64::from(i),
                end_time_unix_nano: start + 500,
                attributes,
                ..Default::default()
            }
        })
        .collect();
    export_bytes(spans)
}

/// Sends exports in a loop until told to stop; records the traces the server acknowledged.
fn exporter(
    id: u64,
    http_url: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
    paused: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<[u8; 16]>>>,
    sent: Arc<AtomicU64>,
) {
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        if paused.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        n += 1;
        let mut trace = [0u8; 16];
        trace[..8].copy_from_slice(&id.to_be_bytes());
        trace[8..].copy_from_slice(&n.to_be_bytes());
        let url = http_url.lock().unwrap().clone();
        let response = client
            .post(&url)
            .header("content-type", "application/x-protobuf")
            .body(export_for(trace, id * 1_000_000 + n))
            .send();
        sent.fetch_add(1, Ordering::Relaxed);
        if let Ok(response) = response {
            if response.status().as_u16() == 200 {
                let answer = ExportTraceServiceResponse::decode(response.bytes().unwrap_or_default()).unwrap();
                assert!(answer.partial_success.is_none(), "nothing in these exports is bad");
                acked.lock().unwrap().push(trace);
            }
        } else {
            // The server is down (killed); try again shortly, as an SDK would.
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn assert_all_acknowledged_present(server: &Server, acked: &[[u8; 16]]) -> usize {
    let client = reqwest::blocking::Client::new();
    for trace in acked {
        let url = server.api(&format!("/api/v1/traces/{}", hex::encode(trace)));
        let answer: serde_json::Value = client.get(&url).send().unwrap().json().unwrap();
        let spans = count_spans(&answer["spans"]);
        assert_eq!(spans, usize::from(SPANS_PER_EXPORT), "acknowledged trace {} lost spans", hex::encode(trace));
    }
    acked.len() * usize::from(SPANS_PER_EXPORT)
}

fn count_spans(nodes: &serde_json::Value) -> usize {
    nodes.as_array().map_or(0, |list| list.iter().map(|n| 1 + count_spans(&n["children"])).sum())
}

fn wait_until_searchable(server: &Server, traces: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, answer) = server.get_json("/api/v1/search?q=kind:llm&limit=1");
        let total = answer["total"].as_u64().unwrap_or(0) as usize;
        if total >= traces {
            return;
        }
        assert!(Instant::now() < deadline, "search caught up to {total} of {traces} requests");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn acknowledged_spans_survive_repeated_sigkill() {
    let kills: usize = std::env::var("TRACEHOUND_CRASH_KILLS").ok().and_then(|k| k.parse().ok()).unwrap_or(3);
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("crash harness: {kills} kills, seed {seed}");
    let mut rng = XorShift(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let url = Arc::new(Mutex::new(server.otlp_http("/v1/traces")));
    let stop = Arc::new(AtomicBool::new(false));
    // Exporters pause while a restart is verified, so each cycle adds a bounded amount of
    // data and the harness stays linear in the number of kills.
    let paused = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let sent = Arc::new(AtomicU64::new(0));
    let exporters: Vec<_> = (0..EXPORTERS)
        .map(|id| {
            let (url, stop, paused, acked, sent) =
                (url.clone(), stop.clone(), paused.clone(), acked.clone(), sent.clone());
            std::thread::spawn(move || exporter(id + 1, url, stop, paused, acked, sent))
        })
        .collect();

    let mut spans_checked = 0;
    let mut verified = 0;
    for kill in 1..=kills {
        std::thread::sleep(Duration::from_millis(100 + rng.next() % 700));
        server.kill();
        paused.store(true, Ordering::SeqCst);
        // Snapshot after the kill: every export answered 200 before this point was acknowledged.
        let snapshot = acked.lock().unwrap().clone();
        server.restart();
        // Everything acknowledged since the last check, and a random sample of what was
        // checked before (a later crash must not damage older data either); all of it once
        // more at the end. Checking everything after every kill grows quadratically.
        let mut to_check: Vec<[u8; 16]> = snapshot[verified..].to_vec();
        for _ in 0..verified.min(200) {
            to_check.push(snapshot[(rng.next() as usize) % verified]);
        }
        spans_checked += assert_all_acknowledged_present(&server, &to_check);
        eprintln!(
            "kill {kill}/{kills}: {} acknowledged traces, {} checked now, intact",
            snapshot.len(),
            to_check.len()
        );
        verified = snapshot.len();
        paused.store(false, Ordering::SeqCst);
    }
    stop.store(true, Ordering::SeqCst);
    for handle in exporters {
        handle.join().unwrap();
    }
    let all = acked.lock().unwrap().clone();
    spans_checked += assert_all_acknowledged_present(&server, &all);
    wait_until_searchable(&server, all.len());
    assert!(!all.is_empty(), "no export was ever acknowledged");
    eprintln!(
        "crash harness: survived {kills} kills; {} exports sent, {} acknowledged, {spans_checked} span checks, 0 lost",
        sent.load(Ordering::Relaxed),
        all.len()
    );
}
