//! Alert rules: what each watches, against which baseline, and how far past it pages.
//!
//! A rule watches the share of requests with a property (suspect, failing, an error, ...)
//! or the share slower than the baseline's 95th percentile, in a trailing `window`, against
//! the `baseline` of traffic before that window. It is *breached* when, with enough
//! requests on both sides, the window's share is at least `ratio` times the baseline's and
//! at least `min_increase` above it, and a one-sided Fisher exact test says so at the
//! rule's level (see [`super::backtest`] for the correction). Breached for `for`, it fires;
//! clear for `keep_firing_for`, it resolves.
//!
//! Rules live in a TOML file (`--alert-rules FILE`):
//!
//! ```toml
//! evaluation_interval = "1m"
//!
//! [[rules]]
//! name = "checkout_refusals"
//! metric = "refusal_share"
//! by = "service"
//! window = "15m"
//! baseline = "3h"
//! ratio = 2.0
//! min_increase = 0.03
//! min_requests = 30
//! for = "5m"
//! ```
//!
//! Every field but `name` and `metric` has the default of [`Rule`]'s fields; an unknown
//! field is an error naming it, so a misspelt threshold never silently goes unused.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::metric::{Metric, Share, Split};
use crate::time_range::parse_duration;

/// What a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watched {
    /// The share of requests with a property.
    Share(Share),
    /// The share of requests slower than the baseline's 95th percentile (5 % of the
    /// baseline, by construction).
    Slow,
    /// Per score name, the share of the requests it judges that it fails (one series per
    /// name: never a mix of names).
    ScoreFailing,
}

/// A rule, checked and ready to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Its name, unique in the set.
    pub name: String,
    /// What it watches.
    pub watched: Watched,
    /// One series per value of this split.
    pub split: Split,
    /// The trailing window judged at each evaluation, ns.
    pub window: u64,
    /// How much unbreached traffic before the window is the baseline, ns.
    pub baseline: u64,
    /// The window's share must be at least this many times the baseline's.
    pub ratio: f64,
    /// ... and at least this much above it (a share, 0.05 = 5 points).
    pub min_increase: f64,
    /// Fewest requests in the window for it to be judged.
    pub min_requests: u64,
    /// Fewest requests in the baseline for it to be judged.
    pub min_baseline_requests: u64,
    /// How long the breach must last before the rule fires, ns.
    pub for_duration: u64,
    /// How long a firing rule stays firing once the breach has cleared, ns.
    pub keep_firing_for: u64,
}

/// A rule as the answer shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RuleView {
    /// Its name.
    pub name: String,
    /// The metric watched (`suspect_share`, `slow_share`, ...).
    pub metric: String,
    /// The split, absent when the rule watches all traffic as one series.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Trailing window, seconds.
    pub window_seconds: u64,
    /// Baseline, seconds.
    pub baseline_seconds: u64,
    /// Ratio to the baseline's share.
    pub ratio: f64,
    /// Smallest rise above the baseline's share.
    pub min_increase: f64,
    /// Fewest requests in the window.
    pub min_requests: u64,
    /// Fewest requests in the baseline.
    pub min_baseline_requests: u64,
    /// `for`, seconds.
    pub for_seconds: u64,
    /// `keep_firing_for`, seconds.
    pub keep_firing_for_seconds: u64,
}

impl Rule {
    /// The metric's name.
    pub fn metric_name(&self) -> String {
        match self.watched {
            Watched::Share(share) => Metric::Share(share).to_string(),
            Watched::Slow => "slow_share".into(),
            Watched::ScoreFailing => "score_failing_share".into(),
        }
    }

