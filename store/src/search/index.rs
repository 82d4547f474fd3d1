//! The tantivy index: schema, one document per request (trace), and answering a
//! [`SearchRequest`].
//!
//! Nothing is stored in tantivy: hits carry only ids (fast fields), and everything shown
//! is read from the store, which keeps the index small and rebuildable.

use std::collections::HashSet;
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::indexer::IndexWriterOptions;
use tantivy::query::{AllQuery, BooleanQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STRING};
use tantivy::{DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, SegmentReader, TantivyDocument, Term};

use crate::keys::TenantId;
use crate::model::{StatusCode, TraceId};
use crate::search::document::{log_texts, span_texts};
use crate::search::merge::BoundedMergePolicy;
use crate::search::request::{Clause, FilterField, SearchError, SearchHit, SearchPage, SearchRequest, Sort, TextField};
use crate::search::tokenizer::{index_analyzer, query_tokens, INDEX_ANALYZER};
use crate::store::TraceData;

/// Most text indexed per field of one request; the rest is in the store, not searchable.
/// Keeps one huge prompt from dominating the indexer's time and the index's size.
const MAX_INDEXED_BYTES_PER_FIELD: usize = 256 * 1024;
/// tantivy indexing threads: both cores, at the lower priority of priority.rs, so indexing
/// uses what ingest leaves idle.
const INDEXING_THREADS: usize = 2;
/// Memory the index writer may buffer before it flushes a segment (split between threads).
const WRITER_MEMORY_BYTES: usize = 64 * 1024 * 1024;
/// Merges running at once. tantivy's default of four, on two cores, only interleaves
/// them, and each running merge keeps its inputs mapped (merge.rs bounds one merge).
const MERGE_THREADS: usize = 2;

/// Field handles of the schema.
#[derive(Clone, Copy)]
struct Fields {
    tenant: Field,
    doc_key: Field,
    trace_hi: Field,
    trace_lo: Field,
    start: Field,
    text: [Field; TextField::ALL.len()],
    filter: [Field; FilterField::ALL.len()],
}

impl Fields {
    fn text(&self, field: TextField) -> Field {
        self.text[TextField::ALL.iter().position(|f| *f == field).unwrap_or(0)]
    }

    fn filter(&self, field: FilterField) -> Field {
        self.filter[FilterField::ALL.iter().position(|f| *f == field).unwrap_or(0)]
    }
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let tenant = builder.add_u64_field("tenant", INDEXED);
    let doc_key = builder.add_text_field("doc_key", STRING);
    let trace_hi = builder.add_u64_field("trace_hi", FAST);
    let trace_lo = builder.add_u64_field("trace_lo", FAST);
    let start = builder.add_u64_field("start", INDEXED | FAST);
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(INDEX_ANALYZER)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let text_options = TextOptions::default().set_indexing_options(indexing);
    let text = TextField::ALL.map(|f| builder.add_text_field(f.as_str(), text_options.clone()));
    let filter = FilterField::ALL.map(|f| builder.add_text_field(&format!("f_{}", f.as_str()), STRING));
    (builder.build(), Fields { tenant, doc_key, trace_hi, trace_lo, start, text, filter })
}

/// What the index remembers of its last commit.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CommitPayload {
    /// Last store change included.
    pub seq: u64,
    /// Wall-clock time of the commit, Unix ns.
    pub at: u64,
}

/// The full-text index. Cheap to clone; clones share the writer and reader.
#[derive(Clone)]
pub struct SearchIndex {
    reader: IndexReader,
    writer: Arc<Mutex<IndexWriter>>,
    fields: Fields,
    committed: Arc<AtomicU64>,
    committed_seq: Arc<AtomicU64>,
}

