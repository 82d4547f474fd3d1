//! The signals a trace summary carries for triage: sizes, languages, retrieval, citations,
//! tool errors and durations, and the root's cohort attributes, whatever order spans arrive in.

// Test code: a failed fixture is a failed test.
#![allow(clippy::unwrap_used)]

use tracehound_store::model::{
    AttrValue, Document, KeyValue, RawSpan, Retrieval, Span, SpanKind, StatusCode, ToolCall,
};
use tracehound_store::summary::TraceSummary;

const TRACE: [u8; 16] = [9; 16];

fn root(question: &str, answer: &str) -> Span {
    Span {
        trace_id: TRACE,
        span_id: [1; 8],
        name: "handle".into(),
        kind: SpanKind::Chain,
        start_unix_nano: 1_000,
        end_unix_nano: 9_000,
        input_value: Some(question.into()),
        output_value: Some(answer.into()),
        ..Default::default()
    }
}

fn retrieval(docs: &[(&str, f64)]) -> Span {
    Span {
        trace_id: TRACE,
        span_id: [2; 8],
        parent_span_id: Some([1; 8]),
        name: "retrieve".into(),
        kind: SpanKind::Retrieval,
        retrieval: Some(Retrieval {
            documents: docs
                .iter()
                .map(|(id, score)| Document { id: Some(id.to_string()), score: Some(*score), ..Default::default() })
                .collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn tool(name: &str, millis: u64, failed: bool) -> Span {
    Span {
        trace_id: TRACE,
        span_id: [3; 8],
        parent_span_id: Some([1; 8]),
        name: format!("execute_tool {name}"),
        kind: SpanKind::Tool,
        start_unix_nano: 2_000_000,
        end_unix_nano: 2_000_000 + millis * 1_000_000,
        status: if failed { StatusCode::Error } else { StatusCode::Unset },
        tool: Some(ToolCall { name: Some(name.into()), ..Default::default() }),
        ..Default::default()
    }
}

fn summarize(spans: &[Span]) -> TraceSummary {
    let mut summary = TraceSummary::new(TRACE);
    for span in spans {
        summary.add_span(span);
    }
    summary
}

#[test]
fn question_and_answer_lengths_and_languages_are_kept() {
    let s = summarize(&[root(
        "¿Dónde está mi pedido y cuándo llegará a mi casa?",
        "Your order ships tomorrow and arrives within three days.",
    )]);
    assert_eq!(s.signals.question_chars, 49);
    assert_eq!(s.signals.question_language.as_deref(), Some("es"));
    assert_eq!(s.signals.answer_language.as_deref(), Some("en"));
}

#[test]
fn documents_count_their_best_and_mean_score() {
    let s = summarize(&[retrieval(&[("kb-1", 0.9), ("kb-2", 0.5)])]);
    assert_eq!((s.signals.retrievals, s.signals.documents), (1, 2));
    assert_eq!(s.signals.top_score, Some(0.9));
    assert!((s.signals.mean_score().unwrap() - 0.7).abs() < 1e-9);
}

#[test]
fn a_retrieval_that_found_nothing_counts_as_a_retrieval_with_no_documents() {
    let s = summarize(&[retrieval(&[])]);
    assert_eq!((s.signals.retrievals, s.signals.documents), (1, 0));
}

#[test]
fn an_answer_citing_a_retrieved_id_cites_whichever_span_arrives_first() {
    let answer = "Refunds take 5 days [doc:kb-2].";
    let a = summarize(&[retrieval(&[("kb-1", 0.9), ("kb-2", 0.5)]), root("How long do refunds take?", answer)]);
    let b = summarize(&[root("How long do refunds take?", answer), retrieval(&[("kb-1", 0.9), ("kb-2", 0.5)])]);
    assert_eq!(a.signals.cites_a_document(), Some(true));
    assert_eq!(b.signals.cites_a_document(), Some(true));
}

#[test]
fn an_answer_naming_no_retrieved_id_cites_nothing() {
    let s = summarize(&[retrieval(&[("kb-1", 0.9)]), root("How long do refunds take?", "I don't know.")]);
    assert_eq!(s.signals.cites_a_document(), Some(false));
}

#[test]
fn failed_tool_calls_are_counted_with_every_call_timed() {
    let s = summarize(&[tool("lookup_invoice", 120, true), tool("get_quote", 40, false)]);
    assert_eq!(s.signals.tool_errors, 1);
    let timings: Vec<(&str, f64, bool)> =
        s.signals.tool_timings.iter().map(|t| (t.name.as_str(), t.millis, t.failed)).collect();
    assert_eq!(timings, [("lookup_invoice", 120.0, true), ("get_quote", 40.0, false)]);
}

#[test]
fn root_attributes_keep_categories_and_drop_identifiers_and_texts() {
    let mut span = root("Where is my order?", "It ships tomorrow.");
    let text = |k: &str, v: &str| KeyValue { key: k.into(), value: Some(AttrValue::Str(v.into())) };
    span.raw = RawSpan {
        resource: vec![text("service.name", "shop"), text("deployment.region", "eu-west-1")],
        attributes: vec![
            text("app.tier", "enterprise"),
            text("user.id", "u-123"),
            text("input.value", "Where is my order?"),
        ],
        ..Default::default()
    };
    let s = summarize(&[span]);
    let keys: Vec<&str> = s.signals.attributes.keys().map(String::as_str).collect();
    assert_eq!(keys, ["app.tier", "resource.deployment.region"]);
}
