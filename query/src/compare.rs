//! Incident window against a baseline: which dimension values are over-represented among
//! failing requests, how the input moved, and how the output moved. The evidence for
//! "which layer changed".

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use tracehound_store::{Store, TenantId};
use utoipa::{IntoParams, ToSchema};

use crate::assess::{scan_window, Assessed, Criteria};
use crate::error::QueryError;
use crate::failing::{Window, WindowView};
use crate::versions::share;

/// A categorical attribute moved when its distributions differ by at least this much
/// (total variation distance, 0 to 1).
pub const MOVED_DISTANCE: f64 = 0.2;
/// Distinct values an attribute may have and still be a category, not an id.
const MAX_CATEGORIES: usize = 20;

/// Query string of `GET /api/v1/compare`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompareParams {
    /// Incident window start: RFC 3339 or an age. Default: 1 hour before `until`.
    pub since: Option<String>,
    /// Incident window end. Default: now.
    pub until: Option<String>,
    /// Baseline start. Default: as long before `baseline_until` as the incident window is long.
    pub baseline_since: Option<String>,
    /// Baseline end. Default: the incident window's start.
    pub baseline_until: Option<String>,
}

/// Size of one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WindowCounts {
    /// The window.
    pub window: WindowView,
    /// Requests in it.
    pub requests: usize,
    /// Failing requests in it.
    pub failing: usize,
    /// `failing / requests`.
    pub failing_share: f64,
}

/// A value over-represented among the incident's failing requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OverRepresented {
    /// Version dimension (`prompt_version`, ...), `service`, or `attribute:<key>`.
    pub dimension: String,
    /// The value.
    pub value: String,
    /// Incident failing requests carrying it.
    pub failing_with_value: usize,
    /// Incident failing requests.
    pub failing_total: usize,
    /// Share of failing requests carrying it.
    pub failing_share: f64,
    /// Incident requests carrying it (failing or not).
    pub incident_with_value: usize,
    /// Baseline requests carrying it.
    pub baseline_with_value: usize,
    /// Baseline requests.
    pub baseline_total: usize,
    /// Share of baseline requests carrying it.
    pub baseline_share: f64,
    /// `failing_share - baseline_share`: how much more common among failures.
    pub lift: f64,
    /// Never seen in the baseline.
    pub new_in_incident: bool,
}

/// A distribution of lengths, in characters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LengthStats {
    /// Requests measured.
    pub count: usize,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: usize,
    /// 90th percentile.
    pub p90: usize,
    /// Largest.
    pub max: usize,
}

impl LengthStats {
    fn of(mut lengths: Vec<usize>) -> LengthStats {
        lengths.sort_unstable();
        let pick =
            |q: f64| lengths.get(((lengths.len() as f64 - 1.0) * q).round().max(0.0) as usize).copied().unwrap_or(0);
        LengthStats {
            count: lengths.len(),
            mean: if lengths.is_empty() { 0.0 } else { lengths.iter().sum::<usize>() as f64 / lengths.len() as f64 },
            p50: pick(0.5),
            p90: pick(0.9),
            max: lengths.last().copied().unwrap_or(0),
        }
    }
}

/// A categorical attribute whose distribution moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AttributeShift {
    /// Attribute key (`resource.` prefix for resource attributes).
    pub key: String,
    /// Share of requests per value, incident window.
    pub incident: BTreeMap<String, f64>,
    /// Share of requests per value, baseline.
    pub baseline: BTreeMap<String, f64>,
    /// Total variation distance, 0 to 1.
    pub distance: f64,
}

/// How the input changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InputChange {
    /// Question length, incident window.
    pub length_incident: LengthStats,
    /// Question length, baseline.
    pub length_baseline: LengthStats,
    /// Categorical attributes that moved by at least [`MOVED_DISTANCE`].
    pub attributes_moved: Vec<AttributeShift>,
}

/// Output rates and lengths of one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OutputStats {
    /// Final answer length.
    pub length: LengthStats,
    /// Requests per finish reason.
    pub finish_reasons: BTreeMap<String, usize>,
    /// Share of requests whose final answer is a refusal.
    pub refusal_rate: f64,
    /// Share of requests with at least one tool call.
    pub tool_call_rate: f64,
    /// Share of requests with an error span.
    pub error_rate: f64,
}

/// How the output changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OutputChange {
    /// Incident window.
    pub incident: OutputStats,
    /// Baseline.
    pub baseline: OutputStats,
}

/// The answer of `GET /api/v1/compare`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CompareAnswer {
    /// The incident window.
    pub incident: WindowCounts,
    /// The baseline window.
    pub baseline: WindowCounts,
    /// Values more common among failing requests than in the baseline, largest lift first.
    pub over_represented: Vec<OverRepresented>,
    /// Input changes.
    pub input: InputChange,
    /// Output changes.
    pub output: OutputChange,
    /// True when a window held more requests than one scan reads.
    pub truncated: bool,
}

/// The baseline of an incident window: the same length just before it.
pub fn default_baseline(incident: Window) -> Window {
    let length = incident.until - incident.since;
    Window { since: incident.since.saturating_sub(length), until: incident.since }
}

/// Answers `GET /api/v1/compare`.
pub fn compare(
    store: &Store,
    tenant: TenantId,
    incident: Window,
    baseline: Window,
) -> Result<CompareAnswer, QueryError> {
    let criteria = Criteria::default();
    let (now, t1) = scan_window(store, tenant, incident.since, incident.until, &criteria)?;
    let (before, t2) = scan_window(store, tenant, baseline.since, baseline.until, &criteria)?;
    Ok(compare_assessed(&now, incident, &before, baseline, t1 || t2))
}

