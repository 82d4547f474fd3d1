//! The model call of a span or GenAI log record (semconv §7.3): provider, models, messages,
//! parameters, usage, finish reasons, tool definitions. Each field takes the first non-empty
//! source in the order listed; spans and log records share this one reader.

use std::collections::BTreeMap;

use serde_json::Value as Json;
use tracehound_store::model::{LlmCall, Message, SpanEvent, TokenUsage};

use super::attrs::{any_json, json_scalar_text, natural_json, scalar_text, structured_json, AttrMap};
use super::messages::{
    event_message, indexed_messages, is_message_event, messages_from_attr, openinference_messages,
    system_instructions_from_attr, system_text, EventMessage, Side,
};

/// Invocation-parameter keys that are content or identity, not tuning parameters.
const NOT_PARAMETERS: &[&str] = &["model", "messages", "tools", "functions", "input", "prompt"];

/// Messages carried outside the attributes: legacy span events, or a log record's body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CarriedMessages {
    input: Vec<Message>,
    output: Vec<(Option<i64>, Message)>,
}

impl CarriedMessages {
    /// Messages of the legacy content events on a span, in event order.
    pub fn from_span_events(events: &[SpanEvent]) -> Self {
        let mut carried = CarriedMessages::default();
        for event in events {
            let attrs = AttrMap::new(&event.attributes);
            let name = event.name.as_str();
            match name {
                "gen_ai.content.prompt" => carried.input.extend(messages_of(&attrs, "gen_ai.prompt", "user")),
                "gen_ai.content.completion" => carried
                    .output
                    .extend(messages_of(&attrs, "gen_ai.completion", "assistant").into_iter().map(|m| (None, m))),
                // Span events have no body: the message's fields are the event's attributes.
                _ if is_message_event(name) => {
                    if let Some(message) = event_message(name, &attrs.to_json_object()) {
                        carried.push(message);
                    }
                }
                _ => {}
            }
        }
        carried
    }

    /// Adds one event's message on its side.
    pub fn push(&mut self, event: EventMessage) {
        match event.side {
            Side::Input => self.input.push(event.message),
            Side::Output => self.output.push((event.index, event.message)),
        }
    }

    /// Outputs in choice-index order (unindexed ones after, in arrival order).
    fn sorted_output(mut self) -> (Vec<Message>, Vec<Message>) {
        self.output.sort_by_key(|(index, _)| index.unwrap_or(i64::MAX));
        (self.input, self.output.into_iter().map(|(_, message)| message).collect())
    }
}

/// Reads the model call from attributes and carried messages; empty fields stay empty.
pub fn llm_call(attrs: &AttrMap<'_>, carried: CarriedMessages) -> LlmCall {
    let response_json = openinference_response(attrs);
    let (carried_input, carried_output) = carried.sorted_output();
    let input_messages = input_messages(attrs, carried_input);
    let output_messages = output_messages(attrs, carried_output);
    let system_instructions = attrs
        .get("gen_ai.system_instructions")
        .and_then(system_instructions_from_attr)
        .or_else(|| system_text(&input_messages));
    let operation = attrs.first_text(&["gen_ai.operation.name", "llm.request.type"]);
    let embedding_inputs = embedding_inputs(attrs, operation.as_deref(), &input_messages);
    LlmCall {
        provider: provider(attrs),
        request_model: request_model(attrs),
        response_model: response_model(attrs, response_json.as_ref()),
        system_fingerprint: system_fingerprint(attrs, response_json.as_ref()),
        response_id: attrs.text("gen_ai.response.id").or_else(|| json_field(response_json.as_ref(), "id")),
        finish_reasons: finish_reasons(attrs, &output_messages, response_json.as_ref()),
        parameters: parameters(attrs),
        usage: usage(attrs),
        tool_definitions: tool_definitions(attrs),
        operation,
        system_instructions,
        input_messages,
        output_messages,
        embedding_inputs,
    }
}

