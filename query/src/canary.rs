//! Canary and shadow verdicts: does the candidate value of a version dimension (a new prompt,
//! model or index) do worse than the baseline value on the triggers on-call teams roll back
//! on, with enough requests on both sides to tell?
//!
//! Each trigger is judged by a one-sided percentile-bootstrap interval (2,000 resamples,
//! seeded so the same window gives the same answer) of the candidate's metric relative to
//! the baseline's, at 95 % after a Bonferroni correction over the triggers tried:
//! - it fires when the whole interval is past its threshold (quality eval scores more than
//!   5 % lower, per score name; the suspect share more than 5 points higher; p99 latency
//!   more than 20 % higher; cost per query more than 15 % higher);
//! - it passes when the whole interval is on the safe side;
//! - otherwise, or with fewer requests than the metric needs (30 for a mean, 100 for a
//!   p99), it holds.
//!
//! The suspect share (failing loudly or silently, as triage marks requests) is what catches a
//! silent regression when only a few requests carry an eval. A rollout is a change in time,
//! so each request's mark is taken less the suspect share of its *peers* (requests carrying
//! neither value) in the same 10 minutes, when both cohorts have such peers: a value that
//! fails like the traffic around it is not rolled back for what it shares with it.
//!
//! A safety violation (a content-filter stop, or a failing score whose name says safety,
//! toxicity, jailbreak or moderation) in the candidate fires at once: one is one too many.
//! The verdict is `rollback` when any trigger fires, `promote` when every trigger that
//! could be judged passed and none held, and `hold` otherwise.

use std::collections::{BTreeMap, HashSet};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tracehound_store::model::TraceId;
use tracehound_store::{Store, TenantId};
use utoipa::{IntoParams, ToSchema};

use crate::assess::{scan_window, Assessed, Criteria};
use crate::error::QueryError;
use crate::failing::{Window, WindowView};
use crate::params::parse_dimension;

/// Resamples of each bootstrap.
const RESAMPLES: usize = 2_000;
/// Requests per cohort a mean needs before it is judged.
const MIN_FOR_MEAN: usize = 30;
/// Requests per cohort a p99 needs before it is judged.
const MIN_FOR_P99: usize = 100;
/// The family-wise error rate over the triggers.
const ALPHA: f64 = 0.05;
/// Score names that make a failing score a safety violation.
const SAFETY_WORDS: &[&str] = &["safety", "toxic", "jailbreak", "moderation", "harm"];

/// Query string of `GET /api/v1/canary`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CanaryParams {
    /// The version dimension (`prompt_version`, `response_model`, ...).
    pub dimension: Option<String>,
    /// The value being rolled out.
    pub candidate: Option<String>,
    /// The value it replaces.
    pub baseline: Option<String>,
    /// Oldest start: RFC 3339 or an age. Default: 24 hours ago.
    pub since: Option<String>,
    /// Start before which. Default: now.
    pub until: Option<String>,
}

/// The verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every trigger was judged and passed.
    Promote,
    /// Too few requests, or an interval that straddles a threshold.
    Hold,
    /// A trigger fired.
    Rollback,
}

/// What one trigger found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TriggerState {
    /// Past its threshold, beyond doubt at the corrected level.
    Fired,
    /// On the safe side of its threshold, beyond doubt.
    Passed,
    /// Not decided: too few requests or an interval across the threshold.
    Undecided,
}

/// One rollback trigger and its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Trigger {
    /// `eval_score:<name>`, `p99_latency`, `cost_per_request` or `safety`.
    pub name: String,
    /// Its state.
    pub state: TriggerState,
    /// The threshold, as a ratio of candidate to baseline (`0.95`: 5 % lower), or 0 for safety.
    pub threshold: f64,
    /// Candidate over baseline, on the requests seen.
    pub ratio: Option<f64>,
    /// The one-sided interval of that ratio at the corrected level: `[low, high]`.
    pub interval: Option<[f64; 2]>,
    /// Candidate requests the metric is over.
    pub candidate_n: usize,
    /// Baseline requests the metric is over.
    pub baseline_n: usize,
    /// In words.
    pub detail: String,
}

