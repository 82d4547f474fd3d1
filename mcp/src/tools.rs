//! The tools an on-call agent calls, what each is for, and how each reads the API.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{schemars, tool, tool_handler, tool_router, ErrorData, RoleServer, ServerHandler};
use serde::Deserialize;
use serde_json::Value;

use crate::fit::{fit, page, MAX_ANSWER_CHARS};
use crate::source::{ApiCall, Credentials, EvidenceSource, SourceError};

/// What the server tells an agent on connecting: the order an investigation takes.
const INSTRUCTIONS: &str = "Tracehound holds every LLM request of the services it watches: each LLM call's exact \
prompt and output, tool calls, retrieved documents, eval scores, and the model, prompt, retrieval, index and \
tool-schema versions that were live. When paged, read `alerts`. When something is wrong and you do not know what, \
start with `triage` over the window; `series` shows when a metric moved; read `versions` for what changed; `canary` \
says whether to roll a value back; take examples from `failing` or `search`; open one with `lookup`; \
read one span's whole text with `get_span`; hand over with `postmortem`. Times are RFC 3339 or ages like `2h`. \
Answers are cut to fit a context; every cut says which call returns the rest.";

/// `lookup`'s arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct LookupArgs {
    /// Any id: trace id (32 hex digits), request id, session id, or provider response id (`chatcmpl-…`).
    pub id: String,
}

/// `search`'s arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SearchArgs {
    /// Words, `"exact phrases"`, `-excluded` words and `field:value` filters (`status:error`, `model:gpt-4o`, `service:checkout`).
    pub query: String,
    /// Oldest request start: RFC 3339 or an age like `6h`.
    pub since: Option<String>,
    /// Start before which to search: RFC 3339 or an age.
    pub until: Option<String>,
    /// Results at most, 1 to 200 (default 20).
    pub limit: Option<u32>,
}

/// `failing`'s arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct FailingArgs {
    /// Window start: RFC 3339 or an age (default 24 hours ago).
    pub since: Option<String>,
    /// Window end (default now).
    pub until: Option<String>,
    /// Examples at most (default 10).
    pub limit: Option<u32>,
    /// Reasons that count, comma-separated: score, negative_feedback, error, length, content_filter, refusal (default all).
    pub reasons: Option<String>,
}

/// `versions`' arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct VersionsArgs {
    /// Window start: RFC 3339 or an age (default 48 hours ago).
    pub since: Option<String>,
    /// Window end (default now).
    pub until: Option<String>,
}

/// `triage`'s arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct TriageArgs {
    /// Window start: RFC 3339 or an age (default 3 hours before `until`).
    pub since: Option<String>,
    /// Window end (default now).
    pub until: Option<String>,
    /// Start of a known-good stretch before the window, read as the baseline (default: the traffic before the detected onset).
    pub baseline_since: Option<String>,
}

/// `postmortem`'s arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct PostmortemArgs {
    /// Incident start: RFC 3339 or an age (default 1 hour before `until`).
    pub since: Option<String>,
    /// Incident end (default now).
    pub until: Option<String>,
    /// Baseline start (default: the same length just before the incident).
    pub baseline_since: Option<String>,
    /// Baseline end (default: the incident's start).
    pub baseline_until: Option<String>,
    /// Evidence requests, 1 to 10 (default 8).
    pub limit: Option<u32>,
}

/// `series`' arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SeriesArgs {
    /// What to measure: suspect_share (default), failing_share, abstention_share, error_share, refusal_share (any <cue>_share), latency_p95, latency_p99, tokens, cost_per_request, score_mean:<name>, requests.
    pub metric: Option<String>,
    /// One series per `service`, `language`, `score`, or version dimension value (`prompt_version`, `response_model`, ...).
    pub by: Option<String>,
    /// Window start: RFC 3339 or an age (default 24 hours before `until`).
    pub since: Option<String>,
    /// Window end (default now).
    pub until: Option<String>,
    /// Bucket width such as `10m` or `1h` (default: the window over 120 buckets).
    pub step: Option<String>,
}

/// `canary`'s arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CanaryArgs {
    /// The version dimension: prompt_version, response_model, request_model, index_version, tool_schema_version, ...
    pub dimension: String,
    /// The value being rolled out.
    pub candidate: String,
    /// The value it replaces.
    pub baseline: String,
    /// Window start: RFC 3339 or an age (default 24 hours ago).
    pub since: Option<String>,
    /// Window end (default now).
    pub until: Option<String>,
}

/// `get_span`'s arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct GetSpanArgs {
    /// The span's trace id, 32 hex digits.
    pub trace_id: String,
    /// The span id, 16 hex digits.
    pub span_id: String,
    /// Character to start from, for a span longer than one answer: the `offset` the previous page named (default 0).
    pub offset: Option<u64>,
}

/// The MCP server: Tracehound's evidence as tools, read from an [`EvidenceSource`].
#[derive(Clone)]
pub struct EvidenceTools {
    source: Arc<dyn EvidenceSource>,
    tool_router: ToolRouter<EvidenceTools>,
}

