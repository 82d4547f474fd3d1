//! Access control of the API and UI: every request passes [`guard`], which finds the
//! caller's key (an `authorization: Bearer` header, or the UI's sign-in cookie), checks the
//! scope the route needs, hands the caller's [`Principal`] to the handlers (the
//! [`Tenant`](crate::state::Tenant) extractor reads its tenant), and records reads of evidence
//! in the audit trail.
//!
//! | route | scope |
//! |---|---|
//! | `/readyz`, `/api/v1/openapi.json`, `/assets/…`, `POST /ui/signin`, `POST /ui/signout` | none |
//! | UI pages, every other `GET` | `read` (a page without a valid cookie shows the sign-in form) |
//! | `/mcp` (any method: the MCP tools, whose calls are audited as the API reads they make) | `read` |
//! | `POST /api/v1/scores` | `ingest` (evaluators write scores as they would telemetry) |
//! | `POST`/`DELETE /api/v1/holds`, `GET /api/v1/audit`, `GET /metrics`, any other write | `admin` |

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use tracehound_auth::secret::bearer_token;
use tracehound_auth::{AuthError, Gate, Principal, Scope};
use tracehound_store::audit::AuditEntry;
use tracehound_store::Store;

use tracehound_query::time_range::now_unix_nanos;
use tracehound_query::ErrorBody;

use crate::state::{AccessState, COOKIE};

/// What a route asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: probes, the OpenAPI document, static assets, signing in and out.
    Open,
    /// A UI page: a caller without a valid read key gets the sign-in form.
    Page,
    /// An API route needing this scope.
    Api(Scope),
}

/// Where the binary mounts the MCP tools; the access rule below is written for it.
pub const MCP_PATH: &str = "/mcp";
const PAGE_PREFIXES: &[&str] = &["/r/", "/s/"];
const PAGES: &[&str] = &["/", "/search", "/failing", "/versions", "/postmortem", "/triage", "/monitor"];
/// Reads of evidence, recorded in the audit trail.
const AUDITED: &[&str] = &[
    "/api/v1/lookup/",
    "/api/v1/traces/",
    "/api/v1/requests",
    "/api/v1/sessions/",
    "/api/v1/search",
    "/api/v1/failing",
    "/api/v1/postmortem",
    "/api/v1/compare",
    "/api/v1/versions",
    "/api/v1/export",
    "/api/v1/canary",
    "/api/v1/shadow",
    "/api/v1/triage",
    // Tempo's API (Grafana) reads the same evidence.
    "/api/traces/",
    "/api/v2/traces/",
    "/api/search",
];

/// The access a request needs, from its method and path.
pub fn access_of(method: &Method, path: &str) -> Access {
    let reading = method == Method::GET || method == Method::HEAD;
    match path {
        // OTLP sent to this port only learns where to send it: no key is needed for that.
        "/readyz" | "/api/v1/openapi.json" | "/ui/signin" | "/ui/signout" | "/v1/traces" | "/v1/logs" => {
            return Access::Open
        }
        _ if path.starts_with("/assets/") => return Access::Open,
        "/metrics" | "/api/v1/audit" => return Access::Api(Scope::Admin),
        "/api/v1/scores" if method == Method::POST => return Access::Api(Scope::Ingest),
        // MCP's streamable HTTP posts every call, reads included; the tools only read.
        _ if path == MCP_PATH || path.strip_prefix(MCP_PATH).is_some_and(|rest| rest.starts_with('/')) => {
            return Access::Api(Scope::Read)
        }
        _ => {}
    }
    if reading && (PAGES.contains(&path) || PAGE_PREFIXES.iter().any(|p| path.starts_with(p))) {
        Access::Page
    } else if reading {
        Access::Api(Scope::Read)
    } else {
        Access::Api(Scope::Admin)
    }
}

/// True for the routes whose reads are recorded in the audit trail.
pub fn is_audited(method: &Method, path: &str) -> bool {
    method == Method::GET && AUDITED.iter().any(|prefix| path.starts_with(prefix))
}

/// The key a request carries: its `authorization` header, else the sign-in cookie.
fn presented_key(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| AuthError::Malformed)?;
        return bearer_token(value).map(Some).ok_or(AuthError::Malformed);
    }
    Ok(cookie_value(headers, COOKIE))
}

/// The value of cookie `name`, if sent.
pub fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

/// The principal of a request, holding `scope`, or why not.
pub fn authorize(gate: &Gate, headers: &HeaderMap, scope: Scope) -> Result<Principal, AuthError> {
    if !gate.is_enforcing() {
        return gate.authenticate(None);
    }
    let key = presented_key(headers)?.ok_or(AuthError::Missing)?;
    let principal = gate.authenticate(Some(key))?;
    principal.require(scope)?;
    Ok(principal)
}

