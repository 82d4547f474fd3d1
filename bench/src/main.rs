//! `tracehound-bench`: starts the real `tracehound` server on loopback, drives it with
//! realistic LLM traces and measures what issue 7 asks; writes `target/bench/results.json`
//! and the generated section of `BENCHMARKS.md`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::SeedableRng;
use tracehound_bench::ceiling::{decode_ceiling, fsync_write};
use tracehound_bench::corpus::Corpus;
use tracehound_bench::cpu::CpuSnapshot;
use tracehound_bench::load::{
    gzip_bytes, run_closed, run_paced, Payload, PayloadSource, Pool, RunResult, Stream, Target, Transport,
};
use tracehound_bench::probe::{measure, Api, CallLatency, SearchProbe};
use tracehound_bench::report::{
    self, Disk, Fill, IngestRow, Machine, Memory, Results, RunConfig, SizedCeiling, TargetCheck,
};
use tracehound_bench::server::{dir_bytes, Server};
use tracehound_bench::stats::Latency;
use tracehound_bench::traces::{TraceGenerator, TraceIds, SPANS_PER_REQUEST};

/// Benchmark harness for Tracehound (see BENCHMARKS.md).
#[derive(Parser, Debug)]
#[command(name = "tracehound-bench")]
struct Args {
    /// The server binary to benchmark.
    #[arg(long, default_value = "target/release/tracehound")]
    server: PathBuf,
    /// Where the scratch data directory is made (the disk measured).
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// JSON results.
    #[arg(long, default_value = "target/bench/results.json")]
    json: PathBuf,
    /// Markdown file whose generated section is replaced.
    #[arg(long, default_value = "BENCHMARKS.md")]
    markdown: PathBuf,
    /// Concurrent exporters in closed-loop runs.
    #[arg(long, default_value_t = 4)]
    exporters: usize,
    /// Seconds per ingest run.
    #[arg(long, default_value_t = 10.0)]
    scenario_secs: f64,
    /// Spans stored before lookups and searches are measured.
    #[arg(long, default_value_t = 1_000_000)]
    total_spans: u64,
    /// Calls per lookup kind.
    #[arg(long, default_value_t = 300)]
    lookups: usize,
    /// Rounds over the search query set.
    #[arg(long, default_value_t = 10)]
    search_rounds: usize,
    /// Words in the generated vocabulary's long tail.
    #[arg(long, default_value_t = 30_000)]
    tail_words: usize,
    /// Keep the data directory (under `--work-dir`) for inspection instead of deleting it.
    #[arg(long)]
    keep_data: bool,
    /// Limit the span sizes run (1, 8, 32 KB), e.g. `--sizes 8`.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1usize, 8, 32])]
    sizes: Vec<usize>,
}

/// The open-loop runs after the closed-loop ones, in order.
#[derive(Debug, Clone, Copy)]
enum PacedStep {
    /// Probing for the sustained rate (attempt number).
    Probe(u32),
    /// 80 % of the sustained rate, for the acknowledgement-latency target.
    Latency,
    /// The rate target, for the searchable-within-5-s target.
    Target,
    /// Nothing left.
    Done,
}

/// Paced-run labels, which the target checks find their rows by.
const PROBE_LABEL: &str = "sustained-rate probe";
const LATENCY_LABEL: &str = "paced, 80 % of sustained";
const TARGET_LABEL: &str = "paced at the";
/// Probes at most (the last one is taken as the sustained rate whatever it showed).
const MAX_PROBES: u32 = 4;

/// Longest wait for the index to commit everything acknowledged before a run ends.
const INDEX_CATCH_UP_LIMIT: Duration = Duration::from_secs(900);

/// Targets of the issue: spans/s by text size.
fn rate_target(text_bytes: usize) -> f64 {
    match text_bytes {
        b if b <= 1024 => 10_000.0,
        b if b <= 8192 => 3_000.0,
        _ => 1_000.0,
    }
}

fn main() -> anyhow::Result<()> {
    run(Args::parse())
}

