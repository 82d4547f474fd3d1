//! Specifications of scores, failing examples and versions, through the router over a real
//! store and its real writer.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt;
use tracehound_store::model::{SpanKind, StatusCode as SpanStatus, VersionDimension};
use tracehound_store::writer::{Writer, WriterConfig};

use crate::router::router;
use crate::state::ApiState;
use crate::test_support::{get, llm_span, span, trace_hex, Fixture, Routed};

/// A router whose writer commits into the fixture's store.
fn writable(fx: &Fixture) -> Router {
    let (writer, _thread) = Writer::start(fx.store.clone(), WriterConfig::default()).expect("writer");
    router(ApiState {
        store: fx.store.clone(),
        search: None,
        ready: Arc::new(AtomicBool::new(true)),
        writer: Some(writer),
        alert_rules: Arc::new(tracehound_query::monitor::rules::RuleSet::defaults()),
        alerts: tracehound_query::monitor::live::AlertBoard::default(),
        evals: tracehound_query::evals::status::EvalBoard::default(),
    })
}

async fn post(router: &Router, uri: &str, body: Value) -> (StatusCode, Value) {
    let request = Request::post(uri).header("content-type", "application/json").body(Body::from(body.to_string()));
    let response = router.clone().oneshot(request.expect("request")).await.expect("infallible router");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Trace `n`: a root carrying request id `req-n` and an LLM call answering `answer`.
fn request(n: u8, start_ms: u64, answer: &str) -> Vec<tracehound_store::model::Span> {
    let mut root = span(n, 1, None, start_ms);
    root.request_id = Some(format!("req-{n}"));
    root.session_id = Some(format!("sess-{n}"));
    vec![root, llm_span(n, 2, Some(1), start_ms + 1, "Where is my order?", answer)]
}

const ALL_TIME: &str = "since=1970-01-01T00:00:00Z&until=2100-01-01T00:00:00Z";

fn failing_ids(answer: &Value) -> Vec<String> {
    answer["examples"].as_array().unwrap().iter().map(|e| e["request_id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_score_posted_before_its_request_arrives_attaches_to_it() {
    let fx = Fixture::new();
    let api = writable(&fx);
    let (status, body) = post(
        &api,
        "/api/v1/scores",
        json!({"target_id": "req-1", "name": "helpfulness", "value": 0.2, "source": "llm-judge"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    fx.write(request(1, 0, "It ships tomorrow."));
    let (_, view) = get(&api, "/api/v1/requests/req-1").await;
    assert_eq!(view["scores"][0]["name"], "helpfulness");
    assert_eq!(view["scores"][0]["target_kind"], "request");
}

#[tokio::test]
async fn a_score_posted_after_its_span_attaches_to_that_span() {
    let fx = Fixture::new();
    fx.write(request(1, 0, "It ships tomorrow."));
    let api = writable(&fx);
    let body = json!({"target_kind": "span", "trace_id": trace_hex(1), "target_id": "0202020202020202",
                      "name": "faithfulness", "label": "fail"});
    assert_eq!(post(&api, "/api/v1/scores", body).await.0, StatusCode::CREATED);
    let (_, view) = get(&api, &format!("/api/v1/traces/{}", trace_hex(1))).await;
    assert_eq!(view["scores"][0]["target_id"], "0202020202020202");
    assert_eq!(view["scores"][0]["label"], "fail");
}

#[tokio::test]
async fn a_score_without_value_or_label_is_refused_and_nothing_is_stored() {
    let fx = Fixture::new();
    fx.write(request(1, 0, "ok"));
    let api = writable(&fx);
    let (status, body) = post(&api, "/api/v1/scores", json!({"target_id": "req-1", "name": "x"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("value"), "{body}");
    assert_eq!(get(&api, "/api/v1/requests/req-1").await.1["scores"], json!([]));
}

#[tokio::test]
async fn a_request_scored_below_the_threshold_is_failing_and_one_above_is_not() {
    let fx = Fixture::new();
    fx.write(request(1, 0, "It ships tomorrow."));
    fx.write(request(2, 100, "It ships on Friday."));
    let api = writable(&fx);
    for (id, value) in [("req-1", 0.2), ("req-2", 0.9)] {
        let body = json!({"target_id": id, "name": "helpfulness", "value": value, "source": "llm-judge"});
        assert_eq!(post(&api, "/api/v1/scores", body).await.0, StatusCode::CREATED);
    }
    let (status, answer) = get(&api, &format!("/api/v1/failing?{ALL_TIME}&score=helpfulness%3C0.5")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(failing_ids(&answer), vec!["req-1"]);
    assert_eq!(answer["examples"][0]["reasons"][0]["kind"], "score");
}

#[tokio::test]
async fn negative_user_feedback_makes_a_request_failing() {
    let fx = Fixture::new();
    fx.write(request(1, 0, "It ships tomorrow."));
    let api = writable(&fx);
    let body = json!({"target_id": "req-1", "name": "thumbs", "value": 0, "source": "user-feedback"});
    assert_eq!(post(&api, "/api/v1/scores", body).await.0, StatusCode::CREATED);
    let (_, answer) = get(&api, &format!("/api/v1/failing?{ALL_TIME}")).await;
    assert_eq!(answer["examples"][0]["reasons"][0]["kind"], "negative_feedback");
}

#[tokio::test]
async fn the_caller_chooses_which_reasons_count() {
    let fx = Fixture::new();
    fx.write(request(1, 0, "I'm sorry, but I can't help with questions about orders."));
    let mut failed = span(2, 3, Some(1), 5);
    failed.kind = SpanKind::Tool;
    failed.status = SpanStatus::Error;
    let mut spans = request(2, 100, "Here is what I found.");
    spans.push(failed);
    fx.write(spans);
    let api = Fixture::router(&fx);
    assert_eq!(failing_ids(&get(&api, &format!("/api/v1/failing?{ALL_TIME}")).await.1), vec!["req-2", "req-1"]);
    let (_, only_refusals) = get(&api, &format!("/api/v1/failing?{ALL_TIME}&reasons=refusal")).await;
    assert_eq!(failing_ids(&only_refusals), vec!["req-1"]);
}

#[tokio::test]
async fn examples_spread_over_sessions_before_repeating_one() {
    let fx = Fixture::new();
    for n in 1..=4u8 {
        let mut spans = request(n, u64::from(n) * 100, "I cannot help with that.");
        // Three requests share one session; the fourth has its own, and is the oldest.
        let session = if n == 1 { "lonely" } else { "busy" };
        for s in &mut spans {
            s.session_id = Some(session.into());
        }
        fx.write(spans);
    }
    let api = Fixture::router(&fx);
    let (_, answer) = get(&api, &format!("/api/v1/failing?{ALL_TIME}&limit=2")).await;
    let sessions: Vec<&str> =
        answer["examples"].as_array().unwrap().iter().map(|e| e["session_id"].as_str().unwrap()).collect();
    assert!(sessions.contains(&"lonely") && sessions.contains(&"busy"), "{sessions:?}");
}

#[tokio::test]
async fn a_limit_above_one_thousand_is_refused() {
    let fx = Fixture::new();
    let (status, body) = get(&Fixture::router(&fx), "/api/v1/failing?limit=1001").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn versions_list_a_value_first_seen_inside_the_window_as_a_change() {
    let fx = Fixture::new();
    // Ten requests on v7, then three on v8: too many before for v8 to have been live then.
    for n in 1..=13u8 {
        let (start, answer, version) = if n <= 10 {
            (u64::from(n) * 1_000, "fine", "v7")
        } else {
            (u64::from(n) * 10_000, "I can't help with that.", "v8")
        };
        let mut spans = request(n, start, answer);
        spans[0].versions.insert(VersionDimension::PromptVersion, version.into());
        fx.write(spans);
    }
    let api = Fixture::router(&fx);
    // The window opens 30 s after T0: v7 was seen before it, v8 only inside it.
    let (status, answer) = get(&api, "/api/v1/versions?since=2023-11-14T22:13:50Z&until=2100-01-01T00:00:00Z").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["changes"].as_array().unwrap().len(), 1, "{answer}");
    assert_eq!(answer["changes"][0]["value"], "v8");
    let prompt = answer["dimensions"].as_array().unwrap().iter().find(|d| d["dimension"] == "prompt_version").unwrap();
    assert_eq!(prompt["values"][0]["failing_share"], 1.0);
}

#[tokio::test]
async fn every_evidence_route_is_in_the_openapi_document() {
    let fx = Fixture::new();
    let (_, doc) = get(&Fixture::router(&fx), "/api/v1/openapi.json").await;
    for path in [
        "/api/v1/scores",
        "/api/v1/failing",
        "/api/v1/versions",
        "/api/v1/compare",
        "/api/v1/postmortem",
        "/api/v1/export",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
}

#[tokio::test]
async fn a_score_sent_to_a_process_without_a_writer_is_a_503_in_json_not_worth_retrying() {
    let fx = Fixture::new();
    let request = Request::post("/api/v1/scores")
        .header("content-type", "application/json")
        .body(Body::from(json!({"target_id": "req-1", "name": "x", "value": 1.0}).to_string()))
        .expect("request");
    let response = fx.router().oneshot(request).await.expect("infallible router");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers().get("retry-after"), None, "no writer will appear by waiting");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
    let body: Value = serde_json::from_slice(&bytes).expect("a JSON error body");
    assert_eq!(body["error"], "this process accepts no writes");
}

#[tokio::test]
async fn a_score_body_that_is_not_json_is_refused_in_json() {
    let fx = Fixture::new();
    let api = writable(&fx);
    let request = Request::post("/api/v1/scores")
        .header("content-type", "application/json")
        .body(Body::from("{not json"))
        .expect("request");
    let response = api.oneshot(request).await.expect("infallible router");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
    let body: Value = serde_json::from_slice(&bytes).expect("a JSON error body");
    assert!(body["error"].as_str().unwrap_or_default().starts_with("invalid body:"), "{body}");
}

#[tokio::test]
async fn a_score_for_an_id_nothing_matches_is_stored_and_says_its_target_is_unknown_yet() {
    let fx = Fixture::new();
    fx.write(request(1, 0, "ok"));
    let api = writable(&fx);
    let (status, body) = post(&api, "/api/v1/scores", json!({"target_id": "req-l", "name": "x", "value": 1.0})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!((body["new"].as_bool(), body["target_known"].as_bool()), (Some(true), Some(false)), "{body}");
}

#[tokio::test]
async fn a_score_for_a_stored_request_span_or_session_says_its_target_is_known() {
    let fx = Fixture::new();
    fx.write(request(1, 0, "ok"));
    let api = writable(&fx);
    for target in [
        json!({"target_id": "req-1"}),
        json!({"target_id": "sess-1", "target_kind": "session"}),
        json!({"target_id": trace_hex(1), "target_kind": "trace"}),
        json!({"target_id": hex::encode([2u8; 8]), "target_kind": "span", "trace_id": trace_hex(1)}),
    ] {
        let mut score = target.clone();
        score["name"] = json!("x");
        score["value"] = json!(1.0);
        let (status, body) = post(&api, "/api/v1/scores", score).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["target_known"].as_bool(), Some(true), "{target}: {body}");
    }
}

#[tokio::test]
async fn versions_keep_one_mean_per_score_name() {
    let fx = Fixture::new();
    for n in 1..=2u8 {
        let mut spans = request(n, u64::from(n) * 1_000, "fine");
        spans[0].versions.insert(VersionDimension::PromptVersion, "v7".into());
        fx.write(spans);
    }
    let api = writable(&fx);
    for (target, name, value) in
        [("req-1", "correctness", 1.0), ("req-2", "correctness", 0.5), ("req-1", "latency_ms", 900.0)]
    {
        let body = json!({"target_id": target, "name": name, "value": value});
        assert_eq!(post(&api, "/api/v1/scores", body).await.0, StatusCode::CREATED);
    }
    let (_, answer) = get(&api, &format!("/api/v1/versions?{ALL_TIME}")).await;
    let prompt = answer["dimensions"].as_array().unwrap().iter().find(|d| d["dimension"] == "prompt_version").unwrap();
    let scores = &prompt["values"][0]["scores"];
    assert_eq!(scores["correctness"], json!({"mean": 0.75, "count": 2}), "{scores}");
    assert_eq!(scores["latency_ms"], json!({"mean": 900.0, "count": 1}), "{scores}");
}

#[tokio::test]
async fn an_export_has_one_trace_line_per_request_oldest_first() {
    let fx = Fixture::new();
    fx.write(request(2, 2_000, "It ships tomorrow."));
    fx.write(request(1, 1_000, "It ships today."));
    let (status, body) = get(&Fixture::router(&fx), &format!("/api/v1/export?{ALL_TIME}")).await;
    assert_eq!(status, StatusCode::OK);
    let text = body.as_str().expect("JSON lines, not one JSON value");
    let traces: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(traces.len(), 2, "{text}");
    let first_trace = traces[0]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"].as_str();
    assert_eq!(first_trace, Some(hex::encode([1u8; 16]).as_str()), "oldest first: {text}");
}

#[tokio::test]
async fn an_export_with_a_query_needs_the_search_index() {
    let fx = Fixture::new();
    let (status, body) = get(&Fixture::router(&fx), &format!("/api/v1/export?{ALL_TIME}&q=refund")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
}

#[tokio::test]
async fn versions_give_each_value_its_mean_cost_per_request() {
    let fx = Fixture::new();
    for (n, input) in [(1u8, 100), (2, 300)] {
        let mut spans = request(n, u64::from(n) * 1_000, "fine");
        spans[0].versions.insert(VersionDimension::PromptVersion, "v7".into());
        if let Some(llm) = spans[1].llm.as_mut() {
            llm.usage.input = Some(input);
        }
        fx.write(spans);
    }
    let (_, answer) = get(&Fixture::router(&fx), &format!("/api/v1/versions?{ALL_TIME}")).await;
    let prompt = answer["dimensions"].as_array().unwrap().iter().find(|d| d["dimension"] == "prompt_version").unwrap();
    let value = &prompt["values"][0];
    // 200 input tokens of gpt-4o on average, at $2.50 per million.
    assert!((value["mean_cost_usd"].as_f64().unwrap() - 0.000_5).abs() < 1e-12, "{value}");
    assert_eq!(value["priced_requests"], 2);
}

#[tokio::test]
async fn a_canary_without_a_dimension_is_refused_naming_it() {
    let fx = Fixture::new();
    let (status, body) = get(&Fixture::router(&fx), "/api/v1/canary?candidate=v8&baseline=v7").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"].as_str().unwrap_or_default().contains("dimension"), "{body}");
}

#[tokio::test]
async fn a_canary_of_two_requests_holds_for_want_of_data() {
    let fx = Fixture::new();
    for (n, version) in [(1u8, "v7"), (2, "v8")] {
        let mut spans = request(n, u64::from(n) * 1_000, "fine");
        spans[0].versions.insert(VersionDimension::PromptVersion, version.into());
        fx.write(spans);
    }
    let uri = format!("/api/v1/canary?dimension=prompt_version&candidate=v8&baseline=v7&{ALL_TIME}");
    let (status, body) = get(&Fixture::router(&fx), &uri).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["verdict"], "hold", "{body}");
    assert_eq!(body["metrics"]["candidate"]["requests"], 1);
}
