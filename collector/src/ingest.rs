//! The transport-neutral ingest step: admit an export (the tenant's rate, the memory budget),
//! normalize it, hand it to the writer, and wait until it is durable. Both OTLP receivers
//! call this, one generic path for every signal ([`Export`]), so gRPC and HTTP, traces and
//! logs cannot drift apart in what they accept, refuse or count.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prost::Message;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use tracehound_auth::{AuthError, Gate, Principal, RateLimited, Scope};
use tracehound_error::{ErrorCode, ServiceError};
use tracehound_normalize::redact::Redactor;
use tracehound_normalize::{
    is_exported_score, normalize_logs, normalize_traces, scores_from_logs, scores_from_spans, NormalizeConfig,
    Normalized,
};
use tracehound_proto::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use tracehound_proto::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tracehound_store::model::{LogRecord, Span};
use tracehound_store::writer::Writer;
use tracehound_store::{StoreError, TenantId, WriteBatch};

use crate::expiry::{Expired, Expires, Expiry};
use crate::self_metrics::{record_admission_wait, record_expired, record_export, record_refusal, Signal};

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
    /// The tenant is over its ingest rate.
    #[error(transparent)]
    RateLimited(#[from] RateLimited),
    /// The write queue or the memory budget is full: back off and retry.
    #[error("ingest is over capacity, retry later")]
    Overloaded,
    /// The store could not make the data durable; nothing was acknowledged.
    #[error("storage unavailable: {0}")]
    Unavailable(#[source] StoreError),
}

impl From<StoreError> for IngestError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::QueueFull => IngestError::Overloaded,
            other => IngestError::Unavailable(other),
        }
    }
}

impl ServiceError for IngestError {
    fn error_code(&self) -> ErrorCode {
        match self {
            IngestError::RateLimited(_) => ErrorCode::RateLimited,
            IngestError::Overloaded => ErrorCode::Overloaded,
            // Whatever failed in the store, the sender keeps the data and may retry.
            IngestError::Unavailable(_) => ErrorCode::Unavailable,
        }
    }
}

impl IngestError {
    /// Seconds the sender is asked to wait before retrying.
    pub fn retry_after_secs(&self) -> u64 {
        match self {
            IngestError::RateLimited(limited) => limited.retry_after.as_secs().max(1),
            _ => 1,
        }
    }
}

/// One OTLP signal as ingest sees it: its export request, the items normalization makes of
/// it, and the answer it gets.
pub trait Export: Message + Default + DeserializeOwned + Send + Sync + 'static {
    /// A normalized item of this signal.
    type Item: Send + Expires;
    /// The export's answer.
    type Response: Message + Serialize + Default + Send + 'static;
    /// The signal, for the metrics.
    const SIGNAL: Signal;
    /// What one item is called in a partial-success message.
    const NOUN: &'static str;

    /// Items in the export, for the rate limit.
    fn item_count(&self) -> u64;
    /// The export read into the domain model.
    fn normalize(&self, config: &NormalizeConfig) -> Normalized<Self::Item>;
    /// Redacts one item in place.
    fn redact(redactor: &Redactor, item: &mut Self::Item);
    /// The items (and the scores they carry) as one write.
    fn batch(tenant: TenantId, items: Vec<Self::Item>) -> WriteBatch;
    /// The answer to an export ingested with this report.
    fn answer(report: &IngestReport) -> Self::Response;
}

fn partial(report: &IngestReport) -> bool {
    report.rejected > 0 || !report.message.is_empty()
}

impl Export for ExportTraceServiceRequest {
    type Item = Span;
    type Response = ExportTraceServiceResponse;
    const SIGNAL: Signal = Signal::Spans;
    const NOUN: &'static str = "span";

    fn item_count(&self) -> u64 {
        self.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len() as u64).sum()
    }

    fn normalize(&self, config: &NormalizeConfig) -> Normalized<Span> {
        normalize_traces(self, config)
    }

    fn redact(redactor: &Redactor, span: &mut Span) {
        redactor.redact_span(span);
    }

    fn batch(tenant: TenantId, spans: Vec<Span>) -> WriteBatch {
        WriteBatch { tenant, scores: scores_from_spans(&spans), spans, ..WriteBatch::default() }
    }

    fn answer(report: &IngestReport) -> ExportTraceServiceResponse {
        ExportTraceServiceResponse {
            partial_success: partial(report).then(|| ExportTracePartialSuccess {
                rejected_spans: report.rejected as i64,
                error_message: report.message.clone(),
            }),
        }
    }
}

impl Export for ExportLogsServiceRequest {
    type Item = LogRecord;
    type Response = ExportLogsServiceResponse;
    const SIGNAL: Signal = Signal::LogRecords;
    const NOUN: &'static str = "log record";