/// Runs every phase. The exporters run on a tokio runtime; the query-side measurements use a
/// blocking client from this thread, outside it.
fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    anyhow::ensure!(args.server.exists(), "no server binary at {} (`make bench` builds it)", args.server.display());
    std::fs::create_dir_all(&args.work_dir)?;
    let scratch = tempfile::Builder::new().prefix("run-").tempdir_in(&args.work_dir)?;
    let data_dir = scratch.path().join("data");
    std::fs::create_dir_all(&data_dir)?;
    let corpus: &'static Corpus = Box::leak(Box::new(Corpus::new(args.tail_words)));
    let run_id: u32 = std::process::id() ^ (now_secs() as u32);
    let sizes: Vec<usize> = args.sizes.iter().map(|kb| kb * 1024).collect();
    let mut results = Results {
        started_at: rfc3339_now(),
        machine: machine(&data_dir),
        config: RunConfig {
            exporters: args.exporters,
            scenario_secs: args.scenario_secs,
            total_spans: args.total_spans,
            spans_per_request: SPANS_PER_REQUEST,
        },
        ..Default::default()
    };

    eprintln!("ceiling: decode and fsync'd writes");
    for &size in &sizes {
        let mut generator = TraceGenerator::new(corpus, run_id, 9_000 + size as u32, size);
        let raw: Vec<Vec<u8>> = (0..(2_000_000 / size).clamp(4, 40))
            .map(|_| prost::Message::encode_to_vec(&generator.next_request().request))
            .collect();
        let gzipped: Vec<Vec<u8>> = raw.iter().map(|r| gzip_bytes(r)).collect();
        let ceiling = decode_ceiling(&raw, &gzipped, Duration::from_secs(2));
        let raw_bytes_per_span =
            raw.iter().map(Vec::len).sum::<usize>() as f64 / (raw.len() * SPANS_PER_REQUEST) as f64;
        results.decode_ceiling.push(SizedCeiling { text_bytes: size, raw_bytes_per_span, ceiling });
    }
    for chunk in [64 * 1024, 1024 * 1024] {
        results.fsync_ceiling.push(fsync_write(&data_dir, chunk, Duration::from_secs(3), 2 << 30)?);
    }
    let fsync_mb = results.fsync_ceiling.last().map(|f| f.mb_per_sec).unwrap_or(0.0);

    eprintln!("starting {}", args.server.display());
    let server = Server::start(&args.server, &data_dir)?;
    let api = Api::new(&server.api_addr)?;
    let server_pid = server.pid();
    let probe = SearchProbe::new(&server.api_addr, Duration::from_secs(60));
    let duration = Duration::from_secs_f64(args.scenario_secs);
    let mut logical_raw = 0u64;
    let mut logical_text = 0u64;
    let mut sample_ids: Vec<TraceIds> = Vec::new();
    let mut stream_base = 0u32;

    for &size in &sizes {
        for transport in [Transport::Grpc, Transport::Http] {
            for gzip in [false, true] {
                let target = Target {
                    transport,
                    gzip,
                    grpc_addr: server.grpc_addr.clone(),
                    http_addr: server.http_addr.clone(),
                };
                // Twice the target for the run's length: a server faster than that runs dry early,
                // and its rate is still measured over the time it took.
                let requests =
                    (2.0 * rate_target(size) * args.scenario_secs / SPANS_PER_REQUEST as f64).ceil() as usize;
                let marker_every = (rate_target(size) / SPANS_PER_REQUEST as f64).round().max(1.0) as usize;
                eprintln!(
                    "ingest {} KB {} gzip={gzip}: generating {requests} requests",
                    size / 1024,
                    transport.label()
                );
                let pool = generate(corpus, run_id, stream_base, size, requests, gzip, marker_every);
                stream_base += 2;
                let source = Arc::new(Pool::new(pool));
                let began = Instant::now();
                let outcome = runtime.block_on(run_closed(
                    &target,
                    source,
                    args.exporters,
                    duration,
                    Some(probe.clone()),
                    server_pid,
                ))?;
                // Each run starts with the index caught up, so no run pays for the last.
                api.wait_caught_up(INDEX_CATCH_UP_LIMIT)?;
                let mut row = ingest_row(size, &target, args.exporters, &outcome, &results, fsync_mb);
                row.set_indexed(began.elapsed());
                eprintln!(
                    "  {:.0} spans/s, ack {}, indexed {:.0} spans/s",
                    row.spans_per_sec,
                    fmt_latency(&row.ack),
                    row.indexed_spans_per_sec
                );
                logical_raw += outcome.raw_bytes;
                logical_text += outcome.text_bytes;
                sample_ids.extend(outcome.sample_ids);
                results.ingest.push(row);
            }
        }
    }

    let paced_size = if sizes.contains(&8192) { 8192 } else { sizes[0] };
    // Sustained means acknowledged and indexed: above the indexing rate the index falls
    // further behind every second. A closed-loop burst overstates it (its index catches up
    // with both cores once the burst ends), so it is only where probing starts: paced runs
    // from there down in 15 % steps until one keeps every marker searchable within 5 s.
    let mut sustained = results
        .ingest
        .iter()
        .find(|r| r.text_bytes == paced_size && r.transport == "grpc" && !r.gzip)
        .map(|r| r.spans_per_sec.min(r.indexed_spans_per_sec))
        .unwrap_or(1000.0);
    let target_rate = rate_target(paced_size);
    let mut step = PacedStep::Probe(1);
    // Steady state: sustained load from here on (the paced runs, then the fill), after the
    // closed-loop bursts, whose peak is reported apart.
    server.reset_rss_peak();
    loop {
        let (pacing, spans_per_sec, length) = match step {
            PacedStep::Probe(n) => (format!("{PROBE_LABEL} {n}"), sustained, duration * 3 / 2),
            PacedStep::Latency => (LATENCY_LABEL.to_string(), 0.8 * sustained, duration * 2),
            PacedStep::Target => (format!("{TARGET_LABEL} {target_rate:.0} spans/s target"), target_rate, duration * 3),
            PacedStep::Done => break,
        };
        let rps = spans_per_sec / SPANS_PER_REQUEST as f64;
        let target = Target {
            transport: Transport::Grpc,
            gzip: false,
            grpc_addr: server.grpc_addr.clone(),
            http_addr: server.http_addr.clone(),
        };
        let requests = (rps * length.as_secs_f64()).ceil() as usize + 1;
        eprintln!("{pacing}: {} KB gRPC at {rps:.1} requests/s", paced_size / 1024);
        let pool = generate(corpus, run_id, stream_base, paced_size, requests, false, rps.round().max(1.0) as usize);
        stream_base += 2;
        let source = Arc::new(Pool::new(pool));
        let began = Instant::now();
        let outcome = runtime.block_on(run_paced(&target, source, rps, length, 64, Some(probe.clone()), server_pid))?;
        api.wait_caught_up(INDEX_CATCH_UP_LIMIT)?;
        let mut row = ingest_row(paced_size, &target, 64, &outcome, &results, fsync_mb);
        row.pacing = pacing;
        row.set_indexed(began.elapsed());
        row.write_groups = api.write_group_steps()?;
        eprintln!(
            "  {:.0} spans/s, ack {}, searchable max {:.2} s",
            row.spans_per_sec,
            fmt_latency(&row.ack),
            row.searchable.max_ms / 1000.0
        );
        step = match step {
            PacedStep::Probe(n) => {
                let kept_up = row.searchable.max_ms <= 5_000.0 && row.markers_missed == 0;
                if kept_up || n >= MAX_PROBES {
                    PacedStep::Latency
                } else {
                    sustained *= 0.85;
                    PacedStep::Probe(n + 1)
                }
            }
            PacedStep::Latency => PacedStep::Target,
            PacedStep::Target | PacedStep::Done => PacedStep::Done,
        };
        logical_raw += outcome.raw_bytes;
        logical_text += outcome.text_bytes;
        sample_ids.extend(outcome.sample_ids);
        results.paced.push(row);
    }
    results.sustained_spans_per_sec = sustained;

    let stored = api.stats()?["spans"].as_u64().unwrap_or(0);
    let fill_requests = args.total_spans.saturating_sub(stored).div_ceil(SPANS_PER_REQUEST as u64) as usize;
    eprintln!("fill: {fill_requests} requests of 1 KB spans to reach {} spans", args.total_spans);
    let per_thread = fill_requests.div_ceil(2);
    let streams: Vec<Arc<dyn PayloadSource>> = (0..2u32)
        .map(|t| {
            let stream = stream_base + t;
            let mut generator = TraceGenerator::new(corpus, run_id, stream, 1024);
            Arc::new(Stream::spawn(per_thread, 32, move |_| Payload::encode(generator.next_request(), false, None)))
                as Arc<dyn PayloadSource>
        })
        .collect();
    let fill_target = Target {
        transport: Transport::Grpc,
        gzip: false,
        grpc_addr: server.grpc_addr.clone(),
        http_addr: server.http_addr.clone(),
    };
    let fill_started = Instant::now();
    let fill_cpu_before = CpuSnapshot::take(server_pid);
    let mut fill_tasks = Vec::new();
    for source in streams {
        let target = fill_target.clone();
        let exporters = args.exporters.div_ceil(2);
        fill_tasks.push(runtime.spawn(async move {
            run_closed(&target, source, exporters, Duration::from_secs(6 * 3600), None, server_pid).await
        }));
    }
    let mut fill = RunResult::default();
    for task in fill_tasks {
        let part = runtime.block_on(task)??;
        fill.spans += part.spans;
        fill.raw_bytes += part.raw_bytes;
        fill.text_bytes += part.text_bytes;
        sample_ids.extend(part.sample_ids);
    }
    let fill_secs = fill_started.elapsed().as_secs_f64();
    let fill_cpu = CpuSnapshot::take(server_pid).since(&fill_cpu_before);
    logical_raw += fill.raw_bytes;
    logical_text += fill.text_bytes;
    eprintln!("  {} spans in {fill_secs:.0} s; waiting for the index", fill.spans);
    let catch_up = api.wait_indexed(Duration::from_secs(3600))?;
    let stats = api.stats()?;
    results.fill = Fill {
        stored_spans: stats["spans"].as_u64().unwrap_or(0),
        stored_requests: stats["requests"].as_u64().unwrap_or(0),
        spans: fill.spans,
        spans_per_sec: fill.spans as f64 / fill_secs.max(1e-9),
        index_catch_up_secs: catch_up.as_secs_f64(),
        cpu: fill_cpu,
    };
    let steady = server.rss();

    let data_bytes = dir_bytes(&data_dir);
    let index_bytes = dir_bytes(&data_dir.join("index"));
    results.disk = Disk {
        data_dir_bytes: data_bytes,
        index_bytes,
        store_bytes: data_bytes - index_bytes.min(data_bytes),
        logical_protobuf_bytes: logical_raw,
        logical_text_bytes: logical_text,
        ratio_to_protobuf: data_bytes as f64 / logical_raw.max(1) as f64,
        ratio_to_text: data_bytes as f64 / logical_text.max(1) as f64,
    };

    eprintln!("lookups and searches at {} spans", results.fill.stored_spans);
    let (lookups, search) = query_latency(&api, &sample_ids, corpus, &args)?;
    results.lookups = lookups;
    results.search = search;
    results.memory = Memory { steady, end: server.rss() };
    server.stop()?;
    if args.keep_data {
        eprintln!("kept the data directory {}", scratch.keep().display());
    }

    results.targets = targets(&results);
    report::write_json(&results, &args.json)?;
    report::write_markdown(&results, &args.markdown)?;
    eprintln!("{}", report::markdown(&results));
    eprintln!("wrote {} and {}", args.json.display(), args.markdown.display());
    Ok(())
}

