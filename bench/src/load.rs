//! Exporters: OTLP/gRPC and OTLP/HTTP clients sending pre-encoded export requests, either as
//! fast as the server acknowledges (closed loop, several concurrent exporters) or at a fixed
//! rate (open loop, to read acknowledgement latency below saturation). Requests refused as
//! overloaded (`UNAVAILABLE` / 503) are retried as an SDK would.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use flate2::write::GzEncoder;
use flate2::Compression;
use http_body_util::{BodyExt, Full};
use prost::Message;
use serde::Serialize;
use tonic::codegen::http::{self, Uri};
use tonic::codegen::Bytes;
use tonic::transport::Channel;
use tower::{Service, ServiceExt};
use tracehound_proto::collector::trace::v1::ExportTraceServiceResponse;

use crate::cpu::{CpuSnapshot, CpuUse};
use crate::probe::SearchProbe;
use crate::traces::{GeneratedRequest, TraceIds, SPANS_PER_REQUEST};

/// Which OTLP transport a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// OTLP/gRPC.
    Grpc,
    /// OTLP/HTTP with protobuf bodies.
    Http,
}

impl Transport {
    /// Name as the report shows it.
    pub fn label(self) -> &'static str {
        match self {
            Transport::Grpc => "gRPC",
            Transport::Http => "HTTP",
        }
    }
}

/// One export request as it will travel.
pub struct Payload {
    /// Protobuf bytes, gzipped already when the run uses gzip.
    pub body: Bytes,
    /// Protobuf bytes before any compression.
    pub raw_bytes: usize,
    /// Prompt/output/document/tool text bytes in it.
    pub text_bytes: usize,
    /// The traces inside.
    pub traces: Vec<TraceIds>,
    /// A word only this request holds, to time how soon it becomes searchable.
    pub marker: Option<String>,
}

impl Payload {
    /// Encodes `generated`, gzipped when `gzip` (for either transport).
    pub fn encode(generated: GeneratedRequest, gzip: bool, marker: Option<String>) -> Payload {
        let raw = generated.request.encode_to_vec();
        let raw_bytes = raw.len();
        let body = if gzip { gzip_bytes(&raw) } else { raw };
        Payload {
            body: Bytes::from(body),
            raw_bytes,
            text_bytes: generated.text_bytes,
            traces: generated.traces,
            marker,
        }
    }
}