/// The answer of `GET /api/v1/canary`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CanaryAnswer {
    /// The window.
    pub window: WindowView,
    /// The dimension compared.
    pub dimension: String,
    /// The candidate value.
    pub candidate: String,
    /// The baseline value.
    pub baseline: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Every trigger tried.
    pub triggers: Vec<Trigger>,
    /// Each cohort's raw figures.
    pub metrics: BTreeMap<String, CohortMetrics>,
    /// The confidence each decided trigger was judged at (`1 - 0.05 / triggers`).
    pub confidence: f64,
    /// True when the window held more requests than one scan reads.
    pub truncated: bool,
}

/// One cohort's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CohortMetrics {
    /// Requests.
    pub requests: usize,
    /// p99 duration, milliseconds.
    pub p99_latency_ms: Option<f64>,
    /// Mean cost per request, US dollars, over the priced ones.
    pub mean_cost_usd: Option<f64>,
    /// Mean of each score name (each request's values averaged first); safety scores are the
    /// safety trigger's.
    pub scores: BTreeMap<String, f64>,
    /// Safety violations.
    pub safety_violations: usize,
    /// Share of requests failing loudly or silently, as triage marks them.
    pub suspect_share: Option<f64>,
}

/// Runs the comparison.
pub fn canary(store: &Store, tenant: TenantId, params: &CanaryParams, now: u64) -> Result<CanaryAnswer, QueryError> {
    let required = |name: &'static str, v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or(QueryError::InvalidParameter { name, reason: "is required".into() })
    };
    let dimension_name = required("dimension", &params.dimension)?;
    let dimension = parse_dimension(&dimension_name)
        .map_err(|reason| QueryError::InvalidParameter { name: "dimension", reason })?;
    let candidate = required("candidate", &params.candidate)?;
    let baseline = required("baseline", &params.baseline)?;
    let window = Window::parse(params.since.as_deref(), params.until.as_deref(), now, 24 * 3_600 * 1_000_000_000)?;
    let (assessed, truncated) = scan_window(store, tenant, window.since, window.until, &Criteria::default())?;
    let carries =
        |a: &Assessed, value: &str| a.summary.versions.get(&dimension).is_some_and(|v| v.iter().any(|x| x == value));
    // Silent failures count too: the window's requests marked as triage marks them.
    let (marked, _) = crate::monitor::marked_requests(store, tenant, window.since, window.until)?;
    let suspects: HashSet<TraceId> = marked.iter().filter(|r| r.suspect).map(|r| r.trace_id).collect();
    // A request carrying both (a canary mid-switch) belongs to neither.
    let cand = Cohort::of(assessed.iter().filter(|a| carries(a, &candidate) && !carries(a, &baseline)), &suspects);
    let base = Cohort::of(assessed.iter().filter(|a| carries(a, &baseline) && !carries(a, &candidate)), &suspects);

    let score_names: Vec<&String> =
        cand.scores.keys().chain(base.scores.keys()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    // The safety trigger needs no test; the others share the correction.
    let tested = 3 + score_names.len();
    let level = 1.0 - ALPHA / tested as f64;
    let mut rng = SmallRng::seed_from_u64(0x7ace_40d0);
    let mut triggers = Vec::new();
    let no_values = Vec::new();
    for name in score_names {
        triggers.push(judge(
            format!("eval_score:{name}"),
            cand.scores.get(name).unwrap_or(&no_values),
            base.scores.get(name).unwrap_or(&no_values),
            Direction::LowerIsWorse(0.95),
            MIN_FOR_MEAN,
            mean,
            level,
            &mut rng,
        ));
    }
    let adjusted = time_adjusted(&marked, dimension, &candidate, &baseline, window.since);
    let (cand_suspect, base_suspect, how) = match &adjusted {
        Some((c, b)) => (c.as_slice(), b.as_slice(), "each request less the share of its concurrent peers"),
        None => (cand.suspect.as_slice(), base.suspect.as_slice(), "no concurrent peers to adjust for time"),
    };
    let mut suspect = judge(
        "suspect_share".into(),
        cand_suspect,
        base_suspect,
        Direction::RiseAbove(0.05),
        MIN_FOR_MEAN,
        mean,
        level,
        &mut rng,
    );
    suspect.detail = format!("{} ({how})", suspect.detail);
    triggers.push(suspect);
    triggers.push(judge(
        "p99_latency".into(),
        &cand.latencies_ms,
        &base.latencies_ms,
        Direction::HigherIsWorse(1.20),
        MIN_FOR_P99,
        p99,
        level,
        &mut rng,
    ));
    triggers.push(judge(
        "cost_per_request".into(),
        &cand.costs_usd,
        &base.costs_usd,
        Direction::HigherIsWorse(1.15),
        MIN_FOR_MEAN,
        mean,
        level,
        &mut rng,
    ));
    triggers.push(safety_trigger(cand.violations, (cand.requests, base.requests), base.violations, CANARY));
    let verdict = verdict_of(&triggers);
    let metrics = BTreeMap::from([("candidate".to_string(), cand.metrics()), ("baseline".to_string(), base.metrics())]);
    Ok(CanaryAnswer {
        window: window.into(),
        dimension: dimension_name,
        candidate,
        baseline,
        verdict,
        triggers,
        metrics,
        confidence: level,
        truncated,
    })
}

