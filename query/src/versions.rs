//! What was live and what changed: every value of every version dimension seen in a
//! window, with its request count, failing share and each score name's mean, and the
//! values first seen inside the window that really changed something.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use statrs::distribution::{Discrete, Hypergeometric};
use tracehound_store::model::VersionDimension;
use tracehound_store::summary::VersionStat;
use tracehound_store::{Store, TenantId};
use utoipa::{IntoParams, ToSchema};

use crate::assess::{scan_window, Assessed, Criteria};
use crate::error::QueryError;
use crate::failing::{Window, WindowView};
use crate::timestamp::format_rfc3339;

/// Query string of `GET /api/v1/versions`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionsParams {
    /// Oldest start: RFC 3339 or an age. Default: 48 hours ago.
    pub since: Option<String>,
    /// Start before which: RFC 3339 or an age. Default: now.
    pub until: Option<String>,
}

/// One value of one dimension in the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VersionValue {
    /// The value, exact.
    pub value: String,
    /// First request in the window carrying it, RFC 3339.
    pub first_seen: String,
    /// Last request in the window carrying it, RFC 3339.
    pub last_seen: String,
    /// First time the store ever saw it, RFC 3339.
    pub first_seen_ever: Option<String>,
    /// Requests in the window carrying it.
    pub request_count: u64,
    /// Of those, failing.
    pub failing_count: u64,
    /// `failing_count / request_count`.
    pub failing_share: f64,
    /// Per score name, the mean of the values judging those requests (session scores left
    /// out): names are never averaged together, a correctness and a latency score mean
    /// nothing as one number.
    pub scores: BTreeMap<String, ScoreMean>,
    /// Mean cost per request in US dollars, over the requests whose models have a price.
    #[serde(default)]
    pub mean_cost_usd: Option<f64>,
    /// Requests that mean is over.
    #[serde(default)]
    pub priced_requests: u64,
}

/// The mean of one score name's values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScoreMean {
    /// Their mean.
    pub mean: f64,
    /// Values averaged.
    pub count: u64,
}

/// Every value of one dimension seen in the window, most requests first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DimensionVersions {
    /// Dimension name (`prompt_version`, `request_model`, ...).
    pub dimension: String,
    /// True when nearly every request carries a value of its own (a fingerprint of text
    /// that embeds per-request context, say): such values are not versions, and their
    /// first sightings are left out of `changes`.
    pub per_request: bool,
    /// Its values.
    pub values: Vec<VersionValue>,
}

/// A dimension varies per request when it has more than this many values and more than
/// one value for every two requests.
const PER_REQUEST_MIN_VALUES: usize = 3;

/// Whether `values` distinct values over `requests` requests vary per request.
fn varies_per_request(values: usize, requests: u64) -> bool {
    values > PER_REQUEST_MIN_VALUES && values as u64 * 2 > requests
}

/// The names of the dimensions that vary per request.
pub fn per_request_dimensions(dimensions: &[DimensionVersions]) -> Vec<String> {
    dimensions.iter().filter(|d| d.per_request).map(|d| d.dimension.clone()).collect()
}

/// A value first seen inside a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VersionChange {
    /// Dimension name.
    pub dimension: String,
    /// The new value.
    pub value: String,
    /// When the store first saw it, RFC 3339.
    pub first_seen: String,
    /// The same, Unix nanoseconds.
    pub first_seen_unix_nano: u64,
    /// Why it counts as a change and not a value that was live all along.
    pub evidence: ChangeEvidence,
}

/// The test that decided a change: the requests carrying its dimension just before its
/// first sighting, none of which carried it, and those from its first sighting on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChangeEvidence {
    /// Requests carrying the dimension before the first sighting (at most 200 read).
    pub requests_before: u64,
    /// Requests carrying the dimension from the first sighting on (at most 200 read).
    pub requests_after: u64,
    /// Of those, carrying the value.
    pub carrying_after: u64,
    /// The chance that none of the value's carriers falls before, had it been live all
    /// along (one-sided hypergeometric); compared with 5 % over the number of candidates.
    pub p_value: f64,
}

/// The answer of `GET /api/v1/versions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VersionsAnswer {
    /// The window.
    pub window: WindowView,
    /// Requests judged.
    pub requests: usize,
    /// Every dimension with values in the window.
    pub dimensions: Vec<DimensionVersions>,
    /// Values first seen inside the window, oldest first.
    pub changes: Vec<VersionChange>,
    /// True when the window held more requests than one scan reads.
    pub truncated: bool,
}

#[derive(Default)]
struct Tally {
    first: u64,
    last: u64,
    requests: u64,
    failing: u64,
    /// Per score name: sum and count of its values.
    scores: BTreeMap<String, (f64, u64)>,
    cost_sum: f64,
    priced: u64,
}

