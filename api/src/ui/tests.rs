//! The UI's routes: what they answer, with which headers, and what the assets never do.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use tower::ServiceExt;

use crate::ui::assets::ASSETS;
use crate::ui::headers::CONTENT_SECURITY_POLICY;
use crate::ui::pages::Page;

async fn fetch(path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let app: Router = crate::ui::router();
    let resp = app.oneshot(Request::get(path).body(Body::empty()).expect("request")).await.expect("answer");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    (status, headers, String::from_utf8_lossy(&bytes).into_owned())
}

const PAGE_PATHS: [(&str, &str); 9] = [
    ("/", "home"),
    ("/r/req_8f2c1", "request"),
    ("/s/sess_1", "session"),
    ("/search?q=refund", "search"),
    ("/failing", "failing"),
    ("/versions", "versions"),
    ("/postmortem", "postmortem"),
    ("/triage", "triage"),
    ("/monitor", "monitor"),
];

#[tokio::test]
async fn every_page_url_answers_its_html_shell() {
    for (path, page) in PAGE_PATHS {
        let (status, headers, body) = fetch(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8", "{path}");
        assert!(body.contains(&format!("data-page=\"{page}\"")), "{path}: {body}");
    }
}

#[tokio::test]
async fn pages_and_assets_carry_the_security_headers() {
    for path in ["/", "/r/x", "/assets/app.css", "/assets/main.js", "/assets/missing.js"] {
        let (_, headers, _) = fetch(path).await;
        assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY, "{path}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY", "{path}");
    }
}

#[test]
fn the_policy_allows_only_this_origin_and_no_framing() {
    assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'self'"));
    assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
}

#[tokio::test]
async fn a_request_id_in_the_path_never_reaches_the_html() {
    let (_, _, body) = fetch("/r/%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
    assert!(!body.contains("alert(1)"));
    assert_eq!(body, Page::Request.html());
}

#[tokio::test]
async fn every_asset_is_served_with_its_content_type() {
    for asset in ASSETS {
        let (status, headers, body) = fetch(&format!("/assets/{}", asset.name)).await;
        assert_eq!(status, StatusCode::OK, "{}", asset.name);
        assert_eq!(headers[header::CONTENT_TYPE], asset.content_type, "{}", asset.name);
        assert_eq!(body, asset.body, "{}", asset.name);
    }
}

#[tokio::test]
async fn an_unknown_asset_is_404() {
    assert_eq!(fetch("/assets/nope.js").await.0, StatusCode::NOT_FOUND);
}

#[test]
fn every_asset_the_shell_loads_is_embedded() {
    let shell = Page::Home.html();
    let mut loaded = 0;
    for part in shell.split("/assets/").skip(1) {
        let name = part.split('"').next().unwrap_or_default();
        assert!(ASSETS.iter().any(|a| a.name == name), "{name} is loaded but not embedded");
        loaded += 1;
    }
    assert!(loaded >= 7, "the shell loads {loaded} assets");
}

#[test]
fn the_shell_has_no_inline_script_or_style_the_policy_would_block() {
    let shell = Page::Home.html();
    assert!(!shell.contains("<script>"), "inline script");
    assert!(!shell.contains("<style"), "inline style");
    assert!(!shell.contains(" style="), "style attribute");
    assert!(!shell.contains(" on"), "inline event handler");
}

#[test]
fn no_script_parses_text_as_html() {
    for asset in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
        for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"] {
            assert!(!asset.body.contains(sink), "{} uses {sink}", asset.name);
        }
    }
}

#[test]
fn no_asset_loads_anything_from_another_origin() {
    for asset in ASSETS {
        for remote in ["http://", "https://", "//fonts.", "@import"] {
            // An XML namespace is a name, not a fetch.
            let body = asset
                .body
                .replace("xmlns=\"http://www.w3.org/2000/svg\"", "")
                .replace("const SVG = \"http://www.w3.org/2000/svg\";", "");
            // A vendored file's header comment names where it came from; nothing is fetched.
            let hits: Vec<&str> =
                body.lines().filter(|l| l.contains(remote) && !l.starts_with("/*! https://github.com/")).collect();
            // The Markdown renderer names the schemes it lets through as links; nothing is fetched.
            let allowed = asset.name == "markdown.js" && hits.iter().all(|l| l.contains("https?:"));
            assert!(hits.is_empty() || allowed, "{} mentions {remote}: {hits:?}", asset.name);
        }
    }
    assert!(!Page::Home.html().contains("http"), "the shell names another origin");
}