    /// The rule as the answer shows it.
    pub fn view(&self) -> RuleView {
        const S: u64 = 1_000_000_000;
        RuleView {
            name: self.name.clone(),
            metric: self.metric_name(),
            by: self.split.label().map(str::to_string),
            window_seconds: self.window / S,
            baseline_seconds: self.baseline / S,
            ratio: self.ratio,
            min_increase: self.min_increase,
            min_requests: self.min_requests,
            min_baseline_requests: self.min_baseline_requests,
            for_seconds: self.for_duration / S,
            keep_firing_for_seconds: self.keep_firing_for / S,
        }
    }
}

/// The rules and how often they are evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    /// Time between evaluations, ns.
    pub interval: u64,
    /// The rules.
    pub rules: Vec<Rule>,
    /// Where they came from: `built-in` or the file's path.
    pub source: String,
}

/// Why a rules file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    /// Not TOML, or not shaped like a rules file.
    #[error("the alert rules are not valid: {0}")]
    Syntax(String),
    /// A rule that cannot work as written.
    #[error("alert rule {rule:?}: {reason}")]
    Rule {
        /// The rule's name.
        rule: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRules {
    evaluation_interval: Option<String>,
    #[serde(default)]
    rules: Vec<FileRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRule {
    name: String,
    metric: String,
    by: Option<String>,
    window: Option<String>,
    baseline: Option<String>,
    ratio: Option<f64>,
    min_increase: Option<f64>,
    min_requests: Option<u64>,
    min_baseline_requests: Option<u64>,
    #[serde(rename = "for")]
    for_duration: Option<String>,
    keep_firing_for: Option<String>,
}

const MINUTE: u64 = 60 * 1_000_000_000;

/// The defaults of a rule's fields.
const DEFAULT_WINDOW: u64 = 10 * MINUTE;
const DEFAULT_BASELINE: u64 = 120 * MINUTE;
const DEFAULT_RATIO: f64 = 3.0;
const DEFAULT_MIN_INCREASE: f64 = 0.05;
const DEFAULT_MIN_REQUESTS: u64 = 20;
const DEFAULT_MIN_BASELINE_REQUESTS: u64 = 100;
const DEFAULT_FOR: u64 = 2 * MINUTE;
const DEFAULT_KEEP_FIRING_FOR: u64 = 10 * MINUTE;
const DEFAULT_INTERVAL: u64 = MINUTE;

impl RuleSet {
    /// The rules that hold with no configuration:
    /// - `quality_shift`: the suspect share (loud and silent failures) of all traffic;
    /// - `quality_shift_by_service`: the same per service, for an incident one service hides;
    /// - `error_rate`: the share of requests with an error span;
    /// - `latency`: the share slower than the baseline's p95, three times the usual 5 % and
    ///   at least 10 points more.
    ///
    /// Each judges a 10-minute window against 2 hours of baseline, pages at 3× the
    /// baseline share and 5 points above it, after 2 minutes.
    pub fn defaults() -> RuleSet {
        let rule = |name: &str, watched: Watched, split: Split| Rule {
            name: name.to_string(),
            watched,
            split,
            window: DEFAULT_WINDOW,
            baseline: DEFAULT_BASELINE,
            ratio: DEFAULT_RATIO,
            min_increase: DEFAULT_MIN_INCREASE,
            min_requests: DEFAULT_MIN_REQUESTS,
            min_baseline_requests: DEFAULT_MIN_BASELINE_REQUESTS,
            for_duration: DEFAULT_FOR,
            keep_firing_for: DEFAULT_KEEP_FIRING_FOR,
        };
        let mut latency = rule("latency", Watched::Slow, Split::Whole);
        latency.min_increase = 0.10;
        // Evals are sparse (a few percent of requests): a longer window and fewer requests.
        let mut evals = rule("eval_scores", Watched::ScoreFailing, Split::Score);
        evals.window = 30 * MINUTE;
        evals.baseline = 180 * MINUTE;
        evals.min_requests = 10;
        evals.min_baseline_requests = 30;
        evals.for_duration = 5 * MINUTE;
        RuleSet {
            interval: DEFAULT_INTERVAL,
            rules: vec![
                rule("quality_shift", Watched::Share(Share::Suspect), Split::Whole),
                rule("quality_shift_by_service", Watched::Share(Share::Suspect), Split::Service),
                rule("error_rate", Watched::Share(Share::Cue(crate::triage::requests::Cue::Error)), Split::Whole),
                latency,
                evals,
            ],
            source: "built-in".into(),
        }
    }

    /// Reads a rules file's text; `source` names it in answers.
    pub fn from_toml(text: &str, source: &str) -> Result<RuleSet, RulesError> {
        let file: FileRules = toml::from_str(text).map_err(|e| RulesError::Syntax(e.to_string()))?;
        let interval = match &file.evaluation_interval {
            Some(text) => duration("evaluation_interval", text, "(file)")?,
            None => DEFAULT_INTERVAL,
        };
        if file.rules.is_empty() {
            return Err(RulesError::Syntax("the file has no [[rules]]".into()));
        }
        let mut rules: Vec<Rule> = Vec::with_capacity(file.rules.len());
        for raw in file.rules {
            let rule = Rule::from_file(raw, interval)?;
            if rules.iter().any(|r| r.name == rule.name) {
                return Err(RulesError::Rule { rule: rule.name, reason: "the name is used twice".into() });
            }
            rules.push(rule);
        }
        Ok(RuleSet { interval, rules, source: source.to_string() })
    }
}

impl Rule {
    fn from_file(raw: FileRule, interval: u64) -> Result<Rule, RulesError> {
        let name = raw.name.trim().to_string();
        let fail = |reason: String| RulesError::Rule { rule: name.clone(), reason };
        if name.is_empty() {
            return Err(RulesError::Syntax("a rule has an empty name".into()));
        }
        let watched = match raw.metric.trim() {
            "slow_share" => Watched::Slow,
            "score_failing_share" => Watched::ScoreFailing,
            other => match Metric::parse(other) {
                Ok(Metric::Share(share)) => Watched::Share(share),
                _ => {
                    return Err(fail(format!(
                        "metric {other:?} cannot page: a rule watches a share (suspect_share, failing_share, \
                         abstention_share, error_share, refusal_share, ... any <cue>_share), slow_share or \
                         score_failing_share"
                    )))
                }
            },
        };
        let split = Split::parse(raw.by.as_deref()).map_err(|e| fail(e.to_string()))?;
        let split = match (watched, split) {
            (Watched::ScoreFailing, Split::Whole | Split::Score) => Split::Score,
            (Watched::ScoreFailing, _) => {
                return Err(fail("score_failing_share is always one series per score name: leave `by` out".into()))
            }
            (_, Split::Score) => return Err(fail("`by = \"score\"` goes with score_failing_share only".into())),
            (_, split) => split,
        };
        let window = optional_duration("window", raw.window.as_deref(), &name)?.unwrap_or(DEFAULT_WINDOW);
        let baseline = optional_duration("baseline", raw.baseline.as_deref(), &name)?.unwrap_or(DEFAULT_BASELINE);
        let for_duration = optional_duration("for", raw.for_duration.as_deref(), &name)?.unwrap_or(DEFAULT_FOR);
        let keep_firing_for = optional_duration("keep_firing_for", raw.keep_firing_for.as_deref(), &name)?
            .unwrap_or(DEFAULT_KEEP_FIRING_FOR);
        for (field, value) in [("window", window), ("baseline", baseline)] {
            if value < interval || value % interval != 0 {
                return Err(fail(format!("{field} must be a whole number of evaluation intervals")));
            }
        }
        let ratio = raw.ratio.unwrap_or(DEFAULT_RATIO);
        if !(ratio.is_finite() && ratio >= 1.0) {
            return Err(fail(format!("ratio {ratio} must be at least 1")));
        }
        let min_increase = raw.min_increase.unwrap_or(DEFAULT_MIN_INCREASE);
        if !(0.0..1.0).contains(&min_increase) {
            return Err(fail(format!("min_increase {min_increase} is a share: from 0 to below 1")));
        }
        Ok(Rule {
            name,
            watched,
            split,
            window,
            baseline,
            ratio,
            min_increase,
            min_requests: raw.min_requests.unwrap_or(DEFAULT_MIN_REQUESTS).max(1),
            min_baseline_requests: raw.min_baseline_requests.unwrap_or(DEFAULT_MIN_BASELINE_REQUESTS).max(1),
            for_duration,
            keep_firing_for,
        })
    }
}

fn duration(field: &str, text: &str, rule: &str) -> Result<u64, RulesError> {
    match parse_duration(text) {
        Ok(value) if value > 0 => Ok(value),
        Ok(_) => Err(RulesError::Rule { rule: rule.to_string(), reason: format!("{field} must be longer than 0") }),
        Err(e) => Err(RulesError::Rule { rule: rule.to_string(), reason: format!("{field}: {e}") }),
    }
}

fn optional_duration(field: &str, text: Option<&str>, rule: &str) -> Result<Option<u64>, RulesError> {
    match text {
        None => Ok(None),
        // `for = "0s"` means at once, unlike a zero window.
        Some(text) if matches!(field, "for" | "keep_firing_for") => parse_duration(text)
            .map(Some)
            .map_err(|e| RulesError::Rule { rule: rule.to_string(), reason: format!("{field}: {e}") }),
        Some(text) => duration(field, text, rule).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_rule_takes_the_defaults_it_does_not_name() {
        let set =
            RuleSet::from_toml("[[rules]]\nname = \"r\"\nmetric = \"refusal_share\"\nby = \"service\"\n", "f").unwrap();
        let rule = &set.rules[0];
        assert_eq!(rule.split, Split::Service);
        assert_eq!((rule.window, rule.ratio, rule.min_requests), (DEFAULT_WINDOW, DEFAULT_RATIO, DEFAULT_MIN_REQUESTS));
    }

    #[test]
    fn a_misspelt_field_is_refused_by_name() {
        let err = RuleSet::from_toml("[[rules]]\nname = \"r\"\nmetric = \"error_share\"\nratoi = 2.0\n", "f")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ratoi"), "{err}");
    }

    #[test]
    fn a_metric_that_is_not_a_share_cannot_page() {
        let err =
            RuleSet::from_toml("[[rules]]\nname = \"r\"\nmetric = \"latency_p99\"\n", "f").unwrap_err().to_string();
        assert!(err.contains("slow_share"), "{err}");
    }

    #[test]
    fn a_window_that_is_not_whole_intervals_is_refused() {
        let text =
            "evaluation_interval = \"1m\"\n[[rules]]\nname = \"r\"\nmetric = \"error_share\"\nwindow = \"90s\"\n";
        assert!(RuleSet::from_toml(text, "f").unwrap_err().to_string().contains("whole number"));
    }

    #[test]
    fn the_score_failing_share_is_always_split_by_score_name() {
        let set = RuleSet::from_toml("[[rules]]\nname = \"e\"\nmetric = \"score_failing_share\"\n", "f").unwrap();
        assert_eq!(set.rules[0].split, Split::Score);
        let err =
            RuleSet::from_toml("[[rules]]\nname = \"e\"\nmetric = \"score_failing_share\"\nby = \"service\"\n", "f")
                .unwrap_err()
                .to_string();
        assert!(err.contains("one series per score name"), "{err}");
    }

    #[test]
    fn two_rules_of_one_name_are_refused() {
        let text =
            "[[rules]]\nname = \"r\"\nmetric = \"error_share\"\n[[rules]]\nname = \"r\"\nmetric = \"suspect_share\"\n";
        assert!(RuleSet::from_toml(text, "f").unwrap_err().to_string().contains("twice"));
    }
}
