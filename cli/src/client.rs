//! A blocking HTTP client of the query API, for the CLI.
//!
//! Blocking because the CLI does one call and exits; it must therefore not be used from
//! inside an async runtime (reqwest's blocking client panics there).

use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::Url;
use serde_json::Value;

/// How long the CLI waits for the API to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the CLI waits for a whole answer (a long session can be large).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// Anything a CLI command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// `--api-url` is not a usable base URL.
    #[error("invalid API URL {url:?}: {reason}")]
    InvalidApiUrl {
        /// The URL as given.
        url: String,
        /// Why it is unusable.
        reason: String,
    },
    /// The CA certificates named by [`CA_CERT_ENV`] cannot be used.
    #[error("cannot use the CA certificates in {path} ({CA_CERT_ENV}): {reason}")]
    CaCert {
        /// The file named.
        path: String,
        /// Why it is unusable.
        reason: String,
    },
    /// No connection to the API (refused, timed out, name unknown).
    #[error("cannot reach the Tracehound API at {url}: {reason}")]
    Unreachable {
        /// The API URL as given.
        url: String,
        /// The innermost cause.
        reason: String,
    },
    /// The identifier resolves to nothing.
    #[error("no request, session or trace matches {id}")]
    NotFound {
        /// The identifier as given.
        id: String,
    },
    /// The API refused the call.
    #[error("the Tracehound API answered {status}: {message}")]
    Api {
        /// HTTP status code.
        status: u16,
        /// The API's error message, or the body.
        message: String,
    },
    /// The API could not read the search query; shows the query with a caret under the fault.
    #[error("{message}\n  {}\n  {}^", tracehound_query::text::one_line(.query), caret_indent(.query, *.position))]
    Query {
        /// The API's explanation.
        message: String,
        /// The query as sent.
        query: String,
        /// Where in the query, in characters from 0.
        position: usize,
    },
    /// The answer is not what this client understands.
    #[error("unexpected answer from the Tracehound API: {0}")]
    Decode(String),
    /// A file named on the command line cannot be read or written.
    #[error("cannot use {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A line of an import file cannot be sent.
    #[error("{path}, line {line}: {reason} (the lines before it were imported)")]
    Import {
        /// The file.
        path: String,
        /// Its line, from 1.
        line: usize,
        /// Why.
        reason: String,
    },
    /// The output could not be written.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

/// Environment variable holding the API key the CLI sends (`authorization: Bearer`).
pub const API_KEY_ENV: &str = "TRACEHOUND_API_KEY";

/// Environment variable naming a PEM file of CA certificates to trust besides the public
/// roots: a private CA's, or a self-signed server certificate.
pub const CA_CERT_ENV: &str = "TRACEHOUND_CA_CERT";

/// The certificates of the file named by [`CA_CERT_ENV`], if set.
fn extra_roots() -> Result<Vec<reqwest::Certificate>, CliError> {
    let Some(path) = std::env::var_os(CA_CERT_ENV).filter(|p| !p.is_empty()) else { return Ok(Vec::new()) };
    let shown = path.to_string_lossy().into_owned();
    let unusable = |reason: String| CliError::CaCert { path: shown.clone(), reason };
    let pem = std::fs::read(&path).map_err(|e| unusable(e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| unusable(innermost(&e)))?;
    if certs.is_empty() {
        return Err(unusable("no PEM certificate in it".into()));
    }
    Ok(certs)
}

/// The HTTP client every command uses: the connect timeout, the CA roots of
/// [`CA_CERT_ENV`], the key of [`API_KEY_ENV`], and `timeout` for a whole answer (`None`
/// for a transfer that takes as long as it takes).
pub(crate) fn http_client(timeout: Option<Duration>) -> Result<Client, CliError> {
    let invalid = |reason: String| CliError::InvalidApiUrl { url: String::new(), reason };
    let mut builder = Client::builder().connect_timeout(CONNECT_TIMEOUT);
    builder = match timeout {
        Some(timeout) => builder.timeout(timeout),
        None => builder.timeout(None),
    };
    for cert in extra_roots()? {
        builder = builder.add_root_certificate(cert);
    }
    if let Some(headers) = api_key_headers().map_err(invalid)? {
        builder = builder.default_headers(headers);
    }
    builder.build().map_err(|e| invalid(innermost(&e)))
}

/// The `authorization` header of the key in [`API_KEY_ENV`], if set.
fn api_key_headers() -> Result<Option<reqwest::header::HeaderMap>, String> {
    let Ok(key) = std::env::var(API_KEY_ENV) else { return Ok(None) };
    let key = key.trim();
    if key.is_empty() {
        return Ok(None);
    }
    let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {key}"))
        .map_err(|_| format!("{API_KEY_ENV} holds characters a key never has"))?;
    value.set_sensitive(true);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, value);
    Ok(Some(headers))
}

