//! What a span does (semconv §7.2): the first convention marker that names a known kind wins,
//! then weaker fallbacks. `subkind` keeps the raw name so nothing a sender said is lost.

use tracehound_store::model::SpanKind;

use super::attrs::AttrMap;

/// Attributes that name a model; with message attributes they mark an unlabelled model call.
const MODEL_KEYS: &[&str] = &[
    "gen_ai.request.model",
    "gen_ai.response.model",
    "llm.model_name",
    "llm.request.model_name",
    "llm.response.model_name",
    "langfuse.observation.model.name",
];

/// A decided kind and, when a rule names one, the subkind it implies (`rerank`, ...).
type Decision = (SpanKind, Option<&'static str>);

/// Reads one convention's raw marker value; `None` when the value names no known kind.
type Rule = fn(&str) -> Option<Decision>;

/// The kind of a span and the raw operation name or convention kind behind it.
pub fn classify(attrs: &AttrMap<'_>, event_names: &[&str]) -> (SpanKind, Option<String>) {
    let operation = attrs.text("gen_ai.operation.name");
    let markers: [(Option<String>, Rule); 6] = [
        (attrs.text("openinference.span.kind"), openinference_kind),
        (operation.clone(), operation_kind),
        (attrs.text("traceloop.span.kind"), traceloop_kind),
        (attrs.text("langfuse.observation.type"), langfuse_kind),
        (attrs.text("llm.request.type"), request_type_kind),
        (attrs.text("mcp.method.name"), mcp_kind),
    ];
    // The OTel operation name is the most widely shared vocabulary, so it is the subkind
    // whenever present, unless the deciding rule names a more specific one.
    let mut first_raw = operation.clone();
    for (raw, rule) in &markers {
        let Some(raw) = raw else { continue };
        first_raw.get_or_insert_with(|| raw.clone());
        if let Some((kind, special)) = rule(raw.trim()) {
            let subkind = special.map(str::to_string).or_else(|| operation.clone()).unwrap_or_else(|| raw.clone());
            return (kind, Some(subkind));
        }
    }
    (fallback_kind(attrs, event_names), first_raw)
}

fn openinference_kind(raw: &str) -> Option<Decision> {
    Some(match raw.to_ascii_uppercase().as_str() {
        "LLM" => (SpanKind::Llm, None),
        "EMBEDDING" => (SpanKind::Embedding, None),
        "TOOL" => (SpanKind::Tool, None),
        "RETRIEVER" => (SpanKind::Retrieval, None),
        "RERANKER" => (SpanKind::Retrieval, Some("rerank")),
        "AGENT" => (SpanKind::Agent, None),
        "CHAIN" => (SpanKind::Chain, None),
        "PROMPT" => (SpanKind::Chain, Some("prompt_render")),
        "EVALUATOR" => (SpanKind::Evaluation, None),
        "GUARDRAIL" => (SpanKind::Guardrail, None),
        _ => return None,
    })
}

fn operation_kind(raw: &str) -> Option<Decision> {
    Some(match raw {
        "chat" | "text_completion" | "generate_content" | "completion" | "generate" => (SpanKind::Llm, None),
        "embeddings" => (SpanKind::Embedding, None),
        "execute_tool" => (SpanKind::Tool, None),
        "retrieval" | "search_memory" => (SpanKind::Retrieval, None),
        "invoke_agent" | "create_agent" | "plan" => (SpanKind::Agent, None),
        "invoke_workflow" => (SpanKind::Chain, None),
        "apply_guardrail" => (SpanKind::Guardrail, None),
        "create_memory"
        | "update_memory"
        | "upsert_memory"
        | "delete_memory"
        | "create_memory_store"
        | "delete_memory_store" => (SpanKind::Other, Some("memory")),
        "fetch_response" => (SpanKind::Other, None),
        _ => return None,
    })
}

fn traceloop_kind(raw: &str) -> Option<Decision> {
    Some(match raw {
        "workflow" | "task" => (SpanKind::Chain, None),
        "agent" => (SpanKind::Agent, None),
        "tool" => (SpanKind::Tool, None),
        _ => return None,
    })
}

fn langfuse_kind(raw: &str) -> Option<Decision> {
    Some(match raw.to_ascii_lowercase().as_str() {
        "generation" => (SpanKind::Llm, None),
        "embedding" => (SpanKind::Embedding, None),
        "tool" => (SpanKind::Tool, None),
        "retriever" => (SpanKind::Retrieval, None),
        "agent" => (SpanKind::Agent, None),
        "chain" => (SpanKind::Chain, None),
        "evaluator" => (SpanKind::Evaluation, None),
        "guardrail" => (SpanKind::Guardrail, None),
        _ => return None,
    })
}

fn request_type_kind(raw: &str) -> Option<Decision> {
    Some(match raw {
        "chat" | "completion" => (SpanKind::Llm, None),
        "embedding" => (SpanKind::Embedding, None),
        "rerank" => (SpanKind::Retrieval, Some("rerank")),
        _ => return None,
    })
}

fn mcp_kind(raw: &str) -> Option<Decision> {
    (raw == "tools/call").then_some((SpanKind::Tool, None))
}

/// Kinds inferred from what a span carries when no marker names one.
fn fallback_kind(attrs: &AttrMap<'_>, event_names: &[&str]) -> SpanKind {
    if attrs.contains("gen_ai.tool.name") || attrs.contains("gen_ai.tool.call.id") {
        return SpanKind::Tool;
    }
    let vector_db = (attrs.contains("db.system") || attrs.contains("db.system.name"))
        && attrs.with_prefix("db.vector.").next().is_some();
    let result_events = event_names.iter().any(|name| *name == "db.query.result" || *name == "db.search.result");
    if vector_db || result_events {
        return SpanKind::Retrieval;
    }
    if MODEL_KEYS.iter().any(|key| attrs.contains(key)) && has_messages(attrs) {
        return SpanKind::Llm;
    }
    if attrs.contains("gen_ai.evaluation.name") {
        return SpanKind::Evaluation;
    }
    SpanKind::Other
}

fn has_messages(attrs: &AttrMap<'_>) -> bool {
    ["gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.prompt", "gen_ai.completion"]
        .iter()
        .any(|key| attrs.contains(key))
        || attrs.with_prefix("llm.input_messages.").next().is_some()
        || attrs.with_prefix("llm.output_messages.").next().is_some()
        || !attrs.indexed("gen_ai.prompt.").is_empty()
        || !attrs.indexed("gen_ai.completion.").is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehound_store::model::{AttrValue, KeyValue};

    fn attrs(pairs: &[(&str, &str)]) -> Vec<KeyValue> {
        pairs
            .iter()
            .map(|(key, value)| KeyValue { key: key.to_string(), value: Some(AttrValue::Str(value.to_string())) })
            .collect()
    }

    fn kind_of(pairs: &[(&str, &str)]) -> (SpanKind, Option<String>) {
        let list = attrs(pairs);
        classify(&AttrMap::new(&list), &[])
    }

    #[test]
    fn openinference_kind_wins_over_operation_name() {
        let (kind, subkind) = kind_of(&[("openinference.span.kind", "RETRIEVER"), ("gen_ai.operation.name", "chat")]);
        assert_eq!(kind, SpanKind::Retrieval);
        assert_eq!(subkind.as_deref(), Some("chat"));
    }

    #[test]
    fn retriever_with_retrieval_operation_is_retrieval() {
        let (kind, subkind) =
            kind_of(&[("openinference.span.kind", "RETRIEVER"), ("gen_ai.operation.name", "retrieval")]);
        assert_eq!((kind, subkind.as_deref()), (SpanKind::Retrieval, Some("retrieval")));
    }

    #[test]
    fn invoke_workflow_is_a_chain() {
        assert_eq!(kind_of(&[("gen_ai.operation.name", "invoke_workflow")]).0, SpanKind::Chain);
    }

    #[test]
    fn openinference_agent_is_an_agent_with_its_raw_kind() {
        let (kind, subkind) = kind_of(&[("openinference.span.kind", "AGENT")]);
        assert_eq!((kind, subkind.as_deref()), (SpanKind::Agent, Some("AGENT")));
    }

    #[test]
    fn traceloop_workflow_is_a_chain() {
        assert_eq!(kind_of(&[("traceloop.span.kind", "workflow")]).0, SpanKind::Chain);
    }

    #[test]
    fn reranker_is_retrieval_with_subkind_rerank() {
        let (kind, subkind) = kind_of(&[("openinference.span.kind", "RERANKER")]);
        assert_eq!((kind, subkind.as_deref()), (SpanKind::Retrieval, Some("rerank")));
    }

    #[test]
    fn unknown_marker_falls_through_to_the_next_convention() {
        let (kind, subkind) = kind_of(&[("openinference.span.kind", "UNKNOWN"), ("llm.request.type", "embedding")]);
        assert_eq!((kind, subkind.as_deref()), (SpanKind::Embedding, Some("embedding")));
    }

    #[test]
    fn unrecognized_operation_is_other_with_the_raw_name() {
        let (kind, subkind) = kind_of(&[("gen_ai.operation.name", "summon_demon")]);
        assert_eq!((kind, subkind.as_deref()), (SpanKind::Other, Some("summon_demon")));
    }

    #[test]
    fn tool_name_alone_makes_a_tool() {
        assert_eq!(kind_of(&[("gen_ai.tool.name", "lookup_order")]).0, SpanKind::Tool);
    }

    #[test]
    fn model_plus_messages_without_a_marker_is_an_llm_call() {
        let (kind, subkind) = kind_of(&[("gen_ai.request.model", "gpt-4o"), ("gen_ai.prompt.0.content", "hi")]);
        assert_eq!((kind, subkind), (SpanKind::Llm, None));
    }

    #[test]
    fn model_without_messages_stays_other() {
        assert_eq!(kind_of(&[("gen_ai.request.model", "gpt-4o"), ("gen_ai.prompt.name", "x")]).0, SpanKind::Other);
    }

    #[test]
    fn vector_db_result_events_make_a_retrieval() {
        let list = attrs(&[("db.system", "chroma")]);
        assert_eq!(classify(&AttrMap::new(&list), &["db.query.result"]).0, SpanKind::Retrieval);
    }
}
