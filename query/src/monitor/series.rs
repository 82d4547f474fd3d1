//! `GET /api/v1/series`: one metric over time, in buckets of `step`, split by a dimension.
//!
//! A bucket with no request has no value (`null`), never a zero: a quiet minute is not a
//! perfect one. Splits keep the [`MAX_SERIES`] values with the most requests and fold the
//! rest into one series labelled `other`, so a high-cardinality dimension cannot make the
//! answer unbounded.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use tracehound_store::{Store, TenantId};
use utoipa::{IntoParams, ToSchema};

use super::marked_requests;
use super::metric::{Metric, Split};
use super::rollup::{
    family_code, latency_quantile, merge_buckets, roll_minute, stored_cells, Cell, MinuteCache, MINUTE,
};
use crate::error::QueryError;
use crate::failing::{Window, WindowView};
use crate::params::non_empty;
use crate::time_range::{now_unix_nanos, parse_duration};
use crate::timestamp::format_rfc3339;
use crate::triage::requests::Request;

/// Series at most in one answer; the rest are folded into `other`.
pub const MAX_SERIES: usize = 10;
/// Buckets at most in one series: 7 days at 1-minute steps fit.
pub const MAX_POINTS: u64 = 20_160;
/// Default window: the last 24 hours.
pub const DEFAULT_WINDOW_NANOS: u64 = 24 * 3_600 * 1_000_000_000;
/// The label value of the folded series.
pub const OTHER: &str = "other";

const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// Query string of `GET /api/v1/series`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesParams {
    /// What to measure: `requests`, `suspect_share`, `failing_share`, `abstention_share`,
    /// `error_share`, `refusal_share` (any cue as `<cue>_share`), `latency_p50`, `latency_p95`,
    /// `latency_p99`, `tokens`, `input_tokens`, `output_tokens`, `cost_per_request`,
    /// `score_mean:<score name>`. Default: `suspect_share`.
    pub metric: Option<String>,
    /// Split into one series per `service`, `language`, or version dimension value
    /// (`prompt_version`, `response_model`, ...). Default: one series.
    pub by: Option<String>,
    /// Oldest start: RFC 3339 or an age. Default: 24 hours before `until`.
    pub since: Option<String>,
    /// Start before which. Default: now.
    pub until: Option<String>,
    /// Bucket width: `1m`, `5m`, `1h`, ... Default: the window over 120 buckets, at least 1 minute.
    pub step: Option<String>,
}

/// One bucket of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Point {
    /// The bucket's start, RFC 3339.
    pub time: String,
    /// Requests of the series in the bucket.
    pub requests: u64,
    /// The metric, `null` when the bucket has nothing to measure.
    pub value: Option<f64>,
}

/// One series: its labels and its buckets, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Series {
    /// The split's label and this series' value (`{"service": "checkout"}`); empty unsplit.
    pub labels: BTreeMap<String, String>,
    /// Requests over the whole window.
    pub requests: u64,
    /// One point per bucket.
    pub points: Vec<Point>,
}

/// The answer of `GET /api/v1/series`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SeriesAnswer {
    /// The metric's name.
    pub metric: String,
    /// The split's label, absent unsplit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The window.
    pub window: WindowView,
    /// Bucket width, seconds.
    pub step_seconds: u64,
    /// The series, most requests first; `other` last.
    pub series: Vec<Series>,
    /// Values folded into `other`.
    pub folded_values: usize,
    /// True when the window held more requests than one read takes: a sample of them by
    /// trace id was counted (never so from the roll-ups).
    pub truncated: bool,
    /// Minutes read from the per-minute aggregates kept as data arrives.
    #[serde(default)]
    pub rolled_up_minutes: u64,
    /// Minutes computed when asked (too recent, or not rolled up yet).
    #[serde(default)]
    pub computed_minutes: u64,
}

/// A series request, read and checked.
#[derive(Debug, Clone)]
pub struct SeriesQuery {
    /// What to measure.
    pub metric: Metric,
    /// How to split.
    pub split: Split,
    /// The window.
    pub window: Window,
    /// Bucket width, ns.
    pub step: u64,
}

