//! The versions live for a span (semconv §7.4): declared ones (models, prompt, index, tool
//! schema, service, environment) and computed fingerprints of the system instructions and
//! the tool definitions, so unversioned changes still show up.

use std::collections::BTreeMap;

use serde_json::Value as Json;
use tracehound_store::model::{LlmCall, Retrieval, VersionDimension};

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
            // The template, when the convention carries one: rendered system instructions
            // often hold per-request context (retrieved documents, the customer's tier), so
            // their fingerprint changes on every request and stops being a version.
            declared(&keys(&["llm.prompt_template.template", "traceloop.prompt.template"]))
                .or_else(|| llm.and_then(|call| call.system_instructions.clone()))
                .map(|text| system_instructions_fingerprint(&text)),
        ),
        (VersionDimension::RetrievalComponent, sources.retrieval.and_then(|retrieval| retrieval.data_source.clone())),
        (VersionDimension::IndexVersion, declared(&cfg.index_version_keys)),
        (VersionDimension::ToolSchemaVersion, declared(&cfg.tool_schema_version_keys)),
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
        let sources = VersionSources { attrs: &attrs, resource: &resource, llm, retrieval: None };
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
}
