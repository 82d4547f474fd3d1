//! What a judge is shown of one request: the exact question and answer, the documents
//! retrieval returned, and the tools' results, read from the stored spans, not from the
//! summary's shortened previews.

use tracehound_store::model::{Span, SpanKind, StatusCode};
use tracehound_store::summary::RequestTexts;
use tracehound_store::TraceData;

/// One retrieved document, as retrieval returned it.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentText {
    /// Its id, when the retriever gave one.
    pub id: Option<String>,
    /// Its content, exact.
    pub content: String,
}

/// One tool call and what it returned.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    /// The tool's name.
    pub name: String,
    /// The arguments, exact.
    pub arguments: Option<String>,
    /// The result, exact.
    pub result: Option<String>,
    /// Whether the call failed.
    pub failed: bool,
    /// The failure's message.
    pub error: Option<String>,
}

/// A request's evidence for evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    /// The user's question.
    pub question: Option<String>,
    /// The final answer.
    pub answer: Option<String>,
    /// Documents retrieved, each once, in retrieval order.
    pub documents: Vec<DocumentText>,
    /// Tool calls, in start order.
    pub tool_results: Vec<ToolResult>,
    /// The outputs of model calls that asked for JSON, with their span ids (hex).
    pub json_outputs: Vec<(String, String)>,
}

impl Evidence {
    /// The evidence of one stored request.
    pub fn of(data: &TraceData) -> Evidence {
        let texts = RequestTexts::of(&data.spans, &data.logs);
        let mut documents: Vec<DocumentText> = Vec::new();
        let mut tool_results = Vec::new();
        let mut json_outputs = Vec::new();
        for span in &data.spans {
            if let Some(retrieval) = &span.retrieval {
                for doc in &retrieval.documents {
                    let Some(content) = doc.content.as_ref().filter(|c| !c.trim().is_empty()) else { continue };
                    let seen = documents.iter().any(|d| match (&d.id, &doc.id) {
                        (Some(a), Some(b)) => a == b,
                        _ => d.content == *content,
                    });
                    if !seen {
                        documents.push(DocumentText { id: doc.id.clone(), content: content.clone() });
                    }
                }
            }
            if span.kind == SpanKind::Tool {
                let tool = span.tool.clone().unwrap_or_default();
                let failed = span.status == StatusCode::Error;
                tool_results.push(ToolResult {
                    name: tool.name.unwrap_or_else(|| span.name.clone()),
                    arguments: tool.arguments.or_else(|| span.input_value.clone()),
                    result: tool.result.or_else(|| span.output_value.clone()),
                    failed,
                    error: failed.then(|| error_text(span)),
                });
            }
            if asks_for_json(span) {
                let output = span.llm.as_ref().map(|llm| llm.output_messages.iter().map(|m| m.text()).collect());
                let output: Option<String> = output.filter(|o: &String| !o.trim().is_empty());
                if let Some(output) = output.or_else(|| span.output_value.clone()) {
                    json_outputs.push((hex::encode(span.span_id), output));
                }
            }
        }
        Evidence { question: texts.question, answer: texts.answer, documents, tool_results, json_outputs }
    }
}

fn error_text(span: &Span) -> String {
    match &span.error {
        Some(error) => error.message.clone().unwrap_or_else(|| span.status_message.clone()),
        None => span.status_message.clone(),
    }
}

/// Whether a model call asked for a JSON answer: OpenAI's `response_format` (`json_object`,
/// `json_schema`), or `gen_ai.output.type = json`.
pub fn asks_for_json(span: &Span) -> bool {
    let Some(llm) = &span.llm else { return false };
    let by_parameter = llm.parameters.get("response_format").is_some_and(|format| {
        let kind = match format {
            serde_json::Value::String(text) => text.clone(),
            serde_json::Value::Object(object) => object.get("type").and_then(|t| t.as_str()).unwrap_or("").to_string(),
            _ => String::new(),
        };
        kind.to_ascii_lowercase().starts_with("json")
    });
    let by_attribute = span.raw.attributes.iter().any(|kv| {
        let text = kv.value.as_ref().and_then(|v| v.as_str()).unwrap_or("").to_ascii_lowercase();
        match kv.key.as_str() {
            "gen_ai.output.type" => text == "json",
            "gen_ai.openai.request.response_format" => text.starts_with("json"),
            _ => false,
        }
    });
    by_parameter || by_attribute
}