    fn item_count(&self) -> u64 {
        self.resource_logs.iter().flat_map(|r| &r.scope_logs).map(|s| s.log_records.len() as u64).sum()
    }

    fn normalize(&self, config: &NormalizeConfig) -> Normalized<LogRecord> {
        normalize_logs(self, config)
    }

    fn redact(redactor: &Redactor, record: &mut LogRecord) {
        redactor.redact_log(record);
    }

    fn batch(tenant: TenantId, mut logs: Vec<LogRecord>) -> WriteBatch {
        let scores = scores_from_logs(&logs);
        logs.retain(|log| !is_exported_score(log));
        WriteBatch { tenant, scores, logs, ..WriteBatch::default() }
    }

    fn answer(report: &IngestReport) -> ExportLogsServiceResponse {
        ExportLogsServiceResponse {
            partial_success: partial(report).then(|| ExportLogsPartialSuccess {
                rejected_log_records: report.rejected as i64,
                error_message: report.message.clone(),
            }),
        }
    }
}

/// Shared state of the receivers.
#[derive(Clone)]
pub struct Ingest {
    writer: Writer,
    config: Arc<NormalizeConfig>,
    /// Checks keys and the tenants' rates; open (every export in the default tenant) unless set.
    gate: Gate,
    /// Memory budget of exports in flight, in KiB of encoded request; see `reserve`.
    budget: Budget,
    /// Runs on every normalized item before the writer sees it; `None`: evidence kept exact.
    redactor: Option<Arc<Redactor>>,
    /// What retention would delete at once, refused; `None`: data is kept whatever its age.
    expiry: Option<Expiry>,
}

/// Default memory budget of exports in flight.
pub const DEFAULT_INFLIGHT_BYTES: usize = 256 * 1024 * 1024;

/// Decoded and normalized, an export takes several times its encoded size in memory.
const MEMORY_PER_ENCODED_BYTE: usize = 4;

/// Longest an export waits in line for room in the memory budget before it is refused.
///
/// Refusing at once is not fair: OTLP/HTTP exporters give up after six tries (the Python
/// SDK's, at `Retry-After` intervals), and one that keeps arriving while others hold the
/// budget loses its batch although the server has room a moment later. In line (tokio's
/// semaphore serves waiters first come, first served) a momentary overload costs latency;
/// only one that lasts is refused. Well inside the exporters' 10 s default timeout.
const ADMISSION_WAIT: Duration = Duration::from_secs(1);

impl Ingest {
    /// Ingest over a running writer, without keys.
    pub fn new(writer: Writer, config: NormalizeConfig) -> Self {
        Ingest {
            writer,
            config: Arc::new(config),
            gate: Gate::open(Default::default()),
            budget: Budget::new(kib(DEFAULT_INFLIGHT_BYTES)),
            redactor: None,
            expiry: None,
        }
    }

    /// Admits only exports whose key `gate` accepts for ingest, at their tenant's rate.
    pub fn with_gate(mut self, gate: Gate) -> Self {
        self.gate = gate;
        self
    }

    /// Caps the memory held by exports in flight (decoded, normalized, waiting for the
    /// writer) at about `bytes`; exports beyond it wait in line for up to
    /// [`ADMISSION_WAIT`], then are refused as retryable.
    pub fn with_memory_budget(mut self, bytes: usize) -> Self {
        self.budget = Budget::new(kib(bytes));
        self
    }

    /// Redacts every span and log record at ingest, before anything reaches the disk.
    pub fn with_redactor(mut self, redactor: Option<Redactor>) -> Self {
        self.redactor = redactor.map(Arc::new);
        self
    }

    /// Refuses, in `partial_success`, items retention would delete at its next pass.
    pub fn with_expiry(mut self, expiry: Option<Expiry>) -> Self {
        self.expiry = expiry;
        self
    }

    /// The caller of an export of `signal`, from its `authorization` header, or the refusal
    /// (counted). Receivers ask this before they read the body.
    pub fn authorize(&self, signal: Signal, authorization: Option<&str>) -> Result<Principal, AuthError> {
        self.gate.authorize(authorization, Scope::Ingest).inspect_err(|e| self.refused(signal, e))
    }

    /// Counts an export of `signal` refused whole, before or during ingest.
    pub fn refused(&self, signal: Signal, err: &impl ServiceError) {
        record_refusal(signal, err.error_code());
    }

    /// Stores an export of the caller's; answers once it is durable.
    pub async fn export<R: Export>(&self, principal: &Principal, request: &R) -> Result<R::Response, IngestError> {
        let report = self.ingest(principal, request).await.inspect_err(|e| self.refused(R::SIGNAL, e))?;
        Ok(R::answer(&report))
    }

