//! Hostile input: every limit answers with a clear reason, and nothing else in the export
//! is lost.

mod common;

use common::otlp::{export_bytes as export, post_protobuf, text};
use common::Server;
use prost::Message;
use tracehound_proto::collector::trace::v1::ExportTraceServiceResponse;
use tracehound_proto::common::v1::{any_value, AnyValue, ArrayValue, KeyValue};
use tracehound_proto::trace::v1::{span::Event, Span, Status};

const START: u64 = 1_790_000_000_000_000_000;

fn span(id: u8, request_id: &str) -> Span {
    Span {
        trace_id: vec![id; 16],
        span_id: vec![id; 8],
        name: format!("span {id}"),
        start_time_unix_nano: START,
        end_time_unix_nano: START + 1_000,
        attributes: vec![text("request.id", request_id)],
        ..Default::default()
    }
}

/// Posts spans next to a good one; returns the partial success (rejected, message).
fn post_beside_a_good_span(server: &Server, bad: Span) -> (i64, String) {
    let body = export(vec![span(1, "req_good_neighbour"), bad]);
    let response = post_protobuf(server, body);
    assert_eq!(response.status().as_u16(), 200);
    let answer = ExportTraceServiceResponse::decode(response.bytes().unwrap()).unwrap();
    assert_eq!(server.get_json("/api/v1/lookup/req_good_neighbour").0, 200, "the good span was lost");
    answer.partial_success.map(|p| (p.rejected_spans, p.error_message)).unwrap_or_default()
}

#[test]
fn a_span_with_too_many_attributes_is_rejected_with_the_counts() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--max-attributes-per-span", "5"]);
    let mut bad = span(2, "req_many_attrs");
    bad.attributes.extend((0..10).map(|i| text(&format!("k{i}"), "v")));
    let (rejected, message) = post_beside_a_good_span(&server, bad);
    assert_eq!(rejected, 1);
    assert!(message.contains("has 11 attributes; the limit is 5"), "{message}");
}

#[test]
fn a_span_with_too_many_events_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--max-events-per-span", "2"]);
    let mut bad = span(2, "req_many_events");
    bad.events = (0..3).map(|i| Event { name: format!("e{i}"), time_unix_nano: START, ..Default::default() }).collect();
    let (rejected, message) = post_beside_a_good_span(&server, bad);
    assert_eq!(rejected, 1);
    assert!(message.contains("has 3 events; the limit is 2"), "{message}");
}

#[test]
fn a_value_over_the_cap_is_stored_truncated_with_a_marker_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--max-value-bytes", "1024"]);
    let mut big = span(2, "req_big_value");
    big.attributes.push(text("input.value", &"x".repeat(10_000)));
    let (rejected, message) = post_beside_a_good_span(&server, big);
    assert_eq!(rejected, 0);
    assert!(message.contains("truncated"), "{message}");
    let (_, answer) = server.get_json("/api/v1/lookup/req_big_value");
    let stored = answer["request"]["spans"][0]["input_value"].as_str().unwrap();
    assert!(stored.len() < 2_000 && stored.contains("truncated"), "{}", &stored[stored.len().saturating_sub(80)..]);
}

fn nested(depth: usize) -> AnyValue {
    let mut value = AnyValue { value: Some(any_value::Value::StringValue("bottom".into())) };
    for _ in 0..depth {
        value = AnyValue { value: Some(any_value::Value::ArrayValue(ArrayValue { values: vec![value] })) };
    }
    value
}

#[test]
fn nesting_beyond_the_depth_cap_is_stored_with_a_marker() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut deep = span(2, "req_deep");
    deep.attributes.push(KeyValue { key: "deep".into(), value: Some(nested(40)), ..Default::default() });
    let (rejected, message) = post_beside_a_good_span(&server, deep);
    assert_eq!(rejected, 0);
    assert!(message.contains("truncated"), "{message}");
    let (_, answer) = server.get_json("/api/v1/lookup/req_deep");
    assert!(answer.to_string().contains("too deeply nested"));
}

#[test]
fn nesting_beyond_what_protobuf_decodes_gets_400_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut deep = span(2, "req_too_deep");
    deep.attributes.push(KeyValue { key: "deep".into(), value: Some(nested(80)), ..Default::default() });
    let response = post_protobuf(&server, export(vec![deep]));
    assert_eq!(response.status().as_u16(), 400);
    let status = tracehound_proto::rpc::Status::decode(response.bytes().unwrap()).unwrap();
    assert!(status.message.contains("recursion limit"), "{}", status.message);
}

#[test]
fn invalid_utf8_gets_400_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut body = export(vec![span(2, "req_utf8_PLACEHOLDER")]);
    let at = body.windows(11).position(|w| w == b"PLACEHOLDER").unwrap();
    body[at] = 0xff;
    let response = post_protobuf(&server, body);
    assert_eq!(response.status().as_u16(), 400);
    let status = tracehound_proto::rpc::Status::decode(response.bytes().unwrap()).unwrap();
    assert!(status.message.contains("UTF-8"), "{}", status.message);
}

#[test]
fn a_span_without_a_start_time_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut bad = span(2, "req_no_time");
    bad.start_time_unix_nano = 0;
    let (rejected, message) = post_beside_a_good_span(&server, bad);
    assert_eq!(rejected, 1);
    assert!(message.contains("no timestamp"), "{message}");
}

#[test]
fn a_span_far_in_the_future_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut bad = span(2, "req_future");
    bad.start_time_unix_nano = 4_000_000_000_000_000_000;
    let (rejected, message) = post_beside_a_good_span(&server, bad);
    assert_eq!(rejected, 1);
    assert!(message.contains("ahead of the server clock"), "{message}");
}

#[test]
fn unknown_enum_values_are_kept_raw_and_read_as_unset() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut odd = span(2, "req_odd_enums");
    odd.kind = 42;
    odd.status = Some(Status { code: 9, message: "from the future".into() });
    let (rejected, _) = post_beside_a_good_span(&server, odd);
    assert_eq!(rejected, 0);
    let (_, answer) = server.get_json("/api/v1/lookup/req_odd_enums");
    let stored = &answer["request"]["spans"][0];
    assert_eq!(stored["raw"]["otel_kind"], 42);
    assert_eq!(stored["status"], "unset");
}
