//! The search behind the Tempo-compatible API: the few things Grafana's Tempo data source
//! asks of a trace list (service name, root span name, status, duration, a time range),
//! read from the trace summaries. Tempo's own language, TraceQL, is far larger; a query is
//! served when it is a conjunction over those four, and refused with a message otherwise.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use tracehound_store::model::StatusCode;
use tracehound_store::summary::TraceSummary;
use tracehound_store::{Store, TenantId};

use crate::error::QueryError;

/// Traces a search returns when `limit` is absent (Tempo's default).
pub const DEFAULT_LIMIT: usize = 20;
/// Traces a search returns at most.
pub const MAX_LIMIT: usize = 1000;
/// Summaries read per store call while filtering.
const SCAN_CHUNK: usize = 512;
/// Summaries read at most to list a tag's values.
const VALUES_SCAN: usize = 10_000;

/// The search of `GET /api/search`, as Tempo takes it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TempoSearchParams {
    /// TraceQL, e.g. `{resource.service.name="checkout" && status=error}`.
    pub q: Option<String>,
    /// logfmt tags, e.g. `service.name=checkout name="POST /chat"`.
    pub tags: Option<String>,
    /// Shortest duration, e.g. `100ms`.
    pub min_duration: Option<String>,
    /// Longest duration.
    pub max_duration: Option<String>,
    /// Traces at most.
    pub limit: Option<String>,
    /// Range start, Unix seconds.
    pub start: Option<String>,
    /// Range end, Unix seconds.
    pub end: Option<String>,
}

/// One trace of a search answer (`tempopb.TraceSearchMetadata`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceSearchMetadata {
    /// Trace id, hex.
    #[serde(rename = "traceID")]
    pub trace_id: String,
    /// Service of the root span.
    pub root_service_name: String,
    /// Name of the root span.
    pub root_trace_name: String,
    /// Start, Unix ns, as a string (Tempo's JSON writes 64-bit numbers so).
    pub start_time_unix_nano: String,
    /// Duration in milliseconds.
    pub duration_ms: u64,
}

/// The answer of `GET /api/search`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TempoSearchAnswer {
    /// Matching traces, newest first.
    pub traces: Vec<TraceSearchMetadata>,
    /// Tempo's search metrics; only the count of traces inspected is known here.
    pub metrics: SearchMetrics,
}

/// Tempo's `SearchMetrics`, as far as it applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchMetrics {
    /// Traces read.
    pub inspected_traces: u64,
}

/// The conditions a trace must meet.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conditions {
    service: Option<(bool, String)>,
    name: Option<(bool, String)>,
    status: Option<(bool, StatusCode)>,
    min_nanos: Option<u64>,
    max_nanos: Option<u64>,
}

impl Conditions {
    fn keeps(&self, t: &TraceSummary) -> bool {
        let text = |c: &Option<(bool, String)>, v: &str| c.as_ref().is_none_or(|(eq, want)| (v == want) == *eq);
        // A summary knows whether a span failed, not whether the others said ok or nothing:
        // `ok` and `unset` both mean no span failed.
        let failed = t.error_count > 0;
        let duration = t.end_unix_nano.saturating_sub(t.start_unix_nano);
        text(&self.service, &t.service)
            && text(&self.name, &t.root_name)
            && self.status.is_none_or(|(eq, want)| (failed == (want == StatusCode::Error)) == eq)
            && self.min_nanos.is_none_or(|m| duration >= m)
            && self.max_nanos.is_none_or(|m| duration <= m)
    }
}

