//! Evidence travels: `tracehound export` writes stored requests as OTLP/JSON lines, and
//! `tracehound import` sends them into a fresh server, which then shows the very same
//! request views, scores posted to the API included.

mod common;

use std::path::Path;
use std::process::Command;

use common::replay::replay;
use common::{binary, fixture_dirs, Server};
use serde_json::{json, Value};

/// Every fixture replayed, and one score posted to the API for a request id.
fn loaded() -> (tempfile::TempDir, Server, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("from"));
    for fixture in fixture_dirs() {
        assert!(replay(&server, &fixture) > 0);
    }
    server.wait_indexed();
    let (status, list) = server.get_json("/api/v1/requests?limit=1000");
    assert_eq!(status, 200, "{list}");
    let ids: Vec<String> =
        list["requests"].as_array().unwrap().iter().map(|r| r["request_id"].as_str().unwrap().to_string()).collect();
    let score = json!({"target_id": ids[0], "name": "helpfulness", "value": 0.25, "label": "fail",
        "explanation": "answered another question", "source": "llm-judge"});
    let response = reqwest::blocking::Client::new().post(server.api("/api/v1/scores")).json(&score).send().unwrap();
    assert_eq!(response.status().as_u16(), 201);
    (dir, server, ids)
}

fn run(args: &[&str]) -> std::process::Output {
    let output = Command::new(binary()).args(args).env_remove("OTEL_EXPORTER_OTLP_ENDPOINT").output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

fn export_to(server: &Server, file: &Path, extra: &[&str]) {
    let api = server.api("");
    let mut args =
        vec!["export", "--since", "365d", "--api-url", api.trim_end_matches('/'), "-o", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    run(&args);
}

#[test]
fn an_imported_export_shows_the_same_request_views() {
    let (dir, from, ids) = loaded();
    let file = dir.path().join("export.jsonl");
    export_to(&from, &file, &[]);
    let to = Server::start(&dir.path().join("to"));
    let output = run(&["import", file.to_str().unwrap(), "--endpoint", to.otlp_http("").trim_end_matches('/')]);
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("imported "), "{output:?}");
    for id in &ids {
        let (a, b) = (from.get_json(&format!("/api/v1/requests/{id}")), to.get_json(&format!("/api/v1/requests/{id}")));
        assert_eq!(b.0, 200, "{id} missing after the import");
        assert_eq!(difference(&a.1, &b.1, ""), None, "{id} differs after the round trip");
    }
    let (_, view) = to.get_json(&format!("/api/v1/requests/{}", ids[0]));
    let score =
        view["scores"].as_array().unwrap().iter().find(|s| s["name"] == "helpfulness").expect("the posted score");
    assert_eq!((score["source"].as_str(), score["target_kind"].as_str()), (Some("llm-judge"), Some("request")));
}

#[test]
fn an_export_holds_one_trace_export_per_request_and_only_what_the_query_matches() {
    let (dir, from, _) = loaded();
    let file = dir.path().join("refunds.jsonl");
    export_to(&from, &file, &["--q", "refund"]);
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    let traces: Vec<&Value> = lines.iter().filter(|l| l.get("resourceSpans").is_some()).collect();
    let (_, found) = from.get_json("/api/v1/search?q=refund&limit=200");
    assert_eq!(traces.len() as u64, found["total"].as_u64().unwrap(), "one trace export per matching request");
    assert!(lines.iter().all(|l| l.get("resourceSpans").is_some() || l.get("resourceLogs").is_some()));
}

#[test]
fn an_import_stops_at_a_bad_line_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let to = Server::start(&dir.path().join("to"));
    let file = dir.path().join("bad.jsonl");
    std::fs::write(&file, "{\"resourceSpans\": []}\nnot json\n").unwrap();
    let output = Command::new(binary())
        .args(["import", file.to_str().unwrap(), "--endpoint", to.otlp_http("").trim_end_matches('/')])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 2") && stderr.contains("not JSON"), "{stderr}");
}

/// The first place two JSON values differ, as a path and both sides.
fn difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                difference(x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null), &format!("{at}.{k}"))
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(i, (p, q))| difference(p, q, &format!("{at}[{i}]")))
        }
        _ if a == b => None,
        _ => Some(format!("{at}: {} vs {}", cut(a), cut(b))),
    }
}

fn cut(v: &Value) -> String {
    let text = v.to_string();
    text.chars().take(300).collect()
}
