//! Per-tenant ingest rate limits: one token bucket for bytes and one for spans per tenant.
//!
//! Hand-written rather than `governor`: an export's cost varies from one span to many
//! thousands, and a bucket that refuses any cost above its burst would refuse a large export
//! forever. Here an export is admitted whenever the bucket is not in debt, and its whole
//! cost is then taken, possibly into debt; the next export waits until the debt is repaid.
//! Over any long window a tenant gets its rate, and no single export is refused for its size.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracehound_store::TenantId;

/// Limits applied to one tenant: `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Bytes per second.
    pub bytes_per_sec: Option<u64>,
    /// Spans (or log records) per second.
    pub spans_per_sec: Option<u64>,
}

/// An export refused for its tenant's rate; retry after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("tenant ingest rate limit exceeded ({what} per second); retry in {} s", retry_after.as_secs())]
pub struct RateLimited {
    /// Which limit: `bytes` or `spans`.
    pub what: &'static str,
    /// When the tenant's budget is back above zero (whole seconds, at least one).
    pub retry_after: Duration,
}

impl tracehound_error::ServiceError for RateLimited {
    fn error_code(&self) -> tracehound_error::ErrorCode {
        tracehound_error::ErrorCode::RateLimited
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refill(&mut self, rate: f64, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        // One second of rate is the burst a quiet tenant can save up.
        self.tokens = (self.tokens + elapsed * rate).min(rate);
        self.at = now;
    }

    fn wait(&self, rate: f64) -> Option<Duration> {
        (self.tokens < 0.0).then(|| Duration::from_secs(((-self.tokens) / rate).ceil().max(1.0) as u64))
    }
}

#[derive(Debug, Default)]
struct TenantBuckets {
    bytes: Option<Bucket>,
    spans: Option<Bucket>,
}

/// The buckets of every tenant. Cheap to clone; clones share buckets.
#[derive(Debug, Clone, Default)]
pub struct RateLimiter {
    tenants: Arc<Mutex<HashMap<TenantId, TenantBuckets>>>,
}

impl RateLimiter {
    /// Admits an export of `bytes` and `spans` for `tenant` under `limits`, or says when to retry.
    pub fn admit(&self, tenant: TenantId, limits: Limits, bytes: u64, spans: u64) -> Result<(), RateLimited> {
        self.admit_at(tenant, limits, bytes, spans, Instant::now())
    }

    fn admit_at(
        &self,
        tenant: TenantId,
        limits: Limits,
        bytes: u64,
        spans: u64,
        now: Instant,
    ) -> Result<(), RateLimited> {
        if limits.bytes_per_sec.is_none() && limits.spans_per_sec.is_none() {
            return Ok(());
        }
        // A poisoned lock only means another export panicked mid-update; the counts are still usable.
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        let buckets = tenants.entry(tenant).or_default();
        let checks = [
            (&mut buckets.bytes, limits.bytes_per_sec, bytes, "bytes"),
            (&mut buckets.spans, limits.spans_per_sec, spans, "spans"),
        ];
        let mut active = Vec::with_capacity(2);
        for (slot, rate, cost, what) in checks {
            let Some(rate) = rate.filter(|r| *r > 0) else { continue };
            let rate = rate as f64;
            let bucket = slot.get_or_insert(Bucket { tokens: rate, at: now });
            bucket.refill(rate, now);
            if let Some(retry_after) = bucket.wait(rate) {
                return Err(RateLimited { what, retry_after });
            }
            active.push((bucket, cost));
        }
        for (bucket, cost) in active {
            bucket.tokens -= cost as f64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: TenantId = TenantId(1);

    fn spans(n: u64) -> Limits {
        Limits { bytes_per_sec: None, spans_per_sec: Some(n) }
    }

    #[test]
    fn no_limits_admit_everything() {
        let limiter = RateLimiter::default();
        for _ in 0..100 {
            assert!(limiter.admit(T, Limits::default(), 1 << 30, 1 << 20).is_ok());
        }
    }

    #[test]
    fn an_export_larger_than_the_rate_is_admitted_once_then_the_tenant_waits() {
        let limiter = RateLimiter::default();
        let now = Instant::now();
        assert!(limiter.admit_at(T, spans(10), 0, 30, now).is_ok());
        let refused = limiter.admit_at(T, spans(10), 0, 1, now).unwrap_err();
        assert_eq!(refused.what, "spans");
        assert_eq!(refused.retry_after, Duration::from_secs(2));
    }

    #[test]
    fn the_debt_is_repaid_at_the_rate() {
        let limiter = RateLimiter::default();
        let now = Instant::now();
        assert!(limiter.admit_at(T, spans(10), 0, 30, now).is_ok());
        assert!(limiter.admit_at(T, spans(10), 0, 1, now + Duration::from_millis(1_900)).is_err());
        assert!(limiter.admit_at(T, spans(10), 0, 1, now + Duration::from_millis(2_100)).is_ok());
    }

    #[test]
    fn tenants_have_separate_budgets() {
        let limiter = RateLimiter::default();
        let now = Instant::now();
        assert!(limiter.admit_at(T, spans(10), 0, 30, now).is_ok());
        assert!(limiter.admit_at(TenantId(2), spans(10), 0, 1, now).is_ok());
    }

    #[test]
    fn the_byte_limit_applies_on_its_own() {
        let limiter = RateLimiter::default();
        let now = Instant::now();
        let bytes = Limits { bytes_per_sec: Some(1_000), spans_per_sec: None };
        assert!(limiter.admit_at(T, bytes, 5_000, 1, now).is_ok());
        assert_eq!(limiter.admit_at(T, bytes, 1, 1, now).unwrap_err().what, "bytes");
    }
}
