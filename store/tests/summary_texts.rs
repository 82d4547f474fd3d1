//! Which question and answer a request's summary shows: the user's own, whichever
//! convention carries them and in whatever order the spans and log records arrive.

// Test code: a failed fixture is a failed test.
#![allow(clippy::unwrap_used)]

use tracehound_store::model::{LlmCall, LogRecord, Message, MessagePart, Span, SpanKind};
use tracehound_store::summary::TraceSummary;
use tracehound_store::{Store, TenantId, WriteBatch};

const T: TenantId = TenantId::DEFAULT;
const TRACE: [u8; 16] = [7; 16];

fn text(role: &str, content: &str) -> Message {
    Message {
        role: role.into(),
        parts: vec![MessagePart::Text { content: content.into() }],
        name: None,
        finish_reason: None,
    }
}

fn root(input: Option<&str>, output: Option<&str>) -> Span {
    Span {
        trace_id: TRACE,
        span_id: [1; 8],
        name: "POST /chat".into(),
        kind: SpanKind::Chain,
        start_unix_nano: 1_000,
        end_unix_nano: 9_000,
        input_value: input.map(str::to_string),
        output_value: output.map(str::to_string),
        ..Default::default()
    }
}

/// A chat call whose user turn is the question with the retrieved context appended, as RAG
/// apps send it.
fn chat(question: &str, answer: &str) -> Span {
    Span {
        trace_id: TRACE,
        span_id: [2; 8],
        parent_span_id: Some([1; 8]),
        name: "chat".into(),
        kind: SpanKind::Llm,
        start_unix_nano: 2_000,
        end_unix_nano: 8_000,
        llm: Some(LlmCall {
            input_messages: vec![
                text("system", "You are a support assistant."),
                text("user", &format!("{question}\n\nContext:\n[doc:kb-1] Refunds take 5 days.")),
            ],
            output_messages: vec![text("assistant", answer)],
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn log_event(span: u8, input: Vec<Message>, output: Vec<Message>) -> LogRecord {
    LogRecord {
        trace_id: TRACE,
        span_id: [span; 8],
        event_name: "gen_ai.client.inference.operation.details".into(),
        time_unix_nano: 5_000,
        llm: Some(LlmCall { input_messages: input, output_messages: output, ..Default::default() }),
        ..Default::default()
    }
}

fn summary_after(groups: Vec<WriteBatch>) -> TraceSummary {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for batch in groups {
        store.write_group(&[batch]).unwrap();
    }
    store.trace(T, &TRACE).unwrap().unwrap().summary
}

fn spans(spans: Vec<Span>) -> WriteBatch {
    WriteBatch { tenant: T, spans, ..Default::default() }
}

fn logs(logs: Vec<LogRecord>) -> WriteBatch {
    WriteBatch { tenant: T, logs, ..Default::default() }
}

#[test]
fn the_question_is_the_roots_input_not_the_prompt_with_its_context() {
    let summary = summary_after(vec![spans(vec![
        chat("How long do refunds take?", "Five days."),
        root(Some("How long do refunds take?"), Some("Refunds take five days.")),
    ])]);
    assert_eq!(summary.question.as_deref(), Some("How long do refunds take?"));
    assert_eq!(summary.answer.as_deref(), Some("Refunds take five days."));
}

#[test]
fn without_text_on_the_root_the_llm_calls_user_turn_stands_in() {
    let summary = summary_after(vec![spans(vec![root(None, None), chat("Where is my order?", "On its way.")])]);
    assert!(summary.question.as_deref().unwrap().starts_with("Where is my order?"));
    assert_eq!(summary.answer.as_deref(), Some("On its way."));
}

/// An agent span under the root, as an app's workflow runs under its HTTP server span.
fn agent(input: &str, output: &str) -> Span {
    Span {
        span_id: [3; 8],
        parent_span_id: Some([1; 8]),
        name: "support_agent.handle_request".into(),
        kind: SpanKind::Agent,
        start_unix_nano: 1_500,
        end_unix_nano: 8_500,
        input_value: Some(input.into()),
        output_value: Some(output.into()),
        ..root(None, None)
    }
}

#[test]
fn without_text_on_the_root_an_agent_spans_input_is_the_question() {
    let summary = summary_after(vec![spans(vec![
        chat("Where is order B-7?", "It ships today."),
        root(None, None),
        agent("Where is order B-7?", "Order B-7 ships today."),
    ])]);
    assert_eq!(summary.question.as_deref(), Some("Where is order B-7?"));
    assert_eq!(summary.answer.as_deref(), Some("Order B-7 ships today."));
}

#[test]
fn a_root_with_text_still_wins_over_an_agent_below_it() {
    let summary = summary_after(vec![spans(vec![
        agent("rewritten: order B-7 status", "B-7: shipped"),
        root(Some("Where is order B-7?"), Some("Order B-7 ships today.")),
    ])]);
    assert_eq!(summary.question.as_deref(), Some("Where is order B-7?"));
}

#[test]
fn a_root_input_that_is_a_one_field_json_object_gives_its_text() {
    let summary = summary_after(vec![spans(vec![root(Some(r#"{"question": "¿Dónde está mi pedido?"}"#), None)])]);
    assert_eq!(summary.question.as_deref(), Some("¿Dónde está mi pedido?"));
}

#[test]
fn a_root_input_that_is_a_request_body_is_no_question() {
    let body = r#"{"model": "gpt-4o", "messages": []}"#;
    assert_eq!(summary_after(vec![spans(vec![root(Some(body), None)])]).question, None);
}

#[test]
fn text_carried_only_in_log_events_reaches_the_summary_whichever_arrives_first() {
    let event =
        || log_event(2, vec![text("user", "Can I change my plan?")], vec![text("assistant", "Yes, in settings.")]);
    let bare_chat = || Span { llm: Some(LlmCall::default()), ..chat("", "") };
    for order in [
        vec![spans(vec![root(None, None), bare_chat()]), logs(vec![event()])],
        vec![logs(vec![event()]), spans(vec![root(None, None), bare_chat()])],
    ] {
        let summary = summary_after(order);
        assert_eq!(summary.question.as_deref(), Some("Can I change my plan?"));
        assert_eq!(summary.answer.as_deref(), Some("Yes, in settings."));
    }
}

#[test]
fn log_events_in_the_same_group_before_their_spans_reach_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let event = log_event(2, vec![text("user", "Is there a student discount?")], vec![]);
    store.write_group(&[logs(vec![event]), spans(vec![root(None, None)])]).unwrap();
    let summary = store.trace(T, &TRACE).unwrap().unwrap().summary;
    assert_eq!(summary.question.as_deref(), Some("Is there a student discount?"));
}

#[test]
fn a_span_carried_question_wins_over_a_log_event() {
    let event = log_event(2, vec![text("user", "from the event")], vec![]);
    let summary = summary_after(vec![logs(vec![event]), spans(vec![root(Some("from the root"), None)])]);
    assert_eq!(summary.question.as_deref(), Some("from the root"));
}

#[test]
fn a_log_record_alone_creates_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.write_group(&[logs(vec![log_event(2, vec![text("user", "hi")], vec![])])]).unwrap();
    assert_eq!(store.counters(T).unwrap().traces, 0);
    assert!(store.trace(T, &TRACE).unwrap().is_none());
}

#[test]
fn a_one_field_json_input_too_large_to_be_a_question_is_not_read() {
    let big = format!(r#"{{"document": "{}"}}"#, "x".repeat(20 * 1024));
    assert_eq!(summary_after(vec![spans(vec![root(Some(&big), None)])]).question, None);
}
