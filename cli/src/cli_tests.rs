//! The CLI commands against the API served on a loopback port.

use std::net::TcpListener;

use serde_json::Value;

use crate::cli::{run_get, run_ls};
use crate::client::{CliError, ListOptions, ListStatus};
use tracehound_api::test_support::{llm_span, span, Fixture, LiveApi};

fn request(trace: u8, start_ms: u64, request_id: &str, question: &str) -> Vec<tracehound_store::model::Span> {
    let mut root = span(trace, 1, None, start_ms);
    root.request_id = Some(request_id.into());
    root.session_id = Some("conv-1".into());
    vec![root, llm_span(trace, 2, Some(1), start_ms + 1, question, "An answer.")]
}

fn api_with_two_requests() -> LiveApi {
    let fixture = Fixture::new();
    fixture.write(request(1, 0, "req-first", "First question?"));
    fixture.write(request(2, 100, "req-second", "Second question?"));
    LiveApi::serve(fixture)
}

fn get_text(api: &LiveApi, id: &str) -> Result<String, CliError> {
    let mut out = Vec::new();
    run_get(&api.url, id, false, &mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn get_renders_the_tree_of_a_request() {
    let api = api_with_two_requests();
    let text = get_text(&api, "req-first").expect("get");
    assert!(text.starts_with("request req-first  trace "), "{text}");
    assert!(text.contains("\n  [llm] chat  10ms\n"), "{text}");
    assert!(text.contains("      user: First question?\n"), "{text}");
}

#[test]
fn get_of_a_session_renders_its_requests_in_order() {
    let api = api_with_two_requests();
    let text = get_text(&api, "conv-1").expect("get");
    let first = text.find("request req-first").expect("first request shown");
    let second = text.find("request req-second").expect("second request shown");
    assert!(text.starts_with("session conv-1"), "{text}");
    assert!(first < second);
}

#[test]
fn get_of_a_session_prints_its_totals() {
    let api = api_with_two_requests();
    let text = get_text(&api, "conv-1").expect("get");
    let totals = text.lines().nth(1).unwrap_or_default();
    assert!(totals.starts_with("  totals: tokens ") && totals.contains("llm calls 2"), "{text}");
}

#[test]
fn get_with_json_prints_the_api_answer() {
    let api = api_with_two_requests();
    let mut out = Vec::new();
    run_get(&api.url, "req-second", true, &mut out).expect("get");
    let answer: Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(
        (answer["kind"].as_str(), answer["request"]["request_id"].as_str()),
        (Some("request"), Some("req-second"))
    );
}

#[test]
fn get_of_an_unknown_identifier_says_nothing_matches_it() {
    let api = api_with_two_requests();
    let err = get_text(&api, "no-such-thing").unwrap_err();
    assert_eq!(err.to_string(), "no request, session or trace matches no-such-thing");
}

#[test]
fn get_percent_encodes_the_identifier() {
    let fixture = Fixture::new();
    fixture.write(request(1, 0, "team/a b?c#d%", "Encoded?"));
    let api = LiveApi::serve(fixture);
    let text = get_text(&api, "team/a b?c#d%").expect("get");
    assert!(text.starts_with("request team/a b?c#d%  trace "), "{text}");
}

#[test]
fn an_api_that_is_not_listening_is_reported_with_its_url() {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let url = format!("http://127.0.0.1:{port}");
    let err = run_get(&url, "anything", false, &mut Vec::new()).unwrap_err();
    assert!(matches!(err, CliError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().starts_with(&format!("cannot reach the Tracehound API at {url}: ")), "{err}");
}

#[test]
fn an_api_url_that_is_not_http_is_refused() {
    let err = run_get("ftp://example", "x", false, &mut Vec::new()).unwrap_err();
    assert!(matches!(err, CliError::InvalidApiUrl { .. }), "{err:?}");
}

#[test]
fn ls_prints_a_table_newest_first() {
    let api = api_with_two_requests();
    let mut out = Vec::new();
    run_ls(&api.url, &ListOptions { limit: 10, ..Default::default() }, false, &mut out).expect("ls");
    let text = String::from_utf8_lossy(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("TIME (UTC)"), "{text}");
    assert!(lines[1].contains("req-second") && lines[1].contains("Second question?"), "{text}");
    assert!(lines[2].contains("req-first"), "{text}");
}

#[test]
fn ls_stops_at_the_limit_and_says_there_is_more() {
    let api = api_with_two_requests();
    let mut out = Vec::new();
    run_ls(&api.url, &ListOptions { limit: 1, ..Default::default() }, false, &mut out).expect("ls");
    let text = String::from_utf8_lossy(&out);
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.lines().last().is_some_and(|l| l.starts_with("(more requests: --cursor ")), "{text}");
}

#[test]
fn ls_with_the_printed_cursor_lists_the_next_page() {
    let api = api_with_two_requests();
    let mut out = Vec::new();
    run_ls(&api.url, &ListOptions { limit: 1, ..Default::default() }, false, &mut out).expect("ls");
    let text = String::from_utf8_lossy(&out).into_owned();
    let cursor = text.lines().last().and_then(|l| l.strip_prefix("(more requests: --cursor ")).unwrap();
    let options =
        ListOptions { limit: 1, cursor: Some(cursor.trim_end_matches(')').to_string()), ..Default::default() };
    let mut out = Vec::new();
    run_ls(&api.url, &options, false, &mut out).expect("ls");
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("req-first") && !text.contains("req-second"), "{text}");
}

#[test]
fn ls_with_a_status_lists_only_requests_of_that_status() {
    let fixture = Fixture::new();
    fixture.write(request(1, 0, "req-fine", "Fine?"));
    let mut failed = request(2, 100, "req-broken", "Broken?");
    failed[1].status = tracehound_store::model::StatusCode::Error;
    failed[1].status_message = "upstream 500".into();
    fixture.write(failed);
    let api = LiveApi::serve(fixture);
    let options = ListOptions { status: Some(ListStatus::Error), ..Default::default() };
    let mut out = Vec::new();
    run_ls(&api.url, &options, false, &mut out).expect("ls");
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("req-broken") && !text.contains("req-fine"), "{text}");
}

