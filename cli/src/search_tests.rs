//! `/api/v1/search` and `tracehound search`, driven through the router and the CLI.
//!
//! Index-backed tests use a real tantivy index, filled from the store by `Fixture::index`.

use axum::http::StatusCode;
use serde_json::{json, Value};
use tracehound_store::model::{LlmCall, LogRecord, Span, SpanKind, StatusCode as SpanStatus};

use crate::cli::run_search;
use crate::client::{CliError, SearchOptions, SearchSort};
use tracehound_api::test_support::{get, llm_span, span, text_message, trace_hex, trace_id, Fixture, LiveApi, Routed};

/// A request `req-{trace}`: a chain root and one LLM call asking `question`.
fn request(trace: u8, start_ms: u64, question: &str, answer: &str) -> Vec<Span> {
    let mut root = span(trace, 1, None, start_ms);
    root.request_id = Some(format!("req-{trace}"));
    vec![root, llm_span(trace, 2, Some(1), start_ms + 1, question, answer)]
}

/// A store holding three indexed requests, oldest first.
fn indexed_requests() -> Fixture {
    let fx = Fixture::with_search();
    fx.write(request(1, 0, "What is the refund policy?", "Refunds within 30 days."));
    fx.write(request(2, 100, "Where is my order B-31726?", "It shipped yesterday."));
    let mut failed = request(3, 200, "Can I get a refund for B-31726?", "Sorry, something broke.");
    failed[1].status = SpanStatus::Error;
    fx.write(failed);
    fx.index();
    fx
}

fn request_ids(answer: &Value) -> Vec<String> {
    answer["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["request"]["request_id"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test]
async fn without_a_search_index_searching_is_503() {
    let fx = Fixture::new();
    let (status, body) = get(&fx.router(), "/api/v1/search?q=refund").await;
    assert_eq!((status, body), (StatusCode::SERVICE_UNAVAILABLE, json!({"error": "search index not available"})));
}

#[tokio::test]
async fn a_query_that_cannot_be_read_is_400_with_its_position() {
    let fx = Fixture::new();
    let (status, body) = get(&fx.router(), "/api/v1/search?q=refund%20%22policy").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"error": "unterminated phrase starting at character 7", "position": 7}));
}

#[tokio::test]
async fn a_missing_query_is_400() {
    let fx = Fixture::new();
    let (status, body) = get(&fx.router(), "/api/v1/search").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "a query needs at least one word, phrase or filter that must match");
}

#[tokio::test]
async fn a_bad_parameter_is_400_naming_it() {
    let fx = Fixture::new();
    let (status, body) = get(&fx.router(), "/api/v1/search?q=refund&limit=500").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap_or_default().starts_with("invalid limit:"), "{body}");
    assert!(body.get("position").is_none(), "only query errors have a position");
}

#[tokio::test]
async fn a_word_finds_the_requests_that_say_it_with_their_summary_and_matches() {
    let fx = indexed_requests();
    let (status, body) = get(&fx.router(), "/api/v1/search?q=refund").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(sorted(request_ids(&body)), ["req-1", "req-3"]);
    assert_eq!(body["total"], 2);
    assert_eq!(body["query"], json!({"clauses": 1}));
    assert!(body["index_committed_at"].is_string(), "{body}");
    let first = &body["results"][0];
    assert!(first["score"].as_f64().is_some_and(|s| s > 0.0), "{first}");
    let m = &first["matches"][0];
    assert_eq!((m["span_kind"].as_str(), m["span_name"].as_str()), (Some("llm"), Some("chat")));
    assert_eq!(m["span_id"], hex::encode([2u8; 8]));
}

#[tokio::test]
async fn a_match_marks_the_word_in_its_snippet() {
    let fx = indexed_requests();
    let (_, body) = get(&fx.router(), "/api/v1/search?q=policy").await;
    let m = &body["results"][0]["matches"][0];
    let snippet = m["snippet"].as_str().unwrap_or_default();
    let (start, end) = (m["highlights"][0][0].as_u64().unwrap_or(0), m["highlights"][0][1].as_u64().unwrap_or(0));
    assert_eq!((m["field"].as_str(), snippet.get(start as usize..end as usize)), (Some("input"), Some("policy")));
}

