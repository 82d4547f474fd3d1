//! The JSON answers of the API, and their assembly from what the store holds: one line per
//! request, a request with its span tree, a session, a listing page, the store's stats.
//!
//! The views also deserialize, so the CLI reads the same types the API writes.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tracehound_store::model::{
    KeyValue, LlmCall, LogRecord, Score, Span, SpanId, SpanKind, StatusCode, VersionDimension,
};
use tracehound_store::summary::{SessionSummary, TraceSummary};
use tracehound_store::TraceData;
use utoipa::ToSchema;

use crate::assess::{assess, Criteria, Reason};
use crate::timestamp::format_rfc3339;

/// The stats answer lives with the code that computes it.
pub use crate::stats::Stats;

/// Nesting depth of a span tree at most; a deeper span starts a new root.
///
/// A hostile or buggy sender can chain thousands of spans. Past this depth the answer could
/// overflow the stack of the serializer, and JSON parsers with a nesting limit (serde_json:
/// 128 levels, two per tree level plus the envelope) could not read it. The span keeps its
/// `parent_span_id`, so the cut is visible.
pub const MAX_TREE_DEPTH: usize = 48;

/// Overall outcome of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// No span failed.
    Ok,
    /// At least one span has error status.
    Error,
}

impl RequestStatus {
    /// The status of a stored request.
    pub fn of(summary: &TraceSummary) -> Self {
        match summary.status() {
            StatusCode::Error => RequestStatus::Error,
            StatusCode::Ok | StatusCode::Unset => RequestStatus::Ok,
        }
    }
}

/// One request (one trace) on one line: what listings show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RequestSummary {
    /// The request id, or the trace id when the spans carried none.
    pub request_id: String,
    /// Trace id, 32 lowercase hex digits.
    pub trace_id: String,
    /// Session (conversation) id.
    pub session_id: Option<String>,
    /// End-user id.
    pub user_id: Option<String>,
    /// `service.name` of the root span (or of the first span, before the root arrives).
    pub service: String,
    /// Name of the root span; empty until it arrives.
    pub root_name: String,
    /// Earliest span start, RFC 3339 UTC with nanoseconds.
    pub start_time: String,
    /// From the earliest start to the latest end, in milliseconds.
    pub duration_ms: f64,
    /// `error` when any span failed.
    pub status: RequestStatus,
    /// Spans stored.
    pub span_count: u64,
    /// LLM calls.
    pub llm_calls: u64,
    /// Tool calls.
    pub tool_calls: u64,
    /// Models that answered, in order of first appearance.
    pub models: Vec<String>,
    /// First value of the `prompt_version` dimension.
    pub prompt_version: Option<String>,
    /// Input tokens over all LLM calls.
    pub input_tokens: i64,
    /// Output tokens over all LLM calls.
    pub output_tokens: i64,
    /// Finish reasons, in order of first appearance.
    pub finish_reasons: Vec<String>,
    /// The first user message of the earliest LLM call, shortened.
    pub question: Option<String>,
    /// The last assistant answer, shortened.
    pub answer: Option<String>,
    /// What its LLM calls cost in US dollars, at the prices in force (`cost.rs`); absent when
    /// a call's model has no price.
    #[serde(default)]
    pub cost_usd: Option<f64>,
}

impl RequestSummary {
    /// The summary line of a stored trace.
    pub fn from_trace(summary: &TraceSummary) -> Self {
        RequestSummary {
            request_id: summary.display_request_id(),
            trace_id: hex::encode(summary.trace_id),
            session_id: summary.session_id.clone(),
            user_id: summary.user_id.clone(),
            service: summary.service.clone(),
            root_name: summary.root_name.clone(),
            start_time: format_rfc3339(summary.start_unix_nano),
            duration_ms: nanos_to_ms(summary.end_unix_nano.saturating_sub(summary.start_unix_nano)),
            status: RequestStatus::of(summary),
            cost_usd: crate::cost::prices().cost(&summary.usage_by_model),
            span_count: summary.span_count,
            llm_calls: summary.llm_calls,
            tool_calls: summary.tool_calls,
            models: summary.models.clone(),
            prompt_version: summary
                .versions
                .get(&VersionDimension::PromptVersion)
                .and_then(|values| values.first())
                .cloned(),
            input_tokens: summary.input_tokens,
            output_tokens: summary.output_tokens,
            finish_reasons: summary.finish_reasons.clone(),
            question: summary.question.clone(),
            answer: summary.answer.clone(),
        }
    }
}