#[tool_router]
impl EvidenceTools {
    /// Tools reading from `source`.
    pub fn new(source: Arc<dyn EvidenceSource>) -> Self {
        EvidenceTools { source, tool_router: Self::tool_router() }
    }

    #[tool(
        description = "Open one request, session or trace by any id it is known by: a trace id, request id, session id, or provider response id (chatcmpl-…). Use it when you hold an id from a ticket, a log line or another tool's answer. Returns the summary (status, question, answer, failing reasons), the version values that were live, and the span tree with every LLM call's messages, tool calls and retrieved documents. Long texts are cut; call get_span for one span whole."
    )]
    async fn lookup(
        &self,
        Parameters(args): Parameters<LookupArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.answer(ApiCall::new(["lookup", args.id.trim()]), &context).await
    }

    #[tool(
        description = "Full-text search over the requests' prompts, outputs, tool calls and documents, newest or most relevant first. Use it when you have words from a complaint or a ticket but no id. The query takes words, \"exact phrases\", -exclusions and field:value filters such as status:error, model:NAME, service:NAME, prompt_version:V. Returns each hit's summary and where it matched."
    )]
    async fn search(
        &self,
        Parameters(args): Parameters<SearchArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let call = ApiCall::new(["search"])
            .param("q", Some(args.query))
            .param("since", args.since)
            .param("until", args.until)
            .param("limit", args.limit);
        self.answer(call, &context).await
    }

    #[tool(
        description = "The failing requests of a window, with why each fails (low eval score, negative feedback, error, truncation, content filter, refusal) and its question, answer and versions. Use it for examples of what is going wrong, including the silent failures that returned 200."
    )]
    async fn failing(
        &self,
        Parameters(args): Parameters<FailingArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let call = ApiCall::new(["failing"])
            .param("since", args.since)
            .param("until", args.until)
            .param("limit", args.limit)
            .param("reasons", args.reasons);
        self.answer(call, &context).await
    }

    #[tool(
        description = "Which model, prompt, retrieval, index and tool-schema version values were live in a window, when each was first seen, how many requests carried it, its failing share and eval means. Use it to see what changed and when."
    )]
    async fn versions(
        &self,
        Parameters(args): Parameters<VersionsArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let call = ApiCall::new(["versions"]).param("since", args.since).param("until", args.until);
        self.answer(call, &context).await
    }

    #[tool(
        description = "Did quality shift in a window, when did it start, and which layer (infra, input data, prompt, model) and which value explain it, with the test that decides, the changes ruled out and why, and example requests. Start here when something is wrong and you do not know what. It says so when the data are too few to tell."
    )]
    async fn triage(
        &self,
        Parameters(args): Parameters<TriageArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let call = ApiCall::new(["triage"])
            .param("since", args.since)
            .param("until", args.until)
            .param("baseline_since", args.baseline_since);
        self.answer(call, &context).await
    }

    #[tool(
        description = "The postmortem evidence bundle of an incident window against a baseline: scope and failing share, the hit cohorts, the version changes, and 5 to 10 evidence requests with their exact texts. Use it to hand an incident over or write its postmortem."
    )]
    async fn postmortem(
        &self,
        Parameters(args): Parameters<PostmortemArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let call = ApiCall::new(["postmortem"])
            .param("since", args.since)
            .param("until", args.until)
            .param("baseline_since", args.baseline_since)
            .param("baseline_until", args.baseline_until)
            .param("limit", args.limit);
        self.answer(call, &context).await
    }

    #[tool(
        description = "The alerts firing now: which rule, for which series (a service, a score name), since when, and on what numbers (the window's share against its baseline, the threshold, the Fisher test's p-value and level), plus notifications not yet delivered. Use it first when paged, then triage the alert's window."
    )]
    async fn alerts(&self, context: RequestContext<RoleServer>) -> Result<CallToolResult, ErrorData> {
        self.answer(ApiCall::new(["alerts"]), &context).await
    }

    #[tool(
        description = "One quality metric over time in buckets, optionally one series per service, language, score name or version value. Use it to see when a metric moved and which series moved with it; a bucket without requests has no value."
    )]
    async fn series(
        &self,
        Parameters(args): Parameters<SeriesArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let call = ApiCall::new(["series"])
            .param("metric", args.metric)
            .param("by", args.by)
            .param("since", args.since)
            .param("until", args.until)
            .param("step", args.step);
        self.answer(call, &context).await
    }

    #[tool(
        description = "Promote, hold or rollback: a candidate version value (a new prompt, model or index) against the value it replaces, on the rollback triggers (eval scores 5 % lower, suspect share 5 points higher against concurrent peers, p99 latency 20 % higher, cost 15 % higher, any safety violation), each with its interval. Use it to decide a rollback; it says hold while the data are too few."
    )]
    async fn canary(
        &self,
        Parameters(args): Parameters<CanaryArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let call = ApiCall::new(["canary"])
            .param("dimension", Some(args.dimension))
            .param("candidate", Some(args.candidate))
            .param("baseline", Some(args.baseline))
            .param("since", args.since)
            .param("until", args.until);
        self.answer(call, &context).await
    }

    #[tool(
        description = "One span whole: every message, tool argument and result, document and attribute exactly as stored, without its children. Use it when another answer cut a text and named this call. A span longer than one answer comes in pages; each page says the offset of the next."
    )]
    async fn get_span(
        &self,
        Parameters(args): Parameters<GetSpanArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let (trace_id, span_id) = (args.trace_id.trim().to_ascii_lowercase(), args.span_id.trim().to_ascii_lowercase());
        let trace = match self.source.get(ApiCall::new(["traces", trace_id.as_str()]), credentials(&context)).await {
            Ok(trace) => trace,
            Err(e) => return Ok(refused(&e)),
        };
        let Some(mut span) = find_span(&trace, &span_id) else {
            return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                "trace {trace_id} holds no span {span_id}; lookup id={trace_id} lists its spans"
            ))]));
        };
        if let Some(object) = span.as_object_mut() {
            let children = object.remove("children");
            let ids: Vec<Value> = children
                .iter()
                .flat_map(|c| c.as_array().into_iter().flatten())
                .filter_map(|c| c.get("span_id").cloned())
                .collect();
            object.insert("child_span_ids".into(), Value::Array(ids));
        }
        let text = serde_json::to_string_pretty(&span).unwrap_or_default();
        Ok(CallToolResult::success(vec![ContentBlock::text(span_page(&text, &trace_id, &span_id, args.offset))]))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for EvidenceTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("tracehound", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS.to_string())
    }
}