/// A connection to one query API.
#[derive(Debug, Clone)]
pub struct ApiClient {
    base: Url,
    shown_url: String,
    http: Client,
}

impl ApiClient {
    /// A client of the API at `api_url` (e.g. `http://127.0.0.1:4320` or `https://…`; a path
    /// prefix is kept).
    pub fn new(api_url: &str) -> Result<Self, CliError> {
        let shown_url = api_url.trim().to_string();
        let invalid = |reason: String| CliError::InvalidApiUrl { url: shown_url.clone(), reason };
        let base = Url::parse(&shown_url).map_err(|e| invalid(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(invalid("expected an http:// or https:// URL".into()));
        }
        let http = http_client(Some(ANSWER_TIMEOUT)).map_err(|e| match e {
            CliError::InvalidApiUrl { reason, .. } => invalid(reason),
            other => other,
        })?;
        Ok(ApiClient { base, shown_url, http })
    }

    /// `GET /api/v1/{path}?{query}` copied to `out` as it arrives, without holding it whole;
    /// returns the answer's headers once the body is written.
    pub fn download(
        &self,
        path: &str,
        query: &[(&str, &str)],
        out: &mut dyn std::io::Write,
    ) -> Result<reqwest::header::HeaderMap, CliError> {
        let url = self.url(&["api", "v1", path], query)?;
        // No deadline for the whole answer: an export takes as long as the store is large.
        let unreachable =
            |e: reqwest::Error| CliError::Unreachable { url: self.shown_url.clone(), reason: innermost(&e) };
        let mut response = http_client(None)?.get(url).send().map_err(unreachable)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().unwrap_or_default();
            let error = serde_json::from_str::<Value>(&body).ok();
            return Err(CliError::Api { status: status.as_u16(), message: self.error_message(error.as_ref(), body) });
        }
        let headers = response.headers().clone();
        response.copy_to(out).map_err(unreachable)?;
        Ok(headers)
    }

    /// `GET /api/v1/lookup/{id}` as JSON; the API's 404 is [`CliError::NotFound`].
    pub fn lookup(&self, id: &str) -> Result<Value, CliError> {
        let url = self.url(&["api", "v1", "lookup", id], &[])?;
        match self.json(self.send(url)?) {
            // Only the API's own 404 (with its error body) says the id is unknown; another
            // 404 comes from something that is not the API, and says so.
            Err(CliError::Api { status: 404, message }) if !message.contains(NOT_API_SUFFIX) => {
                Err(CliError::NotFound { id: id.to_string() })
            }
            other => other,
        }
    }

    /// `GET /api/v1/search` as JSON; a query the API cannot read is [`CliError::Query`].
    pub fn search(&self, query: &str, options: &SearchOptions) -> Result<Value, CliError> {
        let limit = options.limit.to_string();
        let mut params = vec![("q", query), ("limit", limit.as_str()), ("sort", options.sort.as_str())];
        for (name, value) in [("since", &options.since), ("until", &options.until), ("cursor", &options.cursor)] {
            if let Some(value) = value {
                params.push((name, value));
            }
        }
        let url = self.url(&["api", "v1", "search"], &params)?;
        let response = self.send(url)?;
        self.json_for_query(response, Some(query))
    }

    /// `GET /api/v1/requests` as JSON.
    pub fn list_requests(&self, options: &ListOptions) -> Result<Value, CliError> {
        let limit = options.limit.to_string();
        let mut query = vec![("limit", limit.as_str())];
        if let Some(status) = options.status {
            query.push(("status", status.as_str()));
        }
        let texts = [
            ("since", &options.since),
            ("until", &options.until),
            ("service", &options.service),
            ("version", &options.version),
            ("cursor", &options.cursor),
        ];
        for (name, value) in texts {
            if let Some(value) = value {
                query.push((name, value));
            }
        }
        let url = self.url(&["api", "v1", "requests"], &query)?;
        let response = self.send(url)?;
        self.json(response)
    }