/// One span with its duration, its log records and its children.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(no_recursion)]
pub struct SpanNode {
    /// The stored span, every field as the store keeps it (ids as lowercase hex).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub span: Span,
    /// End minus start, in milliseconds.
    pub duration_ms: f64,
    /// `raw.attributes` as one object `{key: value}`; the last of duplicate keys wins.
    #[schema(value_type = Object)]
    pub attributes: Map<String, Value>,
    /// `raw.resource` as one object `{key: value}`; the last of duplicate keys wins.
    #[schema(value_type = Object)]
    pub resource: Map<String, Value>,
    /// Log records naming this span, in time order.
    #[schema(value_type = Vec<Object>)]
    pub logs: Vec<LogRecord>,
    /// Child spans, in start order.
    pub children: Vec<SpanNode>,
}

/// Everything about one request: its summary and its span tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RequestView {
    /// The request id, or the trace id when the spans carried none.
    pub request_id: String,
    /// Trace id, 32 lowercase hex digits.
    pub trace_id: String,
    /// Session id.
    pub session_id: Option<String>,
    /// End-user id.
    pub user_id: Option<String>,
    /// The summary line.
    pub summary: RequestSummary,
    /// Version values seen on the request, by dimension name (`prompt_version`, ...).
    pub versions: BTreeMap<String, Vec<String>>,
    /// Root spans, in start order: spans without a parent, and spans whose parent is not stored.
    pub spans: Vec<SpanNode>,
    /// Log records of the trace naming no stored span.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub unattached_logs: Vec<LogRecord>,
    /// Scores judging the request, its spans, responses or session (evaluations, feedback).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub scores: Vec<Score>,
    /// Why the request counts as failing, by the default criteria of `failing` (every
    /// reason kind, failing score labels); empty when it does not.
    #[serde(default)]
    pub reasons: Vec<Reason>,
}

impl RequestView {
    /// Assembles the view of one stored trace.
    pub fn from_trace(data: TraceData) -> Self {
        let reasons = assess(&data, &Criteria::default()).reasons;
        let summary = RequestSummary::from_trace(&data.summary);
        let (spans, unattached_logs) = span_tree(data.spans, data.logs);
        RequestView {
            request_id: summary.request_id.clone(),
            trace_id: summary.trace_id.clone(),
            session_id: summary.session_id.clone(),
            user_id: summary.user_id.clone(),
            versions: data
                .summary
                .versions
                .iter()
                .map(|(dim, values)| (dim.as_str().to_string(), values.clone()))
                .collect(),
            summary,
            spans,
            unattached_logs,
            scores: data.scores,
            reasons,
        }
    }

    /// Whether the request counts as failing.
    pub fn failing(&self) -> bool {
        !self.reasons.is_empty()
    }
}

/// A session: every one of its requests, in time order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    /// Session id, exact.
    pub session_id: String,
    /// User id, when known.
    pub user_id: Option<String>,
    /// First span start, RFC 3339.
    pub first_seen: String,
    /// Last span end, RFC 3339.
    pub last_seen: String,
    /// Requests in the session.
    pub request_count: u64,
    /// Requests of the session that count as failing (see [`RequestView::reasons`]).
    #[serde(default)]
    pub failing: u64,
    /// Tokens, calls and time over the session's requests.
    #[serde(default)]
    pub totals: SessionTotals,
    /// The requests, oldest first.
    pub requests: Vec<RequestView>,
}

/// What a session's requests add up to, cost at the prices in force (`cost.rs`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionTotals {
    /// Input tokens over every LLM call.
    pub input_tokens: i64,
    /// Output tokens over every LLM call.
    pub output_tokens: i64,
    /// LLM calls.
    pub llm_calls: u64,
    /// Tool calls.
    pub tool_calls: u64,
    /// The requests' durations added up, in milliseconds: the time the user waited.
    pub duration_ms: f64,
    /// The slowest request, in milliseconds.
    pub max_duration_ms: f64,
    /// What the requests cost in US dollars; absent when any of them has no price.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    /// Requests with a call of a model that has no price.
    #[serde(default)]
    pub unpriced_requests: u64,
}

impl SessionTotals {
    /// The totals of these requests.
    pub fn of(requests: &[RequestView]) -> Self {
        let start = SessionTotals { cost_usd: Some(0.0), ..SessionTotals::default() };
        requests.iter().map(|r| &r.summary).fold(start, |t, s| SessionTotals {
            input_tokens: t.input_tokens + s.input_tokens,
            output_tokens: t.output_tokens + s.output_tokens,
            llm_calls: t.llm_calls + s.llm_calls,
            tool_calls: t.tool_calls + s.tool_calls,
            duration_ms: t.duration_ms + s.duration_ms,
            max_duration_ms: t.max_duration_ms.max(s.duration_ms),
            cost_usd: t.cost_usd.zip(s.cost_usd).map(|(a, b)| a + b),
            unpriced_requests: t.unpriced_requests + u64::from(s.cost_usd.is_none()),
        })
    }
}

