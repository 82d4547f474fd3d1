//! Chat messages in every form the conventions send them, read into [`Message`]s by one parser:
//! parts-based JSON (`gen_ai.input.messages`, as a JSON string or a structured value), OpenAI-style
//! message objects (legacy events and `gen_ai.prompt` strings), OpenInference flattened
//! `llm.input_messages.N.message.*`, and OpenLLMetry's legacy `gen_ai.prompt.N.*`.
//!
//! Content is never dropped: what does not parse is kept as text, unknown parts as `Other`.

use serde_json::{Map, Value as Json};
use tracehound_store::model::{AttrValue, Message, MessagePart};

use super::attrs::{exact_text, json_to_text, parse_json_container, structured_json, AttrMap};

/// Which side of a model call a message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Sent to the model.
    Input,
    /// Returned by the model.
    Output,
}

/// A message carried by one legacy per-message event (`gen_ai.user.message`, `gen_ai.choice`...).
#[derive(Debug, Clone, PartialEq)]
pub struct EventMessage {
    /// Input for the per-role events, output for `gen_ai.choice`.
    pub side: Side,
    /// The choice index (`gen_ai.choice` only), for ordering outputs.
    pub index: Option<i64>,
    /// The message.
    pub message: Message,
}

/// Messages of an "any"-typed messages attribute: structured or JSON text; text that is not
/// JSON is kept whole as one message with `default_role`.
pub fn messages_from_attr(value: &AttrValue, default_role: &str) -> Vec<Message> {
    match structured_json(value) {
        Some(json) => messages_from_json(&json, default_role),
        None => exact_text(value).map(|text| vec![text_message(default_role, text)]).unwrap_or_default(),
    }
}

/// Messages from JSON: an array of messages, one message object, or a bare string.
pub fn messages_from_json(value: &Json, default_role: &str) -> Vec<Message> {
    match value {
        Json::Array(items) => items.iter().filter_map(|item| message_from_json(item, default_role)).collect(),
        other => message_from_json(other, default_role).into_iter().collect(),
    }
}

/// One message from JSON: a parts-based or OpenAI-style object, or a bare string.
pub fn message_from_json(value: &Json, default_role: &str) -> Option<Message> {
    match value {
        Json::Object(object) => Some(message_from_object(object, default_role)),
        Json::String(text) => Some(text_message(default_role, text.clone())),
        Json::Null => None,
        other => Some(text_message(default_role, other.to_string())),
    }
}

fn message_from_object(object: &Map<String, Json>, default_role: &str) -> Message {
    let role = string_field(object, "role").unwrap_or_else(|| default_role.to_string());
    let parts = match object.get("parts") {
        Some(parts) => parts_from_json(parts),
        None => openai_style_parts(object, &role),
    };
    Message { role, parts, name: string_field(object, "name"), finish_reason: string_field(object, "finish_reason") }
}

/// Parts of an OpenAI-style message: `content` (string or content parts) and `tool_calls`.
fn openai_style_parts(object: &Map<String, Json>, role: &str) -> Vec<MessagePart> {
    let mut parts = Vec::new();
    match object.get("content") {
        Some(Json::Array(items)) => parts.extend(items.iter().map(part_from_json)),
        Some(content) => {
            if let Some(text) = json_to_text(content) {
                let call_id = string_field(object, "tool_call_id").or_else(|| string_field(object, "id"));
                parts.push(text_or_tool_response(role, call_id, text));
            }
        }
        None => {}
    }
    if let Some(Json::Array(calls)) = object.get("tool_calls") {
        parts.extend(calls.iter().filter_map(openai_tool_call));
    }
    parts
}

/// `{id, type:"function", function:{name, arguments}}` or the flat `{id, name, arguments}`.
fn openai_tool_call(value: &Json) -> Option<MessagePart> {
    let call = value.as_object()?;
    let function = call.get("function").and_then(Json::as_object).unwrap_or(call);
    Some(MessagePart::ToolCall {
        id: string_field(call, "id"),
        name: string_field(function, "name").unwrap_or_default(),
        arguments: function.get("arguments").and_then(json_to_text),
    })
}

/// Parts from JSON: an array of parts, or a bare string as one text part.
pub fn parts_from_json(value: &Json) -> Vec<MessagePart> {
    match value {
        Json::Array(items) => items.iter().map(part_from_json).collect(),
        Json::Null => Vec::new(),
        other => vec![part_from_json(other)],
    }
}