/// Gzip at the default level, as the OpenTelemetry SDKs compress.
pub fn gzip_bytes(raw: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = GzEncoder::new(Vec::with_capacity(raw.len() / 3), Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(raw);
    encoder.finish().unwrap_or_default()
}

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct Target {
    /// Transport.
    pub transport: Transport,
    /// Whether bodies are gzipped.
    pub gzip: bool,
    /// `host:port` of the OTLP/gRPC listener.
    pub grpc_addr: String,
    /// `host:port` of the OTLP/HTTP listener.
    pub http_addr: String,
}

/// One exporter's connection.
enum Exporter {
    /// gRPC frames built here and sent over tonic's HTTP/2 channel (see [`grpc_export`]).
    Grpc(Channel, Uri, bool),
    Http(reqwest::Client, String, bool),
}

const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// gRPC status code the server answers when overloaded.
const GRPC_UNAVAILABLE: &str = "14";

impl Exporter {
    async fn connect(target: &Target) -> anyhow::Result<Exporter> {
        Ok(match target.transport {
            Transport::Grpc => {
                let channel = Channel::from_shared(format!("http://{}", target.grpc_addr))?.connect().await?;
                let uri: Uri = format!("http://{}{EXPORT_PATH}", target.grpc_addr).parse()?;
                Exporter::Grpc(channel, uri, target.gzip)
            }
            Transport::Http => {
                let url = format!("http://{}/v1/traces", target.http_addr);
                Exporter::Http(reqwest::Client::builder().pool_max_idle_per_host(1).build()?, url, target.gzip)
            }
        })
    }

    /// Sends one export; `Ok(false)` when the server refused it as overloaded.
    async fn export(&mut self, body: Bytes) -> anyhow::Result<bool> {
        match self {
            Exporter::Grpc(channel, uri, gzip) => grpc_export(channel, uri, *gzip, body).await,
            Exporter::Http(client, url, gzip) => {
                let mut request = client.post(url.as_str()).header("content-type", "application/x-protobuf");
                if *gzip {
                    request = request.header("content-encoding", "gzip");
                }
                let response = request.body(body).send().await?;
                let status = response.status();
                let answer = response.bytes().await?;
                match status.as_u16() {
                    200 => {
                        let decoded = ExportTraceServiceResponse::decode(answer)?;
                        let rejected = decoded.partial_success.map(|p| p.rejected_spans).unwrap_or(0);
                        if rejected > 0 {
                            bail!("server rejected {rejected} spans");
                        }
                        Ok(true)
                    }
                    429 | 502 | 503 | 504 => Ok(false),
                    code => bail!("HTTP export failed with {code}"),
                }
            }
        }
    }

    /// Sends until acknowledged, backing off on overload as SDKs do; returns the retries.
    async fn export_acknowledged(&mut self, body: &Bytes) -> anyhow::Result<u32> {
        let mut retries = 0;
        let mut backoff = Duration::from_millis(20);
        while !self.export(body.clone()).await? {
            retries += 1;
            if retries > 200 {
                bail!("export refused as overloaded 200 times in a row");
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_millis(500));
        }
        Ok(retries)
    }
}

/// One unary OTLP/gRPC export of a pre-encoded (and, with `gzip`, pre-compressed) body.
///
/// Built on tonic's channel rather than its client because the client can only compress
/// during the run: the load generator shares the two cores with the server, and gzipping
/// 3 MB per request while measuring would meter the client, not the server. OTLP/HTTP
/// bodies are pre-compressed the same way, so both transports measure the same thing.
async fn grpc_export(channel: &mut Channel, uri: &Uri, gzip: bool, body: Bytes) -> anyhow::Result<bool> {
    let length = u32::try_from(body.len()).context("export body over 4 GiB")?;
    let mut frame = Vec::with_capacity(5 + body.len());
    frame.push(u8::from(gzip));
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(&body);
    let mut request = http::Request::builder()
        .method(http::Method::POST)
        .uri(uri.clone())
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if gzip {
        request = request.header("grpc-encoding", "gzip");
    }
    let request = request.body(tonic::body::Body::new(Full::new(Bytes::from(frame))))?;
    let response = channel.ready().await?.call(request).await?;
    let (parts, body) = response.into_parts();
    let collected = body.collect().await?;
    let trailers = collected.trailers().cloned().unwrap_or_default();
    // A trailers-only answer (an error before any message) carries the status in the headers.
    let status = trailers.get("grpc-status").or_else(|| parts.headers.get("grpc-status"));
    let status = status.and_then(|v| v.to_str().ok()).unwrap_or("missing");
    match status {
        "0" => {
            let data = collected.to_bytes();
            let message = data.get(5..).context("gRPC answer shorter than its frame header")?;
            let decoded = ExportTraceServiceResponse::decode(message)?;
            let rejected = decoded.partial_success.map(|p| p.rejected_spans).unwrap_or(0);
            if rejected > 0 {
                bail!("server rejected {rejected} spans");
            }
            Ok(true)
        }
        GRPC_UNAVAILABLE => Ok(false),
        code => {
            let message = trailers.get("grpc-message").or_else(|| parts.headers.get("grpc-message"));
            bail!("gRPC export failed with status {code}: {message:?}")
        }
    }
}

/// What one run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunResult {
    /// Export requests acknowledged.
    pub requests: u64,
    /// Spans acknowledged.
    pub spans: u64,
    /// Bytes on the wire (after gzip).
    pub wire_bytes: u64,
    /// Protobuf bytes before compression.
    pub raw_bytes: u64,
    /// Text bytes (prompts, outputs, documents, tool arguments and results).
    pub text_bytes: u64,
    /// Wall-clock seconds from the first send to the last acknowledgement.
    pub seconds: f64,
    /// Overload refusals that were retried.
    pub retries: u64,
    /// Acknowledgement latency of each request, first send to success.
    #[serde(skip)]
    pub latencies: Vec<Duration>,
    /// Acknowledgement → found by search, for each marker request.
    #[serde(skip)]
    pub searchable_after: Vec<Duration>,
    /// Marker requests never found within the probe's deadline.
    pub markers_missed: u64,
    /// Traces acknowledged, for lookups afterwards (the first of each request).
    #[serde(skip)]
    pub sample_ids: Vec<TraceIds>,
    /// CPU used from the first send to the last acknowledgement (before waiting for markers).
    pub cpu: CpuUse,
}

