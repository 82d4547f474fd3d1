//! Limits on what one span may carry, checked before anything of it is kept: hostile or
//! broken senders get a clear reason in `partial_success` instead of a store full of junk.

use std::time::{SystemTime, UNIX_EPOCH};

use tracehound_proto::trace::v1::Span as ProtoSpan;

use super::config::NormalizeConfig;

/// Why a span exceeds a limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// Too many attributes.
    #[error("has {count} attributes; the limit is {limit}")]
    Attributes {
        /// Attributes sent.
        count: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Too many events.
    #[error("has {count} events; the limit is {limit}")]
    Events {
        /// Events sent.
        count: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Too many links.
    #[error("has {count} links; the limit is {limit}")]
    Links {
        /// Links sent.
        count: usize,
        /// The configured limit.
        limit: usize,
    },
    /// No start time.
    #[error("has no timestamp (time is 0)")]
    NoStartTime,
    /// A start time too far ahead of this server's clock.
    #[error("start time {start} is more than {skew_secs} s ahead of the server clock")]
    Future {
        /// The start time sent, Unix ns.
        start: u64,
        /// The tolerated clock skew.
        skew_secs: u64,
    },
}

/// Checks one span against the configured limits.
pub fn check_span(span: &ProtoSpan, cfg: &NormalizeConfig, now_unix_nano: u64) -> Result<(), LimitError> {
    if span.attributes.len() > cfg.max_attributes_per_span {
        return Err(LimitError::Attributes { count: span.attributes.len(), limit: cfg.max_attributes_per_span });
    }
    if span.events.len() > cfg.max_events_per_span {
        return Err(LimitError::Events { count: span.events.len(), limit: cfg.max_events_per_span });
    }
    if span.links.len() > cfg.max_links_per_span {
        return Err(LimitError::Links { count: span.links.len(), limit: cfg.max_links_per_span });
    }
    check_time(span.start_time_unix_nano, cfg, now_unix_nano)
}

/// Checks a timestamp: present, and not further ahead than the tolerated clock skew.
pub fn check_time(time_unix_nano: u64, cfg: &NormalizeConfig, now_unix_nano: u64) -> Result<(), LimitError> {
    if time_unix_nano == 0 {
        return Err(LimitError::NoStartTime);
    }
    let skew = cfg.max_future_skew_secs.saturating_mul(1_000_000_000);
    if time_unix_nano > now_unix_nano.saturating_add(skew) {
        return Err(LimitError::Future { start: time_unix_nano, skew_secs: cfg.max_future_skew_secs });
    }
    Ok(())
}

/// The server clock, Unix ns.
pub fn now_unix_nano() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehound_proto::common::v1::KeyValue;
    use tracehound_proto::trace::v1::span::Event;

    const NOW: u64 = 1_800_000_000_000_000_000;

    fn span() -> ProtoSpan {
        ProtoSpan { start_time_unix_nano: NOW, ..Default::default() }
    }

    #[test]
    fn too_many_attributes_are_refused_with_the_counts() {
        let cfg = NormalizeConfig { max_attributes_per_span: 2, ..NormalizeConfig::default() };
        let mut s = span();
        s.attributes = vec![KeyValue::default(); 3];
        assert_eq!(check_span(&s, &cfg, NOW).unwrap_err().to_string(), "has 3 attributes; the limit is 2");
    }

    #[test]
    fn too_many_events_are_refused_with_the_counts() {
        let cfg = NormalizeConfig { max_events_per_span: 1, ..NormalizeConfig::default() };
        let mut s = span();
        s.events = vec![Event::default(); 2];
        assert_eq!(check_span(&s, &cfg, NOW).unwrap_err(), LimitError::Events { count: 2, limit: 1 });
    }

    #[test]
    fn a_zero_start_time_is_refused() {
        let mut s = span();
        s.start_time_unix_nano = 0;
        assert_eq!(check_span(&s, &NormalizeConfig::default(), NOW), Err(LimitError::NoStartTime));
    }

    #[test]
    fn a_start_far_in_the_future_is_refused_and_small_skew_is_not() {
        let cfg = NormalizeConfig::default();
        let mut s = span();
        s.start_time_unix_nano = NOW + 60 * 1_000_000_000;
        assert!(check_span(&s, &cfg, NOW).is_ok());
        s.start_time_unix_nano = NOW + 400 * 86_400 * 1_000_000_000;
        assert!(matches!(check_span(&s, &cfg, NOW), Err(LimitError::Future { .. })));
    }
}
