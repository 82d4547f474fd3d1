//! The two transports: streamable HTTP, mounted by the binary at `/mcp` on the API
//! listener, and stdio for a local agent that starts `tracehound mcp`.

use std::sync::Arc;

use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::ServiceExt;

use crate::source::EvidenceSource;
use crate::tools::EvidenceTools;

/// Why the stdio server stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The client's first messages were not an MCP handshake.
    #[error("the MCP handshake on stdio failed: {0}")]
    Handshake(String),
    /// The session ended with an error.
    #[error("the MCP session on stdio ended with an error: {0}")]
    Session(String),
}

/// The streamable HTTP service, as a tower service the binary nests under the API's `/mcp`.
///
/// Stateless, answering in plain JSON: every POST stands alone, so each tool call is made
/// with the key of the request that carries it (there is no session a second key could
/// ride on), and no server state outlives a call.
pub fn http_service(source: Arc<dyn EvidenceSource>) -> StreamableHttpService<EvidenceTools, LocalSessionManager> {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        // rmcp checks the Host header against loopback names by default, against DNS
        // rebinding of a server with no keys. This listener serves its other routes to any
        // host, already refuses non-loopback binds without keys, and keys guard it.
        .disable_allowed_hosts();
    StreamableHttpService::new(move || Ok(EvidenceTools::new(source.clone())), Arc::default(), config)
}

/// Serves one MCP session on stdin/stdout until the client closes it.
pub async fn serve_stdio(source: Arc<dyn EvidenceSource>) -> Result<(), TransportError> {
    let running = EvidenceTools::new(source)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| TransportError::Handshake(e.to_string()))?;
    running.waiting().await.map(|_| ()).map_err(|e| TransportError::Session(e.to_string()))
}