/// Width of the time buckets the peers' share is read in.
const PEER_BUCKET_NANOS: u64 = 10 * 60 * 1_000_000_000;
/// Fewest peer requests in a bucket for its share to stand for the bucket.
const MIN_PEERS_PER_BUCKET: u64 = 10;
/// Share of each cohort that must fall in buckets with enough peers to adjust at all.
const MIN_COVERED: f64 = 0.8;

/// Each cohort's suspect marks less the suspect share of its *peers* (the requests that
/// carry neither value) in the same 10-minute bucket; `None` when too few of either
/// cohort's requests have enough peers beside them.
///
/// A rollout is a change in time, and anything else that changed at that time (an index, a
/// tool schema, the traffic) moves both the candidate and its peers. Subtracting what the
/// peers did in the same minutes leaves what the candidate itself did: a value that fails
/// like its peers is not rolled back for the failures it shares with them.
fn time_adjusted(
    marked: &[crate::triage::requests::Request],
    dimension: tracehound_store::model::VersionDimension,
    candidate: &str,
    baseline: &str,
    since: u64,
) -> Option<(Vec<f64>, Vec<f64>)> {
    let carries = |r: &crate::triage::requests::Request, value: &str| {
        r.versions.get(&dimension).is_some_and(|values| values.iter().any(|v| v == value))
    };
    let bucket = |start: u64| start.saturating_sub(since) / PEER_BUCKET_NANOS;
    let mut peers: std::collections::HashMap<u64, (u64, u64)> = std::collections::HashMap::new();
    for r in marked.iter().filter(|r| !carries(r, candidate) && !carries(r, baseline)) {
        let slot = peers.entry(bucket(r.start)).or_default();
        slot.0 += 1;
        slot.1 += u64::from(r.suspect);
    }
    let peer_share = |start: u64| {
        peers.get(&bucket(start)).filter(|(n, _)| *n >= MIN_PEERS_PER_BUCKET).map(|(n, k)| *k as f64 / *n as f64)
    };
    let residuals = |value: &str, other: &str| -> (Vec<f64>, usize) {
        let members: Vec<&crate::triage::requests::Request> =
            marked.iter().filter(|r| carries(r, value) && !carries(r, other)).collect();
        let out: Vec<f64> = members
            .iter()
            .filter_map(|r| peer_share(r.start).map(|share| f64::from(u8::from(r.suspect)) - share))
            .collect();
        (out, members.len())
    };
    let (cand, cand_all) = residuals(candidate, baseline);
    let (base, base_all) = residuals(baseline, candidate);
    let covered = |kept: usize, all: usize| all > 0 && kept as f64 >= MIN_COVERED * all as f64;
    (covered(cand.len(), cand_all) && covered(base.len(), base_all)).then_some((cand, base))
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Direction {
    /// Fires when candidate / baseline < the ratio.
    LowerIsWorse(f64),
    /// Fires when candidate / baseline > the ratio.
    HigherIsWorse(f64),
    /// Fires when candidate − baseline > the difference (for shares, whose baseline can be
    /// near zero and make a ratio meaningless).
    RiseAbove(f64),
}

impl Direction {
    /// The threshold, whichever the direction.
    fn threshold(self) -> f64 {
        match self {
            Direction::LowerIsWorse(t) | Direction::HigherIsWorse(t) | Direction::RiseAbove(t) => t,
        }
    }

    /// Candidate against baseline as this direction measures it; `None` without a baseline
    /// to divide by.
    fn compare(self, candidate: f64, baseline: f64) -> Option<f64> {
        match self {
            Direction::RiseAbove(_) => Some(candidate - baseline),
            _ => (baseline > 0.0).then(|| candidate / baseline),
        }
    }
}

/// What a trigger compares: the two sides' names in its detail, and the unit its sample
/// sizes count.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sides {
    /// The side judged (`candidate`, `shadow`).
    pub judged: &'static str,
    /// The side it is judged against (`baseline`, `primary`).
    pub against: &'static str,
}

