//! Synthetic traffic written straight into a store through the real write path (group
//! commit and fsync included), for the benchmarks of read-side work: four services, a
//! retrieval and a model call per request, and an index rollout that breaks most answers
//! from a given request on.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tracehound_store::model::{Document, LlmCall, Message, MessagePart, Retrieval, Span, SpanKind, VersionDimension};
use tracehound_store::{Store, TenantId, WriteBatch};

/// One day, in nanoseconds.
pub const DAY: u64 = 86_400_000_000_000;
/// 2026-10-01T00:00:00Z.
pub const START: u64 = 1_790_812_800_000_000_000;
pub const SERVICES: [&str; 4] = ["support-assistant", "support-email", "research-agent", "sales-copilot"];
pub const QUESTIONS: [&str; 6] = [
    "How do I change the shipping address of my order",
    "What is the refund policy for annual plans",
    "Why was my card charged twice this month",
    "Can I move my subscription to another account",
    "Where can I download last year's invoices",
    "How long does a bank transfer refund take",
];

/// `requests` requests from `start`, `step` apart; from request `onset` on, a new index finds
/// nothing for 60 % of questions and the answers say there is no information.
pub fn fill(store: &Store, requests: usize, start: u64, step: u64, onset: usize) -> anyhow::Result<()> {
    let mut rng = SmallRng::seed_from_u64(12);
    let mut group = Vec::new();
    for i in 0..requests {
        let start = start + i as u64 * step;
        let broken = i >= onset && rng.random::<f64>() < 0.6;
        let noise = rng.random::<f64>() < 0.03;
        let service = SERVICES[i % SERVICES.len()];
        let question = format!("{} {}", QUESTIONS[rng.random_range(0..QUESTIONS.len())], i % 97);
        let answer = if broken || noise {
            "I don't have information about that.".to_string()
        } else {
            format!(
                "You can do this from the account page: open Settings, then Billing, and follow the steps shown there; the change applies within a day [doc:kb-{}].",
                i % 50
            )
        };
        let index = if i >= onset { "idx-2" } else { "idx-1" };
        let mut trace = [0u8; 16];
        // Keyed by start time, so two fills of one store never share a trace.
        trace[..8].copy_from_slice(&start.to_be_bytes());
        trace[8..].copy_from_slice(&0x7472_6961_6765_u64.to_be_bytes());
        let span = |n: u8, parent: Option<u8>, name: &str, kind: SpanKind| Span {
            trace_id: trace,
            span_id: [n; 8],
            parent_span_id: parent.map(|p| [p; 8]),
            name: name.into(),
            kind,
            start_unix_nano: start + u64::from(n) * 1_000_000,
            end_unix_nano: start + 2_000_000_000,
            service: service.into(),
            request_id: (n == 1).then(|| format!("req-{start}")),
            session_id: Some(format!("s-{}", i / 3)),
            user_id: Some(format!("u-{}", i % 5_000)),
            ..Default::default()
        };
        let mut root = span(1, None, "handle_request", SpanKind::Chain);
        root.input_value = Some(question);
        root.output_value = Some(answer.clone());
        let mut retrieval = span(2, Some(1), "retrieve", SpanKind::Retrieval);
        let docs = if broken { 0 } else { 3 };
        retrieval.retrieval = Some(Retrieval {
            documents: (0..docs)
                .map(|d| Document {
                    id: Some(format!("kb-{}", (i + d) % 50)),
                    score: Some(0.9 - 0.1 * d as f64),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        });
        retrieval.versions.insert(VersionDimension::IndexVersion, index.into());
        let mut chat = span(3, Some(1), "chat", SpanKind::Llm);
        chat.llm = Some(LlmCall {
            request_model: Some("gpt-4o".into()),
            response_model: Some("gpt-4o-2024-08-06".into()),
            output_messages: vec![Message {
                role: "assistant".into(),
                parts: vec![MessagePart::Text { content: answer }],
                name: None,
                finish_reason: None,
            }],
            ..Default::default()
        });
        chat.versions.insert(VersionDimension::ResponseModel, "gpt-4o-2024-08-06".into());
        chat.versions.insert(VersionDimension::PromptVersion, "v7".into());
        group.push(WriteBatch { tenant: TenantId::DEFAULT, spans: vec![root, retrieval, chat], ..Default::default() });
        if group.len() == 500 {
            store.write_group(&group)?;
            group.clear();
        }
    }
    if !group.is_empty() {
        store.write_group(&group)?;
    }
    Ok(())
}

/// Replaces what sits between the `name` markers of the Markdown file, or appends them
/// under a `## heading`.
pub fn write_section(path: &std::path::Path, name: &str, heading: &str, section: &str) -> anyhow::Result<()> {
    let begin = format!("<!-- {name}:begin (generated by `make bench`; edit outside these markers) -->");
    let end = format!("<!-- {name}:end -->");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let block = format!("{begin}\n{section}{end}");
    let updated = match (text.find(&begin), text.find(&end)) {
        (Some(b), Some(e)) if b < e => format!("{}{block}{}", &text[..b], &text[e + end.len()..]),
        _ => format!("{text}\n## {heading}\n\n{block}\n"),
    };
    std::fs::write(path, updated)?;
    Ok(())
}
