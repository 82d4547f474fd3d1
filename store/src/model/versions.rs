//! Version dimensions: the axes along which "what changed" is asked.

use serde::{Deserialize, Serialize};

/// A version dimension: one axis along which "what changed" is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionDimension {
    /// Model requested.
    RequestModel,
    /// Model that answered.
    ResponseModel,
    /// Provider system fingerprint.
    SystemFingerprint,
    /// Prompt name.
    PromptName,
    /// Prompt version.
    PromptVersion,
    /// Computed fingerprint of the system instructions.
    SystemInstructionsFingerprint,
    /// Retrieval component (data source) id.
    RetrievalComponent,
    /// Retrieval index version.
    IndexVersion,
    /// Tool schema version.
    ToolSchemaVersion,
    /// Computed fingerprint of the tool definitions.
    ToolDefinitionsFingerprint,
    /// `service.version`.
    ServiceVersion,
    /// `deployment.environment.name`.
    DeploymentEnvironment,
}

impl VersionDimension {
    /// Every dimension, in a stable order.
    pub const ALL: [VersionDimension; 12] = [
        VersionDimension::RequestModel,
        VersionDimension::ResponseModel,
        VersionDimension::SystemFingerprint,
        VersionDimension::PromptName,
        VersionDimension::PromptVersion,
        VersionDimension::SystemInstructionsFingerprint,
        VersionDimension::RetrievalComponent,
        VersionDimension::IndexVersion,
        VersionDimension::ToolSchemaVersion,
        VersionDimension::ToolDefinitionsFingerprint,
        VersionDimension::ServiceVersion,
        VersionDimension::DeploymentEnvironment,
    ];

    /// Stable one-byte code used in index keys; never reuse a retired code.
    pub fn code(self) -> u8 {
        match self {
            VersionDimension::RequestModel => 1,
            VersionDimension::ResponseModel => 2,
            VersionDimension::SystemFingerprint => 3,
            VersionDimension::PromptName => 4,
            VersionDimension::PromptVersion => 5,
            VersionDimension::SystemInstructionsFingerprint => 6,
            VersionDimension::RetrievalComponent => 7,
            VersionDimension::IndexVersion => 8,
            VersionDimension::ToolSchemaVersion => 9,
            VersionDimension::ToolDefinitionsFingerprint => 10,
            VersionDimension::ServiceVersion => 11,
            VersionDimension::DeploymentEnvironment => 12,
        }
    }

    /// The snake_case name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionDimension::RequestModel => "request_model",
            VersionDimension::ResponseModel => "response_model",
            VersionDimension::SystemFingerprint => "system_fingerprint",
            VersionDimension::PromptName => "prompt_name",
            VersionDimension::PromptVersion => "prompt_version",
            VersionDimension::SystemInstructionsFingerprint => "system_instructions_fingerprint",
            VersionDimension::RetrievalComponent => "retrieval_component",
            VersionDimension::IndexVersion => "index_version",
            VersionDimension::ToolSchemaVersion => "tool_schema_version",
            VersionDimension::ToolDefinitionsFingerprint => "tool_definitions_fingerprint",
            VersionDimension::ServiceVersion => "service_version",
            VersionDimension::DeploymentEnvironment => "deployment_environment",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes are written into on-disk keys (`by_version`, `versions`): a changed code
    /// would orphan every stored record of its dimension.
    #[test]
    fn every_dimension_keeps_its_on_disk_code() {
        let pinned = [
            ("request_model", 1),
            ("response_model", 2),
            ("system_fingerprint", 3),
            ("prompt_name", 4),
            ("prompt_version", 5),
            ("system_instructions_fingerprint", 6),
            ("retrieval_component", 7),
            ("index_version", 8),
            ("tool_schema_version", 9),
            ("tool_definitions_fingerprint", 10),
            ("service_version", 11),
            ("deployment_environment", 12),
        ];
        assert_eq!(pinned.len(), VersionDimension::ALL.len(), "a new dimension needs a pinned code here");
        for (name, code) in pinned {
            let dimension = VersionDimension::parse(name).unwrap_or_else(|| panic!("no dimension {name}"));
            assert_eq!(dimension.code(), code, "{name}");
        }
    }
}