/// One part by its `type`; unknown types are kept whole as `Other`.
fn part_from_json(value: &Json) -> MessagePart {
    let Some(object) = value.as_object() else {
        return match value {
            Json::String(text) => MessagePart::Text { content: text.clone() },
            other => MessagePart::Other { part_type: String::new(), value: other.clone() },
        };
    };
    let part_type = string_field(object, "type").unwrap_or_default();
    let content = || object.get("content").or_else(|| object.get("text")).and_then(json_to_text);
    match part_type.as_str() {
        "text" | "input_text" | "output_text" => MessagePart::Text { content: content().unwrap_or_default() },
        "reasoning" | "thinking" => MessagePart::Reasoning { content: content().unwrap_or_default() },
        "tool_call" => MessagePart::ToolCall {
            id: string_field(object, "id"),
            name: string_field(object, "name").unwrap_or_default(),
            arguments: object.get("arguments").and_then(json_to_text),
        },
        // The JSON schema names the result `response`; a stale spec example says `result`.
        "tool_call_response" => MessagePart::ToolCallResponse {
            id: string_field(object, "id"),
            response: object
                .get("response")
                .or_else(|| object.get("result"))
                .and_then(json_to_text)
                .unwrap_or_default(),
        },
        "" => match content() {
            Some(text) => MessagePart::Text { content: text },
            None => MessagePart::Other { part_type, value: value.clone() },
        },
        _ => MessagePart::Other { part_type, value: value.clone() },
    }
}

/// Text of `gen_ai.system_instructions`: its text parts joined, or the plain string.
pub fn system_instructions_from_attr(value: &AttrValue) -> Option<String> {
    let text = match structured_json(value) {
        Some(Json::Object(object)) => match object.get("parts") {
            Some(parts) => join_text(&parts_from_json(parts)),
            None => message_from_object(&object, "system").text(),
        },
        Some(json) => join_text(&parts_from_json(&json)),
        None => exact_text(value)?,
    };
    (!text.trim().is_empty()).then_some(text)
}

/// Text of the system and developer messages, joined by newlines; `None` when there are none.
pub fn system_text(messages: &[Message]) -> Option<String> {
    let texts: Vec<String> = messages
        .iter()
        .filter(|message| matches!(message.role.as_str(), "system" | "developer"))
        .map(Message::text)
        .filter(|text| !text.is_empty())
        .collect();
    (!texts.is_empty()).then(|| texts.join("\n"))
}

/// OpenInference flattened messages under `prefix` (`llm.input_messages.` / `llm.output_messages.`).
pub fn openinference_messages(attrs: &AttrMap<'_>, prefix: &str, default_role: &str) -> Vec<Message> {
    attrs.indexed(prefix).values().map(|message| openinference_message(message, default_role)).collect()
}

fn openinference_message(message: &AttrMap<'_>, default_role: &str) -> Message {
    let role = message.text("message.role").unwrap_or_else(|| default_role.to_string());
    let mut parts = Vec::new();
    if let Some(content) = message.json_text("message.content") {
        parts.push(text_or_tool_response(&role, message.text("message.tool_call_id"), content));
    }
    for content in message.indexed("message.contents.").values() {
        parts.push(openinference_content(content));
    }
    for call in message.indexed("message.tool_calls.").values() {
        parts.push(MessagePart::ToolCall {
            id: call.text("tool_call.id"),
            name: call.text("tool_call.function.name").unwrap_or_default(),
            arguments: call.json_text("tool_call.function.arguments"),
        });
    }
    Message { role, parts, name: message.text("message.name"), finish_reason: None }
}

/// `message_content.{type,text,image.image.url,...}`: text and reasoning typed, the rest kept.
fn openinference_content(content: &AttrMap<'_>) -> MessagePart {
    let part_type = content.text("message_content.type").unwrap_or_else(|| "text".to_string());
    let text = content.json_text("message_content.text");
    match (part_type.as_str(), text) {
        ("text", Some(text)) => MessagePart::Text { content: text },
        ("reasoning", Some(text)) => MessagePart::Reasoning { content: text },
        _ => {
            let fields = content.with_prefix("message_content.").map(|(key, value)| (key.to_string(), value));
            let value = Json::Object(fields.map(|(key, value)| (key, super::attrs::natural_json(value))).collect());
            MessagePart::Other { part_type, value }
        }
    }
}

/// Legacy indexed messages (`gen_ai.prompt.N.*`, `gen_ai.completion.N.*`); only numeric second
/// segments count, so `gen_ai.prompt.name` / `.version` are never read as messages.
pub fn indexed_messages(attrs: &AttrMap<'_>, prefix: &str, default_role: &str) -> Vec<Message> {
    attrs.indexed(prefix).values().map(|message| indexed_message(message, default_role)).collect()
}

