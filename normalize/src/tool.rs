//! A tool invocation (semconv §7.3 tool rows): which tool, which call, with what and to what end.

use serde_json::Value as Json;
use tracehound_store::model::ToolCall;

use super::attrs::AttrMap;

/// The tool call of a tool span; `None` when the span names nothing about a tool.
pub fn tool_call(attrs: &AttrMap<'_>, span_name: &str) -> Option<ToolCall> {
    let traceloop_tool = attrs.text("traceloop.span.kind").as_deref() == Some("tool");
    let name = attrs
        .first_text(&["gen_ai.tool.name", "tool.name"])
        .or_else(|| traceloop_tool.then(|| attrs.text("traceloop.entity.name")).flatten())
        .or_else(|| {
            span_name.strip_prefix("execute_tool ").map(str::trim).filter(|n| !n.is_empty()).map(str::to_string)
        });
    let call = ToolCall {
        name,
        call_id: attrs.first_text(&["gen_ai.tool.call.id", "tool.id", "tool_call.id"]),
        tool_type: attrs.text("gen_ai.tool.type"),
        description: attrs.first_text(&["gen_ai.tool.description", "tool.description"]),
        arguments: arguments(attrs),
        result: attrs.first_json_text(&[
            "gen_ai.tool.call.result",
            "output.value",
            "traceloop.entity.output",
            "mcp.response.value",
        ]),
    };
    (call != ToolCall::default()).then_some(call)
}

/// Arguments, exact. `tool.parameters` is ambiguous across OpenInference emitters (crewai
/// writes the argument schema there, others the arguments), so a schema-shaped value is skipped.
fn arguments(attrs: &AttrMap<'_>) -> Option<String> {
    attrs
        .json_text("gen_ai.tool.call.arguments")
        .or_else(|| {
            attrs.json_text("tool.parameters").filter(|_| !looks_like_json_schema(attrs.json("tool.parameters")))
        })
        .or_else(|| attrs.first_json_text(&["input.value", "traceloop.entity.input", "mcp.request.argument"]))
}

/// `{"type": "object", "properties": {...}}` is a JSON Schema, not a call's arguments.
fn looks_like_json_schema(value: Option<Json>) -> bool {
    value.is_some_and(|value| {
        value.get("type").and_then(Json::as_str) == Some("object") && value.get("properties").is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehound_store::model::{AttrValue, KeyValue};

    fn kv(key: &str, value: &str) -> KeyValue {
        KeyValue { key: key.into(), value: Some(AttrValue::Str(value.into())) }
    }

    #[test]
    fn otel_tool_attributes_fill_the_call() {
        let attrs = vec![
            kv("gen_ai.tool.name", "lookup_order"),
            kv("gen_ai.tool.call.id", "call_1"),
            kv("gen_ai.tool.type", "function"),
            kv("gen_ai.tool.call.arguments", r#"{"order_id":"A-1"}"#),
            kv("gen_ai.tool.call.result", r#"{"status":"late"}"#),
        ];
        let call = tool_call(&AttrMap::new(&attrs), "execute_tool lookup_order").unwrap_or_default();
        assert_eq!(call.name.as_deref(), Some("lookup_order"));
        assert_eq!(call.call_id.as_deref(), Some("call_1"));
        assert_eq!(call.arguments.as_deref(), Some(r#"{"order_id":"A-1"}"#));
        assert_eq!(call.result.as_deref(), Some(r#"{"status":"late"}"#));
    }

    #[test]
    fn schema_shaped_tool_parameters_are_not_arguments() {
        let attrs = vec![
            kv("tool.parameters", r#"{"type":"object","properties":{"id":{"type":"string"}}}"#),
            kv("input.value", r#"{"id":"x"}"#),
        ];
        let call = tool_call(&AttrMap::new(&attrs), "t").unwrap_or_default();
        assert_eq!(call.arguments.as_deref(), Some(r#"{"id":"x"}"#));
    }

    #[test]
    fn argument_shaped_tool_parameters_are_arguments() {
        let attrs = vec![kv("tool.parameters", r#"{"id":"x"}"#), kv("input.value", "other")];
        assert_eq!(
            tool_call(&AttrMap::new(&attrs), "t").and_then(|call| call.arguments).as_deref(),
            Some(r#"{"id":"x"}"#)
        );
    }

    #[test]
    fn traceloop_entity_names_a_tool_only_on_tool_spans() {
        let tool = vec![kv("traceloop.span.kind", "tool"), kv("traceloop.entity.name", "search")];
        let task = vec![kv("traceloop.span.kind", "task"), kv("traceloop.entity.name", "search")];
        assert_eq!(tool_call(&AttrMap::new(&tool), "x").and_then(|call| call.name).as_deref(), Some("search"));
        assert_eq!(tool_call(&AttrMap::new(&task), "x").and_then(|call| call.name), None);
    }

    #[test]
    fn structured_arguments_become_json_text() {
        let attrs = vec![KeyValue {
            key: "gen_ai.tool.call.arguments".into(),
            value: Some(AttrValue::Map(vec![KeyValue { key: "id".into(), value: Some(AttrValue::Int(7)) }])),
        }];
        assert_eq!(
            tool_call(&AttrMap::new(&attrs), "t").and_then(|call| call.arguments).as_deref(),
            Some(r#"{"id":7}"#)
        );
    }
}