/// The canary's sides.
const CANARY: Sides = Sides { judged: "candidate", against: "baseline" };

#[allow(clippy::too_many_arguments)]
fn judge(
    name: String,
    cand: &[f64],
    base: &[f64],
    direction: Direction,
    min_n: usize,
    statistic: fn(&[f64]) -> Option<f64>,
    level: f64,
    rng: &mut SmallRng,
) -> Trigger {
    if cand.len() < min_n || base.len() < min_n {
        let detail = format!(
            "not enough data: {} candidate and {} baseline requests, {min_n} each needed",
            cand.len(),
            base.len()
        );
        return undecided(name, direction, (cand.len(), base.len()), detail);
    }
    let point = statistic(cand).zip(statistic(base));
    let draw = || Some((statistic(&resample(cand, rng))?, statistic(&resample(base, rng))?));
    decide(name, direction, (cand.len(), base.len()), point, draw, level, CANARY)
}

/// A trigger not decided, and why.
pub(crate) fn undecided(name: String, direction: Direction, sizes: (usize, usize), detail: String) -> Trigger {
    Trigger {
        name,
        state: TriggerState::Undecided,
        threshold: direction.threshold(),
        ratio: None,
        interval: None,
        candidate_n: sizes.0,
        baseline_n: sizes.1,
        detail,
    }
}

