//! Wiring the MCP tools to the API: in-process through the guarded router for `/mcp`, and
//! over HTTP for `tracehound mcp` on stdio.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request};
use axum::Router;
use serde_json::Value;
use tower::ServiceExt;
use tracehound_cli::client::{ApiClient, CliError};
use tracehound_mcp::{ApiCall, Credentials, EvidenceSource, SourceError, SourceFuture};

/// The largest API answer a tool reads in-process; the tool then cuts it to a context's size.
const MAX_API_ANSWER_BYTES: usize = 256 * 1024 * 1024;

/// Characters escaped in a path segment: everything but the unreserved ones (RFC 3986).
const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// The API router behind its guard, called in-process with the MCP caller's own key: the
/// tool call is checked, scoped and audited as that API call.
#[derive(Clone)]
pub struct RouterSource {
    router: Router,
}

impl RouterSource {
    /// A source calling `router`, which must carry the access guard.
    pub fn new(router: Router) -> Self {
        RouterSource { router }
    }
}

impl EvidenceSource for RouterSource {
    fn get(&self, call: ApiCall, credentials: Credentials) -> SourceFuture {
        let router = self.router.clone();
        Box::pin(async move {
            let mut uri = String::from("/api/v1");
            for segment in &call.segments {
                uri.push('/');
                uri.extend(percent_encoding::utf8_percent_encode(segment, SEGMENT));
            }
            if !call.query.is_empty() {
                uri.push('?');
                uri.push_str(&form_urlencoded::Serializer::new(String::new()).extend_pairs(&call.query).finish());
            }
            let mut request =
                Request::get(&uri).body(Body::empty()).map_err(|e| SourceError::Failed(format!("{uri}: {e}")))?;
            // Only what proves who the caller is crosses over: its key, by header or cookie.
            for name in [header::AUTHORIZATION, header::COOKIE] {
                for value in credentials.iter().flat_map(|headers| headers.get_all(&name)) {
                    request.headers_mut().append(name.clone(), value.clone());
                }
            }
            let response = match router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), MAX_API_ANSWER_BYTES)
                .await
                .map_err(|e| SourceError::Failed(format!("reading the answer of {uri}: {e}")))?;
            let value: Option<Value> = serde_json::from_slice(&body).ok();
            if !status.is_success() {
                let message = value
                    .as_ref()
                    .and_then(|v| v.get("error"))
                    .and_then(Value::as_str)
                    .map_or_else(|| String::from_utf8_lossy(&body).into_owned(), str::to_string);
                return Err(SourceError::Refused { status: status.as_u16(), message });
            }
            value.ok_or_else(|| SourceError::Failed(format!("the answer of {uri} is not JSON")))
        })
    }
}

/// The API over HTTP with the CLI's client: its `--api-url`, its key variable, its CA.
pub struct ClientSource {
    client: ApiClient,
}

impl ClientSource {
    /// A source calling the API through `client`.
    pub fn new(client: ApiClient) -> Self {
        ClientSource { client }
    }
}

impl EvidenceSource for ClientSource {
    fn get(&self, call: ApiCall, _credentials: Credentials) -> SourceFuture {
        let client = self.client.clone();
        Box::pin(async move {
            // The CLI's client blocks; off the async workers it may.
            let answer = tokio::task::spawn_blocking(move || {
                let segments: Vec<&str> = call.segments.iter().map(String::as_str).collect();
                let query: Vec<(&str, &str)> = call.query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                client.get_json_at(&segments, &query)
            })
            .await
            .map_err(|e| SourceError::Failed(format!("the API call did not complete: {e}")))?;
            answer.map_err(|e| match e {
                CliError::Api { status, message } => SourceError::Refused { status, message },
                other => SourceError::Failed(other.to_string()),
            })
        })
    }
}

/// `mcp`: serve the tools on stdio, reading the API at `--api-url`.
#[derive(Debug, Clone, clap::Args)]
pub struct McpArgs {
    /// Base URL of the Tracehound API.
    #[arg(long, env = "TRACEHOUND_API_URL", default_value = tracehound_cli::cli::DEFAULT_API_URL)]
    pub api_url: String,
}

/// Runs the stdio server until the client closes stdin.
pub fn run(args: &McpArgs) -> anyhow::Result<()> {
    // stdout carries the protocol: logs go to stderr, where MCP clients show them.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRACEHOUND_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let client = ApiClient::new(&args.api_url)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    runtime.block_on(tracehound_mcp::transport::serve_stdio(Arc::new(ClientSource::new(client))))?;
    Ok(())
}
