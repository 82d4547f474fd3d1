//! Triage: did quality shift in a window, when, and which layer and value explain it,
//! with every near-coincident change ruled out and the reason why.
//!
//! The method, step by step (each module says how it decides):
//! 1. [`requests`]: one compact record per request, read from the trace summaries (no
//!    span is read), marked *suspect* when it failed loudly or the silent evidence agrees.
//! 2. [`onset`]: the step in the suspect share over time, a permutation p-value, and a
//!    bootstrap interval. Quality shifted when p < 0.01, the share rose by ≥ 5 points and
//!    ≥ 1.5×, and ≥ 10 more requests are suspect than the old share predicts.
//! 3. [`attribution`]: every changed value scored against its peers (risk ratio, one-sided
//!    Fisher test, Holm over all candidates, share of the excess explained, first seen
//!    no later than the onset), explained away against stronger candidates of other
//!    layers, then walked in the triage order: infra, data, prompt, model.
//! 4. Input drift: the signals' distributions before and after the onset (Kolmogorov–
//!    Smirnov for numbers, chi-square for the question language), Holm-corrected.

pub mod attribution;
pub mod onset;
pub mod requests;
pub mod significance;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use tracehound_store::{Store, TenantId};
use utoipa::{IntoParams, ToSchema};

use crate::error::QueryError;
use crate::failing::{Window, WindowView};
use crate::timestamp::format_rfc3339;
use attribution::{Layer, OnsetFrame, Scored, Verdict};
use requests::{Cue, Request};

/// Significance of the shift test.
pub const SHIFT_ALPHA: f64 = 0.01;
/// Smallest rise of the suspect share that is a shift, in share points.
pub const MIN_RISE: f64 = 0.05;
/// Smallest ratio of the suspect shares after and before.
pub const MIN_RATIO: f64 = 1.5;
/// Fewest excess suspect requests that make an incident.
pub const MIN_EXCESS: f64 = 10.0;
/// Default window: the last 3 hours.
pub const DEFAULT_WINDOW_NANOS: u64 = 3 * 3_600 * 1_000_000_000;

/// Query string of `GET /api/v1/triage`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TriageParams {
    /// Window start: RFC 3339 or an age (`3h`). Default: 3 hours before `until`.
    pub since: Option<String>,
    /// Window end. Default: now.
    pub until: Option<String>,
    /// Start of a baseline to read before the window (its traffic joins the series, so the
    /// onset is found against it). Default: none; the traffic before the detected onset is
    /// the baseline.
    pub baseline_since: Option<String>,
}

/// How many requests the verdict covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Affected {
    /// Suspect requests after the onset carrying the cause.
    pub requests: u64,
    /// Their share of all requests after the onset.
    pub share: f64,
    /// Services they belong to.
    pub services: Vec<String>,
}

/// One piece of evidence for the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Evidence {
    /// What was found, for a human.
    pub statement: String,
    /// The test that decides, when one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    /// Its p-value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// Request ids to open.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<String>,
}

/// A change that is not the cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RuledOut {
    /// `infra`, `data`, `prompt` or `model`.
    pub layer: String,
    /// Dimension name, as in `/api/v1/versions`, or `input_language`, `user_cohort`, `tool_latency`, `service`, `attribute:<key>`.
    pub dimension: String,
    /// The value.
    pub value: String,
    /// What it changes within (a tool, a service), when not everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The value it replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// First seen, RFC 3339.
    pub first_seen: String,
    /// `appeared_after_onset`, `co_changed_with_cause`, `explained_by_cause`, `touches_no_failing_request`, `fails_no_more_than_peers`, `later_in_triage_order`, or `no_shift`.
    pub verdict: String,
    /// The reason, with its numbers.
    pub reason: String,
}

/// What one step of the triage order found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Step {
    /// `detect`, then `infra`, `data`, `prompt`, `model`.
    pub layer: String,
    /// What was checked.
    pub checked: String,
    /// What it found.
    pub finding: String,
}