/// Per dimension and value: the window's requests folded in.
pub fn version_values(
    store: &Store,
    tenant: TenantId,
    assessed: &[Assessed],
) -> Result<Vec<DimensionVersions>, QueryError> {
    let mut tallies: BTreeMap<(VersionDimension, String), Tally> = BTreeMap::new();
    for a in assessed {
        for (dim, values) in &a.summary.versions {
            for value in values {
                let t = tallies
                    .entry((*dim, value.clone()))
                    .or_insert_with(|| Tally { first: u64::MAX, ..Tally::default() });
                t.first = t.first.min(a.summary.start_unix_nano);
                t.last = t.last.max(a.summary.start_unix_nano);
                t.requests += 1;
                t.failing += u64::from(a.failing());
                if let Some(cost) = crate::cost::prices().cost(&a.summary.usage_by_model) {
                    t.cost_sum += cost;
                    t.priced += 1;
                }
                for (name, v) in a.own_scores() {
                    let (sum, count) = t.scores.entry(name.to_string()).or_default();
                    *sum += v;
                    *count += 1;
                }
            }
        }
    }
    let ever: BTreeMap<(VersionDimension, String), u64> =
        store.version_stats(tenant)?.into_iter().map(|(d, s)| ((d, s.value), s.first_seen)).collect();
    let mut out: Vec<DimensionVersions> = Vec::new();
    for dim in VersionDimension::ALL {
        let mut values: Vec<VersionValue> = tallies
            .iter()
            .filter(|((d, _), _)| *d == dim)
            .map(|((d, value), t)| VersionValue {
                value: value.clone(),
                first_seen: format_rfc3339(t.first),
                last_seen: format_rfc3339(t.last),
                first_seen_ever: ever.get(&(*d, value.clone())).map(|ns| format_rfc3339(*ns)),
                request_count: t.requests,
                failing_count: t.failing,
                failing_share: share(t.failing, t.requests),
                scores: t
                    .scores
                    .iter()
                    .map(|(name, (sum, count))| (name.clone(), ScoreMean { mean: sum / *count as f64, count: *count }))
                    .collect(),
                mean_cost_usd: (t.priced > 0).then(|| t.cost_sum / t.priced as f64),
                priced_requests: t.priced,
            })
            .collect();
        if values.is_empty() {
            continue;
        }
        values.sort_by(|a, b| b.request_count.cmp(&a.request_count).then(a.value.cmp(&b.value)));
        let per_request = varies_per_request(values.len(), assessed.len() as u64);
        out.push(DimensionVersions { dimension: dim.as_str().to_string(), per_request, values });
    }
    Ok(out)
}

/// Requests carrying a candidate's dimension read on each side of its first sighting.
const CHANGE_EVIDENCE: usize = 200;
/// Traces read on each side to find them: many requests carry no value of a dimension.
const CHANGE_SCAN: usize = 4 * CHANGE_EVIDENCE;
/// The family-wise error rate over every candidate of one call.
const CHANGE_ALPHA: f64 = 0.05;

/// Values the store first saw in `[from, to)` that really changed something, oldest first.
///
/// Every value is "first seen" when the store begins, and a value that shares traffic with
/// another (two models, a rarely called tool) is first seen a little after it by chance:
/// neither is a change. A value is a candidate when another value of its dimension (of its
/// tool, for a tool schema) was seen before it. The decision is a one-sided exact test on
/// the requests carrying the dimension around the candidate's first sighting: if the value
/// had been live all along, its carriers would be spread at random among them, and the
/// chance that none of them falls among the `before` requests is hypergeometric. It counts
/// when that chance is at most 5 % divided by the number of candidates (Bonferroni).
/// Dimensions that vary per request, in what is stored or in `skip`, are neither candidates
/// nor counted.
pub fn changes_between(
    store: &Store,
    tenant: TenantId,
    from: u64,
    to: u64,
    skip: &[String],
) -> Result<Vec<VersionChange>, QueryError> {
    let stats = store.version_stats(tenant)?;
    let mut earliest: BTreeMap<(VersionDimension, String), u64> = BTreeMap::new();
    for (dim, s) in &stats {
        let e = earliest.entry(scope(*dim, &s.value)).or_insert(u64::MAX);
        *e = (*e).min(s.first_seen);
    }
    // Judged on everything stored as well as on the caller's window: three requests of an
    // incident cannot show that a fingerprint varies per request, and each of its values
    // would count as a candidate and dilute the correction.
    let mut spread: BTreeMap<VersionDimension, (usize, u64)> = BTreeMap::new();
    for (dim, s) in &stats {
        let (values, traces) = spread.entry(*dim).or_default();
        *values += 1;
        *traces += s.trace_count;
    }
    let per_request =
        |dim: &VersionDimension| spread.get(dim).is_some_and(|(values, traces)| varies_per_request(*values, *traces));
    let candidates: Vec<(VersionDimension, VersionStat)> = stats
        .into_iter()
        .filter(|(d, _)| !per_request(d) && !skip.iter().any(|name| name == d.as_str()))
        .filter(|(_, s)| s.first_seen >= from && s.first_seen < to)
        .filter(|(d, s)| earliest.get(&scope(*d, &s.value)).is_some_and(|e| *e < s.first_seen))
        .collect();
    let threshold = CHANGE_ALPHA / candidates.len().max(1) as f64;
    let mut out = Vec::new();
    for (dim, stat) in candidates {
        let evidence = change_evidence(store, tenant, dim, &stat)?;
        if evidence.p_value <= threshold {
            out.push(VersionChange {
                dimension: dim.as_str().to_string(),
                value: stat.value,
                first_seen: format_rfc3339(stat.first_seen),
                first_seen_unix_nano: stat.first_seen,
                evidence,
            });
        }
    }
    out.sort_by(|a, b| a.first_seen_unix_nano.cmp(&b.first_seen_unix_nano).then(a.dimension.cmp(&b.dimension)));
    Ok(out)
}

