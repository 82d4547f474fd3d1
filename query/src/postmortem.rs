//! The postmortem bundle: scope, detection, versions, changes, timeline, failing-request
//! evidence and classification hints for one incident window, in one answer.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use tracehound_store::{Store, TenantId};
use utoipa::{IntoParams, ToSchema};

use crate::assess::{scan_window, Assessed, Criteria};
use crate::compare::{compare_assessed, default_baseline, dimension_values, CompareAnswer};
use crate::error::QueryError;
use crate::failing::{choose_diverse, examples, FailingExample, Window, WindowView};
use crate::timestamp::{format_rfc3339, parse_rfc3339};
use crate::triage::{triage, Triage};
use crate::versions::{
    changes_between, per_request_dimensions, share, version_values, DimensionVersions, VersionChange,
};

/// How far before the window changes are reported.
pub const CHANGE_LOOKBACK_NANOS: u64 = 48 * 3_600 * 1_000_000_000;
/// Evidence requests when `limit` is absent; 5 to 10 is what a postmortem reads.
pub const DEFAULT_EVIDENCE: usize = 8;
/// Most evidence requests a postmortem takes.
pub const MAX_EVIDENCE: usize = 10;
/// Lift above which a layer's value counts as a suspect.
const SUSPECT_LIFT: f64 = 0.3;

/// Query string of `GET /api/v1/postmortem`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PostmortemParams {
    /// Incident start: RFC 3339 or an age. Default: 1 hour before `until`.
    pub since: Option<String>,
    /// Incident end. Default: now.
    pub until: Option<String>,
    /// Baseline start. Default: the same length just before the incident.
    pub baseline_since: Option<String>,
    /// Baseline end. Default: the incident's start.
    pub baseline_until: Option<String>,
    /// Evidence requests, 1 to 10. Default 8.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 10)]
    pub limit: Option<String>,
    /// `json` (default) or `md`: Markdown ready to paste.
    pub format: Option<String>,
}

/// A cohort and how badly it is hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Cohort {
    /// `service` or `attribute:<key>`.
    pub dimension: String,
    /// The value.
    pub value: String,
    /// Requests in the window.
    pub requests: usize,
    /// Failing ones.
    pub failing: usize,
    /// `failing / requests`.
    pub failing_share: f64,
}

/// The incident in numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Scope {
    /// Requests in the window.
    pub requests: usize,
    /// Failing requests.
    pub failing: usize,
    /// `failing / requests`.
    pub failing_share: f64,
    /// Sessions with requests in the window.
    pub sessions: usize,
    /// Sessions with a failing request.
    pub failing_sessions: usize,
    /// Users with requests in the window.
    pub users: usize,
    /// Users with a failing request.
    pub failing_users: usize,
    /// Failing requests per reason.
    pub by_reason: BTreeMap<String, usize>,
    /// Cohorts most affected: by service, and by root-span or resource attributes that split the failures.
    pub cohorts: Vec<Cohort>,
}

/// When and how the incident could be seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Detection {
    /// Start of the first failing request, RFC 3339.
    pub first_failing_at: Option<String>,
    /// Its request id.
    pub first_failing_request: Option<String>,
    /// `scores` when evaluations or feedback judged requests in the window; else `errors_and_heuristics`.
    pub method: String,
    /// Scores judging requests of the window.
    pub scores_seen: usize,
}

/// One step of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TimelineEvent {
    /// When, RFC 3339.
    pub at: String,
    /// What happened.
    pub event: String,
    /// Seconds since the previous event.
    pub delta_seconds: Option<f64>,
}

/// Whether a layer looks responsible.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Hint {
    /// `model`, `prompt`, `retrieval`, `tools`, `deployment`, `input`.
    pub layer: String,
    /// `suspect`, `ruled_out` or `no_data`.
    pub verdict: String,
    /// Why.
    pub reason: String,
}

