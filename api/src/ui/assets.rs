//! The UI's static files, embedded in the binary at build time.

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::ui::headers::security_headers;

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Name under `/assets/`.
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static str,
}

/// Every file under `/assets/`.
pub const ASSETS: &[Asset] = &[
    Asset { name: "app.css", content_type: "text/css; charset=utf-8", body: include_str!("../../assets/app.css") },
    Asset { name: "dom.js", content_type: JS, body: include_str!("../../assets/dom.js") },
    Asset { name: "trace.js", content_type: JS, body: include_str!("../../assets/trace.js") },
    Asset { name: "markdown.js", content_type: JS, body: include_str!("../../assets/markdown.js") },
    Asset { name: "pages.js", content_type: JS, body: include_str!("../../assets/pages.js") },
    Asset { name: "evidence.js", content_type: JS, body: include_str!("../../assets/evidence.js") },
    Asset { name: "triage.js", content_type: JS, body: include_str!("../../assets/triage.js") },
    Asset { name: "monitor.js", content_type: JS, body: include_str!("../../assets/monitor.js") },
    // uPlot 1.6.32 (MIT, api/assets/vendor/uPlot.LICENSE), as published on npm: the monitor's
    // chart library, served from the binary so the page loads nothing from elsewhere.
    Asset { name: "uplot.js", content_type: JS, body: include_str!("../../assets/vendor/uPlot.iife.min.js") },
    Asset {
        name: "uplot.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../assets/vendor/uPlot.min.css"),
    },
    Asset { name: "main.js", content_type: JS, body: include_str!("../../assets/main.js") },
    Asset { name: "favicon.svg", content_type: "image/svg+xml", body: include_str!("../../assets/favicon.svg") },
];

const JS: &str = "text/javascript; charset=utf-8";

/// The embedded file of that name.
pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// `GET /assets/{name}`: the file, or 404.
pub async fn serve(Path(name): Path<String>) -> Response {
    match find(&name) {
        Some(asset) => (security_headers(asset.content_type), asset.body).into_response(),
        None => {
            let headers: HeaderMap = security_headers("text/plain; charset=utf-8");
            (StatusCode::NOT_FOUND, headers, format!("no asset named {name:?}")).into_response()
        }
    }
}