impl EvidenceTools {
    /// One API call's answer, fitted; the API's refusal as a tool error the agent can read.
    async fn answer(&self, call: ApiCall, context: &RequestContext<RoleServer>) -> Result<CallToolResult, ErrorData> {
        Ok(match self.source.get(call, credentials(context)).await {
            Ok(value) => CallToolResult::success(vec![ContentBlock::text(fit(&value, MAX_ANSWER_CHARS))]),
            Err(e) => refused(&e),
        })
    }
}

/// The caller's headers over streamable HTTP (rmcp hands each request's parts to the
/// handler); over stdio there are none.
fn credentials(context: &RequestContext<RoleServer>) -> Credentials {
    context.extensions.get::<http::request::Parts>().map(|parts| parts.headers.clone())
}

fn refused(error: &SourceError) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(error.to_string())])
}

/// The span `span_id` anywhere in a trace answer's tree.
fn find_span(trace: &Value, span_id: &str) -> Option<Value> {
    let roots = trace.get("spans").or_else(|| trace.get("request").and_then(|r| r.get("spans")))?;
    let mut stack: Vec<&Value> = roots.as_array()?.iter().collect();
    while let Some(node) = stack.pop() {
        if node.get("span_id").and_then(Value::as_str) == Some(span_id) {
            return Some(node.clone());
        }
        stack.extend(node.get("children").and_then(Value::as_array).into_iter().flatten());
    }
    None
}

/// The span's text whole when it fits, else the page from `offset` under a line saying
/// which characters these are and how to read on.
fn span_page(text: &str, trace_id: &str, span_id: &str, offset: Option<u64>) -> String {
    let total = text.chars().count();
    let offset = usize::try_from(offset.unwrap_or(0)).unwrap_or(usize::MAX);
    if offset == 0 && total <= MAX_ANSWER_CHARS {
        return text.to_string();
    }
    if offset >= total {
        return format!("[span {span_id}: offset {offset} is past its end; it has {total} characters]");
    }
    // The header is at most this long, whatever the numbers.
    const HEADER_ROOM: usize = 300;
    let (chunk, next) = page(text, offset, MAX_ANSWER_CHARS - HEADER_ROOM);
    let end = offset + chunk.chars().count();
    let rest = match next {
        Some(next) => format!("get_span trace_id={trace_id} span_id={span_id} offset={next} returns the next page"),
        None => "this is the last page".to_string(),
    };
    format!("[span {span_id}: characters {offset} to {end} of {total}; {rest}]\n{chunk}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_span_is_found_below_the_roots() {
        let trace = json!({"spans": [{"span_id": "a", "children": [{"span_id": "b", "children": []}]}]});
        assert_eq!(find_span(&trace, "b").unwrap()["span_id"], "b");
        assert!(find_span(&trace, "c").is_none());
    }

    #[test]
    fn a_long_span_comes_in_pages_within_the_bound_that_join_to_its_text() {
        let text = "z".repeat(MAX_ANSWER_CHARS * 2 + 17);
        let mut offset = Some(0u64);
        let mut joined = String::new();
        while let Some(at) = offset {
            let answer = span_page(&text, "t", "s", Some(at));
            assert!(answer.chars().count() <= MAX_ANSWER_CHARS);
            let (header, chunk) = answer.split_once('\n').unwrap();
            joined.push_str(chunk);
            offset = header.split("offset=").nth(1).map(|n| n.split(' ').next().unwrap().parse().unwrap());
        }
        assert_eq!(joined, text);
    }

    #[test]
    fn a_short_span_is_sent_whole_without_a_header() {
        assert_eq!(span_page("{\"a\":1}", "t", "s", None), "{\"a\":1}");
    }
}
