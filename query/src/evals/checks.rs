//! The deterministic checks: what code can decide about a request without a judge. Each
//! gives a pass or a fail with its reason, or nothing when it does not apply (no JSON was
//! asked for, no document was retrieved).

use tracehound_store::model::{EvaluatorVersion, Score, ScoreTargetKind};
use tracehound_store::summary::TraceSummary;

use super::evidence::Evidence;
use super::{CHECKS_SCORECARD, CHECKS_VERSION, CHECK_SOURCE};
use crate::assess::is_refusal_text;
use crate::triage::requests::{Norms, Request};

/// One deterministic check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The answer refuses.
    Refusal,
    /// The answer abstains: the traffic's generic "no answer", or nothing retrieved, given
    /// short or uncited (triage's rule, judged against the service's recent traffic).
    Abstention,
    /// Question and answer are in different languages.
    LanguageMismatch,
    /// Documents were retrieved and the answer cites none of them.
    UncitedAnswer,
    /// A model call asked for JSON and answered something that does not parse.
    InvalidJson,
    /// A tool call failed.
    ToolError,
}

impl Check {
    /// Every check.
    pub const ALL: [Check; 6] = [
        Check::Refusal,
        Check::Abstention,
        Check::LanguageMismatch,
        Check::UncitedAnswer,
        Check::InvalidJson,
        Check::ToolError,
    ];

    /// The score name the check's results carry.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Refusal => "refusal",
            Check::Abstention => "abstention",
            Check::LanguageMismatch => "language_mismatch",
            Check::UncitedAnswer => "uncited_answer",
            Check::InvalidJson => "invalid_json",
            Check::ToolError => "tool_error",
        }
    }

    /// The check of a name.
    pub fn parse(name: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.as_str() == name.trim())
    }
}

/// A check's result on one request.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    /// Which check.
    pub check: Check,
    /// Whether the request passed it.
    pub passed: bool,
    /// Why, in a sentence.
    pub explanation: String,
}

impl CheckResult {
    /// The result as a score on the request's trace: 1 and `pass`, or 0 and `fail`.
    pub fn score(&self, trace_hex: &str, now: u64) -> Score {
        Score {
            target_kind: ScoreTargetKind::Trace,
            target_id: trace_hex.to_string(),
            trace_id: None,
            name: self.check.as_str().to_string(),
            value: Some(if self.passed { 1.0 } else { 0.0 }),
            label: Some(if self.passed { "pass" } else { "fail" }.to_string()),
            explanation: Some(self.explanation.clone()),
            source: CHECK_SOURCE.to_string(),
            time_unix_nano: now,
            evaluator: Some(EvaluatorVersion {
                scorecard: CHECKS_SCORECARD.to_string(),
                version: CHECKS_VERSION.to_string(),
                model: None,
            }),
        }
    }
}

/// Runs the `checks` that apply to a request. `norms` are the service's recent traffic's,
/// for abstention.
pub fn run(checks: &[Check], evidence: &Evidence, summary: &TraceSummary, norms: &Norms) -> Vec<CheckResult> {
    checks.iter().filter_map(|check| run_one(*check, evidence, summary, norms)).collect()
}

fn result(check: Check, passed: bool, explanation: impl Into<String>) -> Option<CheckResult> {
    Some(CheckResult { check, passed, explanation: explanation.into() })
}

