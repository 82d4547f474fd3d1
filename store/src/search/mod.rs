//! Full-text search: a tantivy index derived from the store, one document per request
//! (trace), rebuilt from the store at will. Never on the acknowledgement path: the
//! [`indexer`] follows the store's change log and commits on an interval.

pub mod document;
pub mod highlight;
pub mod index;
pub mod indexer;
mod merge;
pub mod priority;
pub mod request;
pub mod tokenizer;

pub use highlight::{highlight, SpanMatch};
pub use index::SearchIndex;
pub use indexer::{catch_up, rebuild, Indexer, IndexerConfig};
pub use request::{Clause, FilterField, SearchError, SearchHit, SearchPage, SearchRequest, Sort, TextField};
