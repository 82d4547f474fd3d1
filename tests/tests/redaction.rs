//! Redaction at ingest: secrets never reach the data directory, markers take their place,
//! evidence stays exact, and nothing is redacted unless asked for.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::otlp::{export_bytes, post_protobuf, text};
use common::{mentions, Server};
use serde_json::Value;
use tracehound_proto::trace::v1::Span;

const EMAIL: &str = "jane.roe@example.org";
const CARD: &str = "4111 1111 1111 1111";
const API_KEY: &str = "sk-proj-Zx9Qw8Er7Ty6Ui5Op4As3Df2";
const REQUEST_ID: &str = "req_8f2c1";

/// Evidence that sits next to the secrets and must come back exactly.
const EVIDENCE: [&str; 5] = [REQUEST_ID, "B-31726", "2024-08-06T10:00:00Z", "gpt-4o-2024-08-06", "v1.4.2"];

fn leaky_span() -> Span {
    let question =
        format!("I am {EMAIL}, card {CARD}, key {API_KEY}. Where is order B-31726 placed 2024-08-06T10:00:00Z?");
    let messages = serde_json::json!([{"role": "user", "parts": [{"type": "text", "content": question}]}]);
    Span {
        trace_id: vec![7; 16],
        span_id: vec![7; 8],
        name: "chat gpt-4o".into(),
        start_time_unix_nano: 1_790_000_000_000_000_000,
        end_time_unix_nano: 1_790_000_000_500_000_000,
        attributes: vec![
            text("request.id", REQUEST_ID),
            text("gen_ai.operation.name", "chat"),
            text("gen_ai.request.model", "gpt-4o"),
            text("gen_ai.response.model", "gpt-4o-2024-08-06"),
            text("gen_ai.prompt.version", "v1.4.2"),
            text("gen_ai.input.messages", &messages.to_string()),
            text("app.customer_note", &format!("contact {EMAIL} about card {CARD}")),
        ],
        ..Default::default()
    }
}

fn ingest_and_lookup(server: &Server) -> Value {
    assert_eq!(post_protobuf(server, export_bytes(vec![leaky_span()])).status().as_u16(), 200);
    let (status, answer) = server.get_json(&format!("/api/v1/lookup/{REQUEST_ID}"));
    assert_eq!(status, 200, "{answer}");
    answer
}

/// The raw forms of the secrets, as they may sit in any file.
fn secret_forms() -> Vec<String> {
    vec![EMAIL.into(), CARD.into(), CARD.replace(' ', ""), API_KEY.into()]
}

/// Files under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            pending.extend(std::fs::read_dir(&path).expect("read dir").flatten().map(|e| e.path()));
        } else if let Ok(bytes) = std::fs::read(&path) {
            if bytes.windows(needle.len()).any(|w| w == needle) {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

fn search_hits(server: &Server, query: &str) -> Value {
    let url = format!("/api/v1/search?q={}&limit=50", query.replace(' ', "%20").replace('"', "%22"));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, answer) = server.get_json(&url);
        assert_eq!(status, 200, "{answer}");
        if answer["results"].as_array().is_some_and(|r| !r.is_empty()) || Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The first `redactions` object anywhere in the answer.
fn redactions(value: &Value) -> Option<&serde_json::Map<String, Value>> {
    match value {
        Value::Object(map) => {
            map.get("redactions").and_then(Value::as_object).or_else(|| map.values().find_map(redactions))
        }
        Value::Array(items) => items.iter().find_map(redactions),
        _ => None,
    }
}

#[test]
fn secrets_are_stored_as_markers_and_the_evidence_around_them_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--redact"]);
    let answer = ingest_and_lookup(&server);
    for secret in secret_forms() {
        assert!(!mentions(&answer, &secret), "{secret} came back from the API: {answer}");
    }
    for marker in ["[REDACTED:email]", "[REDACTED:card]", "[REDACTED:api_key]"] {
        assert!(mentions(&answer, marker), "{marker} missing: {answer}");
    }
    for evidence in EVIDENCE {
        assert!(mentions(&answer, evidence), "{evidence} was lost: {answer}");
    }
}

#[test]
fn the_span_evidence_counts_what_was_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--redact"]);
    let answer = ingest_and_lookup(&server);
    let counts = redactions(&answer).unwrap_or_else(|| panic!("no redaction counts: {answer}"));
    // The email and the card sit in the message and in the note, raw and normalized.
    assert!(counts["email"].as_u64().unwrap() >= 2, "{counts:?}");
    assert!(counts["card"].as_u64().unwrap() >= 2, "{counts:?}");
    assert!(counts["api_key"].as_u64().unwrap() >= 1, "{counts:?}");
}

#[test]
fn redactions_are_counted_per_rule_in_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--redact"]);
    ingest_and_lookup(&server);
    let metrics = server.client().get(server.api("/metrics")).send().unwrap().text().unwrap();
    for rule in ["email", "card", "api_key"] {
        let series = format!("tracehound_redactions_total{{rule=\"{rule}\"}} ");
        let line = metrics.lines().find(|l| l.starts_with(&series)).unwrap_or_else(|| panic!("{series}: {metrics}"));
        let count: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(count >= 1.0, "{line}");
    }
}

#[test]
fn the_markers_are_searchable() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--redact"]);
    ingest_and_lookup(&server);
    let answer = search_hits(&server, "\"REDACTED email\" B-31726");
    assert!(mentions(&answer, REQUEST_ID), "{answer}");
}

#[test]
fn the_raw_secrets_appear_in_no_file_under_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_with(dir.path(), &["--redact"]);
    ingest_and_lookup(&server);
    // Searchable means the index committed what it has; stopping flushes the rest.
    search_hits(&server, "B-31726");
    assert_eq!(server.terminate(), Some(0));
    // Store values are LZ4-compressed, so a raw value could in principle hide inside a
    // compressed block and this byte scan alone would be weak; LZ4 keeps a string's first
    // occurrence as a literal, though, and the control test below shows the scan does find
    // the same secrets when redaction is off. The API assertions above cover the decoded view.
    for secret in secret_forms() {
        let files = files_containing(dir.path(), secret.as_bytes());
        assert!(files.is_empty(), "{secret} found in {files:?}");
    }
}

#[test]
fn without_redaction_the_values_are_kept_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let answer = ingest_and_lookup(&server);
    for secret in [EMAIL, CARD, API_KEY] {
        assert!(mentions(&answer, secret), "{secret} was altered: {answer}");
    }
    assert!(!mentions(&answer, "[REDACTED:"), "{answer}");
    assert!(redactions(&answer).is_none(), "{answer}");
    search_hits(&server, "B-31726");
    assert_eq!(server.terminate(), Some(0));
    // The control for the byte scan above: the same scan sees unredacted values on disk.
    assert!(!files_containing(dir.path(), EMAIL.as_bytes()).is_empty(), "the scan cannot see stored values");
}