#[tokio::test]
async fn an_identifier_is_found_as_typed() {
    let fx = indexed_requests();
    let (_, body) = get(&fx.router(), "/api/v1/search?q=B-31726").await;
    assert_eq!(sorted(request_ids(&body)), ["req-2", "req-3"]);
}

#[tokio::test]
async fn an_excluded_word_drops_the_requests_that_say_it() {
    let fx = indexed_requests();
    let (_, body) = get(&fx.router(), "/api/v1/search?q=B-31726%20-refund").await;
    assert_eq!(request_ids(&body), ["req-2"]);
}

#[tokio::test]
async fn a_status_filter_keeps_only_failed_requests() {
    let fx = indexed_requests();
    let (_, body) = get(&fx.router(), "/api/v1/search?q=refund%20status:error").await;
    assert_eq!(request_ids(&body), ["req-3"]);
}

#[tokio::test]
async fn the_narrower_of_the_query_and_parameter_time_bounds_applies() {
    let fx = indexed_requests();
    let until = tracehound_query::timestamp::format_rfc3339(
        tracehound_api::test_support::T0 + 150 * tracehound_api::test_support::MS,
    );
    let uri = format!("/api/v1/search?q=B-31726%20until:{until}&until=1970-01-02T00:00:00Z");
    let (_, body) = get(&fx.router(), &uri).await;
    assert_eq!(request_ids(&body), Vec::<String>::new(), "the parameter's until is the earlier");
    let (_, body) = get(&fx.router(), &format!("/api/v1/search?q=B-31726%20until:{until}")).await;
    assert_eq!(request_ids(&body), ["req-2"]);
}

#[tokio::test]
async fn time_order_pages_newest_first_without_repeats_or_gaps() {
    let fx = indexed_requests();
    let (_, first_page) = get(&fx.router(), "/api/v1/search?q=kind:llm&sort=time&limit=2").await;
    assert_eq!(request_ids(&first_page), ["req-3", "req-2"]);
    let cursor = first_page["next_cursor"].as_str().expect("a next page").to_string();
    let (_, second_page) =
        get(&fx.router(), &format!("/api/v1/search?q=kind:llm&sort=time&limit=2&cursor={cursor}")).await;
    assert_eq!(request_ids(&second_page), ["req-1"]);
    assert_eq!(second_page["next_cursor"], Value::Null);
}

