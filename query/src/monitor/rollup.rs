//! Per-minute aggregates of the quality series, kept as data arrives, so that a 7-day chart
//! at 1-minute steps reads about ten thousand small rows instead of every request.
//!
//! # What a minute holds
//!
//! For every split family (all traffic, service, language, score name, each version
//! dimension) and every value of it seen in the minute, one [`Cell`]: requests; how many
//! were suspect, failing, abstaining or carried each cue; latencies in log buckets 2 % wide;
//! token and cost sums; and per score name the sum and count of its values. Every metric of
//! [`super::series`] is a sum over cells.
//!
//! # Silent cues, decided once
//!
//! A request's silent cues (short, uncited, repeated, low retrieval score) are decided when
//! its minute is rolled up, against the norms of the tenant's most recent traffic: the
//! minute itself and the minutes before it, back to an hour, until [`NORM_SAMPLE`] requests
//! are in hand (a sample by trace id when there are more). Triage judges them against its
//! own window instead, so the two can differ on a request at the edge of a norm.
//!
//! # When a minute is rolled
//!
//! A follower of the store's change log (the `alerts` crate's roller) marks the start minute
//! of every written trace dirty, durably, and rolls a dirty minute once it has ended and a
//! settling time has passed. A later span, or a score of a trace, marks it dirty again and it
//! is rolled again. A minute the series needs and finds no row for (not rolled yet, or too
//! recent) is computed when asked, by the same routine.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tracehound_store::model::{TraceId, VersionDimension};
use tracehound_store::{Store, TenantId};

use super::metric::{Share, Split};
use crate::error::QueryError;
use crate::triage::requests::{request_of, Cue, Norms, Request};

/// A minute, in ns.
pub const MINUTE: u64 = 60 * 1_000_000_000;
/// Requests the norms of a minute are drawn from, at most.
pub const NORM_SAMPLE: usize = 5_000;
/// How far back the norms of a minute look at most, in minutes.
pub const NORM_MINUTES: u64 = 60;
/// Width of a latency bucket: each is 2 % wider than the last.
const LATENCY_BASE: f64 = 1.02;

/// Counts per share, in [`share_index`] order.
pub const SHARES: usize = 3 + Cue::ALL.len();

/// Where a share's count sits in [`Cell::shares`].
pub fn share_index(share: Share) -> usize {
    match share {
        Share::Suspect => 0,
        Share::Failing => 1,
        Share::Abstention => 2,
        Share::Cue(cue) => 3 + Cue::ALL.iter().position(|c| *c == cue).unwrap_or(0),
    }
}

/// The split families a minute is kept for, with their one-byte codes in the store.
pub fn families() -> Vec<(u8, Split)> {
    let mut out = vec![(0, Split::Whole), (1, Split::Service), (2, Split::Language), (3, Split::Score)];
    out.extend(VersionDimension::ALL.iter().map(|dim| (16 + dim.code(), Split::Version(*dim))));
    out
}

/// The store code of a split family.
pub fn family_code(split: Split) -> u8 {
    match split {
        Split::Whole => 0,
        Split::Service => 1,
        Split::Language => 2,
        Split::Score => 3,
        Split::Version(dim) => 16 + dim.code(),
    }
}

/// One value of one split family over one minute.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// The split's value (`""` for all traffic).
    #[serde(rename = "v")]
    pub value: String,
    /// Requests.
    #[serde(rename = "n")]
    pub requests: u64,
    /// Requests per share, by [`share_index`].
    #[serde(rename = "s")]
    pub shares: Vec<u32>,
    /// Latency buckets (exponent of 1.02 ms, count), ascending.
    #[serde(rename = "l", default)]
    pub latency: Vec<(i32, u32)>,
    /// Input tokens, summed.
    #[serde(rename = "i", default)]
    pub input_tokens: i64,
    /// Output tokens, summed.
    #[serde(rename = "o", default)]
    pub output_tokens: i64,
    /// Cost of the priced requests, USD, summed.
    #[serde(rename = "c", default)]
    pub cost: f64,
    /// Priced requests.
    #[serde(rename = "cn", default)]
    pub priced: u64,
    /// Per score name: the sum and the count of its values.
    #[serde(rename = "sc", default)]
    pub scores: Vec<(String, f64, u64)>,
}

impl Cell {
    fn add(&mut self, r: &Request) {
        self.requests += 1;
        if self.shares.len() < SHARES {
            self.shares.resize(SHARES, 0);
        }
        let holds = [Share::Suspect, Share::Failing, Share::Abstention]
            .into_iter()
            .chain(Cue::ALL.iter().map(|c| Share::Cue(*c)));
        for share in holds {
            if share.holds(r) {
                self.shares[share_index(share)] += 1;
            }
        }
        let bucket = latency_bucket(r.latency_ms);
        match self.latency.binary_search_by_key(&bucket, |(b, _)| *b) {
            Ok(at) => self.latency[at].1 += 1,
            Err(at) => self.latency.insert(at, (bucket, 1)),
        }
        self.input_tokens += r.input_tokens;
        self.output_tokens += r.output_tokens;
        if let Some(cost) = r.cost {
            self.cost += cost;
            self.priced += 1;
        }
        for score in &r.scores {
            let Some(value) = score.value else { continue };
            match self.scores.iter_mut().find(|(name, _, _)| *name == score.name) {
                Some(entry) => {
                    entry.1 += value;
                    entry.2 += 1;
                }
                None => self.scores.push((score.name.clone(), value, 1)),
            }
        }
    }