impl RunResult {
    /// Acknowledged spans per second.
    pub fn spans_per_sec(&self) -> f64 {
        self.spans as f64 / self.seconds.max(1e-9)
    }

    /// Protobuf megabytes (10^6) per second, before compression.
    pub fn raw_mb_per_sec(&self) -> f64 {
        self.raw_bytes as f64 / 1e6 / self.seconds.max(1e-9)
    }

    fn absorb(&mut self, payload: &Payload, latency: Duration, retries: u32) {
        self.requests += 1;
        self.spans += SPANS_PER_REQUEST as u64;
        self.wire_bytes += payload.body.len() as u64;
        self.raw_bytes += payload.raw_bytes as u64;
        self.text_bytes += payload.text_bytes as u64;
        self.retries += u64::from(retries);
        self.latencies.push(latency);
        if let Some(first) = payload.traces.first() {
            self.sample_ids.push(first.clone());
        }
    }
}

/// Where payloads come from: a finished pool, or a producer that generates them on the fly.
pub trait PayloadSource: Send + Sync + 'static {
    /// The next payload, or `None` when exhausted.
    fn next(&self) -> Option<Arc<Payload>>;
}

/// A pool of payloads generated before the run, so generation costs nothing during it.
pub struct Pool {
    payloads: Vec<Arc<Payload>>,
    next: AtomicUsize,
}

impl Pool {
    /// A pool handing out `payloads` in order, once each.
    pub fn new(payloads: Vec<Payload>) -> Pool {
        Pool { payloads: payloads.into_iter().map(Arc::new).collect(), next: AtomicUsize::new(0) }
    }
}

impl PayloadSource for Pool {
    fn next(&self) -> Option<Arc<Payload>> {
        self.payloads.get(self.next.fetch_add(1, Ordering::Relaxed)).cloned()
    }
}

/// Payloads generated by a background thread into a bounded channel.
pub struct Stream {
    receiver: Mutex<std::sync::mpsc::Receiver<Payload>>,
}

impl Stream {
    /// Runs `make` on its own thread for `count` payloads, at most `ahead` waiting.
    pub fn spawn<F>(count: usize, ahead: usize, mut make: F) -> Stream
    where
        F: FnMut(usize) -> Payload + Send + 'static,
    {
        let (sender, receiver) = std::sync::mpsc::sync_channel(ahead);
        std::thread::spawn(move || {
            for i in 0..count {
                if sender.send(make(i)).is_err() {
                    return;
                }
            }
        });
        Stream { receiver: Mutex::new(receiver) }
    }
}

impl PayloadSource for Stream {
    fn next(&self) -> Option<Arc<Payload>> {
        // Waiting for the producer must not stall the runtime's other tasks.
        tokio::task::block_in_place(|| self.receiver.lock().ok()?.recv().ok().map(Arc::new))
    }
}