/// The JSON refusal: 401 with `WWW-Authenticate: Bearer`, or 403.
fn refusal(err: &AuthError) -> Response {
    let status = if err.is_unauthenticated() { StatusCode::UNAUTHORIZED } else { StatusCode::FORBIDDEN };
    let mut response = (status, Json(ErrorBody { error: err.to_string(), position: None })).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// The middleware: authenticate, authorize, run, audit.
pub async fn guard(State(access): State<AccessState>, mut request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let principal = match access_of(&method, &path) {
        Access::Open => return next.run(request).await,
        Access::Page => match authorize(&access.gate, request.headers(), Scope::Read) {
            Ok(principal) => {
                request.extensions_mut().insert(principal);
                let page = next.run(request).await;
                return if access.gate.is_enforcing() { crate::signin::with_signout(page).await } else { page };
            }
            Err(e) => return crate::signin::signin_page(&e, request.uri()),
        },
        Access::Api(scope) => match authorize(&access.gate, request.headers(), scope) {
            Ok(principal) => principal,
            Err(e) => return refusal(&e),
        },
    };
    let route = request.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| path.clone());
    request.extensions_mut().insert(principal.clone());
    let response = next.run(request).await;
    if is_audited(&method, &path) {
        let entry = AuditEntry {
            time_unix_nano: now_unix_nanos(),
            key_id: principal.key_id.clone(),
            tenant: principal.tenant.0,
            method: method.to_string(),
            route,
            status: response.status().as_u16(),
        };
        record(&access.store, entry).await;
    }
    response
}

async fn record(store: &Store, entry: AuditEntry) {
    tracing::info!(
        target: "tracehound::audit",
        key_id = entry.key_id.as_deref().unwrap_or("-"),
        tenant = entry.tenant,
        method = %entry.method,
        route = %entry.route,
        status = entry.status,
        "evidence read"
    );
    let store = store.clone();
    let written = tokio::task::spawn_blocking(move || store.append_audit(&entry)).await;
    match written {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "cannot append to the audit trail"),
        Err(e) => tracing::error!(error = %e, "the audit trail write did not complete"),
    }
}

/// Declares the `authorization: Bearer` key (or sign-in cookie) in the OpenAPI document.
pub struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme("cookie", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(COOKIE))));
        openapi.security = Some(vec![
            SecurityRequirement::new("bearer", Vec::<String>::new()),
            SecurityRequirement::new("cookie", Vec::<String>::new()),
        ]);
        // Each operation says what the gate answers, from the same rule the gate applies.
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                (Method::GET, &mut item.get),
                (Method::POST, &mut item.post),
                (Method::PUT, &mut item.put),
                (Method::DELETE, &mut item.delete),
                (Method::PATCH, &mut item.patch),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else { continue };
                match access_of(&method, path) {
                    // Anonymous: the empty requirement overrides the document's default.
                    Access::Open => operation.security = Some(vec![SecurityRequirement::default()]),
                    Access::Page | Access::Api(_) => {
                        let responses = &mut operation.responses.responses;
                        responses.entry("401".into()).or_insert_with(|| error_response(UNAUTHENTICATED));
                        responses.entry("403".into()).or_insert_with(|| error_response(FORBIDDEN));
                    }
                }
            }
        }
    }
}

const UNAUTHENTICATED: &str = "no key, or a key that is unknown, revoked or expired (when keys are configured)";
const FORBIDDEN: &str = "the key lacks the scope this route needs, or belongs to another tenant";

/// A JSON error answer, described.
fn error_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    ResponseBuilder::new().description(description).content("application/json", content).build().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_documents_and_assets_are_open() {
        for path in ["/readyz", "/api/v1/openapi.json", "/assets/main.js"] {
            assert_eq!(access_of(&Method::GET, path), Access::Open, "{path}");
        }
    }

    #[test]
    fn reads_need_the_read_scope() {
        for path in ["/api/v1/lookup/x", "/api/v1/search", "/api/v1/stats", "/api/v1/holds", "/api/v1/failing"] {
            assert_eq!(access_of(&Method::GET, path), Access::Api(Scope::Read), "{path}");
        }
    }

    #[test]
    fn pages_need_a_sign_in() {
        for path in ["/", "/r/req_1", "/s/sess", "/search", "/postmortem", "/triage", "/monitor"] {
            assert_eq!(access_of(&Method::GET, path), Access::Page, "{path}");
        }
    }

    #[test]
    fn holds_audit_and_metrics_need_admin() {
        assert_eq!(access_of(&Method::POST, "/api/v1/holds"), Access::Api(Scope::Admin));
        assert_eq!(access_of(&Method::DELETE, "/api/v1/holds/h1"), Access::Api(Scope::Admin));
        assert_eq!(access_of(&Method::GET, "/api/v1/audit"), Access::Api(Scope::Admin));
        assert_eq!(access_of(&Method::GET, "/metrics"), Access::Api(Scope::Admin));
    }

    #[test]
    fn scores_need_ingest() {
        assert_eq!(access_of(&Method::POST, "/api/v1/scores"), Access::Api(Scope::Ingest));
    }

    #[test]
    fn mcp_calls_need_read_whatever_the_method() {
        for method in [Method::POST, Method::GET, Method::DELETE] {
            assert_eq!(access_of(&method, "/mcp"), Access::Api(Scope::Read), "{method}");
        }
    }

    #[test]
    fn unknown_writes_need_admin() {
        assert_eq!(access_of(&Method::PUT, "/api/v1/anything"), Access::Api(Scope::Admin));
    }

    #[test]
    fn evidence_reads_are_audited_and_stats_are_not() {
        assert!(is_audited(&Method::GET, "/api/v1/lookup/req_1"));
        assert!(is_audited(&Method::GET, "/api/v1/postmortem"));
        assert!(!is_audited(&Method::GET, "/api/v1/stats"));
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; tracehound_key=th_x; b=2"));
        assert_eq!(cookie_value(&headers, COOKIE), Some("th_x"));
    }

    #[test]
    fn a_header_that_is_not_bearer_is_malformed_even_with_a_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        headers.insert(header::COOKIE, HeaderValue::from_static("tracehound_key=th_x"));
        assert_eq!(presented_key(&headers), Err(AuthError::Malformed));
    }
}