fn run_one(check: Check, evidence: &Evidence, summary: &TraceSummary, norms: &Norms) -> Option<CheckResult> {
    let signals = &summary.signals;
    match check {
        Check::Refusal => {
            let answer = evidence.answer.as_deref()?;
            let refused_by_reason = summary.finish_reasons.iter().any(|r| r == "refusal");
            if is_refusal_text(answer) || refused_by_reason {
                result(check, false, "the answer refuses")
            } else {
                result(check, true, "the answer does not refuse")
            }
        }
        Check::Abstention => {
            evidence.answer.as_ref()?;
            let mut request = Request::from_summary(summary.clone(), Vec::new());
            request.mark(norms.cues(&request));
            if request.abstains() {
                let cues = request.cue_names().join(", ");
                result(check, false, format!("the answer abstains ({cues})"))
            } else {
                result(check, true, "the answer does not abstain")
            }
        }
        Check::LanguageMismatch => match signals.language_mismatch? {
            true => result(
                check,
                false,
                format!(
                    "the question is in {} and the answer in {}",
                    signals.question_language.as_deref().unwrap_or("one language"),
                    signals.answer_language.as_deref().unwrap_or("another")
                ),
            ),
            false => result(check, true, "question and answer are in the same language"),
        },
        Check::UncitedAnswer => {
            evidence.answer.as_ref()?;
            // Triage's own reading of a citation, so a check and a cue never disagree.
            match signals.cites_a_document()? {
                true => result(check, true, "the answer cites a retrieved document"),
                false => result(
                    check,
                    false,
                    format!("{} documents were retrieved and the answer cites none", signals.doc_ids.len()),
                ),
            }
        }
        Check::InvalidJson => {
            if evidence.json_outputs.is_empty() {
                return None;
            }
            let invalid: Vec<String> = evidence
                .json_outputs
                .iter()
                .filter_map(|(span, text)| {
                    serde_json::from_str::<serde_json::Value>(text.trim()).err().map(|e| format!("span {span}: {e}"))
                })
                .collect();
            if invalid.is_empty() {
                result(check, true, "every JSON answer parses")
            } else {
                result(
                    check,
                    false,
                    format!("JSON was asked for and the answer does not parse ({})", invalid.join("; ")),
                )
            }
        }
        Check::ToolError => {
            if evidence.tool_results.is_empty() {
                return None;
            }
            let failed: Vec<String> = evidence
                .tool_results
                .iter()
                .filter(|t| t.failed)
                .map(|t| match &t.error {
                    Some(e) if !e.is_empty() => format!("{}: {e}", t.name),
                    _ => t.name.clone(),
                })
                .collect();
            if failed.is_empty() {
                result(check, true, "every tool call succeeded")
            } else {
                result(check, false, format!("tool calls failed: {}", failed.join("; ")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evals::evidence::ToolResult;

    fn summary() -> TraceSummary {
        TraceSummary::new([3; 16])
    }

    #[test]
    fn a_check_that_does_not_apply_gives_no_score() {
        let evidence = Evidence { answer: Some("Your order ships today.".into()), ..Default::default() };
        let results = run(&Check::ALL, &evidence, &summary(), &Norms::default());
        let names: Vec<&str> = results.iter().map(|r| r.check.as_str()).collect();
        assert_eq!(names, vec!["refusal", "abstention"]);
        assert!(results.iter().all(|r| r.passed));
    }

    #[test]
    fn an_answer_that_does_not_parse_fails_the_json_check_with_the_parser_s_reason() {
        let evidence = Evidence { json_outputs: vec![("ab".into(), "{\"a\": 1".into())], ..Default::default() };
        let results = run(&[Check::InvalidJson], &evidence, &summary(), &Norms::default());
        assert!(!results[0].passed);
        assert!(results[0].explanation.contains("span ab"), "{}", results[0].explanation);
        let good = Evidence { json_outputs: vec![("ab".into(), " {\"a\": 1} ".into())], ..Default::default() };
        assert!(run(&[Check::InvalidJson], &good, &summary(), &Norms::default())[0].passed);
    }

    #[test]
    fn a_failed_tool_call_fails_the_tool_check_naming_the_tool() {
        let tool = |failed| ToolResult {
            name: "lookup_order".into(),
            arguments: None,
            result: None,
            failed,
            error: failed.then(|| "timeout".into()),
        };
        let evidence = Evidence { tool_results: vec![tool(false), tool(true)], ..Default::default() };
        let results = run(&[Check::ToolError], &evidence, &summary(), &Norms::default());
        assert_eq!(results[0].explanation, "tool calls failed: lookup_order: timeout");
    }

    #[test]
    fn an_answer_citing_none_of_the_retrieved_documents_fails_the_citation_check() {
        let mut summary = summary();
        summary.signals.doc_ids = vec!["kb-1".into(), "kb-2".into()];
        summary.signals.answer_chars = 15;
        let evidence = Evidence { answer: Some("It ships today.".into()), ..Default::default() };
        assert!(!run(&[Check::UncitedAnswer], &evidence, &summary, &Norms::default())[0].passed);
        summary.signals.answer_refs = vec!["kb-2".into()];
        assert!(run(&[Check::UncitedAnswer], &evidence, &summary, &Norms::default())[0].passed);
    }

    #[test]
    fn a_refusing_answer_fails_the_refusal_check_as_a_failing_score() {
        let evidence = Evidence { answer: Some("I'm sorry, but I can't help with that.".into()), ..Default::default() };
        let result = &run(&[Check::Refusal], &evidence, &summary(), &Norms::default())[0];
        let score = result.score("0303", 7);
        assert_eq!((score.value, score.label.as_deref()), (Some(0.0), Some("fail")));
        assert_eq!(score.evaluator.unwrap().scorecard, "checks");
    }
}