    /// Adds another cell of the same value.
    pub fn merge(&mut self, other: &Cell) {
        self.requests += other.requests;
        if self.shares.len() < other.shares.len() {
            self.shares.resize(other.shares.len(), 0);
        }
        for (a, b) in self.shares.iter_mut().zip(&other.shares) {
            *a += b;
        }
        merge_buckets(&mut self.latency, &other.latency);
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cost += other.cost;
        self.priced += other.priced;
        for (name, sum, n) in &other.scores {
            match self.scores.iter_mut().find(|(own, _, _)| own == name) {
                Some(entry) => {
                    entry.1 += sum;
                    entry.2 += n;
                }
                None => self.scores.push((name.clone(), *sum, *n)),
            }
        }
    }

    /// The count of one share.
    pub fn share(&self, share: Share) -> u64 {
        self.shares.get(share_index(share)).copied().map_or(0, u64::from)
    }

    /// A latency quantile by the nearest rank, as its bucket's upper bound (within 2 %).
    pub fn latency_quantile(&self, q: f64) -> Option<f64> {
        latency_quantile(&self.latency, q)
    }

    /// One score name's sum and count.
    pub fn score(&self, name: &str) -> Option<(f64, u64)> {
        self.scores.iter().find(|(n, _, _)| n == name).map(|(_, sum, n)| (*sum, *n))
    }
}

/// Adds latency buckets into others, both ascending.
pub fn merge_buckets(into: &mut Vec<(i32, u32)>, from: &[(i32, u32)]) {
    for (bucket, count) in from {
        match into.binary_search_by_key(bucket, |(b, _)| *b) {
            Ok(at) => into[at].1 += count,
            Err(at) => into.insert(at, (*bucket, *count)),
        }
    }
}

/// A quantile of latency buckets by the nearest rank, as its bucket's upper bound (within
/// 2 % of the measured value).
pub fn latency_quantile(buckets: &[(i32, u32)], q: f64) -> Option<f64> {
    let total: u64 = buckets.iter().map(|(_, n)| u64::from(*n)).sum();
    if total == 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0u64;
    for (bucket, n) in buckets {
        seen += u64::from(*n);
        if seen >= rank {
            return Some(LATENCY_BASE.powi(*bucket));
        }
    }
    None
}

/// The bucket of a latency: the smallest power of 1.02 ms at or above it.
fn latency_bucket(ms: f64) -> i32 {
    let ms = if ms.is_finite() { ms.max(0.001) } else { 0.001 };
    (ms.ln() / LATENCY_BASE.ln()).ceil() as i32
}

/// The cells of each split family over a set of marked requests.
pub fn cells_of(requests: &[Request]) -> Vec<(u8, Vec<Cell>)> {
    let mut out = Vec::new();
    for (code, split) in families() {
        let mut cells: BTreeMap<String, Cell> = BTreeMap::new();
        for r in requests {
            for value in split.values(r) {
                cells.entry(value.clone()).or_insert_with(|| Cell { value, ..Cell::default() }).add(r);
            }
        }
        out.push((code, cells.into_values().collect()));
    }
    out
}

/// One minute rolled up: its requests read, their silent cues decided against the trailing
/// norms, and counted into cells.
pub fn roll_minute(
    store: &Store,
    tenant: TenantId,
    minute: u64,
    cache: &mut MinuteCache,
) -> Result<Vec<(u8, Vec<Cell>)>, QueryError> {
    let start = minute * MINUTE;
    let mut requests = requests_between(store, tenant, start, start + MINUTE, usize::MAX)?;
    if requests.is_empty() {
        return Ok(cells_of(&requests));
    }
    let norms = trailing_norms(store, tenant, minute, &requests, cache)?;
    for r in &mut requests {
        let cues = norms.cues(r);
        r.mark(cues);
    }
    Ok(cells_of(&requests))
}

/// The norms of a minute: its own requests and those of the minutes before it, back to an
/// hour, until [`NORM_SAMPLE`] are in hand; a sample by trace id past that.
pub fn trailing_norms(
    store: &Store,
    tenant: TenantId,
    minute: u64,
    own: &[Request],
    cache: &mut MinuteCache,
) -> Result<Norms, QueryError> {
    let mut sample: Vec<Request> = sampled(own, NORM_SAMPLE);
    let mut back = 1;
    while sample.len() < NORM_SAMPLE && back <= NORM_MINUTES && minute >= back {
        let earlier = cache.sample_of(store, tenant, minute - back)?;
        let room = NORM_SAMPLE - sample.len();
        sample.extend(earlier.iter().take(room).cloned());
        back += 1;
    }
    Ok(Norms::of(&sample))
}