/// The answer of `GET /api/v1/postmortem`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Postmortem {
    /// The incident window.
    pub window: WindowView,
    /// The baseline window.
    pub baseline: WindowView,
    /// Scope in numbers.
    pub scope: Scope,
    /// Detection.
    pub detection: Detection,
    /// Version values live in the window.
    pub versions: Vec<DimensionVersions>,
    /// Values first seen from 48 hours before the window to its end, oldest first.
    pub changes: Vec<VersionChange>,
    /// Change first seen → first failing request → peak.
    pub timeline: Vec<TimelineEvent>,
    /// Failing requests with their whole context.
    pub evidence: Vec<FailingExample>,
    /// Which layer changed, and which are ruled out: from the triage verdict, in the triage
    /// order (infra, data, prompt, model), when the window holds enough requests to split;
    /// else from the comparison with the baseline.
    pub hints: Vec<Hint>,
    /// The triage verdict over the baseline and the incident window together.
    pub triage: Triage,
    /// The comparison the hints come from.
    pub compare: CompareAnswer,
    /// True when a window held more requests than one scan reads.
    pub truncated: bool,
}

/// Builds the bundle.
pub fn postmortem(
    store: &Store,
    tenant: TenantId,
    incident: Window,
    baseline: Option<Window>,
    evidence: usize,
) -> Result<Postmortem, QueryError> {
    let baseline = baseline.unwrap_or_else(|| default_baseline(incident));
    let criteria = Criteria::default();
    let (now, t1) = scan_window(store, tenant, incident.since, incident.until, &criteria)?;
    let (before, t2) = scan_window(store, tenant, baseline.since, baseline.until, &criteria)?;
    let mut compare = compare_assessed(&now, incident, &before, baseline, t1 || t2);
    let versions = version_values(store, tenant, &now)?;
    let noisy = per_request_dimensions(&versions);
    // A value carried by one request is over-represented among failures whenever that
    // request fails: for a dimension that varies per request, that is noise, not evidence.
    compare.over_represented.retain(|o| !noisy.contains(&o.dimension));
    let changes =
        changes_between(store, tenant, incident.since.saturating_sub(CHANGE_LOOKBACK_NANOS), incident.until, &noisy)?;
    let chosen = choose_diverse(&now, evidence);
    let verdict = triage(store, tenant, incident, Some(baseline.since))?;
    let hints = if verdict.shift.is_some() { triage_hints(&verdict) } else { hints(&compare, &changes) };
    Ok(Postmortem {
        window: incident.into(),
        baseline: baseline.into(),
        scope: scope(&now),
        detection: detection(&now),
        versions,
        timeline: timeline(&now, &changes, &compare, &verdict),
        changes,
        evidence: examples(store, tenant, &now, &chosen)?,
        hints,
        triage: verdict,
        compare,
        truncated: t1 || t2,
    })
}

fn scope(now: &[Assessed]) -> Scope {
    let failing: Vec<&Assessed> = now.iter().filter(|a| a.failing()).collect();
    let distinct = |items: &[&Assessed], pick: fn(&Assessed) -> Option<&String>| {
        items.iter().filter_map(|a| pick(a)).collect::<BTreeSet<_>>().len()
    };
    let all: Vec<&Assessed> = now.iter().collect();
    let mut by_reason = BTreeMap::new();
    for a in &failing {
        let kinds: BTreeSet<_> = a.reasons.iter().map(|r| r.kind).collect();
        for kind in kinds {
            *by_reason.entry(kind.as_str().to_string()).or_default() += 1;
        }
    }
    Scope {
        requests: now.len(),
        failing: failing.len(),
        failing_share: share(failing.len() as u64, now.len() as u64),
        sessions: distinct(&all, |a| a.summary.session_id.as_ref()),
        failing_sessions: distinct(&failing, |a| a.summary.session_id.as_ref()),
        users: distinct(&all, |a| a.summary.user_id.as_ref()),
        failing_users: distinct(&failing, |a| a.summary.user_id.as_ref()),
        by_reason,
        cohorts: cohorts(now),
    }
}