/// Closed loop: `exporters` concurrent exporters each send, wait for the answer, send the
/// next, until `duration` has passed or the source runs dry.
pub async fn run_closed(
    target: &Target,
    source: Arc<dyn PayloadSource>,
    exporters: usize,
    duration: Duration,
    probe: Option<SearchProbe>,
    server_pid: u32,
) -> anyhow::Result<RunResult> {
    let mut connections = Vec::with_capacity(exporters);
    for _ in 0..exporters {
        connections.push(Exporter::connect(target).await.context("cannot connect an exporter")?);
    }
    let cpu_before = CpuSnapshot::take(server_pid);
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(exporters);
    for mut exporter in connections {
        let source = source.clone();
        let probe = probe.clone();
        tasks.push(tokio::spawn(async move {
            let mut result = RunResult::default();
            let mut probes = Vec::new();
            while Instant::now() < deadline {
                let Some(payload) = source.next() else { break };
                let sent = Instant::now();
                let retries = exporter.export_acknowledged(&payload.body).await?;
                let acked = Instant::now();
                result.absorb(&payload, acked - sent, retries);
                if let (Some(probe), Some(marker)) = (&probe, &payload.marker) {
                    probes.push(probe.spawn(marker.clone(), acked));
                }
            }
            anyhow::Ok((result, probes))
        }));
    }
    let mut total = RunResult::default();
    let mut probes = Vec::new();
    for task in tasks {
        let (result, mut spawned) = task.await??;
        merge(&mut total, result);
        probes.append(&mut spawned);
    }
    total.seconds = started.elapsed().as_secs_f64();
    total.cpu = CpuSnapshot::take(server_pid).since(&cpu_before);
    collect_probes(&mut total, probes).await;
    Ok(total)
}

/// Open loop: one request every `1 / requests_per_sec` seconds regardless of answers (up to
/// `max_in_flight` outstanding), for `duration`.
pub async fn run_paced(
    target: &Target,
    source: Arc<dyn PayloadSource>,
    requests_per_sec: f64,
    duration: Duration,
    max_in_flight: usize,
    probe: Option<SearchProbe>,
    server_pid: u32,
) -> anyhow::Result<RunResult> {
    let (idle_sender, idle_receiver) = tokio::sync::mpsc::channel(max_in_flight);
    for _ in 0..max_in_flight {
        idle_sender.send(Exporter::connect(target).await?).await?;
    }
    let idle = Arc::new(tokio::sync::Mutex::new(idle_receiver));
    let interval = Duration::from_secs_f64(1.0 / requests_per_sec.max(0.1));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let cpu_before = CpuSnapshot::take(server_pid);
    let started = Instant::now();
    let mut tasks = Vec::new();
    let mut late = 0u64;
    while started.elapsed() < duration {
        ticker.tick().await;
        let Some(payload) = source.next() else { break };
        let Ok(mut exporter) = idle.lock().await.try_recv() else {
            late += 1;
            continue;
        };
        let idle_sender = idle_sender.clone();
        let probe = probe.clone();
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let retries = exporter.export_acknowledged(&payload.body).await;
            let acked = Instant::now();
            let _ = idle_sender.send(exporter).await;
            let probe = match (&probe, &payload.marker) {
                (Some(probe), Some(marker)) => Some(probe.spawn(marker.clone(), acked)),
                _ => None,
            };
            anyhow::Ok((payload, acked - sent, retries?, probe))
        }));
    }
    let mut total = RunResult::default();
    let mut probes = Vec::new();
    for task in tasks {
        let (payload, latency, retries, probe) = task.await??;
        total.absorb(&payload, latency, retries);
        probes.extend(probe);
    }
    total.seconds = started.elapsed().as_secs_f64();
    total.cpu = CpuSnapshot::take(server_pid).since(&cpu_before);
    if late > 0 {
        eprintln!("  paced run: {late} sends skipped, all {max_in_flight} exporters busy");
    }
    collect_probes(&mut total, probes).await;
    Ok(total)
}

fn merge(total: &mut RunResult, part: RunResult) {
    total.requests += part.requests;
    total.spans += part.spans;
    total.wire_bytes += part.wire_bytes;
    total.raw_bytes += part.raw_bytes;
    total.text_bytes += part.text_bytes;
    total.retries += part.retries;
    total.latencies.extend(part.latencies);
    total.sample_ids.extend(part.sample_ids);
}

async fn collect_probes(total: &mut RunResult, probes: Vec<tokio::task::JoinHandle<Option<Duration>>>) {
    for probe in probes {
        match probe.await {
            Ok(Some(after)) => total.searchable_after.push(after),
            _ => total.markers_missed += 1,
        }
    }
}