impl SeriesQuery {
    /// Reads the parameters; ages count back from `now`.
    pub fn parse(params: &SeriesParams, now: u64) -> Result<SeriesQuery, QueryError> {
        let metric = match non_empty(&params.metric) {
            Some(name) => Metric::parse(name)
                .map_err(|e| QueryError::InvalidParameter { name: "metric", reason: e.to_string() })?,
            None => Metric::Share(super::metric::Share::Suspect),
        };
        let split = Split::parse(non_empty(&params.by))
            .map_err(|e| QueryError::InvalidParameter { name: "by", reason: e.to_string() })?;
        let window = Window::parse(params.since.as_deref(), params.until.as_deref(), now, DEFAULT_WINDOW_NANOS)?;
        let span = window.until - window.since;
        let step = match non_empty(&params.step) {
            Some(text) => parse_duration(text).ok().filter(|step| *step >= NANOS_PER_SECOND).ok_or_else(|| {
                QueryError::InvalidParameter {
                    name: "step",
                    reason: format!("{text:?} is not a duration of at least 1s like 1m, 5m or 1h"),
                }
            })?,
            None => (span / 120).max(60 * NANOS_PER_SECOND).div_ceil(NANOS_PER_SECOND) * NANOS_PER_SECOND,
        };
        let points = span.div_ceil(step);
        if points > MAX_POINTS {
            return Err(QueryError::InvalidParameter {
                name: "step",
                reason: format!(
                    "{points} buckets; at most {MAX_POINTS} fit in one answer: take a longer step or a shorter window"
                ),
            });
        }
        Ok(SeriesQuery { metric, split, window, step })
    }
}

/// What one bucket of one series holds, enough for any metric.
#[derive(Debug, Clone, Default)]
struct Bucket {
    requests: u64,
    hits: u64,
    values: Vec<f64>,
}

/// The series of `query` over the tenant's traffic: from the per-minute aggregates when the
/// step is whole minutes and the roller keeps them (the window then widens to whole
/// minutes), else from the requests themselves.
pub fn series(store: &Store, tenant: TenantId, query: &SeriesQuery) -> Result<SeriesAnswer, QueryError> {
    if query.step.is_multiple_of(MINUTE) {
        if let Some(cursor) = store.rollup_cursor()? {
            // What the roller has not followed yet may fall in any minute: those minutes are
            // computed here; far behind, the requests are read instead.
            let unfollowed = store.changes_after(cursor, MAX_UNFOLLOWED)?;
            if unfollowed.len() < MAX_UNFOLLOWED {
                let mut touched = HashSet::new();
                for (t, trace) in unfollowed.iter().flat_map(|c| c.traces.iter()) {
                    if *t == tenant {
                        if let Some(summary) = store.trace_summary(tenant, trace)? {
                            touched.insert(summary.start_unix_nano / MINUTE);
                        }
                    }
                }
                return series_from_rollups(store, tenant, query, now_unix_nanos(), touched);
            }
        }
    }
    series_from_requests(store, tenant, query)
}

/// Change-log entries the roller may lag behind before a series reads requests instead.
const MAX_UNFOLLOWED: usize = 2_048;

/// Minutes this close to now are computed when asked: the roller has not settled them.
const UNSETTLED: u64 = 3 * MINUTE;

