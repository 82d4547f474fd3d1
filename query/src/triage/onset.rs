//! When quality shifted: a one-sided step in the suspect share, found as the split of the
//! requests (in time order) that maximises a two-rate Bernoulli likelihood ratio.
//!
//! - Significance: a permutation test. Shuffling the suspect marks over time keeps their
//!   number and destroys any order, so the share of shuffles whose best split scores at
//!   least as well as the real one is the p-value of "no shift". It is exact for any
//!   share, small or large, with no distributional assumption.
//! - Uncertainty: a parametric bootstrap. Series are drawn from the fitted two-rate model
//!   and their best split located again; the 2.5th and 97.5th percentiles of those splits
//!   bound the onset.
//! - Cost: above [`MAX_BINS`] requests, splits are searched between equal-count bins, and
//!   large windows get fewer shuffles, so a 200,000-request window stays within a second.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Fewest requests on either side of a split.
pub const MIN_SIDE: usize = 30;
/// Most bins the split is searched over.
const MAX_BINS: usize = 2_000;
/// Bootstrap draws for the interval.
const BOOTSTRAP: usize = 200;
/// Seed of every random draw: the same window gives the same answer.
const SEED: u64 = 0x7472_6163_6568_6f75;

/// The best step found in a series.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Index of the first request after the step.
    pub split: usize,
    /// Suspect share before it.
    pub rate_before: f64,
    /// Suspect share from it on.
    pub rate_after: f64,
    /// Requests before and from it.
    pub before: usize,
    /// Requests from the step on.
    pub after: usize,
    /// Log-likelihood ratio of two rates over one.
    pub llr: f64,
    /// Permutation p-value of "no step".
    pub p_value: f64,
    /// Shuffles run.
    pub permutations: usize,
    /// 95% interval of the split index.
    pub interval: (usize, usize),
}

/// Finds the step and tests it; `None` when the series is too short to split.
pub fn find_step(marks: &[bool]) -> Option<Step> {
    let n = marks.len();
    if n < 2 * MIN_SIDE {
        return None;
    }
    let bins = Bins::new(n);
    let (split, llr) = bins.best_split(marks)?;
    let before = split;
    let after = n - split;
    let hits_before = marks[..split].iter().filter(|m| **m).count();
    let hits_after = marks[split..].iter().filter(|m| **m).count();
    let rate_before = hits_before as f64 / before as f64;
    let rate_after = hits_after as f64 / after as f64;
    let mut rng = SmallRng::seed_from_u64(SEED);
    let permutations = if n <= 20_000 { 999 } else { 199 };
    let mut shuffled = marks.to_vec();
    let mut as_extreme = 0usize;
    for _ in 0..permutations {
        for i in (1..n).rev() {
            let j = rng.random_range(0..=i);
            shuffled.swap(i, j);
        }
        if bins.best_split(&shuffled).is_some_and(|(_, l)| l >= llr - 1e-9) {
            as_extreme += 1;
        }
    }
    let p_value = (1 + as_extreme) as f64 / (1 + permutations) as f64;
    let mut splits = Vec::with_capacity(BOOTSTRAP);
    let mut drawn = vec![false; n];
    for _ in 0..BOOTSTRAP {
        for (i, mark) in drawn.iter_mut().enumerate() {
            let rate = if i < split { rate_before } else { rate_after };
            *mark = rng.random::<f64>() < rate;
        }
        if let Some((s, _)) = bins.best_split(&drawn) {
            splits.push(s);
        }
    }
    splits.sort_unstable();
    let pick = |q: f64| splits.get(((splits.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(split);
    let interval = (pick(0.025).min(split), pick(0.975).max(split));
    Some(Step { split, rate_before, rate_after, before, after, llr, p_value, permutations, interval })
}

/// Equal-count bins of the series: splits fall only on their edges.
struct Bins {
    edges: Vec<usize>,
}

impl Bins {
    fn new(n: usize) -> Bins {
        let width = n.div_ceil(MAX_BINS).max(1);
        let mut edges: Vec<usize> = (0..n).step_by(width).collect();
        edges.push(n);
        Bins { edges }
    }

    /// The split (an edge) with the highest one-sided likelihood ratio, and that ratio.
    fn best_split(&self, marks: &[bool]) -> Option<(usize, f64)> {
        let n = marks.len();
        let total = marks.iter().filter(|m| **m).count();
        let mut best: Option<(usize, f64)> = None;
        let mut hits = 0usize;
        for window in self.edges.windows(2) {
            let (from, edge) = (window[0], window[1]);
            hits += marks[from..edge].iter().filter(|m| **m).count();
            if edge < MIN_SIDE || n - edge < MIN_SIDE {
                continue;
            }
            let (n1, n2) = (edge as f64, (n - edge) as f64);
            let (k1, k2) = (hits as f64, (total - hits) as f64);
            if k2 / n2 <= k1 / n1 {
                continue;
            }
            let llr = log_lik(k1, n1) + log_lik(k2, n2) - log_lik(total as f64, n as f64);
            if best.is_none_or(|(_, b)| llr > b) {
                best = Some((edge, llr));
            }
        }
        best
    }
}

/// Bernoulli log-likelihood of `k` hits in `n` at the fitted rate.
fn log_lik(k: f64, n: f64) -> f64 {
    let term = |a: f64| if a > 0.0 { a * (a / n).ln() } else { 0.0 };
    term(k) + term(n - k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(before: usize, rate_before: f64, after: usize, rate_after: f64) -> Vec<bool> {
        let mut rng = SmallRng::seed_from_u64(7);
        (0..before + after).map(|i| rng.random::<f64>() < if i < before { rate_before } else { rate_after }).collect()
    }

    #[test]
    fn a_jump_is_found_where_it_happened_and_is_significant() {
        let step = find_step(&series(800, 0.03, 400, 0.5)).unwrap();
        assert!(step.p_value < 0.01, "{step:?}");
        assert!((790..=815).contains(&step.split), "{step:?}");
        assert!(step.interval.0 <= step.split && step.split <= step.interval.1);
    }

    #[test]
    fn a_flat_series_is_no_step() {
        let step = find_step(&series(800, 0.03, 400, 0.03)).unwrap();
        assert!(step.p_value > 0.05, "{step:?}");
    }

    #[test]
    fn a_drop_in_failures_is_no_step() {
        let step = find_step(&series(800, 0.2, 400, 0.02));
        assert!(step.as_ref().is_none_or(|s| s.p_value > 0.05), "{step:?}");
    }

    #[test]
    fn too_few_requests_are_not_split() {
        assert!(find_step(&[true; 40]).is_none());
    }
}