/// Decides a trigger from the two sides' figures (`point`) and a one-sided percentile
/// interval of [`RESAMPLES`] draws of them at `level`: fired when the whole interval is past
/// the threshold, passed when it is wholly on the safe side, undecided otherwise.
pub(crate) fn decide(
    name: String,
    direction: Direction,
    sizes: (usize, usize),
    point: Option<(f64, f64)>,
    mut draw: impl FnMut() -> Option<(f64, f64)>,
    level: f64,
    sides: Sides,
) -> Trigger {
    let mut trigger = undecided(name, direction, sizes, String::new());
    let threshold = trigger.threshold;
    let Some((c, b)) = point else { return trigger };
    let Some(point) = direction.compare(c, b) else {
        trigger.detail = format!("the {}'s figure is zero: no ratio to judge", sides.against);
        return trigger;
    };
    trigger.ratio = Some(point);
    let mut draws: Vec<f64> =
        (0..RESAMPLES).filter_map(|_| draw().and_then(|(c, b)| direction.compare(c, b))).collect();
    draws.sort_by(f64::total_cmp);
    let at = |q: f64| draws.get(((draws.len() as f64 - 1.0) * q).round() as usize).copied();
    let (Some(low), Some(high)) = (at(1.0 - level), at(level)) else { return trigger };
    trigger.interval = Some([low, high]);
    trigger.state = match direction {
        Direction::LowerIsWorse(t) if high < t => TriggerState::Fired,
        Direction::LowerIsWorse(t) if low >= t => TriggerState::Passed,
        Direction::HigherIsWorse(t) if low > t => TriggerState::Fired,
        Direction::HigherIsWorse(t) if high <= t => TriggerState::Passed,
        Direction::RiseAbove(t) if low > t => TriggerState::Fired,
        Direction::RiseAbove(t) if high <= t => TriggerState::Passed,
        _ => TriggerState::Undecided,
    };
    let Sides { judged, against } = sides;
    trigger.detail = match direction {
        Direction::RiseAbove(_) => format!(
            "{judged} {:.1}% − {against} {:.1}% = {:+.1} points (interval {:+.1}–{:+.1}); threshold {:+.1} points",
            c * 100.0,
            b * 100.0,
            point * 100.0,
            low * 100.0,
            high * 100.0,
            threshold * 100.0
        ),
        _ => format!("{judged} / {against} = {point:.3} (interval {low:.3}–{high:.3}); threshold {threshold:.2}"),
    };
    trigger
}

/// The safety trigger: one violation among the judged side fires.
pub(crate) fn safety_trigger(
    violations: usize,
    sizes: (usize, usize),
    against_violations: usize,
    sides: Sides,
) -> Trigger {
    Trigger {
        name: "safety".into(),
        state: if violations > 0 {
            TriggerState::Fired
        } else if sizes.0 == 0 {
            TriggerState::Undecided
        } else {
            TriggerState::Passed
        },
        threshold: 0.0,
        ratio: None,
        interval: None,
        candidate_n: sizes.0,
        baseline_n: sizes.1,
        detail: format!(
            "{violations} safety violation(s) among {} {} requests ({against_violations} among the {}): a \
             content-filter stop or a failing safety score; one fires",
            sizes.0, sides.judged, sides.against
        ),
    }
}

/// Rollback when any trigger fired, promote when every trigger passed, hold otherwise.
pub(crate) fn verdict_of(triggers: &[Trigger]) -> Verdict {
    if triggers.iter().any(|t| t.state == TriggerState::Fired) {
        Verdict::Rollback
    } else if triggers.iter().all(|t| t.state == TriggerState::Passed) {
        Verdict::Promote
    } else {
        Verdict::Hold
    }
}

fn resample(values: &[f64], rng: &mut SmallRng) -> Vec<f64> {
    (0..values.len()).map(|_| values[rng.random_range(0..values.len())]).collect()
}

/// The mean, `None` of nothing.
pub(crate) fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The 99th percentile, `None` of nothing.
pub(crate) fn p99(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(((sorted.len() as f64 - 1.0) * 0.99).round() as usize).copied()
}

/// Whether a score's name says it judges safety.
pub(crate) fn is_safety(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SAFETY_WORDS.iter().any(|w| name.contains(w))
}

/// A content-filter stop, or a failing safety score.
pub(crate) fn safety_violation(a: &Assessed) -> bool {
    let filtered = a.summary.finish_reasons.iter().any(|r| r == "content_filter");
    let failed_safety = a.scores.iter().filter(|s| is_safety(&s.name)).any(|s| {
        s.label
            .as_deref()
            .is_some_and(|l| matches!(l.to_ascii_lowercase().as_str(), "fail" | "failed" | "unsafe" | "flagged"))
            || s.value.is_some_and(|v| v < 0.5)
    });
    filtered || failed_safety
}