impl SessionView {
    /// Assembles a session from its summary and its requests' data, in the order given.
    pub fn from_session(summary: &SessionSummary, traces: Vec<TraceData>) -> Self {
        let requests: Vec<RequestView> = traces.into_iter().map(RequestView::from_trace).collect();
        SessionView {
            session_id: summary.session_id.clone(),
            user_id: summary.user_id.clone(),
            first_seen: format_rfc3339(summary.first_seen),
            last_seen: format_rfc3339(summary.last_seen),
            request_count: summary.request_count,
            failing: requests.iter().filter(|r| r.failing()).count() as u64,
            totals: SessionTotals::of(&requests),
            requests,
        }
    }
}

/// Which kind of identifier a lookup matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// A 32-hex trace id.
    TraceId,
    /// A request id attribute.
    RequestId,
    /// A session id attribute.
    SessionId,
    /// A provider response id (`chatcmpl-...`).
    ResponseId,
}

/// What an identifier resolved to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LookupAnswer {
    /// One request (or several sharing the identifier).
    Request {
        /// The kind of identifier that matched.
        matched: MatchedBy,
        /// The first matching request, by start time.
        request: Box<RequestView>,
        /// Every matching request, when more than one matched.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        requests: Vec<RequestView>,
    },
    /// A session.
    Session {
        /// The kind of identifier that matched.
        matched: MatchedBy,
        /// The session with its requests.
        session: SessionView,
    },
}

/// One page of the request listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RequestList {
    /// Requests, newest first.
    pub requests: Vec<RequestSummary>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// One page of search results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchResults {
    /// Matching requests, best (or newest) first.
    pub results: Vec<SearchResult>,
    /// Requests matching in all.
    pub total: usize,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// When the index last committed, RFC 3339: requests stored after it may not be found yet.
    pub index_committed_at: Option<String>,
    /// How the query was read.
    pub query: SearchQueryInfo,
}

/// How a search query was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchQueryInfo {
    /// Conditions the query text was read into.
    pub clauses: usize,
}

/// One matching request, and where it matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchResult {
    /// The request's summary line.
    pub request: RequestSummary,
    /// Relevance (BM25); 0 when sorted by time.
    pub score: f32,
    /// Places the searched words matched, a few at most.
    pub matches: Vec<SearchMatch>,
}

/// One place a search matched inside a span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchMatch {
    /// The span, 16 lowercase hex digits.
    pub span_id: String,
    /// The span's kind (`llm`, `tool`, ...).
    pub span_kind: String,
    /// The span's name.
    pub span_name: String,
    /// Which text of the span matched (`input`, `output`, `tool_args`, ...).
    pub field: String,
    /// A window of the text around the match, exact.
    pub snippet: String,
    /// Byte ranges `[start, end)` of `snippet` that matched.
    #[schema(value_type = Vec<Vec<u64>>)]
    pub highlights: Vec<(usize, usize)>,
}

