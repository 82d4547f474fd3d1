//! The API's behaviour, driven through the router over a real store.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{json, Value};
use tracehound_store::model::{
    AttrValue, KeyValue, LlmCall, LogRecord, Span, SpanKind, StatusCode as SpanStatus, TokenUsage, VersionDimension,
};

use crate::router::router;
use crate::state::ApiState;
use crate::test_support::{get, llm_span, span, text_message, trace_hex, trace_id, Fixture, Routed, MS, T0};
use tracehound_query::time_range::now_unix_nanos;

fn span_names(nodes: &Value) -> Vec<String> {
    nodes.as_array().into_iter().flatten().map(|n| n["name"].as_str().unwrap_or_default().to_string()).collect()
}

fn request_ids(list: &Value) -> Vec<String> {
    list["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["request_id"].as_str().unwrap_or_default().into())
        .collect()
}

fn with_request(mut s: Span, request_id: &str) -> Span {
    s.request_id = Some(request_id.into());
    s
}

#[tokio::test]
async fn readyz_answers_503_until_the_process_is_ready() {
    let fx = Fixture::new();
    let ready = Arc::new(AtomicBool::new(false));
    let api = router(ApiState {
        store: fx.store.clone(),
        search: None,
        ready: ready.clone(),
        writer: None,
        alert_rules: Arc::new(tracehound_query::monitor::rules::RuleSet::defaults()),
        alerts: tracehound_query::monitor::live::AlertBoard::default(),
        evals: tracehound_query::evals::status::EvalBoard::default(),
    });
    assert_eq!(get(&api, "/readyz").await.0, StatusCode::SERVICE_UNAVAILABLE);
    ready.store(true, Ordering::Release);
    assert_eq!(get(&api, "/readyz").await, (StatusCode::OK, json!("ready")));
}

#[tokio::test]
async fn lookup_by_trace_id_resolves_to_the_request() {
    let fx = Fixture::new();
    fx.write(vec![span(1, 1, None, 0)]);
    let (status, body) = get(&fx.router(), &format!("/api/v1/lookup/{}", trace_hex(1))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((body["kind"].as_str(), body["matched"].as_str()), (Some("request"), Some("trace_id")));
    assert_eq!(body["request"]["trace_id"], trace_hex(1));
}

#[tokio::test]
async fn lookup_by_trace_id_ignores_case() {
    let fx = Fixture::new();
    fx.write(vec![span(0xab, 1, None, 0)]);
    let (status, body) = get(&fx.router(), &format!("/api/v1/lookup/{}", trace_hex(0xab).to_uppercase())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["request"]["trace_id"], trace_hex(0xab));
}

#[tokio::test]
async fn lookup_by_request_id_resolves_to_the_request() {
    let fx = Fixture::new();
    fx.write(vec![with_request(span(1, 1, None, 0), "req-42")]);
    let (status, body) = get(&fx.router(), "/api/v1/lookup/req-42").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((body["kind"].as_str(), body["matched"].as_str()), (Some("request"), Some("request_id")));
    assert_eq!(body["request"]["request_id"], "req-42");
    assert!(body.get("requests").is_none(), "a single match has no list");
}

#[tokio::test]
async fn a_request_id_shared_by_two_traces_returns_both_oldest_first() {
    let fx = Fixture::new();
    fx.write(vec![with_request(span(2, 1, None, 500), "retried"), with_request(span(1, 1, None, 0), "retried")]);
    let (_, body) = get(&fx.router(), "/api/v1/lookup/retried").await;
    assert_eq!(body["request"]["trace_id"], trace_hex(1));
    let traces: Vec<&Value> = body["requests"].as_array().unwrap().iter().map(|r| &r["trace_id"]).collect();
    assert_eq!(traces, [&json!(trace_hex(1)), &json!(trace_hex(2))]);
}

#[tokio::test]
async fn lookup_by_session_id_resolves_to_the_session() {
    let fx = Fixture::new();
    let mut s = span(1, 1, None, 0);
    s.session_id = Some("conv-7".into());
    fx.write(vec![s]);
    let (status, body) = get(&fx.router(), "/api/v1/lookup/conv-7").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((body["kind"].as_str(), body["matched"].as_str()), (Some("session"), Some("session_id")));
    assert_eq!(body["session"]["session_id"], "conv-7");
    assert_eq!(body["session"]["requests"][0]["trace_id"], trace_hex(1));
}

#[tokio::test]
async fn lookup_by_provider_response_id_resolves_to_the_request() {
    let fx = Fixture::new();
    let mut call = llm_span(1, 2, Some(1), 1, "hi", "hello");
    if let Some(llm) = call.llm.as_mut() {
        llm.response_id = Some("chatcmpl-abc123".into());
    }
    fx.write(vec![span(1, 1, None, 0), call]);
    let (status, body) = get(&fx.router(), "/api/v1/lookup/chatcmpl-abc123").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((body["kind"].as_str(), body["matched"].as_str()), (Some("request"), Some("response_id")));
    assert_eq!(body["request"]["trace_id"], trace_hex(1));
}

#[tokio::test]
async fn an_unknown_identifier_is_404_with_a_json_error() {
    let fx = Fixture::new();
    let (status, body) = get(&fx.router(), "/api/v1/lookup/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({"error": "no request, session or trace matches \"nothing-here\""}));
}