/// True when the call names a model or carries content: worth attaching to a non-LLM span
/// (the OTel workflow root carries the conversation's messages).
pub fn carries_call(call: &LlmCall) -> bool {
    call.request_model.is_some()
        || call.response_model.is_some()
        || !call.input_messages.is_empty()
        || !call.output_messages.is_empty()
        || !call.embedding_inputs.is_empty()
}

/// OpenInference puts the raw provider response in `output.value`; on LLM spans it is the only
/// place the response id and system fingerprint appear.
fn openinference_response(attrs: &AttrMap<'_>) -> Option<Json> {
    let is_llm = attrs.text("openinference.span.kind").is_some_and(|kind| kind.eq_ignore_ascii_case("LLM"));
    if !is_llm {
        return None;
    }
    attrs.json("output.value").filter(Json::is_object)
}

fn json_field(object: Option<&Json>, key: &str) -> Option<String> {
    object?.get(key).and_then(json_scalar_text)
}

fn provider(attrs: &AttrMap<'_>) -> Option<String> {
    attrs
        .text("gen_ai.provider.name")
        .or_else(|| attrs.text("gen_ai.system").map(|system| legacy_provider(&system)))
        .or_else(|| openinference_provider(attrs.text("llm.provider"), attrs.text("llm.system")))
        .or_else(|| attrs.text("ai.model.provider"))
}

/// Old `gen_ai.system` values (and OpenLLMetry's capitalized ones) in today's provider names.
fn legacy_provider(system: &str) -> String {
    let lower = system.trim().to_ascii_lowercase();
    let renamed = match lower.as_str() {
        "az.ai.openai" | "azure" => "azure.ai.openai",
        "az.ai.inference" => "azure.ai.inference",
        "vertex_ai" | "vertexai" => "gcp.vertex_ai",
        "gemini" => "gcp.gemini",
        "google" => "gcp.gen_ai",
        "xai" => "x_ai",
        "mistralai" => "mistral_ai",
        "aws" | "bedrock" => "aws.bedrock",
        "watsonx" => "ibm.watsonx.ai",
        _ => return lower,
    };
    renamed.to_string()
}

/// OpenInference's own converter rules: the hosting provider refines the AI system.
fn openinference_provider(hosting: Option<String>, system: Option<String>) -> Option<String> {
    let system = system.map(|s| s.to_ascii_lowercase());
    let Some(hosting) = hosting.map(|h| h.to_ascii_lowercase()) else {
        return system.map(|s| legacy_provider(&s));
    };
    let provider = match (hosting.as_str(), system.as_deref()) {
        ("azure", Some("openai")) => "azure.ai.openai".to_string(),
        ("azure", _) => "azure.ai.inference".to_string(),
        ("aws", _) => "aws.bedrock".to_string(),
        ("google", Some("vertexai")) => "gcp.vertex_ai".to_string(),
        ("google", _) => "gcp.gen_ai".to_string(),
        _ => legacy_provider(&hosting),
    };
    Some(provider)
}

fn request_model(attrs: &AttrMap<'_>) -> Option<String> {
    attrs.first_text(&["gen_ai.request.model", "llm.request.model_name"]).or_else(|| {
        ["llm.invocation_parameters", "embedding.invocation_parameters"]
            .iter()
            .find_map(|key| json_field(attrs.json(key).as_ref(), "model"))
    })
}

fn response_model(attrs: &AttrMap<'_>, response_json: Option<&Json>) -> Option<String> {
    attrs
        .first_text(&[
            "gen_ai.response.model",
            "llm.response.model_name",
            "llm.model_name",
            "embedding.model_name",
            "reranker.model_name",
            "langfuse.observation.model.name",
            "llm.response.model",
        ])
        .or_else(|| json_field(response_json, "model"))
}