#[tokio::test]
async fn a_cursor_the_index_did_not_hand_out_is_400() {
    let fx = indexed_requests();
    let (status, body) = get(&fx.router(), "/api/v1/search?q=refund&cursor=not-a-cursor").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn matches_are_found_in_messages_that_only_log_records_carry() {
    let fx = Fixture::with_search();
    let mut bare = span(1, 1, None, 0);
    bare.kind = SpanKind::Llm;
    bare.llm = Some(LlmCall { request_model: Some("gpt-4o".into()), ..Default::default() });
    let event = LogRecord {
        trace_id: trace_id(1),
        span_id: [1; 8],
        time_unix_nano: tracehound_api::test_support::T0,
        llm: Some(LlmCall { input_messages: vec![text_message("user", "Where is my parcel?")], ..Default::default() }),
        ..Default::default()
    };
    fx.write_with_logs(vec![bare], vec![event]);
    fx.index();
    let (_, body) = get(&fx.router(), "/api/v1/search?q=parcel").await;
    assert_eq!(body["results"][0]["request"]["trace_id"], trace_hex(1));
    assert_eq!(body["results"][0]["matches"][0]["field"], "input", "{body}");
}

#[test]
fn the_cli_shows_where_the_query_cannot_be_read() {
    let api = LiveApi::serve(Fixture::new());
    let err = run_search(&api.url, "refund \"policy", &SearchOptions::default(), false, &mut Vec::new()).unwrap_err();
    assert!(matches!(err, CliError::Query { position: 7, .. }), "{err:?}");
    assert_eq!(err.to_string(), "unterminated phrase starting at character 7\n  refund \"policy\n         ^");
}

#[test]
fn the_cli_reports_a_server_without_search() {
    let api = LiveApi::serve(Fixture::new());
    let err = run_search(&api.url, "refund", &SearchOptions::default(), false, &mut Vec::new()).unwrap_err();
    assert_eq!(err.to_string(), "the Tracehound API answered 503: search index not available");
}

#[test]
fn the_cli_prints_each_request_with_its_marked_matches() {
    let api = LiveApi::serve(indexed_requests());
    let options = SearchOptions { sort: SearchSort::Time, ..SearchOptions::default() };
    let mut out = Vec::new();
    run_search(&api.url, "policy", &options, false, &mut out).expect("search");
    let text = String::from_utf8_lossy(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("2023-11-14 22:13:20  req-1  ok  gpt-4o-2024-08-06"), "{text}");
    assert!(lines[1].starts_with("  [llm/input] ") && lines[1].contains("»policy«"), "{text}");
    assert!(text.ends_with("1 of 1 requests\n"), "{text}");
}

#[test]
fn the_cli_prints_the_api_answer_as_json() {
    let api = LiveApi::serve(indexed_requests());
    let mut out = Vec::new();
    run_search(&api.url, "policy", &SearchOptions::default(), true, &mut out).expect("search");
    let answer: Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(request_ids(&answer), ["req-1"]);
}

#[derive(Debug, clap::Parser)]
struct SearchCommand {
    #[command(flatten)]
    args: crate::cli::SearchArgs,
}

#[test]
fn the_search_arguments_default_to_twenty_by_relevance() {
    use clap::{CommandFactory, Parser};
    SearchCommand::command().debug_assert();
    let parsed = SearchCommand::try_parse_from(["search", "refund -chargeback"]).expect("parses");
    let options = parsed.args.options();
    assert_eq!((parsed.args.query.as_str(), options), ("refund -chargeback", SearchOptions::default()));
}

#[test]
fn the_search_arguments_take_time_order_a_limit_and_bounds() {
    use clap::Parser;
    let argv = ["search", "refund", "--sort", "time", "--limit", "5", "--since", "2h", "--until", "1h"];
    let options = SearchCommand::try_parse_from(argv).expect("parses").args.options();
    let expected = SearchOptions {
        since: Some("2h".into()),
        until: Some("1h".into()),
        limit: 5,
        sort: SearchSort::Time,
        cursor: None,
    };
    assert_eq!(options, expected);
}

#[test]
fn a_search_limit_above_two_hundred_is_refused_by_the_cli() {
    use clap::Parser;
    assert!(SearchCommand::try_parse_from(["search", "refund", "--limit", "201"]).is_err());
}

#[test]
fn a_query_that_begins_with_a_minus_is_a_query_not_a_flag() {
    use clap::Parser;
    let parsed = SearchCommand::try_parse_from(["search", "-refund"]).expect("parses");
    assert_eq!(parsed.args.query, "-refund");
    let parsed = SearchCommand::try_parse_from(["search", "-refund", "--limit", "5"]).expect("parses");
    assert_eq!((parsed.args.query.as_str(), parsed.args.options().limit), ("-refund", 5));
}

#[derive(Debug, clap::Parser)]
struct PostmortemCommand {
    #[command(flatten)]
    args: crate::evidence_cli::PostmortemArgs,
}

#[test]
fn postmortem_defaults_to_the_last_24_hours_like_failing() {
    use clap::Parser;
    let parsed = PostmortemCommand::try_parse_from(["postmortem"]).expect("no --since needed");
    assert_eq!(parsed.args.since, "24h");
}

#[test]
fn help_is_still_help_before_a_query() {
    use clap::Parser;
    let err = SearchCommand::try_parse_from(["search", "--help"]).expect_err("help is no query");
    assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp);
}