fn index_err(e: impl std::fmt::Display) -> SearchError {
    SearchError::Index(e.to_string())
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it when absent.
    pub fn open(dir: &Path) -> Result<SearchIndex, SearchError> {
        std::fs::create_dir_all(dir).map_err(index_err)?;
        let (schema, fields) = schema();
        let directory = MmapDirectory::open(dir).map_err(index_err)?;
        let index = Index::open_or_create(directory, schema).map_err(index_err)?;
        index.tokenizers().register(INDEX_ANALYZER, index_analyzer());
        // Opened on a thread of lower priority, so the merge threads it starts inherit that
        // priority (see priority.rs); indexing threads take what ingest leaves idle.
        let writer = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    crate::search::priority::lower_current_thread();
                    let options = IndexWriterOptions::builder()
                        .num_worker_threads(INDEXING_THREADS)
                        .memory_budget_per_thread(WRITER_MEMORY_BYTES / INDEXING_THREADS)
                        .num_merge_threads(MERGE_THREADS)
                        .build();
                    index.writer_with_options(options)
                })
                .join()
        })
        .map_err(|_| SearchError::Index("opening the index writer panicked".into()))?
        .map_err(index_err)?;
        writer.set_merge_policy(Box::new(BoundedMergePolicy::new(dir.to_path_buf())));
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(index_err)?;
        let payload = read_payload(&index)?;
        Ok(SearchIndex {
            reader,
            writer: Arc::new(Mutex::new(writer)),
            fields,
            committed: Arc::new(AtomicU64::new(payload.map_or(0, |p| p.at))),
            committed_seq: Arc::new(AtomicU64::new(payload.map_or(0, |p| p.seq))),
        })
    }

    /// When the index last committed (Unix ns), or `None` before its first commit.
    pub fn committed_at(&self) -> Option<u64> {
        Some(self.committed.load(Ordering::SeqCst)).filter(|at| *at > 0)
    }

    /// The last store change the index holds.
    pub fn committed_seq(&self) -> u64 {
        self.committed_seq.load(Ordering::SeqCst)
    }

    /// Replaces a request's document with one built from its current data; removes it
    /// when `data` is `None`. Visible after [`SearchIndex::commit`].
    pub fn upsert(&self, tenant: TenantId, trace_id: &TraceId, data: Option<&TraceData>) -> Result<(), SearchError> {
        let writer = self.writer.lock().map_err(|_| SearchError::Index("index writer poisoned".into()))?;
        writer.delete_term(Term::from_field_text(self.fields.doc_key, &doc_key(tenant, trace_id)));
        if let Some(data) = data {
            writer.add_document(self.document(tenant, data)).map_err(index_err)?;
        }
        Ok(())
    }

    /// Deletes every document (before a rebuild).
    pub fn clear(&self) -> Result<(), SearchError> {
        let writer = self.writer.lock().map_err(|_| SearchError::Index("index writer poisoned".into()))?;
        writer.delete_all_documents().map_err(index_err)?;
        Ok(())
    }

    /// Makes everything added so far durable and searchable, remembering `seq` as the last
    /// store change included.
    pub fn commit(&self, seq: u64, now_unix_nano: u64) -> Result<(), SearchError> {
        let payload = CommitPayload { seq, at: now_unix_nano };
        let text = serde_json::to_string(&payload).map_err(index_err)?;
        {
            let mut writer = self.writer.lock().map_err(|_| SearchError::Index("index writer poisoned".into()))?;
            let mut prepared = writer.prepare_commit().map_err(index_err)?;
            prepared.set_payload(&text);
            prepared.commit().map_err(index_err)?;
        }
        self.reader.reload().map_err(index_err)?;
        self.committed.store(payload.at, Ordering::SeqCst);
        self.committed_seq.store(seq, Ordering::SeqCst);
        Ok(())
    }

    /// Documents in the index.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn document(&self, tenant: TenantId, data: &TraceData) -> TantivyDocument {
        let f = &self.fields;
        let trace_id = data.summary.trace_id;
        let mut doc = TantivyDocument::default();
        doc.add_u64(f.tenant, u64::from(tenant.0));
        doc.add_text(f.doc_key, doc_key(tenant, &trace_id));
        let (hi, lo) = trace_halves(&trace_id);
        doc.add_u64(f.trace_hi, hi);
        doc.add_u64(f.trace_lo, lo);
        doc.add_u64(f.start, data.summary.start_unix_nano);

        let mut texts: Vec<(TextField, &str)> = data.spans.iter().flat_map(span_texts).collect();
        texts.extend(data.logs.iter().flat_map(log_texts));
        let mut seen = HashSet::new();
        let mut budget = [MAX_INDEXED_BYTES_PER_FIELD; TextField::ALL.len()];
        for (field, text) in texts {
            // Chat history repeats earlier turns in every later call: index each text once.
            if text.is_empty() || !seen.insert((field, text)) {
                continue;
            }
            let slot = TextField::ALL.iter().position(|x| *x == field).unwrap_or(0);
            let take = floor_char_boundary(text, budget[slot]);
            if take > 0 {
                budget[slot] -= take;
                doc.add_text(f.text(field), &text[..take]);
            }
        }

        let mut filters: HashSet<(FilterField, String)> = HashSet::new();
        let mut add = |field: FilterField, value: &str| {
            if !value.is_empty() {
                filters.insert((field, value.to_string()));
            }
        };
        add(FilterField::Trace, &hex::encode(trace_id));
        add(FilterField::Status, if data.summary.status() == StatusCode::Error { "error" } else { "ok" });
        for id in &data.summary.request_ids {
            add(FilterField::Request, id);
        }
        if let Some(session) = &data.summary.session_id {
            add(FilterField::Session, session);
        }
        if let Some(user) = &data.summary.user_id {
            add(FilterField::User, user);
        }
        for span in &data.spans {
            add(FilterField::Kind, span.kind.as_str());
            add(FilterField::Service, &span.service);
            if let Some(session) = &span.session_id {
                add(FilterField::Session, session);
            }
            if let Some(user) = &span.user_id {
                add(FilterField::User, user);
            }
            if let Some(tool) = span.tool.as_ref().and_then(|t| t.name.as_deref()) {
                add(FilterField::Tool, tool);
            }
            if let Some(llm) = &span.llm {
                if let Some(model) = &llm.request_model {
                    add(FilterField::Model, model);
                }
                if let Some(model) = &llm.response_model {
                    add(FilterField::ServedModel, model);
                }
                for reason in &llm.finish_reasons {
                    add(FilterField::FinishReason, reason);
                }
            }
            for (dim, value) in &span.versions {
                use crate::model::VersionDimension as D;
                match dim {
                    D::PromptVersion => add(FilterField::PromptVersion, value),
                    D::IndexVersion => add(FilterField::IndexVersion, value),
                    D::ToolSchemaVersion => add(FilterField::ToolSchemaVersion, value),
                    D::RequestModel => add(FilterField::Model, value),
                    D::ResponseModel => add(FilterField::ServedModel, value),
                    _ => {}
                }
            }
        }
        for log in &data.logs {
            if let Some(llm) = &log.llm {
                for reason in &llm.finish_reasons {
                    add(FilterField::FinishReason, reason);
                }
            }
        }
        for (field, value) in filters {
            doc.add_text(f.filter(field), value);
        }
        doc
    }

    /// Answers a search.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchPage, SearchError> {
        let query = self.compile(request)?;
        let cursor = request.cursor.as_deref().map(|c| Cursor::parse(c, request.sort)).transpose()?;
        let searcher = self.reader.searcher();
        let want = request.limit.max(1);
        let (total, keyed) = match request.sort {
            Sort::Relevance => {
                let after = cursor.map(|c| (c.score, c.start, c.hi, c.lo));
                let collector = TopDocs::with_limit(want + 1).tweak_score(move |segment: &SegmentReader| {
                    let columns = KeyColumns::of(segment);
                    move |doc: DocId, score: Score| {
                        let (start, hi, lo) = columns.read(doc);
                        let key = (score, start, hi, lo);
                        // Past the cursor sorts below every real hit, and is dropped.
                        (after.is_none_or(|a| key < a), key)
                    }
                });
                let (total, top) = searcher.search(&query, &(Count, collector)).map_err(index_err)?;
                let keyed: Vec<_> = top
                    .into_iter()
                    .filter(|((valid, _), _)| *valid)
                    .map(|((_, (score, start, hi, lo)), _)| Cursor { score, start, hi, lo })
                    .collect();
                (total, keyed)
            }
            Sort::Time => {
                let after = cursor.map(|c| (c.start, c.hi, c.lo));
                let collector = TopDocs::with_limit(want + 1).tweak_score(move |segment: &SegmentReader| {
                    let columns = KeyColumns::of(segment);
                    move |doc: DocId, _score: Score| {
                        let key = columns.read(doc);
                        (after.is_none_or(|a| key < a), key)
                    }
                });
                let (total, top) = searcher.search(&query, &(Count, collector)).map_err(index_err)?;
                let keyed: Vec<_> = top
                    .into_iter()
                    .filter(|((valid, _), _)| *valid)
                    .map(|((_, (start, hi, lo)), _)| Cursor { score: 0.0, start, hi, lo })
                    .collect();
                (total, keyed)
            }
        };
        let has_more = keyed.len() > want;
        let page: Vec<Cursor> = keyed.into_iter().take(want).collect();
        let next_cursor = if has_more { page.last().map(|c| c.encode(request.sort)) } else { None };
        let hits = page
            .iter()
            .map(|c| SearchHit { trace_id: join_halves(c.hi, c.lo), score: c.score, start_unix_nano: c.start })
            .collect();
        Ok(SearchPage { hits, total, next_cursor, index_committed_at: self.committed_at() })
    }

    fn compile(&self, request: &SearchRequest) -> Result<Box<dyn Query>, SearchError> {
        let f = &self.fields;
        let mut parts: Vec<(Occur, Box<dyn Query>)> = vec![(
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_u64(f.tenant, u64::from(request.tenant.0)),
                IndexRecordOption::Basic,
            )),
        )];
        if request.since.is_some() || request.until.is_some() {
            let lower = request.since.map_or(Bound::Unbounded, |s| Bound::Included(Term::from_field_u64(f.start, s)));
            let upper = request.until.map_or(Bound::Unbounded, |u| Bound::Excluded(Term::from_field_u64(f.start, u)));
            parts.push((Occur::Must, Box::new(RangeQuery::new(lower, upper))));
        }
        let mut positive = 0;
        for clause in &request.clauses {
            let (query, negated) = match clause {
                Clause::Words { text, field, negated } => (self.words_query(text, *field)?, *negated),
                Clause::Phrase { text, field, negated } => (self.phrase_query(text, *field)?, *negated),
                Clause::Filter { field, value, negated } => {
                    let value = match field {
                        FilterField::Kind | FilterField::Status | FilterField::Trace => value.to_ascii_lowercase(),
                        _ => value.clone(),
                    };
                    let term = Term::from_field_text(f.filter(*field), &value);
                    (Box::new(TermQuery::new(term, IndexRecordOption::Basic)) as Box<dyn Query>, *negated)
                }
            };
            if !negated {
                positive += 1;
            }
            parts.push((if negated { Occur::MustNot } else { Occur::Must }, query));
        }
        if positive == 0 {
            parts.push((Occur::Must, Box::new(AllQuery)));
        }
        Ok(Box::new(BooleanQuery::new(parts)))
    }

    fn text_fields(&self, field: Option<TextField>) -> Vec<Field> {
        match field {
            Some(one) => vec![self.fields.text(one)],
            None => TextField::ALL.iter().map(|f| self.fields.text(*f)).collect(),
        }
    }

    /// Every word must occur, each in any of the allowed fields.
    fn words_query(&self, text: &str, field: Option<TextField>) -> Result<Box<dyn Query>, SearchError> {
        let tokens = query_tokens(text);
        if tokens.is_empty() {
            return Err(SearchError::Invalid(format!("{text:?} contains no searchable word")));
        }
        let fields = self.text_fields(field);
        let musts = tokens
            .into_iter()
            .map(|(_, token)| {
                let any_field: Vec<(Occur, Box<dyn Query>)> = fields
                    .iter()
                    .map(|f| {
                        let q: Box<dyn Query> =
                            Box::new(TermQuery::new(Term::from_field_text(*f, &token), IndexRecordOption::WithFreqs));
                        (Occur::Should, q)
                    })
                    .collect();
                (Occur::Must, Box::new(BooleanQuery::new(any_field)) as Box<dyn Query>)
            })
            .collect();
        Ok(Box::new(BooleanQuery::new(musts)))
    }

    /// The words in order, adjacent, inside one field.
    fn phrase_query(&self, text: &str, field: Option<TextField>) -> Result<Box<dyn Query>, SearchError> {
        let tokens = query_tokens(text);
        if tokens.len() < 2 {
            return self.words_query(text, field);
        }
        let first = tokens.first().map_or(0, |(p, _)| *p);
        let any_field = self
            .text_fields(field)
            .into_iter()
            .map(|f| {
                let terms = tokens.iter().map(|(p, t)| (p - first, Term::from_field_text(f, t))).collect();
                (Occur::Should, Box::new(PhraseQuery::new_with_offset(terms)) as Box<dyn Query>)
            })
            .collect();
        Ok(Box::new(BooleanQuery::new(any_field)))
    }
}

