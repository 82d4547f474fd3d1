//! The MCP server, driven by the official Python `mcp` client over both transports:
//! streamable HTTP at `/mcp` on the API listener, and stdio through `tracehound mcp`.
//! Every tool is listed and called, answers stay within the size bound, and a read key is
//! required (and the call audited) when keys exist.
//!
//! `make test` installs the client into target/pyenv and sets `TRACEHOUND_PYTHON`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use common::keys::{add_key, get_json_as};
use common::otlp::{export, text};
use common::{binary, Server};
use prost::Message;
use serde_json::{json, Value};
use tracehound_proto::trace::v1::{span, Span, Status};

/// The most characters one tool answer holds (the server's bound).
const MAX_ANSWER_CHARS: usize = 20_000;

const TOOLS: &[&str] =
    &["lookup", "search", "failing", "versions", "triage", "postmortem", "get_span", "alerts", "series", "canary"];

/// The long request's trace id, span id and request id.
const LONG_TRACE: &str = "4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c";
const LONG_SPAN: &str = "4c4c4c4c4c4c4c4c";
const LONG_REQUEST: &str = "req_mcp_long";

fn python() -> String {
    std::env::var("TRACEHOUND_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Runs the Python client on `plan`; its JSON answer.
fn drive(plan: &Value) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/mcp_client.py");
    let output = Command::new(python())
        .arg(script)
        .arg(plan.to_string())
        .output()
        .expect("run python (make test installs the mcp client into target/pyenv and sets TRACEHOUND_PYTHON)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the client failed: {}\n{stdout}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("the client printed no JSON ({e}): {stdout}"))
}

fn now_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

/// The prompt of the long request: distinct words, so that a page boundary is visible.
fn long_prompt() -> String {
    (0..12_000).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ")
}

/// One LLM call `seconds_ago`, with a question of `words`, as an export.
fn llm_call(trace: &str, span: &str, request_id: &str, words: &str, seconds_ago: u64, error: bool) -> Vec<u8> {
    let start = now_nanos() - seconds_ago * 1_000_000_000;
    export(vec![Span {
        trace_id: hex::decode(trace).unwrap(),
        span_id: hex::decode(span).unwrap(),
        name: "chat gpt-4o".into(),
        kind: span::SpanKind::Client as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 700_000_000,
        attributes: vec![
            text("request.id", request_id),
            text("session.id", "sess_mcp"),
            text("gen_ai.operation.name", "chat"),
            text("gen_ai.request.model", "gpt-4o"),
            text("gen_ai.prompt.0.role", "user"),
            text("gen_ai.prompt.0.content", words),
            text("gen_ai.completion.0.role", "assistant"),
            text("gen_ai.completion.0.content", "The parcel left the depot."),
        ],
        status: error.then(|| Status { code: 2, message: "upstream timeout".into() }),
        ..Default::default()
    }])
    .encode_to_vec()
}

/// Posts the long request and a failing one, with `key` when given, and waits until both
/// are searchable.
fn load(server: &Server, key: Option<&str>) {
    let bodies = [
        llm_call(LONG_TRACE, LONG_SPAN, LONG_REQUEST, &long_prompt(), 120, false),
        llm_call(
            "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
            "5a5a5a5a5a5a5a5a",
            "req_mcp_fail",
            "Where is parcel WOMBAT-9?",
            60,
            true,
        ),
    ];
    for body in bodies {
        let mut request = reqwest::blocking::Client::new()
            .post(server.otlp_http("/v1/traces"))
            .header("content-type", "application/x-protobuf")
            .body(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        assert_eq!(request.send().expect("OTLP/HTTP reachable").status().as_u16(), 200);
    }
    if key.is_none() {
        server.wait_indexed();
    }
}

/// A call of every tool, `get_span` following its pages to the end.
fn every_tool_call() -> Value {
    json!([
        {"tool": "lookup", "arguments": {"id": LONG_REQUEST}},
        {"tool": "search", "arguments": {"query": "WOMBAT-9", "since": "1h"}},
        {"tool": "failing", "arguments": {"since": "1h"}},
        {"tool": "versions", "arguments": {"since": "1h"}},
        {"tool": "triage", "arguments": {"since": "1h"}},
        {"tool": "postmortem", "arguments": {"since": "30m"}},
        {"tool": "get_span", "arguments": {"trace_id": LONG_TRACE, "span_id": LONG_SPAN}, "follow_pages": true},
        {"tool": "alerts", "arguments": {}},
        {"tool": "series", "arguments": {"metric": "failing_share", "since": "1h", "step": "10m"}},
        {"tool": "canary", "arguments": {"dimension": "prompt_version", "candidate": "v8", "baseline": "v7", "since": "1h"}},
    ])
}

fn http_plan(server: &Server, key: Option<&str>, calls: Value) -> Value {
    json!({"transport": "http", "url": server.api("/mcp"), "key": key, "calls": calls})
}

fn stdio_plan(server: &Server, key: Option<&str>, calls: Value) -> Value {
    let env = key.map_or_else(|| json!({}), |key| json!({"TRACEHOUND_API_KEY": key}));
    json!({
        "transport": "stdio",
        "command": binary(),
        "args": ["mcp", "--api-url", server.api("")],
        "env": env,
        "calls": calls,
    })
}

fn result<'a>(answer: &'a Value, tool: &str) -> &'a Value {
    answer["results"].as_array().unwrap().iter().find(|r| r["tool"] == tool).unwrap_or_else(|| panic!("{answer}"))
}

fn texts(result: &Value) -> Vec<&str> {
    result["texts"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect()
}

/// Every tool listed, every call answered without error and within the bound; the long
/// prompt cut in `lookup` with the call that returns it, and whole across `get_span`'s pages.
fn assert_every_tool_answers_within_the_bound(answer: &Value) {
    assert!(answer.get("error").is_none(), "{answer}");
    let listed: Vec<&str> = answer["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    for tool in TOOLS {
        assert!(listed.contains(tool), "{tool} is listed: {listed:?}");
        let result = result(answer, tool);
        assert_eq!(result["is_error"], false, "{tool}: {result}");
        for text in texts(result) {
            assert!(text.chars().count() <= MAX_ANSWER_CHARS, "{tool} answered {} characters", text.chars().count());
        }
    }
    let lookup = texts(result(answer, "lookup")).concat();
    assert!(lookup.contains(LONG_REQUEST), "{lookup}");
    assert!(lookup.contains(&format!("get_span trace_id={LONG_TRACE} span_id={LONG_SPAN}")), "the cut names its call");
    assert!(!lookup.contains(&long_prompt()), "the long prompt is cut in lookup");
    let search = texts(result(answer, "search")).concat();
    assert!(search.contains("req_mcp_fail"), "{search}");
    let failing = texts(result(answer, "failing")).concat();
    assert!(failing.contains("req_mcp_fail"), "{failing}");
    let series = texts(result(answer, "series")).concat();
    assert!(series.contains("\"metric\":\"failing_share\""), "{series}");
    let alerts = texts(result(answer, "alerts")).concat();
    assert!(alerts.contains("\"evaluating\":true"), "{alerts}");
    let canary = texts(result(answer, "canary")).concat();
    assert!(canary.contains("\"verdict\":\"hold\""), "{canary}");
    let pages = texts(result(answer, "get_span"));
    assert!(pages.len() > 1, "the long span comes in pages");
    let joined: String = pages.iter().map(|page| page.split_once('\n').map_or(*page, |(_, chunk)| chunk)).collect();
    assert!(joined.contains(&long_prompt()), "the pages join to the span's whole text");
}

#[test]
fn every_tool_is_described_with_when_to_use_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let answer = drive(&http_plan(&server, None, json!([])));
    let tools = answer["tools"].as_array().unwrap_or_else(|| panic!("{answer}"));
    assert_eq!(tools.len(), TOOLS.len(), "{answer}");
    for tool in tools {
        let description = tool["description"].as_str().unwrap();
        assert!(description.contains("Use it") || description.contains("Start here"), "{tool}");
    }
    let lookup = tools.iter().find(|t| t["name"] == "lookup").unwrap();
    assert_eq!(lookup["required"], json!(["id"]));
}

#[test]
fn every_tool_answers_over_streamable_http_within_the_size_bound() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    load(&server, None);
    assert_every_tool_answers_within_the_bound(&drive(&http_plan(&server, None, every_tool_call())));
}