#[tokio::test]
async fn a_malformed_trace_id_is_400_saying_what_a_trace_id_is() {
    let fx = Fixture::new();
    let (status, body) = get(&fx.router(), "/api/v1/traces/xyz").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "malformed trace id \"xyz\": expected 32 hexadecimal digits");
}

#[tokio::test]
async fn an_unknown_trace_id_is_404() {
    let fx = Fixture::new();
    let (status, body) = get(&fx.router(), &format!("/api/v1/traces/{}", trace_hex(9))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].as_str().unwrap().starts_with("no trace matches"));
}

#[tokio::test]
async fn a_child_arriving_before_its_parent_still_forms_one_tree() {
    let fx = Fixture::new();
    fx.write(vec![span(1, 2, Some(1), 5)]);
    fx.write(vec![span(1, 1, None, 0)]);
    let (_, body) = get(&fx.router(), &format!("/api/v1/traces/{}", trace_hex(1))).await;
    assert_eq!(span_names(&body["spans"]), ["span-1"]);
    assert_eq!(span_names(&body["spans"][0]["children"]), ["span-2"]);
}

#[tokio::test]
async fn a_span_whose_parent_is_not_stored_is_shown_as_a_root() {
    let fx = Fixture::new();
    fx.write(vec![span(1, 1, None, 0), span(1, 3, Some(99), 5)]);
    let (_, body) = get(&fx.router(), &format!("/api/v1/traces/{}", trace_hex(1))).await;
    assert_eq!(span_names(&body["spans"]), ["span-1", "span-3"]);
    assert_eq!(body["spans"][1]["parent_span_id"], hex_of_span(99));
}

fn hex_of_span(n: u8) -> String {
    hex::encode([n; 8])
}

#[tokio::test]
async fn children_are_listed_in_start_order() {
    let fx = Fixture::new();
    fx.write(vec![span(1, 1, None, 0), span(1, 3, Some(1), 7), span(1, 2, Some(1), 3)]);
    let (_, body) = get(&fx.router(), &format!("/api/v1/traces/{}", trace_hex(1))).await;
    assert_eq!(span_names(&body["spans"][0]["children"]), ["span-2", "span-3"]);
}

#[tokio::test]
async fn a_span_node_carries_hex_ids_its_duration_and_its_logs() {
    let fx = Fixture::new();
    let log = LogRecord {
        trace_id: trace_id(1),
        span_id: [1; 8],
        event_name: "note".into(),
        time_unix_nano: T0 + MS,
        ..Default::default()
    };
    fx.write_with_logs(vec![span(1, 1, None, 0)], vec![log]);
    let (_, body) = get(&fx.router(), &format!("/api/v1/traces/{}", trace_hex(1))).await;
    let root = &body["spans"][0];
    assert_eq!((root["trace_id"].as_str(), root["span_id"].as_str()), (Some(&*trace_hex(1)), Some(&*hex_of_span(1))));
    assert_eq!(root["parent_span_id"], Value::Null);
    assert_eq!(root["duration_ms"], 10.0);
    assert_eq!(root["logs"][0]["event_name"], "note");
}