/// Reads the sort-key columns of one segment; a segment without them sorts last.
struct KeyColumns {
    start: Option<tantivy::columnar::Column<u64>>,
    hi: Option<tantivy::columnar::Column<u64>>,
    lo: Option<tantivy::columnar::Column<u64>>,
}

impl KeyColumns {
    fn of(segment: &SegmentReader) -> KeyColumns {
        let fast = segment.fast_fields();
        KeyColumns { start: fast.u64("start").ok(), hi: fast.u64("trace_hi").ok(), lo: fast.u64("trace_lo").ok() }
    }

    fn read(&self, doc: DocId) -> (u64, u64, u64) {
        let get = |c: &Option<tantivy::columnar::Column<u64>>| c.as_ref().and_then(|c| c.first(doc)).unwrap_or(0);
        (get(&self.start), get(&self.hi), get(&self.lo))
    }
}

/// Position of the last hit of a page; the next page starts strictly after it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cursor {
    score: f32,
    start: u64,
    hi: u64,
    lo: u64,
}

impl Cursor {
    fn encode(&self, sort: Sort) -> String {
        match sort {
            Sort::Relevance => format!("r{:08x}.{}.{:016x}{:016x}", self.score.to_bits(), self.start, self.hi, self.lo),
            Sort::Time => format!("t{}.{:016x}{:016x}", self.start, self.hi, self.lo),
        }
    }

