//! The web UI in a real headless Chromium, against the real binary loaded with every shared
//! fixture. Each test runs one scenario script (`tests/python/ui_*.py`, Selenium) and saves
//! screenshots to `tests/artifacts/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` and Selenium in the test venv; `make test`
//! installs all three and sets `TRACEHOUND_PYTHON`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::replay::replay;
use common::{fixture_dirs, manifest, Server};
use serde_json::{json, Value};

fn python() -> String {
    std::env::var("TRACEHOUND_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn artifacts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts")
}

/// Runs `tests/python/<script>` against the server; returns its JSON result, or fails the
/// test with what the scenario reported.
fn scenario(server: &Server, script: &str, args: &[(&str, &str)]) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("python").join(script);
    let mut command = Command::new(python());
    command.arg(&path).arg("--base").arg(server.api("")).arg("--artifacts").arg(artifacts());
    for (name, value) in args {
        command.arg(name).arg(value);
    }
    let output = command.output().expect(
        "run python (make test installs Selenium into target/pyenv, chromium and chromium-driver, and sets TRACEHOUND_PYTHON)",
    );
    assert!(
        output.status.success(),
        "{script} failed:\n{}{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    serde_json::from_slice(&output.stdout).expect("the scenario prints JSON")
}

fn loaded_server() -> (tempfile::TempDir, Server) {
    server_with(&fixture_dirs())
}

/// A server with the given fixtures replayed and indexed.
fn server_with(fixtures: &[PathBuf]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    for fixture in fixtures {
        assert!(replay(&server, fixture) > 0, "{} has no requests", fixture.display());
    }
    server.wait_indexed();
    (dir, server)
}

/// Every request of every fixture's manifest: (request id, its manifest entry).
fn manifest_requests() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for fixture in fixture_dirs() {
        let name = fixture.file_name().unwrap().to_string_lossy().to_string();
        for (id, entry) in manifest(&fixture)["requests"].as_object().expect("requests") {
            let mut entry = entry.clone();
            entry["fixture"] = json!(name);
            out.push((id.clone(), entry));
        }
    }
    out
}

/// A request of a fixture with content whose tool call succeeded.
fn request_with_tool_call() -> (String, Value) {
    manifest_requests()
        .into_iter()
        .find(|(_, e)| {
            e["fixture"] == "otel-genai-http-protobuf"
                && e["expected_outcome"] == "ok"
                && e["tool_calls"].as_array().is_some_and(|c| !c.is_empty())
        })
        .expect("a fixture request with a tool call")
}

/// The first span of a request's tree (depth first) satisfying `pred`.
fn find_span<'a>(nodes: &'a Value, pred: &dyn Fn(&Value) -> bool) -> Option<&'a Value> {
    for node in nodes.as_array().into_iter().flatten() {
        if pred(node) {
            return Some(node);
        }
        if let Some(found) = find_span(&node["children"], pred) {
            return Some(found);
        }
    }
    None
}

/// The time window covering every stored request, one minute wider on each side.
fn whole_window(server: &Server) -> (String, String) {
    let (status, list) = server.get_json("/api/v1/requests?limit=1000");
    assert_eq!(status, 200, "{list}");
    let times: Vec<&str> =
        list["requests"].as_array().unwrap().iter().map(|r| r["start_time"].as_str().unwrap()).collect();
    let oldest = times.iter().min().expect("requests stored");
    let newest = times.iter().max().expect("requests stored");
    (shift_minutes(oldest, -1), shift_minutes(newest, 1))
}

/// An RFC 3339 UTC time moved by whole minutes, to the minute (the fixtures never span midnight).
fn shift_minutes(rfc3339: &str, minutes: i64) -> String {
    let (date, time) = rfc3339.split_once('T').expect("RFC 3339");
    let hour: i64 = time[0..2].parse().unwrap();
    let minute: i64 = time[3..5].parse().unwrap();
    let total = (hour * 60 + minute + minutes).clamp(0, 23 * 60 + 59);
    format!("{date}T{:02}:{:02}:00Z", total / 60, total % 60)
}