/// The shift test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Shift {
    /// The test that decides.
    pub test: String,
    /// Its p-value.
    pub p_value: f64,
    /// Where the step is: the first request after it, RFC 3339.
    pub step_at: String,
    /// 95% interval of the step, RFC 3339.
    pub interval: [String; 2],
    /// Requests before the step, and the suspect share among them.
    pub requests_before: usize,
    /// Suspect share before.
    pub suspect_share_before: f64,
    /// Requests from the step on.
    pub requests_after: usize,
    /// Suspect share after.
    pub suspect_share_after: f64,
    /// Suspect requests after the step beyond what the share before predicts.
    pub excess: f64,
}

/// A signal whose distribution moved between before and after the onset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Drift {
    /// The signal.
    pub signal: String,
    /// Median (numbers) or most common value with its share (categories), before.
    pub before: String,
    /// The same, after.
    pub after: String,
    /// `kolmogorov_smirnov` or `chi_square`.
    pub test: String,
    /// The statistic.
    pub statistic: f64,
    /// Holm-adjusted p over the signals tested.
    pub p_holm: f64,
}

/// One bucket of the suspect-share series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SeriesPoint {
    /// Bucket start, RFC 3339.
    pub at: String,
    /// Requests starting in it.
    pub requests: u64,
    /// Suspect ones.
    pub suspect: u64,
    /// `suspect / requests`.
    pub share: f64,
}

/// Buckets of the series: enough to see a step, few enough to draw.
const SERIES_BUCKETS: u64 = 120;

/// The answer of `GET /api/v1/triage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Triage {
    /// The window read.
    pub window: WindowView,
    /// Requests read.
    pub requests: usize,
    /// Whether quality shifted beyond noise.
    pub incident: bool,
    /// When it shifted, RFC 3339: the cause's first sighting when that falls inside the
    /// step's interval, else the step.
    pub onset: Option<String>,
    /// The layer that changed.
    pub layer: Option<String>,
    /// Its dimension.
    pub dimension: Option<String>,
    /// The value that changed.
    pub value: Option<String>,
    /// What it replaced.
    pub previous: Option<String>,
    /// Share of the excess suspect requests it explains, 0 to 1.
    pub explains: f64,
    /// `explains`, discounted by the larger of the shift's and the cause's p-values.
    pub confidence: f64,
    /// The cause's first sighting, RFC 3339.
    pub cause_first_seen: Option<String>,
    /// What the cause touches.
    pub affected: Affected,
    /// Why.
    pub evidence: Vec<Evidence>,
    /// Every other change near the onset, and why it is not the cause.
    pub ruled_out: Vec<RuledOut>,
    /// What each step of the triage order found.
    pub steps: Vec<Step>,
    /// The shift test, when the window was long enough to split.
    pub shift: Option<Shift>,
    /// Signals whose distribution moved (p_holm < 0.01).
    pub drift: Vec<Drift>,
    /// The suspect share over the window, in equal buckets.
    pub series: Vec<SeriesPoint>,
    /// True when the window held more requests than one triage reads.
    pub truncated: bool,
}

/// Triage of one window.
pub fn triage(
    store: &Store,
    tenant: TenantId,
    window: Window,
    baseline_since: Option<u64>,
) -> Result<Triage, QueryError> {
    let since = baseline_since.map_or(window.since, |b| b.min(window.since));
    let (mut requests, truncated) = requests::scan(store, tenant, since, window.until)?;
    requests::mark_suspects(&mut requests);
    let first_seen_ever: HashMap<(String, String), u64> = store
        .version_stats(tenant)?
        .into_iter()
        .map(|(dim, stat)| ((dim.as_str().to_string(), stat.value), stat.first_seen))
        .collect();
    let out = decide(&requests, Window { since, until: window.until }, &first_seen_ever, truncated);
    Ok(out)
}