/// Compares two judged windows.
pub fn compare_assessed(
    now: &[Assessed],
    incident: Window,
    before: &[Assessed],
    baseline: Window,
    truncated: bool,
) -> CompareAnswer {
    CompareAnswer {
        incident: counts(now, incident),
        baseline: counts(before, baseline),
        over_represented: over_represented(now, before),
        input: InputChange {
            length_incident: LengthStats::of(now.iter().filter(|a| a.input_chars > 0).map(|a| a.input_chars).collect()),
            length_baseline: LengthStats::of(
                before.iter().filter(|a| a.input_chars > 0).map(|a| a.input_chars).collect(),
            ),
            attributes_moved: attributes_moved(now, before),
        },
        output: OutputChange { incident: output_stats(now), baseline: output_stats(before) },
        truncated,
    }
}

fn counts(assessed: &[Assessed], window: Window) -> WindowCounts {
    let failing = assessed.iter().filter(|a| a.failing()).count();
    WindowCounts {
        window: window.into(),
        requests: assessed.len(),
        failing,
        failing_share: share(failing as u64, assessed.len() as u64),
    }
}

/// Every (dimension, value) a request carries: versions, service, cohort attributes.
pub fn dimension_values(a: &Assessed) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (dim, values) in &a.summary.versions {
        for value in values {
            out.insert((dim.as_str().to_string(), value.clone()));
        }
    }
    if !a.summary.service.is_empty() {
        out.insert(("service".to_string(), a.summary.service.clone()));
    }
    for (key, value) in &a.attributes {
        out.insert((format!("attribute:{key}"), value.clone()));
    }
    out
}

fn tally(assessed: &[Assessed], only_failing: bool) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for a in assessed.iter().filter(|a| !only_failing || a.failing()) {
        for pair in dimension_values(a) {
            *out.entry(pair).or_default() += 1;
        }
    }
    out
}

fn over_represented(now: &[Assessed], before: &[Assessed]) -> Vec<OverRepresented> {
    let failing_total = now.iter().filter(|a| a.failing()).count();
    let failing = tally(now, true);
    let all_now = tally(now, false);
    let all_before = tally(before, false);
    // Without a baseline, the incident's own requests are the reference.
    let (reference, reference_total) =
        if before.is_empty() { (&all_now, now.len()) } else { (&all_before, before.len()) };
    let mut out: Vec<OverRepresented> = failing
        .iter()
        .map(|((dimension, value), &n)| {
            let key = (dimension.clone(), value.clone());
            let failing_share = share(n as u64, failing_total as u64);
            let reference_with = reference.get(&key).copied().unwrap_or(0);
            let baseline_share = share(reference_with as u64, reference_total as u64);
            OverRepresented {
                dimension: dimension.clone(),
                value: value.clone(),
                failing_with_value: n,
                failing_total,
                failing_share,
                incident_with_value: all_now.get(&key).copied().unwrap_or(0),
                baseline_with_value: all_before.get(&key).copied().unwrap_or(0),
                baseline_total: before.len(),
                baseline_share,
                lift: failing_share - baseline_share,
                new_in_incident: !before.is_empty() && !all_before.contains_key(&key),
            }
        })
        .filter(|o| o.lift > 0.0)
        .collect();
    out.sort_by(|a, b| {
        b.lift
            .total_cmp(&a.lift)
            .then(b.failing_with_value.cmp(&a.failing_with_value))
            .then(a.dimension.cmp(&b.dimension))
    });
    out
}

fn distribution(assessed: &[Assessed], key: &str) -> BTreeMap<String, f64> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0usize;
    for a in assessed {
        if let Some(value) = a.attributes.get(key) {
            *counts.entry(value.clone()).or_default() += 1;
            total += 1;
        }
    }
    counts.into_iter().map(|(v, n)| (v, share(n as u64, total as u64))).collect()
}

fn attributes_moved(now: &[Assessed], before: &[Assessed]) -> Vec<AttributeShift> {
    if now.is_empty() || before.is_empty() {
        return Vec::new();
    }
    let keys: BTreeSet<&String> = now.iter().chain(before).flat_map(|a| a.attributes.keys()).collect();
    let mut out = Vec::new();
    for key in keys {
        let incident = distribution(now, key);
        let baseline = distribution(before, key);
        if incident.len() > MAX_CATEGORIES || baseline.len() > MAX_CATEGORIES {
            continue;
        }
        let values: BTreeSet<&String> = incident.keys().chain(baseline.keys()).collect();
        let distance = values
            .iter()
            .map(|v| (incident.get(*v).copied().unwrap_or(0.0) - baseline.get(*v).copied().unwrap_or(0.0)).abs())
            .sum::<f64>()
            / 2.0;
        if distance >= MOVED_DISTANCE {
            out.push(AttributeShift { key: key.clone(), incident, baseline, distance });
        }
    }
    out.sort_by(|a, b| b.distance.total_cmp(&a.distance));
    out
}

fn output_stats(assessed: &[Assessed]) -> OutputStats {
    let n = assessed.len() as u64;
    let mut finish_reasons = BTreeMap::new();
    for a in assessed {
        for reason in &a.summary.finish_reasons {
            *finish_reasons.entry(reason.clone()).or_default() += 1;
        }
    }
    OutputStats {
        length: LengthStats::of(assessed.iter().filter(|a| a.output_chars > 0).map(|a| a.output_chars).collect()),
        finish_reasons,
        refusal_rate: share(assessed.iter().filter(|a| a.refusal).count() as u64, n),
        tool_call_rate: share(assessed.iter().filter(|a| a.summary.tool_calls > 0).count() as u64, n),
        error_rate: share(assessed.iter().filter(|a| a.summary.error_count > 0).count() as u64, n),
    }
}