fn indexed_message(message: &AttrMap<'_>, default_role: &str) -> Message {
    let role = message.text("role").unwrap_or_else(|| default_role.to_string());
    let mut parts = Vec::new();
    if let Some(content) = message.json_text("content") {
        // OpenLLMetry writes multi-part content as a JSON string of typed parts.
        match typed_parts(&content) {
            Some(typed) => parts.extend(typed),
            None => parts.push(text_or_tool_response(&role, message.text("tool_call_id"), content)),
        }
    }
    for call in message.indexed("tool_calls.").values() {
        parts.push(MessagePart::ToolCall {
            id: call.text("id"),
            name: call.text("name").unwrap_or_default(),
            arguments: call.json_text("arguments"),
        });
    }
    Message { role, parts, name: message.text("name"), finish_reason: message.text("finish_reason") }
}

/// Parts from text only when it is a JSON array of typed part objects; any other text,
/// even valid JSON, is the user's own content and stays text.
fn typed_parts(text: &str) -> Option<Vec<MessagePart>> {
    let Json::Array(items) = parse_json_container(text)? else { return None };
    let all_typed = !items.is_empty() && items.iter().all(|item| item.get("type").and_then(Json::as_str).is_some());
    all_typed.then(|| items.iter().map(part_from_json).collect())
}

/// Legacy (pre-1.37) per-message GenAI events, as span events or log records.
pub const MESSAGE_EVENTS: &[&str] = &[
    "gen_ai.system.message",
    "gen_ai.user.message",
    "gen_ai.assistant.message",
    "gen_ai.tool.message",
    "gen_ai.choice",
];

/// True for the legacy per-message event names.
pub fn is_message_event(event_name: &str) -> bool {
    MESSAGE_EVENTS.contains(&event_name)
}

/// The message of a legacy per-message event (span event or log record), by event name.
pub fn event_message(event_name: &str, body: &Json) -> Option<EventMessage> {
    let default_role = match event_name {
        "gen_ai.system.message" => "system",
        "gen_ai.user.message" => "user",
        "gen_ai.assistant.message" => "assistant",
        "gen_ai.tool.message" => "tool",
        "gen_ai.choice" => return choice_message(body),
        _ => return None,
    };
    let message = message_from_json(body, default_role)?;
    Some(EventMessage { side: Side::Input, index: None, message })
}

/// `gen_ai.choice`: `{index, finish_reason, message:{role?, content?, tool_calls?}}`; python-contrib
/// nests `tool_calls` in `message`, the YAML puts them beside it, so both are read.
fn choice_message(body: &Json) -> Option<EventMessage> {
    let Json::Object(choice) = body else {
        let message = message_from_json(body, "assistant")?;
        return Some(EventMessage { side: Side::Output, index: None, message });
    };
    let mut message = match choice.get("message") {
        Some(inner) => message_from_json(inner, "assistant").unwrap_or_else(|| empty_message("assistant")),
        None => empty_message("assistant"),
    };
    if let Some(Json::Array(calls)) = choice.get("tool_calls") {
        message.parts.extend(calls.iter().filter_map(openai_tool_call));
    }
    if message.finish_reason.is_none() {
        message.finish_reason = string_field(choice, "finish_reason");
    }
    let index = choice.get("index").and_then(Json::as_i64);
    Some(EventMessage { side: Side::Output, index, message })
}

/// A tool message's content is the tool's answer when it names the call it answers.
fn text_or_tool_response(role: &str, call_id: Option<String>, text: String) -> MessagePart {
    match call_id {
        Some(id) if role == "tool" => MessagePart::ToolCallResponse { id: Some(id), response: text },
        _ => MessagePart::Text { content: text },
    }
}

fn text_message(role: &str, content: String) -> Message {
    Message { role: role.to_string(), parts: vec![MessagePart::Text { content }], name: None, finish_reason: None }
}

fn empty_message(role: &str) -> Message {
    Message { role: role.to_string(), parts: Vec::new(), name: None, finish_reason: None }
}

fn join_text(parts: &[MessagePart]) -> String {
    Message { role: String::new(), parts: parts.to_vec(), name: None, finish_reason: None }.text()
}