/// Services always; an attribute only when its values' failing shares differ (it splits them).
fn cohorts(now: &[Assessed]) -> Vec<Cohort> {
    let mut tallies: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    for a in now {
        for (dim, value) in dimension_values(a) {
            if dim == "service" || dim.starts_with("attribute:") {
                let t = tallies.entry((dim, value)).or_default();
                t.0 += 1;
                t.1 += usize::from(a.failing());
            }
        }
    }
    let mut spread: BTreeMap<&str, (f64, f64, usize)> = BTreeMap::new();
    for ((dim, _), (requests, failing)) in &tallies {
        let s = share(*failing as u64, *requests as u64);
        let e = spread.entry(dim.as_str()).or_insert((f64::MAX, f64::MIN, 0));
        e.0 = e.0.min(s);
        e.1 = e.1.max(s);
        e.2 += 1;
    }
    let mut out: Vec<Cohort> = tallies
        .iter()
        .filter(|((dim, _), (_, failing))| {
            *failing > 0
                && spread.get(dim.as_str()).is_some_and(|(lo, hi, n)| dim == "service" || (*n > 1 && hi - lo >= 0.2))
        })
        .map(|((dim, value), (requests, failing))| Cohort {
            dimension: dim.clone(),
            value: value.clone(),
            requests: *requests,
            failing: *failing,
            failing_share: share(*failing as u64, *requests as u64),
        })
        .collect();
    out.sort_by(|a, b| b.failing_share.total_cmp(&a.failing_share).then(b.failing.cmp(&a.failing)));
    out.truncate(10);
    out
}

fn detection(now: &[Assessed]) -> Detection {
    let first = now.iter().filter(|a| a.failing()).min_by_key(|a| a.summary.start_unix_nano);
    let scores_seen: usize = now.iter().map(|a| a.scores.len()).sum();
    Detection {
        first_failing_at: first.map(|a| format_rfc3339(a.summary.start_unix_nano)),
        first_failing_request: first.map(|a| a.summary.display_request_id()),
        method: if scores_seen > 0 { "scores" } else { "errors_and_heuristics" }.to_string(),
        scores_seen,
    }
}

fn timeline(
    now: &[Assessed],
    changes: &[VersionChange],
    compare: &CompareAnswer,
    verdict: &Triage,
) -> Vec<TimelineEvent> {
    let mut events: Vec<(u64, String)> = Vec::new();
    if let Some(at) = verdict.onset.as_deref().and_then(|t| parse_rfc3339(t).ok()) {
        let what = match (&verdict.dimension, &verdict.value) {
            (Some(d), Some(v)) => format!("quality shifted (triage onset); cause {d} {v}"),
            _ => "quality shifted (triage onset)".to_string(),
        };
        events.push((at, what));
    }
    let suspects: BTreeSet<(&str, &str)> =
        compare.over_represented.iter().map(|o| (o.dimension.as_str(), o.value.as_str())).collect();
    let first_failing = now.iter().filter(|a| a.failing()).min_by_key(|a| a.summary.start_unix_nano);
    for change in changes {
        let before_failure = first_failing.is_none_or(|f| change.first_seen_unix_nano <= f.summary.start_unix_nano);
        if before_failure || suspects.contains(&(change.dimension.as_str(), change.value.as_str())) {
            events.push((change.first_seen_unix_nano, format!("{} {} first seen", change.dimension, change.value)));
        }
    }
    if let Some(f) = first_failing {
        events.push((f.summary.start_unix_nano, format!("first failing request {}", f.summary.display_request_id())));
    }
    if let Some((at, count, width)) = peak(now) {
        events.push((at, format!("peak: {count} failing requests within {} s", width / 1_000_000_000)));
    }
    events.sort_by_key(|(at, _)| *at);
    let mut out = Vec::new();
    let mut previous: Option<u64> = None;
    for (at, event) in events {
        let delta_seconds = previous.map(|p| at.saturating_sub(p) as f64 / 1e9);
        out.push(TimelineEvent { at: format_rfc3339(at), event, delta_seconds });
        previous = Some(at);
    }
    out
}

/// The busiest stretch of failures: a sliding window a twelfth of the failures' span
/// (a minute at least) holding the most failing starts; returns its start, count and width.
fn peak(now: &[Assessed]) -> Option<(u64, usize, u64)> {
    let mut starts: Vec<u64> = now.iter().filter(|a| a.failing()).map(|a| a.summary.start_unix_nano).collect();
    starts.sort_unstable();
    let (first, last) = (*starts.first()?, *starts.last()?);
    let width = ((last - first) / 12).max(60_000_000_000);
    let mut best = (first, 0usize);
    let mut j = 0;
    for i in 0..starts.len() {
        while j < starts.len() && starts[j] < starts[i] + width {
            j += 1;
        }
        if j - i > best.1 {
            best = (starts[i], j - i);
        }
    }
    Some((best.0, best.1, width))
}