/// What a value is compared within: its dimension, and its tool for a tool schema.
fn scope(dim: VersionDimension, value: &str) -> (VersionDimension, String) {
    match dim {
        VersionDimension::ToolSchemaVersion => (dim, tool_of(value).to_string()),
        _ => (dim, String::new()),
    }
}

/// The tool a schema version belongs to: what comes before `@`.
fn tool_of(value: &str) -> &str {
    value.split_once('@').map_or("", |(tool, _)| tool)
}

/// The requests around a value's first sighting, and the test on them.
fn change_evidence(
    store: &Store,
    tenant: TenantId,
    dim: VersionDimension,
    stat: &VersionStat,
) -> Result<ChangeEvidence, QueryError> {
    // The trace of the first sighting may have begun before the span that carried it, so
    // it can be in either half: the halves are split again at the first carrier below.
    let mut traces = store.recent_traces(tenant, 0, stat.first_seen.saturating_add(1), None, CHANGE_SCAN)?;
    traces.reverse();
    let after = store.trace_ids_between(tenant, stat.first_seen.saturating_add(1), u64::MAX, CHANGE_SCAN)?;
    for trace_id in after {
        if let Some(summary) = store.trace_summary(tenant, &trace_id)? {
            traces.push(summary);
        }
    }
    let (_, tool) = scope(dim, &stat.value);
    // Per request in time order: whether it carries the dimension, and the value itself.
    let marks: Vec<(bool, bool)> = traces
        .iter()
        .filter_map(|t| t.versions.get(&dim))
        .map(|values| {
            let in_scope = dim != VersionDimension::ToolSchemaVersion || values.iter().any(|v| tool_of(v) == tool);
            (in_scope, values.contains(&stat.value))
        })
        .filter(|(in_scope, _)| *in_scope)
        .collect();
    let first = marks.iter().position(|(_, carries)| *carries).unwrap_or(marks.len());
    let before = first.min(CHANGE_EVIDENCE);
    let after: Vec<bool> = marks[first..].iter().take(CHANGE_EVIDENCE).map(|(_, carries)| *carries).collect();
    let carrying = after.iter().filter(|c| **c).count() as u64;
    let (before, after) = (before as u64, after.len() as u64);
    let p_value = match Hypergeometric::new(before + after, carrying, after) {
        Ok(dist) if before > 0 && carrying > 0 => dist.pmf(carrying),
        _ => 1.0,
    };
    Ok(ChangeEvidence { requests_before: before, requests_after: after, carrying_after: carrying, p_value })
}

/// Answers `GET /api/v1/versions`.
pub fn versions(store: &Store, tenant: TenantId, window: Window) -> Result<VersionsAnswer, QueryError> {
    let (assessed, truncated) = scan_window(store, tenant, window.since, window.until, &Criteria::default())?;
    let dimensions = version_values(store, tenant, &assessed)?;
    let noisy = per_request_dimensions(&dimensions);
    let changes = changes_between(store, tenant, window.since, window.until, &noisy)?;
    Ok(VersionsAnswer { window: window.into(), requests: assessed.len(), dimensions, changes, truncated })
}