/// The verdict over requests already read and marked, oldest first.
pub fn decide(
    requests: &[Request],
    window: Window,
    first_seen_ever: &HashMap<(String, String), u64>,
    truncated: bool,
) -> Triage {
    let marks: Vec<bool> = requests.iter().map(|r| r.suspect).collect();
    let mut answer = Triage {
        window: window.into(),
        requests: requests.len(),
        incident: false,
        onset: None,
        layer: None,
        dimension: None,
        value: None,
        previous: None,
        explains: 0.0,
        confidence: 0.0,
        cause_first_seen: None,
        affected: Affected { requests: 0, share: 0.0, services: Vec::new() },
        evidence: Vec::new(),
        ruled_out: Vec::new(),
        steps: Vec::new(),
        shift: None,
        drift: Vec::new(),
        series: series(requests, window),
        truncated,
    };
    let step = onset::find_step(&marks);
    let Some(step) = step else {
        answer.steps.push(Step {
            layer: "detect".into(),
            checked: "the suspect share over time".into(),
            finding: format!(
                "not enough data: {} requests, fewer than {} on each side of any split",
                requests.len(),
                onset::MIN_SIDE
            ),
        });
        return answer;
    };
    let time_at = |i: usize| requests.get(i).or(requests.last()).map_or(window.until, |r| r.start);
    let excess = step.after as f64 * (step.rate_after - step.rate_before);
    let shifted = step.p_value < SHIFT_ALPHA
        && step.rate_after - step.rate_before >= MIN_RISE
        && step.rate_after >= MIN_RATIO * step.rate_before
        && excess >= MIN_EXCESS;
    let shift = Shift {
        test: format!(
            "one-sided two-rate step in the suspect share, permutation test over {} shuffles",
            step.permutations
        ),
        p_value: step.p_value,
        step_at: format_rfc3339(time_at(step.split)),
        interval: [format_rfc3339(time_at(step.interval.0)), format_rfc3339(time_at(step.interval.1))],
        requests_before: step.before,
        suspect_share_before: step.rate_before,
        requests_after: step.after,
        suspect_share_after: step.rate_after,
        excess,
    };
    answer.steps.push(Step {
        layer: "detect".into(),
        checked: "the suspect share over time (loud failures, failing scores, and silent evidence)".into(),
        finding: format!(
            "{}: {:.1}% of {} requests suspect before {}, {:.1}% of {} after (permutation p = {:.3}, {:.0} excess)",
            if shifted { "quality shifted" } else { "no shift beyond noise" },
            step.rate_before * 100.0,
            step.before,
            shift.step_at,
            step.rate_after * 100.0,
            step.after,
            step.p_value,
            excess
        ),
    });
    answer.evidence.push(Evidence {
        statement: format!(
            "the suspect share rose from {:.1}% to {:.1}% at {} (95% interval {} to {})",
            step.rate_before * 100.0,
            step.rate_after * 100.0,
            shift.step_at,
            shift.interval[0],
            shift.interval[1]
        ),
        test: Some(shift.test.clone()),
        p_value: Some(step.p_value),
        requests: Vec::new(),
    });
    let frame = OnsetFrame {
        split: step.split,
        at: time_at(step.split),
        lower: time_at(step.interval.0),
        upper: time_at(step.interval.1),
        width: time_at(step.interval.1).saturating_sub(time_at(step.interval.0)),
        window_start: window.since,
    };
    answer.shift = Some(shift);
    let features = attribution::features(requests, frame);
    let scored = attribution::attribute(requests, &features, frame, first_seen_ever);
    answer.drift = drift(requests, step.split);
    cue_evidence(&mut answer, requests, step.split);
    if !shifted {
        answer.ruled_out = scored
            .iter()
            .map(|s| ruled_out(s, "no_shift", format!("quality did not shift beyond noise; {}", s.reason)))
            .collect();
        for layer in Layer::ORDER {
            answer.steps.push(Step {
                layer: layer.as_str().into(),
                checked: checked(layer),
                finding: "not reached: no shift to explain".into(),
            });
        }
        return answer;
    }
    answer.incident = true;
    let cause = scored.iter().find(|s| s.verdict == Verdict::Cause);
    answer.onset = Some(format_rfc3339(match cause {
        Some(c) if c.first_seen >= time_at(step.interval.0) && c.first_seen <= frame.upper => c.first_seen,
        _ => frame.at,
    }));
    for layer in Layer::ORDER {
        let here: Vec<&Scored> = scored.iter().filter(|s| s.layer == layer).collect();
        let finding = match (cause, here.is_empty()) {
            (Some(c), _) if c.layer == layer => format!(
                "the cause: {}={} (from {}): {}",
                c.feature.dimension,
                c.feature.value,
                c.previous.as_deref().unwrap_or("nothing"),
                c.reason
            ),
            (Some(c), true) if c.layer < layer => "checked after the cause was found: no value changed".into(),
            (Some(c), _) if c.layer < layer => format!(
                "checked after the cause was found: {} changed value(s), none the cause{}",
                here.len(),
                list(&here)
            ),
            (_, true) => "no value changed".into(),
            _ => format!("{} changed value(s), none explains the shift{}", here.len(), list(&here)),
        };
        answer.steps.push(Step { layer: layer.as_str().into(), checked: checked(layer), finding });
    }
    answer.ruled_out = scored
        .iter()
        .filter(|s| s.verdict != Verdict::Cause)
        .map(|s| ruled_out(s, s.verdict.as_str(), s.reason.clone()))
        .collect();
    let Some(cause) = cause else {
        answer.evidence.push(Evidence {
            statement: "quality shifted, but no changed value explains it: look at the evidence cues and the drift"
                .into(),
            test: None,
            p_value: None,
            requests: Vec::new(),
        });
        return answer;
    };
    let (count, services, examples) = attribution::affected(requests, &features, step.split, cause.id);
    let cues = attribution::cues_of(requests, &features, step.split, cause.id);
    answer.layer = Some(cause.layer.as_str().into());
    answer.dimension = Some(cause.feature.dimension.clone());
    answer.value = Some(cause.feature.value.clone());
    answer.previous = cause.previous.clone();
    answer.cause_first_seen = Some(format_rfc3339(cause.first_seen));
    answer.explains = cause.excess_share.clamp(0.0, 1.0);
    answer.confidence = answer.explains * (1.0 - step.p_value.max(cause.p_holm));
    answer.affected = Affected {
        requests: count,
        share: if step.after > 0 { count as f64 / step.after as f64 } else { 0.0 },
        services: services.into_iter().collect(),
    };
    let mut cue_list: Vec<(&str, u64)> = cues.into_iter().collect();
    cue_list.sort_by_key(|c| std::cmp::Reverse(c.1));
    answer.evidence.insert(
        1,
        Evidence {
            statement: format!(
                "{}={} (first seen {}, {}): {}; its suspect requests show {}",
                cause.feature.dimension,
                cause.feature.value,
                format_rfc3339(cause.first_seen),
                cause.change.replace('_', " "),
                cause.reason,
                cue_list.iter().take(4).map(|(c, n)| format!("{c} ×{n}")).collect::<Vec<_>>().join(", ")
            ),
            test: Some(format!(
                "one-sided Fisher exact test against {}, Holm-corrected over {} candidates",
                cause.reference.2,
                scored.len()
            )),
            p_value: Some(cause.p_holm),
            requests: examples,
        },
    );
    answer
}

