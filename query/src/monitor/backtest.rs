//! Rules replayed over stored history: at every evaluation interval of a window, each rule
//! is judged on the traffic before that moment, as a live evaluation would have judged it,
//! and the firings are listed with their numbers. This is how a rule is calibrated before
//! it is trusted at 2 AM.
//!
//! # How one evaluation decides
//!
//! At time `t`, one series of one rule (one value of its split):
//! - the **window** is the requests that started in `[t − window, t)`;
//! - the **baseline** is the `baseline`'s worth of evaluation intervals before the window
//!   in which the rule was *not* breached, looking back at most 4 × `baseline`. Skipping
//!   breached stretches keeps an incident from becoming its own baseline, so a long
//!   incident stays firing instead of resolving once it fills the baseline;
//! - with fewer than `min_requests` in the window or `min_baseline_requests` in the
//!   baseline the series is *not judged* (counted in the answer), never breached;
//! - otherwise it is breached when the window's share is ≥ `ratio` × the baseline's and
//!   ≥ the baseline's + `min_increase`, **and** a one-sided Fisher exact test of the two
//!   shares gives p ≤ 0.05 / (evaluations per day × series of the rule). That Bonferroni
//!   level holds the chance of any false page, per rule and day, under 5 % on traffic
//!   that did not change: a rule tries that many moments and series, and a level of 0.05
//!   for each would page every day on noise.
//!
//! For `slow_share` the property is "slower than the baseline's 95th percentile", decided
//! afresh at each evaluation, so the baseline's share is about 5 % by construction.
//!
//! A series breached for `for` fires; a firing series whose breach has cleared for
//! `keep_firing_for` resolves. While it fires, the breach holds as long as the share stays at
//! or past the threshold, test or not (hysteresis), and through evaluations with too few
//! requests to judge: a thin window's p-value and request count waver, and each waver would
//! otherwise resolve the alert and page again for one incident. So an alert resolves on
//! traffic that clears it; when traffic stops, it stays firing (no data is no recovery). Silent cues (short, uncited, repeated, low retrieval
//! score) are judged against the norms of the whole replayed stretch, as triage judges
//! them against its window.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tracehound_store::{Store, TenantId};
use utoipa::{IntoParams, ToSchema};

use super::marked_requests;
use super::rules::{Rule, RuleSet, RuleView, Watched};
use super::series::quantile;
use crate::error::QueryError;
use crate::failing::{Window, WindowView};
use crate::timestamp::format_rfc3339;
use crate::triage::requests::Request;
use crate::triage::significance::fisher_greater;

/// The chance of any false page per rule and day.
pub const ALPHA_PER_DAY: f64 = 0.05;
/// How far back past its baseline a rule looks for unbreached traffic, in baselines.
const LOOKBACK_BASELINES: u64 = 4;
/// Default window: the last 24 hours.
pub const DEFAULT_WINDOW_NANOS: u64 = 24 * 3_600 * 1_000_000_000;
const DAY_NANOS: u64 = 24 * 3_600 * 1_000_000_000;
/// The quantile `slow_share` is measured against.
const SLOW_QUANTILE: f64 = 0.95;

/// Query string of `GET /api/v1/alerts/backtest`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BacktestParams {
    /// First evaluation after: RFC 3339 or an age. Default: 24 hours before `until`.
    pub since: Option<String>,
    /// Last evaluation at or before. Default: now.
    pub until: Option<String>,
}

/// One firing: when a rule fired for one series, on what numbers, and when it resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Firing {
    /// The rule's name.
    pub rule: String,
    /// The series' labels (`{"service": "checkout"}`); empty for all traffic.
    pub labels: BTreeMap<String, String>,
    /// The evaluation at which it fired, RFC 3339.
    pub fired_at: String,
    /// The evaluation at which it resolved; absent while still firing at the window's end.
    pub resolved_at: Option<String>,
    /// The window's share when it fired.
    pub value: f64,
    /// The share it had to reach: max(ratio × baseline, baseline + min_increase).
    pub threshold: f64,
    /// The baseline's share.
    pub baseline: f64,
    /// Requests in the window.
    pub requests: u64,
    /// Requests in the baseline.
    pub baseline_requests: u64,
    /// The one-sided Fisher exact test's p-value.
    pub p_value: f64,
    /// The level it had to pass (Bonferroni over evaluations per day and series).
    pub level: f64,
}

