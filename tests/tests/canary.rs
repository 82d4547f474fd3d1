//! Canary and shadow verdicts end to end. The canary on the labelled scenarios: rollback for
//! the prompt scenario's new prompt against the old one and for the model scenario's new
//! snapshot against the old one, and no rollback for a value that fails like its peers (a
//! schema bump on healthy services, a prompt that arrived in the middle of an index incident).
//! The shadow: requests naming the request they shadow, posted over OTLP/HTTP, are paired.

mod common;

use common::otlp::{export, post_protobuf, text};
use common::scenarios::{encode, replayed, Replayed};
use common::Server;
use prost::Message;
use serde_json::Value;
use tracehound_proto::trace::v1::Span;

fn canary(r: &Replayed, dimension: &str, candidate: &str, baseline: &str) -> Value {
    let (since, until) = r.day();
    let path = format!(
        "/api/v1/canary?dimension={dimension}&candidate={candidate}&baseline={baseline}&since={}&until={}",
        encode(since),
        encode(until)
    );
    let (status, answer) = r.server.get_json(&path);
    assert_eq!(status, 200, "{answer}");
    answer
}

#[test]
fn the_canary_rolls_back_the_prompt_that_broke_the_support_answers() {
    let r = replayed("prompt-regression");
    let answer = canary(&r, "prompt_version", "v8", "v7");
    assert_eq!(answer["verdict"], "rollback", "{}", serde_json::to_string_pretty(&answer).unwrap());
}

#[test]
fn the_canary_rolls_back_the_new_model_snapshot() {
    let r = replayed("model-regression");
    let answer = canary(&r, "response_model", "gpt-4o-2024-11-20", "gpt-4o-2024-08-06");
    assert_eq!(answer["verdict"], "rollback", "{}", serde_json::to_string_pretty(&answer).unwrap());
}

#[test]
fn the_canary_does_not_roll_back_a_schema_bump_on_services_that_do_not_fail() {
    let r = replayed("prompt-regression");
    // The get_quote schema bump 3 minutes after the prompt change, on services without failures.
    let answer = canary(&r, "tool_schema_version", "get_quote@5.2.0", "get_quote@5.1.1");
    assert_ne!(answer["verdict"], "rollback", "{}", serde_json::to_string_pretty(&answer).unwrap());
}

#[test]
fn the_canary_does_not_roll_back_a_prompt_that_arrived_during_an_incident_and_fails_like_its_peers() {
    let r = replayed("infra-retrieval");
    // research_system v4 -> v5, 12 minutes after the index broke every service's answers.
    let answer = canary(&r, "prompt_version", "v5", "v4");
    let context = serde_json::to_string_pretty(&answer).unwrap();
    assert_ne!(answer["verdict"], "rollback", "{context}");
    let suspect = answer["triggers"].as_array().unwrap().iter().find(|t| t["name"] == "suspect_share").unwrap();
    assert!(suspect["detail"].as_str().unwrap().contains("concurrent peers"), "{context}");
}

fn request(n: u8, request_id: &str, shadow_of: Option<&str>, error: bool) -> Span {
    let start = 1_790_000_000_000_000_000u64 + u64::from(n) * 1_000_000_000;
    let mut attributes = vec![text("request.id", request_id), text("gen_ai.operation.name", "chat")];
    attributes.extend(shadow_of.map(|primary| text("tracehound.shadow_of", primary)));
    Span {
        trace_id: vec![n; 16],
        span_id: vec![n; 8],
        name: "chat gpt-4o".into(),
        start_time_unix_nano: start,
        end_time_unix_nano: start + 300_000_000,
        attributes,
        status: error.then(|| tracehound_proto::trace::v1::Status { code: 2, message: "boom".into() }),
        ..Default::default()
    }
}

#[test]
fn a_shadow_request_is_paired_with_the_request_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let spans =
        vec![request(1, "req_primary", None, false), request(2, "req_primary_shadow", Some("req_primary"), true)];
    assert_eq!(post_protobuf(&server, export(spans).encode_to_vec()).status().as_u16(), 200);
    let (status, answer) = server.get_json("/api/v1/shadow?since=2026-09-01T00:00:00Z&until=2026-10-01T00:00:00Z");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["pairs"], 1, "{answer}");
    assert_eq!(answer["verdict"], "hold", "one pair decides nothing: {answer}");
    let output = std::process::Command::new(common::binary())
        .args(["shadow", "--since", "2026-09-01T00:00:00Z", "--until", "2026-10-01T00:00:00Z", "--api-url"])
        .arg(server.api(""))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.starts_with("HOLD: 1 shadow requests paired"), "{text}");
}