    async fn ingest<R: Export>(&self, principal: &Principal, request: &R) -> Result<IngestReport, IngestError> {
        let started = Instant::now();
        let encoded_len = request.encoded_len();
        self.gate.admit(principal, encoded_len as u64, request.item_count())?;
        let _held = self.reserve(R::SIGNAL, encoded_len).await?;
        let mut normalized = request.normalize(&self.config);
        let expired = match &self.expiry {
            Some(expiry) => expiry.split_off(principal.tenant, &mut normalized.items)?,
            None => Expired::default(),
        };
        if let Some(redactor) = &self.redactor {
            normalized.items.iter_mut().for_each(|item| R::redact(redactor, item));
        }
        let report = report_of(&normalized, R::NOUN, expired);
        if !normalized.items.is_empty() {
            self.writer.write(R::batch(principal.tenant, normalized.items)).await?;
        }
        record_export(R::SIGNAL, report.accepted, normalized.rejected, started.elapsed(), self.queue_depth());
        if expired.count > 0 {
            record_expired(R::SIGNAL, expired.count);
        }
        Ok(report)
    }

    /// Reserves memory for one export until the returned permit drops, or refuses it.
    async fn reserve(&self, signal: Signal, encoded_len: usize) -> Result<OwnedSemaphorePermit, IngestError> {
        let want = kib(encoded_len.saturating_mul(MEMORY_PER_ENCODED_BYTE));
        self.budget.reserve(want, ADMISSION_WAIT, || record_admission_wait(signal)).await.ok_or(IngestError::Overloaded)
    }

    fn queue_depth(&self) -> usize {
        self.writer.stats().queued.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A memory budget in KiB, with a short first-come, first-served line for it.
///
/// A waiting export holds its decoded request outside the budget, so the line holds at
/// most one more budget's worth: the worst case is twice the budget, never unbounded.
#[derive(Clone)]
struct Budget {
    permits: Arc<Semaphore>,
    total_kib: usize,
    /// KiB wanted by the exports in line.
    waiting_kib: Arc<AtomicUsize>,
}

impl Budget {
    fn new(total_kib: usize) -> Self {
        let total_kib = total_kib.max(1);
        Budget { permits: Arc::new(Semaphore::new(total_kib)), total_kib, waiting_kib: Arc::new(AtomicUsize::new(0)) }
    }

    /// `want_kib` of the budget until the permit drops: at once when there is room, else
    /// after waiting in line at most `wait` (calling `on_wait` first); `None` when the line
    /// is full or the wait ran out.
    async fn reserve(&self, want_kib: usize, wait: Duration, on_wait: impl FnOnce()) -> Option<OwnedSemaphorePermit> {
        // One export larger than the whole budget is admitted alone rather than never.
        let want_kib = want_kib.clamp(1, self.total_kib);
        let want = u32::try_from(want_kib).unwrap_or(u32::MAX);
        // While anyone waits no permit is free (released permits go to the line first), so
        // this never jumps the line.
        if let Ok(permit) = self.permits.clone().try_acquire_many_owned(want) {
            return Some(permit);
        }
        let _in_line = InLine::join(&self.waiting_kib, want_kib, self.total_kib)?;
        on_wait();
        // An error means the semaphore closed, which it never is.
        tokio::time::timeout(wait, self.permits.clone().acquire_many_owned(want)).await.ok()?.ok()
    }
}

/// A place in the line for the memory budget, given back on drop.
struct InLine<'a> {
    waiting_kib: &'a AtomicUsize,
    kib: usize,
}

impl<'a> InLine<'a> {
    /// Joins the line with `kib`, unless the line would then want more than `max_kib`.
    fn join(waiting_kib: &'a AtomicUsize, kib: usize, max_kib: usize) -> Option<Self> {
        waiting_kib
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_add(kib).filter(|total| *total <= max_kib))
            .ok()?;
        Some(InLine { waiting_kib, kib })
    }
}

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.waiting_kib.fetch_sub(self.kib, Ordering::AcqRel);
    }
}

fn kib(bytes: usize) -> usize {
    bytes.div_ceil(1024).min(Semaphore::MAX_PERMITS)
}