fn series_from_rollups(
    store: &Store,
    tenant: TenantId,
    query: &SeriesQuery,
    now: u64,
    mut dirty: HashSet<u64>,
) -> Result<SeriesAnswer, QueryError> {
    let first = query.window.since / MINUTE;
    let end = query.window.until.div_ceil(MINUTE).max(first + 1);
    let window = Window { since: first * MINUTE, until: end * MINUTE };
    let family = family_code(query.split);
    // The unfollowed changes were read before these: a minute is then seen either in them,
    // dirty, or with its row.
    let stored = stored_cells(store, tenant, family, first, end - 1)?;
    dirty.extend(stored.dirty);
    let stored = stored.by_minute;
    let unsettled_from = now.saturating_sub(UNSETTLED) / MINUTE;
    let minutes_per_step = query.step / MINUTE;
    let buckets = usize::try_from((end - first).div_ceil(minutes_per_step)).unwrap_or(0);
    let mut per_value: HashMap<String, Vec<Agg>> = HashMap::new();
    let (mut rolled, mut computed) = (0u64, 0u64);
    let mut cache = MinuteCache::default();
    for minute in first..end {
        let at = usize::try_from((minute - first) / minutes_per_step).unwrap_or(usize::MAX);
        let fresh;
        let cells = match stored.get(&minute) {
            Some(cells) if !dirty.contains(&minute) && minute < unsettled_from => {
                rolled += 1;
                cells
            }
            // No row, not dirty and settled: nothing started in that minute.
            None if !dirty.contains(&minute) && minute < unsettled_from => continue,
            _ => {
                computed += 1;
                let families = roll_minute(store, tenant, minute, &mut cache)?;
                fresh = families.into_iter().find(|(code, _)| *code == family).map(|(_, c)| c).unwrap_or_default();
                &fresh
            }
        };
        for cell in cells {
            let row = match per_value.get_mut(&cell.value) {
                Some(row) => row,
                None => per_value.entry(cell.value.clone()).or_insert_with(|| vec![Agg::default(); buckets]),
            };
            if let Some(slot) = row.get_mut(at) {
                slot.absorb(&query.metric, cell);
            }
        }
    }
    let total = |rows: &[Agg]| rows.iter().map(|a| a.weight(&query.metric)).sum::<u64>();
    let per_value = per_value.into_iter().filter(|(_, rows)| total(rows) > 0).collect();
    let (kept, folded_values) = keep_the_largest(per_value, &total, buckets, |a: &mut Agg, b| a.add(&b));
    let label = query.split.label();
    let series = kept
        .into_iter()
        .map(|(value, rows)| Series {
            labels: label.map(|l| BTreeMap::from([(l.to_string(), value)])).unwrap_or_default(),
            requests: total(&rows),
            points: rows
                .iter()
                .enumerate()
                .map(|(at, agg)| Point {
                    time: format_rfc3339(window.since + at as u64 * query.step),
                    requests: agg.weight(&query.metric),
                    value: agg.value(&query.metric),
                })
                .collect(),
        })
        .collect();
    Ok(SeriesAnswer {
        metric: query.metric.to_string(),
        by: label.map(str::to_string),
        window: window.into(),
        step_seconds: query.step / NANOS_PER_SECOND,
        series,
        folded_values,
        truncated: false,
        rolled_up_minutes: rolled,
        computed_minutes: computed,
    })
}

/// One bucket of one series summed from cells: only what the metric needs, so a week of
/// minutes adds numbers instead of copying whole cells.
#[derive(Debug, Clone, Default)]
struct Agg {
    requests: u64,
    sum: f64,
    n: u64,
    latency: Vec<(i32, u32)>,
}

impl Agg {
    fn absorb(&mut self, metric: &Metric, cell: &Cell) {
        self.requests += cell.requests;
        match metric {
            Metric::Requests => {}
            Metric::Share(share) => self.sum += cell.share(*share) as f64,
            Metric::Latency(_) => merge_buckets(&mut self.latency, &cell.latency),
            Metric::Tokens => self.sum += (cell.input_tokens + cell.output_tokens) as f64,
            Metric::InputTokens => self.sum += cell.input_tokens as f64,
            Metric::OutputTokens => self.sum += cell.output_tokens as f64,
            Metric::CostPerRequest => {
                self.sum += cell.cost;
                self.n += cell.priced;
            }
            Metric::ScoreMean(name) => {
                if let Some((sum, n)) = cell.score(name) {
                    self.sum += sum;
                    self.n += n;
                }
            }
        }
    }

    fn add(&mut self, other: &Agg) {
        self.requests += other.requests;
        self.sum += other.sum;
        self.n += other.n;
        merge_buckets(&mut self.latency, &other.latency);
    }

    /// What the bucket counts: its score values for a score mean, else its requests.
    fn weight(&self, metric: &Metric) -> u64 {
        match metric {
            Metric::ScoreMean(_) => self.n,
            _ => self.requests,
        }
    }

    fn value(&self, metric: &Metric) -> Option<f64> {
        match metric {
            Metric::Requests => Some(self.requests as f64),
            Metric::Latency(q) => latency_quantile(&self.latency, *q),
            Metric::CostPerRequest | Metric::ScoreMean(_) => (self.n > 0).then(|| self.sum / self.n as f64),
            _ => (self.requests > 0).then(|| self.sum / self.requests as f64),
        }
    }
}

