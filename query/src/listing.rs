//! The request listing: its query parameters, its cursor, and paging through the time index.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use tracehound_store::model::{TraceId, VersionDimension};
use tracehound_store::summary::TraceSummary;
use tracehound_store::{Store, TenantId};
use utoipa::IntoParams;

use crate::error::QueryError;
use crate::params::{non_empty, parse_dimension, parse_limit};
use crate::time_range::parse_time_bound;
use crate::views::{RequestList, RequestStatus, RequestSummary};

/// Rows per page when `limit` is absent.
pub const DEFAULT_LIMIT: usize = 50;
/// Rows per page at most.
pub const MAX_LIMIT: usize = 1000;
/// Index rows read per store call while filtering, so a rare match does not cost one store
/// call per row.
const FILTER_SCAN_CHUNK: usize = 256;

/// The listing's query string, as sent; [`ListQuery::parse`] reads it.
///
/// Every field is text so a bad value is answered with our own error naming the parameter.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Oldest start to list: RFC 3339, or an age like `30m`, `48h`, `7d`, `90s`. Default: all time.
    pub since: Option<String>,
    /// Start before which to list: RFC 3339 or an age. Default: no bound.
    pub until: Option<String>,
    /// Only requests of this service (`service.name` of the root span).
    pub service: Option<String>,
    /// Only requests of this status: `ok`, or `error` (a span failed).
    pub status: Option<String>,
    /// Only requests that carried this version value: `dimension=value`, e.g. `prompt_version=v8`.
    pub version: Option<String>,
    /// Only requests of this user id.
    pub user: Option<String>,
    /// Only requests that took at least this long, in milliseconds.
    #[param(value_type = Option<f64>, minimum = 0)]
    pub min_duration_ms: Option<String>,
    /// Rows per page, 1 to 1000. Default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Where a page ended: the start time and trace id of its last row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Start of the last row, Unix ns.
    pub start_unix_nano: u64,
    /// Trace id of the last row.
    pub trace_id: TraceId,
}

impl Cursor {
    /// The cursor pointing just past a row.
    pub fn after(row: &TraceSummary) -> Self {
        Cursor { start_unix_nano: row.start_unix_nano, trace_id: row.trace_id }
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start_unix_nano, hex::encode(self.trace_id))
    }
}

/// Why a cursor string is not one this API handed out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a cursor returned by this API")]
pub struct BadCursor;

impl FromStr for Cursor {
    type Err = BadCursor;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (start, trace) = text.split_once('-').ok_or(BadCursor)?;
        let start_unix_nano = start.parse().map_err(|_| BadCursor)?;
        let mut trace_id = [0u8; 16];
        hex::decode_to_slice(trace, &mut trace_id).map_err(|_| BadCursor)?;
        Ok(Cursor { start_unix_nano, trace_id })
    }
}

/// A listing request, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Oldest start listed, Unix ns.
    pub since: u64,
    /// Starts at or after this are not listed, Unix ns.
    pub until: u64,
    /// Service to keep, if any.
    pub service: Option<String>,
    /// Status to keep, if any.
    pub status: Option<RequestStatus>,
    /// Version value to keep, if any.
    pub version: Option<(VersionDimension, String)>,
    /// User to keep, if any.
    pub user: Option<String>,
    /// Shortest duration kept, Unix ns.
    pub min_duration_nanos: Option<u64>,
    /// Rows per page.
    pub limit: usize,
    /// Continue after this row.
    pub cursor: Option<Cursor>,
}

