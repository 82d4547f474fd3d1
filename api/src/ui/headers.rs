//! Security headers every UI answer carries.

use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Only this origin's scripts, styles, images and fetches; no framing; no inline code.
///
/// `frame-ancestors` is not covered by `default-src`, so it is spelled out.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

/// The headers of every page and asset: CSP, no MIME sniffing, no framing, no referrer,
/// and revalidation so a new binary's assets are picked up at once.
pub fn security_headers(content_type: &'static str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let fixed: [(HeaderName, &'static str); 6] = [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-cache"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
}
