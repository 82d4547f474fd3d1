//! What the receivers count about themselves, through the `metrics` facade (rendered by
//! the API's `/metrics`). Names follow Prometheus conventions.

use std::time::Duration;

use tracehound_error::ErrorCode;

/// A signal: `spans`, `log_records`, or `unknown` for an export that reached no route.
#[derive(Debug, Clone, Copy)]
pub enum Signal {
    /// Trace exports.
    Spans,
    /// Log exports.
    LogRecords,
    /// An export sent to no route of the receiver, whose signal is not known.
    Unknown,
}

impl Signal {
    fn as_str(self) -> &'static str {
        match self {
            Signal::Spans => "spans",
            Signal::LogRecords => "log_records",
            Signal::Unknown => "unknown",
        }
    }
}

/// Gives every metric of the receivers its `# HELP` line. Call once the recorder is installed.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!("tracehound_received_total", Unit::Count, "Spans or log records received in answered exports.");
    describe_counter!("tracehound_accepted_total", Unit::Count, "Spans or log records stored.");
    describe_counter!(
        "tracehound_rejected_total",
        Unit::Count,
        "Spans or log records refused in partial_success: invalid, or older than retention."
    );
    describe_counter!(
        "tracehound_refused_exports_total",
        Unit::Count,
        "Exports refused whole, by reason: wrong port or path, key, rate, size, overload, storage."
    );
    describe_counter!(
        "tracehound_admission_waits_total",
        Unit::Count,
        "Exports that waited in line for the memory budget of exports in flight."
    );
    describe_histogram!(
        "tracehound_export_duration_seconds",
        Unit::Seconds,
        "From an export's arrival to its durable acknowledgement."
    );
    describe_gauge!("tracehound_ingest_queue_depth", Unit::Count, "Write batches waiting for the writer thread.");
}

/// Counts an export that was answered with success (possibly partial).
pub fn record_export(signal: Signal, accepted: u64, rejected: u64, elapsed: Duration, queue_depth: usize) {
    let s = signal.as_str();
    metrics::counter!("tracehound_received_total", "signal" => s).increment(accepted + rejected);
    metrics::counter!("tracehound_accepted_total", "signal" => s).increment(accepted);
    if rejected > 0 {
        metrics::counter!("tracehound_rejected_total", "signal" => s, "reason" => "invalid").increment(rejected);
    }
    metrics::histogram!("tracehound_export_duration_seconds", "signal" => s).record(elapsed.as_secs_f64());
    metrics::gauge!("tracehound_ingest_queue_depth").set(queue_depth as f64);
}

/// Counts items refused because retention would delete them at its next pass.
pub fn record_expired(signal: Signal, items: u64) {
    metrics::counter!("tracehound_received_total", "signal" => signal.as_str()).increment(items);
    metrics::counter!("tracehound_rejected_total", "signal" => signal.as_str(), "reason" => "older_than_retention")
        .increment(items);
}

/// Counts an export that found the memory budget full and waited in line for room.
pub fn record_admission_wait(signal: Signal) {
    metrics::counter!("tracehound_admission_waits_total", "signal" => signal.as_str()).increment(1);
}

/// Where a misdirected export arrived: each is logged on its own schedule.
#[derive(Debug, Clone, Copy)]
pub enum Misdirected {
    /// HTTP/1 on the OTLP/gRPC port.
    Http1OnGrpcPort,
    /// gRPC on the OTLP/HTTP port.
    GrpcOnHttpPort,
    /// A POST to a path the OTLP/HTTP port does not serve.
    UnknownPath,
}

/// Logs an export sent to the wrong port or path: once a minute for each kind, since a
/// misconfigured SDK retries for ever and the counter has the rest.
pub fn warn_misdirected(kind: Misdirected, what: &str) {
    use std::sync::atomic::AtomicU64;
    static LAST: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];
    let slot = &LAST[kind as usize];
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let last = slot.load(std::sync::atomic::Ordering::Relaxed);
    let due = now >= last.saturating_add(60);
    let ordering = std::sync::atomic::Ordering::Relaxed;
    if due && slot.compare_exchange(last, now, ordering, ordering).is_ok() {
        tracing::warn!(
            "misdirected export: {what} (counted in tracehound_refused_exports_total; logged once a minute)"
        );
    }
}

/// Counts an export refused whole.
pub fn record_refusal(signal: Signal, code: ErrorCode) {
    metrics::counter!("tracehound_refused_exports_total", "signal" => signal.as_str(), "reason" => code.metric_label())
        .increment(1);
}
