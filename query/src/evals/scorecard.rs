//! The scorecard: the criteria an LLM judge scores, each a prompt template filled with the
//! request's exact evidence, and a scale. Defined before launch, versioned like a prompt.
//!
//! ```toml
//! name = "support-bot"
//! version = "3"
//!
//! [[criteria]]
//! name = "correctness"
//! scale = "1.0: fully correct; 0.5: partly; 0.0: wrong or no answer"
//! prompt = """
//! Question: {question}
//! Documents: {documents}
//! Answer: {answer}
//! Is the answer correct? Scale: {scale}
//! """
//! ```
//!
//! A template names fields in braces: `{question}`, `{answer}`, `{documents}`,
//! `{tool_results}`, `{scale}`; `{{` and `}}` are literal braces. An unknown field is
//! refused when the file is read, not at 2 AM.

use serde::Deserialize;

use super::evidence::Evidence;

/// The fields a template can name.
pub const FIELDS: [&str; 5] = ["question", "answer", "documents", "tool_results", "scale"];

/// Characters of evidence at most in one judge prompt: past it, documents and tool results
/// are cut and the cut says so, so one huge retrieval cannot make every call fail.
pub const MAX_EVIDENCE_CHARS: usize = 200_000;

/// One criterion.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// The score name its results carry (`correctness`).
    pub name: String,
    /// The prompt template.
    pub prompt: String,
    /// What the scores mean, shown to the judge as `{scale}`.
    #[serde(default = "default_scale")]
    pub scale: String,
}

fn default_scale() -> String {
    "1.0 when the answer fully meets the criterion, 0.0 when it fails it; label fail below 0.5".into()
}

/// A named, versioned set of criteria.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scorecard {
    /// Its name.
    pub name: String,
    /// Its version: bump it when a criterion changes.
    pub version: String,
    /// The judge's standing instructions; a default asks for the JSON verdict.
    #[serde(default)]
    pub instructions: Option<String>,
    /// The criteria.
    pub criteria: Vec<Criterion>,
}

/// Why a scorecard was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScorecardError {
    /// Not TOML of the scorecard's shape.
    #[error("the scorecard is not valid: {0}")]
    Syntax(String),
    /// Parsed, but not usable.
    #[error("the scorecard is not usable: {0}")]
    Invalid(String),
}

/// The instructions every judge call carries unless the scorecard gives its own.
pub const DEFAULT_INSTRUCTIONS: &str = "You are a strict evaluator of an AI assistant's answers. \
Judge only the criterion you are given, from the evidence shown. \
Answer with one JSON object and nothing else: \
{\"score\": <number from 0.0 to 1.0>, \"label\": \"pass\" or \"fail\", \"explanation\": \"<one or two sentences>\"}.";

impl Scorecard {
    /// Reads and checks a scorecard file's text.
    pub fn from_toml(text: &str) -> Result<Scorecard, ScorecardError> {
        let card: Scorecard = toml::from_str(text).map_err(|e| ScorecardError::Syntax(e.to_string()))?;
        card.check()?;
        Ok(card)
    }

    fn check(&self) -> Result<(), ScorecardError> {
        let invalid = |m: String| Err(ScorecardError::Invalid(m));
        if self.name.trim().is_empty() || self.version.trim().is_empty() {
            return invalid("name and version must not be empty".into());
        }
        if self.criteria.is_empty() {
            return invalid("it has no criteria".into());
        }
        for (i, criterion) in self.criteria.iter().enumerate() {
            if criterion.name.trim().is_empty() {
                return invalid(format!("criterion {} has no name", i + 1));
            }
            if self.criteria[..i].iter().any(|c| c.name == criterion.name) {
                return invalid(format!("two criteria are named {:?}", criterion.name));
            }
            if let Err(e) = render(&criterion.prompt, &|name| FIELDS.contains(&name).then(String::new)) {
                return invalid(format!("criterion {:?}: {e}", criterion.name));
            }
            if !criterion.prompt.contains("{answer}") {
                return invalid(format!("criterion {:?} never shows the judge the {{answer}}", criterion.name));
            }
        }
        Ok(())
    }

    /// The built-in scorecard: correctness, and grounding in the retrieved documents.
    pub fn builtin() -> Scorecard {
        Scorecard {
            name: "builtin".into(),
            version: "1".into(),
            instructions: None,
            criteria: vec![
                Criterion {
                    name: "correctness".into(),
                    scale: "1.0: answers the question correctly and completely; 0.5: partly, or with a minor error; \
                            0.0: wrong, off-topic, or no real answer (a refusal or \"I don't know\" to an answerable \
                            question). Label fail below 0.5."
                        .into(),
                    prompt: "Criterion: correctness. Does the answer correctly answer the user's question?\n\n\
                             Question:\n{question}\n\nRetrieved documents:\n{documents}\n\nTool results:\n{tool_results}\n\n\
                             Answer:\n{answer}\n\nScale: {scale}"
                        .into(),
                },
                Criterion {
                    name: "grounding".into(),
                    scale: "1.0: every claim is supported by the documents or tool results; 0.5: mostly; 0.0: makes \
                            claims they do not support, or contradicts them. With no documents and no tool results, \
                            score 1.0 unless the answer states specific facts it could not know. Label fail below 0.5."
                        .into(),
                    prompt: "Criterion: grounding. Is the answer supported by the retrieved documents and tool results?\n\n\
                             Question:\n{question}\n\nRetrieved documents:\n{documents}\n\nTool results:\n{tool_results}\n\n\
                             Answer:\n{answer}\n\nScale: {scale}"
                        .into(),
                },
            ],
        }
    }