/// Runs a search, newest first.
pub fn search(store: &Store, tenant: TenantId, params: &TempoSearchParams) -> Result<TempoSearchAnswer, QueryError> {
    let invalid = |name: &'static str, reason: String| QueryError::InvalidParameter { name, reason };
    let mut conditions = Conditions::default();
    if let Some(q) = params.q.as_deref().filter(|q| !q.trim().is_empty()) {
        traceql(q, &mut conditions).map_err(|e| invalid("q", e))?;
    }
    if let Some(tags) = params.tags.as_deref() {
        logfmt(tags, &mut conditions).map_err(|e| invalid("tags", e))?;
    }
    if let Some(d) = params.min_duration.as_deref().filter(|d| !d.is_empty()) {
        conditions.min_nanos = Some(duration(d).map_err(|e| invalid("minDuration", e))?);
    }
    if let Some(d) = params.max_duration.as_deref().filter(|d| !d.is_empty()) {
        conditions.max_nanos = Some(duration(d).map_err(|e| invalid("maxDuration", e))?);
    }
    let limit = match params.limit.as_deref().filter(|l| !l.is_empty()) {
        Some(text) => text.parse::<usize>().map_err(|_| invalid("limit", format!("{text:?} is not a number")))?,
        None => DEFAULT_LIMIT,
    }
    .clamp(1, MAX_LIMIT);
    let seconds = |name: &'static str, text: &Option<String>| -> Result<Option<u64>, QueryError> {
        match text.as_deref().filter(|t| !t.is_empty()) {
            Some(t) => t
                .parse::<u64>()
                .map(|s| Some(s.saturating_mul(1_000_000_000)))
                .map_err(|_| invalid(name, format!("{t:?} is not Unix seconds"))),
            None => Ok(None),
        }
    };
    let since = seconds("start", &params.start)?.unwrap_or(0);
    // Tempo's end is inclusive to the second.
    let until = seconds("end", &params.end)?.map_or(u64::MAX, |e| e.saturating_add(1_000_000_000));
    let mut before = None;
    let mut traces = Vec::new();
    let mut inspected = 0u64;
    loop {
        let page = store.recent_traces(tenant, since, until, before, SCAN_CHUNK)?;
        let exhausted = page.len() < SCAN_CHUNK;
        before = page.last().map(|t| (t.start_unix_nano, t.trace_id));
        for t in page {
            inspected += 1;
            if conditions.keeps(&t) {
                traces.push(metadata(&t));
                if traces.len() == limit {
                    return Ok(TempoSearchAnswer { traces, metrics: SearchMetrics { inspected_traces: inspected } });
                }
            }
        }
        if exhausted {
            return Ok(TempoSearchAnswer { traces, metrics: SearchMetrics { inspected_traces: inspected } });
        }
    }
}

fn metadata(t: &TraceSummary) -> TraceSearchMetadata {
    TraceSearchMetadata {
        trace_id: hex::encode(t.trace_id),
        root_service_name: t.service.clone(),
        root_trace_name: t.root_name.clone(),
        start_time_unix_nano: t.start_unix_nano.to_string(),
        duration_ms: t.end_unix_nano.saturating_sub(t.start_unix_nano) / 1_000_000,
    }
}

/// The tags a search filters on, by Tempo's scopes: (scope, tag).
pub const TAGS: &[(&str, &str)] = &[("resource", "service.name"), ("intrinsic", "name"), ("intrinsic", "status")];

/// The values a tag took in the newest stored traces.
pub fn tag_values(store: &Store, tenant: TenantId, tag: &str) -> Result<Vec<String>, QueryError> {
    let tag = tag.strip_prefix("resource.").or_else(|| tag.strip_prefix('.')).unwrap_or(tag);
    match tag {
        "status" => Ok(vec!["error".into(), "ok".into(), "unset".into()]),
        "service.name" | "name" => {
            let mut values = BTreeSet::new();
            for t in store.recent_traces(tenant, 0, u64::MAX, None, VALUES_SCAN)? {
                values.insert(if tag == "name" { t.root_name } else { t.service });
            }
            values.remove("");
            Ok(values.into_iter().collect())
        }
        _ => Ok(Vec::new()),
    }
}

/// Reads a TraceQL conjunction: `{ a = "b" && c != d && duration > 1s }`.
fn traceql(q: &str, into: &mut Conditions) -> Result<(), String> {
    let inner = q.trim().strip_prefix('{').and_then(|s| s.strip_suffix('}')).ok_or_else(|| {
        format!("{q:?} is not a TraceQL spanset ({{ … }}); served: conjunctions (&&) over service.name, name, status and duration")
    })?;
    if inner.contains('|') {
        return Err("only conjunctions (&&) are served, not || or pipelines".into());
    }
    for part in inner.split("&&").map(str::trim).filter(|p| !p.is_empty()) {
        let (lhs, op, rhs) = split_condition(part).ok_or_else(|| format!("cannot read the condition {part:?}"))?;
        condition(lhs, op, rhs.trim_matches('"'), into)?;
    }
    Ok(())
}