fn string_field(object: &Map<String, Json>, key: &str) -> Option<String> {
    object.get(key).and_then(super::attrs::json_scalar_text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tracehound_store::model::KeyValue;

    fn str_attrs(pairs: &[(&str, &str)]) -> Vec<KeyValue> {
        pairs
            .iter()
            .map(|(key, value)| KeyValue { key: key.to_string(), value: Some(AttrValue::Str(value.to_string())) })
            .collect()
    }

    #[test]
    fn parts_based_json_string_is_parsed() {
        let text = r#"[{"role":"user","parts":[{"type":"text","content":"hi"}]},
            {"role":"assistant","parts":[{"type":"tool_call","id":"c1","name":"f","arguments":{"a":1}}],"finish_reason":"tool_calls"}]"#;
        let messages = messages_from_attr(&AttrValue::Str(text.into()), "user");
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].parts, vec![MessagePart::Text { content: "hi".into() }]);
        assert_eq!(
            messages[1].parts,
            vec![MessagePart::ToolCall {
                id: Some("c1".into()),
                name: "f".into(),
                arguments: Some(r#"{"a":1}"#.into())
            }]
        );
        assert_eq!(messages[1].finish_reason.as_deref(), Some("tool_calls"));
    }

    #[test]
    fn structured_value_parses_like_its_json_string() {
        let part = AttrValue::Map(vec![
            KeyValue { key: "type".into(), value: Some(AttrValue::Str("text".into())) },
            KeyValue { key: "content".into(), value: Some(AttrValue::Str("hi".into())) },
        ]);
        let message = AttrValue::Map(vec![
            KeyValue { key: "role".into(), value: Some(AttrValue::Str("user".into())) },
            KeyValue { key: "parts".into(), value: Some(AttrValue::Array(vec![part])) },
        ]);
        let structured = messages_from_attr(&AttrValue::Array(vec![message]), "user");
        let from_text = messages_from_attr(
            &AttrValue::Str(r#"[{"role":"user","parts":[{"type":"text","content":"hi"}]}]"#.into()),
            "user",
        );
        assert_eq!(structured, from_text);
    }

    #[test]
    fn tool_call_arguments_given_as_string_are_kept_verbatim() {
        let messages = messages_from_json(
            &json!([{"role":"assistant","parts":[{"type":"tool_call","name":"f","arguments":"{\"a\": 1}"}]}]),
            "user",
        );
        assert_eq!(
            messages[0].parts,
            vec![MessagePart::ToolCall { id: None, name: "f".into(), arguments: Some("{\"a\": 1}".into()) }]
        );
    }

    #[test]
    fn tool_call_response_accepts_result_as_well_as_response() {
        let messages = messages_from_json(
            &json!([{"role":"tool","parts":[{"type":"tool_call_response","id":"c1","result":{"ok":true}}]}]),
            "user",
        );
        assert_eq!(
            messages[0].parts,
            vec![MessagePart::ToolCallResponse { id: Some("c1".into()), response: r#"{"ok":true}"#.into() }]
        );
    }

    #[test]
    fn unknown_part_types_are_kept_as_other() {
        let part = json!({"type":"refusal","content":"no"});
        let messages = messages_from_json(&json!([{"role":"assistant","parts":[part.clone()]}]), "user");
        assert_eq!(messages[0].parts, vec![MessagePart::Other { part_type: "refusal".into(), value: part }]);
    }

    #[test]
    fn unparseable_messages_text_is_kept_as_one_message() {
        let messages = messages_from_attr(&AttrValue::Str("[{broken".into()), "user");
        assert_eq!(messages, vec![text_message("user", "[{broken".into())]);
    }

    #[test]
    fn system_instructions_join_text_parts() {
        let value =
            AttrValue::Str(r#"[{"type":"text","content":"Be brief."},{"type":"text","content":"Be kind."}]"#.into());
        assert_eq!(system_instructions_from_attr(&value).as_deref(), Some("Be brief.\nBe kind."));
        assert_eq!(system_instructions_from_attr(&AttrValue::Str("plain".into())).as_deref(), Some("plain"));
    }

    #[test]
    fn openinference_flattened_messages_with_tool_calls_and_tool_results() {
        let list = str_attrs(&[
            ("llm.input_messages.0.message.role", "system"),
            ("llm.input_messages.0.message.content", "Be brief."),
            ("llm.input_messages.1.message.role", "assistant"),
            ("llm.input_messages.1.message.tool_calls.0.tool_call.id", "c1"),
            ("llm.input_messages.1.message.tool_calls.0.tool_call.function.name", "lookup"),
            ("llm.input_messages.1.message.tool_calls.0.tool_call.function.arguments", r#"{"id": 1}"#),
            ("llm.input_messages.2.message.role", "tool"),
            ("llm.input_messages.2.message.tool_call_id", "c1"),
            ("llm.input_messages.2.message.content", "found"),
            ("llm.input_messages.3.message.role", "user"),
            ("llm.input_messages.3.message.contents.0.message_content.type", "text"),
            ("llm.input_messages.3.message.contents.0.message_content.text", "look"),
            ("llm.input_messages.3.message.contents.1.message_content.type", "image"),
            ("llm.input_messages.3.message.contents.1.message_content.image.image.url", "http://x/y.png"),
        ]);
        let messages = openinference_messages(&AttrMap::new(&list), "llm.input_messages.", "user");
        assert_eq!(messages.len(), 4);
        assert_eq!(
            messages[1].parts,
            vec![MessagePart::ToolCall {
                id: Some("c1".into()),
                name: "lookup".into(),
                arguments: Some(r#"{"id": 1}"#.into())
            }]
        );
        assert_eq!(
            messages[2].parts,
            vec![MessagePart::ToolCallResponse { id: Some("c1".into()), response: "found".into() }]
        );
        assert_eq!(messages[3].parts[0], MessagePart::Text { content: "look".into() });
        assert_eq!(
            messages[3].parts[1],
            MessagePart::Other {
                part_type: "image".into(),
                value: json!({"image.image.url": "http://x/y.png", "type": "image"})
            }
        );
    }

    #[test]
    fn legacy_prompt_content_is_read() {
        let list = str_attrs(&[("gen_ai.prompt.0.role", "user"), ("gen_ai.prompt.0.content", "Where is my order?")]);
        let messages = indexed_messages(&AttrMap::new(&list), "gen_ai.prompt.", "user");
        assert_eq!(messages, vec![text_message("user", "Where is my order?".into())]);
    }

    #[test]
    fn prompt_version_and_name_are_not_messages() {
        let list = str_attrs(&[("gen_ai.prompt.version", "v7"), ("gen_ai.prompt.name", "support")]);
        assert!(indexed_messages(&AttrMap::new(&list), "gen_ai.prompt.", "user").is_empty());
    }

    #[test]
    fn legacy_content_that_is_json_but_not_parts_stays_text() {
        let list = str_attrs(&[("gen_ai.prompt.0.role", "user"), ("gen_ai.prompt.0.content", r#"{"order": 1}"#)]);
        let messages = indexed_messages(&AttrMap::new(&list), "gen_ai.prompt.", "user");
        assert_eq!(messages[0].parts, vec![MessagePart::Text { content: r#"{"order": 1}"#.into() }]);
    }

    #[test]
    fn legacy_completion_tool_calls_and_finish_reason() {
        let list = str_attrs(&[
            ("gen_ai.completion.0.role", "assistant"),
            ("gen_ai.completion.0.finish_reason", "tool_calls"),
            ("gen_ai.completion.0.tool_calls.0.id", "c1"),
            ("gen_ai.completion.0.tool_calls.0.name", "f"),
            ("gen_ai.completion.0.tool_calls.0.arguments", "{}"),
        ]);
        let messages = indexed_messages(&AttrMap::new(&list), "gen_ai.completion.", "assistant");
        assert_eq!(messages[0].finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(
            messages[0].parts,
            vec![MessagePart::ToolCall { id: Some("c1".into()), name: "f".into(), arguments: Some("{}".into()) }]
        );
    }

    #[test]
    fn choice_event_reads_nested_and_sibling_tool_calls() {
        let body = json!({"index": 1, "finish_reason": "tool_calls",
            "message": {"tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            "tool_calls": [{"id": "b", "function": {"name": "g"}}]});
        let event = event_message("gen_ai.choice", &body).expect("choice");
        assert_eq!(event.side, Side::Output);
        assert_eq!(event.index, Some(1));
        assert_eq!(event.message.role, "assistant");
        assert_eq!(event.message.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(event.message.parts.len(), 2);
    }

    #[test]
    fn tool_message_event_becomes_a_tool_call_response() {
        let event = event_message("gen_ai.tool.message", &json!({"content": "42", "id": "c9"})).expect("tool message");
        assert_eq!(event.message.role, "tool");
        assert_eq!(
            event.message.parts,
            vec![MessagePart::ToolCallResponse { id: Some("c9".into()), response: "42".into() }]
        );
    }

    #[test]
    fn system_text_joins_system_and_developer_messages() {
        let messages = vec![
            text_message("system", "A".into()),
            text_message("user", "B".into()),
            text_message("developer", "C".into()),
        ];
        assert_eq!(system_text(&messages).as_deref(), Some("A\nC"));
    }
}
