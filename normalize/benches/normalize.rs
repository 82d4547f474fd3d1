//! Normalization cost per export request, over real captured requests of each convention
//! (`shared/fixtures`): the collector's CPU work between decode and the writer queue.

// A benchmark's fixtures are ours: a failure to build them is a broken benchmark, not input.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use prost::Message;
use tracehound_normalize::{normalize_traces, NormalizeConfig};
use tracehound_proto::collector::trace::v1::ExportTraceServiceRequest;

/// The captured request of each instrumentation with the most spans.
const FIXTURES: &[&str] = &["openinference-http-protobuf", "openllmetry-http-protobuf", "otel-genai-http-protobuf"];

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures")
}

fn largest_request(fixture: &str) -> ExportTraceServiceRequest {
    let requests = fixtures_dir().join(fixture).join("requests");
    let entries = std::fs::read_dir(&requests).unwrap_or_else(|e| panic!("{}: {e}", requests.display()));
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with("-traces.pb"))
        .filter_map(|p| std::fs::read(p).ok())
        .filter_map(|bytes| ExportTraceServiceRequest::decode(bytes.as_slice()).ok())
        .max_by_key(span_count)
        .unwrap_or_else(|| panic!("no trace request in {}", requests.display()))
}

fn span_count(request: &ExportTraceServiceRequest) -> usize {
    request.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum()
}

fn normalize(c: &mut Criterion) {
    let config = NormalizeConfig::default();
    let mut group = c.benchmark_group("normalize_traces");
    for fixture in FIXTURES {
        let request = largest_request(fixture);
        group.throughput(Throughput::Elements(span_count(&request) as u64));
        group.bench_function(*fixture, |b| b.iter(|| normalize_traces(std::hint::black_box(&request), &config)));
    }
    group.finish();
}

fn decode_and_normalize(c: &mut Criterion) {
    let config = NormalizeConfig::default();
    let mut group = c.benchmark_group("decode_and_normalize");
    for fixture in FIXTURES {
        let bytes = largest_request(fixture).encode_to_vec();
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(*fixture, |b| {
            b.iter(|| {
                let request = ExportTraceServiceRequest::decode(std::hint::black_box(bytes.as_slice()));
                request.map(|r| normalize_traces(&r, &config))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, normalize, decode_and_normalize);
criterion_main!(benches);
