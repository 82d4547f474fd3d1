//! What a search asks for, independent of any query syntax: the query crate parses the
//! user's text into a [`SearchRequest`]; the index answers it.

use crate::keys::TenantId;
use crate::model::TraceId;

/// Text a word or phrase can be restricted to; `None` in a clause means all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextField {
    /// Input messages and raw inputs.
    Input,
    /// Output messages and raw outputs.
    Output,
    /// System instructions.
    System,
    /// Tool arguments.
    ToolArgs,
    /// Tool results.
    ToolResult,
    /// Retrieved documents and retrieval queries.
    Documents,
    /// Error types and messages.
    Error,
    /// Span names.
    Name,
}

impl TextField {
    /// Every text field.
    pub const ALL: [TextField; 8] = [
        TextField::Input,
        TextField::Output,
        TextField::System,
        TextField::ToolArgs,
        TextField::ToolResult,
        TextField::Documents,
        TextField::Error,
        TextField::Name,
    ];

    /// The name used in the query language (`input:refund`).
    pub fn as_str(self) -> &'static str {
        match self {
            TextField::Input => "input",
            TextField::Output => "output",
            TextField::System => "system",
            TextField::ToolArgs => "tool_args",
            TextField::ToolResult => "tool_result",
            TextField::Documents => "documents",
            TextField::Error => "error",
            TextField::Name => "name",
        }
    }

    /// Parses a query-language name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

/// Exact-match properties of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterField {
    /// Model requested (`model:`).
    Model,
    /// Model that answered (`served_model:`).
    ServedModel,
    /// Prompt version (`prompt_version:`).
    PromptVersion,
    /// Retrieval index version (`index_version:`).
    IndexVersion,
    /// Tool schema version (`tool_schema_version:`).
    ToolSchemaVersion,
    /// A tool invoked (`tool:`).
    Tool,
    /// A span kind present (`kind:llm`).
    Kind,
    /// `ok` or `error` (`status:`).
    Status,
    /// Service name (`service:`).
    Service,
    /// Session id (`session:`).
    Session,
    /// User id (`user:`).
    User,
    /// A finish reason (`finish_reason:length`).
    FinishReason,
    /// Request id (`request:`).
    Request,
    /// Trace id, hex (`trace:`).
    Trace,
}

impl FilterField {
    /// Every filter field.
    pub const ALL: [FilterField; 14] = [
        FilterField::Model,
        FilterField::ServedModel,
        FilterField::PromptVersion,
        FilterField::IndexVersion,
        FilterField::ToolSchemaVersion,
        FilterField::Tool,
        FilterField::Kind,
        FilterField::Status,
        FilterField::Service,
        FilterField::Session,
        FilterField::User,
        FilterField::FinishReason,
        FilterField::Request,
        FilterField::Trace,
    ];

    /// The name used in the query language.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterField::Model => "model",
            FilterField::ServedModel => "served_model",
            FilterField::PromptVersion => "prompt_version",
            FilterField::IndexVersion => "index_version",
            FilterField::ToolSchemaVersion => "tool_schema_version",
            FilterField::Tool => "tool",
            FilterField::Kind => "kind",
            FilterField::Status => "status",
            FilterField::Service => "service",
            FilterField::Session => "session",
            FilterField::User => "user",
            FilterField::FinishReason => "finish_reason",
            FilterField::Request => "request",
            FilterField::Trace => "trace",
        }
    }

    /// Parses a query-language name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

/// One condition of a search. All clauses must hold; a negated clause must not.
#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    /// Every word of `text` must occur (in `field`, or in any text field).
    Words {
        /// The words as typed; the index's analyzer splits and folds them.
        text: String,
        /// Restriction to one text field.
        field: Option<TextField>,
        /// Excluded instead of required.
        negated: bool,
    },
    /// The words of `text` must occur next to each other, in order.
    Phrase {
        /// The phrase as typed.
        text: String,
        /// Restriction to one text field.
        field: Option<TextField>,
        /// Excluded instead of required.
        negated: bool,
    },
    /// An exact property value.
    Filter {
        /// Which property.
        field: FilterField,
        /// The exact value (case-sensitive, except `kind` and `status`).
        value: String,
        /// Excluded instead of required.
        negated: bool,
    },
}

/// Order of the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Best match first (BM25), ties newest first.
    #[default]
    Relevance,
    /// Newest request first.
    Time,
}

/// A search over one tenant's requests.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    /// Whose data.
    pub tenant: TenantId,
    /// Conditions, all of which must hold.
    pub clauses: Vec<Clause>,
    /// Requests starting at or after this time (Unix ns).
    pub since: Option<u64>,
    /// Requests starting before this time (Unix ns).
    pub until: Option<u64>,
    /// Order.
    pub sort: Sort,
    /// Results wanted.
    pub limit: usize,
    /// Where the previous page ended, as returned in [`SearchPage::next_cursor`].
    pub cursor: Option<String>,
}

/// One matching request.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// Its trace.
    pub trace_id: TraceId,
    /// BM25 score (0 for time order).
    pub score: f32,
    /// Start time, Unix ns.
    pub start_unix_nano: u64,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    /// Matching requests, in the requested order.
    pub hits: Vec<SearchHit>,
    /// Total matching requests.
    pub total: usize,
    /// Cursor for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// When the index last committed (Unix ns): data written after it may not be found yet.
    pub index_committed_at: Option<u64>,
}

/// Why a search could not run.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The cursor is not one this index handed out.
    #[error("invalid cursor: {0}")]
    BadCursor(String),
    /// The request is contradictory or empty in a way that has no answer.
    #[error("invalid search: {0}")]
    Invalid(String),
    /// The index failed.
    #[error("search index: {0}")]
    Index(String),
}
