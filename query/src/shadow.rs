//! Shadow verdicts: requests sent twice, once to the live path and once to a shadow of it
//! (a new prompt, model or index answering the same input unseen), compared pair by pair.
//!
//! A request is a shadow when one of its spans names the request it shadows: an attribute
//! `tracehound.shadow_of` (or `shadow_of`, `app.shadow_of`) holding the primary's request id
//! or trace id, or a span link to the primary whose attributes say `link.type` (or
//! `tracehound.link.type`) `shadow_of`. Each shadow is paired with its primary, and the
//! triggers of the canary are judged on the pairs: resampling *pairs* keeps each input's two
//! answers together, so the comparison is of the same questions, not of two crowds.
//!
//! - `eval_score:<name>` (pairs where both carry the score): shadow mean more than 5 %
//!   lower; 30 pairs;
//! - `p99_latency`: shadow p99 more than 20 % higher; 100 pairs;
//! - `cost_per_request`: shadow mean cost more than 15 % higher; 30 priced pairs;
//! - `failing_share`: the shadow fails (loudly, by the failing reasons) more than 5 points
//!   more often than its primaries; 30 pairs;
//! - `safety`: any shadow stopped by a content filter or failing a safety eval.
//!
//! Each is decided by a one-sided percentile interval of 2,000 pair resamples at 95 %,
//! Bonferroni-corrected over the triggers tried, exactly as the canary decides: fired when
//! the whole interval is past the threshold, passed when wholly on the safe side, held
//! otherwise or with too few pairs.

use std::collections::{BTreeSet, HashMap};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tracehound_store::{Store, TenantId};
use utoipa::{IntoParams, ToSchema};

use crate::assess::{scan_window, Assessed, Criteria};
use crate::canary::{
    decide, is_safety, mean, p99, safety_trigger, safety_violation, undecided, verdict_of, Direction, Sides, Trigger,
    Verdict,
};
use crate::error::QueryError;
use crate::failing::{Window, WindowView};

const ALPHA: f64 = 0.05;
const MIN_PAIRS_FOR_MEAN: usize = 30;
const MIN_PAIRS_FOR_P99: usize = 100;

/// Query string of `GET /api/v1/shadow`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShadowParams {
    /// Oldest start: RFC 3339 or an age. Default: 24 hours ago.
    pub since: Option<String>,
    /// Start before which. Default: now.
    pub until: Option<String>,
}

/// The answer of `GET /api/v1/shadow`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ShadowAnswer {
    /// The window.
    pub window: WindowView,
    /// Shadows paired with their primary.
    pub pairs: usize,
    /// Shadows whose primary is not stored in the window.
    pub unpaired: usize,
    /// The verdict on the shadow.
    pub verdict: Verdict,
    /// Every trigger tried (`candidate_n` counts shadows, `baseline_n` primaries).
    pub triggers: Vec<Trigger>,
    /// The confidence each decided trigger was judged at.
    pub confidence: f64,
    /// True when the window held more requests than one scan reads.
    pub truncated: bool,
}