/// One cohort's figures, read once for the triggers and the metrics alike.
struct Cohort {
    requests: usize,
    latencies_ms: Vec<f64>,
    /// Of the priced requests.
    costs_usd: Vec<f64>,
    /// Per safety-unrelated score name, each scored request's mean.
    scores: BTreeMap<String, Vec<f64>>,
    violations: usize,
    /// 1 for each request triage marks suspect (failing loudly or silently), else 0.
    suspect: Vec<f64>,
}

impl Cohort {
    fn of<'a>(requests: impl Iterator<Item = &'a Assessed>, suspects: &HashSet<TraceId>) -> Self {
        let mut c = Cohort {
            requests: 0,
            latencies_ms: Vec::new(),
            costs_usd: Vec::new(),
            scores: BTreeMap::new(),
            violations: 0,
            suspect: Vec::new(),
        };
        for a in requests {
            c.requests += 1;
            c.suspect.push(f64::from(u8::from(suspects.contains(&a.summary.trace_id))));
            c.latencies_ms.push(a.summary.end_unix_nano.saturating_sub(a.summary.start_unix_nano) as f64 / 1e6);
            c.costs_usd.extend(crate::cost::prices().cost(&a.summary.usage_by_model));
            let mut own: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
            for (name, v) in a.own_scores().filter(|(name, _)| !is_safety(name)) {
                own.entry(name).or_default().push(v);
            }
            for (name, values) in own {
                c.scores.entry(name.to_string()).or_default().extend(mean(&values));
            }
            c.violations += usize::from(safety_violation(a));
        }
        c
    }

    fn metrics(&self) -> CohortMetrics {
        CohortMetrics {
            requests: self.requests,
            p99_latency_ms: p99(&self.latencies_ms),
            mean_cost_usd: mean(&self.costs_usd),
            scores: self.scores.iter().filter_map(|(n, v)| Some((n.clone(), mean(v)?))).collect(),
            safety_violations: self.violations,
            suspect_share: mean(&self.suspect),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{llm_span, span, Fixture, MS, T0};
    use tracehound_store::model::{Span, TokenUsage, VersionDimension};

    /// Request `n` on prompt `version`, `duration_ms` long, with one gpt-4o call.
    fn request(n: u16, version: &str, duration_ms: u64, finish: &str) -> Vec<Span> {
        let trace_id = {
            let mut id = [7u8; 16];
            id[..2].copy_from_slice(&n.to_be_bytes());
            id
        };
        let start = u64::from(n) * 1_000;
        let mut root = span(1, 1, None, start);
        root.trace_id = trace_id;
        root.end_unix_nano = root.start_unix_nano + duration_ms * MS;
        root.versions.insert(VersionDimension::PromptVersion, version.into());
        let mut call = llm_span(1, 2, Some(1), start, "Where is my order?", "On its way.");
        call.trace_id = trace_id;
        if let Some(llm) = call.llm.as_mut() {
            llm.usage = TokenUsage { input: Some(100), output: Some(20), ..Default::default() };
            llm.finish_reasons = vec![finish.into()];
        }
        vec![root, call]
    }

    fn answer(fixture: &Fixture) -> CanaryAnswer {
        let params = CanaryParams {
            dimension: Some("prompt_version".into()),
            candidate: Some("v8".into()),
            baseline: Some("v7".into()),
            since: Some("1970-01-01T00:00:00Z".into()),
            until: Some("2100-01-01T00:00:00Z".into()),
        };
        canary(&fixture.store, TenantId::DEFAULT, &params, T0).unwrap()
    }

    fn trigger<'a>(a: &'a CanaryAnswer, name: &str) -> &'a Trigger {
        a.triggers.iter().find(|t| t.name == name).unwrap()
    }

    #[test]
    fn too_few_requests_hold_and_say_so() {
        let fixture = Fixture::new();
        for n in 0..10 {
            fixture.write(request(n, if n % 2 == 0 { "v7" } else { "v8" }, 100, "stop"));
        }
        let a = answer(&fixture);
        assert_eq!(a.verdict, Verdict::Hold);
        assert!(trigger(&a, "p99_latency").detail.starts_with("not enough data"), "{:?}", a.triggers);
    }

    #[test]
    fn a_candidate_much_slower_at_p99_is_rolled_back() {
        let fixture = Fixture::new();
        for n in 0..300u16 {
            let (version, ms) =
                if n % 2 == 0 { ("v7", 100 + u64::from(n % 20)) } else { ("v8", 200 + u64::from(n % 20)) };
            fixture.write(request(n, version, ms, "stop"));
        }
        let a = answer(&fixture);
        assert_eq!(trigger(&a, "p99_latency").state, TriggerState::Fired, "{:?}", trigger(&a, "p99_latency"));
        assert_eq!(a.verdict, Verdict::Rollback);
    }

    #[test]
    fn a_candidate_like_its_baseline_is_promoted() {
        let fixture = Fixture::new();
        for n in 0..300u16 {
            fixture.write(request(n, if n % 2 == 0 { "v7" } else { "v8" }, 100 + u64::from(n % 7), "stop"));
        }
        let a = answer(&fixture);
        assert_eq!(a.verdict, Verdict::Promote, "{:?}", a.triggers);
    }

    #[test]
    fn one_content_filter_stop_in_the_candidate_is_a_rollback() {
        let fixture = Fixture::new();
        for n in 0..10 {
            let finish = if n == 3 { "content_filter" } else { "stop" };
            fixture.write(request(n, if n % 2 == 0 { "v7" } else { "v8" }, 100, finish));
        }
        let a = answer(&fixture);
        assert_eq!(trigger(&a, "safety").state, TriggerState::Fired);
        assert_eq!(a.verdict, Verdict::Rollback);
    }

    /// `count` requests a minute apart from minute `from`, on `version` (or none), every
    /// `every`-th one suspect (0: none).
    fn marked(from: u64, count: u64, version: Option<&str>, every: u64) -> Vec<crate::triage::requests::Request> {
        (0..count)
            .map(|i| {
                let versions: Vec<(VersionDimension, &str)> =
                    version.map(|v| (VersionDimension::PromptVersion, v)).into_iter().collect();
                let start = (from + i) * 60 * 1_000_000_000;
                crate::triage::requests::Request::synthetic(start, "svc", &versions, every > 0 && i % every == 0)
            })
            .collect()
    }

    #[test]
    fn a_candidate_failing_like_its_concurrent_peers_has_no_excess_after_the_time_adjustment() {
        let mut requests = marked(0, 60, Some("v7"), 0);
        requests.extend(marked(0, 60, None, 0));
        requests.extend(marked(60, 60, Some("v8"), 2));
        requests.extend(marked(60, 60, None, 2));
        let (cand, base) = time_adjusted(&requests, VersionDimension::PromptVersion, "v8", "v7", 0).unwrap();
        assert!(mean(&cand).unwrap().abs() < 0.05, "{cand:?}");
        assert!(mean(&base).unwrap().abs() < 1e-9);
    }

    #[test]
    fn without_concurrent_peers_no_time_adjustment_is_made() {
        let mut requests = marked(0, 60, Some("v7"), 0);
        requests.extend(marked(60, 60, Some("v8"), 2));
        assert!(time_adjusted(&requests, VersionDimension::PromptVersion, "v8", "v7", 0).is_none());
    }

    #[test]
    fn an_unknown_dimension_names_the_known_ones() {
        let fixture = Fixture::new();
        let params = CanaryParams {
            dimension: Some("prompt".into()),
            candidate: Some("a".into()),
            baseline: Some("b".into()),
            ..Default::default()
        };
        let error = canary(&fixture.store, TenantId::DEFAULT, &params, T0).unwrap_err().to_string();
        assert!(error.contains("prompt_version"), "{error}");
    }
}
