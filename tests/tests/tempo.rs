//! The Tempo-compatible API that Grafana's Tempo data source calls: a trace by id decodes
//! with `opentelemetry-proto` and holds every stored span and attribute; search, tags and
//! the echo probe answer as Tempo does.

mod common;

use common::replay::replay;
use common::{fixture_dirs, Server};
use prost::Message;
use serde_json::Value;
use tracehound_proto::tempo::TraceByIdResponse;

fn loaded() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    for fixture in fixture_dirs() {
        assert!(replay(&server, &fixture) > 0);
    }
    (dir, server)
}

/// Every span of a request view, depth first.
fn view_spans(nodes: &Value, out: &mut Vec<Value>) {
    for node in nodes.as_array().into_iter().flatten() {
        out.push(node.clone());
        view_spans(&node["children"], out);
    }
}

fn some_trace(server: &Server) -> (String, Value) {
    let (_, list) = server.get_json("/api/v1/requests?limit=20");
    let trace_id = list["requests"][0]["trace_id"].as_str().unwrap().to_string();
    let (status, view) = server.get_json(&format!("/api/v1/traces/{trace_id}"));
    assert_eq!(status, 200, "{view}");
    (trace_id, view)
}

#[test]
fn a_trace_by_id_in_protobuf_holds_every_stored_span_and_attribute() {
    let (_dir, server) = loaded();
    let (trace_id, view) = some_trace(&server);
    let response = reqwest::blocking::Client::new()
        .get(server.api(&format!("/api/v2/traces/{trace_id}")))
        .header("accept", "application/protobuf")
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/protobuf");
    let answer = TraceByIdResponse::decode(response.bytes().unwrap()).expect("tempopb.TraceByIDResponse");
    let spans: Vec<_> = answer
        .trace
        .expect("a trace")
        .resource_spans
        .into_iter()
        .flat_map(|r| r.scope_spans)
        .flat_map(|s| s.spans)
        .collect();
    let mut stored = Vec::new();
    view_spans(&view["spans"], &mut stored);
    assert_eq!(spans.len(), stored.len());
    for node in stored {
        let span_id = node["span_id"].as_str().unwrap();
        let span = spans.iter().find(|s| hex::encode(&s.span_id) == span_id).expect("every stored span");
        let keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
        let stored_keys: Vec<&str> =
            node["raw"]["attributes"].as_array().unwrap().iter().map(|kv| kv["key"].as_str().unwrap()).collect();
        assert_eq!(keys, stored_keys, "span {span_id}");
        assert_eq!(hex::encode(&span.trace_id), trace_id);
    }
}

#[test]
fn a_trace_by_id_in_json_lists_its_batches_as_tempo_v1_does() {
    let (_dir, server) = loaded();
    let (trace_id, _) = some_trace(&server);
    let (status, answer) = server.get_json(&format!("/api/traces/{trace_id}"));
    assert_eq!(status, 200, "{answer}");
    let first = &answer["batches"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(first["traceId"].as_str(), Some(trace_id.as_str()), "{answer}");
}

#[test]
fn an_unknown_trace_is_404() {
    let (_dir, server) = loaded();
    assert_eq!(server.get_json(&format!("/api/v2/traces/{}", "ab".repeat(16))).0, 404);
}

#[test]
fn search_finds_traces_by_service_and_status() {
    let (_dir, server) = loaded();
    let q = urlencode(r#"{resource.service.name="support-agent" && status=error}"#);
    let (status, answer) = server.get_json(&format!("/api/search?q={q}&limit=50"));
    assert_eq!(status, 200, "{answer}");
    let traces = answer["traces"].as_array().unwrap();
    assert!(!traces.is_empty(), "{answer}");
    for t in traces {
        let (_, view) = server.get_json(&format!("/api/v1/traces/{}", t["traceID"].as_str().unwrap()));
        assert_eq!(view["summary"]["status"], "error", "{t}");
        assert_eq!(t["rootServiceName"], "support-agent");
    }
}

#[test]
fn unserved_traceql_is_a_400_that_says_what_is_served() {
    let (_dir, server) = loaded();
    let q = urlencode(r#"{span.http.method="GET"}"#);
    let (status, answer) = server.get_json(&format!("/api/search?q={q}"));
    assert_eq!(status, 400);
    assert!(answer["error"].as_str().unwrap_or_default().contains("service.name, name, status, duration"), "{answer}");
}

#[test]
fn tag_values_list_the_services_and_the_probe_echoes() {
    let (_dir, server) = loaded();
    let (_, values) = server.get_json("/api/v2/search/tag/resource.service.name/values");
    assert!(values["tagValues"].as_array().unwrap().iter().any(|v| v["value"] == "support-agent"), "{values}");
    let (_, tags) = server.get_json("/api/v2/search/tags");
    assert!(tags["scopes"].as_array().unwrap().iter().any(|s| s["name"] == "resource"), "{tags}");
    let echo = reqwest::blocking::get(server.api("/api/echo")).unwrap().text().unwrap();
    assert_eq!(echo, "echo");
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
