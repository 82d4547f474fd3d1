//! What was live and what changed: every value of every version dimension seen in a
//! window, with its request count, failing share and mean score, and the values first seen
//! inside the window.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tracehound_store::model::VersionDimension;
use tracehound_store::{Store, TenantId};
use utoipa::{IntoParams, ToSchema};

use crate::assess::{scan_window, Assessed, Criteria};
use crate::error::QueryError;
use crate::failing::{Window, WindowView};
use crate::timestamp::format_rfc3339;

/// The store's opening stretch, at most: values first seen in it were live before the store.
pub const CHANGE_WARM_UP_NANOS: u64 = 10 * 60 * 1_000_000_000;

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
    /// Mean of the numeric scores judging those requests (session scores left out).
    pub mean_score: Option<f64>,
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
    score_sum: f64,
    score_count: u64,
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
                for v in a.own_values() {
                    t.score_sum += v;
                    t.score_count += 1;
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
                mean_score: (t.score_count > 0).then(|| t.score_sum / t.score_count as f64),
            })
            .collect();
        if values.is_empty() {
            continue;
        }
        values.sort_by(|a, b| b.request_count.cmp(&a.request_count).then(a.value.cmp(&b.value)));
        let per_request = values.len() > PER_REQUEST_MIN_VALUES && values.len() * 2 > assessed.len();
        out.push(DimensionVersions { dimension: dim.as_str().to_string(), per_request, values });
    }
    Ok(out)
}

/// Values the store first saw in `[from, to)` that really changed something, oldest first.
///
/// Every value is "first seen" when the store begins; those are not changes. A value counts
/// when another value of its dimension (of its tool, for a tool schema) was seen before it,
/// and it was first seen after the store's opening stretch: ten minutes, or a tenth of what
/// the store holds when that is shorter.
pub fn changes_between(store: &Store, tenant: TenantId, from: u64, to: u64) -> Result<Vec<VersionChange>, QueryError> {
    let stats = store.version_stats(tenant)?;
    let origin = stats.iter().map(|(_, s)| s.first_seen).min().unwrap_or(0);
    let last = stats.iter().map(|(_, s)| s.last_seen).max().unwrap_or(0);
    let opening = (last.saturating_sub(origin) / 10).min(CHANGE_WARM_UP_NANOS);
    let scope = |dim: VersionDimension, value: &str| -> (VersionDimension, String) {
        match dim {
            VersionDimension::ToolSchemaVersion => (dim, value.split_once('@').map_or("", |(t, _)| t).to_string()),
            _ => (dim, String::new()),
        }
    };
    let mut earliest: BTreeMap<(VersionDimension, String), u64> = BTreeMap::new();
    for (dim, s) in &stats {
        let e = earliest.entry(scope(*dim, &s.value)).or_insert(u64::MAX);
        *e = (*e).min(s.first_seen);
    }
    let mut out: Vec<VersionChange> = stats
        .into_iter()
        .filter(|(_, s)| s.first_seen >= from && s.first_seen < to)
        .filter(|(_, s)| s.first_seen > origin.saturating_add(opening))
        .filter(|(d, s)| earliest.get(&scope(*d, &s.value)).is_some_and(|e| *e < s.first_seen))
        .map(|(d, s)| VersionChange {
            dimension: d.as_str().to_string(),
            value: s.value,
            first_seen: format_rfc3339(s.first_seen),
            first_seen_unix_nano: s.first_seen,
        })
        .collect();
    out.sort_by(|a, b| a.first_seen_unix_nano.cmp(&b.first_seen_unix_nano).then(a.dimension.cmp(&b.dimension)));
    Ok(out)
}

/// Answers `GET /api/v1/versions`.
pub fn versions(store: &Store, tenant: TenantId, window: Window) -> Result<VersionsAnswer, QueryError> {
    let (assessed, truncated) = scan_window(store, tenant, window.since, window.until, &Criteria::default())?;
    let dimensions = version_values(store, tenant, &assessed)?;
    let noisy = per_request_dimensions(&dimensions);
    let mut changes = changes_between(store, tenant, window.since, window.until)?;
    changes.retain(|c| !noisy.contains(&c.dimension));
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
