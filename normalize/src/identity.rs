//! Who and what a span belongs to: the application's request id, the session, the end user.
//! No convention standardizes a request id (semconv §5), so its keys are configurable.

use serde_json::Value as Json;

use super::attrs::{json_scalar_text, AttrMap};
use super::config::NormalizeConfig;

/// Keys naming the session, in precedence order.
pub const SESSION_KEYS: &[&str] = &[
    "session.id",
    "langfuse.session.id",
    "traceloop.association.properties.session_id",
    "gen_ai.conversation.id",
    "traceloop.association.properties.chat_id",
];

/// Keys naming the end user, in precedence order.
pub const USER_KEYS: &[&str] = &[
    "user.id",
    "langfuse.user.id",
    "enduser.id",
    "traceloop.association.properties.user_id",
    "gen_ai.user",
    "llm.user",
];

/// The identity fields of one span.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// Application request id.
    pub request_id: Option<String>,
    /// Session (conversation) id.
    pub session_id: Option<String>,
    /// End-user id.
    pub user_id: Option<String>,
}

/// Reads identity from the span's attributes, then OpenInference's `metadata` JSON (where
/// `using_metadata` puts app ids), then the resource.
pub fn identity_of(attrs: &AttrMap<'_>, resource: &AttrMap<'_>, cfg: &NormalizeConfig) -> Identity {
    let metadata = metadata_object(attrs);
    let from_metadata = |key: &str| metadata.as_ref().and_then(|object| object.get(key)).and_then(json_scalar_text);
    let lookup = |keys: &[&str], metadata_key: &str| {
        attrs.first_text(keys).or_else(|| from_metadata(metadata_key)).or_else(|| resource.first_text(keys))
    };
    let request_keys: Vec<&str> = cfg.request_id_keys.iter().map(String::as_str).collect();
    Identity {
        request_id: lookup(&request_keys, "request_id"),
        session_id: lookup(SESSION_KEYS, "session_id"),
        user_id: lookup(USER_KEYS, "user_id"),
    }
}

/// The OpenInference `metadata` object, when the attribute holds one.
pub fn metadata_object(attrs: &AttrMap<'_>) -> Option<Json> {
    attrs.json("metadata").filter(Json::is_object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehound_store::model::{AttrValue, KeyValue};

    fn kv(key: &str, value: AttrValue) -> KeyValue {
        KeyValue { key: key.into(), value: Some(value) }
    }

    fn identity(attrs: &[KeyValue]) -> Identity {
        identity_of(&AttrMap::new(attrs), &AttrMap::default(), &NormalizeConfig::default())
    }

    #[test]
    fn request_id_header_array_takes_its_first_element() {
        let header = AttrValue::Array(vec![AttrValue::Str("abc".into()), AttrValue::Str("def".into())]);
        assert_eq!(identity(&[kv("http.request.header.x-request-id", header)]).request_id.as_deref(), Some("abc"));
    }

    #[test]
    fn session_prefers_session_id_over_conversation_id() {
        let attrs = [
            kv("gen_ai.conversation.id", AttrValue::Str("conv".into())),
            kv("session.id", AttrValue::Str("sess".into())),
        ];
        assert_eq!(identity(&attrs).session_id.as_deref(), Some("sess"));
    }

    #[test]
    fn openinference_metadata_is_a_fallback() {
        let metadata = AttrValue::Str(r#"{"request_id": "req_1", "user_id": "u1"}"#.into());
        let found = identity(&[kv("metadata", metadata), kv("user.id", AttrValue::Str("u2".into()))]);
        assert_eq!(found.request_id.as_deref(), Some("req_1"));
        assert_eq!(found.user_id.as_deref(), Some("u2"));
    }

    #[test]
    fn configured_request_id_keys_are_honoured() {
        let cfg = NormalizeConfig { request_id_keys: vec!["my.req".into()], ..NormalizeConfig::default() };
        let attrs = [kv("my.req", AttrValue::Int(42)), kv("request.id", AttrValue::Str("other".into()))];
        let found = identity_of(&AttrMap::new(&attrs), &AttrMap::default(), &cfg);
        assert_eq!(found.request_id.as_deref(), Some("42"));
    }
}