    /// The judge's instructions.
    pub fn instructions(&self) -> &str {
        self.instructions.as_deref().filter(|i| !i.trim().is_empty()).unwrap_or(DEFAULT_INSTRUCTIONS)
    }
}

/// A criterion's prompt filled with a request's evidence.
pub fn prompt(criterion: &Criterion, evidence: &Evidence) -> String {
    let documents = documents_text(evidence);
    let tools = tools_text(evidence);
    let field = |name: &str| -> Option<String> {
        Some(match name {
            "question" => evidence.question.clone().unwrap_or_else(|| "(no question recorded)".into()),
            "answer" => evidence.answer.clone().unwrap_or_else(|| "(no answer recorded)".into()),
            "documents" => documents.clone(),
            "tool_results" => tools.clone(),
            "scale" => criterion.scale.clone(),
            _ => return None,
        })
    };
    // Checked when the scorecard was read; a template that still fails renders as written.
    render(&criterion.prompt, &field).unwrap_or_else(|_| criterion.prompt.clone())
}

fn documents_text(evidence: &Evidence) -> String {
    if evidence.documents.is_empty() {
        return "(none retrieved)".into();
    }
    let mut out = String::new();
    for (i, doc) in evidence.documents.iter().enumerate() {
        let head = match &doc.id {
            Some(id) => format!("[{}] (id: {id})\n", i + 1),
            None => format!("[{}]\n", i + 1),
        };
        if !push_capped(&mut out, &head, &doc.content, evidence.documents.len() - i) {
            break;
        }
    }
    out
}

fn tools_text(evidence: &Evidence) -> String {
    if evidence.tool_results.is_empty() {
        return "(no tool calls)".into();
    }
    let mut out = String::new();
    for (i, tool) in evidence.tool_results.iter().enumerate() {
        let head = format!("- {}({})", tool.name, tool.arguments.as_deref().unwrap_or(""));
        let body = match (&tool.result, tool.failed, &tool.error) {
            (_, true, Some(error)) => format!(" failed: {error}"),
            (_, true, None) => " failed".to_string(),
            (Some(result), false, _) => format!(" returned:\n{result}"),
            (None, false, _) => " returned nothing".to_string(),
        };
        if !push_capped(&mut out, &head, &body, evidence.tool_results.len() - i) {
            break;
        }
    }
    out
}

/// Appends one item unless the evidence cap is reached; then says how many were cut.
fn push_capped(out: &mut String, head: &str, body: &str, left: usize) -> bool {
    if out.len() + head.len() + body.len() > MAX_EVIDENCE_CHARS {
        out.push_str(&format!("[{left} more cut: the evidence passed {MAX_EVIDENCE_CHARS} characters]\n"));
        return false;
    }
    out.push_str(head);
    out.push_str(body);
    out.push_str("\n\n");
    true
}

// Five fixed fields and no logic: a template engine's own syntax would be one more
// language for a scorecard's author to learn, and would still need the unknown-field check.
fn render(template: &str, field: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                match field(name.trim()) {
                    Some(value) => out.push_str(&value),
                    None => return Err(format!("{{{name}}} is not a field; fields: {}", FIELDS.join(", "))),
                }
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evals::evidence::DocumentText;

    #[test]
    fn a_prompt_shows_the_exact_question_answer_and_documents() {
        let evidence = Evidence {
            question: Some("Where is order 42?".into()),
            answer: Some("It shipped [kb-1].".into()),
            documents: vec![DocumentText { id: Some("kb-1".into()), content: "Order 42 shipped Monday.".into() }],
            ..Default::default()
        };
        let text = prompt(&Scorecard::builtin().criteria[0], &evidence);
        for part in ["Where is order 42?", "It shipped [kb-1].", "[1] (id: kb-1)\nOrder 42 shipped Monday."] {
            assert!(text.contains(part), "{part:?} missing from {text}");
        }
    }

    #[test]
    fn a_scorecard_file_reads_with_its_criteria_and_literal_braces() {
        let card = Scorecard::from_toml(
            "name = \"support\"\nversion = \"3\"\n[[criteria]]\nname = \"tone\"\nprompt = \"Answer {answer} as {{json}}\"\n",
        )
        .unwrap();
        let text = prompt(&card.criteria[0], &Evidence { answer: Some("hi".into()), ..Default::default() });
        assert_eq!(text, "Answer hi as {json}");
    }

    #[test]
    fn an_unknown_field_is_refused_naming_the_known_ones() {
        let err = Scorecard::from_toml(
            "name = \"s\"\nversion = \"1\"\n[[criteria]]\nname = \"tone\"\nprompt = \"{answr}\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("{answr} is not a field") && err.contains("tool_results"), "{err}");
    }

    #[test]
    fn a_criterion_that_never_shows_the_answer_is_refused() {
        let err = Scorecard::from_toml(
            "name = \"s\"\nversion = \"1\"\n[[criteria]]\nname = \"tone\"\nprompt = \"{question}\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("never shows the judge the {answer}"), "{err}");
    }

    #[test]
    fn evidence_past_the_cap_is_cut_and_the_cut_says_so() {
        let big = "x".repeat(MAX_EVIDENCE_CHARS / 2 + 10);
        let documents = (0..3).map(|_| DocumentText { id: None, content: big.clone() }).collect();
        let text = documents_text(&Evidence { documents, ..Default::default() });
        assert!(text.contains("[2 more cut"), "{}", &text[text.len() - 80..]);
    }
}
