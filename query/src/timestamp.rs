//! RFC 3339 timestamps to and from Unix nanoseconds, in UTC.
//!
//! The calendar arithmetic is Howard Hinnant's `days_from_civil` / `civil_from_days`
//! (proleptic Gregorian), small enough to keep here rather than pull in a date crate for
//! two conversions.

const NANOS_PER_SECOND: u64 = 1_000_000_000;
const SECONDS_PER_DAY: u64 = 86_400;

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

/// Formats Unix nanoseconds as RFC 3339 in UTC, always with nine fraction digits.
pub fn format_rfc3339(unix_nanos: u64) -> String {
    let seconds = unix_nanos / NANOS_PER_SECOND;
    let nanos = unix_nanos % NANOS_PER_SECOND;
    let days = seconds / SECONDS_PER_DAY;
    let in_day = seconds % SECONDS_PER_DAY;
    // u64 nanoseconds end in year 2554, so the day count always fits an i64.
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
}

/// Parses an RFC 3339 timestamp (or a bare `YYYY-MM-DD`, read as midnight UTC) into Unix nanoseconds.
pub fn parse_rfc3339(text: &str) -> Result<u64, TimestampError> {
    let mut cursor = Cursor { rest: text.as_bytes() };
    let year = cursor.digits(4)?;
    cursor.expect(b'-')?;
    let month = cursor.digits(2)?;
    cursor.expect(b'-')?;
    let day = cursor.digits(2)?;
    if !(1..=12).contains(&month) {
        return Err(TimestampError::OutOfRange("month"));
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(TimestampError::OutOfRange("day"));
    }
    let days = days_from_civil(i64::from(year), month, day);
    if cursor.rest.is_empty() {
        return to_unix_nanos(days, 0, 0);
    }
    if !matches!(cursor.next(), Some(b'T' | b't' | b' ')) {
        return Err(TimestampError::Syntax);
    }
    let hour = cursor.digits(2)?;
    cursor.expect(b':')?;
    let minute = cursor.digits(2)?;
    cursor.expect(b':')?;
    let second = cursor.digits(2)?;
    // 60 is a leap second, which RFC 3339 allows; it simply rolls into the next minute.
    if hour > 23 || minute > 59 || second > 60 {
        return Err(TimestampError::OutOfRange("time of day"));
    }
    let fraction = cursor.fraction()?;
    let offset_seconds = cursor.offset()?;
    if !cursor.rest.is_empty() {
        return Err(TimestampError::Syntax);
    }
    let local_seconds = i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    to_unix_nanos(days, local_seconds - offset_seconds, fraction)
}

fn to_unix_nanos(days: i64, seconds_in_day: i64, fraction_nanos: u64) -> Result<u64, TimestampError> {
    let seconds = days
        .checked_mul(SECONDS_PER_DAY as i64)
        .and_then(|s| s.checked_add(seconds_in_day))
        .ok_or(TimestampError::Unrepresentable)?;
    let seconds = u64::try_from(seconds).map_err(|_| TimestampError::Unrepresentable)?;
    seconds
        .checked_mul(NANOS_PER_SECOND)
        .and_then(|n| n.checked_add(fraction_nanos))
        .ok_or(TimestampError::Unrepresentable)
}

struct Cursor<'a> {
    rest: &'a [u8],
}

impl Cursor<'_> {
    fn next(&mut self) -> Option<u8> {
        let (&first, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(first)
    }

    fn expect(&mut self, byte: u8) -> Result<(), TimestampError> {
        match self.next() {
            Some(b) if b == byte => Ok(()),
            _ => Err(TimestampError::Syntax),
        }
    }

    fn digits(&mut self, count: usize) -> Result<u32, TimestampError> {
        let mut value = 0u32;
        for _ in 0..count {
            match self.next() {
                Some(b) if b.is_ascii_digit() => value = value * 10 + u32::from(b - b'0'),
                _ => return Err(TimestampError::Syntax),
            }
        }
        Ok(value)
    }

    /// An optional `.ddd...` fraction as nanoseconds; digits past the ninth are dropped.
    fn fraction(&mut self) -> Result<u64, TimestampError> {
        if self.rest.first() != Some(&b'.') {
            return Ok(0);
        }
        self.next();
        let mut nanos = 0u64;
        let mut seen = 0usize;
        while let Some(&b) = self.rest.first().filter(|b| b.is_ascii_digit()) {
            self.next();
            if seen < 9 {
                nanos = nanos * 10 + u64::from(b - b'0');
            }
            seen += 1;
        }
        if seen == 0 {
            return Err(TimestampError::Syntax);
        }
        for _ in seen..9 {
            nanos *= 10;
        }
        Ok(nanos)
    }

    /// `Z` or `±HH:MM`, as seconds east of UTC.
    fn offset(&mut self) -> Result<i64, TimestampError> {
        let sign = match self.next() {
            Some(b'Z' | b'z') => return Ok(0),
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Err(TimestampError::Syntax),
        };
        let hours = self.digits(2)?;
        self.expect(b':')?;
        let minutes = self.digits(2)?;
        if hours > 23 || minutes > 59 {
            return Err(TimestampError::OutOfRange("offset"));
        }
        Ok(sign * (i64::from(hours) * 3600 + i64::from(minutes) * 60))
    }
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let shifted_month = i64::from((month + 9) % 12);
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
