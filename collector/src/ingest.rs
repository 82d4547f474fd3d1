//! The transport-neutral ingest step: normalize an export request, hand it to the writer,
//! and wait until it is durable. Both OTLP receivers call this, so gRPC and HTTP cannot
//! drift apart in what they accept.

use std::sync::Arc;
use std::time::Instant;

use prost::Message;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use tracehound_proto::collector::logs::v1::ExportLogsServiceRequest;
use tracehound_proto::collector::trace::v1::ExportTraceServiceRequest;
use tracehound_store::writer::Writer;
use tracehound_store::{StoreError, TenantId, WriteBatch};

use crate::self_metrics::{record_export, record_refusal, Refusal, Signal};
use tracehound_normalize::redact::Redactor;
use tracehound_normalize::{
    normalize_logs, normalize_traces, scores_from_logs, scores_from_spans, NormalizeConfig, Normalized,
};

/// What an accepted export reports back (OTLP `partial_success`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Items stored (new or already present).
    pub accepted: u64,
    /// Items refused, with the reasons in `message`.
    pub rejected: u64,
    /// Empty when everything was accepted untouched.
    pub message: String,
}

/// Why an export was not acknowledged. Every variant is retryable by the sender.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The write queue is full: back off and retry.
    #[error("ingest is over capacity, retry later")]
    Overloaded,
    /// The store could not make the data durable; nothing was acknowledged.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl From<StoreError> for IngestError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::QueueFull => IngestError::Overloaded,
            other => IngestError::Unavailable(other.to_string()),
        }
    }
}

/// Shared state of the receivers.
#[derive(Clone)]
pub struct Ingest {
    writer: Writer,
    config: Arc<NormalizeConfig>,
    /// Memory budget of exports in flight, in KiB of encoded request; see `reserve`.
    inflight: Arc<Semaphore>,
    inflight_kib: usize,
    /// Runs on every normalized item before the writer sees it; `None`: evidence kept exact.
    redactor: Option<Arc<Redactor>>,
}

/// Default memory budget of exports in flight.
pub const DEFAULT_INFLIGHT_BYTES: usize = 256 * 1024 * 1024;

/// Decoded and normalized, an export takes several times its encoded size in memory.
const MEMORY_PER_ENCODED_BYTE: usize = 4;

impl Ingest {
    /// Ingest over a running writer.
    pub fn new(writer: Writer, config: NormalizeConfig) -> Self {
        let inflight_kib = kib(DEFAULT_INFLIGHT_BYTES);
        Ingest {
            writer,
            config: Arc::new(config),
            inflight: Arc::new(Semaphore::new(inflight_kib)),
            inflight_kib,
            redactor: None,
        }
    }

    /// Caps the memory held by exports in flight (decoded, normalized, waiting for the
    /// writer) at about `bytes`; exports beyond it are refused as retryable.
    pub fn with_memory_budget(mut self, bytes: usize) -> Self {
        self.inflight_kib = kib(bytes).max(1);
        self.inflight = Arc::new(Semaphore::new(self.inflight_kib));
        self
    }

    /// Redacts every span and log record at ingest, before anything reaches the disk.
    pub fn with_redactor(mut self, redactor: Option<Redactor>) -> Self {
        self.redactor = redactor.map(Arc::new);
        self
    }

    /// Reserves memory for one export until the returned permit drops, or refuses it.
    fn reserve(&self, signal: Signal, encoded_len: usize) -> Result<OwnedSemaphorePermit, IngestError> {
        // One export larger than the whole budget is admitted alone rather than never.
        let want = kib(encoded_len.saturating_mul(MEMORY_PER_ENCODED_BYTE)).clamp(1, self.inflight_kib);
        let want = u32::try_from(want).unwrap_or(u32::MAX);
        self.inflight.clone().try_acquire_many_owned(want).map_err(|_| {
            record_refusal(signal, Refusal::Overloaded);
            IngestError::Overloaded
        })
    }

    /// Stores the spans of a trace export; answers once they are durable.
    pub async fn traces(
        &self,
        tenant: TenantId,
        request: &ExportTraceServiceRequest,
    ) -> Result<IngestReport, IngestError> {
        let started = Instant::now();
        let _held = self.reserve(Signal::Spans, request.encoded_len())?;
        let mut normalized = normalize_traces(request, &self.config);
        if let Some(redactor) = &self.redactor {
            normalized.items.iter_mut().for_each(|span| redactor.redact_span(span));
        }
        let report = report_of(&normalized, "span");
        if !normalized.items.is_empty() {
            self.write(
                Signal::Spans,
                WriteBatch {
                    tenant,
                    scores: scores_from_spans(&normalized.items),
                    spans: normalized.items,
                    ..WriteBatch::default()
                },
            )
            .await?;
        }
        record_export(Signal::Spans, &report, started.elapsed(), self.queue_depth());
        Ok(report)
    }

    /// Stores the records of a logs export; answers once they are durable.
    pub async fn logs(
        &self,
        tenant: TenantId,
        request: &ExportLogsServiceRequest,
    ) -> Result<IngestReport, IngestError> {
        let started = Instant::now();
        let _held = self.reserve(Signal::LogRecords, request.encoded_len())?;
        let mut normalized = normalize_logs(request, &self.config);
        if let Some(redactor) = &self.redactor {
            normalized.items.iter_mut().for_each(|record| redactor.redact_log(record));
        }
        let report = report_of(&normalized, "log record");
        if !normalized.items.is_empty() {
            self.write(
                Signal::LogRecords,
                WriteBatch {
                    tenant,
                    scores: scores_from_logs(&normalized.items),
                    logs: normalized.items,
                    ..WriteBatch::default()
                },
            )
            .await?;
        }
        record_export(Signal::LogRecords, &report, started.elapsed(), self.queue_depth());
        Ok(report)
    }
}

impl Ingest {
    async fn write(&self, signal: Signal, batch: WriteBatch) -> Result<(), IngestError> {
        match self.writer.write(batch).await {
            Ok(_) => Ok(()),
            Err(err) => {
                let err = IngestError::from(err);
                let refusal = match err {
                    IngestError::Overloaded => Refusal::Overloaded,
                    IngestError::Unavailable(_) => Refusal::Unavailable,
                };
                record_refusal(signal, refusal);
                Err(err)
            }
        }
    }

    fn queue_depth(&self) -> usize {
        self.writer.stats().queued.load(std::sync::atomic::Ordering::Relaxed)
    }
}

fn kib(bytes: usize) -> usize {
    bytes.div_ceil(1024).min(Semaphore::MAX_PERMITS)
}

fn report_of<T>(normalized: &Normalized<T>, noun: &str) -> IngestReport {
    let mut parts = Vec::new();
    if normalized.rejected > 0 {
        parts.push(format!("rejected {} {noun}(s): {}", normalized.rejected, normalized.rejection_reasons.join("; ")));
    }
    if normalized.truncated_values > 0 {
        parts.push(format!(
            "{} attribute value(s) over the size or nesting cap were stored truncated, with a marker",
            normalized.truncated_values
        ));
    }
    IngestReport { accepted: normalized.items.len() as u64, rejected: normalized.rejected, message: parts.join(". ") }
}