fn generate(
    corpus: &'static Corpus,
    run: u32,
    stream_base: u32,
    size: usize,
    requests: usize,
    gzip: bool,
    marker_every: usize,
) -> Vec<Payload> {
    // Both cores generate; the pool is complete before the clock starts.
    let halves: Vec<Vec<Payload>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2u32)
            .map(|t| {
                scope.spawn(move || {
                    let mut generator = TraceGenerator::new(corpus, run, stream_base + t, size);
                    let count = requests / 2 + (t as usize) * (requests % 2);
                    (0..count)
                        .map(|i| {
                            let marker =
                                (i % marker_every == 0).then(|| format!("zqmark{run:x}s{}n{i}", stream_base + t));
                            let generated = generator.next_request_with(marker.as_deref());
                            Payload::encode(generated, gzip, marker)
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    // Interleaved, so markers of both halves are spread over the run.
    let mut out = Vec::with_capacity(requests);
    let mut iters: Vec<_> = halves.into_iter().map(Vec::into_iter).collect();
    loop {
        let mut any = false;
        for it in &mut iters {
            if let Some(p) = it.next() {
                out.push(p);
                any = true;
            }
        }
        if !any {
            return out;
        }
    }
}

fn ingest_row(
    size: usize,
    target: &Target,
    exporters: usize,
    o: &RunResult,
    results: &Results,
    fsync_mb: f64,
) -> IngestRow {
    let decode_mb = results
        .decode_ceiling
        .iter()
        .find(|c| c.text_bytes == size)
        .map(|c| c.ceiling.decode.raw_mb_per_sec)
        .unwrap_or(0.0);
    IngestRow {
        text_bytes: size,
        pacing: String::new(),
        transport: match target.transport {
            Transport::Grpc => "grpc".into(),
            Transport::Http => "http".into(),
        },
        gzip: target.gzip,
        exporters,
        seconds: o.seconds,
        spans: o.spans,
        spans_per_sec: o.spans_per_sec(),
        raw_mb_per_sec: o.raw_mb_per_sec(),
        wire_mb_per_sec: o.wire_bytes as f64 / 1e6 / o.seconds.max(1e-9),
        ack: Latency::of(&o.latencies),
        searchable: Latency::of(&o.searchable_after),
        markers_missed: o.markers_missed,
        indexed_secs: 0.0,
        indexed_spans_per_sec: 0.0,
        retries: o.retries,
        share_of_decode: if decode_mb > 0.0 { o.raw_mb_per_sec() / decode_mb } else { 0.0 },
        share_of_fsync: if fsync_mb > 0.0 { o.raw_mb_per_sec() / fsync_mb } else { 0.0 },
        cpu: o.cpu.clone(),
        write_groups: Vec::new(),
    }
}

fn query_latency(
    api: &Api,
    ids: &[TraceIds],
    corpus: &Corpus,
    args: &Args,
) -> anyhow::Result<(Vec<CallLatency>, Vec<CallLatency>)> {
    let mut rng = SmallRng::seed_from_u64(42);
    let picks: Vec<&TraceIds> = (0..args.lookups).filter_map(|_| ids.choose(&mut rng)).collect();
    let call = |path: String| (path, Vec::new());
    let by_request: Vec<_> = picks.iter().map(|t| call(format!("/api/v1/requests/{}", t.request_id))).collect();
    let by_session: Vec<_> = picks.iter().map(|t| call(format!("/api/v1/sessions/{}", t.session_id))).collect();
    let by_trace: Vec<_> = picks.iter().map(|t| call(format!("/api/v1/traces/{}", t.trace_id))).collect();
    let by_any: Vec<_> = picks.iter().map(|t| call(format!("/api/v1/lookup/{}", t.request_id))).collect();
    let lookups = vec![
        measure(api, "lookup by request id", &by_request)?,
        measure(api, "lookup by session id", &by_session)?,
        measure(api, "lookup by trace id", &by_trace)?,
        measure(api, "lookup any id (request id)", &by_any)?,
    ];

    let word = |rank: usize| corpus.word(rank.min(corpus.len() - 1)).unwrap_or("refund").to_string();
    let classes: Vec<(&str, Vec<String>)> = vec![
        ("search: common words", vec!["refund".into(), "order customer".into(), "shipping".into()]),
        ("search: mid-frequency words", vec![word(400), word(1_500), format!("{} {}", word(800), word(900))]),
        ("search: rare words", vec![word(corpus.len() - 1), word(corpus.len() - 50), format!("B-{:05}", 31_726)]),
        (
            "search: phrases",
            vec!["\"refund policy\"".into(), "\"tracking number\"".into(), "output:\"store credit\"".into()],
        ),
        (
            "search: words + filters",
            vec![
                "refund model:gpt-4o".into(),
                "kind:tool status:error".into(),
                "shipping prompt_version:v3 -refund".into(),
            ],
        ),
    ];
    let mut search = Vec::new();
    let mut all = Vec::new();
    for (name, queries) in &classes {
        let calls: Vec<_> = (0..args.search_rounds)
            .flat_map(|_| queries.iter())
            .map(|q| {
                (
                    "/api/v1/search".to_string(),
                    vec![("q".to_string(), q.clone()), ("limit".to_string(), "20".to_string())],
                )
            })
            .collect();
        all.extend(calls.iter().cloned());
        search.push(measure(api, name, &calls)?);
    }
    let mut overall = measure(api, "search: all queries above, top 20", &all)?;
    overall.name = "search: all queries above, top 20".into();
    search.push(overall);
    Ok((lookups, search))
}

fn targets(r: &Results) -> Vec<TargetCheck> {
    let mut out = Vec::new();
    for (size, floor) in [(1024, 10_000.0), (8192, 3_000.0), (32768, 1_000.0)] {
        let rows: Vec<&IngestRow> = r.ingest.iter().filter(|row| row.text_bytes == size).collect();
        if rows.is_empty() {
            continue;
        }
        let low = rows.iter().map(|x| x.spans_per_sec).fold(f64::INFINITY, f64::min);
        let high = rows.iter().map(|x| x.spans_per_sec).fold(0.0, f64::max);
        out.push(TargetCheck {
            name: format!("{} KB spans ingested (all four transports)", size / 1024),
            target: format!("≥ {floor:.0} spans/s"),
            measured: format!("{low:.0}–{high:.0} spans/s"),
            met: low >= floor,
        });
    }
    // Searchable within 5 s is judged while sustaining the target rate (an overloaded
    // closed-loop run outpaces any indexer by design; its lag is reported, not judged).
    if let Some(p) = r.paced.iter().find(|row| row.text_bytes == 8192 && row.pacing.starts_with(TARGET_LABEL)) {
        let worst = p.searchable.max_ms / 1000.0;
        out.push(TargetCheck {
            name: format!("8 KB spans searchable while sustaining {:.0} spans/s (worst marker)", p.spans_per_sec),
            target: "≤ 5 s".into(),
            measured: format!(
                "{worst:.2} s (median {:.2} s){}",
                p.searchable.median_ms / 1000.0,
                if p.markers_missed > 0 { format!(", {} never found", p.markers_missed) } else { String::new() }
            ),
            met: worst <= 5.0 && p.markers_missed == 0 && p.spans_per_sec >= 0.95 * 3_000.0,
        });
    }
    if let Some(p) = r.paced.iter().find(|row| row.pacing == LATENCY_LABEL) {
        out.push(TargetCheck {
            name: format!(
                "ack latency at 80 % of the sustained rate ({} KB, gRPC; sustained: {:.0} spans/s, the probe that \
                 kept up)",
                p.text_bytes / 1024,
                r.sustained_spans_per_sec
            ),
            target: "median ≤ 15 ms, p99 ≤ 50 ms".into(),
            measured: format!("{:.1} / {:.1} ms", p.ack.median_ms, p.ack.p99_ms),
            met: p.ack.median_ms <= 15.0 && p.ack.p99_ms <= 50.0,
        });
    }
    for call in &r.lookups {
        out.push(TargetCheck {
            name: format!("{} (server-side)", call.name),
            target: "median ≤ 1 ms, p99 ≤ 10 ms".into(),
            measured: format!(
                "{:.2} / {:.2} ms (client {:.2} / {:.2})",
                call.server.median_ms, call.server.p99_ms, call.client.median_ms, call.client.p99_ms
            ),
            met: call.failures == 0
                && call.server.count > 0
                && call.server.median_ms <= 1.0
                && call.server.p99_ms <= 10.0,
        });
    }
    if let Some(all) = r.search.last() {
        out.push(TargetCheck {
            name: format!("full-text top 20 at {} spans (client-side)", r.fill.stored_spans),
            target: "median ≤ 20 ms, p99 ≤ 200 ms".into(),
            measured: format!(
                "{:.1} / {:.1} ms (server {:.1} / {:.1})",
                all.client.median_ms, all.client.p99_ms, all.server.median_ms, all.server.p99_ms
            ),
            met: all.failures == 0 && all.client.median_ms <= 20.0 && all.client.p99_ms <= 200.0,
        });
    }
    out.push(TargetCheck {
        name: "disk per logical (protobuf) byte".into(),
        target: "≤ 1.3×".into(),
        measured: format!("{:.2}× ({:.2}× of text)", r.disk.ratio_to_protobuf, r.disk.ratio_to_text),
        met: r.disk.ratio_to_protobuf <= 1.3,
    });
    out.push(TargetCheck {
        name: "resident memory at steady state (peak during the paced runs and the fill)".into(),
        target: "≤ 1 GiB".into(),
        measured: format!(
            "{:.0} MiB, of it heap {:.0} MiB (run peak {:.0} MiB; mapped index files at the end {:.0} MiB)",
            r.memory.steady.window_peak_kib as f64 / 1024.0,
            r.memory.steady.anon_window_peak_kib as f64 / 1024.0,
            r.memory.end.process_peak_kib as f64 / 1024.0,
            r.memory.end.file_now_kib as f64 / 1024.0,
        ),
        met: r.memory.steady.window_peak_kib <= 1024 * 1024,
    });
    out
}

fn fmt_latency(l: &Latency) -> String {
    format!("median {:.1} ms, p99 {:.1} ms", l.median_ms, l.p99_ms)
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

fn rfc3339_now() -> String {
    let output = std::process::Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"]).output();
    output.ok().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default()
}

fn machine(data_dir: &std::path::Path) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: f64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
    let canonical = data_dir.canonicalize().unwrap_or_else(|_| data_dir.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let data_filesystem = mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3 && canonical.starts_with(f[1])).then(|| (f[1].len(), format!("{} ({})", f[2], f[0])))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, fs)| fs)
        .unwrap_or_default();
    Machine {
        cpu,
        cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        memory_gib: mem_kib / 1024.0 / 1024.0,
        kernel,
        data_filesystem,
    }
}