/// The suspect share in [`SERIES_BUCKETS`] equal buckets of the window.
fn series(requests: &[Request], window: Window) -> Vec<SeriesPoint> {
    let width = (window.until.saturating_sub(window.since) / SERIES_BUCKETS).max(1);
    let mut buckets = vec![(0u64, 0u64); SERIES_BUCKETS as usize];
    for r in requests {
        let i = (r.start.saturating_sub(window.since) / width).min(SERIES_BUCKETS - 1) as usize;
        buckets[i].0 += 1;
        buckets[i].1 += u64::from(r.suspect);
    }
    buckets
        .into_iter()
        .enumerate()
        .map(|(i, (requests, suspect))| SeriesPoint {
            at: format_rfc3339(window.since + i as u64 * width),
            requests,
            suspect,
            share: if requests > 0 { suspect as f64 / requests as f64 } else { 0.0 },
        })
        .collect()
}

fn checked(layer: Layer) -> String {
    match layer {
        Layer::Infra => "index and retrieval versions, tool schema versions (per tool), deploys (per service), slow tools, services, resource attributes",
        Layer::Data => "question language, new versus returning users, request attributes",
        Layer::Prompt => "prompt versions and names, system-instruction and tool-definition fingerprints",
        Layer::Model => "served and requested models, provider fingerprints",
    }
    .into()
}

fn list(scored: &[&Scored]) -> String {
    if scored.is_empty() {
        return String::new();
    }
    let items: Vec<String> = scored
        .iter()
        .map(|s| format!("{}={} ({})", s.feature.dimension, s.feature.value, s.verdict.as_str()))
        .collect();
    format!(": {}", items.join(", "))
}