#[test]
fn every_tool_answers_over_stdio_within_the_size_bound() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    load(&server, None);
    assert_every_tool_answers_within_the_bound(&drive(&stdio_plan(&server, None, every_tool_call())));
}

#[test]
fn an_unknown_id_is_a_tool_error_the_agent_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let answer = drive(&http_plan(&server, None, json!([{"tool": "lookup", "arguments": {"id": "req_nowhere"}}])));
    let lookup = result(&answer, "lookup");
    assert_eq!(lookup["is_error"], true, "{lookup}");
    assert!(texts(lookup).concat().contains("404"), "{lookup}");
}

/// A server requiring keys, with an ingest, a read and an admin key of one tenant.
struct Keyed {
    _dir: tempfile::TempDir,
    server: Server,
    keys_file: std::path::PathBuf,
    ingest: String,
    read: String,
    admin: String,
}

fn keyed() -> Keyed {
    let dir = tempfile::tempdir().unwrap();
    let keys_file = dir.path().join("keys.json");
    let ingest = add_key(&keys_file, "acme", &["ingest"]);
    let read = add_key(&keys_file, "acme", &["read"]);
    let admin = add_key(&keys_file, "acme", &["admin"]);
    let server = Server::start_with(&dir.path().join("data"), &["--keys-file", keys_file.to_str().unwrap()]);
    load(&server, Some(&ingest));
    Keyed { _dir: dir, server, keys_file, ingest, read, admin }
}