    /// `GET /api/v1/{segments…}?{query}` as JSON, each segment escaped on its own (an id
    /// may hold a `/`); the API's refusal as [`CliError::Api`].
    pub fn get_json_at(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Value, CliError> {
        let mut path = vec!["api", "v1"];
        path.extend_from_slice(segments);
        let url = self.url(&path, query)?;
        let response = self.send(url)?;
        self.json(response)
    }

    /// `POST` (with a JSON body) or `DELETE` `/api/v1/{segments…}`, as JSON; the API's refusal
    /// as [`CliError::Api`].
    pub fn send_json_at(
        &self,
        method: reqwest::Method,
        segments: &[&str],
        body: Option<&Value>,
    ) -> Result<Value, CliError> {
        let mut path = vec!["api", "v1"];
        path.extend_from_slice(segments);
        let url = self.url(&path, &[])?;
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response =
            request.send().map_err(|e| CliError::Unreachable { url: self.shown_url.clone(), reason: innermost(&e) })?;
        self.json(response)
    }

    /// `GET /api/v1/{path}?{query}`: the body as text on success, the API's error otherwise.
    pub fn get_text(&self, path: &str, query: &[(&str, &str)]) -> Result<String, CliError> {
        let url = self.url(&["api", "v1", path], query)?;
        let response = self.send(url)?;
        let status = response.status();
        let body = response
            .text()
            .map_err(|e| CliError::Unreachable { url: self.shown_url.clone(), reason: innermost(&e) })?;
        if !status.is_success() {
            let error = serde_json::from_str::<Value>(&body).ok();
            return Err(CliError::Api { status: status.as_u16(), message: self.error_message(error.as_ref(), body) });
        }
        Ok(body)
    }

    /// The base URL joined with percent-encoded path segments and a query string.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Url, CliError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| CliError::InvalidApiUrl { url: self.shown_url.clone(), reason: "not a base URL".into() })?
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    fn send(&self, url: Url) -> Result<Response, CliError> {
        self.http
            .get(url)
            .send()
            .map_err(|e| CliError::Unreachable { url: self.shown_url.clone(), reason: innermost(&e) })
    }

    /// The API's `{"error": ...}` message. A body without one comes from something that is
    /// not the API (an OTLP port answers its own 404), which the message then says.
    fn error_message(&self, error: Option<&Value>, body: String) -> String {
        if let Some(message) = error.and_then(|v| v.get("error")).and_then(Value::as_str) {
            return message.to_string();
        }
        let answer = if body.trim().is_empty() {
            "an empty answer".to_string()
        } else {
            format!(
                "an answer that is not the API's ({})",
                tracehound_query::text::cut(&tracehound_query::text::one_line(&body), 200)
            )
        };
        format!("{answer}: {} {NOT_API_SUFFIX} ({NOT_THE_API})", self.shown_url)
    }

    /// The body as JSON, or the API's `{"error": ...}` as [`CliError::Api`].
    fn json(&self, response: Response) -> Result<Value, CliError> {
        self.json_for_query(response, None)
    }

    /// As [`Self::json`]; an error locating a fault in `query` is [`CliError::Query`].
    fn json_for_query(&self, response: Response, query: Option<&str>) -> Result<Value, CliError> {
        let status = response.status();
        let body = response
            .text()
            .map_err(|e| CliError::Unreachable { url: self.shown_url.clone(), reason: innermost(&e) })?;
        if !status.is_success() {
            let error = serde_json::from_str::<Value>(&body).ok();
            let position = error.as_ref().and_then(|v| v.get("position")).and_then(Value::as_u64);
            let message = self.error_message(error.as_ref(), body);
            if let (Some(query), Some(position)) = (query, position.and_then(|p| usize::try_from(p).ok())) {
                return Err(CliError::Query { message, query: query.to_string(), position });
            }
            return Err(CliError::Api { status: status.as_u16(), message });
        }
        serde_json::from_str(&body).map_err(|e| CliError::Decode(e.to_string()))
    }
}

/// What `ls` lists and how it pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOptions {
    /// Oldest start listed: an age (`2h`) or an RFC 3339 timestamp.
    pub since: Option<String>,
    /// Start before which to list.
    pub until: Option<String>,
    /// Only this service.
    pub service: Option<String>,
    /// Only this status.
    pub status: Option<ListStatus>,
    /// Only requests carrying `dimension=value`.
    pub version: Option<String>,
    /// Rows per page.
    pub limit: usize,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions { since: None, until: None, service: None, status: None, version: None, limit: 20, cursor: None }
    }
}