fn system_fingerprint(attrs: &AttrMap<'_>, response_json: Option<&Json>) -> Option<String> {
    attrs
        .first_text(&[
            "openai.response.system_fingerprint",
            "gen_ai.openai.response.system_fingerprint",
            "gen_ai.openai.system_fingerprint",
        ])
        .or_else(|| json_field(response_json, "system_fingerprint"))
}

fn input_messages(attrs: &AttrMap<'_>, carried: Vec<Message>) -> Vec<Message> {
    let from_attr = |key: &str| messages_of(attrs, key, "user");
    non_empty(from_attr("gen_ai.input.messages"))
        .or_else(|| non_empty(openinference_messages(attrs, "llm.input_messages.", "user")))
        .or_else(|| non_empty(indexed_messages(attrs, "gen_ai.prompt.", "user")))
        .or_else(|| non_empty(carried))
        .or_else(|| non_empty(from_attr("gen_ai.prompt")))
        .unwrap_or_else(|| indexed_texts(attrs, "llm.prompts.", "prompt.text", "user"))
}

fn output_messages(attrs: &AttrMap<'_>, carried: Vec<Message>) -> Vec<Message> {
    let from_attr = |key: &str| messages_of(attrs, key, "assistant");
    non_empty(from_attr("gen_ai.output.messages"))
        .or_else(|| non_empty(openinference_messages(attrs, "llm.output_messages.", "assistant")))
        .or_else(|| non_empty(indexed_messages(attrs, "gen_ai.completion.", "assistant")))
        .or_else(|| non_empty(carried))
        .or_else(|| non_empty(from_attr("gen_ai.completion")))
        .unwrap_or_else(|| indexed_texts(attrs, "llm.choices.", "completion.text", "assistant"))
}

fn messages_of(attrs: &AttrMap<'_>, key: &str, default_role: &str) -> Vec<Message> {
    attrs.get(key).map(|value| messages_from_attr(value, default_role)).unwrap_or_default()
}

fn non_empty(messages: Vec<Message>) -> Option<Vec<Message>> {
    (!messages.is_empty()).then_some(messages)
}

/// OpenInference's legacy completions API: `llm.prompts.N.prompt.text`, `llm.choices.N.completion.text`.
fn indexed_texts(attrs: &AttrMap<'_>, prefix: &str, field: &str, role: &str) -> Vec<Message> {
    attrs
        .indexed(prefix)
        .values()
        .filter_map(|item| item.json_text(field))
        .map(|content| Message {
            role: role.to_string(),
            parts: vec![tracehound_store::model::MessagePart::Text { content }],
            name: None,
            finish_reason: None,
        })
        .collect()
}

fn finish_reasons(attrs: &AttrMap<'_>, outputs: &[Message], response_json: Option<&Json>) -> Vec<String> {
    let declared = attrs.get("gen_ai.response.finish_reasons").map(text_list).unwrap_or_default();
    if !declared.is_empty() {
        return declared;
    }
    let per_message: Vec<String> = outputs.iter().filter_map(|message| message.finish_reason.clone()).collect();
    if !per_message.is_empty() {
        return per_message;
    }
    if let Some(reason) = attrs.text("llm.finish_reason") {
        return vec![reason];
    }
    let per_completion: Vec<String> = attrs
        .indexed("gen_ai.completion.")
        .values()
        .filter_map(|completion| completion.text("finish_reason"))
        .collect();
    if !per_completion.is_empty() {
        return per_completion;
    }
    if let Some(reason) = attrs.text("llm.response.finish_reason") {
        return vec![reason];
    }
    response_json
        .and_then(|response| response.get("choices"))
        .and_then(Json::as_array)
        .map(|choices| {
            choices.iter().filter_map(|choice| choice.get("finish_reason").and_then(json_scalar_text)).collect()
        })
        .unwrap_or_default()
}

/// A string array, a JSON text of one, or a single string.
fn text_list(value: &tracehound_store::model::AttrValue) -> Vec<String> {
    match structured_json(value) {
        Some(Json::Array(items)) => items.iter().filter_map(json_scalar_text).collect(),
        _ => scalar_text(value).into_iter().collect(),
    }
}

