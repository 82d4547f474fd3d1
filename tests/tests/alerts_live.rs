//! Live alerting end to end, with live-timestamped traffic and a webhook receiver started by
//! the test (a real HTTP/1.1 server on loopback): a rule fires within an evaluation
//! interval of the breach, a failing receiver is retried until it takes the notification,
//! a restart sends no duplicate, and the alert resolves when the breach ends.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::otlp::{export, post_protobuf, text};
use common::Server;
use prost::Message;
use serde_json::Value;
use tracehound_proto::trace::v1::{Span, Status};

/// One request the receiver got: its path, its JSON body, and the status it answered.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    body: Value,
    status: u16,
}

/// A webhook receiver on loopback that answers 500 to its first `failures` requests.
struct Receiver {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(failures: usize) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = received.clone();
        // The thread ends with the test process; it holds no child process.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some((request_line, body)) = common::http::read_request(&stream) else { continue };
                let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_string();
                let mut log = log.lock().unwrap();
                let status = if log.len() < failures { 500 } else { 200 };
                log.push(Received { path, body: serde_json::from_slice(&body).unwrap_or(Value::Null), status });
                drop(log);
                let reason = if status == 200 { "OK" } else { "Internal Server Error" };
                let _ = write!(stream, "HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            }
        });
        Receiver { port, received }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The notifications it took (answered 200) with `status`.
    fn delivered(&self, status: &str) -> Vec<Received> {
        self.all().into_iter().filter(|r| r.status == 200 && r.body["status"] == status).collect()
    }

    fn wait_for(&self, status: &str, within: Duration) -> Received {
        let deadline = Instant::now() + within;
        loop {
            if let Some(r) = self.delivered(status).into_iter().next() {
                return r;
            }
            assert!(Instant::now() < deadline, "no {status} notification within {within:?}: {:?}", self.all());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

const RULES: &str = r#"
evaluation_interval = "1s"

[[rules]]
name = "errors"
metric = "error_share"
window = "10s"
baseline = "60s"
ratio = 3.0
min_increase = 0.2
min_requests = 10
min_baseline_requests = 30
for = "0s"
keep_firing_for = "3s"
"#;

fn now_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

/// `count` requests spread evenly over `[from, to)` nanoseconds, failing or not.
fn traffic(server: &Server, tag: &str, count: u64, from: u64, to: u64, failing: bool) {
    let step = (to - from) / count;
    let spans: Vec<Span> = (0..count)
        .map(|i| {
            let start = from + i * step;
            let mut trace_id = [0u8; 16];
            trace_id[..8].copy_from_slice(&start.to_be_bytes());
            trace_id[8] = tag.len() as u8;
            trace_id[9..].copy_from_slice(&tag.as_bytes()[..7]);
            Span {
                trace_id: trace_id.to_vec(),
                span_id: trace_id[..8].to_vec(),
                name: "chat gpt-4o".into(),
                start_time_unix_nano: start,
                end_time_unix_nano: start + 200_000_000,
                attributes: vec![
                    text("request.id", &format!("req_{tag}_{i}")),
                    text("gen_ai.operation.name", "chat"),
                    text("gen_ai.request.model", "gpt-4o"),
                ],
                status: failing.then(|| Status { code: 2, message: "upstream error".into() }),
                ..Default::default()
            }
        })
        .collect();
    let response = post_protobuf(server, export(spans).encode_to_vec());
    assert_eq!(response.status().as_u16(), 200);
}

/// A server evaluating [`RULES`] every second, with `extra` flags.
fn server_with_rules(dir: &std::path::Path, extra: &[&str]) -> Server {
    let rules = dir.join("rules.toml");
    std::fs::write(&rules, RULES).unwrap();
    let mut args = vec!["--alert-rules", rules.to_str().unwrap()];
    args.extend_from_slice(extra);
    Server::start_with(&dir.join("data"), &args)
}

/// A minute of healthy traffic before now, then a breach: 20 failing requests in the last 4 s.
fn baseline_then_breach(server: &Server) -> u64 {
    let now = now_nanos();
    traffic(server, "baseline", 60, now - 70_000_000_000, now - 12_000_000_000, false);
    traffic(server, "breach_", 20, now - 4_000_000_000, now - 500_000_000, true);
    now
}

fn alerts(server: &Server) -> Value {
    let (status, answer) = server.get_json("/api/v1/alerts");
    assert_eq!(status, 200, "{answer}");
    answer
}

#[test]
fn a_breach_fires_is_retried_survives_a_restart_without_a_duplicate_and_resolves() {
    let receiver = Receiver::start(2);
    let dir = tempfile::tempdir().unwrap();
    let webhook = receiver.url();
    let mut server = server_with_rules(dir.path(), &["--alert-webhook", &webhook]);
    assert_eq!(alerts(&server)["evaluating"], true);

    let now = now_nanos();
    traffic(&server, "baseline", 60, now - 70_000_000_000, now - 12_000_000_000, false);
    std::thread::sleep(Duration::from_secs(2));
    assert!(receiver.all().is_empty(), "healthy traffic pages nobody: {:?}", receiver.all());

    let breach = now_nanos();
    traffic(&server, "breach_", 20, breach - 4_000_000_000, breach - 500_000_000, true);
    let fired = receiver.wait_for("firing", Duration::from_secs(30));
    assert_eq!(fired.path, "/hook");
    assert_eq!(fired.body["alert"]["rule"], "errors");
    assert!(fired.body["triage_url"].as_str().unwrap().contains("/triage?since="), "{}", fired.body);
    let attempts = receiver.all().iter().filter(|r| r.body["status"] == "firing").count();
    assert_eq!(attempts, 3, "two refusals, then delivered: {:?}", receiver.all());
    // Fired at the first evaluation after the breach was stored, not a minute later.
    let fired_at = time::OffsetDateTime::parse(
        fired.body["alert"]["fired_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .unix_timestamp_nanos() as u64;
    assert!(fired_at <= breach + 2_000_000_000, "fired {} ms after the breach", (fired_at - breach) / 1_000_000);
    let firing = alerts(&server);
    assert_eq!(firing["firing"][0]["rule"], "errors", "{firing}");

    server.terminate();
    server.restart();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(receiver.delivered("firing").len(), 1, "a restart sends no duplicate: {:?}", receiver.all());

    let healthy = now_nanos();
    traffic(&server, "healthy", 30, healthy - 9_000_000_000, healthy - 500_000_000, false);
    let resolved = receiver.wait_for("resolved", Duration::from_secs(30));
    assert_eq!(resolved.body["alert"]["rule"], "errors");
    assert!(resolved.body["resolved_at"].is_string(), "{}", resolved.body);
    assert_eq!(receiver.delivered("firing").len(), 1, "{:?}", receiver.all());
    assert_eq!(alerts(&server)["firing"], serde_json::json!([]));
}

#[test]
fn alerts_are_evaluated_without_receivers_and_the_answer_says_what_fires() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_rules(dir.path(), &[]);
    baseline_then_breach(&server);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = alerts(&server);
        if answer["firing"].as_array().is_some_and(|f| !f.is_empty()) {
            assert_eq!(answer["firing"][0]["rule"], "errors");
            assert_eq!(answer["undelivered"], 0, "no receiver, no outbox: {answer}");
            break;
        }
        assert!(Instant::now() < deadline, "nothing fired: {answer}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn prometheus_reads_quality_gauges_per_service_with_help_and_type() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_rules(dir.path(), &[]);
    baseline_then_breach(&server);
    let deadline = Instant::now() + Duration::from_secs(30);
    let line = loop {
        let text = server.client().get(server.api("/metrics")).send().unwrap().text().unwrap();
        if let Some(line) =
            text.lines().find(|l| l.starts_with("tracehound_quality_failing_share{tenant=\"0\",by=\"all\""))
        {
            let value: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
            if value > 0.0 {
                assert!(text.contains("# TYPE tracehound_quality_failing_share gauge"), "{text}");
                assert!(text.contains("# HELP tracehound_quality_suspect_share "), "{text}");
                let per_service = text
                    .lines()
                    .filter(|l| l.starts_with("tracehound_quality_requests{tenant=\"0\",by=\"service\","))
                    .count();
                assert_eq!(per_service, 1, "one service, one row: {text}");
                break line.to_string();
            }
        }
        assert!(Instant::now() < deadline, "no quality gauge: {text}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let value: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((value - 0.25).abs() < 1e-9, "20 failing of 80: {line}");
}
