//! The transport-neutral ingest step: normalize an export request, hand it to the writer,
//! and wait until it is durable. Both OTLP receivers call this, so gRPC and HTTP cannot
//! drift apart in what they accept.

use std::sync::Arc;

use tracehound_proto::collector::logs::v1::ExportLogsServiceRequest;
use tracehound_proto::collector::trace::v1::ExportTraceServiceRequest;
use tracehound_store::writer::Writer;
use tracehound_store::{StoreError, TenantId, WriteBatch};

use crate::normalize::{normalize_logs, normalize_traces, NormalizeConfig, Normalized};

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
}

impl Ingest {
    /// Ingest over a running writer.
    pub fn new(writer: Writer, config: NormalizeConfig) -> Self {
        Ingest { writer, config: Arc::new(config) }
    }

    /// Stores the spans of a trace export; answers once they are durable.
    pub async fn traces(
        &self,
        tenant: TenantId,
        request: &ExportTraceServiceRequest,
    ) -> Result<IngestReport, IngestError> {
        let normalized = normalize_traces(request, &self.config);
        let report = report_of(&normalized, "span");
        if !normalized.items.is_empty() {
            self.writer.write(WriteBatch { tenant, spans: normalized.items, logs: Vec::new() }).await?;
        }
        Ok(report)
    }

    /// Stores the records of a logs export; answers once they are durable.
    pub async fn logs(
        &self,
        tenant: TenantId,
        request: &ExportLogsServiceRequest,
    ) -> Result<IngestReport, IngestError> {
        let normalized = normalize_logs(request, &self.config);
        let report = report_of(&normalized, "log record");
        if !normalized.items.is_empty() {
            self.writer.write(WriteBatch { tenant, spans: Vec::new(), logs: normalized.items }).await?;
        }
        Ok(report)
    }
}

fn report_of<T>(normalized: &Normalized<T>, noun: &str) -> IngestReport {
    let mut parts = Vec::new();
    if normalized.rejected > 0 {
        parts.push(format!("rejected {} {noun}(s): {}", normalized.rejected, normalized.rejection_reasons.join("; ")));
    }
    if normalized.truncated_values > 0 {
        parts.push(format!(
            "{} attribute value(s) over the size cap were stored truncated",
            normalized.truncated_values
        ));
    }
    IngestReport { accepted: normalized.items.len() as u64, rejected: normalized.rejected, message: parts.join(". ") }
}
