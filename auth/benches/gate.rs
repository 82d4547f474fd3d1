//! Cost of checking a key on every export and API call: hash, stat of the keys file, and a
//! constant-time comparison against every live key.

// A benchmark's fixtures are ours: a failure to build them is a broken benchmark, not input.
#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use tracehound_auth::rate_limit::Limits;
use tracehound_auth::{Gate, KeysFile, Scope};

fn authorize(c: &mut Criterion) {
    let mut group = c.benchmark_group("authorize");
    for keys in [1usize, 100, 1_000] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let mut file = KeysFile::default();
        let mut last = String::new();
        for i in 0..keys {
            last = file.add_key(&format!("tenant-{}", i % 10), &[Scope::Ingest]).unwrap().secret;
        }
        file.save(&path).unwrap();
        let gate = Gate::from_keys_file(&path, Limits::default()).unwrap();
        let header = format!("Bearer {last}");
        group.bench_with_input(BenchmarkId::from_parameter(keys), &header, |b, header| {
            b.iter(|| gate.authorize(Some(header), Scope::Ingest).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, authorize);
criterion_main!(benches);
