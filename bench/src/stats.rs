//! Latency and throughput summaries.

use std::time::Duration;

use serde::Serialize;

/// Median, 99th percentile and maximum of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Number of samples.
    pub count: usize,
    /// 50th percentile.
    pub median_ms: f64,
    /// 99th percentile (nearest rank).
    pub p99_ms: f64,
    /// Largest sample.
    pub max_ms: f64,
}

impl Latency {
    /// Summarizes `samples`; all zero when there are none.
    pub fn of(samples: &[Duration]) -> Latency {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        Latency::of_millis(&mut ms)
    }

    /// Summarizes samples already in milliseconds (sorted in place).
    pub fn of_millis(ms: &mut [f64]) -> Latency {
        if ms.is_empty() {
            return Latency::default();
        }
        ms.sort_by(f64::total_cmp);
        Latency { count: ms.len(), median_ms: rank(ms, 0.50), p99_ms: rank(ms, 0.99), max_ms: ms[ms.len() - 1] }
    }
}

/// Nearest-rank percentile of sorted, non-empty samples.
fn rank(sorted: &[f64], quantile: f64) -> f64 {
    let index = ((quantile * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p99_follow_the_nearest_rank_rule() {
        let mut samples: Vec<f64> = (1..=100).map(f64::from).collect();
        samples.reverse();
        let latency = Latency::of_millis(&mut samples);
        assert_eq!((latency.median_ms, latency.p99_ms, latency.max_ms), (50.0, 99.0, 100.0));
    }

    #[test]
    fn no_samples_summarize_to_zero() {
        assert_eq!(Latency::of(&[]), Latency::default());
    }

    #[test]
    fn a_single_sample_is_every_percentile() {
        let latency = Latency::of(&[Duration::from_millis(7)]);
        assert_eq!((latency.median_ms, latency.p99_ms), (7.0, 7.0));
    }
}
