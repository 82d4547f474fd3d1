//! Key encoding cost: the keys the writer builds for every span and trace, and the parses
//! the reads do on every index entry they scan.

// A benchmark's fixtures are ours: a failure to build them is a broken benchmark, not input.
#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use tracehound_store::keys;
use tracehound_store::model::VersionDimension;
use tracehound_store::TenantId;

const TRACE: [u8; 16] = [7; 16];
const SPAN: [u8; 8] = [9; 8];
const START: u64 = 1_764_300_000_000_000_000;

fn encode(c: &mut Criterion) {
    let t = TenantId::DEFAULT;
    let mut group = c.benchmark_group("keys/encode");
    group.bench_function("span", |b| b.iter(|| keys::span(black_box(t), black_box(&TRACE), black_box(&SPAN))));
    group.bench_function("by_time", |b| b.iter(|| keys::by_time(black_box(t), black_box(START), black_box(&TRACE))));
    group.bench_function("by_value (request id, hashed)", |b| {
        b.iter(|| keys::by_value(black_box(t), black_box("req-8f2c1-0-123456"), black_box(&TRACE)))
    });
    group.bench_function("by_version (hashed)", |b| {
        b.iter(|| keys::by_version(black_box(t), VersionDimension::PromptVersion, black_box("v8"), black_box(&TRACE)))
    });
    group.bench_function("value_hash (36-byte value)", |b| {
        b.iter(|| keys::value_hash(black_box("sess-5a1f00d3-0000-4c1e-9e21-42b1c0a7")))
    });
    group.finish();
}

fn parse(c: &mut Criterion) {
    let t = TenantId::DEFAULT;
    let by_time = keys::by_time(t, START, &TRACE);
    let by_value = keys::by_value(t, "req-8f2c1", &TRACE);
    let mut group = c.benchmark_group("keys/parse");
    group.bench_function("parse_by_time", |b| b.iter(|| keys::parse_by_time(black_box(&by_time))));
    group.bench_function("trace_of_by_value", |b| b.iter(|| keys::trace_of_by_value(black_box(&by_value))));
    group.finish();
}

criterion_group!(benches, encode, parse);
criterion_main!(benches);
