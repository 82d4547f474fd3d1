//! `Server-Timing` on every API answer: the time spent inside the server, so a benchmark (or
//! a browser's network panel) can tell server cost from loopback and client overhead.

use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

/// Middleware adding `Server-Timing: app;dur=<milliseconds>` to the response.
///
/// The time covers routing and the handler up to the response head; a streamed body's
/// transfer is not in it (the API's answers are built whole before they are sent).
pub async fn server_timing(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let mut response = next.run(request).await;
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(value) = HeaderValue::from_str(&format!("app;dur={millis:.3}")) {
        response.headers_mut().insert("server-timing", value);
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn answers_carry_the_server_time_in_milliseconds() {
        let app = Router::new().route("/", get(|| async { "ok" })).layer(axum::middleware::from_fn(server_timing));
        let response = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
        let header = response.headers().get("server-timing").unwrap().to_str().unwrap().to_string();
        let millis: f64 = header.strip_prefix("app;dur=").unwrap().parse().unwrap();
        assert!(millis >= 0.0, "{header}");
    }
}