/// A request's status, as `ls --status` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListStatus {
    /// No span failed.
    Ok,
    /// A span has error status.
    Error,
}

impl ListStatus {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ListStatus::Ok => "ok",
            ListStatus::Error => "error",
        }
    }
}

/// How `search` pages through results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchOptions {
    /// Oldest start searched: an age (`2h`) or an RFC 3339 timestamp.
    pub since: Option<String>,
    /// Start before which to search.
    pub until: Option<String>,
    /// Results per page.
    pub limit: usize,
    /// Order.
    pub sort: SearchSort,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions { since: None, until: None, limit: 20, sort: SearchSort::Relevance, cursor: None }
    }
}

/// Order of search results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SearchSort {
    /// Best match first.
    #[default]
    Relevance,
    /// Newest first.
    Time,
}

impl SearchSort {
    /// The API's name of the order.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchSort::Relevance => "relevance",
            SearchSort::Time => "time",
        }
    }
}

/// Spaces reaching from the start of the query to its character `position`, as a terminal
/// draws it: wide (CJK) characters take two columns.
fn caret_indent(query: &str, position: usize) -> String {
    let columns: usize =
        tracehound_query::text::one_line(query).chars().take(position).map(|c| if is_wide(c) { 2 } else { 1 }).sum();
    " ".repeat(columns)
}

/// Whether a terminal draws `c` two columns wide (East Asian Wide and Fullwidth, roughly).
fn is_wide(c: char) -> bool {
    matches!(
        u32::from(c),
        0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x1F300..=0x1F64F
            | 0x1F900..=0x1F9FF
            | 0x20000..=0x3FFFD
    )
}

/// The deepest cause of an error: "Connection refused (os error 111)" rather than reqwest's
/// "error sending request for url (...)".
/// How an answer from something other than the API is described.
const NOT_API_SUFFIX: &str = "does not look like the Tracehound API";

/// What to check when `--api-url` reaches something other than the API.
const NOT_THE_API: &str =
    "the API listens on port 4320 by default; 4317 and 4318 are the OTLP receivers; set --api-url or TRACEHOUND_API_URL";

pub(crate) fn innermost(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let reason = cause.to_string();
    // An HTTP/1 client reaching the gRPC port (HTTP/2 only) gets one of these from hyper,
    // depending on whether the server's HTTP/2 preface or its closing arrives first.
    if ["invalid HTTP version", "unexpected message from connection", "connection closed before message completed"]
        .iter()
        .any(|symptom| reason.contains(symptom))
    {
        return format!("{reason}: this is not an HTTP/1 server, perhaps the OTLP/gRPC port ({NOT_THE_API})");
    }
    if reason.contains("certificate") || reason.contains("UnknownIssuer") {
        return format!("{reason}: for a private CA or a self-signed server, set {CA_CERT_ENV} to its PEM file");
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query_error(query: &str, position: usize) -> String {
        CliError::Query { message: "bad".into(), query: query.into(), position }.to_string()
    }

    #[test]
    fn the_caret_stands_under_the_faulty_character() {
        assert_eq!(query_error("a model:", 2), "bad\n  a model:\n    ^");
    }

    #[test]
    fn the_caret_counts_wide_characters_as_two_columns() {
        assert_eq!(query_error("退款 \"x", 3), "bad\n  退款 \"x\n       ^");
    }

    #[test]
    fn a_query_with_line_breaks_is_shown_on_one_line() {
        assert_eq!(query_error("a\n\"b", 2), "bad\n  a \"b\n    ^");
    }
}
