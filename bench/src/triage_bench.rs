//! `tracehound-triage-bench`: triage over a window of 200,000 requests (issue 12: ≤ 3 s on
//! two cores). It fills a fresh store through the real write path (`Store::write_group`,
//! group commit and fsync included) with a day of four services, a retrieval per request and
//! an index rollout that breaks most answers for the last fifth of the day, then times the
//! triage of the whole window. Reports the median of the runs and the verdict, and writes
//! the triage section of `BENCHMARKS.md`.

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tracehound_query::failing::Window;
use tracehound_query::triage::triage;
use tracehound_store::model::{Document, LlmCall, Message, MessagePart, Retrieval, Span, SpanKind, VersionDimension};
use tracehound_store::{Store, TenantId, WriteBatch};

/// Triage benchmark (see BENCHMARKS.md).
#[derive(Parser, Debug)]
#[command(name = "tracehound-triage-bench")]
struct Args {
    /// Requests in the window.
    #[arg(long, default_value_t = 200_000)]
    requests: usize,
    /// Timed triage runs; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Where the scratch store is made.
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// Markdown file whose triage section is replaced.
    #[arg(long, default_value = "BENCHMARKS.md")]
    markdown: PathBuf,
}

const DAY: u64 = 86_400_000_000_000;
const START: u64 = 1_790_812_800_000_000_000;
const SERVICES: [&str; 4] = ["support-assistant", "support-email", "research-agent", "sales-copilot"];
const QUESTIONS: [&str; 6] = [
    "How do I change the shipping address of my order",
    "What is the refund policy for annual plans",
    "Why was my card charged twice this month",
    "Can I move my subscription to another account",
    "Where can I download last year's invoices",
    "How long does a bank transfer refund take",
];

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.work_dir)?;
    let scratch = tempfile::Builder::new().prefix("triage-").tempdir_in(&args.work_dir)?;
    let store = Store::open(scratch.path())?;
    let began = Instant::now();
    fill(&store, args.requests)?;
    let fill_secs = began.elapsed().as_secs_f64();
    eprintln!("filled {} requests in {fill_secs:.1} s", args.requests);
    let window = Window { since: START, until: START + DAY };
    let mut times = Vec::new();
    let mut verdict = None;
    for run in 0..args.runs {
        let began = Instant::now();
        let answer = triage(&store, TenantId::DEFAULT, window, None)?;
        let secs = began.elapsed().as_secs_f64();
        eprintln!(
            "run {run}: {secs:.2} s, {} requests, layer {:?} value {:?}",
            answer.requests, answer.layer, answer.value
        );
        times.push(secs);
        verdict = Some(answer);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let verdict = verdict.ok_or_else(|| anyhow::anyhow!("no run"))?;
    let section = format!(
        "| requests in the window | runs | median | fastest | slowest | target | verdict |\n|---|---|---|---|---|---|---|\n| {} | {} | {median:.2} s | {:.2} s | {:.2} s | ≤ 3 s: {} | {} · {} = {} (onset {}) |\n",
        verdict.requests,
        times.len(),
        times[0],
        times[times.len() - 1],
        if median <= 3.0 { "met" } else { "missed" },
        verdict.layer.as_deref().unwrap_or("none"),
        verdict.dimension.as_deref().unwrap_or("-"),
        verdict.value.as_deref().unwrap_or("-"),
        verdict.onset.as_deref().unwrap_or("-"),
    );
    println!("{section}");
    write_section(&args.markdown, &section)?;
    Ok(())
}

/// A day of traffic: the last fifth on a new index that finds nothing for 60% of questions.
fn fill(store: &Store, requests: usize) -> anyhow::Result<()> {
    let mut rng = SmallRng::seed_from_u64(12);
    let step = DAY / requests as u64;
    let onset = requests * 4 / 5;
    let mut group = Vec::new();
    for i in 0..requests {
        let start = START + i as u64 * step;
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
        trace[..8].copy_from_slice(&(i as u64).to_be_bytes());
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
            request_id: (n == 1).then(|| format!("req-{i}")),
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

/// Replaces what sits between the triage markers of the Markdown file, or appends them.
fn write_section(path: &PathBuf, section: &str) -> anyhow::Result<()> {
    const BEGIN: &str = "<!-- triage:begin (generated by `make bench`; edit outside these markers) -->";
    const END: &str = "<!-- triage:end -->";
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let block = format!("{BEGIN}\n{section}{END}");
    let updated = match (text.find(BEGIN), text.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{block}{}", &text[..b], &text[e + END.len()..]),
        _ => format!("{text}\n## Triage\n\n{block}\n"),
    };
    std::fs::write(path, updated)?;
    Ok(())
}