/// A series that could not always be judged for want of requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NotJudged {
    /// The rule's name.
    pub rule: String,
    /// The series' labels.
    pub labels: BTreeMap<String, String>,
    /// Evaluations of the window it was not judged at.
    pub evaluations: u64,
}

/// The answer of `GET /api/v1/alerts/backtest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BacktestAnswer {
    /// The evaluated window.
    pub window: WindowView,
    /// Seconds between evaluations.
    pub interval_seconds: u64,
    /// Where the rules came from: `built-in` or the rules file.
    pub rules_source: String,
    /// The rules replayed.
    pub rules: Vec<RuleView>,
    /// Evaluations of each series in the window.
    pub evaluations: u64,
    /// What fired, in order of firing.
    pub firings: Vec<Firing>,
    /// Series with evaluations that had too few requests to judge.
    pub not_judged: Vec<NotJudged>,
    /// The test that decides, in words.
    pub test: String,
    /// True when the stretch held more requests than one read takes (250,000): a sample of
    /// them by trace id across the stretch was judged, its counts those of the sample.
    pub truncated: bool,
}

/// Replays `rules` over `window`: every evaluation at an interval boundary in
/// `(since, until]`, each on the traffic before it.
pub fn backtest(
    store: &Store,
    tenant: TenantId,
    rules: &RuleSet,
    window: Window,
) -> Result<BacktestAnswer, QueryError> {
    let interval = rules.interval.max(1);
    let lookback = rules.rules.iter().map(|r| r.window + LOOKBACK_BASELINES * r.baseline).max().unwrap_or(0);
    let origin = (window.since.saturating_sub(lookback) / interval) * interval;
    let (requests, truncated) = marked_requests(store, tenant, origin, window.until)?;
    let mut firings = Vec::new();
    let mut not_judged = Vec::new();
    for rule in &rules.rules {
        let outcome = replay(rule, &requests, origin, window, interval);
        firings.extend(outcome.firings);
        not_judged.extend(outcome.not_judged);
    }
    firings.sort_by(|a, b| a.fired_at.cmp(&b.fired_at).then_with(|| a.rule.cmp(&b.rule)));
    let evaluations = (window.until / interval).saturating_sub(window.since / interval);
    Ok(BacktestAnswer {
        window: window.into(),
        interval_seconds: interval / 1_000_000_000,
        rules_source: rules.source.clone(),
        rules: rules.rules.iter().map(Rule::view).collect(),
        evaluations,
        firings,
        not_judged,
        test: format!(
            "one-sided Fisher exact test of the window's share against the baseline's, at {ALPHA_PER_DAY} per rule \
             and day (Bonferroni over evaluations per day and the rule's series), beside the rule's ratio and \
             minimum increase"
        ),
        truncated,
    })
}

/// One interval of one series: requests, those with the property, and their latencies
/// when the rule needs them.
#[derive(Debug, Clone, Default)]
struct Cell {
    requests: u64,
    hits: u64,
    latencies: Vec<f64>,
}

/// What one evaluation found.
#[derive(Debug, Clone, Copy)]
struct Judgement {
    value: f64,
    threshold: f64,
    baseline: f64,
    requests: u64,
    baseline_requests: u64,
    p_value: f64,
}

struct Outcome {
    firings: Vec<Firing>,
    not_judged: Vec<NotJudged>,
}