#[tokio::test]
async fn raw_attributes_are_shown_as_an_object_where_the_last_duplicate_wins() {
    let fx = Fixture::new();
    let mut s = span(1, 1, None, 0);
    let kv = |key: &str, value: AttrValue| KeyValue { key: key.into(), value: Some(value) };
    s.raw.attributes =
        vec![kv("a", AttrValue::Int(1)), kv("b", AttrValue::Str("x".into())), kv("a", AttrValue::Int(2))];
    s.raw.resource = vec![kv("service.name", AttrValue::Str("svc".into()))];
    fx.write(vec![s]);
    let (_, body) = get(&fx.router(), &format!("/api/v1/traces/{}", trace_hex(1))).await;
    let root = &body["spans"][0];
    assert_eq!(root["attributes"], json!({"a": 2, "b": "x"}));
    assert_eq!(root["resource"], json!({"service.name": "svc"}));
    assert_eq!(root["raw"]["attributes"].as_array().map(Vec::len), Some(3), "the exact list stays in raw");
}

#[tokio::test]
async fn messages_missing_on_an_llm_span_are_filled_from_its_log_records() {
    let fx = Fixture::new();
    let mut bare = span(1, 1, None, 0);
    bare.kind = SpanKind::Llm;
    bare.llm = Some(LlmCall { request_model: Some("gpt-4o".into()), ..Default::default() });
    let event = |at: u64, llm: LlmCall| LogRecord {
        trace_id: trace_id(1),
        span_id: [1; 8],
        time_unix_nano: T0 + at * MS,
        llm: Some(llm),
        ..Default::default()
    };
    let logs = vec![
        event(1, LlmCall { input_messages: vec![text_message("user", "What is 2+2?")], ..Default::default() }),
        event(
            2,
            LlmCall {
                request_model: Some("other-model".into()),
                response_model: Some("gpt-4o-mini".into()),
                output_messages: vec![text_message("assistant", "4")],
                usage: TokenUsage { input: Some(12), output: Some(1), ..Default::default() },
                finish_reasons: vec!["stop".into()],
                ..Default::default()
            },
        ),
    ];
    fx.write_with_logs(vec![bare], logs);
    let (_, body) = get(&fx.router(), &format!("/api/v1/traces/{}", trace_hex(1))).await;
    let llm = &body["spans"][0]["llm"];
    assert_eq!(llm["input_messages"][0]["parts"][0]["content"], "What is 2+2?");
    assert_eq!(llm["output_messages"][0]["parts"][0]["content"], "4");
    assert_eq!((llm["request_model"].as_str(), llm["response_model"].as_str()), (Some("gpt-4o"), Some("gpt-4o-mini")));
    assert_eq!((llm["usage"]["input"].as_i64(), llm["usage"]["output"].as_i64()), (Some(12), Some(1)));
    assert_eq!(llm["finish_reasons"], json!(["stop"]));
}

#[tokio::test]
async fn messages_a_span_has_are_never_replaced_by_its_log_records() {
    let fx = Fixture::new();
    let log = LogRecord {
        trace_id: trace_id(1),
        span_id: [1; 8],
        time_unix_nano: T0,
        llm: Some(LlmCall { input_messages: vec![text_message("user", "from the log")], ..Default::default() }),
        ..Default::default()
    };
    fx.write_with_logs(vec![llm_span(1, 1, None, 0, "from the span", "ok")], vec![log]);
    let (_, body) = get(&fx.router(), &format!("/api/v1/traces/{}", trace_hex(1))).await;
    let input = &body["spans"][0]["llm"]["input_messages"];
    assert_eq!(input.as_array().map(Vec::len), Some(1));
    assert_eq!(input[0]["parts"][0]["content"], "from the span");
}