fn parameters(attrs: &AttrMap<'_>) -> BTreeMap<String, Json> {
    let mut parameters: BTreeMap<String, Json> = attrs
        .with_prefix("gen_ai.request.")
        .filter(|(name, _)| *name != "model")
        .map(|(name, value)| (name.to_string(), natural_json(value)))
        .collect();
    let legacy = [
        ("llm.top_k", "top_k"),
        ("llm.frequency_penalty", "frequency_penalty"),
        ("llm.presence_penalty", "presence_penalty"),
        ("llm.chat.stop_sequences", "stop_sequences"),
    ];
    for (key, name) in legacy {
        if let Some(value) = attrs.get(key) {
            parameters.entry(name.to_string()).or_insert_with(|| natural_json(value));
        }
    }
    for key in ["llm.invocation_parameters", "embedding.invocation_parameters", "langfuse.observation.model.parameters"]
    {
        let Some(Json::Object(object)) = attrs.json(key) else { continue };
        for (name, value) in object {
            if !NOT_PARAMETERS.contains(&name.as_str()) {
                parameters.entry(name).or_insert(value);
            }
        }
    }
    parameters
}

fn usage(attrs: &AttrMap<'_>) -> TokenUsage {
    let input = attrs.first_int(&["gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt"]);
    let output = attrs.first_int(&[
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
        "llm.token_count.completion",
    ]);
    let total = attrs
        .first_int(&["gen_ai.usage.total_tokens", "llm.usage.total_tokens", "llm.token_count.total"])
        .or_else(|| input.zip(output).map(|(input, output)| input.saturating_add(output)));
    TokenUsage {
        input,
        output,
        total,
        cache_read: attrs.first_int(&[
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_read_input_tokens",
            "llm.token_count.prompt_details.cache_read",
        ]),
        cache_write: attrs.first_int(&[
            "gen_ai.usage.cache_write.input_tokens",
            "gen_ai.usage.cache_creation.input_tokens",
            "gen_ai.usage.cache_creation_input_tokens",
            "llm.token_count.prompt_details.cache_write",
        ]),
        reasoning: attrs.first_int(&[
            "gen_ai.usage.reasoning.output_tokens",
            "gen_ai.usage.reasoning_tokens",
            "llm.usage.reasoning_tokens",
            "llm.token_count.completion_details.reasoning",
        ]),
    }
}

/// Tool definitions as JSON text: `gen_ai.tool.definitions` verbatim, else OpenInference's
/// per-tool schemas or OpenLLMetry's legacy functions assembled into one JSON array.
fn tool_definitions(attrs: &AttrMap<'_>) -> Option<String> {
    if let Some(text) = attrs.json_text("gen_ai.tool.definitions") {
        return Some(text);
    }
    let schemas: Vec<Json> =
        attrs.indexed("llm.tools.").values().filter_map(|tool| tool.get("tool.json_schema")).map(any_json).collect();
    if !schemas.is_empty() {
        return Some(Json::Array(schemas).to_string());
    }
    let functions: Vec<Json> = attrs
        .indexed("llm.request.functions.")
        .values()
        .map(|function| {
            let mut definition = serde_json::Map::new();
            definition.insert("type".into(), Json::String("function".into()));
            for field in ["name", "description"] {
                if let Some(text) = function.json_text(field) {
                    definition.insert(field.into(), Json::String(text));
                }
            }
            if let Some(parameters) = function.get("parameters") {
                definition.insert("parameters".into(), any_json(parameters));
            }
            Json::Object(definition)
        })
        .collect();
    (!functions.is_empty()).then(|| Json::Array(functions).to_string())
}

