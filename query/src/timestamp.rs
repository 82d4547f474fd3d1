//! RFC 3339 timestamps to and from Unix nanoseconds, in UTC, with the `time` crate.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

#[cfg(test)]
const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// Why a text is not an RFC 3339 timestamp the store can hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// The text does not follow `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    #[error("expected an RFC 3339 timestamp like 2024-05-01T12:00:00Z")]
    Syntax,
    /// A field is out of its range (month 13, day 31 of April, hour 25, ...).
    #[error("{0} is out of range")]
    OutOfRange(&'static str),
    /// The instant is before 1970 or beyond what Unix nanoseconds in a u64 can hold.
    #[error("the instant is outside 1970-01-01 .. 2554-07-21")]
    Unrepresentable,
}

/// Formats Unix nanoseconds as RFC 3339 in UTC, always with nine fraction digits (so the
/// strings sort as the instants do).
pub fn format_rfc3339(unix_nanos: u64) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_nanos))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// Parses an RFC 3339 timestamp (any offset), or a bare `YYYY-MM-DD` as midnight UTC.
pub fn parse_rfc3339(text: &str) -> Result<u64, TimestampError> {
    let text = text.trim();
    let instant = match OffsetDateTime::parse(text, &Rfc3339) {
        Ok(instant) => instant,
        Err(time::error::Parse::TryFromParsed(e)) => return Err(out_of_range(&e)),
        Err(_) => {
            let date = Date::parse(text, format_description!("[year]-[month]-[day]")).map_err(|e| match e {
                time::error::Parse::TryFromParsed(e) => out_of_range(&e),
                _ => TimestampError::Syntax,
            })?;
            date.midnight().assume_utc()
        }
    };
    u64::try_from(instant.unix_timestamp_nanos()).map_err(|_| TimestampError::Unrepresentable)
}

fn out_of_range(e: &time::error::TryFromParsed) -> TimestampError {
    match e {
        time::error::TryFromParsed::ComponentRange(range) => TimestampError::OutOfRange(range.name()),
        _ => TimestampError::Syntax,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_the_epoch_with_nine_fraction_digits() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000000000Z");
    }

    #[test]
    fn formats_a_leap_day_with_nanoseconds() {
        // 2024-02-29T13:14:15.123456789Z
        assert_eq!(format_rfc3339(1_709_212_455_123_456_789), "2024-02-29T13:14:15.123456789Z");
    }

    #[test]
    fn parses_back_what_it_formats() {
        for ns in [0, 1, 951_782_400_000_000_000, 1_709_212_455_123_456_789, 4_102_444_800_000_000_000] {
            assert_eq!(parse_rfc3339(&format_rfc3339(ns)), Ok(ns));
        }
    }

    #[test]
    fn applies_a_utc_offset() {
        assert_eq!(parse_rfc3339("2024-02-29T15:14:15+02:00"), parse_rfc3339("2024-02-29T13:14:15Z"));
        assert_eq!(parse_rfc3339("2024-02-29T08:44:15-04:30"), parse_rfc3339("2024-02-29T13:14:15Z"));
    }

    #[test]
    fn reads_a_short_fraction_as_a_decimal_fraction_of_a_second() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01.5Z"), Ok(1_500_000_000));
    }

    #[test]
    fn reads_a_bare_date_as_midnight_utc() {
        assert_eq!(parse_rfc3339("1970-01-02"), Ok(86_400 * NANOS_PER_SECOND));
    }

    #[test]
    fn rejects_impossible_dates() {
        assert_eq!(parse_rfc3339("2023-02-29T00:00:00Z"), Err(TimestampError::OutOfRange("day")));
        assert_eq!(parse_rfc3339("2023-13-01T00:00:00Z"), Err(TimestampError::OutOfRange("month")));
    }

    #[test]
    fn rejects_instants_before_1970() {
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), Err(TimestampError::Unrepresentable));
    }

    #[test]
    fn rejects_a_timestamp_without_a_zone() {
        assert_eq!(parse_rfc3339("2024-02-29T13:14:15"), Err(TimestampError::Syntax));
    }
}