fn replay(rule: &Rule, requests: &[Request], origin: u64, window: Window, interval: u64) -> Outcome {
    let cells_len = usize::try_from(window.until.saturating_sub(origin).div_ceil(interval)).unwrap_or(0);
    let mut per_value: BTreeMap<String, Vec<Cell>> = BTreeMap::new();
    for request in requests {
        let Ok(at) = usize::try_from(request.start.saturating_sub(origin) / interval) else { continue };
        if at >= cells_len {
            continue;
        }
        for value in rule.split.values(request) {
            let hit = match rule.watched {
                Watched::Share(share) => share.holds(request),
                Watched::Slow => false,
                Watched::ScoreFailing => request.scores.iter().any(|s| s.name == value && s.failing),
            };
            let cells = per_value.entry(value).or_insert_with(|| vec![Cell::default(); cells_len]);
            let cell = &mut cells[at];
            cell.requests += 1;
            cell.hits += u64::from(hit);
            if rule.watched == Watched::Slow {
                cell.latencies.push(request.latency_ms);
            }
        }
    }
    let evaluations_per_day = (DAY_NANOS / interval).max(1) as f64;
    let level = ALPHA_PER_DAY / (evaluations_per_day * per_value.len().max(1) as f64);
    let label = rule.split.label();
    let mut outcome = Outcome { firings: Vec::new(), not_judged: Vec::new() };
    for (value, cells) in per_value {
        let labels: BTreeMap<String, String> =
            label.map(|l| BTreeMap::from([(l.to_string(), value)])).unwrap_or_default();
        let series = SeriesReplay { rule, cells: &cells, origin, interval, level };
        let (firings, unjudged) = series.run(window);
        outcome.firings.extend(firings.into_iter().map(|(fired_at, resolved_at, j)| Firing {
            rule: rule.name.clone(),
            labels: labels.clone(),
            fired_at: format_rfc3339(fired_at),
            resolved_at: resolved_at.map(format_rfc3339),
            value: j.value,
            threshold: j.threshold,
            baseline: j.baseline,
            requests: j.requests,
            baseline_requests: j.baseline_requests,
            p_value: j.p_value,
            level,
        }));
        if unjudged > 0 {
            outcome.not_judged.push(NotJudged { rule: rule.name.clone(), labels, evaluations: unjudged });
        }
    }
    outcome
}

/// One series of one rule, evaluated interval by interval.
struct SeriesReplay<'a> {
    rule: &'a Rule,
    cells: &'a [Cell],
    origin: u64,
    interval: u64,
    level: f64,
}

