//! Which requests online evaluation judges: a share of them, chosen by trace id so that
//! every process (and a restart) picks the same ones, optionally only some services and
//! version values.

use std::collections::BTreeMap;

use tracehound_store::model::{TraceId, VersionDimension};
use tracehound_store::summary::TraceSummary;

use crate::params::parse_dimension;

/// What is sampled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sampling {
    /// The share of requests, 0 to 1.
    pub rate: f64,
    /// Only these services; empty for every one.
    pub services: Vec<String>,
    /// Only requests carrying one of the listed values of each listed dimension.
    pub versions: BTreeMap<VersionDimension, Vec<String>>,
}

/// Why a sampling setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamplingError {
    /// The rate is not a share.
    #[error("the sample rate must be a number from 0 to 1, like 0.02 for 2%; got {0}")]
    Rate(String),
    /// A version filter is not `dimension=value`.
    #[error("a version filter is dimension=value, like prompt_version=v8; {0}")]
    Version(String),
}

impl Sampling {
    /// Reads the flags: a rate, services, and `dimension=value` filters.
    pub fn new(rate: f64, services: &[String], versions: &[String]) -> Result<Sampling, SamplingError> {
        if !(0.0..=1.0).contains(&rate) || !rate.is_finite() {
            return Err(SamplingError::Rate(rate.to_string()));
        }
        let mut by_dimension: BTreeMap<VersionDimension, Vec<String>> = BTreeMap::new();
        for filter in versions.iter().map(|f| f.trim()).filter(|f| !f.is_empty()) {
            let (dim, value) =
                filter.split_once('=').ok_or_else(|| SamplingError::Version(format!("got {filter:?}")))?;
            let dim = parse_dimension(dim).map_err(SamplingError::Version)?;
            by_dimension.entry(dim).or_default().push(value.trim().to_string());
        }
        let services = services.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        Ok(Sampling { rate, services, versions: by_dimension })
    }

    /// Whether anything is sampled at all.
    pub fn enabled(&self) -> bool {
        self.rate > 0.0
    }

    /// Whether the trace id falls in the sampled share: decided by the id alone.
    pub fn picks(&self, trace: &TraceId) -> bool {
        sample_point(trace) < self.rate
    }

    /// Whether the request passes the service and version filters.
    pub fn matches(&self, summary: &TraceSummary) -> bool {
        let service = self.services.is_empty() || self.services.contains(&summary.service);
        let versions = self.versions.iter().all(|(dim, wanted)| {
            summary.versions.get(dim).is_some_and(|carried| carried.iter().any(|v| wanted.contains(v)))
        });
        service && versions
    }
}

/// Where a trace id falls in [0, 1): its last eight bytes, the random part of a W3C trace
/// id, as a fraction.
pub fn sample_point(trace: &TraceId) -> f64 {
    let mut low = [0u8; 8];
    low.copy_from_slice(&trace[8..]);
    u64::from_be_bytes(low) as f64 / 18_446_744_073_709_551_616.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> TraceId {
        let mut id = [0u8; 16];
        id[8..].copy_from_slice(&n.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
        id
    }

    #[test]
    fn about_the_configured_share_of_trace_ids_is_picked() {
        let sampling = Sampling::new(0.02, &[], &[]).unwrap();
        let picked = (0..100_000).filter(|n| sampling.picks(&id(*n))).count();
        assert!((1_700..=2_300).contains(&picked), "{picked}");
    }

    #[test]
    fn a_trace_picked_at_a_rate_is_picked_at_every_higher_rate() {
        let low = Sampling::new(0.05, &[], &[]).unwrap();
        let high = Sampling::new(0.2, &[], &[]).unwrap();
        assert!((0..10_000).map(id).filter(|t| low.picks(t)).all(|t| high.picks(&t)));
    }

    #[test]
    fn version_filters_need_one_listed_value_of_each_listed_dimension() {
        let sampling = Sampling::new(1.0, &[], &["prompt_version=v8".into(), "prompt_version=v9".into()]).unwrap();
        let mut summary = TraceSummary::new([1; 16]);
        assert!(!sampling.matches(&summary));
        summary.versions.insert(VersionDimension::PromptVersion, vec!["v9".into()]);
        assert!(sampling.matches(&summary));
    }

    #[test]
    fn a_rate_outside_zero_to_one_and_a_filter_without_a_dimension_are_refused() {
        assert!(Sampling::new(2.0, &[], &[]).unwrap_err().to_string().contains("0.02"));
        assert!(Sampling::new(0.1, &[], &["v8".into()]).unwrap_err().to_string().contains("dimension=value"));
        assert!(Sampling::new(0.1, &[], &["colour=red".into()]).is_err());
    }
}