#[test]
fn typing_a_request_id_shows_its_question_answer_and_tool_call() {
    let (_dir, server) = loaded_server();
    let (request_id, expected) = request_with_tool_call();
    let (_, view) = server.get_json(&format!("/api/v1/requests/{request_id}"));
    let tool = find_span(&view["spans"], &|s| s["kind"] == "tool").expect("a tool span");
    let arguments: Value = serde_json::from_str(tool["tool"]["arguments"].as_str().unwrap()).unwrap();
    let argument = arguments.as_object().unwrap().values().find_map(Value::as_str).expect("a text argument");
    scenario(
        &server,
        "ui_lookup.py",
        &[
            ("--request-id", &request_id),
            ("--question", expected["question"].as_str().unwrap()),
            ("--answer", expected["final_answer"].as_str().unwrap()),
            ("--tool", expected["tool_calls"][0]["tool_name"].as_str().unwrap()),
            ("--tool-arguments-fragment", argument),
            ("--span-count", &expected["span_count"].to_string()),
        ],
    );
}

#[test]
fn a_refused_request_page_shows_a_failing_banner_with_its_reason() {
    let (_dir, server) = loaded_server();
    let (request_id, _) = manifest_requests()
        .into_iter()
        .find(|(_, e)| e["fixture"] == "otel-genai-http-protobuf" && e["expected_outcome"] == "refusal")
        .expect("a fixture request that is a refusal");
    scenario(&server, "ui_request_failing.py", &[("--request-id", &request_id), ("--reason", "refusal")]);
}

#[test]
fn a_session_page_shows_its_requests_in_order_as_a_transcript() {
    let (_dir, server) = loaded_server();
    let (_, expected) = request_with_tool_call();
    let session_id = expected["session_id"].as_str().unwrap();
    let (status, session) = server.get_json(&format!("/api/v1/sessions/{session_id}"));
    assert_eq!(status, 200, "{session}");
    let ids: Vec<&str> =
        session["requests"].as_array().unwrap().iter().map(|r| r["request_id"].as_str().unwrap()).collect();
    assert!(ids.len() > 1, "the session has {} requests", ids.len());
    let first_question = session["requests"][0]["summary"]["question"].as_str().unwrap();
    scenario(
        &server,
        "ui_session.py",
        &[("--session-id", session_id), ("--request-ids", &json!(ids).to_string()), ("--question", first_question)],
    );
}

#[test]
fn a_searched_phrase_links_to_the_request_that_holds_it() {
    let (_dir, server) = loaded_server();
    let requests = manifest_requests();
    // A question asked once in all the fixtures, so one request holds it first.
    let (request_id, question) = requests
        .iter()
        .filter(|(_, e)| e["question"].as_str().is_some_and(|q| q.contains("status of order")))
        .map(|(id, e)| (id.clone(), e["question"].as_str().unwrap().to_string()))
        .find(|(_, q)| requests.iter().filter(|(_, e)| e["question"] == q.as_str()).count() == 1)
        .expect("a unique order question");
    let phrase = question.trim_end_matches(['?', '.', '!']).to_string();
    scenario(
        &server,
        "ui_search.py",
        &[("--query", &format!("\"{phrase}\"")), ("--request-id", &request_id), ("--highlight", "status")],
    );
}

#[test]
fn a_prompt_holding_a_script_is_displayed_and_never_run() {
    let (_dir, server) = loaded_server();
    let prompt = "Summarise this: <script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\">";
    let messages = json!([{"role": "user", "parts": [{"type": "text", "content": prompt}]}]).to_string();
    let output = json!([{"role": "assistant", "parts": [{"type": "text", "content": "Done."}]}]).to_string();
    let spans = vec![otlp_span(
        1,
        1,
        None,
        "chat gpt-4o",
        vec![
            attr("request.id", "req_ui_script"),
            attr("gen_ai.operation.name", "chat"),
            attr("gen_ai.request.model", "gpt-4o"),
            attr("gen_ai.input.messages", &messages),
            attr("gen_ai.output.messages", &output),
        ],
    )];
    export(&server, spans);
    scenario(&server, "ui_no_script.py", &[("--request-id", "req_ui_script")]);
}