    fn parse(text: &str, sort: Sort) -> Result<Cursor, SearchError> {
        let bad = || SearchError::BadCursor(format!("{text:?} is not a cursor of this search"));
        let (score, rest) = match (sort, text.split_at_checked(1)) {
            (Sort::Relevance, Some(("r", rest))) => {
                let (bits, rest) = rest.split_once('.').ok_or_else(bad)?;
                (f32::from_bits(u32::from_str_radix(bits, 16).map_err(|_| bad())?), rest)
            }
            (Sort::Time, Some(("t", rest))) => (0.0, rest),
            _ => return Err(bad()),
        };
        let (start, trace) = rest.split_once('.').ok_or_else(bad)?;
        let start = start.parse().map_err(|_| bad())?;
        let mut id = [0u8; 16];
        hex::decode_to_slice(trace, &mut id).map_err(|_| bad())?;
        let (hi, lo) = trace_halves(&id);
        Ok(Cursor { score, start, hi, lo })
    }
}

fn doc_key(tenant: TenantId, trace_id: &TraceId) -> String {
    format!("{}:{}", tenant.0, hex::encode(trace_id))
}

fn trace_halves(trace_id: &TraceId) -> (u64, u64) {
    let mut hi = [0u8; 8];
    let mut lo = [0u8; 8];
    hi.copy_from_slice(&trace_id[..8]);
    lo.copy_from_slice(&trace_id[8..]);
    (u64::from_be_bytes(hi), u64::from_be_bytes(lo))
}

fn join_halves(hi: u64, lo: u64) -> TraceId {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&hi.to_be_bytes());
    id[8..].copy_from_slice(&lo.to_be_bytes());
    id
}

fn floor_char_boundary(text: &str, max: usize) -> usize {
    if text.len() <= max {
        return text.len();
    }
    (0..=max).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0)
}

fn read_payload(index: &Index) -> Result<Option<CommitPayload>, SearchError> {
    let metas = index.load_metas().map_err(index_err)?;
    Ok(metas.payload.as_deref().and_then(|p| serde_json::from_str(p).ok()))
}