/// Texts sent for embedding; vectors stay in the raw attributes only. OpenLLMetry sends the
/// embedding input as input messages, so those texts stand in on embedding calls.
fn embedding_inputs(attrs: &AttrMap<'_>, operation: Option<&str>, inputs: &[Message]) -> Vec<String> {
    let texts: Vec<String> =
        attrs.indexed("embedding.embeddings.").values().filter_map(|item| item.json_text("embedding.text")).collect();
    if !texts.is_empty() {
        return texts;
    }
    let is_embedding = matches!(operation, Some("embeddings" | "embedding"));
    if !is_embedding {
        return Vec::new();
    }
    inputs.iter().map(Message::text).filter(|text| !text.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehound_store::model::{AttrValue, KeyValue, MessagePart};

    fn kv(key: &str, value: AttrValue) -> KeyValue {
        KeyValue { key: key.into(), value: Some(value) }
    }

    fn s(text: &str) -> AttrValue {
        AttrValue::Str(text.into())
    }

    fn call_of(list: &[KeyValue]) -> LlmCall {
        llm_call(&AttrMap::new(list), CarriedMessages::default())
    }

    #[test]
    fn legacy_gen_ai_system_values_are_renamed() {
        assert_eq!(call_of(&[kv("gen_ai.system", s("az.ai.openai"))]).provider.as_deref(), Some("azure.ai.openai"));
        assert_eq!(call_of(&[kv("gen_ai.system", s("Anthropic"))]).provider.as_deref(), Some("anthropic"));
        assert_eq!(call_of(&[kv("gen_ai.system", s("xai"))]).provider.as_deref(), Some("x_ai"));
    }

    #[test]
    fn provider_name_wins_over_gen_ai_system() {
        let call = call_of(&[kv("gen_ai.system", s("az.ai.openai")), kv("gen_ai.provider.name", s("openai"))]);
        assert_eq!(call.provider.as_deref(), Some("openai"));
    }

    #[test]
    fn openinference_hosting_provider_refines_the_system() {
        let call = call_of(&[kv("llm.provider", s("azure")), kv("llm.system", s("openai"))]);
        assert_eq!(call.provider.as_deref(), Some("azure.ai.openai"));
    }

    #[test]
    fn requested_model_falls_back_to_invocation_parameters() {
        let call = call_of(&[kv("llm.invocation_parameters", s(r#"{"model":"gpt-4o","temperature":0.2,"tools":[]}"#))]);
        assert_eq!(call.request_model.as_deref(), Some("gpt-4o"));
        assert_eq!(call.parameters.get("temperature"), Some(&serde_json::json!(0.2)));
        assert!(!call.parameters.contains_key("model"));
        assert!(!call.parameters.contains_key("tools"));
    }

    #[test]
    fn request_parameters_drop_the_prefix_and_skip_the_model() {
        let call = call_of(&[
            kv("gen_ai.request.model", s("gpt-4o")),
            kv("gen_ai.request.max_tokens", AttrValue::Int(400)),
            kv("gen_ai.request.temperature", AttrValue::Double(0.2)),
        ]);
        assert_eq!(call.parameters.keys().collect::<Vec<_>>(), vec!["max_tokens", "temperature"]);
    }

    #[test]
    fn openinference_response_json_gives_id_and_fingerprint() {
        let call = call_of(&[
            kv("openinference.span.kind", s("LLM")),
            kv("output.value", s(r#"{"id":"chatcmpl-1","system_fingerprint":"fp_1","choices":[]}"#)),
        ]);
        assert_eq!(call.response_id.as_deref(), Some("chatcmpl-1"));
        assert_eq!(call.system_fingerprint.as_deref(), Some("fp_1"));
    }

    #[test]
    fn output_value_of_non_llm_spans_is_not_a_response() {
        let call = call_of(&[kv("openinference.span.kind", s("TOOL")), kv("output.value", s(r#"{"id":"order-1"}"#))]);
        assert_eq!(call.response_id, None);
    }

    #[test]
    fn total_tokens_default_to_input_plus_output() {
        let call = call_of(&[
            kv("llm.token_count.prompt", AttrValue::Int(10)),
            kv("llm.token_count.completion", AttrValue::Int(5)),
        ]);
        assert_eq!((call.usage.input, call.usage.output, call.usage.total), (Some(10), Some(5), Some(15)));
    }

    #[test]
    fn finish_reasons_come_from_the_response_attribute_first() {
        let reasons = AttrValue::Array(vec![s("length")]);
        let call = call_of(&[kv("gen_ai.response.finish_reasons", reasons), kv("llm.finish_reason", s("stop"))]);
        assert_eq!(call.finish_reasons, vec!["length".to_string()]);
    }

    #[test]
    fn finish_reasons_fall_back_to_output_messages() {
        let output = s(r#"[{"role":"assistant","parts":[],"finish_reason":"length"}]"#);
        assert_eq!(call_of(&[kv("gen_ai.output.messages", output)]).finish_reasons, vec!["length".to_string()]);
    }

    #[test]
    fn system_instructions_fall_back_to_system_messages() {
        let input =
            s(r#"[{"role":"system","parts":[{"type":"text","content":"Be brief."}]},{"role":"user","parts":[]}]"#);
        assert_eq!(call_of(&[kv("gen_ai.input.messages", input)]).system_instructions.as_deref(), Some("Be brief."));
    }

    #[test]
    fn openinference_tool_schemas_are_assembled_into_an_array() {
        let call = call_of(&[
            kv("llm.tools.0.tool.json_schema", s(r#"{"type":"function","function":{"name":"a"}}"#)),
            kv("llm.tools.1.tool.json_schema", s(r#"{"type":"function","function":{"name":"b"}}"#)),
        ]);
        let parsed: Json = serde_json::from_str(call.tool_definitions.as_deref().unwrap_or("null")).unwrap_or_default();
        assert_eq!(parsed.as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn embedding_texts_are_read_and_vectors_are_not() {
        let call = call_of(&[
            kv("embedding.embeddings.0.embedding.text", s("hello")),
            kv("embedding.embeddings.0.embedding.vector", AttrValue::Array(vec![AttrValue::Double(0.5)])),
        ]);
        assert_eq!(call.embedding_inputs, vec!["hello".to_string()]);
    }

    #[test]
    fn legacy_content_span_events_supply_messages() {
        let events = vec![
            SpanEvent {
                name: "gen_ai.content.prompt".into(),
                time_unix_nano: 0,
                attributes: vec![kv("gen_ai.prompt", s(r#"[{"role":"user","content":"hi"}]"#))],
                dropped_attributes_count: 0,
            },
            SpanEvent {
                name: "gen_ai.content.completion".into(),
                time_unix_nano: 0,
                attributes: vec![kv("gen_ai.completion", s("hello there"))],
                dropped_attributes_count: 0,
            },
        ];
        let call = llm_call(&AttrMap::default(), CarriedMessages::from_span_events(&events));
        assert_eq!(call.input_messages[0].parts, vec![MessagePart::Text { content: "hi".into() }]);
        assert_eq!(call.output_messages[0].text(), "hello there");
    }

    #[test]
    fn per_message_span_events_supply_messages_and_choices_in_index_order() {
        let event = |name: &str, attributes: Vec<KeyValue>| SpanEvent {
            name: name.into(),
            time_unix_nano: 0,
            attributes,
            dropped_attributes_count: 0,
        };
        let events = vec![
            event("gen_ai.user.message", vec![kv("content", s("question"))]),
            event("gen_ai.choice", vec![kv("index", AttrValue::Int(1)), kv("finish_reason", s("stop"))]),
            event("gen_ai.choice", vec![kv("index", AttrValue::Int(0)), kv("finish_reason", s("length"))]),
        ];
        let call = llm_call(&AttrMap::default(), CarriedMessages::from_span_events(&events));
        assert_eq!(call.input_messages[0].role, "user");
        assert_eq!(call.finish_reasons, vec!["length".to_string(), "stop".to_string()]);
    }
}
