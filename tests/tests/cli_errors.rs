//! What the CLI says when it is pointed at the wrong thing: a user's mistake gets one clear
//! line, never an empty message or a Rust backtrace.

mod common;

use std::process::Command;

use common::Server;

/// Runs `tracehound get some-id --api-url URL` with `RUST_BACKTRACE=1`; its stderr.
fn get_against(url: &str) -> (bool, String) {
    let out = Command::new(common::binary())
        .args(["get", "some-id", "--api-url", url])
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run the CLI");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn the_cli_pointed_at_the_otlp_http_port_says_it_is_not_the_api() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    let (ok, stderr) = get_against(server.otlp_http("").trim_end_matches('/'));
    assert!(!ok);
    assert!(stderr.contains("does not look like the Tracehound API"), "{stderr}");
    assert!(stderr.contains("4320"), "{stderr}");
}

#[test]
fn the_cli_pointed_at_the_otlp_grpc_port_says_what_it_reached() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    let (ok, stderr) = get_against(&server.grpc_endpoint());
    assert!(!ok);
    assert!(stderr.contains("OTLP/gRPC port"), "{stderr}");
}

#[test]
fn a_user_error_prints_no_backtrace_even_with_rust_backtrace_set() {
    let (ok, stderr) = get_against("http://127.0.0.1:9");
    assert!(!ok);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.to_lowercase().contains("backtrace"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}