/// Reads logfmt tags: `service.name=checkout name="POST /chat" status=error`.
fn logfmt(tags: &str, into: &mut Conditions) -> Result<(), String> {
    let mut rest = tags.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=').ok_or_else(|| format!("{rest:?} is not key=value"))?;
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"').ok_or("an unclosed quote")?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => after.split_once(' ').unwrap_or((after, "")),
        };
        condition(key.trim(), "=", value, into)?;
        rest = next.trim();
    }
    Ok(())
}

fn split_condition(part: &str) -> Option<(&str, &str, &str)> {
    for op in ["!=", ">=", "<=", "=", ">", "<"] {
        if let Some((lhs, rhs)) = part.split_once(op) {
            return Some((lhs.trim(), op, rhs.trim()));
        }
    }
    None
}

fn condition(lhs: &str, op: &str, rhs: &str, into: &mut Conditions) -> Result<(), String> {
    let eq = match op {
        "=" => true,
        "!=" => false,
        _ => {
            if !matches!(lhs, "duration" | "traceDuration") {
                return Err(format!("{op} is served for duration only"));
            }
            let nanos = duration(rhs)?;
            match op {
                ">" | ">=" => into.min_nanos = Some(nanos),
                _ => into.max_nanos = Some(nanos),
            }
            return Ok(());
        }
    };
    match lhs {
        "resource.service.name" | ".service.name" | "service.name" | "rootServiceName" => {
            into.service = Some((eq, rhs.to_string()))
        }
        "name" | "rootName" | "span.name" => into.name = Some((eq, rhs.to_string())),
        "status" => {
            let status = match rhs {
                "error" => StatusCode::Error,
                "ok" => StatusCode::Ok,
                "unset" => StatusCode::Unset,
                other => return Err(format!("status {other:?} is none of error, ok, unset")),
            };
            into.status = Some((eq, status));
        }
        other => return Err(format!("{other:?} is not served; served: service.name, name, status, duration")),
    }
    Ok(())
}

/// A Go-style duration: `1.5s`, `250ms`, `2m`, `100us`, `1h`. Not `time_range`'s ages,
/// which are whole seconds and up (`30m`, `7d`): Grafana sends fractions and milliseconds.
fn duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("{text:?} is not a duration like 250ms"))?;
    let nanos_per = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" | "" => 1e9,
        "m" => 60e9,
        "h" => 3600e9,
        other => return Err(format!("unknown duration unit {other:?}")),
    };
    Ok((number * nanos_per) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(q: &str) -> Result<Conditions, String> {
        let mut c = Conditions::default();
        traceql(q, &mut c).map(|()| c)
    }

    #[test]
    fn a_conjunction_over_the_served_attributes_reads() {
        let c = read(r#"{resource.service.name="checkout" && status=error && duration>1.5s}"#).unwrap();
        assert_eq!(c.service, Some((true, "checkout".into())));
        assert_eq!(c.status, Some((true, StatusCode::Error)));
        assert_eq!(c.min_nanos, Some(1_500_000_000));
    }

    #[test]
    fn an_empty_spanset_matches_everything() {
        assert_eq!(read("{}").unwrap(), Conditions::default());
    }

    #[test]
    fn an_attribute_not_served_is_refused_naming_what_is() {
        let error = read(r#"{span.http.method="GET"}"#).unwrap_err();
        assert!(error.contains("served: service.name, name, status, duration"), "{error}");
    }

    #[test]
    fn a_disjunction_is_refused() {
        assert!(read(r#"{name="a" || name="b"}"#).is_err());
    }

    #[test]
    fn logfmt_tags_read_quoted_values() {
        let mut c = Conditions::default();
        logfmt(r#"service.name=support-agent name="POST /chat""#, &mut c).unwrap();
        assert_eq!((c.service, c.name), (Some((true, "support-agent".into())), Some((true, "POST /chat".into()))));
    }
}
