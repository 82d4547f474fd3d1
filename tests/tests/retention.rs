//! Retention in the real binary: requests older than the maximum age disappear from lookup
//! and search; a held one stays; `tracehound stats` reports it. What arrives already older
//! than the maximum age is refused in `partial_success`, unless a hold keeps it.

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

/// Exports over OTLP/HTTP JSON, and returns the answer's body.
fn export(server: &Server, spans: Vec<Value>) -> Value {
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
    assert_eq!(response.status().as_u16(), 200);
    response.json().unwrap()
}

fn hold(server: &Server, body: Value) {
    let response = reqwest::blocking::Client::new().post(server.api("/api/v1/holds")).json(&body).send().unwrap();
    assert_eq!(response.status().as_u16(), 201);
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
    // Stored while retention kept everything, then served with a 14-day retention: the
    // requests aged past it while stored, as they do over two weeks.
    {
        let keeping = Server::start_with(dir.path(), &["--retention-days", "0", "--index-commit-interval-secs", "0.2"]);
        hold(&keeping, json!({"kind": "request", "value": "req_kept", "reason": "INC-1234 postmortem"}));
        let spans =
            vec![span(1, "req_old", 30 * DAY_NS), span(2, "req_kept", 30 * DAY_NS), span(3, "req_new", DAY_NS / 24)];
        assert_eq!(export(&keeping, spans)["partialSuccess"], Value::Null);
        keeping.wait_indexed();
    }
    let server = Server::start_with(
        dir.path(),
        &["--retention-days", "14", "--retention-interval-secs", "1", "--index-commit-interval-secs", "0.2"],
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

/// `partialSuccess.rejectedSpans`, a number or (as OTLP/JSON writes 64-bit values) a string.
fn rejected_spans(answer: &Value) -> i64 {
    let value = &answer["partialSuccess"]["rejectedSpans"];
    value.as_i64().or_else(|| value.as_str()?.parse().ok()).unwrap_or(0)
}

fn retaining_two_weeks(dir: &std::path::Path) -> Server {
    Server::start_with(dir, &["--retention-days", "14"])
}

#[test]
fn spans_older_than_retention_are_refused_with_the_reason_and_the_rest_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = retaining_two_weeks(dir.path());
    let answer = export(&server, vec![span(1, "req_backfill", 30 * DAY_NS), span(2, "req_today", DAY_NS / 24)]);
    assert_eq!(rejected_spans(&answer), 1, "{answer}");
    let message = answer["partialSuccess"]["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains("14-day retention") && message.contains("30 days ago"), "{message}");
    assert!(message.contains("/api/v1/holds"), "the message says how to keep them: {message}");
    assert_eq!(server.get_json("/api/v1/lookup/req_backfill").0, 404);
    assert_eq!(server.get_json("/api/v1/lookup/req_today").0, 200);
}

#[test]
fn a_refusal_for_age_is_counted_apart_from_invalid_spans() {
    let dir = tempfile::tempdir().unwrap();
    let server = retaining_two_weeks(dir.path());
    export(&server, vec![span(1, "req_backfill", 30 * DAY_NS)]);
    let text = reqwest::blocking::get(server.api("/metrics")).unwrap().text().unwrap();
    let line = text.lines().find(|l| l.starts_with("tracehound_rejected_total") && l.contains("older_than_retention"));
    assert_eq!(line.and_then(|l| l.rsplit(' ').next()), Some("1"), "{text}");
}

#[test]
fn an_old_request_under_a_hold_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let server = retaining_two_weeks(dir.path());
    hold(&server, json!({"kind": "request", "value": "req_backfill", "reason": "INC-77 evidence"}));
    let answer = export(&server, vec![span(1, "req_backfill", 30 * DAY_NS)]);
    assert_eq!(answer["partialSuccess"], Value::Null, "{answer}");
    assert_eq!(server.get_json("/api/v1/lookup/req_backfill").0, 200);
}

#[test]
fn an_old_window_under_a_hold_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let server = retaining_two_weeks(dir.path());
    hold(&server, json!({"kind": "window", "since": "31d", "until": "29d", "reason": "INC-78"}));
    let answer = export(&server, vec![span(1, "req_in_window", 30 * DAY_NS), span(2, "req_outside", 40 * DAY_NS)]);
    assert_eq!(rejected_spans(&answer), 1, "{answer}");
    assert_eq!(server.get_json("/api/v1/lookup/req_in_window").0, 200);
    assert_eq!(server.get_json("/api/v1/lookup/req_outside").0, 404);
}

#[test]
fn without_retention_by_age_old_spans_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--retention-days", "0"]);
    let answer = export(&server, vec![span(1, "req_ancient", 400 * DAY_NS)]);
    assert_eq!(answer["partialSuccess"], Value::Null, "{answer}");
}