fn lookup_call() -> Value {
    json!([{"tool": "lookup", "arguments": {"id": "req_mcp_fail"}}])
}

#[test]
fn over_http_a_read_key_is_required_when_keys_exist() {
    let k = keyed();
    let without = drive(&http_plan(&k.server, None, lookup_call()));
    assert!(without["error"].is_string(), "{without}");
    assert_eq!(without["http_statuses"], json!([401]), "{without}");
    let ingest_only = drive(&http_plan(&k.server, Some(&k.ingest), lookup_call()));
    assert!(ingest_only["error"].is_string(), "{ingest_only}");
    assert_eq!(ingest_only["http_statuses"], json!([403]), "{ingest_only}");
    let with_read = drive(&http_plan(&k.server, Some(&k.read), lookup_call()));
    let lookup = result(&with_read, "lookup");
    assert_eq!(lookup["is_error"], false, "{lookup}");
    assert!(texts(lookup).concat().contains("WOMBAT-9"), "{lookup}");
}

#[test]
fn over_stdio_a_read_key_is_required_when_keys_exist() {
    let k = keyed();
    let without = drive(&stdio_plan(&k.server, None, lookup_call()));
    let lookup = result(&without, "lookup");
    assert_eq!(lookup["is_error"], true, "{lookup}");
    assert!(texts(lookup).concat().contains("401"), "{lookup}");
    let with_read = drive(&stdio_plan(&k.server, Some(&k.read), lookup_call()));
    let lookup = result(&with_read, "lookup");
    assert_eq!(lookup["is_error"], false, "{lookup}");
    assert!(texts(lookup).concat().contains("WOMBAT-9"), "{lookup}");
}

#[test]
fn a_tool_call_is_audited_as_the_api_read_it_makes_with_the_callers_key() {
    let k = keyed();
    let answer = drive(&http_plan(&k.server, Some(&k.read), lookup_call()));
    assert_eq!(result(&answer, "lookup")["is_error"], false, "{answer}");
    let (status, trail) = get_json_as(&k.server, "/api/v1/audit?since=1h", &k.admin);
    assert_eq!(status, 200, "{trail}");
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&k.keys_file).unwrap()).unwrap();
    let read_id = stored["keys"][1]["id"].as_str().unwrap();
    let entry = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["route"] == "/api/v1/lookup/req_mcp_fail")
        .unwrap_or_else(|| panic!("the tool's read is in the trail: {trail}"));
    assert_eq!(entry["key_id"], read_id);
    assert_eq!(entry["status"], 200);
}
