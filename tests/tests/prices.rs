//! `--prices FILE` replaces the built-in price table: costs follow the file, and a file that
//! cannot be used stops the server with a message naming it.

mod common;

use std::process::Command;

use common::replay::replay;
use common::{binary, fixture_dirs, Server};
use serde_json::Value;

/// Every LLM call of a request view: (served model, input tokens, output tokens).
fn calls(nodes: &Value, out: &mut Vec<(String, i64, i64)>) {
    for node in nodes.as_array().into_iter().flatten() {
        if let Some(model) = node["llm"]["response_model"].as_str() {
            let usage = &node["llm"]["usage"];
            out.push((model.to_string(), usage["input"].as_i64().unwrap_or(0), usage["output"].as_i64().unwrap_or(0)));
        }
        calls(&node["children"], out);
    }
}

#[test]
fn costs_follow_the_price_file() {
    let dir = tempfile::tempdir().unwrap();
    let prices = dir.path().join("prices.json");
    std::fs::write(
        &prices,
        r#"{"date": "2026-12-01", "models": {
            "gpt-4o": {"input": 1000, "output": 2000},
            "text-embedding-3-small": {"input": 100, "output": 0}}}"#,
    )
    .unwrap();
    let server = Server::start_with(&dir.path().join("data"), &["--prices", prices.to_str().unwrap()]);
    assert!(replay(&server, &fixture_dirs()[0]) > 0);
    let (_, list) = server.get_json("/api/v1/requests?limit=5");
    let id = list["requests"][0]["request_id"].as_str().unwrap().to_string();
    let (_, view) = server.get_json(&format!("/api/v1/requests/{id}"));
    let mut seen = Vec::new();
    calls(&view["spans"], &mut seen);
    assert!(!seen.is_empty(), "{view}");
    let expected: f64 = seen
        .iter()
        .map(
            |(model, i, o)| {
                if model.starts_with("gpt-4o") {
                    *i as f64 * 1000.0 + *o as f64 * 2000.0
                } else {
                    *i as f64 * 100.0
                }
            },
        )
        .sum::<f64>()
        / 1e6;
    let cost = view["summary"]["cost_usd"].as_f64().expect("a cost");
    assert!((cost - expected).abs() < 1e-9, "{cost} vs {expected}");
}

#[test]
fn a_price_file_that_cannot_be_used_stops_the_server_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let prices = dir.path().join("prices.json");
    std::fs::write(&prices, r#"{"date": "2026-12-01", "models": {"gpt-4o": {"input": -2, "output": 1}}}"#).unwrap();
    let output = Command::new(binary())
        .args(["serve", "--data-dir"])
        .arg(dir.path().join("data"))
        .args([
            "--prices",
            prices.to_str().unwrap(),
            "--otlp-grpc-addr",
            "127.0.0.1:0",
            "--otlp-http-addr",
            "127.0.0.1:0",
        ])
        .args(["--api-addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("prices.json") && stderr.contains("gpt-4o"), "{stderr}");
}
