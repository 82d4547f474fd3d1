//! What the normalizer can be told: which attributes name a request, a prompt, an index or a
//! tool schema version (no convention standardizes these), and the cap on value size.

/// Attribute keys and limits that steer normalization; each key list is tried in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizeConfig {
    /// Keys naming the application's request id (string, or the first element of an array).
    pub request_id_keys: Vec<String>,
    /// Keys naming the prompt version.
    pub prompt_version_keys: Vec<String>,
    /// Keys naming the prompt (template) name.
    pub prompt_name_keys: Vec<String>,
    /// Keys naming the retrieval index version.
    pub index_version_keys: Vec<String>,
    /// Keys naming the tool schema version.
    pub tool_schema_version_keys: Vec<String>,
    /// A string value longer than this many bytes is cut, marked and its key recorded.
    pub max_value_bytes: usize,
    /// A span with more attributes is rejected.
    pub max_attributes_per_span: usize,
    /// A span with more events is rejected.
    pub max_events_per_span: usize,
    /// A span with more links is rejected.
    pub max_links_per_span: usize,
    /// A span (or log record) timed further ahead of the server clock is rejected.
    pub max_future_skew_secs: u64,
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        NormalizeConfig {
            request_id_keys: owned(&[
                "request.id",
                "app.request.id",
                "http.request.header.x-request-id",
                "http.response.header.x-request-id",
                "traceloop.association.properties.request_id",
                "langfuse.trace.metadata.request_id",
            ]),
            // Traceloop's `version_name` ("v7") comes before its numeric `version` (7): the
            // name is what the prompt registry and the other conventions show.
            prompt_version_keys: owned(&[
                "gen_ai.prompt.version",
                "llm.prompt_template.version",
                "traceloop.prompt.version_name",
                "traceloop.prompt.version",
                "langfuse.observation.prompt.version",
                "langfuse.prompt.version",
                "app.prompt.version",
            ]),
            prompt_name_keys: owned(&[
                "gen_ai.prompt.name",
                "traceloop.prompt.key",
                "prompt.id",
                "langfuse.observation.prompt.name",
                "langfuse.prompt.name",
                "app.prompt.name",
            ]),
            index_version_keys: owned(&[
                "app.retrieval.index_version",
                "retrieval.index.version",
                "gen_ai.retrieval.index.version",
                "index.version",
            ]),
            tool_schema_version_keys: owned(&[
                "app.tool.schema_version",
                "tool.schema.version",
                "gen_ai.tool.version",
                "mcp.tool.version",
            ]),
            max_value_bytes: 1_048_576,
            // OpenInference flattens every message into attributes; its SDK caps spans at
            // 10,000 attributes, so the default admits that.
            max_attributes_per_span: 10_000,
            max_events_per_span: 1_000,
            max_links_per_span: 1_000,
            max_future_skew_secs: 86_400,
        }
    }
}

fn owned(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|key| key.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_lists_every_built_in_version_and_request_id_key() {
        let readme = include_str!("../../README.md");
        let config = NormalizeConfig::default();
        let lists = [
            &config.request_id_keys,
            &config.prompt_version_keys,
            &config.prompt_name_keys,
            &config.index_version_keys,
            &config.tool_schema_version_keys,
        ];
        for key in lists.into_iter().flatten() {
            assert!(names(readme, key), "README omits {key}");
        }
    }

    /// Whether `text` holds `key` as a whole key, not inside a longer one
    /// (`index.version` inside `retrieval.index.version`).
    fn names(text: &str, key: &str) -> bool {
        let part_of_key = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '_';
        text.match_indices(key).any(|(at, _)| {
            let before = text[..at].chars().next_back().is_none_or(|c| !part_of_key(c));
            let after = text[at + key.len()..].chars().next().is_none_or(|c| !part_of_key(c));
            before && after
        })
    }
}