fn report_of<T>(normalized: &Normalized<T>, noun: &str, expired: Expired) -> IngestReport {
    let mut parts = Vec::new();
    if normalized.rejected > 0 {
        parts.push(format!("rejected {} {noun}(s): {}", normalized.rejected, normalized.rejection_reasons.join("; ")));
    }
    if expired.count > 0 {
        let days = expired.max_age.as_secs().div_ceil(86_400);
        let oldest_days = expired.oldest_age.as_secs() / 86_400;
        parts.push(format!(
            "rejected {} {noun}(s) older than this server's {days}-day retention (the oldest started {oldest_days} \
             days ago): the next retention pass would delete them. To keep them, hold their window first \
             (POST /api/v1/holds) or run the server with a longer --retention-days",
            expired.count
        ));
    }
    if normalized.truncated_values > 0 {
        parts.push(format!(
            "{} attribute value(s) over the size or nesting cap were stored truncated, with a marker",
            normalized.truncated_values
        ));
    }
    IngestReport {
        accepted: normalized.items.len() as u64,
        rejected: normalized.rejected + expired.count,
        message: parts.join(". "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehound_proto::trace::v1::{ResourceSpans, ScopeSpans};

    const LONG: Duration = Duration::from_secs(30);

    #[tokio::test]
    async fn an_export_that_fits_the_budget_is_admitted_without_waiting() {
        let budget = Budget::new(10);
        let mut waited = false;
        assert!(budget.reserve(4, LONG, || waited = true).await.is_some());
        assert!(!waited);
    }

    #[tokio::test]
    async fn an_export_beyond_the_budget_waits_for_room_and_is_then_admitted() {
        let budget = Budget::new(10);
        let held = budget.reserve(8, LONG, || ()).await;
        let release = async {
            tokio::task::yield_now().await;
            drop(held);
        };
        let mut waited = false;
        let (admitted, ()) = tokio::join!(budget.reserve(8, LONG, || waited = true), release);
        assert!(admitted.is_some() && waited);
    }

    #[tokio::test]
    async fn an_export_still_without_room_after_the_wait_is_refused() {
        let budget = Budget::new(10);
        let _held = budget.reserve(8, LONG, || ()).await;
        assert!(budget.reserve(8, Duration::from_millis(20), || ()).await.is_none());
    }

    #[tokio::test]
    async fn waiting_exports_are_admitted_first_come_first_served() {
        // 8 KiB waits first, then 2 KiB. Half the budget coming free would fit the second;
        // served in order, it goes to the first, and the second is admitted after it.
        let budget = Budget::new(10);
        let (half, other_half) = (budget.reserve(5, LONG, || ()).await, budget.reserve(5, LONG, || ()).await);
        let order = std::sync::Mutex::new(Vec::new());
        let wait_for = |name: &'static str, kib: usize| {
            let (budget, order) = (&budget, &order);
            async move {
                let permit = budget.reserve(kib, LONG, || ()).await;
                order.lock().unwrap().push(name);
                drop(permit);
            }
        };
        let release = async {
            tokio::task::yield_now().await;
            drop(half);
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
            order.lock().unwrap().push("rest freed");
            drop(other_half);
        };
        tokio::join!(wait_for("8 KiB", 8), wait_for("2 KiB", 2), release);
        assert_eq!(*order.lock().unwrap(), ["rest freed", "8 KiB", "2 KiB"]);
    }

    #[tokio::test]
    async fn the_line_holds_at_most_one_budget_of_waiting_exports() {
        let budget = Budget::new(10);
        let _held = budget.reserve(10, LONG, || ()).await;
        let first = InLine::join(&budget.waiting_kib, 6, budget.total_kib).expect("room in line");
        assert!(
            InLine::join(&budget.waiting_kib, 6, budget.total_kib).is_none(),
            "12 KiB would wait for a 10 KiB budget"
        );
        assert!(budget.reserve(6, LONG, || ()).await.is_none(), "refused at once: the line is full");
        drop(first);
        assert_eq!(budget.waiting_kib.load(Ordering::Acquire), 0);
    }

    #[test]
    fn spans_are_counted_across_resources_and_scopes() {
        let scope = |n| ScopeSpans { spans: vec![Default::default(); n], ..Default::default() };
        let request = ExportTraceServiceRequest {
            resource_spans: vec![
                ResourceSpans { scope_spans: vec![scope(2), scope(3)], ..Default::default() },
                ResourceSpans { scope_spans: vec![scope(1)], ..Default::default() },
            ],
        };
        assert_eq!(request.item_count(), 6);
    }

    #[test]
    fn a_store_failure_keeps_its_cause_and_is_retryable() {
        let err = IngestError::from(StoreError::WriterStopped);
        assert!(std::error::Error::source(&err).is_some(), "the store's error is the source");
        assert!(err.error_code().is_retryable());
        assert_eq!(IngestError::from(StoreError::QueueFull).error_code(), ErrorCode::Overloaded);
    }

    #[test]
    fn an_answer_is_partial_only_when_something_was_refused_or_cut() {
        assert_eq!(ExportTraceServiceRequest::answer(&IngestReport::default()).partial_success, None);
        let report = IngestReport { accepted: 1, rejected: 2, message: "bad ids".into() };
        let partial = ExportLogsServiceRequest::answer(&report).partial_success.expect("partial");
        assert_eq!((partial.rejected_log_records, partial.error_message.as_str()), (2, "bad ids"));
    }
}