/// Pairs the window's shadows with their primaries and judges the triggers on the pairs.
pub fn shadow(store: &Store, tenant: TenantId, params: &ShadowParams, now: u64) -> Result<ShadowAnswer, QueryError> {
    let window = Window::parse(params.since.as_deref(), params.until.as_deref(), now, 24 * 3_600 * 1_000_000_000)?;
    let (assessed, truncated) = scan_window(store, tenant, window.since, window.until, &Criteria::default())?;
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for (index, a) in assessed.iter().enumerate() {
        by_id.insert(hex::encode(a.summary.trace_id), index);
        for id in &a.summary.request_ids {
            by_id.insert(id.clone(), index);
        }
    }
    let mut pairs: Vec<(&Assessed, &Assessed)> = Vec::new();
    let mut unpaired = 0;
    for a in &assessed {
        let Some(primary) = a.summary.signals.shadow_of.as_deref() else { continue };
        match by_id.get(primary).or_else(|| by_id.get(&primary.to_ascii_lowercase())) {
            Some(&index) if !std::ptr::eq(&assessed[index], a) => pairs.push((&assessed[index], a)),
            _ => unpaired += 1,
        }
    }
    let score_names: BTreeSet<String> = pairs
        .iter()
        .flat_map(|(p, s)| {
            let names = |a: &Assessed| a.own_scores().map(|(n, _)| n.to_string()).collect::<BTreeSet<_>>();
            names(p).intersection(&names(s)).cloned().collect::<Vec<_>>()
        })
        .filter(|n| !is_safety(n))
        .collect();
    let tested = 3 + score_names.len();
    let level = 1.0 - ALPHA / tested as f64;
    let mut rng = SmallRng::seed_from_u64(0x5ad0_0001);
    let mut triggers = Vec::new();
    for name in &score_names {
        let values: Vec<(f64, f64)> =
            pairs.iter().filter_map(|(p, s)| Some((score_mean(p, name)?, score_mean(s, name)?))).collect();
        let name = format!("eval_score:{name}");
        triggers.push(judge_pairs(
            name,
            &values,
            Direction::LowerIsWorse(0.95),
            mean,
            MIN_PAIRS_FOR_MEAN,
            level,
            &mut rng,
        ));
    }
    let latency = |a: &Assessed| a.summary.end_unix_nano.saturating_sub(a.summary.start_unix_nano) as f64 / 1e6;
    let latencies: Vec<(f64, f64)> = pairs.iter().map(|(p, s)| (latency(p), latency(s))).collect();
    let p99_rise = Direction::HigherIsWorse(1.20);
    triggers.push(judge_pairs("p99_latency".into(), &latencies, p99_rise, p99, MIN_PAIRS_FOR_P99, level, &mut rng));
    let cost = |a: &Assessed| crate::cost::prices().cost(&a.summary.usage_by_model);
    let costs: Vec<(f64, f64)> = pairs.iter().filter_map(|(p, s)| Some((cost(p)?, cost(s)?))).collect();
    let cost_rise = Direction::HigherIsWorse(1.15);
    triggers.push(judge_pairs("cost_per_request".into(), &costs, cost_rise, mean, MIN_PAIRS_FOR_MEAN, level, &mut rng));
    let failing: Vec<(f64, f64)> =
        pairs.iter().map(|(p, s)| (f64::from(u8::from(p.failing())), f64::from(u8::from(s.failing())))).collect();
    let share_rise = Direction::RiseAbove(0.05);
    triggers.push(judge_pairs("failing_share".into(), &failing, share_rise, mean, MIN_PAIRS_FOR_MEAN, level, &mut rng));
    let violations = pairs.iter().filter(|(_, s)| safety_violation(s)).count();
    let primary_violations = pairs.iter().filter(|(p, _)| safety_violation(p)).count();
    triggers.push(safety_trigger(violations, (pairs.len(), pairs.len()), primary_violations, SHADOW));
    let verdict = verdict_of(&triggers);
    Ok(ShadowAnswer {
        window: window.into(),
        pairs: pairs.len(),
        unpaired,
        verdict,
        triggers,
        confidence: level,
        truncated,
    })
}

/// The shadow's sides.
const SHADOW: Sides = Sides { judged: "shadow", against: "primary" };

/// One trigger judged on the pairs `(primary, shadow)`, resampling pairs.
#[allow(clippy::too_many_arguments)]
fn judge_pairs(
    name: String,
    pairs: &[(f64, f64)],
    direction: Direction,
    statistic: fn(&[f64]) -> Option<f64>,
    min_pairs: usize,
    level: f64,
    rng: &mut SmallRng,
) -> Trigger {
    let sizes = (pairs.len(), pairs.len());
    if pairs.len() < min_pairs {
        let detail = format!("not enough data: {} pairs, {min_pairs} needed", pairs.len());
        return undecided(name, direction, sizes, detail);
    }
    // (shadow, primary): the judged side first, as the decision reads them.
    let figures = |sample: &[(f64, f64)]| {
        let primary: Vec<f64> = sample.iter().map(|p| p.0).collect();
        let shadow: Vec<f64> = sample.iter().map(|p| p.1).collect();
        Some((statistic(&shadow)?, statistic(&primary)?))
    };
    let draw = || {
        let sample: Vec<(f64, f64)> = (0..pairs.len()).map(|_| pairs[rng.random_range(0..pairs.len())]).collect();
        figures(&sample)
    };
    let mut trigger = decide(name, direction, sizes, figures(pairs), draw, level, SHADOW);
    trigger.detail = format!("{} over {} pairs, resampled as pairs", trigger.detail, pairs.len());
    trigger
}