fn ruled_out(s: &Scored, verdict: &str, reason: String) -> RuledOut {
    RuledOut {
        layer: s.layer.as_str().into(),
        dimension: s.feature.dimension.clone(),
        value: s.feature.value.clone(),
        scope: (!s.feature.scope.is_empty()).then(|| s.feature.scope.clone()),
        previous: s.previous.clone(),
        first_seen: format_rfc3339(s.first_seen),
        verdict: verdict.into(),
        reason,
    }
}

/// The cues whose share rose across the onset, as evidence of what the failures look like.
fn cue_evidence(answer: &mut Triage, requests: &[Request], split: usize) {
    let (before, after) = requests.split_at(split);
    if before.is_empty() || after.is_empty() {
        return;
    }
    let share = |set: &[Request], cue: Cue| set.iter().filter(|r| r.has(cue)).count() as f64 / set.len() as f64;
    let moved: Vec<String> = Cue::ALL
        .iter()
        .map(|c| (*c, share(before, *c), share(after, *c)))
        .filter(|(_, b, a)| a - b >= 0.05 && *a >= 2.0 * b)
        .map(|(c, b, a)| format!("{} {:.1}% → {:.1}%", c.as_str(), b * 100.0, a * 100.0))
        .collect();
    if !moved.is_empty() {
        answer.evidence.push(Evidence {
            statement: format!("what rose across the onset: {}", moved.join(", ")),
            test: None,
            p_value: None,
            requests: Vec::new(),
        });
    }
}

