//! The versions live for a span (semconv §7.4): declared ones (models, prompt, index, tool
//! schema, service, environment) and computed fingerprints of the system instructions and
//! the tool definitions, so unversioned changes still show up.

use std::collections::BTreeMap;

use serde_json::Value as Json;
use tracehound_store::model::{LlmCall, Retrieval, ToolCall, VersionDimension};

use super::attrs::{json_scalar_text, parse_json_container, AttrMap};
use super::config::NormalizeConfig;
use super::identity::metadata_object;

/// What the versions of one span are read from.
#[derive(Debug, Clone, Copy)]
pub struct VersionSources<'s, 'a> {
    /// The span's attributes.
    pub attrs: &'s AttrMap<'a>,
    /// The resource's attributes.
    pub resource: &'s AttrMap<'a>,
    /// The span's model call, if any.
    pub llm: Option<&'s LlmCall>,
    /// The span's retrieval, if any.
    pub retrieval: Option<&'s Retrieval>,
    /// The span's tool call, if any: its name qualifies a tool schema version.
    pub tool: Option<&'s ToolCall>,
}

/// Every version dimension that has a value for this span.
pub fn versions_of(sources: VersionSources<'_, '_>, cfg: &NormalizeConfig) -> BTreeMap<VersionDimension, String> {
    let metadata = metadata_object(sources.attrs);
    // Version-ish keys may sit on the span or the resource; the span is more specific.
    // OpenInference apps often put them in the `metadata` JSON instead.
    let declared = |keys: &[String]| {
        sources
            .attrs
            .first_text(keys)
            .or_else(|| keys.iter().find_map(|key| metadata.as_ref()?.get(key).and_then(json_scalar_text)))
            .or_else(|| sources.resource.first_text(keys))
    };
    let keys = |list: &[&str]| list.iter().map(|key| key.to_string()).collect::<Vec<_>>();
    let llm = sources.llm;
    let candidates = [
        (VersionDimension::RequestModel, llm.and_then(|call| call.request_model.clone())),
        (VersionDimension::ResponseModel, llm.and_then(|call| call.response_model.clone())),
        (VersionDimension::SystemFingerprint, llm.and_then(|call| call.system_fingerprint.clone())),
        (VersionDimension::PromptName, declared(&cfg.prompt_name_keys)),
        (VersionDimension::PromptVersion, declared(&cfg.prompt_version_keys)),
        (
            VersionDimension::SystemInstructionsFingerprint,
            instructions_fingerprint(
                declared(&keys(&["llm.prompt_template.template", "traceloop.prompt.template"])).as_deref(),
                llm.and_then(|call| call.system_instructions.as_deref()),
            ),
        ),
        (VersionDimension::RetrievalComponent, sources.retrieval.and_then(|retrieval| retrieval.data_source.clone())),
        (VersionDimension::IndexVersion, declared(&cfg.index_version_keys)),
        (
            VersionDimension::ToolSchemaVersion,
            // A schema version means nothing without its tool: `lookup_invoice@4.0.0`.
            declared(&cfg.tool_schema_version_keys).map(|version| {
                match sources.tool.and_then(|tool| tool.name.as_deref()).filter(|name| !name.is_empty()) {
                    Some(name) => format!("{name}@{version}"),
                    None => version,
                }
            }),
        ),
        (
            VersionDimension::ToolDefinitionsFingerprint,
            llm.and_then(|call| call.tool_definitions.as_deref()).map(tool_definitions_fingerprint),
        ),
        (VersionDimension::ServiceVersion, declared(&keys(&["service.version"]))),
        (
            VersionDimension::DeploymentEnvironment,
            declared(&keys(&["deployment.environment.name", "deployment.environment"])),
        ),
    ];
    candidates.into_iter().filter_map(|(dimension, value)| Some((dimension, value?))).collect()
}

/// The fingerprint of the system instructions, the same whichever convention sent them.
///
/// The system text (what `gen_ai.system_instructions` and a `system` message carry) is
/// hashed, so OpenInference and OTel GenAI agree on the same instructions. A prompt
/// template wins only when the system text is a rendering of it (it begins with the
/// template's literal head and goes on with filled-in values): such text holds per-request
/// values (a customer's tier, retrieved documents) and would fingerprint every request
/// apart, while the template stays one version. A system text equal to the template's
/// literal head (the template goes on with the user's turn, `{question}`), or unrelated to
/// the template (a template of the user's turn only), is hashed itself.
pub fn instructions_fingerprint(template: Option<&str>, system: Option<&str>) -> Option<String> {
    match (template, system) {
        // A rendering of the template: its literal head, then the values filled in.
        (Some(template), Some(system))
            if is_rendering_of(system, template) && system.trim() != literal_head(template).trim() =>
        {
            Some(system_instructions_fingerprint(template))
        }
        (_, Some(system)) => Some(system_instructions_fingerprint(system)),
        (Some(template), None) => Some(system_instructions_fingerprint(template)),
        (None, None) => None,
    }
}

