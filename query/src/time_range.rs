//! Parsing of the `since` / `until` bounds of a listing: an RFC 3339 timestamp, or an age
//! relative to now (`90s`, `30m`, `48h`, `7d`, `2w`).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::timestamp::{parse_rfc3339, TimestampError};

/// Why a `since` / `until` value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeBoundError {
    /// Neither a relative age nor a timestamp.
    #[error("{0:?} is neither an age like 30m, 48h, 7d nor an RFC 3339 timestamp")]
    Unrecognized(String),
    /// Not a duration.
    #[error("{0:?} is not a duration like 90s, 10m, 2h or 7d")]
    NotADuration(String),
    /// An age too large to subtract from now.
    #[error("{0:?} reaches further back than nanoseconds can count")]
    AgeTooLarge(String),
    /// A timestamp that does not hold.
    #[error("{text:?}: {source}")]
    Timestamp {
        /// The value as given.
        text: String,
        /// What was wrong with it.
        source: TimestampError,
    },
}

/// The current time in Unix nanoseconds (0 if the clock is before 1970).
pub fn now_unix_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)).unwrap_or(0)
}

/// Reads one bound as Unix nanoseconds; ages count back from `now` (and stop at 1970).
pub fn parse_time_bound(text: &str, now: u64) -> Result<u64, TimeBoundError> {
    let text = text.trim();
    if let Some(age) = parse_age_nanos(text)? {
        return Ok(now.saturating_sub(age));
    }
    // Only something shaped like a date is worth the timestamp parser's specific complaint.
    if text.len() >= 10 && text.as_bytes().get(4) == Some(&b'-') {
        return parse_rfc3339(text).map_err(|source| TimeBoundError::Timestamp { text: text.to_string(), source });
    }
    Err(TimeBoundError::Unrecognized(text.to_string()))
}

/// Reads a duration like `90s`, `10m`, `2h`, `7d` or `2w` as nanoseconds.
pub fn parse_duration(text: &str) -> Result<u64, TimeBoundError> {
    let text = text.trim();
    parse_age_nanos(text)?.ok_or_else(|| TimeBoundError::NotADuration(text.to_string()))
}

/// `Some(nanoseconds)` for an age like `30m`; `None` when the text is not shaped like one.
fn parse_age_nanos(text: &str) -> Result<Option<u64>, TimeBoundError> {
    let Some(unit) = text.chars().last() else { return Ok(None) };
    let number = &text[..text.len() - unit.len_utf8()];
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let unit_seconds: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return Ok(None),
    };
    let too_large = || TimeBoundError::AgeTooLarge(text.to_string());
    let count: u64 = number.parse().map_err(|_| too_large())?;
    count.checked_mul(unit_seconds).and_then(|s| s.checked_mul(1_000_000_000)).map(Some).ok_or_else(too_large)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000_000_000_000;
    const MINUTE: u64 = 60_000_000_000;

    #[test]
    fn an_age_in_minutes_counts_back_from_now() {
        assert_eq!(parse_time_bound("30m", NOW), Ok(NOW - 30 * MINUTE));
    }

    #[test]
    fn every_age_unit_is_understood() {
        assert_eq!(parse_time_bound("90s", NOW), Ok(NOW - 90_000_000_000));
        assert_eq!(parse_time_bound("48h", NOW), Ok(NOW - 48 * 60 * MINUTE));
        assert_eq!(parse_time_bound("7d", NOW), Ok(NOW - 7 * 24 * 60 * MINUTE));
        assert_eq!(parse_time_bound("2w", NOW), Ok(NOW - 14 * 24 * 60 * MINUTE));
    }

    #[test]
    fn an_age_older_than_1970_stops_at_the_epoch() {
        assert_eq!(parse_time_bound("3000w", NOW), Ok(0));
    }

    #[test]
    fn an_age_beyond_nanosecond_range_is_refused() {
        assert!(matches!(parse_time_bound("99999999999999d", NOW), Err(TimeBoundError::AgeTooLarge(_))));
    }

    #[test]
    fn a_timestamp_is_absolute() {
        assert_eq!(parse_time_bound("1970-01-01T00:01:00Z", NOW), Ok(MINUTE));
    }

    #[test]
    fn a_broken_timestamp_says_what_is_wrong() {
        let err = parse_time_bound("2024-02-30T00:00:00Z", NOW).unwrap_err();
        assert_eq!(err.to_string(), "\"2024-02-30T00:00:00Z\": day is out of range");
    }

    #[test]
    fn anything_else_is_unrecognized() {
        assert!(matches!(parse_time_bound("yesterday", NOW), Err(TimeBoundError::Unrecognized(_))));
        assert!(matches!(parse_time_bound("30", NOW), Err(TimeBoundError::Unrecognized(_))));
        assert!(matches!(parse_time_bound("", NOW), Err(TimeBoundError::Unrecognized(_))));
    }
}