/// Samples of recent minutes, kept while neighbouring minutes are rolled: each minute's
/// norms read the hour before it, and rolling minute after minute would otherwise read
/// every request sixty times.
#[derive(Debug, Default)]
pub struct MinuteCache {
    minutes: HashMap<(TenantId, u64), Arc<Vec<Request>>>,
    held: usize,
}

impl MinuteCache {
    /// Requests held at most; past it the cache starts again.
    const MAX_HELD: usize = 200_000;

    /// Up to [`NORM_SAMPLE`] requests of a minute, by trace id rank.
    fn sample_of(&mut self, store: &Store, tenant: TenantId, minute: u64) -> Result<Arc<Vec<Request>>, QueryError> {
        if let Some(found) = self.minutes.get(&(tenant, minute)) {
            return Ok(found.clone());
        }
        let start = minute * MINUTE;
        let mut requests = requests_between(store, tenant, start, start + MINUTE, NORM_SAMPLE)?;
        requests.sort_unstable_by_key(|r| id_rank(&r.trace_id));
        if self.held + requests.len() > Self::MAX_HELD {
            self.minutes.clear();
            self.held = 0;
        }
        self.held += requests.len();
        let requests = Arc::new(requests);
        self.minutes.insert((tenant, minute), requests.clone());
        Ok(requests)
    }
}

/// At most `max` of `requests`, chosen by trace id so that every roll picks the same ones.
fn sampled(requests: &[Request], max: usize) -> Vec<Request> {
    if requests.len() <= max {
        return requests.to_vec();
    }
    let mut ranked: Vec<(u64, &Request)> = requests.iter().map(|r| (id_rank(&r.trace_id), r)).collect();
    ranked.sort_unstable_by_key(|(rank, _)| *rank);
    ranked.into_iter().take(max).map(|(_, r)| r.clone()).collect()
}

fn id_rank(trace: &TraceId) -> u64 {
    let mut low = [0u8; 8];
    low.copy_from_slice(&trace[8..]);
    u64::from_be_bytes(low)
}

/// The requests starting in `[since, until)` with their scores, at most `max` (a sample by
/// trace id past that), their silent cues undecided.
fn requests_between(
    store: &Store,
    tenant: TenantId,
    since: u64,
    until: u64,
    max: usize,
) -> Result<Vec<Request>, QueryError> {
    let mut ids = store.trace_ids_between(tenant, since, until, usize::MAX)?;
    if ids.len() > max {
        ids.sort_unstable_by_key(id_rank);
        ids.truncate(max);
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in &ids {
        if let Some(request) = request_of(store, tenant, id)? {
            out.push(request);
        }
    }
    Ok(out)
}

/// Each minute's cells of one family over `[first, last]` minutes, read from the store's
/// rows (minutes without a row are absent), and the tenant's dirty minutes, both as of one
/// moment.
pub fn stored_cells(
    store: &Store,
    tenant: TenantId,
    family: u8,
    first: u64,
    last: u64,
) -> Result<StoredCells, QueryError> {
    let view = store.rollup_view(tenant, family, first, last)?;
    let mut out = HashMap::with_capacity(view.rows.len());
    for (minute, bytes) in view.rows {
        let cells: Vec<Cell> = tracehound_store::codec::decode("rollups", &bytes)?;
        out.insert(minute, cells);
    }
    Ok(StoredCells { by_minute: out, dirty: view.dirty })
}

/// The rolled-up minutes of one family over a stretch, and the tenant's dirty minutes, as of
/// one moment.
#[derive(Debug, Clone, Default)]
pub struct StoredCells {
    /// Each minute's cells; a minute without a row is absent.
    pub by_minute: HashMap<u64, Vec<Cell>>,
    /// Minutes waiting to be rolled up (again): their rows, if any, are stale.
    pub dirty: Vec<u64>,
}

/// Encodes a minute's cells for the store.
pub fn encode_cells(cells: &[Cell]) -> Result<Vec<u8>, QueryError> {
    Ok(tracehound_store::codec::encode(&cells)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_latency_quantile_is_within_two_percent_of_the_measured_one() {
        let mut cell = Cell::default();
        for ms in [100.0, 200.0, 300.0, 400.0, 1_000.0] {
            let r = Request::synthetic_with_latency(ms);
            cell.add(&r);
        }
        let p50 = cell.latency_quantile(0.5).unwrap();
        assert!((300.0..=306.0).contains(&p50), "{p50}");
        let p99 = cell.latency_quantile(0.99).unwrap();
        assert!((1_000.0..=1_020.0).contains(&p99), "{p99}");
    }

    #[test]
    fn merged_cells_count_what_both_counted() {
        let mut a = Cell::default();
        a.add(&Request::synthetic_with_latency(10.0));
        let mut b = Cell::default();
        b.add(&Request::synthetic_with_latency(10.0));
        b.add(&Request::synthetic_with_latency(50.0));
        a.merge(&b);
        assert_eq!(a.requests, 3);
        assert_eq!(a.latency.iter().map(|(_, n)| n).sum::<u32>(), 3);
    }
}
