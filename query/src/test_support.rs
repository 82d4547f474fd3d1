//! Fixtures of the tests (here and in the API and CLI crates): a real store in a temporary
//! directory, and spans to write into it.

// Test code: a failed fixture is a failed test.
#![allow(clippy::unwrap_used)]

use tempfile::TempDir;
use tracehound_store::model::{LlmCall, LogRecord, Message, MessagePart, Span, SpanKind, TraceId};
use tracehound_store::search::SearchIndex;
use tracehound_store::{Store, TenantId, WriteBatch};

use crate::time_range::now_unix_nanos;

/// An arbitrary fixed instant (2023-11-14T22:13:20Z) the fixtures' times count from.
pub const T0: u64 = 1_700_000_000_000_000_000;
/// One millisecond in nanoseconds.
pub const MS: u64 = 1_000_000;

/// A store (and optionally its search index) in a temporary directory, removed when dropped.
pub struct Fixture {
    /// The store.
    pub store: Store,
    /// The search index the router searches, if any.
    pub search: Option<SearchIndex>,
    dir: TempDir,
}

impl Default for Fixture {
    fn default() -> Self {
        Fixture::new()
    }
}

impl Fixture {
    /// An empty store without a search index.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path().join("store").as_path()).expect("open store");
        Fixture { store, search: None, dir }
    }

    /// An empty store with an empty search index; call [`Fixture::index`] after writing.
    pub fn with_search() -> Self {
        let mut fixture = Fixture::new();
        let index = SearchIndex::open(fixture.dir.path().join("search").as_path()).expect("open search index");
        fixture.search = Some(index);
        fixture
    }

    /// Brings the search index up to date with every request written, and commits it.
    pub fn index(&self) {
        let Some(index) = &self.search else { panic!("a fixture made with Fixture::with_search") };
        let tenant = TenantId::DEFAULT;
        for summary in self.store.recent_traces(tenant, 0, u64::MAX, None, 10_000).expect("list traces") {
            let data = self.store.trace(tenant, &summary.trace_id).expect("read trace");
            index.upsert(tenant, &summary.trace_id, data.as_ref()).expect("index trace");
        }
        index.commit(1, now_unix_nanos()).expect("commit index");
    }

    /// Writes spans as one batch of the default tenant.
    pub fn write(&self, spans: Vec<Span>) {
        self.write_with_logs(spans, vec![]);
    }

    /// Writes spans and log records as one batch of the default tenant.
    pub fn write_with_logs(&self, spans: Vec<Span>, logs: Vec<LogRecord>) {
        self.store.write_group(&[WriteBatch { spans, logs, ..Default::default() }]).expect("write");
    }
}

/// The trace id whose 16 bytes are all `n`.
pub fn trace_id(n: u8) -> TraceId {
    [n; 16]
}

/// The lowercase hex of [`trace_id`].
pub fn trace_hex(n: u8) -> String {
    hex::encode(trace_id(n))
}

/// A `chain` span of service `svc`, 10 ms long, starting `start_ms` after [`T0`].
pub fn span(trace: u8, id: u8, parent: Option<u8>, start_ms: u64) -> Span {
    Span {
        trace_id: trace_id(trace),
        span_id: [id; 8],
        parent_span_id: parent.map(|p| [p; 8]),
        name: format!("span-{id}"),
        kind: SpanKind::Chain,
        start_unix_nano: T0 + start_ms * MS,
        end_unix_nano: T0 + (start_ms + 10) * MS,
        service: "svc".into(),
        ..Default::default()
    }
}

/// A one-part text message.
pub fn text_message(role: &str, text: &str) -> Message {
    Message {
        role: role.into(),
        parts: vec![MessagePart::Text { content: text.into() }],
        name: None,
        finish_reason: None,
    }
}

/// An `llm` span asking `question` and answering `answer`.
pub fn llm_span(trace: u8, id: u8, parent: Option<u8>, start_ms: u64, question: &str, answer: &str) -> Span {
    Span {
        kind: SpanKind::Llm,
        name: "chat".into(),
        llm: Some(LlmCall {
            request_model: Some("gpt-4o".into()),
            response_model: Some("gpt-4o-2024-08-06".into()),
            input_messages: vec![text_message("user", question)],
            output_messages: vec![text_message("assistant", answer)],
            ..Default::default()
        }),
        ..span(trace, id, parent, start_ms)
    }
}
