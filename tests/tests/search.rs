//! Full-text search through the running server.

mod common;

use std::time::{Duration, Instant};

use common::replay::replay;
use common::{fixture_dirs, manifest, Server};
use serde_json::Value;

fn search_until_found(server: &Server, query: &str, want: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    let url = format!("/api/v1/search?q={}&limit=50", urlencode(query));
    loop {
        let (status, answer) = server.get_json(&url);
        assert_eq!(status, 200, "{answer}");
        if answer["results"].as_array().map_or(0, |r| r.len()) >= want || Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn request_ids(answer: &Value) -> Vec<String> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["request"]["request_id"].as_str())
        .map(String::from)
        .collect()
}

#[test]
fn a_question_phrase_finds_its_request_with_a_highlighted_snippet() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let fixture =
        fixture_dirs().into_iter().find(|f| f.to_string_lossy().ends_with("openllmetry-http-protobuf")).unwrap();
    replay(&server, &fixture);
    let manifest = manifest(&fixture);
    let (request_id, expected) = manifest["requests"].as_object().unwrap().iter().next().unwrap();
    let question = expected["question"].as_str().unwrap();
    let answer = search_until_found(&server, &format!("\"{question}\""), 1);
    assert!(request_ids(&answer).contains(request_id), "{answer}");
    let first = &answer["results"][0];
    let snippet = first["matches"][0]["snippet"].as_str().unwrap();
    let (from, to) = (
        first["matches"][0]["highlights"][0][0].as_u64().unwrap(),
        first["matches"][0]["highlights"][0][1].as_u64().unwrap(),
    );
    assert!(!snippet[from as usize..to as usize].is_empty());
    assert!(answer["index_committed_at"].is_string());
}

#[test]
fn incident_requests_are_found_by_prompt_version_and_failure() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let fixture = fixture_dirs().into_iter().find(|f| f.to_string_lossy().ends_with("otel-genai-grpc")).unwrap();
    replay(&server, &fixture);
    let manifest = manifest(&fixture);
    let expected: Vec<&String> = manifest["requests"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["expected_outcome"] == "truncated")
        .map(|(id, _)| id)
        .collect();
    assert!(!expected.is_empty());
    let answer = search_until_found(&server, "prompt_version:v8 finish_reason:length", expected.len());
    let mut found = request_ids(&answer);
    found.sort();
    let mut expected: Vec<String> = expected.into_iter().cloned().collect();
    expected.sort();
    assert_eq!(found, expected);
}

#[test]
fn a_malformed_query_gets_400_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (status, answer) = server.get_json("/api/v1/search?q=refund%20%22policy");
    assert_eq!(status, 400);
    assert_eq!(answer["position"], 7);
}

#[test]
fn data_acknowledged_before_a_crash_becomes_searchable_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    // An index that never commits on its own: the crash lands between store and index.
    let mut server = Server::start_with(dir.path(), &["--index-commit-interval-secs", "3600"]);
    let fixture = fixture_dirs().into_iter().find(|f| f.to_string_lossy().ends_with("openinference-grpc")).unwrap();
    replay(&server, &fixture);
    let (_, before) = server.get_json("/api/v1/search?q=kind:llm&limit=50");
    assert_eq!(before["total"], 0, "the index committed before the crash; the test proves nothing");
    server.kill();
    server.restart();
    let requests = manifest(&fixture)["requests"].as_object().unwrap().len();
    let answer = search_until_found(&server, "kind:llm", requests);
    assert_eq!(answer["total"].as_u64(), Some(requests as u64));
}