impl ListQuery {
    /// Reads the parameters; ages count back from `now` (Unix ns).
    pub fn parse(params: &ListParams, now: u64) -> Result<Self, QueryError> {
        let invalid = |name: &'static str, reason: String| QueryError::InvalidParameter { name, reason };
        let since = match non_empty(&params.since) {
            Some(text) => parse_time_bound(text, now).map_err(|e| invalid("since", e.to_string()))?,
            None => 0,
        };
        let until = match non_empty(&params.until) {
            Some(text) => parse_time_bound(text, now).map_err(|e| invalid("until", e.to_string()))?,
            None => u64::MAX,
        };
        if since >= until {
            return Err(invalid("since", "must be earlier than until".into()));
        }
        let limit = parse_limit(&params.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
        let cursor = match non_empty(&params.cursor) {
            Some(text) => Some(text.parse::<Cursor>().map_err(|e| invalid("cursor", e.to_string()))?),
            None => None,
        };
        let status = match non_empty(&params.status) {
            Some("ok") => Some(RequestStatus::Ok),
            Some("error") => Some(RequestStatus::Error),
            Some(other) => return Err(invalid("status", format!("{other:?} is neither ok nor error"))),
            None => None,
        };
        let version = match non_empty(&params.version) {
            Some(text) => Some(parse_version(text).map_err(|reason| invalid("version", reason))?),
            None => None,
        };
        let min_duration_nanos = match non_empty(&params.min_duration_ms) {
            Some(text) => match text.parse::<f64>() {
                Ok(ms) if ms.is_finite() && ms >= 0.0 => Some((ms * 1e6) as u64),
                _ => return Err(invalid("min_duration_ms", format!("{text:?} is not a number of milliseconds"))),
            },
            None => None,
        };
        let service = non_empty(&params.service).map(str::to_string);
        let user = non_empty(&params.user).map(str::to_string);
        Ok(ListQuery { since, until, service, status, version, user, min_duration_nanos, limit, cursor })
    }

    /// True when a filter is set: the time index is then read in chunks.
    fn filters(&self) -> bool {
        self.service.is_some()
            || self.status.is_some()
            || self.version.is_some()
            || self.user.is_some()
            || self.min_duration_nanos.is_some()
    }

    /// Whether a row passes every filter.
    fn keeps(&self, row: &TraceSummary) -> bool {
        self.service.as_deref().is_none_or(|service| row.service == service)
            && self.status.is_none_or(|status| RequestStatus::of(row) == status)
            && self.version.as_ref().is_none_or(|(dim, value)| row.versions.get(dim).is_some_and(|v| v.contains(value)))
            && self.user.as_deref().is_none_or(|user| row.user_id.as_deref() == Some(user))
            && self.min_duration_nanos.is_none_or(|min| row.end_unix_nano.saturating_sub(row.start_unix_nano) >= min)
    }
}

/// `dimension=value`, the dimension one of [`VersionDimension::ALL`].
fn parse_version(text: &str) -> Result<(VersionDimension, String), String> {
    let Some((name, value)) = text.split_once('=') else {
        let names = VersionDimension::ALL.map(VersionDimension::as_str).join(", ");
        return Err(format!("{text:?} is not dimension=value (dimensions: {names})"));
    };
    let dim = parse_dimension(name)?;
    if value.is_empty() {
        return Err(format!("no value after {name}="));
    }
    Ok((dim, value.to_string()))
}

/// One page of requests, newest first, with the cursor of the next page when there is one.
///
/// With a filter the time index is read on until the page is full or the range is
/// exhausted.
pub fn list_requests(store: &Store, tenant: TenantId, query: &ListQuery) -> Result<RequestList, QueryError> {
    // One row more than the page tells whether another page exists.
    let wanted = query.limit + 1;
    let chunk = if query.filters() { wanted.max(FILTER_SCAN_CHUNK) } else { wanted };
    // A cursor at or past `until` is looser than `until` itself.
    let mut before = query.cursor.filter(|c| c.start_unix_nano < query.until).map(|c| (c.start_unix_nano, c.trace_id));
    let mut rows: Vec<TraceSummary> = Vec::with_capacity(wanted);
    'scan: loop {
        let page = store.recent_traces(tenant, query.since, query.until, before, chunk)?;
        let exhausted = page.len() < chunk;
        before = page.last().map(|last| (last.start_unix_nano, last.trace_id));
        for row in page {
            if query.keeps(&row) {
                rows.push(row);
                if rows.len() == wanted {
                    break 'scan;
                }
            }
        }
        if exhausted {
            break;
        }
    }
    let next_cursor = if rows.len() > query.limit {
        rows.truncate(query.limit);
        rows.last().map(|last| Cursor::after(last).to_string())
    } else {
        None
    };
    Ok(RequestList { requests: rows.iter().map(RequestSummary::from_trace).collect(), next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000_000_000_000;

    fn params(pairs: &[(&str, &str)]) -> ListParams {
        let mut p = ListParams::default();
        for (name, value) in pairs {
            let slot = match *name {
                "since" => &mut p.since,
                "until" => &mut p.until,
                "service" => &mut p.service,
                "status" => &mut p.status,
                "version" => &mut p.version,
                "user" => &mut p.user,
                "min_duration_ms" => &mut p.min_duration_ms,
                "limit" => &mut p.limit,
                "cursor" => &mut p.cursor,
                other => panic!("unknown parameter {other}"),
            };
            *slot = Some(value.to_string());
        }
        p
    }

    fn error_of(pairs: &[(&str, &str)]) -> String {
        ListQuery::parse(&params(pairs), NOW).unwrap_err().to_string()
    }

    #[test]
    fn without_parameters_it_lists_all_time_fifty_at_a_time() {
        let query = ListQuery::parse(&params(&[]), NOW).unwrap();
        assert_eq!((query.since, query.until, query.limit, query.cursor), (0, u64::MAX, 50, None));
    }

    #[test]
    fn a_cursor_reads_back_as_written() {
        let cursor = Cursor { start_unix_nano: 1_234, trace_id: [0xab; 16] };
        assert_eq!(cursor.to_string().parse::<Cursor>(), Ok(cursor));
    }

    #[test]
    fn a_limit_above_the_maximum_names_the_parameter() {
        assert!(error_of(&[("limit", "1001")]).starts_with("invalid limit:"));
    }

    #[test]
    fn a_zero_limit_is_refused() {
        assert!(error_of(&[("limit", "0")]).starts_with("invalid limit:"));
    }

    #[test]
    fn a_forged_cursor_names_the_parameter() {
        assert_eq!(error_of(&[("cursor", "12-nothex")]), "invalid cursor: not a cursor returned by this API");
    }

    #[test]
    fn an_unreadable_since_names_the_parameter() {
        assert!(error_of(&[("since", "last tuesday")]).starts_with("invalid since:"));
    }

    #[test]
    fn a_status_other_than_ok_or_error_names_the_parameter() {
        assert_eq!(error_of(&[("status", "failed")]), "invalid status: \"failed\" is neither ok nor error");
    }

    #[test]
    fn a_minimum_duration_reads_as_nanoseconds() {
        let query = ListQuery::parse(&params(&[("min_duration_ms", "1.5")]), NOW).unwrap();
        assert_eq!(query.min_duration_nanos, Some(1_500_000));
    }

    #[test]
    fn a_negative_minimum_duration_names_the_parameter() {
        assert!(error_of(&[("min_duration_ms", "-3")]).starts_with("invalid min_duration_ms:"));
    }

    #[test]
    fn a_version_filter_reads_dimension_and_value() {
        let query = ListQuery::parse(&params(&[("version", "prompt_version=v8")]), NOW).unwrap();
        assert_eq!(query.version, Some((VersionDimension::PromptVersion, "v8".to_string())));
    }

    #[test]
    fn a_version_filter_with_an_unknown_dimension_names_the_known_ones() {
        let error = error_of(&[("version", "prompt=v8")]);
        assert!(error.starts_with("invalid version: \"prompt\" is not a version dimension"), "{error}");
        assert!(error.contains("prompt_version"), "{error}");
    }

    #[test]
    fn a_version_filter_without_a_value_is_refused() {
        assert_eq!(error_of(&[("version", "prompt_version=")]), "invalid version: no value after prompt_version=");
    }

    #[test]
    fn since_after_until_is_refused() {
        assert_eq!(error_of(&[("since", "1h"), ("until", "2h")]), "invalid since: must be earlier than until");
    }
}