#[test]
fn ls_with_a_version_lists_only_requests_that_carried_it() {
    let fixture = Fixture::new();
    let dim = tracehound_store::model::VersionDimension::PromptVersion;
    for (trace, id, version) in [(1, "req-old", "v7"), (2, "req-new", "v8")] {
        let mut spans = request(trace, u64::from(trace) * 100, id, "Which version?");
        spans[0].versions.insert(dim, version.into());
        fixture.write(spans);
    }
    let api = LiveApi::serve(fixture);
    let options = ListOptions { version: Some("prompt_version=v7".into()), ..Default::default() };
    let mut out = Vec::new();
    run_ls(&api.url, &options, false, &mut out).expect("ls");
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("req-old") && !text.contains("req-new"), "{text}");
}

#[test]
fn ls_reports_the_api_refusing_a_parameter() {
    let api = api_with_two_requests();
    let options = ListOptions { since: Some("last week".into()), ..Default::default() };
    let err = run_ls(&api.url, &options, false, &mut Vec::new()).unwrap_err();
    assert!(matches!(err, CliError::Api { status: 400, .. }), "{err:?}");
    assert!(err.to_string().contains("invalid since:"), "{err}");
}

#[test]
fn canary_prints_the_verdict_first_and_a_line_per_trigger() {
    let fixture = Fixture::new();
    let dim = tracehound_store::model::VersionDimension::PromptVersion;
    for (trace, id, version) in [(1, "req-old", "v7"), (2, "req-new", "v8")] {
        let mut spans = request(trace, u64::from(trace) * 100, id, "Which version?");
        spans[0].versions.insert(dim, version.into());
        fixture.write(spans);
    }
    let api = LiveApi::serve(fixture);
    let args = crate::canary_cli::CanaryArgs {
        dimension: "prompt_version".into(),
        candidate: "v8".into(),
        baseline: "v7".into(),
        since: "2000-01-01T00:00:00Z".into(),
        until: None,
        json: false,
        api_url: api.url.clone(),
    };
    let mut out = Vec::new();
    crate::canary_cli::run_canary(&args, &mut out).expect("canary");
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HOLD: prompt_version=v8 (1 requests) against v7 (1 requests)"), "{text}");
    assert!(text.contains("p99_latency") && text.contains("not enough data"), "{text}");
}