/// The series computed from the requests of the window, their silent cues judged against
/// the window's own traffic.
fn series_from_requests(store: &Store, tenant: TenantId, query: &SeriesQuery) -> Result<SeriesAnswer, QueryError> {
    let window = query.window;
    let (requests, truncated) = marked_requests(store, tenant, window.since, window.until)?;
    let buckets = usize::try_from(window.until.saturating_sub(window.since).div_ceil(query.step)).unwrap_or(0);
    let bucket_of = |start: u64| usize::try_from((start.saturating_sub(window.since)) / query.step).ok();

    let mut per_value: HashMap<String, Vec<Bucket>> = HashMap::new();
    let mut add = |value: &str, at: usize, bucket: &dyn Fn(&mut Bucket)| {
        let row = per_value.entry(value.to_string()).or_insert_with(|| vec![Bucket::default(); buckets]);
        if let Some(slot) = row.get_mut(at) {
            bucket(slot);
        }
    };
    match &query.metric {
        Metric::ScoreMean(name) => {
            // The scan joined each request's scores; a request's values of the name each count.
            let scored = requests.iter().flat_map(|r| r.scores.iter().filter(|s| s.name == *name).map(move |s| (r, s)));
            for (request, value) in scored.filter_map(|(r, s)| Some((r, s.value?))) {
                let Some(at) = bucket_of(request.start) else { continue };
                for label in query.split.values(request) {
                    add(&label, at, &|b: &mut Bucket| {
                        b.requests += 1;
                        b.values.push(value);
                    });
                }
            }
        }
        metric => {
            for request in &requests {
                let Some(at) = bucket_of(request.start) else { continue };
                for label in query.split.values(request) {
                    add(&label, at, &|b: &mut Bucket| record(metric, request, b));
                }
            }
        }
    }

    let (kept, folded_values) = keep_the_largest(per_value, &|rows: &[Bucket]| total(rows), buckets, |a, b| {
        a.requests += b.requests;
        a.hits += b.hits;
        a.values.extend(b.values);
    });

    let label = query.split.label();
    let series = kept
        .into_iter()
        .map(|(value, rows)| Series {
            labels: label.map(|l| BTreeMap::from([(l.to_string(), value)])).unwrap_or_default(),
            requests: total(&rows),
            points: rows
                .into_iter()
                .enumerate()
                .map(|(at, mut bucket)| Point {
                    time: format_rfc3339(window.since + at as u64 * query.step),
                    requests: bucket.requests,
                    value: value_of(&query.metric, &mut bucket),
                })
                .collect(),
        })
        .collect();
    Ok(SeriesAnswer {
        metric: query.metric.to_string(),
        by: label.map(str::to_string),
        window: window.into(),
        step_seconds: query.step / NANOS_PER_SECOND,
        series,
        folded_values,
        truncated,
        rolled_up_minutes: 0,
        computed_minutes: 0,
    })
}

/// The [`MAX_SERIES`] values of the largest `total`, largest first, and the rest folded
/// bucket by bucket into one series labelled [`OTHER`]; and how many were folded.
fn keep_the_largest<T: Clone + Default>(
    per_value: HashMap<String, Vec<T>>,
    total: &dyn Fn(&[T]) -> u64,
    buckets: usize,
    fold: impl Fn(&mut T, T),
) -> (Vec<(String, Vec<T>)>, usize) {
    let mut ranked: Vec<(String, Vec<T>)> = per_value.into_iter().collect();
    ranked.sort_by(|(a, rows_a), (b, rows_b)| total(rows_b).cmp(&total(rows_a)).then_with(|| a.cmp(b)));
    let folded = ranked.len().saturating_sub(MAX_SERIES);
    let mut kept: Vec<(String, Vec<T>)> = Vec::with_capacity(ranked.len().min(MAX_SERIES + 1));
    let mut other: Option<Vec<T>> = None;
    for (index, (value, rows)) in ranked.into_iter().enumerate() {
        if index < MAX_SERIES {
            kept.push((value, rows));
        } else {
            let into = other.get_or_insert_with(|| vec![T::default(); buckets]);
            for (a, b) in into.iter_mut().zip(rows) {
                fold(a, b);
            }
        }
    }
    kept.extend(other.map(|rows| (OTHER.to_string(), rows)));
    (kept, folded)
}

fn total(rows: &[Bucket]) -> u64 {
    rows.iter().map(|b| b.requests).sum()
}