/// The mean of a request's own values of score `name`.
fn score_mean(a: &Assessed, name: &str) -> Option<f64> {
    let values: Vec<f64> = a.own_scores().filter(|(n, _)| *n == name).map(|(_, v)| v).collect();
    mean(&values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canary::TriggerState;
    use crate::test_support::{llm_span, span, Fixture, MS, T0};
    use tracehound_store::model::{AttrValue, KeyValue, Span, StatusCode, TokenUsage};

    /// Pair `n`: a primary and its shadow, `primary_ms` and `shadow_ms` long; the shadow
    /// fails when `shadow_fails`.
    fn pair(n: u16, primary_ms: u64, shadow_ms: u64, shadow_fails: bool) -> [Vec<Span>; 2] {
        let request = |shadow: bool, ms: u64, fails: bool| {
            let mut trace = [if shadow { 9u8 } else { 8u8 }; 16];
            trace[..2].copy_from_slice(&n.to_be_bytes());
            let mut root = span(1, 1, None, u64::from(n) * 10);
            root.trace_id = trace;
            root.end_unix_nano = root.start_unix_nano + ms * MS;
            root.request_id = Some(format!("req-{n}{}", if shadow { "-shadow" } else { "" }));
            if shadow {
                root.raw.attributes.push(KeyValue {
                    key: "tracehound.shadow_of".into(),
                    value: Some(AttrValue::Str(format!("req-{n}"))),
                });
            }
            if fails {
                root.status = StatusCode::Error;
            }
            let mut call = llm_span(1, 2, Some(1), u64::from(n) * 10, "Where is my order?", "On its way.");
            call.trace_id = trace;
            if let Some(llm) = call.llm.as_mut() {
                llm.usage = TokenUsage { input: Some(100), output: Some(20), ..Default::default() };
            }
            vec![root, call]
        };
        [request(false, primary_ms, false), request(true, shadow_ms, shadow_fails)]
    }

    fn answer(fixture: &Fixture) -> ShadowAnswer {
        let params =
            ShadowParams { since: Some("1970-01-01T00:00:00Z".into()), until: Some("2100-01-01T00:00:00Z".into()) };
        shadow(&fixture.store, TenantId::DEFAULT, &params, T0).unwrap()
    }

    fn trigger<'a>(a: &'a ShadowAnswer, name: &str) -> &'a Trigger {
        a.triggers.iter().find(|t| t.name == name).unwrap()
    }

    #[test]
    fn a_shadow_is_paired_with_the_request_it_names() {
        let fixture = Fixture::new();
        for spans in pair(1, 100, 100, false) {
            fixture.write(spans);
        }
        let a = answer(&fixture);
        assert_eq!((a.pairs, a.unpaired), (1, 0));
        assert_eq!(a.verdict, Verdict::Hold, "one pair decides nothing: {:?}", a.triggers);
    }

    #[test]
    fn a_shadow_whose_primary_is_not_stored_is_counted_unpaired() {
        let fixture = Fixture::new();
        fixture.write(pair(1, 100, 100, false)[1].clone());
        assert_eq!(answer(&fixture).unpaired, 1);
    }

    #[test]
    fn a_shadow_failing_more_often_on_the_same_inputs_is_rolled_back() {
        let fixture = Fixture::new();
        for n in 0..200u16 {
            for spans in pair(n, 100, 100, n % 3 == 0) {
                fixture.write(spans);
            }
        }
        let a = answer(&fixture);
        assert_eq!(trigger(&a, "failing_share").state, TriggerState::Fired, "{:?}", trigger(&a, "failing_share"));
        assert_eq!(a.verdict, Verdict::Rollback);
    }

    #[test]
    fn a_shadow_as_good_as_its_primaries_is_promoted() {
        let fixture = Fixture::new();
        for n in 0..200u16 {
            let ms = 100 + u64::from(n % 13);
            for spans in pair(n, ms, ms + u64::from(n % 3), false) {
                fixture.write(spans);
            }
        }
        let a = answer(&fixture);
        assert_eq!(a.pairs, 200);
        assert_eq!(a.verdict, Verdict::Promote, "{:?}", a.triggers);
    }
}