#[test]
fn an_llm_call_with_only_raw_input_and_output_shows_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let spans = vec![otlp_span(
        1,
        1,
        None,
        "chat gpt-4o",
        vec![
            attr("request.id", "req_ui_raw"),
            attr("gen_ai.operation.name", "chat"),
            attr("gen_ai.request.model", "gpt-4o"),
            attr("input.value", r#"{"model": "gpt-4o", "prompt": "Where is order B-7?"}"#),
            attr("output.value", r#"{"id": "cmpl-1", "text": "Order B-7 ships today."}"#),
        ],
    )];
    export(&server, spans);
    server.wait_indexed();
    scenario(
        &server,
        "ui_raw_io.py",
        &[("--request-id", "req_ui_raw"), ("--raw-input", "Where is order B-7?"), ("--raw-output", "ships today")],
    );
}

#[test]
fn a_trace_of_two_thousand_spans_with_a_megabyte_prompt_renders_lazily() {
    let (_dir, server) = loaded_server();
    const SPANS: u64 = 2000;
    const PROMPT_CHARS: usize = 1_000_000;
    let prompt =
        "All work and no play makes Jack a dull boy. ".repeat(PROMPT_CHARS / 44 + 1)[..PROMPT_CHARS].to_string();
    let messages = json!([{"role": "user", "parts": [{"type": "text", "content": prompt}]}]).to_string();
    let mut spans = vec![otlp_span(
        2,
        1,
        None,
        "chat gpt-4o",
        vec![
            attr("request.id", "req_ui_large"),
            attr("gen_ai.operation.name", "chat"),
            attr("gen_ai.request.model", "gpt-4o"),
            attr("gen_ai.input.messages", &messages),
        ],
    )];
    for i in 2..=SPANS {
        spans.push(otlp_span(2, i, Some(1), &format!("step {i}"), vec![attr("gen_ai.operation.name", "execute_tool")]));
    }
    export(&server, spans);
    scenario(
        &server,
        "ui_large.py",
        &[
            ("--request-id", "req_ui_large"),
            ("--span-count", &SPANS.to_string()),
            ("--prompt-chars", &PROMPT_CHARS.to_string()),
        ],
    );
}

// Failing, versions and postmortem read the postmortem APIs (issue 4).

#[test]
fn the_home_list_filters_and_pages() {
    let (_dir, server) = loaded_server();
    let (_, new) = prompt_versions();
    let (status, list) = server.get_json(&format!("/api/v1/requests?version=prompt_version={new}&limit=1000"));
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> =
        list["requests"].as_array().unwrap().iter().map(|r| r["request_id"].as_str().unwrap()).collect();
    assert!(!ids.is_empty(), "no request carries prompt version {new}");
    scenario(&server, "ui_home.py", &[("--version", &new), ("--version-ids", &ids.join(","))]);
}

#[test]
fn the_failing_page_lists_the_incident_requests() {
    let (_dir, server) = loaded_server();
    let (since, until) = whole_window(&server);
    let incident: Vec<String> =
        manifest_requests().into_iter().filter(|(_, e)| e["expected_outcome"] != "ok").map(|(id, _)| id).collect();
    assert!(!incident.is_empty());
    scenario(
        &server,
        "ui_failing.py",
        &[("--since", &since), ("--until", &until), ("--incident-ids", &json!(incident).to_string())],
    );
}

/// One fixture: its normal run, then its incident run on the next prompt version. With
/// every fixture loaded the two versions alternate run by run, and too few requests come
/// before each switch for the versions page to call the first one a change.
#[test]
fn the_versions_page_shows_the_prompt_version_change() {
    let (_dir, server) = server_with(&fixture_dirs()[..1]);
    // Two eval scores per request: their means make the timeline's stats column longest.
    for id in manifest(&fixture_dirs()[0])["requests"].as_object().unwrap().keys() {
        for (name, value) in [("answer_correctness", 0.82), ("grounded_in_documents", 0.64)] {
            let response = reqwest::blocking::Client::new()
                .post(server.api("/api/v1/scores"))
                .json(&json!({"target_id": id, "name": name, "value": value, "source": "ui-test"}))
                .send()
                .unwrap();
            assert_eq!(response.status().as_u16(), 201);
        }
    }
    let (since, until) = whole_window(&server);
    let (old, new) = prompt_versions();
    scenario(
        &server,
        "ui_versions.py",
        &[("--since", &since), ("--until", &until), ("--old-version", &old), ("--new-version", &new)],
    );
}

#[test]
fn the_postmortem_page_renders_the_bundle_with_downloads() {
    let (_dir, server) = loaded_server();
    let (since, until) = whole_window(&server);
    let (_, new) = prompt_versions();
    scenario(&server, "ui_postmortem.py", &[("--since", &since), ("--until", &until), ("--mentions", &new)]);
}

#[test]
fn the_triage_page_shows_the_verdict_beside_the_series_with_the_onset() {
    let replayed = common::scenarios::replayed("infra-retrieval");
    scenario(
        &replayed.server,
        "ui_triage.py",
        &[
            ("--since", "2026-10-01T00:00:00Z"),
            ("--until", "2026-10-01T03:00:00Z"),
            ("--dimension", "index_version"),
            ("--value", "idx-2026-10-01"),
            ("--ruled-out", "3.3.0"),
        ],
    );
}

#[test]
fn the_monitor_page_charts_the_series_marks_firings_and_changes_and_a_drag_opens_triage() {
    let replayed = common::scenarios::replayed("infra-retrieval");
    scenario(
        &replayed.server,
        "ui_monitor.py",
        &[
            ("--since", "2026-10-01T00:00:00Z"),
            ("--until", "2026-10-01T03:30:00Z"),
            ("--by", "index_version"),
            ("--values", "idx-2026-09-14,idx-2026-10-01"),
            ("--rule", "quality_shift"),
            ("--change", "idx-2026-10-01"),
        ],
    );
}

/// The prompt versions of the fixtures' normal run and of their incident run.
fn prompt_versions() -> (String, String) {
    let runs = manifest(&fixture_dirs()[0])["runs"].clone();
    let of = |bad: bool| {
        runs.as_array().unwrap().iter().find(|r| r["bad"] == bad).expect("both runs")["prompt_version"]
            .as_str()
            .unwrap()
            .to_string()
    };
    (of(false), of(true))
}

fn attr(key: &str, value: &str) -> Value {
    json!({"key": key, "value": {"stringValue": value}})
}

/// One OTLP/JSON span of trace `trace`, 1 ms per span id so they sort in id order.
fn otlp_span(trace: u8, id: u64, parent: Option<u64>, name: &str, attributes: Vec<Value>) -> Value {
    let start = 1_790_000_000_000_000_000u64 + id * 1_000_000;
    let mut span = json!({
        "traceId": hex::encode([trace; 16]),
        "spanId": format!("{id:016x}"),
        "name": name,
        "kind": 1,
        "startTimeUnixNano": start.to_string(),
        "endTimeUnixNano": (start + 900_000).to_string(),
        "attributes": attributes,
    });
    if let Some(parent) = parent {
        span["parentSpanId"] = json!(format!("{parent:016x}"));
    }
    span
}

/// Sends spans over OTLP/HTTP JSON and checks every one was accepted.
fn export(server: &Server, spans: Vec<Value>) {
    let body = json!({"resourceSpans": [{
        "resource": {"attributes": [attr("service.name", "ui-test")]},
        "scopeSpans": [{"scope": {"name": "ui-test"}, "spans": spans}],
    }]});
    let resp = reqwest::blocking::Client::new()
        .post(server.otlp_http("/v1/traces"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .expect("OTLP/HTTP reachable");
    let status = resp.status();
    let text = resp.text().unwrap_or_default();
    assert!(status.is_success(), "export refused: {status} {text}");
    assert!(!text.contains("rejected"), "spans rejected: {text}");
}