/// Whether `text` begins with the template's literal head, a non-empty one.
fn is_rendering_of(text: &str, template: &str) -> bool {
    let head = literal_head(template).trim();
    !head.is_empty() && text.trim_start().starts_with(head)
}

/// A template's text before its first placeholder (`{name}`, `{{ name }}`).
fn literal_head(template: &str) -> &str {
    template.split('{').next().unwrap_or_default()
}

/// First 16 hex digits of BLAKE3 over the whitespace-trimmed instructions.
pub fn system_instructions_fingerprint(instructions: &str) -> String {
    short_hash(instructions.trim().as_bytes())
}

/// First 16 hex digits of BLAKE3 over the canonical JSON of the definitions sorted by name.
/// OpenInference's `{type, function:{name,...}}` wrapper is unwrapped first, so the same tools
/// fingerprint alike whichever convention sent them. Text that is not a JSON array is hashed
/// trimmed, as sent.
pub fn tool_definitions_fingerprint(definitions: &str) -> String {
    let Some(Json::Array(tools)) = parse_json_container(definitions) else {
        return short_hash(definitions.trim().as_bytes());
    };
    let mut tools: Vec<Json> = tools.into_iter().map(unwrap_function).collect();
    tools.sort_by_cached_key(|tool| (tool_name(tool), canonical_json(tool)));
    short_hash(canonical_json(&Json::Array(tools)).as_bytes())
}

fn unwrap_function(tool: Json) -> Json {
    let Json::Object(mut object) = tool else { return tool };
    if !object.contains_key("name") {
        if let Some(Json::Object(function)) = object.remove("function") {
            object.extend(function);
        }
    }
    Json::Object(object)
}

fn tool_name(tool: &Json) -> String {
    tool.get("name").and_then(json_scalar_text).unwrap_or_default()
}

