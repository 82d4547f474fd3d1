//! Quality now, for Prometheus: the trailing window's requests, suspect and failing shares
//! and p95 latency, for all traffic, per service and per version value.
//!
//! Cardinality is bounded: per split, the [`MAX_VALUES`] values with the most requests keep
//! their own row and the rest are added up as `other`. Rows are recomputed at every
//! evaluation and rendered as they are, so a version no longer live leaves no stale series.

use std::collections::HashMap;

use tracehound_store::model::VersionDimension;
use tracehound_store::{Store, TenantId};

use super::marked_requests;
use super::metric::{Share, Split};
use super::series::{quantile, OTHER};
use crate::error::QueryError;
use crate::triage::requests::Request;

/// The trailing window the rows describe.
pub const WINDOW_NANOS: u64 = 15 * 60 * 1_000_000_000;
/// Values per split with a row of their own.
pub const MAX_VALUES: usize = 10;

/// One row: a split's value over the trailing window.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityRow {
    /// `all`, `service`, or a version dimension's name.
    pub by: String,
    /// The value (`""` for all traffic, `other` for the folded values).
    pub value: String,
    /// Requests that started in the window.
    pub requests: u64,
    /// Share failing loudly or silently.
    pub suspect_share: f64,
    /// Share failing loudly.
    pub failing_share: f64,
    /// 95th percentile of request latency, seconds.
    pub latency_p95_seconds: f64,
}

/// The tenant's rows for the window ending at `now`; none without traffic.
pub fn quality_now(store: &Store, tenant: TenantId, now: u64) -> Result<Vec<QualityRow>, QueryError> {
    let (requests, _) = marked_requests(store, tenant, now.saturating_sub(WINDOW_NANOS), now)?;
    Ok(rows(&requests))
}

/// The rows of `requests`: all traffic, then per service, then per version dimension.
pub fn rows(requests: &[Request]) -> Vec<QualityRow> {
    if requests.is_empty() {
        return Vec::new();
    }
    let mut out = vec![row("all", String::new(), requests.iter().collect())];
    let splits = std::iter::once(Split::Service).chain(VersionDimension::ALL.into_iter().map(Split::Version));
    for split in splits {
        let Some(label) = split.label() else { continue };
        let mut groups: HashMap<String, Vec<&Request>> = HashMap::new();
        for request in requests {
            if split == Split::Service || matches!(split, Split::Version(d) if request.versions.contains_key(&d)) {
                for value in split.values(request) {
                    groups.entry(value).or_default().push(request);
                }
            }
        }
        let mut ranked: Vec<(String, Vec<&Request>)> = groups.into_iter().collect();
        ranked.sort_by(|(a, ra), (b, rb)| rb.len().cmp(&ra.len()).then_with(|| a.cmp(b)));
        let mut other: Vec<&Request> = Vec::new();
        for (index, (value, members)) in ranked.into_iter().enumerate() {
            if index < MAX_VALUES {
                out.push(row(label, value, members));
            } else {
                other.extend(members);
            }
        }
        if !other.is_empty() {
            out.push(row(label, OTHER.to_string(), other));
        }
    }
    out
}

fn row(by: &str, value: String, members: Vec<&Request>) -> QualityRow {
    let n = members.len().max(1) as f64;
    let share = |s: Share| members.iter().filter(|r| s.holds(r)).count() as f64 / n;
    let mut latencies: Vec<f64> = members.iter().map(|r| r.latency_ms / 1_000.0).collect();
    QualityRow {
        by: by.to_string(),
        value,
        requests: members.len() as u64,
        suspect_share: share(Share::Suspect),
        failing_share: share(Share::Failing),
        latency_p95_seconds: quantile(&mut latencies, 0.95).unwrap_or(0.0),
    }
}

/// The rows of every tenant in the Prometheus text format, with `# HELP` and `# TYPE` lines.
pub fn render_prometheus(tenants: &[(u32, Vec<QualityRow>)]) -> String {
    type Field = fn(&QualityRow) -> f64;
    let families: [(&str, &str, Field); 4] = [
        ("tracehound_quality_requests", "Requests that started in the last 15 minutes.", |r| r.requests as f64),
        (
            "tracehound_quality_suspect_share",
            "Share of the last 15 minutes' requests failing loudly or silently, as triage marks them.",
            |r| r.suspect_share,
        ),
        (
            "tracehound_quality_failing_share",
            "Share of the last 15 minutes' requests failing loudly (error, tool error, truncation, content filter, refusal, failing score).",
            |r| r.failing_share,
        ),
        (
            "tracehound_quality_latency_p95_seconds",
            "95th percentile of request latency over the last 15 minutes.",
            |r| r.latency_p95_seconds,
        ),
    ];
    let mut text = String::new();
    for (name, help, field) in families {
        text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        for (tenant, rows) in tenants {
            for r in rows {
                text.push_str(&format!(
                    "{name}{{tenant=\"{tenant}\",by=\"{}\",value=\"{}\"}} {}\n",
                    escape(&r.by),
                    escape(&r.value),
                    field(r)
                ));
            }
        }
    }
    text
}

/// A label value as the text format wants it: backslash, quote and newline escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(service: &str, version: &str, suspect: bool) -> Request {
        Request::synthetic(1, service, &[(VersionDimension::PromptVersion, version)], suspect)
    }

    #[test]
    fn values_past_the_bound_are_added_up_as_other() {
        let requests: Vec<Request> = (0..15).map(|i| request("svc", &format!("v{i}"), false)).collect();
        let rows = rows(&requests);
        let prompt: Vec<&QualityRow> = rows.iter().filter(|r| r.by == "prompt_version").collect();
        assert_eq!(prompt.len(), MAX_VALUES + 1);
        let other = prompt.iter().find(|r| r.value == OTHER).unwrap();
        assert_eq!(other.requests, 5);
    }

    #[test]
    fn a_dimension_no_request_carries_has_no_rows() {
        let rows = rows(&[request("svc", "v1", true)]);
        assert!(rows.iter().all(|r| r.by != "index_version"));
        assert_eq!(rows[0].suspect_share, 1.0);
    }

    #[test]
    fn every_family_has_help_and_type_and_label_values_are_escaped() {
        let row = QualityRow {
            by: "service".into(),
            value: "a\"b".into(),
            requests: 3,
            suspect_share: 0.5,
            failing_share: 0.25,
            latency_p95_seconds: 1.5,
        };
        let text = render_prometheus(&[(0, vec![row])]);
        assert_eq!(text.matches("# HELP ").count(), 4);
        assert_eq!(text.matches("# TYPE ").count(), 4);
        assert!(
            text.contains("tracehound_quality_suspect_share{tenant=\"0\",by=\"service\",value=\"a\\\"b\"} 0.5"),
            "{text}"
        );
    }
}
