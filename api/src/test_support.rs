//! Fixtures of the API's tests (and the CLI's): the query crate's store fixtures, calls of
//! the router, and the router served on a loopback port.

// Test code: a failed fixture is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::thread::JoinHandle;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use serde_json::Value;
use tokio::sync::oneshot;
use tower::ServiceExt;

pub use tracehound_query::test_support::*;

use crate::router::router;
use crate::state::ApiState;

/// The API over a fixture's store.
pub trait Routed {
    /// The API over this store, ready.
    fn router(&self) -> Router;
}

impl Routed for Fixture {
    fn router(&self) -> Router {
        router(ApiState {
            store: self.store.clone(),
            search: self.search.clone(),
            ready: Arc::new(AtomicBool::new(true)),
            writer: None,
            alert_rules: Arc::new(tracehound_query::monitor::rules::RuleSet::defaults()),
            alerts: tracehound_query::monitor::live::AlertBoard::default(),
            evals: tracehound_query::evals::status::EvalBoard::default(),
        })
    }
}

/// A `GET` of the router: the status and the body as JSON (or as a JSON string when not JSON).
pub async fn get(router: &Router, uri: &str) -> (StatusCode, Value) {
    let request = Request::get(uri).body(Body::empty()).expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible router");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, body)
}

/// The API over a store, served on 127.0.0.1 from a thread of its own, stopped when dropped.
pub struct LiveApi {
    /// Its base URL.
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    _fixture: Fixture,
}

impl LiveApi {
    /// Serves the fixture's router.
    pub fn serve(fixture: Fixture) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("non-blocking");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let app = fixture.router();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let shutdown = async {
                    let _ = stopped.await;
                };
                axum::serve(listener, app).with_graceful_shutdown(shutdown).await.expect("serve");
            });
        });
        LiveApi { url, stop: Some(stop), server: Some(server), _fixture: fixture }
    }
}

impl Drop for LiveApi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }
}