#[tokio::test]
async fn a_request_view_summarizes_the_request() {
    let fx = Fixture::new();
    let mut root = with_request(span(1, 1, None, 0), "req-1");
    root.versions.insert(VersionDimension::PromptVersion, "v3".into());
    let mut call = llm_span(1, 2, Some(1), 1, "Why?", "Because.");
    call.status = SpanStatus::Error;
    fx.write(vec![root, call]);
    let (_, body) = get(&fx.router(), "/api/v1/requests/req-1").await;
    let summary = &body["summary"];
    assert_eq!(summary["start_time"], "2023-11-14T22:13:20.000000000Z");
    assert_eq!(summary["duration_ms"], 11.0);
    assert_eq!((summary["status"].as_str(), summary["prompt_version"].as_str()), (Some("error"), Some("v3")));
    assert_eq!((summary["question"].as_str(), summary["answer"].as_str()), (Some("Why?"), Some("Because.")));
    assert_eq!(summary["models"], json!(["gpt-4o-2024-08-06"]));
    assert_eq!(body["versions"]["prompt_version"], json!(["v3"]));
}

#[tokio::test]
async fn a_request_without_a_request_id_is_found_under_its_trace_id() {
    let fx = Fixture::new();
    fx.write(vec![span(1, 1, None, 0)]);
    let (status, body) = get(&fx.router(), &format!("/api/v1/requests/{}", trace_hex(1))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["request_id"], trace_hex(1));
}

#[tokio::test]
async fn a_session_lists_its_requests_in_time_order() {
    let fx = Fixture::new();
    let in_session = |trace: u8, start_ms: u64| {
        let mut s = span(trace, 1, None, start_ms);
        s.session_id = Some("conv".into());
        s
    };
    fx.write(vec![in_session(3, 200)]);
    fx.write(vec![in_session(1, 0), in_session(2, 100)]);
    let (status, body) = get(&fx.router(), "/api/v1/sessions/conv").await;
    assert_eq!(status, StatusCode::OK);
    let traces: Vec<&str> =
        body["requests"].as_array().unwrap().iter().filter_map(|r| r["trace_id"].as_str()).collect();
    assert_eq!(traces, [trace_hex(1), trace_hex(2), trace_hex(3)]);
    assert_eq!(body["request_count"], 3);
}

/// One request of session `conv`: a root and its LLM call answering `answer`.
fn session_request(trace: u8, start_ms: u64, answer: &str) -> Vec<Span> {
    let mut root = span(trace, 1, None, start_ms);
    root.session_id = Some("conv".into());
    let mut call = llm_span(trace, 2, Some(1), start_ms + 1, "Where is my order?", answer);
    if let Some(llm) = call.llm.as_mut() {
        llm.usage.input = Some(100);
        llm.usage.output = Some(20);
    }
    vec![root, call]
}

#[tokio::test]
async fn a_session_counts_a_refused_request_as_failing_though_no_span_errored() {
    let fx = Fixture::new();
    fx.write(session_request(1, 0, "It ships tomorrow."));
    fx.write(session_request(2, 100, "I'm sorry, but I can't help with that."));
    let (_, body) = get(&fx.router(), "/api/v1/sessions/conv").await;
    assert_eq!(body["failing"], 1, "{body}");
}

#[tokio::test]
async fn a_session_adds_up_its_tokens_calls_and_time() {
    let fx = Fixture::new();
    fx.write(session_request(1, 0, "It ships tomorrow."));
    fx.write(session_request(2, 100, "It shipped."));
    let (_, body) = get(&fx.router(), "/api/v1/sessions/conv").await;
    let totals = &body["totals"];
    assert_eq!((totals["input_tokens"].as_i64(), totals["output_tokens"].as_i64()), (Some(200), Some(40)), "{totals}");
    assert_eq!(totals["llm_calls"], 2, "{totals}");
    // Each request runs from its root's start to the latest end, 10 ms after its call began.
    assert_eq!(totals["duration_ms"].as_f64(), Some(22.0), "{totals}");
    assert_eq!(totals["max_duration_ms"].as_f64(), Some(11.0), "{totals}");
}

#[tokio::test]
async fn a_request_and_its_session_carry_their_cost_at_the_built_in_prices() {
    let fx = Fixture::new();
    fx.write(session_request(1, 0, "It ships tomorrow."));
    fx.write(session_request(2, 100, "It shipped."));
    let (_, body) = get(&fx.router(), "/api/v1/sessions/conv").await;
    // 100 input and 20 output tokens of gpt-4o at $2.50 and $10 per million.
    let one = body["requests"][0]["summary"]["cost_usd"].as_f64().unwrap();
    assert!((one - 0.000_45).abs() < 1e-12, "{one}");
    let total = body["totals"]["cost_usd"].as_f64().unwrap();
    assert!((total - 0.000_9).abs() < 1e-12, "{total}");
    assert_eq!(body["totals"]["unpriced_requests"], 0);
}

