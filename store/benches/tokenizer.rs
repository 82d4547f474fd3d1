//! Tokenizer throughput: the whole index analyzer (tokenizer plus filters) over the kinds
//! of text an index rebuild feeds it, English with identifiers and CJK.

// A benchmark's fixtures are ours: a failure to build them is a broken benchmark, not input.
#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use tantivy::tokenizer::TokenStream;
use tracehound_store::search::tokenizer::index_analyzer;

const ENGLISH_WORDS: &[&str] = &[
    "the",
    "customer",
    "asked",
    "about",
    "a",
    "refund",
    "for",
    "order",
    "B-31726",
    "and",
    "the",
    "agent",
    "replied",
    "that",
    "it",
    "was",
    "processed",
    "ERR_TIMEOUT",
    "while",
    "calling",
    "payments",
    "service",
    "jane.doe@example.com",
    "please",
    "check",
    "status",
    "of",
    "shipment",
    "in",
    "api/v2/orders",
    "tool",
    "returned",
    "retry",
    "after",
    "3",
    "seconds,",
    "Rückerstattung",
    "café",
    "request",
    "id",
    "req-8f2c1-0",
    "model",
    "gpt-4o",
    "said:",
    "I'm",
    "sorry",
    "cannot",
    "find",
    "that.",
    "version",
    "v1.2.3",
    "is",
    "live!",
];

const CJK_PHRASES: &[&str] = &[
    "退款政策",
    "订单",
    "已发货",
    "请稍后再试",
    "注文番号",
    "ありがとうございます",
    "環境",
    "주문이",
    "배송되었습니다",
    "客户询问",
    "B-1",
    "的",
    "。",
    "，",
    "ERR_TIMEOUT",
    "エラー",
    "타임아웃",
    " ",
];

/// Deterministic text of about `target` bytes drawn from `words`, so runs compare.
fn text(words: &[&str], target: usize, separator: &str) -> String {
    let mut out = String::with_capacity(target + 64);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    while out.len() < target {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.push_str(words[(state % words.len() as u64) as usize]);
        out.push_str(if state.is_multiple_of(11) { ".\n" } else { separator });
    }
    out
}

fn count_tokens(text: &str) -> usize {
    let mut analyzer = index_analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut n = 0;
    while stream.advance() {
        n += 1;
    }
    n
}

fn tokenize(c: &mut Criterion) {
    let english = text(ENGLISH_WORDS, 32 * 1024, " ");
    let cjk = text(CJK_PHRASES, 8 * 1024, "");
    let mut group = c.benchmark_group("tokenizer/index");
    group.throughput(Throughput::Bytes(english.len() as u64));
    group.bench_function("english 32KiB", |b| b.iter(|| count_tokens(black_box(&english))));
    group.throughput(Throughput::Bytes(cjk.len() as u64));
    group.bench_function("cjk 8KiB", |b| b.iter(|| count_tokens(black_box(&cjk))));
    group.finish();
}

criterion_group!(benches, tokenize);
criterion_main!(benches);