/// Adds one request to a bucket, keeping what `metric` needs.
fn record(metric: &Metric, request: &Request, bucket: &mut Bucket) {
    bucket.requests += 1;
    match metric {
        Metric::Requests | Metric::ScoreMean(_) => {}
        Metric::Share(share) => bucket.hits += u64::from(share.holds(request)),
        Metric::Latency(_) => bucket.values.push(request.latency_ms),
        Metric::Tokens => bucket.values.push((request.input_tokens + request.output_tokens) as f64),
        Metric::InputTokens => bucket.values.push(request.input_tokens as f64),
        Metric::OutputTokens => bucket.values.push(request.output_tokens as f64),
        Metric::CostPerRequest => bucket.values.extend(request.cost),
    }
}

/// The bucket's value; `None` when it has nothing to measure.
fn value_of(metric: &Metric, bucket: &mut Bucket) -> Option<f64> {
    match metric {
        Metric::Requests => Some(bucket.requests as f64),
        Metric::Share(_) => (bucket.requests > 0).then(|| bucket.hits as f64 / bucket.requests as f64),
        Metric::Latency(q) => quantile(&mut bucket.values, *q),
        _ => (!bucket.values.is_empty()).then(|| bucket.values.iter().sum::<f64>() / bucket.values.len() as f64),
    }
}