/// The classification read off the triage verdict: the cause's layer is the suspect, each
/// other layer is ruled out with what its step found.
fn triage_hints(verdict: &Triage) -> Vec<Hint> {
    verdict
        .steps
        .iter()
        .filter(|s| s.layer != "detect")
        .map(|s| {
            let suspect = verdict.layer.as_deref() == Some(s.layer.as_str());
            let reason = if verdict.incident {
                s.finding.clone()
            } else {
                format!("quality did not shift beyond noise: {}", s.finding)
            };
            Hint { layer: s.layer.clone(), verdict: if suspect { "suspect" } else { "ruled_out" }.to_string(), reason }
        })
        .collect()
}

const LAYERS: [(&str, &[&str]); 5] = [
    ("model", &["request_model", "response_model", "system_fingerprint"]),
    ("prompt", &["prompt_name", "prompt_version", "system_instructions_fingerprint"]),
    ("retrieval", &["retrieval_component", "index_version"]),
    ("tools", &["tool_schema_version", "tool_definitions_fingerprint"]),
    ("deployment", &["service_version", "deployment_environment"]),
];

fn hints(compare: &CompareAnswer, changes: &[VersionChange]) -> Vec<Hint> {
    let mut out = Vec::new();
    let failing = compare.incident.failing;
    for (layer, dims) in LAYERS {
        let over: Vec<_> = compare
            .over_represented
            .iter()
            .filter(|o| dims.contains(&o.dimension.as_str()) && (o.lift >= SUSPECT_LIFT || o.new_in_incident))
            .collect();
        let changed: Vec<_> = changes.iter().filter(|c| dims.contains(&c.dimension.as_str())).collect();
        let seen = compare.over_represented.iter().any(|o| dims.contains(&o.dimension.as_str())) || !changed.is_empty();
        let (verdict, reason) = if let Some(o) = over.first() {
            let new = if o.new_in_incident { ", never seen in the baseline" } else { "" };
            (
                "suspect",
                format!(
                    "{} {} is on {} of {} failing requests ({:.0}%) against {:.0}% of baseline requests{new}",
                    o.dimension,
                    o.value,
                    o.failing_with_value,
                    o.failing_total,
                    o.failing_share * 100.0,
                    o.baseline_share * 100.0
                ),
            )
        } else if !changed.is_empty() {
            let list: Vec<String> = changed.iter().map(|c| format!("{} {}", c.dimension, c.value)).collect();
            (
                "suspect",
                format!(
                    "changed before or during the window ({}) though not over-represented among failures",
                    list.join(", ")
                ),
            )
        } else if failing == 0 {
            ("no_data", "no failing requests in the window".to_string())
        } else if seen {
            (
                "ruled_out",
                "no value of this layer is more common among failing requests than in the baseline, and none changed"
                    .to_string(),
            )
        } else {
            ("ruled_out", "no value of this layer changed in the 48 hours before or during the window".to_string())
        };
        out.push(Hint { layer: layer.to_string(), verdict: verdict.to_string(), reason });
    }
    let input = &compare.input;
    let (a, b) = (&input.length_incident, &input.length_baseline);
    let length_moved = b.count > 0 && a.count > 0 && (a.mean - b.mean).abs() > 0.5 * b.mean.max(1.0);
    let (verdict, reason) = if !input.attributes_moved.is_empty() {
        let keys: Vec<&str> = input.attributes_moved.iter().map(|s| s.key.as_str()).collect();
        ("suspect", format!("input attributes moved: {}", keys.join(", ")))
    } else if length_moved {
        ("suspect", format!("question length moved: mean {:.0} chars against {:.0} in the baseline", a.mean, b.mean))
    } else if b.count == 0 {
        ("no_data", "no baseline requests to compare the input with".to_string())
    } else {
        (
            "ruled_out",
            format!(
                "question length (mean {:.0} vs {:.0} chars) and categorical input attributes did not move",
                a.mean, b.mean
            ),
        )
    };
    out.push(Hint { layer: "input".to_string(), verdict: verdict.to_string(), reason });
    out
}