/// Distribution tests of the signals, before against after the onset.
fn drift(requests: &[Request], split: usize) -> Vec<Drift> {
    let (before, after) = requests.split_at(split);
    type Pick = fn(&Request) -> Option<f64>;
    let numeric: [(&str, Pick); 6] = [
        ("question_chars", |r| (r.question_chars > 0).then_some(f64::from(r.question_chars))),
        ("answer_chars", |r| (r.answer_chars > 0).then_some(f64::from(r.answer_chars))),
        ("retrieval_top_score", |r| r.top_score),
        ("retrieved_documents", |r| Some(f64::from(r.documents))),
        ("latency_ms", |r| Some(r.latency_ms)),
        ("output_tokens", |r| (r.output_tokens > 0).then_some(r.output_tokens as f64)),
    ];
    let mut tested: Vec<Drift> = Vec::new();
    for (name, pick) in numeric {
        let a: Vec<f64> = before.iter().filter_map(pick).collect();
        let b: Vec<f64> = after.iter().filter_map(pick).collect();
        if let Some((d, p)) = significance::kolmogorov_smirnov(&a, &b) {
            tested.push(Drift {
                signal: name.into(),
                before: format!("median {:.2}", median(&a)),
                after: format!("median {:.2}", median(&b)),
                test: "kolmogorov_smirnov".into(),
                statistic: d,
                p_holm: p,
            });
        }
    }
    let languages = |set: &[Request]| {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for r in set {
            *counts.entry(r.question_language.clone().unwrap_or_else(|| "unknown".into())).or_default() += 1;
        }
        counts
    };
    let (lb, la) = (languages(before), languages(after));
    let keys: Vec<&String> =
        lb.keys().chain(la.keys()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let cb: Vec<u64> = keys.iter().map(|k| lb.get(*k).copied().unwrap_or(0)).collect();
    let ca: Vec<u64> = keys.iter().map(|k| la.get(*k).copied().unwrap_or(0)).collect();
    if let Some((x, p)) = significance::chi_square(&cb, &ca) {
        let top = |counts: &BTreeMap<String, u64>| {
            let total: u64 = counts.values().sum();
            let mut items: Vec<(&String, &u64)> = counts.iter().collect();
            items.sort_by(|a, b| b.1.cmp(a.1));
            items
                .iter()
                .take(3)
                .map(|(k, v)| format!("{k} {:.0}%", **v as f64 * 100.0 / total.max(1) as f64))
                .collect::<Vec<_>>()
                .join(", ")
        };
        tested.push(Drift {
            signal: "input_language".into(),
            before: top(&lb),
            after: top(&la),
            test: "chi_square".into(),
            statistic: x,
            p_holm: p,
        });
    }
    let adjusted = significance::holm(&tested.iter().map(|d| d.p_holm).collect::<Vec<_>>());
    for (d, p) in tested.iter_mut().zip(adjusted) {
        d.p_holm = p;
    }
    tested.retain(|d| d.p_holm < attribution::ALPHA);
    tested
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehound_store::model::VersionDimension as D;

    const MINUTE: u64 = 60_000_000_000;
    const START: u64 = 1_790_812_800_000_000_000;

    /// Two hours of traffic, one request a minute per service of four, 3% failing; `at(i, s)`
    /// gives each request's versions and whether it fails.
    fn day(at: impl Fn(u64, usize) -> (Vec<(D, &'static str)>, bool)) -> Vec<Request> {
        let services = ["a", "b", "c", "d"];
        let mut out = Vec::new();
        for minute in 0..240u64 {
            for (s, service) in services.iter().enumerate() {
                let (versions, fails) = at(minute, s);
                let noise = (minute * 7 + s as u64 * 13).is_multiple_of(33);
                out.push(Request::synthetic(START + minute * MINUTE + s as u64, service, &versions, fails || noise));
            }
        }
        out
    }

    fn verdict(requests: &[Request]) -> Triage {
        decide(requests, Window { since: START, until: START + 240 * MINUTE }, &HashMap::new(), false)
    }

    #[test]
    fn a_new_index_that_fails_is_the_infra_cause_with_its_predecessor() {
        let requests = day(|m, s| {
            let index = if m < 120 { "idx-1" } else { "idx-2" };
            (vec![(D::IndexVersion, index)], m >= 120 && s % 2 == 0)
        });
        let t = verdict(&requests);
        assert!(t.incident);
        assert_eq!(t.layer.as_deref(), Some("infra"));
        assert_eq!((t.dimension.as_deref(), t.value.as_deref()), (Some("index_version"), Some("idx-2")));
        assert_eq!(t.previous.as_deref(), Some("idx-1"));
    }

    #[test]
    fn a_bump_first_seen_after_the_onset_is_ruled_out_as_appearing_after_it() {
        let requests = day(|m, s| {
            let index = if m < 120 { "idx-1" } else { "idx-2" };
            let prompt = if m < 150 { "v4" } else { "v5" };
            (vec![(D::IndexVersion, index), (D::PromptVersion, prompt)], m >= 120 && s % 2 == 0)
        });
        let t = verdict(&requests);
        let v5 = t.ruled_out.iter().find(|r| r.value == "v5").unwrap();
        assert_eq!(v5.verdict, "appeared_after_onset", "{v5:?}");
    }

    #[test]
    fn a_deploy_long_before_the_onset_fails_no_more_than_its_peers() {
        let requests = day(|m, s| {
            let deploy = if s == 0 && m >= 30 { "2.0" } else { "1.0" };
            let model = if m < 120 { "m-1" } else { "m-2" };
            (vec![(D::ServiceVersion, deploy), (D::ResponseModel, model)], m >= 120)
        });
        let t = verdict(&requests);
        assert_eq!(t.layer.as_deref(), Some("model"), "{:?}", t.ruled_out);
        let deploy = t.ruled_out.iter().find(|r| r.value == "2.0").unwrap();
        assert_eq!(deploy.verdict, "fails_no_more_than_peers", "{deploy:?}");
    }

    #[test]
    fn a_steady_failure_rate_is_no_incident_and_names_no_layer() {
        let requests = day(|m, _| (vec![(D::IndexVersion, if m < 60 { "idx-1" } else { "idx-2" })], false));
        let t = verdict(&requests);
        assert!(!t.incident);
        assert!(t.layer.is_none() && t.value.is_none());
    }

    #[test]
    fn of_two_values_on_the_same_requests_the_declared_version_is_named() {
        let requests = day(|m, s| {
            let (version, fingerprint) = if m < 120 || s > 1 { ("v7", "aaaa") } else { ("v8", "bbbb") };
            (vec![(D::PromptVersion, version), (D::SystemInstructionsFingerprint, fingerprint)], m >= 120 && s <= 1)
        });
        let t = verdict(&requests);
        assert_eq!((t.dimension.as_deref(), t.value.as_deref()), (Some("prompt_version"), Some("v8")));
        let fp = t.ruled_out.iter().find(|r| r.value == "bbbb").unwrap();
        assert_eq!(fp.verdict, "co_changed_with_cause", "{fp:?}");
    }
}
