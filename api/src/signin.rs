//! Web UI sign-in: a page without a valid key shows a form taking a read key; signing in
//! keeps the key in an `HttpOnly`, `SameSite=Strict` cookie the API also accepts.
//!
//! The form is plain HTML posting to `/ui/signin`: no script, so the strict CSP holds.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use tracehound_auth::{AuthError, Scope};

use crate::state::{AccessState, COOKIE};
use crate::ui::headers::security_headers;

const FORM: &str = include_str!("../assets/signin.html");

/// Escapes text for an HTML attribute or element.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Only a path on this site: never `//host` or `/\host`, which browsers read as another origin.
fn safe_next(next: &str) -> &str {
    let bytes = next.as_bytes();
    let local = bytes.first() == Some(&b'/')
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && !next.chars().any(|c| c.is_control());
    if local {
        next
    } else {
        "/"
    }
}

fn form(status: StatusCode, message: &str, next: &str) -> Response {
    let html = FORM.replace("{{message}}", &escape(message)).replace("{{next}}", &escape(safe_next(next)));
    (status, security_headers("text/html; charset=utf-8"), html).into_response()
}

fn message_of(err: &AuthError) -> &'static str {
    match err {
        AuthError::Missing => "Sign in with a read key.",
        AuthError::Forbidden(_) => "That key cannot read: use a key with the read scope.",
        AuthError::Malformed | AuthError::Invalid => "That key is not valid.",
    }
}

/// The sign-in form, answered in place of a page the caller may not see.
pub fn signin_page(err: &AuthError, uri: &Uri) -> Response {
    let next = uri.path_and_query().map_or("/", |p| p.as_str());
    // 401 even for a first visit: browsers show the form all the same, and no page of
    // evidence ever answers 200 to a caller without a key.
    let status = if err.is_unauthenticated() { StatusCode::UNAUTHORIZED } else { StatusCode::FORBIDDEN };
    form(status, message_of(err), next)
}

/// Where the page shell takes the sign-out button (an HTML comment, so invisible without keys).
const SIGNOUT_MARKER: &str = "<!--signout-->";
const SIGNOUT_FORM: &str =
    r#"<form class="signout" method="post" action="/ui/signout"><button type="submit">Sign out</button></form>"#;
/// Pages are small fixed shells; anything larger is passed through untouched.
const MAX_SHELL_BYTES: usize = 1 << 20;

/// A signed-in page: the shell with its sign-out button. The shell is static, so only the
/// guard, which knows the caller signed in, can put the button there.
pub async fn with_signout(page: Response) -> Response {
    let (mut parts, body) = page.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_SHELL_BYTES).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "page too large").into_response();
    };
    let html = String::from_utf8_lossy(&bytes).replacen(SIGNOUT_MARKER, SIGNOUT_FORM, 1);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(html))
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub struct SignIn {
    /// The read key.
    pub key: String,
    /// Where to go once signed in.
    #[serde(default)]
    pub next: String,
}

fn redirect(to: &str, cookie: Option<String>) -> Response {
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(safe_next(to)) {
        headers.insert(header::LOCATION, location);
    }
    if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::SET_COOKIE, cookie);
    }
    (StatusCode::SEE_OTHER, headers).into_response()
}

fn cookie(value: &str, max_age: Option<u64>, secure: bool) -> String {
    let mut cookie = format!("{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/");
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// `POST /ui/signin`: a valid read key sets the cookie and goes on to `next`.
pub async fn post_signin(State(access): State<AccessState>, Form(signin): Form<SignIn>) -> Response {
    if !access.gate.is_enforcing() {
        return redirect(&signin.next, None);
    }
    let key = signin.key.trim();
    // Keys are `th_` and base64url; anything else cannot be one and must not reach a header.
    let plausible = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let checked = if plausible { access.gate.authenticate(Some(key)) } else { Err(AuthError::Invalid) };
    match checked.and_then(|p| p.require(Scope::Read).map(|()| p)) {
        Ok(principal) => {
            tracing::info!(
                key_id = principal.key_id.as_deref().unwrap_or("-"),
                tenant = principal.tenant.0,
                "UI sign-in"
            );
            redirect(&signin.next, Some(cookie(key, None, access.cookie_secure)))
        }
        Err(e) => {
            let status = if e.is_unauthenticated() { StatusCode::UNAUTHORIZED } else { StatusCode::FORBIDDEN };
            form(status, message_of(&e), &signin.next)
        }
    }
}

/// `POST /ui/signout`: clears the cookie.
pub async fn post_signout(State(access): State<AccessState>) -> Response {
    redirect("/", Some(cookie("", Some(0), access.cookie_secure)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next("/r/req_1?x=1"), "/r/req_1?x=1");
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
    }

    #[test]
    fn the_form_escapes_what_it_echoes() {
        let html = escape("/search?q=\"><script>");
        assert!(!html.contains('<') && !html.contains('"'));
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_site_wide() {
        let set = cookie("th_x", None, true);
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"));
        assert!(set.ends_with("; Secure"));
        assert!(!cookie("th_x", None, false).contains("Secure"));
    }
}
