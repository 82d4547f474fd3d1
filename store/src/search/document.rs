//! What of a span is searchable, and under which field. Shared by the indexer (which
//! builds one document per trace) and highlighting (which looks inside single spans), so
//! a hit can always be shown.

use crate::model::{LlmCall, LogRecord, Message, MessagePart, Span};
use crate::search::request::TextField;

/// Searchable texts of one span, by field, in a stable order.
pub fn span_texts(span: &Span) -> Vec<(TextField, &str)> {
    let mut out = Vec::new();
    out.push((TextField::Name, span.name.as_str()));
    if let Some(llm) = &span.llm {
        llm_texts(llm, &mut out);
    }
    if let Some(input) = &span.input_value {
        out.push((TextField::Input, input));
    }
    if let Some(output) = &span.output_value {
        out.push((TextField::Output, output));
    }
    if let Some(tool) = &span.tool {
        if let Some(name) = &tool.name {
            out.push((TextField::Name, name));
        }
        if let Some(arguments) = &tool.arguments {
            out.push((TextField::ToolArgs, arguments));
        }
        if let Some(result) = &tool.result {
            out.push((TextField::ToolResult, result));
        }
    }
    if let Some(retrieval) = &span.retrieval {
        if let Some(query) = &retrieval.query {
            out.push((TextField::Documents, query));
        }
        for doc in &retrieval.documents {
            if let Some(id) = &doc.id {
                out.push((TextField::Documents, id));
            }
            if let Some(content) = &doc.content {
                out.push((TextField::Documents, content));
            }
        }
    }
    if let Some(error) = &span.error {
        if let Some(kind) = &error.error_type {
            out.push((TextField::Error, kind));
        }
        if let Some(message) = &error.message {
            out.push((TextField::Error, message));
        }
    }
    if !span.status_message.is_empty() {
        out.push((TextField::Error, &span.status_message));
    }
    out
}

/// Searchable texts a log record adds to its span (GenAI events carry the messages when a
/// deployment sends content only as events).
pub fn log_texts(log: &LogRecord) -> Vec<(TextField, &str)> {
    let mut out = Vec::new();
    if let Some(llm) = &log.llm {
        llm_texts(llm, &mut out);
    }
    out
}

fn llm_texts<'a>(llm: &'a LlmCall, out: &mut Vec<(TextField, &'a str)>) {
    if let Some(system) = &llm.system_instructions {
        out.push((TextField::System, system));
    }
    for message in &llm.input_messages {
        message_texts(message, TextField::Input, out);
    }
    for message in &llm.output_messages {
        message_texts(message, TextField::Output, out);
    }
    for text in &llm.embedding_inputs {
        out.push((TextField::Input, text));
    }
}

fn message_texts<'a>(message: &'a Message, field: TextField, out: &mut Vec<(TextField, &'a str)>) {
    let system = matches!(message.role.as_str(), "system" | "developer");
    for part in &message.parts {
        match part {
            MessagePart::Text { content } | MessagePart::Reasoning { content } => {
                out.push((if system { TextField::System } else { field }, content));
            }
            MessagePart::ToolCall { name, arguments, .. } => {
                out.push((field, name));
                if let Some(arguments) = arguments {
                    out.push((TextField::ToolArgs, arguments));
                }
            }
            MessagePart::ToolCallResponse { response, .. } => out.push((TextField::ToolResult, response)),
            MessagePart::Other { .. } => {}
        }
    }
}
