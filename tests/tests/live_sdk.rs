//! Live traffic from the real OpenTelemetry Python SDK and its OTLP exporters.

mod common;

use std::path::Path;
use std::process::Command;

use common::tls::TestTls;
use common::{mentions, Server};

fn python() -> String {
    std::env::var("TRACEHOUND_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn export_live(protocol: &str, endpoint: &str, run_id: &str) -> serde_json::Value {
    export_live_trusting(protocol, endpoint, run_id, None)
}

/// Exports with the SDK, over TLS checked against `ca` when given.
fn export_live_trusting(protocol: &str, endpoint: &str, run_id: &str, ca: Option<&Path>) -> serde_json::Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python/export_live.py");
    let output =
        Command::new(python()).arg(script).args([protocol, endpoint, run_id]).args(ca).output().expect(
            "run python (make test installs the OpenTelemetry SDK into target/pyenv and sets TRACEHOUND_PYTHON)",
        );
    assert!(output.status.success(), "exporter failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("exporter prints JSON")
}

fn assert_exported_requests_resolve(server: &Server, sent: &serde_json::Value) {
    for request in sent["requests"].as_array().unwrap() {
        let request_id = request["request_id"].as_str().unwrap();
        let (status, answer) = server.get_json(&format!("/api/v1/lookup/{request_id}"));
        assert_eq!(status, 200, "{request_id}: {answer}");
        assert!(mentions(&answer, request["question"].as_str().unwrap()), "question missing");
        assert!(mentions(&answer, request["answer"].as_str().unwrap()), "answer missing");
        assert!(mentions(&answer, "lookup_order"), "tool call missing");
        assert!(mentions(&answer, "gpt-4o-2024-08-06"), "served model missing");
        assert_eq!(answer["request"]["versions"]["prompt_version"][0], "v42");
    }
    let session = sent["session_id"].as_str().unwrap();
    let (status, answer) = server.get_json(&format!("/api/v1/sessions/{session}"));
    assert_eq!(status, 200);
    assert_eq!(answer["requests"].as_array().unwrap().len(), 3);
}

#[test]
fn the_python_sdk_exports_over_grpc_and_requests_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let sent = export_live("grpc", &server.grpc_endpoint(), "grpc1");
    assert_exported_requests_resolve(&server, &sent);
}

#[test]
fn the_python_sdk_exports_over_http_and_requests_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let sent = export_live("http", &format!("http://{}", server.http_addr), "http1");
    assert_exported_requests_resolve(&server, &sent);
}

#[test]
fn an_error_status_on_a_tool_marks_the_request_failed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let sent = export_live("http", &format!("http://{}", server.http_addr), "err1");
    let failing = sent["requests"][2]["request_id"].as_str().unwrap();
    let (_, answer) = server.get_json(&format!("/api/v1/lookup/{failing}"));
    assert_eq!(answer["request"]["summary"]["status"], "error");
}

#[test]
fn the_python_sdk_exports_over_grpc_with_tls_and_requests_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let tls = TestTls::generate(&dir.path().join("tls"));
    let server = Server::start_tls(&dir.path().join("data"), &tls, &[]);
    assert!(server.grpc_endpoint().starts_with("https://"));
    let sent = export_live_trusting("grpc", &server.grpc_endpoint(), "grpctls1", Some(&tls.ca_path));
    assert_exported_requests_resolve(&server, &sent);
}

#[test]
fn the_python_sdk_exports_over_https_and_requests_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let tls = TestTls::generate(&dir.path().join("tls"));
    let server = Server::start_tls(&dir.path().join("data"), &tls, &[]);
    let endpoint = format!("https://{}", server.http_addr);
    let sent = export_live_trusting("http", &endpoint, "httptls1", Some(&tls.ca_path));
    assert_exported_requests_resolve(&server, &sent);
}
