//! An export sent to the wrong port or path is answered with where to send it, and counted,
//! instead of an empty 404 or an error the SDK cannot explain.

mod common;

use common::otlp::{export, export_bytes};
use common::Server;
use tracehound_proto::collector::trace::v1::trace_service_client::TraceServiceClient;
use tracehound_proto::rpc;

fn refused(server: &Server, reason: &str) -> f64 {
    let text = reqwest::blocking::get(server.api("/metrics")).expect("metrics").text().expect("text");
    text.lines()
        .filter(|l| l.starts_with("tracehound_refused_exports_total") && l.contains(&format!("reason=\"{reason}\"")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn a_post_to_the_otlp_http_port_without_the_path_names_the_right_path_and_is_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    let response = reqwest::blocking::Client::new()
        .post(server.otlp_http("/"))
        .header("content-type", "application/x-protobuf")
        .body(export_bytes(vec![]))
        .send()
        .expect("OTLP/HTTP reachable");
    assert_eq!(response.status().as_u16(), 404);
    let body = response.bytes().expect("body");
    let status = <rpc::Status as prost::Message>::decode(&body[..]).expect("a google.rpc.Status body");
    assert!(status.message.contains("POST /v1/traces"), "{}", status.message);
    assert_eq!(refused(&server, "not_found"), 1.0);
}

#[test]
fn otlp_posted_to_the_api_port_is_told_where_the_receivers_listen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    let response = reqwest::blocking::Client::new()
        .post(server.api("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(export_bytes(vec![]))
        .send()
        .expect("API reachable");
    assert_eq!(response.status().as_u16(), 404);
    let body: serde_json::Value = response.json().expect("a JSON error");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(error.contains("4318") && error.contains("/v1/traces"), "{error}");
    assert_eq!(refused(&server, "not_found"), 1.0);
}

#[test]
fn grpc_sent_to_the_otlp_http_port_gets_a_grpc_answer_naming_the_grpc_port() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    let endpoint = server.otlp_http("");
    let status = tokio::runtime::Runtime::new().expect("runtime").block_on(async move {
        let mut client = TraceServiceClient::connect(endpoint).await.expect("the HTTP port accepts HTTP/2");
        client.export(export(vec![])).await.expect_err("no gRPC service on the HTTP port")
    });
    assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");
    assert!(status.message().contains("4317"), "{}", status.message());
    assert_eq!(refused(&server, "not_served"), 1.0);
}

#[test]
fn otlp_http_sent_to_the_grpc_port_is_told_the_http_port_and_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    let response = reqwest::blocking::Client::builder()
        .http1_only()
        .build()
        .expect("client")
        .post(format!("{}/v1/traces", server.grpc_endpoint()))
        .header("content-type", "application/x-protobuf")
        .body(export_bytes(vec![]))
        .send()
        .expect("an HTTP/1 answer, not a reset connection");
    assert_eq!(response.status().as_u16(), 404);
    let body = response.text().expect("body");
    assert!(body.contains("4318") && body.contains("/v1/traces"), "{body}");
    assert_eq!(refused(&server, "not_found"), 1.0);
}

#[test]
fn grpc_still_reaches_the_grpc_port() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    let endpoint = server.grpc_endpoint();
    tokio::runtime::Runtime::new().expect("runtime").block_on(async move {
        let mut client = TraceServiceClient::connect(endpoint).await.expect("the gRPC port accepts HTTP/2");
        client.export(export(vec![])).await.expect("an empty export is accepted");
    });
    assert_eq!(refused(&server, "not_found"), 0.0);
}
