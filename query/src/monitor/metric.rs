//! What a series or a rule measures, and how it splits the traffic.

use std::fmt;

use tracehound_store::model::VersionDimension;

use crate::params::parse_dimension;
use crate::triage::requests::{Cue, Request};

/// A yes-or-no property of a request whose share over time is watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    /// Failed loudly or silently ([`Request::suspect`]).
    Suspect,
    /// Failed loudly: an error, a failed tool call, a truncation, a content filter, a
    /// refusal, or a failing eval or feedback score.
    Failing,
    /// Abstained ([`Request::abstains`]).
    Abstention,
    /// Carries one cue (`error_share`, `refusal_share`, `short_share`, ...).
    Cue(Cue),
}

impl Share {
    /// Whether `request` counts.
    pub fn holds(self, request: &Request) -> bool {
        match self {
            Share::Suspect => request.suspect,
            Share::Failing => request.failed_loudly(),
            Share::Abstention => request.abstains(),
            Share::Cue(cue) => request.has(cue),
        }
    }

    fn parse(name: &str) -> Option<Share> {
        let stem = name.strip_suffix("_share")?;
        match stem {
            "suspect" => Some(Share::Suspect),
            "failing" => Some(Share::Failing),
            "abstention" => Some(Share::Abstention),
            _ => Cue::ALL.iter().find(|cue| cue.as_str() == stem).map(|cue| Share::Cue(*cue)),
        }
    }

    fn name(self) -> String {
        match self {
            Share::Suspect => "suspect_share".into(),
            Share::Failing => "failing_share".into(),
            Share::Abstention => "abstention_share".into(),
            Share::Cue(cue) => format!("{}_share", cue.as_str()),
        }
    }
}

/// One number per time bucket.
#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    /// Requests that started in the bucket.
    Requests,
    /// The share of requests with a property.
    Share(Share),
    /// A latency quantile of whole requests, in milliseconds (0.5, 0.95, 0.99).
    Latency(f64),
    /// Input plus output tokens per request.
    Tokens,
    /// Input tokens per request.
    InputTokens,
    /// Output tokens per request.
    OutputTokens,
    /// Cost per request in US dollars, over the requests whose every model is priced.
    CostPerRequest,
    /// The mean of one eval score name (never mixed with another name).
    ScoreMean(String),
}

/// Why a metric or split name was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not {what}; expected one of: {expected}")]
pub struct UnknownName {
    /// What was given.
    pub given: String,
    /// What kind of name it should have been.
    pub what: &'static str,
    /// The names understood.
    pub expected: String,
}

impl Metric {
    /// Reads a metric name: `requests`, `suspect_share`, `failing_share`,
    /// `abstention_share`, `<cue>_share` (`error_share`, `refusal_share`, ...),
    /// `latency_p50`, `latency_p95`, `latency_p99`, `tokens`, `input_tokens`,
    /// `output_tokens`, `cost_per_request`, `score_mean:<name>`.
    pub fn parse(name: &str) -> Result<Metric, UnknownName> {
        let name = name.trim();
        if let Some(score) = name.strip_prefix("score_mean:") {
            if !score.trim().is_empty() {
                return Ok(Metric::ScoreMean(score.trim().to_string()));
            }
        }
        if let Some(share) = Share::parse(name) {
            return Ok(Metric::Share(share));
        }
        Ok(match name {
            "requests" => Metric::Requests,
            "latency_p50" => Metric::Latency(0.5),
            "latency_p95" => Metric::Latency(0.95),
            "latency_p99" => Metric::Latency(0.99),
            "tokens" => Metric::Tokens,
            "input_tokens" => Metric::InputTokens,
            "output_tokens" => Metric::OutputTokens,
            "cost_per_request" => Metric::CostPerRequest,
            _ => {
                return Err(UnknownName {
                    given: name.to_string(),
                    what: "a metric",
                    expected: Metric::names().join(", "),
                })
            }
        })
    }