#[tokio::test]
async fn a_session_with_an_unpriced_model_has_no_total_cost_and_says_why() {
    let fx = Fixture::new();
    fx.write(session_request(1, 0, "It ships tomorrow."));
    let mut other = session_request(2, 100, "It shipped.");
    if let Some(llm) = other[1].llm.as_mut() {
        llm.response_model = Some("in-house-7b".into());
    }
    fx.write(other);
    let (_, body) = get(&fx.router(), "/api/v1/sessions/conv").await;
    assert_eq!(body["totals"]["cost_usd"], Value::Null, "{}", body["totals"]);
    assert_eq!(body["totals"]["unpriced_requests"], 1);
}

#[tokio::test]
async fn an_unknown_session_is_404() {
    let fx = Fixture::new();
    assert_eq!(get(&fx.router(), "/api/v1/sessions/none").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_listing_is_newest_first() {
    let fx = Fixture::new();
    fx.write(vec![with_request(span(1, 1, None, 0), "old"), with_request(span(2, 1, None, 100), "new")]);
    let (_, body) = get(&fx.router(), "/api/v1/requests").await;
    assert_eq!(request_ids(&body), ["new", "old"]);
    assert_eq!(body["next_cursor"], Value::Null);
}

#[tokio::test]
async fn cursor_paging_neither_repeats_nor_skips() {
    let fx = Fixture::new();
    // Two traces share a start time, so the cursor must also order by trace id.
    let spans: Vec<_> =
        (1..=7u8).map(|n| with_request(span(n, 1, None, u64::from(n.min(6)) * 10), &format!("r{n}"))).collect();
    fx.write(spans);
    let api = fx.router();
    let mut seen = Vec::new();
    let mut uri = "/api/v1/requests?limit=3".to_string();
    for _ in 0..5 {
        let (status, body) = get(&api, &uri).await;
        assert_eq!(status, StatusCode::OK);
        seen.extend(request_ids(&body));
        match body["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/api/v1/requests?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["r7", "r6", "r5", "r4", "r3", "r2", "r1"]);
}

#[tokio::test]
async fn a_service_filter_pages_on_until_the_page_is_full() {
    let fx = Fixture::new();
    let mut spans = Vec::new();
    for n in 1..=40u8 {
        let mut s = with_request(span(n, 1, None, u64::from(n)), &format!("r{n}"));
        s.service = if n % 10 == 0 { "rare".into() } else { "busy".into() };
        spans.push(s);
    }
    fx.write(spans);
    let (_, body) = get(&fx.router(), "/api/v1/requests?service=rare&limit=3").await;
    assert_eq!(request_ids(&body), ["r40", "r30", "r20"]);
    let cursor = body["next_cursor"].as_str().unwrap().to_string();
    let (_, rest) = get(&fx.router(), &format!("/api/v1/requests?service=rare&limit=3&cursor={cursor}")).await;
    assert_eq!(request_ids(&rest), ["r10"]);
    assert_eq!(rest["next_cursor"], Value::Null);
}

#[tokio::test]
async fn the_listing_keeps_only_the_user_asked_for() {
    let fx = Fixture::new();
    let spans = (1..=4u8)
        .map(|n| {
            let mut s = with_request(span(n, 1, None, u64::from(n)), &format!("r{n}"));
            s.user_id = Some(if n % 2 == 0 { "user_even" } else { "user_odd" }.into());
            s
        })
        .collect();
    fx.write(spans);
    let (_, body) = get(&fx.router(), "/api/v1/requests?user=user_even").await;
    assert_eq!(request_ids(&body), ["r4", "r2"]);
}

#[tokio::test]
async fn the_listing_keeps_only_requests_at_least_as_slow_as_asked() {
    let fx = Fixture::new();
    let mut slow = with_request(span(1, 1, None, 0), "slow");
    slow.end_unix_nano = slow.start_unix_nano + 2_000 * MS;
    fx.write(vec![slow, with_request(span(2, 1, None, 5), "fast")]);
    let (_, body) = get(&fx.router(), "/api/v1/requests?min_duration_ms=1000").await;
    assert_eq!(request_ids(&body), ["slow"]);
}

#[tokio::test]
async fn since_accepts_an_age_relative_to_now() {
    let fx = Fixture::new();
    let now = now_unix_nanos();
    let at = |trace: u8, minutes_ago: u64, request: &str| {
        let mut s = with_request(span(trace, 1, None, 0), request);
        s.start_unix_nano = now - minutes_ago * 60_000 * MS;
        s.end_unix_nano = s.start_unix_nano + MS;
        s
    };
    fx.write(vec![at(1, 10, "recent"), at(2, 120, "old")]);
    let (status, body) = get(&fx.router(), "/api/v1/requests?since=30m").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(request_ids(&body), ["recent"]);
}

#[tokio::test]
async fn a_bad_listing_parameter_is_400_naming_it() {
    let fx = Fixture::new();
    for (query, name) in
        [("limit=lots", "limit"), ("since=someday", "since"), ("until=x", "until"), ("cursor=zz", "cursor")]
    {
        let (status, body) = get(&fx.router(), &format!("/api/v1/requests?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(body["error"].as_str().unwrap().starts_with(&format!("invalid {name}:")), "{query}: {body}");
    }
}

#[tokio::test]
async fn stats_count_what_is_stored() {
    let fx = Fixture::new();
    let mut s = span(1, 1, None, 0);
    s.session_id = Some("conv".into());
    let log = LogRecord { trace_id: trace_id(1), span_id: [1; 8], time_unix_nano: T0, ..Default::default() };
    fx.write_with_logs(vec![s, span(1, 2, Some(1), 1), span(2, 1, None, 5)], vec![log]);
    let (_, body) = get(&fx.router(), "/api/v1/stats").await;
    assert_eq!(
        (&body["spans"], &body["requests"], &body["sessions"], &body["logs"]),
        (&json!(3), &json!(2), &json!(1), &json!(1))
    );
    assert!(body["disk_bytes"].is_u64());
    assert_eq!(body["data_dir"], fx.store.path().display().to_string());
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let fx = Fixture::new();
    let (status, doc) = get(&fx.router(), "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let paths = doc["paths"].as_object().expect("paths");
    for route in [
        "/readyz",
        "/api/v1/lookup/{id}",
        "/api/v1/traces/{trace_id}",
        "/api/v1/requests",
        "/api/v1/requests/{request_id}",
        "/api/v1/sessions/{session_id}",
        "/api/v1/search",
        "/api/v1/stats",
        "/api/v1/openapi.json",
    ] {
        assert!(paths[route]["get"].is_object(), "{route} missing from the OpenAPI document");
    }
    for schema in ["RequestView", "SearchResults", "SearchResult", "SearchMatch"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema} missing from the OpenAPI document");
    }
    let search_params: Vec<&str> = doc["paths"]["/api/v1/search"]["get"]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(search_params, ["q", "since", "until", "limit", "cursor", "sort"]);
    assert_eq!(doc["paths"]["/api/v1/search"]["get"]["parameters"][0]["required"], true, "q is required");
}

#[tokio::test]
async fn the_openapi_document_says_which_routes_answer_401_and_403() {
    let fx = Fixture::new();
    let (_, doc) = get(&fx.router(), "/api/v1/openapi.json").await;
    let lookup = &doc["paths"]["/api/v1/lookup/{id}"]["get"]["responses"];
    assert!(lookup["401"].is_object() && lookup["403"].is_object(), "{lookup}");
    let readyz = &doc["paths"]["/readyz"]["get"];
    assert!(readyz["responses"]["401"].is_null(), "a probe needs no key: {readyz}");
    assert_eq!(readyz["security"], serde_json::json!([{}]), "{readyz}");
}

#[tokio::test]
async fn an_audit_query_that_cannot_be_read_is_a_json_400() {
    let fx = Fixture::new();
    let access = crate::state::AccessState {
        gate: tracehound_auth::Gate::open(Default::default()),
        store: fx.store.clone(),
        cookie_secure: false,
    };
    let api = crate::router::secure(fx.router(), access);
    let (status, body) = get(&api, "/api/v1/audit?limit=many").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap_or_default().starts_with("invalid limit:"), "{body}");
}
