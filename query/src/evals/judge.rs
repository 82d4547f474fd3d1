//! The judge's protocol: one OpenAI-compatible chat completion per criterion and request,
//! asked for a JSON object, and the reading of its verdict. An answer that does not parse
//! is a judge failure, never a score.

use serde::Deserialize;
use serde_json::json;
use tracehound_store::model::{EvaluatorVersion, Score, ScoreTargetKind};

use super::scorecard::{Criterion, Scorecard};
use super::JUDGE_SOURCE;

/// The verdict on one criterion.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// 0.0 to 1.0.
    pub score: f64,
    /// Whether the judge passed it.
    pub passed: bool,
    /// The judge's reason.
    pub explanation: String,
}

/// One judge answer, read.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgeReply {
    /// The verdict.
    pub verdict: Verdict,
    /// Prompt tokens, as the judge reported them.
    pub input_tokens: u64,
    /// Completion tokens, as the judge reported them.
    pub output_tokens: u64,
    /// The model that answered, as the judge reported it.
    pub model: Option<String>,
}

/// Why a judge answer is not a verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// The body is not a chat completion.
    #[error("the judge's answer is not a chat completion: {0}")]
    NotACompletion(String),
    /// The completion's content is not the JSON verdict asked for.
    #[error("the judge's verdict is not the JSON object asked for: {0}")]
    NotAVerdict(String),
}

/// The chat-completions request body for one criterion.
pub fn request_body(model: &str, scorecard: &Scorecard, prompt: &str) -> serde_json::Value {
    json!({
        "model": model,
        "messages": [
            {"role": "system", "content": scorecard.instructions()},
            {"role": "user", "content": prompt},
        ],
        "response_format": {"type": "json_object"},
        "temperature": 0,
    })
}

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    model: Option<String>,
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

#[derive(Deserialize)]
struct RawVerdict {
    score: serde_json::Value,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    explanation: Option<String>,
}

/// Reads a chat-completions answer body into a verdict.
pub fn read_reply(body: &[u8]) -> Result<JudgeReply, ReplyError> {
    let completion: Completion = serde_json::from_slice(body).map_err(|e| ReplyError::NotACompletion(e.to_string()))?;
    let content = completion
        .choices
        .first()
        .and_then(|c| c.message.content.as_deref())
        .ok_or_else(|| ReplyError::NotACompletion("no choice with content".into()))?;
    let verdict = read_verdict(content)?;
    let usage = completion.usage.unwrap_or(Usage { prompt_tokens: 0, completion_tokens: 0 });
    Ok(JudgeReply {
        verdict,
        input_tokens: usage.prompt_tokens,
        output_tokens: usage.completion_tokens,
        model: completion.model,
    })
}

/// Reads the verdict object. A Markdown code fence around it is tolerated (judges without
/// JSON mode add one); anything else around it is not.
pub fn read_verdict(content: &str) -> Result<Verdict, ReplyError> {
    let text = content.trim();
    let text = text
        .strip_prefix("```json")
        .or_else(|| text.strip_prefix("```"))
        .and_then(|t| t.trim_end().strip_suffix("```"))
        .unwrap_or(text)
        .trim();
    let short = || text.chars().take(200).collect::<String>();
    let raw: RawVerdict =
        serde_json::from_str(text).map_err(|e| ReplyError::NotAVerdict(format!("{e} in {:?}", short())))?;
    let score = match &raw.score {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|s| s.is_finite() && (0.0..=1.0).contains(s))
    .ok_or_else(|| ReplyError::NotAVerdict(format!("score {} is not a number from 0 to 1", raw.score)))?;
    let passed = match raw.label.as_deref().map(|l| l.trim().to_ascii_lowercase()) {
        Some(label) if label == "pass" => true,
        Some(label) if label == "fail" => false,
        Some(other) => return Err(ReplyError::NotAVerdict(format!("label {other:?} is neither pass nor fail"))),
        None => score >= 0.5,
    };
    Ok(Verdict { score, passed, explanation: raw.explanation.unwrap_or_default() })
}

/// A verdict as a score on the request's trace, with the scorecard's version and the model.
pub fn score(
    verdict: &Verdict,
    criterion: &Criterion,
    card: &Scorecard,
    model: &str,
    trace_hex: &str,
    now: u64,
) -> Score {
    Score {
        target_kind: ScoreTargetKind::Trace,
        target_id: trace_hex.to_string(),
        trace_id: None,
        name: criterion.name.clone(),
        value: Some(verdict.score),
        label: Some(if verdict.passed { "pass" } else { "fail" }.into()),
        explanation: Some(verdict.explanation.clone()).filter(|e| !e.is_empty()),
        source: JUDGE_SOURCE.into(),
        time_unix_nano: now,
        evaluator: Some(EvaluatorVersion {
            scorecard: card.name.clone(),
            version: card.version.clone(),
            model: Some(model.to_string()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completion(content: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "model": "judge-1",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 120, "completion_tokens": 30},
        }))
        .unwrap()
    }

    #[test]
    fn a_json_verdict_reads_with_its_usage() {
        let reply = read_reply(&completion(r#"{"score": 0.2, "label": "fail", "explanation": "wrong date"}"#)).unwrap();
        assert_eq!(reply.verdict, Verdict { score: 0.2, passed: false, explanation: "wrong date".into() });
        assert_eq!((reply.input_tokens, reply.output_tokens, reply.model.as_deref()), (120, 30, Some("judge-1")));
    }

    #[test]
    fn prose_instead_of_json_is_not_a_verdict() {
        let err = read_reply(&completion("The answer looks fine to me.")).unwrap_err();
        assert!(matches!(err, ReplyError::NotAVerdict(_)), "{err}");
    }

    #[test]
    fn a_score_out_of_range_or_an_unknown_label_is_not_a_verdict() {
        assert!(read_verdict(r#"{"score": 7, "label": "pass"}"#).is_err());
        assert!(read_verdict(r#"{"score": 0.9, "label": "great"}"#).is_err());
    }

    #[test]
    fn a_fenced_verdict_reads_and_a_missing_label_follows_the_score() {
        let verdict = read_verdict("```json\n{\"score\": 0.75}\n```").unwrap();
        assert!(verdict.passed);
    }

    #[test]
    fn a_body_that_is_not_a_completion_says_so() {
        assert!(matches!(read_reply(b"<html>502</html>").unwrap_err(), ReplyError::NotACompletion(_)));
    }

    #[test]
    fn the_request_asks_for_a_json_object_at_temperature_zero() {
        let body = request_body("judge-1", &Scorecard::builtin(), "prompt");
        assert_eq!(body["response_format"]["type"], "json_object");
        assert_eq!(body["messages"][1]["content"], "prompt");
        assert_eq!(body["temperature"], 0);
    }
}
