//! TLS on all three listeners (OTLP/gRPC, OTLP/HTTP, API) with a certificate the test
//! generates, and refusal to start on an incomplete or unusable certificate pair.

mod common;

use std::process::{Command, Stdio};

use common::otlp::{export, export_bytes, text};
use common::tls::TestTls;
use common::{binary, mentions, Server};
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use tracehound_proto::collector::trace::v1::trace_service_client::TraceServiceClient;
use tracehound_proto::trace::v1::Span;

fn span(seed: u8, request_id: &str, question: &str) -> Span {
    Span {
        trace_id: vec![seed; 16],
        span_id: vec![seed; 8],
        name: "chat gpt-4o".into(),
        start_time_unix_nano: 1_790_000_000_000_000_000,
        end_time_unix_nano: 1_790_000_000_100_000_000,
        attributes: vec![text("request.id", request_id), text("input.value", question)],
        ..Default::default()
    }
}

#[test]
fn otlp_http_and_the_api_round_trip_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let tls = TestTls::generate(&dir.path().join("tls"));
    let server = Server::start_tls(&dir.path().join("data"), &tls, &[]);
    assert!(server.otlp_http("/v1/traces").starts_with("https://"));
    let response = tls
        .client()
        .post(server.otlp_http("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(export_bytes(vec![span(3, "req_tls_http", "where is order B-7?")]))
        .send()
        .expect("OTLP/HTTP over TLS");
    assert_eq!(response.status().as_u16(), 200);
    let (status, answer) = server.get_json("/api/v1/lookup/req_tls_http");
    assert_eq!(status, 200, "{answer}");
    assert!(mentions(&answer, "where is order B-7?"), "{answer}");
}

/// Runs the CLI's `get` against the TLS server, with `TRACEHOUND_CA_CERT` when given.
fn cli_get(server: &Server, id: &str, ca: Option<&std::path::Path>) -> std::process::Output {
    let mut command = Command::new(binary());
    command.args(["get", id, "--api-url", &format!("https://{}", server.api_addr)]).env_remove("TRACEHOUND_CA_CERT");
    if let Some(ca) = ca {
        command.env("TRACEHOUND_CA_CERT", ca);
    }
    command.output().expect("run the CLI")
}

#[test]
fn the_cli_reads_the_api_over_https_trusting_the_ca_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let tls = TestTls::generate(&dir.path().join("tls"));
    let server = Server::start_tls(&dir.path().join("data"), &tls, &[]);
    let response = tls
        .client()
        .post(server.otlp_http("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(export_bytes(vec![span(4, "req_tls_cli", "is my refund through?")]))
        .send()
        .expect("OTLP/HTTP over TLS");
    assert_eq!(response.status().as_u16(), 200);
    let output = cli_get(&server, "req_tls_cli", Some(&tls.ca_path));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("is my refund through?"));
}

#[test]
fn the_cli_not_trusting_the_server_says_how_to_trust_it() {
    let dir = tempfile::tempdir().unwrap();
    let tls = TestTls::generate(&dir.path().join("tls"));
    let server = Server::start_tls(&dir.path().join("data"), &tls, &[]);
    let output = cli_get(&server, "req_any", None);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("TRACEHOUND_CA_CERT"), "{stderr}");
}

#[test]
fn otlp_grpc_round_trips_over_tls_with_tonic() {
    let dir = tempfile::tempdir().unwrap();
    let tls = TestTls::generate(&dir.path().join("tls"));
    let server = Server::start_tls(&dir.path().join("data"), &tls, &[]);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let answer = runtime.block_on(async {
        let channel = Channel::from_shared(server.grpc_endpoint())
            .unwrap()
            .tls_config(
                ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&tls.ca_pem)).domain_name("localhost"),
            )
            .unwrap()
            .connect()
            .await
            .expect("gRPC over TLS");
        let mut client = TraceServiceClient::new(channel);
        client.export(export(vec![span(4, "req_tls_grpc", "grpc over tls")])).await.unwrap().into_inner()
    });
    assert!(answer.partial_success.is_none_or(|p| p.rejected_spans == 0));
    assert_eq!(server.get_json("/api/v1/lookup/req_tls_grpc").0, 200);
}

#[test]
fn a_plaintext_client_gets_no_answer_from_a_tls_listener() {
    let dir = tempfile::tempdir().unwrap();
    let tls = TestTls::generate(&dir.path().join("tls"));
    let server = Server::start_tls(&dir.path().join("data"), &tls, &[]);
    let plain = format!("http://{}/readyz", server.api_addr);
    let answer = reqwest::blocking::get(&plain).ok().map(|r| r.status().as_u16());
    assert!(answer.is_none_or(|status| status >= 400), "plaintext got {answer:?}");
}

#[test]
fn a_client_not_trusting_the_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tls = TestTls::generate(&dir.path().join("tls"));
    let server = Server::start_tls(&dir.path().join("data"), &tls, &[]);
    let other_ca = TestTls::generate(&dir.path().join("other"));
    assert!(other_ca.client().get(server.api("/readyz")).send().is_err());
}

#[test]
fn sigterm_still_exits_cleanly_under_tls() {
    let dir = tempfile::tempdir().unwrap();
    let tls = TestTls::generate(&dir.path().join("tls"));
    let mut server = Server::start_tls(&dir.path().join("data"), &tls, &[]);
    assert_eq!(server.get_json("/readyz").0, 200);
    assert_eq!(server.terminate(), Some(0));
}

/// Runs `tracehound serve` with `flags`, expects it to refuse, and returns its standard error.
fn serve_fails(data_dir: &std::path::Path, flags: &[&str]) -> String {
    let output = Command::new(binary())
        .arg("serve")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--otlp-grpc-addr", "127.0.0.1:0", "--otlp-http-addr", "127.0.0.1:0", "--api-addr", "127.0.0.1:0"])
        .args(flags)
        .stdin(Stdio::null())
        .output()
        .expect("run tracehound");
    assert!(!output.status.success(), "started anyway");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_certificate_without_a_key_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let tls = TestTls::generate(&dir.path().join("tls"));
    let cert = tls.cert_path.display().to_string();
    let stderr = serve_fails(&dir.path().join("data"), &["--tls-cert", &cert]);
    assert!(stderr.contains("--tls-key"), "{stderr}");
}

#[test]
fn a_key_not_matching_the_certificate_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let tls = TestTls::generate(&dir.path().join("tls"));
    let other = TestTls::generate(&dir.path().join("other"));
    let (cert, key) = (tls.cert_path.display().to_string(), other.key_path.display().to_string());
    let stderr = serve_fails(&dir.path().join("data"), &["--tls-cert", &cert, "--tls-key", &key]);
    assert!(stderr.contains("do not load"), "{stderr}");
}

#[test]
fn a_certificate_file_that_is_not_pem_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let tls = TestTls::generate(&dir.path().join("tls"));
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let (cert, key) = (junk.display().to_string(), tls.key_path.display().to_string());
    let stderr = serve_fails(&dir.path().join("data"), &["--tls-cert", &cert, "--tls-key", &key]);
    assert!(stderr.contains("do not load"), "{stderr}");
}
