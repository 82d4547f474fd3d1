//! Every captured fixture, replayed over its own transport into one running server,
//! resolves to its full evidence by the ids in its manifest.

mod common;

use common::replay::replay;

use common::{fixture_dirs, manifest, mentions, Server};
use serde_json::Value;

fn loaded_server() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    for fixture in fixture_dirs() {
        assert!(replay(&server, &fixture) > 0, "{} has no requests", fixture.display());
    }
    (dir, server)
}

fn has_content(fixture: &str) -> bool {
    !fixture.contains("nocontent")
}

#[test]
fn every_fixture_request_resolves_with_its_evidence() {
    let (_dir, server) = loaded_server();
    let mut checked = 0;
    for fixture in fixture_dirs() {
        let name = fixture.file_name().unwrap().to_string_lossy().to_string();
        let manifest = manifest(&fixture);
        for (request_id, expected) in manifest["requests"].as_object().expect("requests") {
            let (status, answer) = server.get_json(&format!("/api/v1/lookup/{request_id}"));
            assert_eq!(status, 200, "{name}: {request_id} not found: {answer}");
            let request = &answer["request"];
            assert_eq!(request["request_id"], Value::String(request_id.clone()), "{name}");
            assert_eq!(request["trace_id"], expected["trace_id"], "{name}: {request_id}");
            let model = expected["response_model"].as_str().unwrap();
            assert!(mentions(request, model), "{name}: {request_id}: served model {model} missing");
            let prompt_version = expected["prompt_version"].as_str().unwrap();
            assert!(
                request["versions"]["prompt_version"].as_array().is_some_and(|v| v.iter().any(|x| x == prompt_version)),
                "{name}: {request_id}: prompt version {prompt_version} missing from {}",
                request["versions"]
            );
            for call in expected["tool_calls"].as_array().into_iter().flatten() {
                let tool = call["tool_name"].as_str().unwrap();
                let call_id = call["tool_call_id"].as_str().unwrap();
                assert!(mentions(request, tool), "{name}: {request_id}: tool {tool} missing");
                assert!(mentions(request, call_id), "{name}: {request_id}: tool call {call_id} missing");
            }
            if has_content(&name) {
                let question = expected["question"].as_str().unwrap();
                let answer_text = expected["final_answer"].as_str().unwrap();
                assert!(mentions(request, question), "{name}: {request_id}: question missing");
                assert!(mentions(request, answer_text), "{name}: {request_id}: final answer missing");
            }
            checked += 1;
        }
    }
    assert!(checked >= 100, "checked only {checked} requests");
}

#[test]
fn every_fixture_tool_call_carries_its_result() {
    let (_dir, server) = loaded_server();
    for fixture in fixture_dirs().into_iter().filter(|f| has_content(&f.to_string_lossy())) {
        let manifest = manifest(&fixture);
        for (request_id, expected) in manifest["requests"].as_object().unwrap() {
            let (_, answer) = server.get_json(&format!("/api/v1/lookup/{request_id}"));
            for call in expected["tool_calls"].as_array().into_iter().flatten() {
                let span_id = call["span_id"].as_str().unwrap();
                let span = find_span(&answer["request"]["spans"], span_id).expect("tool span present");
                assert_eq!(span["kind"], "tool", "{request_id}");
                assert!(span["tool"]["arguments"].is_string(), "{request_id}: tool arguments missing: {span}");
                if expected["expected_outcome"] == "tool_error" {
                    assert_eq!(span["status"], "error", "{request_id}");
                    assert!(span["error"]["message"].is_string(), "{request_id}: tool error message missing: {span}");
                } else {
                    assert!(span["tool"]["result"].is_string(), "{request_id}: tool result missing: {span}");
                }
            }
        }
    }
}

#[test]
fn every_fixture_session_lists_its_requests() {
    let (_dir, server) = loaded_server();
    for fixture in fixture_dirs() {
        let manifest = manifest(&fixture);
        let requests = manifest["requests"].as_object().unwrap();
        for session in manifest["session_ids"].as_array().unwrap() {
            let session = session.as_str().unwrap();
            let (status, answer) = server.get_json(&format!("/api/v1/sessions/{session}"));
            assert_eq!(status, 200, "{session}: {answer}");
            let listed: Vec<&str> =
                answer["requests"].as_array().unwrap().iter().filter_map(|r| r["request_id"].as_str()).collect();
            let expected: Vec<&str> =
                requests.iter().filter(|(_, r)| r["session_id"] == session).map(|(id, _)| id.as_str()).collect();
            for id in &expected {
                assert!(listed.contains(id), "session {session} lacks {id}: {listed:?}");
            }
            assert_eq!(listed.len(), expected.len(), "session {session}");
        }
    }
}

#[test]
fn a_session_id_resolves_through_lookup() {
    let (_dir, server) = loaded_server();
    let manifest = manifest(&fixture_dirs()[0]);
    let session = manifest["session_ids"][0].as_str().unwrap();
    let (status, answer) = server.get_json(&format!("/api/v1/lookup/{session}"));
    assert_eq!(status, 200);
    assert_eq!(answer["kind"], "session");
}

#[test]
fn a_trace_id_resolves_through_lookup_without_a_time_range() {
    let (_dir, server) = loaded_server();
    let manifest = manifest(&fixture_dirs()[0]);
    let trace = manifest["trace_ids"][0].as_str().unwrap();
    let (status, answer) = server.get_json(&format!("/api/v1/lookup/{trace}"));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["request"]["trace_id"], trace);
}

#[test]
fn a_provider_response_id_resolves_through_lookup() {
    let (_dir, server) = loaded_server();
    let fixture = fixture_dirs().into_iter().find(|f| f.to_string_lossy().contains("otel-genai-grpc")).unwrap();
    let manifest = manifest(&fixture);
    let (request_id, _) = manifest["requests"].as_object().unwrap().iter().next().unwrap();
    let (_, answer) = server.get_json(&format!("/api/v1/lookup/{request_id}"));
    let response_id = find_response_id(&answer["request"]["spans"]).expect("an LLM span with a response id");
    let (status, by_response) = server.get_json(&format!("/api/v1/lookup/{response_id}"));
    assert_eq!(status, 200);
    assert_eq!(by_response["request"]["request_id"], request_id.as_str());
}

#[test]
fn an_unknown_id_is_not_found() {
    let (_dir, server) = loaded_server();
    let (status, _) = server.get_json("/api/v1/lookup/req_that_never_was");
    assert_eq!(status, 404);
}

fn find_span<'a>(spans: &'a Value, span_id: &str) -> Option<&'a Value> {
    for span in spans.as_array()? {
        if span["span_id"] == span_id {
            return Some(span);
        }
        if let Some(found) = find_span(&span["children"], span_id) {
            return Some(found);
        }
    }
    None
}

fn find_response_id(spans: &Value) -> Option<String> {
    for span in spans.as_array()? {
        if let Some(id) = span["llm"]["response_id"].as_str() {
            return Some(id.to_string());
        }
        if let Some(id) = find_response_id(&span["children"]) {
            return Some(id);
        }
    }
    None
}