impl SeriesReplay<'_> {
    /// The firings `(fired_at, resolved_at, numbers when fired)` and the evaluations in the
    /// window that could not be judged.
    #[allow(clippy::type_complexity)]
    fn run(&self, window: Window) -> (Vec<(u64, Option<u64>, Judgement)>, u64) {
        let rule = self.rule;
        let width = usize::try_from(rule.window / self.interval).unwrap_or(usize::MAX).max(1);
        let mut breached = vec![false; self.cells.len()];
        let mut firings = Vec::new();
        let mut unjudged = 0u64;
        let mut pending_since: Option<u64> = None;
        let mut firing: Option<(u64, Judgement)> = None;
        let mut last_breach = 0u64;
        for end in width..=self.cells.len() {
            // The evaluation at `t` judges the cells `[end − width, end)`.
            let t = self.origin + end as u64 * self.interval;
            let judged = self.judge(end - width..end, &breached);
            // Firing needs the test; staying fired needs only the share past the threshold.
            // On a thin window the test wavers while the share stays high, and each waver
            // would resolve the alert and page again for the same incident.
            // Too few requests to judge says nothing either way: a firing alert holds.
            let holding = firing.is_some();
            let breach = match judged {
                Some(j) => (j.value >= j.threshold && (holding || j.p_value <= self.level)).then_some(j),
                None if holding && t > window.since => firing.map(|(_, j)| j),
                None => None,
            };
            if breach.is_some() {
                breached[end - width..end].iter_mut().for_each(|b| *b = true);
            }
            if t <= window.since || t > window.until {
                continue;
            }
            if judged.is_none() {
                unjudged += 1;
            }
            match breach {
                Some(j) => {
                    last_breach = t;
                    let since = *pending_since.get_or_insert(t);
                    if firing.is_none() && t - since >= rule.for_duration {
                        firing = Some((t, j));
                    }
                }
                None => {
                    pending_since = None;
                    if let Some((fired_at, j)) = firing {
                        if t - last_breach >= rule.keep_firing_for {
                            firings.push((fired_at, Some(t), j));
                            firing = None;
                        }
                    }
                }
            }
        }
        if let Some((fired_at, j)) = firing {
            firings.push((fired_at, None, j));
        }
        (firings, unjudged)
    }

    /// The window `current` against its baseline; `None` when either has too few requests.
    fn judge(&self, current: std::ops::Range<usize>, breached: &[bool]) -> Option<Judgement> {
        let rule = self.rule;
        let want = usize::try_from(rule.baseline / self.interval).unwrap_or(usize::MAX).max(1);
        let reach = want.saturating_mul(LOOKBACK_BASELINES as usize);
        let baseline: Vec<&Cell> = (current.start.saturating_sub(reach)..current.start)
            .rev()
            .filter(|at| !breached[*at])
            .take(want)
            .map(|at| &self.cells[at])
            .collect();
        let window: &[Cell] = &self.cells[current];
        let requests: u64 = window.iter().map(|c| c.requests).sum();
        let baseline_requests: u64 = baseline.iter().map(|c| c.requests).sum();
        if requests < rule.min_requests || baseline_requests < rule.min_baseline_requests {
            return None;
        }
        let (hits, baseline_hits) = match rule.watched {
            Watched::Share(_) | Watched::ScoreFailing => {
                (window.iter().map(|c| c.hits).sum(), baseline.iter().map(|c| c.hits).sum())
            }
            Watched::Slow => {
                let mut latencies: Vec<f64> = baseline.iter().flat_map(|c| c.latencies.iter().copied()).collect();
                let slow = quantile(&mut latencies, SLOW_QUANTILE)?;
                let over = |cells: &mut dyn Iterator<Item = &Cell>| -> u64 {
                    cells.flat_map(|c| c.latencies.iter()).filter(|l| **l > slow).count() as u64
                };
                (over(&mut window.iter()), over(&mut baseline.iter().copied()))
            }
        };
        let value = hits as f64 / requests as f64;
        let base = baseline_hits as f64 / baseline_requests as f64;
        Some(Judgement {
            value,
            threshold: (rule.ratio * base).max(base + rule.min_increase),
            baseline: base,
            requests,
            baseline_requests,
            p_value: fisher_greater(hits, requests, baseline_hits, baseline_requests),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::metric::Share;
    use crate::triage::requests::ScoreMark;

    const MINUTE: u64 = 60_000_000_000;

    fn suspect_rule() -> Rule {
        RuleSet::defaults().rules.into_iter().find(|r| r.watched == Watched::Share(Share::Suspect)).unwrap()
    }

    /// `per_minute` requests a minute for `minutes`, the share `bad(minute)` of them suspect.
    fn traffic(minutes: u64, per_minute: u64, bad: impl Fn(u64) -> f64) -> Vec<Request> {
        let mut out = Vec::new();
        for minute in 0..minutes {
            let failing = (bad(minute) * per_minute as f64).round() as u64;
            for i in 0..per_minute {
                let start = minute * MINUTE + i * (MINUTE / per_minute);
                out.push(Request::synthetic(start + MINUTE * 1_000, "svc", &[], i < failing));
            }
        }
        out
    }

    fn run(rule: &Rule, requests: &[Request], minutes: u64) -> Vec<(u64, Option<u64>, Judgement)> {
        let origin = 1_000 * MINUTE;
        let mut cells = vec![Cell::default(); minutes as usize];
        for r in requests {
            let cell = &mut cells[((r.start - origin) / MINUTE) as usize];
            cell.requests += 1;
            cell.hits += u64::from(r.suspect);
        }
        let level = ALPHA_PER_DAY / 1_440.0;
        let series = SeriesReplay { rule, cells: &cells, origin, interval: MINUTE, level };
        series.run(Window { since: origin, until: origin + minutes * MINUTE }).0
    }

    #[test]
    fn a_step_from_3_to_30_percent_fires_within_minutes_and_never_before() {
        let requests = traffic(240, 8, |m| if m < 180 { 0.03 } else { 0.30 });
        let firings = run(&suspect_rule(), &requests, 240);
        assert_eq!(firings.len(), 1, "{firings:?}");
        let fired_minute = (firings[0].0 - 1_000 * MINUTE) / MINUTE;
        assert!((181..=190).contains(&fired_minute), "fired at minute {fired_minute}");
    }

    #[test]
    fn an_incident_longer_than_the_baseline_stays_firing() {
        let requests = traffic(480, 8, |m| if m < 120 { 0.03 } else { 0.30 });
        let firings = run(&suspect_rule(), &requests, 480);
        assert_eq!(firings.len(), 1, "{firings:?}");
        assert_eq!(firings[0].1, None, "still firing at the end: {firings:?}");
    }

    #[test]
    fn the_breach_clearing_resolves_after_keep_firing_for() {
        let requests = traffic(300, 8, |m| if (150..200).contains(&m) { 0.30 } else { 0.03 });
        let firings = run(&suspect_rule(), &requests, 300);
        assert_eq!(firings.len(), 1, "{firings:?}");
        let resolved = (firings[0].1.expect("resolved") - 1_000 * MINUTE) / MINUTE;
        assert!((200..=220).contains(&resolved), "resolved at minute {resolved}");
    }

    #[test]
    fn a_firing_alert_holds_while_the_share_stays_past_the_threshold_though_the_test_wavers() {
        // 4 requests a minute: 1 in 20 suspect, then half for 20 minutes, then 1 in 5: past
        // the 15 % threshold, but 8 of 40 against 5 % is too little for the corrected test.
        let requests: Vec<Request> = (0..300u64 * 4)
            .map(|n| {
                let minute = n / 4;
                let suspect = match minute {
                    0..180 => n % 20 == 0,
                    180..200 => n % 2 == 0,
                    _ => n % 5 == 0,
                };
                Request::synthetic(1_000 * MINUTE + n * (MINUTE / 4), "svc", &[], suspect)
            })
            .collect();
        let firings = run(&suspect_rule(), &requests, 300);
        assert_eq!(firings.len(), 1, "{firings:?}");
        assert_eq!(firings[0].1, None, "still firing: {firings:?}");
    }

    #[test]
    fn a_firing_alert_stays_firing_when_traffic_stops() {
        let requests: Vec<Request> = traffic(200, 8, |m| if m < 180 { 0.03 } else { 0.30 });
        let firings = run(&suspect_rule(), &requests, 260);
        assert_eq!(firings.len(), 1, "{firings:?}");
        assert_eq!(firings[0].1, None, "no data is no recovery: {firings:?}");
    }

    #[test]
    fn steady_traffic_with_noise_never_fires() {
        // 3 % on average, in bursts of up to 3 suspect requests a minute.
        let requests = traffic(1_440, 8, |m| {
            [0.0, 0.0, 0.125, 0.0, 0.0, 0.0, 0.0, 0.125, 0.0, 0.0, 0.0, 0.375][m as usize % 12] / 2.0
        });
        assert!(run(&suspect_rule(), &requests, 1_440).is_empty());
    }

    #[test]
    fn a_score_name_failing_more_often_fires_for_that_name_only() {
        let rule = RuleSet::defaults().rules.into_iter().find(|r| r.watched == Watched::ScoreFailing).unwrap();
        // Every request judged by two names; from minute 300, "correctness" fails half of them.
        let requests: Vec<Request> = (0..480u64 * 2)
            .map(|i| {
                let minute = i / 2;
                let mut r = Request::synthetic(1_000 * MINUTE + i * (MINUTE / 2), "svc", &[], false);
                let broken = minute >= 300 && i % 2 == 0;
                let mark = |name: &str, failing| ScoreMark { name: name.into(), value: None, failing };
                r.scores = vec![mark("correctness", broken), mark("tone", false)];
                r
            })
            .collect();
        let window = Window { since: 1_000 * MINUTE, until: 1_480 * MINUTE };
        let outcome = replay(&rule, &requests, 1_000 * MINUTE, window, MINUTE);
        let names: Vec<&str> = outcome.firings.iter().map(|f| f.labels["score"].as_str()).collect();
        assert_eq!(names, ["correctness"], "{:?}", outcome.firings);
        let fired = (crate::timestamp::parse_rfc3339(&outcome.firings[0].fired_at).unwrap() / MINUTE) - 1_000;
        assert!((300..=330).contains(&fired), "fired at minute {fired}");
    }

    #[test]
    fn a_quiet_hour_is_not_judged_rather_than_paged() {
        let mut rule = suspect_rule();
        rule.min_requests = 100;
        let requests = traffic(240, 2, |m| if m < 180 { 0.0 } else { 1.0 });
        assert!(run(&rule, &requests, 240).is_empty());
    }
}