/// Builds the span forest of a trace, and returns it with the logs that name no stored span.
///
/// Roots are spans without a parent, spans whose parent is not stored (so an orphan is never
/// hidden), spans in a parent cycle, and spans past [`MAX_TREE_DEPTH`]. Children and roots
/// are in start order. Built without recursion, so no trace shape can exhaust the stack.
pub fn span_tree(mut spans: Vec<Span>, logs: Vec<LogRecord>) -> (Vec<SpanNode>, Vec<LogRecord>) {
    spans.sort_by_key(|s| (s.start_unix_nano, s.span_id));
    let index: HashMap<SpanId, usize> = spans.iter().enumerate().map(|(i, s)| (s.span_id, i)).collect();

    let mut logs_of: Vec<Vec<LogRecord>> = vec![Vec::new(); spans.len()];
    let mut unattached = Vec::new();
    for log in logs {
        match index.get(&log.span_id) {
            Some(&i) => logs_of[i].push(log),
            None => unattached.push(log),
        }
    }
    for logs in &mut logs_of {
        logs.sort_by_key(|l| l.time_unix_nano);
    }

    let parent_of: Vec<Option<usize>> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| s.parent_span_id.and_then(|p| index.get(&p).copied()).filter(|&p| p != i))
        .collect();
    let mut children_of: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    for (i, parent) in parent_of.iter().enumerate() {
        if let Some(p) = parent {
            children_of[*p].push(i);
        }
    }

    let mut walk = Walk::new(spans.len());
    for (i, parent) in parent_of.iter().enumerate() {
        if parent.is_none() {
            walk.walk_from(i, &children_of);
        }
    }
    // Whatever is left hangs off a parent cycle: break the cycle at its earliest span.
    for i in 0..spans.len() {
        if !walk.visited[i] {
            walk.walk_from(i, &children_of);
        }
    }

    // Children come after their parent in pre-order, so building in reverse pre-order
    // finds every child already built.
    let mut built: Vec<Option<SpanNode>> = vec![None; spans.len()];
    let mut spans: Vec<Option<Span>> = spans.into_iter().map(Some).collect();
    for &i in walk.preorder.iter().rev() {
        let Some(span) = spans[i].take() else { continue };
        let logs = std::mem::take(&mut logs_of[i]);
        let children = walk.children[i].iter().filter_map(|&c| built[c].take()).collect();
        built[i] = Some(SpanNode::new(span, logs, children));
    }
    let mut roots: Vec<SpanNode> = walk.roots.iter().filter_map(|&r| built[r].take()).collect();
    roots.sort_by_key(|n| (n.span.start_unix_nano, n.span.span_id));
    (roots, unattached)
}

/// Depth-first walk over the parent links, deciding which spans are roots.
struct Walk {
    visited: Vec<bool>,
    preorder: Vec<usize>,
    roots: Vec<usize>,
    children: Vec<Vec<usize>>,
}

impl Walk {
    fn new(n: usize) -> Self {
        Walk {
            visited: vec![false; n],
            preorder: Vec::with_capacity(n),
            roots: Vec::new(),
            children: vec![Vec::new(); n],
        }
    }

    fn walk_from(&mut self, root: usize, children_of: &[Vec<usize>]) {
        self.visited[root] = true;
        self.roots.push(root);
        let mut stack = vec![(root, 0usize)];
        while let Some((i, depth)) = stack.pop() {
            self.preorder.push(i);
            for &c in &children_of[i] {
                // Already visited only inside a cycle, where it is the span the cycle was cut at.
                if self.visited[c] {
                    continue;
                }
                self.visited[c] = true;
                if depth + 1 >= MAX_TREE_DEPTH {
                    self.roots.push(c);
                    stack.push((c, 0));
                } else {
                    self.children[i].push(c);
                    stack.push((c, depth + 1));
                }
            }
        }
    }
}

impl SpanNode {
    /// A node of `span`, with its logs (merged into its LLM call) and its built children.
    pub fn new(mut span: Span, logs: Vec<LogRecord>, children: Vec<SpanNode>) -> Self {
        fill_llm_from_logs(&mut span, &logs);
        SpanNode {
            duration_ms: nanos_to_ms(span.duration_nanos()),
            attributes: attributes_object(&span.raw.attributes),
            resource: attributes_object(&span.raw.resource),
            span,
            logs,
            children,
        }
    }
}

/// The spans of a trace as the request view shows them: each LLM span filled from its log records.
pub fn spans_with_logs_merged(mut spans: Vec<Span>, logs: Vec<LogRecord>) -> Vec<Span> {
    let mut logs_of: HashMap<SpanId, Vec<LogRecord>> = HashMap::new();
    for log in logs {
        logs_of.entry(log.span_id).or_default().push(log);
    }
    for span in &mut spans {
        if let Some(logs) = logs_of.get_mut(&span.span_id) {
            // In time order, as in the tree, so "first value" means the same in both.
            logs.sort_by_key(|l| l.time_unix_nano);
            fill_llm_from_logs(span, logs);
        }
    }
    spans
}

