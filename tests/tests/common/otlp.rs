//! Building and sending OTLP export requests by hand, for tests that need exact control
//! over what is on the wire.

use prost::Message;
use tracehound_proto::collector::trace::v1::ExportTraceServiceRequest;
use tracehound_proto::common::v1::{any_value, AnyValue, KeyValue};
use tracehound_proto::trace::v1::{ResourceSpans, ScopeSpans, Span};

use super::Server;

/// A string attribute.
pub fn text(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

/// An export request holding `spans` under one resource and scope.
pub fn export(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: None,
            scope_spans: vec![ScopeSpans { scope: None, spans, schema_url: String::new() }],
            schema_url: String::new(),
        }],
    }
}

/// The protobuf bytes of [`export`].
pub fn export_bytes(spans: Vec<Span>) -> Vec<u8> {
    export(spans).encode_to_vec()
}

/// POSTs a body to `/v1/traces` with the given content type and encoding.
pub fn post_traces(
    server: &Server,
    body: Vec<u8>,
    content_type: &str,
    encoding: Option<&str>,
) -> reqwest::blocking::Response {
    let mut request = reqwest::blocking::Client::new()
        .post(server.otlp_http("/v1/traces"))
        .header("content-type", content_type)
        .body(body);
    if let Some(encoding) = encoding {
        request = request.header("content-encoding", encoding);
    }
    request.send().expect("OTLP/HTTP reachable")
}

/// POSTs protobuf bytes to `/v1/traces`.
pub fn post_protobuf(server: &Server, body: Vec<u8>) -> reqwest::blocking::Response {
    post_traces(server, body, "application/x-protobuf", None)
}
