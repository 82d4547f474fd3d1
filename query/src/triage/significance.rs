//! The tests triage decides with: Fisher's exact test, Holm's correction, the two-sample
//! Kolmogorov–Smirnov test and Pearson's chi-square test. Distributions come from
//! `statrs`; only the Kolmogorov series is written out, because `statrs` has no KS
//! distribution.

use statrs::distribution::{ChiSquared, ContinuousCDF, DiscreteCDF, Hypergeometric};

/// One-sided Fisher exact test: the chance of at least `hits_a` failures among `n_a`
/// requests when `n_a + n_b` requests with `hits_a + hits_b` failures are split at random.
/// Small means group a fails more than chance allows.
pub fn fisher_greater(hits_a: u64, n_a: u64, hits_b: u64, n_b: u64) -> f64 {
    if hits_a == 0 || n_a == 0 {
        return 1.0;
    }
    let Ok(dist) = Hypergeometric::new(n_a + n_b, hits_a + hits_b, n_a) else { return 1.0 };
    dist.sf(hits_a - 1).clamp(0.0, 1.0)
}

/// Holm's step-down adjustment of p-values, in the order given.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|a, b| p[*a].total_cmp(&p[*b]));
    let mut adjusted = vec![1.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        let value = ((m - rank) as f64 * p[i]).min(1.0);
        running = running.max(value);
        adjusted[i] = running;
    }
    adjusted
}

/// Two-sample Kolmogorov–Smirnov test: the largest gap between the two empirical
/// distributions, and its asymptotic p-value.
pub fn kolmogorov_smirnov(a: &[f64], b: &[f64]) -> Option<(f64, f64)> {
    if a.len() < 5 || b.len() < 5 {
        return None;
    }
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    let ne = (a.len() * b.len()) as f64 / (a.len() + b.len()) as f64;
    let lambda = (ne.sqrt() + 0.12 + 0.11 / ne.sqrt()) * d;
    Some((d, kolmogorov_q(lambda)))
}

/// The Kolmogorov distribution's upper tail, Q(λ) = 2 Σ (−1)^(k−1) e^(−2k²λ²).
fn kolmogorov_q(lambda: f64) -> f64 {
    if lambda < 0.2 {
        return 1.0;
    }
    let mut sum = 0.0;
    for k in 1..=100 {
        let k = f64::from(k);
        let term = (-2.0 * k * k * lambda * lambda).exp();
        sum += if k as u64 % 2 == 1 { term } else { -term };
        if term < 1e-12 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

/// Pearson's chi-square test of homogeneity on a 2×k table of counts (before, after):
/// the statistic and its p-value. Categories rarer than 5 expected are pooled.
pub fn chi_square(before: &[u64], after: &[u64]) -> Option<(f64, f64)> {
    let n_before: u64 = before.iter().sum();
    let n_after: u64 = after.iter().sum();
    let total = (n_before + n_after) as f64;
    if n_before == 0 || n_after == 0 {
        return None;
    }
    let mut rows: Vec<(f64, f64)> = Vec::new();
    let mut pooled = (0.0, 0.0);
    for (b, a) in before.iter().zip(after) {
        let column = (*b + *a) as f64;
        if column * n_before.min(n_after) as f64 / total < 5.0 {
            pooled.0 += *b as f64;
            pooled.1 += *a as f64;
        } else {
            rows.push((*b as f64, *a as f64));
        }
    }
    if pooled.0 + pooled.1 > 0.0 {
        rows.push(pooled);
    }
    if rows.len() < 2 {
        return None;
    }
    let mut statistic = 0.0;
    for (b, a) in &rows {
        let column = b + a;
        let expected_b = column * n_before as f64 / total;
        let expected_a = column * n_after as f64 / total;
        statistic += (b - expected_b).powi(2) / expected_b + (a - expected_a).powi(2) / expected_a;
    }
    let dist = ChiSquared::new((rows.len() - 1) as f64).ok()?;
    Some((statistic, dist.sf(statistic)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fisher_matches_the_textbook_tea_tasting_table() {
        // Fisher's lady tasting tea: 3 of 4 right, one-sided p = 17/70.
        assert!((fisher_greater(3, 4, 1, 4) - 17.0 / 70.0).abs() < 1e-9);
    }

    #[test]
    fn fisher_of_no_failures_is_one() {
        assert_eq!(fisher_greater(0, 10, 5, 10), 1.0);
    }

    #[test]
    fn holm_multiplies_the_smallest_by_the_count_and_stays_monotone() {
        let adjusted = holm(&[0.01, 0.04, 0.03]);
        assert!((adjusted[0] - 0.03).abs() < 1e-12);
        assert!((adjusted[2] - 0.06).abs() < 1e-12);
        assert!((adjusted[1] - 0.06).abs() < 1e-12);
    }

    #[test]
    fn ks_tells_shifted_samples_apart_and_not_equal_ones() {
        let a: Vec<f64> = (0..200).map(f64::from).collect();
        let b: Vec<f64> = (100..300).map(f64::from).collect();
        assert!(kolmogorov_smirnov(&a, &b).unwrap().1 < 1e-6);
        assert!(kolmogorov_smirnov(&a, &a).unwrap().1 > 0.9);
    }

    #[test]
    fn chi_square_sees_a_new_category() {
        let (_, p) = chi_square(&[500, 0], &[300, 200]).unwrap();
        assert!(p < 1e-10);
        let (_, p) = chi_square(&[500, 20], &[500, 21]).unwrap();
        assert!(p > 0.5);
    }
}