/// The `q` quantile by the nearest-rank rule: a value that was measured, never one between two.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    let (_, at, _) = values.select_nth_unstable_by(rank - 1, f64::total_cmp);
    Some(*at)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: u64 = 60 * NANOS_PER_SECOND;

    #[test]
    fn a_score_mean_averages_only_that_names_values_on_the_requests_they_judge() {
        use crate::test_support::{span, trace_hex, Fixture, T0};
        use tracehound_store::model::{Score, ScoreTargetKind};
        use tracehound_store::{TenantId, WriteBatch};
        let fixture = Fixture::new();
        let score = |trace: u8, name: &str, value: f64| Score {
            target_kind: ScoreTargetKind::Trace,
            target_id: trace_hex(trace),
            name: name.into(),
            value: Some(value),
            time_unix_nano: T0,
            source: "test".into(),
            ..Default::default()
        };
        let scores = vec![score(1, "correctness", 0.2), score(2, "correctness", 0.6), score(2, "tone", 1.0)];
        let batch = WriteBatch { spans: vec![span(1, 1, None, 0), span(2, 1, None, 10)], scores, ..Default::default() };
        fixture.store.write_group(&[batch]).unwrap();
        let params = SeriesParams {
            metric: Some("score_mean:correctness".into()),
            since: Some("1970-01-01T00:00:00Z".into()),
            until: Some("2100-01-01T00:00:00Z".into()),
            step: Some("1000000m".into()),
            ..Default::default()
        };
        let query = SeriesQuery::parse(&params, T0).unwrap();
        let answer = series(&fixture.store, TenantId::DEFAULT, &query).unwrap();
        let values: Vec<f64> = answer.series[0].points.iter().filter_map(|p| p.value).collect();
        assert_eq!(values.len(), 1, "{answer:?}");
        assert!((values[0] - 0.4).abs() < 1e-9, "{values:?}");
    }

    /// 40 requests over 5 minutes, every fourth an error, each 10 ms plus its number.
    fn minutes_of_traffic() -> crate::test_support::Fixture {
        use crate::test_support::{span, Fixture};
        use tracehound_store::model::StatusCode;
        let fixture = Fixture::new();
        let spans = (1..=40u8)
            .map(|n| {
                let mut s = span(n, 1, None, u64::from(n) * 7_000);
                s.end_unix_nano += u64::from(n) * 1_000_000;
                if n % 4 == 0 {
                    s.status = StatusCode::Error;
                }
                s
            })
            .collect();
        fixture.write(spans);
        fixture
    }

    fn answer(fixture: &crate::test_support::Fixture, metric: &str) -> SeriesAnswer {
        use crate::test_support::T0;
        let params = SeriesParams {
            metric: Some(metric.into()),
            since: Some(format_rfc3339(T0 / MINUTE * MINUTE)),
            until: Some(format_rfc3339(T0 + 6 * MINUTE)),
            step: Some("1m".into()),
            ..Default::default()
        };
        let query = SeriesQuery::parse(&params, T0 + 3_600 * NANOS_PER_SECOND).unwrap();
        series(&fixture.store, TenantId::DEFAULT, &query).unwrap()
    }

    fn roll_everything(fixture: &crate::test_support::Fixture) {
        use crate::test_support::T0;
        let store = &fixture.store;
        store.mark_rollups_dirty(&Default::default(), store.last_change_seq()).unwrap();
        let mut cache = MinuteCache::default();
        for minute in T0 / MINUTE..T0 / MINUTE + 7 {
            let rows: Vec<(u8, Vec<u8>)> = roll_minute(store, TenantId::DEFAULT, minute, &mut cache)
                .unwrap()
                .into_iter()
                .map(|(family, cells)| (family, super::super::rollup::encode_cells(&cells).unwrap()))
                .collect();
            store.put_rollup(TenantId::DEFAULT, minute, &rows).unwrap();
        }
    }

    #[test]
    fn a_series_read_from_roll_ups_counts_what_the_requests_count() {
        let fixture = minutes_of_traffic();
        let from_requests = [answer(&fixture, "failing_share"), answer(&fixture, "requests")];
        assert_eq!(from_requests[0].rolled_up_minutes, 0, "no roller yet: the requests are read");
        roll_everything(&fixture);
        let from_rollups = [answer(&fixture, "failing_share"), answer(&fixture, "requests")];
        for (raw, rolled) in from_requests.iter().zip(&from_rollups) {
            assert!(rolled.rolled_up_minutes >= 5, "{rolled:?}");
            assert_eq!(rolled.computed_minutes, 0);
            assert_eq!(raw.series[0].points, rolled.series[0].points, "{}", raw.metric);
        }
    }

    #[test]
    fn a_latency_quantile_from_roll_ups_is_within_two_percent_of_the_requests() {
        let fixture = minutes_of_traffic();
        let raw = answer(&fixture, "latency_p95");
        roll_everything(&fixture);
        let rolled = answer(&fixture, "latency_p95");
        for (a, b) in raw.series[0].points.iter().zip(&rolled.series[0].points) {
            match (a.value, b.value) {
                (Some(a), Some(b)) => assert!(b >= a && b <= a * 1.02, "{a} against {b}"),
                (a, b) => assert_eq!(a, b),
            }
        }
    }

    #[test]
    fn a_minute_written_after_its_roll_up_is_computed_until_rolled_again() {
        use crate::test_support::span;
        let fixture = minutes_of_traffic();
        roll_everything(&fixture);
        fixture.write(vec![span(99, 1, None, 8_000)]);
        let rolled = answer(&fixture, "requests");
        assert_eq!(rolled.computed_minutes, 1, "{rolled:?}");
        let total: f64 = rolled.series[0].points.iter().filter_map(|p| p.value).sum();
        assert_eq!(total, 41.0);
    }

    #[test]
    fn the_nearest_rank_quantile_is_a_measured_value() {
        let mut values = vec![5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(quantile(&mut values, 0.5), Some(3.0));
        assert_eq!(quantile(&mut values, 0.99), Some(5.0));
        assert_eq!(quantile(&mut [], 0.5), None);
    }

    #[test]
    fn the_default_step_gives_at_most_120_buckets_of_at_least_a_minute() {
        let params = SeriesParams { since: Some("24h".into()), ..Default::default() };
        let query = SeriesQuery::parse(&params, 1_000 * 24 * 60 * MINUTE).unwrap();
        assert_eq!(query.step, 12 * MINUTE);
        let params = SeriesParams { since: Some("30m".into()), ..Default::default() };
        assert_eq!(SeriesQuery::parse(&params, 1_000 * MINUTE).unwrap().step, MINUTE);
    }

    #[test]
    fn a_step_that_makes_too_many_buckets_is_refused() {
        let params = SeriesParams { since: Some("30d".into()), step: Some("1m".into()), ..Default::default() };
        let err = SeriesQuery::parse(&params, 100 * 24 * 60 * MINUTE).unwrap_err().to_string();
        assert!(err.contains("longer step"), "{err}");
    }

    #[test]
    fn an_empty_bucket_has_no_value_rather_than_zero() {
        let mut bucket = Bucket::default();
        assert_eq!(value_of(&Metric::Share(super::super::metric::Share::Suspect), &mut bucket), None);
        assert_eq!(value_of(&Metric::Requests, &mut bucket), Some(0.0));
    }
}