    /// Every metric name understood (`score_mean:` takes a score name).
    pub fn names() -> Vec<String> {
        let mut names: Vec<String> = vec!["requests".into()];
        names.extend([Share::Suspect, Share::Failing, Share::Abstention].map(Share::name));
        names.extend(Cue::ALL.iter().map(|cue| Share::Cue(*cue).name()));
        names.extend(
            [
                "latency_p50",
                "latency_p95",
                "latency_p99",
                "tokens",
                "input_tokens",
                "output_tokens",
                "cost_per_request",
            ]
            .map(String::from),
        );
        names.push("score_mean:<score name>".into());
        names
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metric::Requests => f.write_str("requests"),
            Metric::Share(share) => f.write_str(&share.name()),
            Metric::Latency(q) => write!(f, "latency_p{}", (q * 100.0).round()),
            Metric::Tokens => f.write_str("tokens"),
            Metric::InputTokens => f.write_str("input_tokens"),
            Metric::OutputTokens => f.write_str("output_tokens"),
            Metric::CostPerRequest => f.write_str("cost_per_request"),
            Metric::ScoreMean(name) => write!(f, "score_mean:{name}"),
        }
    }
}

/// How traffic is split into series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// One series for all traffic.
    Whole,
    /// One series per service.
    Service,
    /// One series per language of the question.
    Language,
    /// One series per value of a version dimension.
    Version(VersionDimension),
    /// One series per eval or feedback score name, over the requests it judges (a request
    /// without scores is in none).
    Score,
}

/// The label value of a request without one (no language detected, no version value).
pub const NONE_VALUE: &str = "(none)";

impl Split {
    /// Reads `service`, `language` or a version dimension (`prompt_version`, ...); nothing
    /// or `none` is the whole traffic.
    pub fn parse(name: Option<&str>) -> Result<Split, UnknownName> {
        let name = name.map(str::trim).unwrap_or("");
        match name {
            "" | "none" => Ok(Split::Whole),
            "service" => Ok(Split::Service),
            "language" => Ok(Split::Language),
            "score" => Ok(Split::Score),
            other => parse_dimension(other).map(Split::Version).map_err(|_| UnknownName {
                given: other.to_string(),
                what: "a split",
                expected: format!(
                    "service, language, score, or a version dimension ({})",
                    VersionDimension::ALL.map(VersionDimension::as_str).join(", ")
                ),
            }),
        }
    }

    /// The label name of the split's series, `None` for the whole traffic.
    pub fn label(self) -> Option<&'static str> {
        match self {
            Split::Whole => None,
            Split::Service => Some("service"),
            Split::Language => Some("language"),
            Split::Version(dim) => Some(dim.as_str()),
            Split::Score => Some("score"),
        }
    }

    /// The series a request counts in: one, or one per version value it carried.
    pub fn values(self, request: &Request) -> Vec<String> {
        match self {
            Split::Whole => vec![String::new()],
            Split::Service => vec![request.service.clone()],
            Split::Language => vec![request.question_language.clone().unwrap_or_else(|| NONE_VALUE.to_string())],
            Split::Version(dim) => match request.versions.get(&dim) {
                Some(values) if !values.is_empty() => values.clone(),
                _ => vec![NONE_VALUE.to_string()],
            },
            Split::Score => {
                let mut names: Vec<String> = request.scores.iter().map(|s| s.name.clone()).collect();
                names.sort();
                names.dedup();
                names
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_metric_name_reads_back_as_itself() {
        for name in Metric::names().iter().filter(|n| !n.contains('<')) {
            assert_eq!(Metric::parse(name).unwrap().to_string(), *name);
        }
        assert_eq!(Metric::parse("score_mean:correctness").unwrap(), Metric::ScoreMean("correctness".into()));
    }

    #[test]
    fn an_unknown_metric_is_refused_with_the_known_ones() {
        let err = Metric::parse("failing_shares").unwrap_err().to_string();
        assert!(err.contains("failing_share,") && err.contains("latency_p99"), "{err}");
    }

    #[test]
    fn a_split_by_version_dimension_reads_its_name() {
        assert_eq!(Split::parse(Some("prompt_version")).unwrap().label(), Some("prompt_version"));
        assert!(Split::parse(Some("colour")).unwrap_err().to_string().contains("service, language, score"));
    }
}