/// `part / whole`, 0 for an empty whole.
pub fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{span, Fixture};

    /// Writes one request per value, a second apart, each carrying `dim` = its value.
    fn requests(fixture: &Fixture, dim: VersionDimension, values: &[&str]) {
        for (i, value) in values.iter().enumerate() {
            let mut root = span(i as u8 + 1, 1, None, i as u64 * 1_000);
            root.versions.insert(dim, (*value).to_string());
            fixture.write(vec![root]);
        }
    }

    fn changed(fixture: &Fixture) -> Vec<String> {
        let changes = changes_between(&fixture.store, TenantId::DEFAULT, 0, u64::MAX, &[]).unwrap();
        changes.into_iter().map(|c| c.value).collect()
    }

    #[test]
    fn a_value_that_replaced_another_is_a_change() {
        let fixture = Fixture::new();
        let mut values = vec!["v1"; 12];
        values.extend(["v2"; 4]);
        requests(&fixture, VersionDimension::PromptVersion, &values);
        assert_eq!(changed(&fixture), ["v2"]);
    }

    #[test]
    fn a_value_sharing_traffic_from_the_start_is_not_a_change() {
        let fixture = Fixture::new();
        let mut values = vec!["gpt-4o", "gpt-4o"];
        for _ in 0..20 {
            values.extend(["gpt-4o-mini", "gpt-4o"]);
        }
        requests(&fixture, VersionDimension::RequestModel, &values);
        assert!(changed(&fixture).is_empty());
    }

    #[test]
    fn a_rare_value_first_seen_late_is_not_a_change() {
        let fixture = Fixture::new();
        // A share of one in ten is first seen after 21 requests one time in nine.
        let mut values = vec!["v1"; 12];
        for _ in 0..8 {
            values.extend(["v1", "v1", "v1", "v1", "v1", "v1", "v1", "v1", "v1", "rare"]);
        }
        requests(&fixture, VersionDimension::PromptVersion, &values);
        assert!(changed(&fixture).is_empty());
    }

    #[test]
    fn a_replacement_after_too_few_requests_is_not_a_change() {
        let fixture = Fixture::new();
        requests(&fixture, VersionDimension::PromptVersion, &["v1", "v2", "v2", "v2", "v2"]);
        assert!(changed(&fixture).is_empty());
    }

    #[test]
    fn a_tool_schema_is_compared_with_its_own_tool_only() {
        let fixture = Fixture::new();
        let mut values = vec!["lookup_order@1"; 12];
        values.extend(["get_refund_policy@1"; 4]);
        values.extend(["lookup_order@2"; 4]);
        requests(&fixture, VersionDimension::ToolSchemaVersion, &values);
        assert_eq!(changed(&fixture), ["lookup_order@2"]);
    }

    #[test]
    fn a_change_carries_the_test_that_decided_it() {
        let fixture = Fixture::new();
        let mut values = vec!["v1"; 12];
        values.extend(["v2"; 4]);
        requests(&fixture, VersionDimension::PromptVersion, &values);
        let changes = changes_between(&fixture.store, TenantId::DEFAULT, 0, u64::MAX, &[]).unwrap();
        let evidence = &changes[0].evidence;
        assert_eq!((evidence.requests_before, evidence.requests_after, evidence.carrying_after), (12, 4, 4));
        // C(4,4) / C(16,4): every carrier after the first 12 by chance alone.
        assert!((evidence.p_value - 1.0 / 1820.0).abs() < 1e-9, "{}", evidence.p_value);
    }

    #[test]
    fn a_dimension_with_a_value_per_request_does_not_dilute_a_real_change() {
        let fixture = Fixture::new();
        // p = 1 / C(10, 4) = 0.0048: a change at 5 %, not at 5 % over 16 candidates.
        let mut values = vec!["v1"; 6];
        values.extend(["v2"; 4]);
        requests(&fixture, VersionDimension::PromptVersion, &values);
        // 16 fingerprints, one per request: 15 more candidates, were they counted.
        for i in 0..16u8 {
            let mut root = span(i + 1, 2, Some(1), u64::from(i) * 1_000);
            root.versions.insert(VersionDimension::SystemFingerprint, format!("fp_{i}"));
            fixture.write(vec![root]);
        }
        assert_eq!(changed(&fixture), ["v2"]);
    }

    #[test]
    fn dimensions_skipped_as_per_request_are_not_candidates() {
        let fixture = Fixture::new();
        let mut values = vec!["v1"; 12];
        values.extend(["v2"; 4]);
        requests(&fixture, VersionDimension::PromptVersion, &values);
        let skip = ["prompt_version".to_string()];
        assert!(changes_between(&fixture.store, TenantId::DEFAULT, 0, u64::MAX, &skip).unwrap().is_empty());
    }
}
