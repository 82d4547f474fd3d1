//! Holds and stats through the router over a real store.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::test_support::{get, span, Fixture, Routed};

async fn send(router: &Router, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible router");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_posted_hold_is_listed_with_its_reason() {
    let fx = Fixture::new();
    let api = fx.router();
    let body = json!({"kind": "request", "value": "req_1", "reason": "INC-42"});
    let (status, hold) = send(&api, "POST", "/api/v1/holds", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!((hold["kind"].as_str(), hold["value"].as_str()), (Some("request"), Some("req_1")));
    let (_, list) = get(&api, "/api/v1/holds").await;
    assert_eq!(list["holds"][0]["id"], hold["id"]);
    assert_eq!(list["holds"][0]["reason"], "INC-42");
}

#[tokio::test]
async fn a_window_hold_takes_ages_and_timestamps() {
    let fx = Fixture::new();
    let body = json!({"kind": "window", "since": "2020-01-01T10:00:00Z", "until": "2h", "reason": "INC-43"});
    let (status, hold) = send(&fx.router(), "POST", "/api/v1/holds", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(hold["since"], "2020-01-01T10:00:00.000000000Z");
    assert!(hold["until"].is_string());
}

#[tokio::test]
async fn a_hold_without_a_reason_is_refused() {
    let fx = Fixture::new();
    let body = json!({"kind": "session", "value": "s1", "reason": " "});
    let (status, answer) = send(&fx.router(), "POST", "/api/v1/holds", Some(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["error"].as_str().unwrap_or_default().contains("reason"));
    assert!(fx.store.holds(tracehound_store::TenantId::DEFAULT).unwrap().is_empty());
}

#[tokio::test]
async fn a_hold_of_an_unknown_kind_is_refused() {
    let fx = Fixture::new();
    let body = json!({"kind": "trace", "value": "abc", "reason": "INC-44"});
    let (status, _) = send(&fx.router(), "POST", "/api/v1/holds", Some(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_window_ending_before_it_starts_is_refused() {
    let fx = Fixture::new();
    let body = json!({"kind": "window", "since": "1h", "until": "2h", "reason": "INC-45"});
    let (status, _) = send(&fx.router(), "POST", "/api/v1/holds", Some(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_deleted_hold_is_gone_and_deleting_it_again_is_404() {
    let fx = Fixture::new();
    let api = fx.router();
    let body = json!({"kind": "session", "value": "s1", "reason": "INC-46"});
    let (_, hold) = send(&api, "POST", "/api/v1/holds", Some(body)).await;
    let uri = format!("/api/v1/holds/{}", hold["id"].as_str().unwrap());
    assert_eq!(send(&api, "DELETE", &uri, None).await.0, StatusCode::OK);
    assert_eq!(get(&api, "/api/v1/holds").await.1["holds"], json!([]));
    assert_eq!(send(&api, "DELETE", &uri, None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn stats_show_disk_use_by_part_oldest_data_index_lag_and_holds() {
    let fx = Fixture::with_search();
    fx.write(vec![span(1, 1, None, 5_000)]);
    fx.write(vec![span(2, 1, None, 9_000)]);
    let api = fx.router();
    send(&api, "POST", "/api/v1/holds", Some(json!({"kind": "request", "value": "r", "reason": "x"}))).await;
    let (status, stats) = get(&api, "/api/v1/stats").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stats["requests"], 2);
    assert!(stats["disk"]["parts"]["spans"].is_u64());
    assert!(stats["disk"]["parts"]["journal"].as_u64().unwrap() > 0);
    assert_eq!(
        stats["oldest_start"],
        tracehound_query::timestamp::format_rfc3339(crate::test_support::T0 + 5_000 * crate::test_support::MS)
    );
    assert_eq!(stats["index"]["changes_behind"], 2, "nothing indexed yet");
    assert_eq!(stats["holds"], 1);
}

#[tokio::test]
async fn a_hold_without_disk_headroom_is_refused_retryably_and_not_taken() {
    let fx = Fixture::new();
    fx.store.set_disk_reserve(u64::MAX);
    let body = json!({"kind": "request", "value": "req_1", "reason": "INC-45"});
    let (status, answer) = send(&fx.router(), "POST", "/api/v1/holds", Some(body)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    fx.store.set_disk_reserve(0);
    assert!(fx.store.holds(tracehound_store::TenantId::DEFAULT).unwrap().is_empty());
}