/// JSON text with object keys sorted at every level, whatever map order serde_json keeps.
fn canonical_json(value: &Json) -> String {
    match value {
        Json::Object(object) => {
            let mut entries: Vec<(&String, &Json)> = object.iter().collect();
            entries.sort_by(|left, right| left.0.cmp(right.0));
            let fields: Vec<String> = entries
                .into_iter()
                .map(|(key, value)| format!("{}:{}", Json::String(key.clone()), canonical_json(value)))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Json::Array(items) => format!("[{}]", items.iter().map(canonical_json).collect::<Vec<_>>().join(",")),
        scalar => scalar.to_string(),
    }
}

fn short_hash(bytes: &[u8]) -> String {
    let hex = blake3::hash(bytes).to_hex();
    hex.as_str().chars().take(16).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehound_store::model::{AttrValue, KeyValue};

    fn kv(key: &str, value: AttrValue) -> KeyValue {
        KeyValue { key: key.into(), value: Some(value) }
    }

    fn versions(span: &[KeyValue], resource: &[KeyValue], llm: Option<&LlmCall>) -> BTreeMap<VersionDimension, String> {
        let (attrs, resource) = (AttrMap::new(span), AttrMap::new(resource));
        let sources = VersionSources { attrs: &attrs, resource: &resource, llm, retrieval: None, tool: None };
        versions_of(sources, &NormalizeConfig::default())
    }

    #[test]
    fn traceloop_version_name_is_preferred_over_the_numeric_version() {
        let span = [
            kv("traceloop.prompt.version", AttrValue::Int(7)),
            kv("traceloop.prompt.version_name", AttrValue::Str("v7".into())),
        ];
        assert_eq!(versions(&span, &[], None).get(&VersionDimension::PromptVersion).map(String::as_str), Some("v7"));
    }

    #[test]
    fn integer_versions_are_printed() {
        let span = [kv("traceloop.prompt.version", AttrValue::Int(7))];
        assert_eq!(versions(&span, &[], None).get(&VersionDimension::PromptVersion).map(String::as_str), Some("7"));
    }

    #[test]
    fn span_wins_over_resource_for_environment() {
        let span = [kv("deployment.environment.name", AttrValue::Str("canary".into()))];
        let resource = [
            kv("deployment.environment.name", AttrValue::Str("prod".into())),
            kv("service.version", AttrValue::Str("1.4.2".into())),
        ];
        let found = versions(&span, &resource, None);
        assert_eq!(found.get(&VersionDimension::DeploymentEnvironment).map(String::as_str), Some("canary"));
        assert_eq!(found.get(&VersionDimension::ServiceVersion).map(String::as_str), Some("1.4.2"));
    }

    #[test]
    fn system_instructions_fingerprint_ignores_surrounding_whitespace() {
        assert_eq!(system_instructions_fingerprint("  Be brief.\n"), system_instructions_fingerprint("Be brief."));
        assert_eq!(system_instructions_fingerprint("Be brief.").len(), 16);
        assert_ne!(system_instructions_fingerprint("Be brief."), system_instructions_fingerprint("Be kind."));
    }

    #[test]
    fn tool_definitions_fingerprint_ignores_order_and_key_order_and_wrapper() {
        let flat = r#"[{"type":"function","name":"b","parameters":{"y":1,"x":2}},{"type":"function","name":"a"}]"#;
        let wrapped = r#"[{"type":"function","function":{"name":"a"}},{"function":{"parameters":{"x":2,"y":1},"name":"b"},"type":"function"}]"#;
        assert_eq!(tool_definitions_fingerprint(flat), tool_definitions_fingerprint(wrapped));
        assert_ne!(
            tool_definitions_fingerprint(flat),
            tool_definitions_fingerprint(r#"[{"type":"function","name":"a"}]"#)
        );
    }

    #[test]
    fn computed_fingerprints_appear_only_with_their_inputs() {
        let with = LlmCall { system_instructions: Some("Be brief.".into()), ..LlmCall::default() };
        assert!(versions(&[], &[], Some(&with)).contains_key(&VersionDimension::SystemInstructionsFingerprint));
        assert!(!versions(&[], &[], Some(&LlmCall::default()))
            .contains_key(&VersionDimension::SystemInstructionsFingerprint));
    }

    #[test]
    fn the_prompt_template_is_fingerprinted_rather_than_its_rendering() {
        let template = [kv("llm.prompt_template.template", AttrValue::Str("Be brief. Tier: {tier}".into()))];
        let rendered =
            |tier: &str| LlmCall { system_instructions: Some(format!("Be brief. Tier: {tier}")), ..LlmCall::default() };
        let gold = versions(&template, &[], Some(&rendered("gold")));
        let free = versions(&template, &[], Some(&rendered("free")));
        let dim = VersionDimension::SystemInstructionsFingerprint;
        assert_eq!(gold.get(&dim), free.get(&dim));
        assert_ne!(
            versions(&[], &[], Some(&rendered("gold"))).get(&dim),
            versions(&[], &[], Some(&rendered("free"))).get(&dim)
        );
    }

    #[test]
    fn openinference_metadata_can_carry_a_prompt_name() {
        let span = [kv("metadata", AttrValue::Str(r#"{"app.prompt.name":"support_system"}"#.into()))];
        assert_eq!(
            versions(&span, &[], None).get(&VersionDimension::PromptName).map(String::as_str),
            Some("support_system")
        );
    }

    #[test]
    fn the_same_system_text_fingerprints_alike_with_or_without_a_template_around_it() {
        let system = "You are Acme's support assistant. Answer from the context.";
        let call = LlmCall { system_instructions: Some(system.into()), ..LlmCall::default() };
        let template = format!("{system}\n\n{{question}}\n\nContext:\n{{context}}");
        let openinference = versions(&[kv("llm.prompt_template.template", AttrValue::Str(template))], &[], Some(&call));
        let genai = versions(&[], &[], Some(&call));
        let dim = VersionDimension::SystemInstructionsFingerprint;
        assert!(genai.contains_key(&dim));
        assert_eq!(openinference.get(&dim), genai.get(&dim));
    }

    #[test]
    fn openinference_tool_schema_versions_are_read_and_named_with_their_tool() {
        let span = [kv("tool.schema.version", AttrValue::Str("4.0.0".into()))];
        let tool = ToolCall { name: Some("lookup_invoice".into()), ..ToolCall::default() };
        let (attrs, resource) = (AttrMap::new(&span), AttrMap::new(&[]));
        let sources =
            VersionSources { attrs: &attrs, resource: &resource, llm: None, retrieval: None, tool: Some(&tool) };
        let found = versions_of(sources, &NormalizeConfig::default());
        assert_eq!(found.get(&VersionDimension::ToolSchemaVersion).map(String::as_str), Some("lookup_invoice@4.0.0"));
    }

    #[test]
    fn a_template_of_the_users_turn_leaves_the_system_text_to_be_hashed() {
        let call = LlmCall { system_instructions: Some("You are a helpful assistant.".into()), ..LlmCall::default() };
        let template = [kv("llm.prompt_template.template", AttrValue::Str("Answer: {question}".into()))];
        let dim = VersionDimension::SystemInstructionsFingerprint;
        assert_eq!(versions(&template, &[], Some(&call)).get(&dim), versions(&[], &[], Some(&call)).get(&dim));
    }
}