/// Fills what an LLM span lacks from its log records' LLM data, never overwriting.
///
/// OpenTelemetry GenAI instrumentations in "event only" mode put the messages in log
/// records and leave the span bare; without this the span would show an empty conversation.
fn fill_llm_from_logs(span: &mut Span, logs: &[LogRecord]) {
    let calls: Vec<&LlmCall> = logs.iter().filter_map(|l| l.llm.as_ref()).collect();
    let bears_llm = span.llm.is_some() || matches!(span.kind, SpanKind::Llm | SpanKind::Embedding);
    if calls.is_empty() || !bears_llm {
        return;
    }
    let llm = span.llm.get_or_insert_with(LlmCall::default);
    if llm.input_messages.is_empty() {
        llm.input_messages = calls.iter().flat_map(|c| c.input_messages.iter().cloned()).collect();
    }
    if llm.output_messages.is_empty() {
        llm.output_messages = calls.iter().flat_map(|c| c.output_messages.iter().cloned()).collect();
    }
    fill_first(&mut llm.system_instructions, calls.iter().map(|c| &c.system_instructions));
    fill_first(&mut llm.request_model, calls.iter().map(|c| &c.request_model));
    fill_first(&mut llm.response_model, calls.iter().map(|c| &c.response_model));
    let usage = &mut llm.usage;
    fill_first(&mut usage.input, calls.iter().map(|c| &c.usage.input));
    fill_first(&mut usage.output, calls.iter().map(|c| &c.usage.output));
    fill_first(&mut usage.total, calls.iter().map(|c| &c.usage.total));
    fill_first(&mut usage.cache_read, calls.iter().map(|c| &c.usage.cache_read));
    fill_first(&mut usage.cache_write, calls.iter().map(|c| &c.usage.cache_write));
    fill_first(&mut usage.reasoning, calls.iter().map(|c| &c.usage.reasoning));
    if llm.finish_reasons.is_empty() {
        for reason in calls.iter().flat_map(|c| &c.finish_reasons) {
            if !llm.finish_reasons.contains(reason) {
                llm.finish_reasons.push(reason.clone());
            }
        }
    }
}

fn fill_first<'a, T: Clone + 'a>(slot: &mut Option<T>, candidates: impl Iterator<Item = &'a Option<T>>) {
    if slot.is_none() {
        *slot = candidates.flatten().next().cloned();
    }
}

/// An attribute list as one JSON object; a later duplicate key replaces an earlier one.
pub fn attributes_object(list: &[KeyValue]) -> Map<String, Value> {
    list.iter().map(|kv| (kv.key.clone(), kv.value.as_ref().map_or(Value::Null, |v| v.to_json()))).collect()
}

fn nanos_to_ms(nanos: u64) -> f64 {
    nanos as f64 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{span, trace_id};

    fn depth_of_first_chain(roots: &[SpanNode]) -> usize {
        let mut depth = 0;
        let mut node = roots.first();
        while let Some(n) = node {
            depth += 1;
            node = n.children.first();
        }
        depth
    }

    #[test]
    fn a_chain_deeper_than_the_cap_continues_as_a_new_root() {
        let chain: Vec<Span> =
            (0..60u64).map(|i| span(1, 0, None, i)).enumerate().map(|(i, s)| chain_link(s, i)).collect();
        let (roots, _) = span_tree(chain, vec![]);
        assert_eq!(roots.len(), 2);
        assert_eq!(depth_of_first_chain(&roots), MAX_TREE_DEPTH);
        assert_eq!(depth_of_first_chain(&roots[1..]), 60 - MAX_TREE_DEPTH);
    }

    /// Span `i` of a chain: id `i`, parent `i - 1`.
    fn chain_link(mut s: Span, i: usize) -> Span {
        s.span_id = (i as u64 + 1).to_be_bytes();
        s.parent_span_id = (i > 0).then(|| (i as u64).to_be_bytes());
        s
    }

    #[test]
    fn spans_in_a_parent_cycle_are_still_shown() {
        let (roots, _) = span_tree(vec![span(1, 1, Some(2), 0), span(1, 2, Some(1), 5)], vec![]);
        assert_eq!(roots.len(), 1);
        assert_eq!(roots[0].span.span_id, [1; 8]);
        assert_eq!(roots[0].children[0].span.span_id, [2; 8]);
    }

    #[test]
    fn a_span_naming_itself_as_parent_is_a_root() {
        let (roots, _) = span_tree(vec![span(1, 1, Some(1), 0)], vec![]);
        assert_eq!(roots.len(), 1);
    }

    #[test]
    fn a_log_naming_no_stored_span_is_kept_apart() {
        let log = LogRecord { trace_id: trace_id(1), span_id: [7; 8], ..Default::default() };
        let (roots, unattached) = span_tree(vec![span(1, 1, None, 0)], vec![log]);
        assert!(roots[0].logs.is_empty());
        assert_eq!(unattached.len(), 1);
    }

    #[test]
    fn log_messages_are_not_forced_onto_a_span_that_is_no_llm_call() {
        let log = LogRecord {
            trace_id: trace_id(1),
            span_id: [1; 8],
            llm: Some(LlmCall { request_model: Some("m".into()), ..Default::default() }),
            ..Default::default()
        };
        let (roots, _) = span_tree(vec![span(1, 1, None, 0)], vec![log]);
        assert!(roots[0].span.llm.is_none());
    }
}
