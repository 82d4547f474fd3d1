//! Retention in the real binary: requests older than the maximum age disappear from lookup
//! and search; a held one stays; `tracehound stats` reports it.

mod common;

use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{binary, Server};
use serde_json::{json, Value};

const DAY_NS: u64 = 86_400 * 1_000_000_000;

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

/// One root span per request, started `age_ns` ago, named with a word to search for.
fn span(n: u8, request_id: &str, age_ns: u64) -> Value {
    let start = now_ns() - age_ns;
    json!({
        "traceId": hex::encode([n; 16]),
        "spanId": hex::encode([n; 8]),
        "name": "retentionprobe handle",
        "kind": 2,
        "startTimeUnixNano": start.to_string(),
        "endTimeUnixNano": (start + 1_000_000).to_string(),
        "attributes": [{"key": "request.id", "value": {"stringValue": request_id}}]
    })
}

fn export(server: &Server, spans: Vec<Value>) {
    let body = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "retention-e2e"}}]},
        "scopeSpans": [{"scope": {"name": "e2e"}, "spans": spans}]
    }]});
    let response = reqwest::blocking::Client::new()
        .post(server.otlp_http("/v1/traces"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{}", response.text().unwrap_or_default());
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn old_requests_leave_lookup_and_search_while_a_held_one_stays() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        &["--retention-days", "14", "--retention-interval-secs", "1", "--index-commit-interval-secs", "0.2"],
    );
    let hold = reqwest::blocking::Client::new()
        .post(server.api("/api/v1/holds"))
        .json(&json!({"kind": "request", "value": "req_kept", "reason": "INC-1234 postmortem"}))
        .send()
        .unwrap();
    assert_eq!(hold.status().as_u16(), 201);

    export(
        &server,
        vec![span(1, "req_old", 30 * DAY_NS), span(2, "req_kept", 30 * DAY_NS), span(3, "req_new", DAY_NS / 24)],
    );

    wait_for("the old request to be deleted", || server.get_json("/api/v1/lookup/req_old").0 == 404);
    assert_eq!(server.get_json("/api/v1/lookup/req_kept").0, 200, "the held request outlives retention");
    assert_eq!(server.get_json("/api/v1/lookup/req_new").0, 200, "a recent request is kept");
    wait_for("the search index to drop the old request", || {
        let (status, answer) = server.get_json("/api/v1/search?q=retentionprobe&since=60d&sort=time");
        status == 200 && answer["total"] == 2
    });
    let (_, answer) = server.get_json("/api/v1/search?q=retentionprobe&since=60d&sort=time");
    let found: Vec<&str> =
        answer["results"].as_array().unwrap().iter().filter_map(|r| r["request_id"].as_str()).collect();
    assert!(!found.contains(&"req_old"), "{found:?}");

    let (_, stats) = server.get_json("/api/v1/stats");
    assert_eq!((stats["requests"].as_u64(), stats["holds"].as_u64()), (Some(2), Some(1)), "{stats}");
    assert_eq!(stats["retention"]["max_age_days"], 14.0);

    let output =
        Command::new(binary()).args(["stats", "--api-url", &format!("http://{}", server.api_addr)]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("requests  2") && text.contains("holds     1"), "{text}");
}
