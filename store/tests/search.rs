//! Search over a generated corpus whose rare words have known counts: every request
//! containing a word is found and no other.

// Test code: a failed fixture is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use tracehound_store::model::{LlmCall, Message, MessagePart, Span, SpanKind, StatusCode, ToolCall, VersionDimension};
use tracehound_store::search::{catch_up, Clause, FilterField, SearchIndex, SearchRequest, Sort, TextField};
use tracehound_store::{Store, TenantId, WriteBatch};

const T: TenantId = TenantId::DEFAULT;
const REQUESTS: u8 = 120;
const BASE_NS: u64 = 1_800_000_000_000_000_000;

fn message(role: &str, text: &str) -> Message {
    Message {
        role: role.into(),
        parts: vec![MessagePart::Text { content: text.into() }],
        name: None,
        finish_reason: None,
    }
}

/// Request `i`: rare word `rareK` appears iff `i % K == 0` (K in 2..=9); even requests
/// say "refund policy", odd ones "policy on refund"; every 5th has a failing tool.
fn request(i: u8) -> Vec<Span> {
    let trace = [i; 16];
    let start = BASE_NS + u64::from(i) * 1_000_000;
    let mut words = vec!["please help with my account".to_string()];
    for k in 2..=9u8 {
        if i.is_multiple_of(k) {
            words.push(format!("rare{k}"));
        }
    }
    words.push(if i.is_multiple_of(2) { "our refund policy".into() } else { "the policy on refund".into() });
    let mut root = Span {
        trace_id: trace,
        span_id: [1; 8],
        name: "agent.handle".into(),
        kind: SpanKind::Agent,
        start_unix_nano: start,
        end_unix_nano: start + 500,
        service: if i.is_multiple_of(3) { "billing".into() } else { "support".into() },
        request_id: Some(format!("req_{i}")),
        session_id: Some(format!("sess_{}", i / 4)),
        ..Default::default()
    };
    root.versions.insert(VersionDimension::PromptVersion, if i.is_multiple_of(2) { "v7".into() } else { "v8".into() });
    let llm = Span {
        trace_id: trace,
        span_id: [2; 8],
        parent_span_id: Some([1; 8]),
        name: "chat".into(),
        kind: SpanKind::Llm,
        start_unix_nano: start + 10,
        end_unix_nano: start + 100,
        llm: Some(LlmCall {
            request_model: Some(if i.is_multiple_of(4) { "gpt-4o-mini".into() } else { "gpt-4o".into() }),
            input_messages: vec![message("user", &words.join(" "))],
            output_messages: vec![message("assistant", &format!("answer number{i}"))],
            finish_reasons: vec![if i.is_multiple_of(6) { "length".into() } else { "stop".into() }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut tool = Span {
        trace_id: trace,
        span_id: [3; 8],
        parent_span_id: Some([1; 8]),
        name: "execute_tool lookup_order".into(),
        kind: SpanKind::Tool,
        start_unix_nano: start + 110,
        end_unix_nano: start + 200,
        tool: Some(ToolCall {
            name: Some("lookup_order".into()),
            arguments: Some(format!("{{\"order_id\": \"B-{}\"}}", 31_000 + u32::from(i))),
            result: Some("shipped".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    if i.is_multiple_of(5) {
        tool.status = StatusCode::Error;
        tool.status_message = "ERR_TIMEOUT from carrier".into();
    }
    vec![root, llm, tool]
}

struct Corpus {
    _dir: tempfile::TempDir,
    store: Store,
    index: SearchIndex,
}

fn corpus() -> Corpus {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    for i in 0..REQUESTS {
        store
            .write_group(&[WriteBatch {
                tenant: T,
                spans: request(i),
                logs: vec![],
                scores: vec![],
                evals_done: vec![],
            }])
            .unwrap();
    }
    let index = SearchIndex::open(&dir.path().join("index")).unwrap();
    catch_up(&store, &index).unwrap();
    Corpus { _dir: dir, store, index }
}

fn search(c: &Corpus, clauses: Vec<Clause>) -> BTreeSet<u8> {
    let request = SearchRequest {
        tenant: T,
        clauses,
        since: None,
        until: None,
        sort: Sort::Relevance,
        limit: 1000,
        cursor: None,
    };
    let page = c.index.search(&request).unwrap();
    assert_eq!(page.total, page.hits.len());
    page.hits.iter().map(|h| h.trace_id[0]).collect()
}

fn words(text: &str) -> Clause {
    Clause::Words { text: text.into(), field: None, negated: false }
}

fn phrase(text: &str) -> Clause {
    Clause::Phrase { text: text.into(), field: None, negated: false }
}

fn filter(field: FilterField, value: &str) -> Clause {
    Clause::Filter { field, value: value.into(), negated: false }
}

fn expected(pred: impl Fn(u8) -> bool) -> BTreeSet<u8> {
    (0..REQUESTS).filter(|i| pred(*i)).collect()
}

#[test]
fn every_rare_word_finds_exactly_the_requests_that_hold_it() {
    let c = corpus();
    for k in 2..=9u8 {
        assert_eq!(search(&c, vec![words(&format!("rare{k}"))]), expected(|i| i.is_multiple_of(k)), "rare{k}");
    }
}

#[test]
fn all_words_must_match() {
    let c = corpus();
    assert_eq!(search(&c, vec![words("rare2 rare3")]), expected(|i| i.is_multiple_of(6)));
}

#[test]
fn an_excluded_word_removes_its_requests() {
    let c = corpus();
    let not_rare3 = Clause::Words { text: "rare3".into(), field: None, negated: true };
    assert_eq!(search(&c, vec![words("rare2"), not_rare3]), expected(|i| i.is_multiple_of(2) && !i.is_multiple_of(3)));
}

#[test]
fn a_phrase_matches_only_as_a_phrase() {
    let c = corpus();
    assert_eq!(search(&c, vec![phrase("refund policy")]), expected(|i| i.is_multiple_of(2)));
    assert_eq!(search(&c, vec![phrase("policy on refund")]), expected(|i| i % 2 == 1));
    assert_eq!(search(&c, vec![words("refund policy")]).len(), usize::from(REQUESTS));
}

#[test]
fn every_filter_narrows_to_its_requests() {
    let c = corpus();
    let all = words("account");
    type Case = (FilterField, &'static str, Box<dyn Fn(u8) -> bool>);
    let cases: Vec<Case> = vec![
        (FilterField::PromptVersion, "v8", Box::new(|i| i % 2 == 1)),
        (FilterField::Model, "gpt-4o-mini", Box::new(|i| i.is_multiple_of(4))),
        (FilterField::Status, "error", Box::new(|i| i.is_multiple_of(5))),
        (FilterField::Status, "ok", Box::new(|i| !i.is_multiple_of(5))),
        (FilterField::Service, "billing", Box::new(|i| i.is_multiple_of(3))),
        (FilterField::FinishReason, "length", Box::new(|i| i.is_multiple_of(6))),
        (FilterField::Session, "sess_3", Box::new(|i| i / 4 == 3)),
        (FilterField::Request, "req_17", Box::new(|i| i == 17)),
        (FilterField::Tool, "lookup_order", Box::new(|_| true)),
        (FilterField::Kind, "llm", Box::new(|_| true)),
        (FilterField::Kind, "retrieval", Box::new(|_| false)),
    ];
    for (field, value, pred) in cases {
        assert_eq!(search(&c, vec![all.clone(), filter(field, value)]), expected(pred), "{field:?}:{value}");
    }
}

#[test]
fn a_word_can_be_restricted_to_one_field() {
    let c = corpus();
    let in_output = |t: &str| Clause::Words { text: t.into(), field: Some(TextField::Output), negated: false };
    assert_eq!(search(&c, vec![in_output("number7")]), expected(|i| i == 7));
    assert!(search(&c, vec![in_output("rare2")]).is_empty());
}

#[test]
fn identifiers_are_found_as_typed() {
    let c = corpus();
    assert_eq!(search(&c, vec![words("B-31017")]), expected(|i| i == 17));
    assert_eq!(search(&c, vec![words("ERR_TIMEOUT")]), expected(|i| i.is_multiple_of(5)));
}

#[test]
fn time_bounds_narrow_the_results() {
    let c = corpus();
    let request = SearchRequest {
        tenant: T,
        clauses: vec![words("account")],
        since: Some(BASE_NS + 10 * 1_000_000),
        until: Some(BASE_NS + 20 * 1_000_000),
        sort: Sort::Time,
        limit: 100,
        cursor: None,
    };
    let found: Vec<u8> = c.index.search(&request).unwrap().hits.iter().map(|h| h.trace_id[0]).collect();
    assert_eq!(found, (10..20).rev().collect::<Vec<u8>>());
}

fn all_pages(c: &Corpus, sort: Sort, limit: usize) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let request =
            SearchRequest { tenant: T, clauses: vec![words("refund")], since: None, until: None, sort, limit, cursor };
        let page = c.index.search(&request).unwrap();
        seen.extend(page.hits.iter().map(|h| h.trace_id[0]));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    seen
}

#[test]
fn time_pages_neither_repeat_nor_skip() {
    let c = corpus();
    let seen = all_pages(&c, Sort::Time, 7);
    assert_eq!(seen, (0..REQUESTS).rev().collect::<Vec<u8>>());
}

#[test]
fn relevance_pages_neither_repeat_nor_skip() {
    let c = corpus();
    let seen = all_pages(&c, Sort::Relevance, 9);
    let unique: BTreeSet<u8> = seen.iter().copied().collect();
    assert_eq!(seen.len(), usize::from(REQUESTS));
    assert_eq!(unique, expected(|_| true));
}

#[test]
fn accented_text_is_found_without_accents_and_with_them() {
    let c = corpus();
    let mut spans = request(200);
    spans[1].llm.as_mut().unwrap().input_messages =
        vec![message("user", "Quiero la devolución del pedido, s'il vous plaît. Rückerstattung!")];
    c.store.write_group(&[WriteBatch { tenant: T, spans, logs: vec![], scores: vec![], evals_done: vec![] }]).unwrap();
    catch_up(&c.store, &c.index).unwrap();
    for query in ["devolucion", "devolución", "plait", "ruckerstattung", "Rückerstattung"] {
        assert_eq!(search(&c, vec![words(query)]), BTreeSet::from([200]), "{query}");
    }
}

#[test]
fn cjk_text_is_found_by_a_substring() {
    let c = corpus();
    let mut spans = request(201);
    spans[1].llm.as_mut().unwrap().input_messages = vec![message("user", "我想了解退款政策和订单状态")];
    c.store.write_group(&[WriteBatch { tenant: T, spans, logs: vec![], scores: vec![], evals_done: vec![] }]).unwrap();
    catch_up(&c.store, &c.index).unwrap();
    assert_eq!(search(&c, vec![phrase("退款政策")]), BTreeSet::from([201]));
    assert_eq!(search(&c, vec![words("订单")]), BTreeSet::from([201]));
    assert!(search(&c, vec![phrase("政策退款")]).is_empty());
}

#[test]
fn an_email_address_is_found_as_typed() {
    let c = corpus();
    let mut spans = request(202);
    spans[1].llm.as_mut().unwrap().input_messages = vec![message("user", "contact jane.doe@example.com today")];
    c.store.write_group(&[WriteBatch { tenant: T, spans, logs: vec![], scores: vec![], evals_done: vec![] }]).unwrap();
    catch_up(&c.store, &c.index).unwrap();
    assert_eq!(search(&c, vec![words("jane.doe@example.com")]), BTreeSet::from([202]));
}

#[test]
fn another_tenant_sees_nothing() {
    let c = corpus();
    let request = SearchRequest {
        tenant: TenantId(9),
        clauses: vec![words("refund")],
        since: None,
        until: None,
        sort: Sort::Relevance,
        limit: 10,
        cursor: None,
    };
    assert_eq!(c.index.search(&request).unwrap().total, 0);
}

#[test]
fn spans_arriving_later_update_their_request() {
    let c = corpus();
    let mut late = request(3);
    late.truncate(1);
    late[0].span_id = [9; 8];
    late[0].name = "late.span zanzibar".into();
    c.store
        .write_group(&[WriteBatch { tenant: T, spans: late, logs: vec![], scores: vec![], evals_done: vec![] }])
        .unwrap();
    catch_up(&c.store, &c.index).unwrap();
    assert_eq!(search(&c, vec![words("zanzibar rare3")]), BTreeSet::from([3]));
    assert_eq!(c.index.num_docs(), u64::from(REQUESTS), "updated in place, not added twice");
}

#[test]
fn a_reopened_index_resumes_from_its_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    store
        .write_group(&[WriteBatch { tenant: T, spans: request(1), logs: vec![], scores: vec![], evals_done: vec![] }])
        .unwrap();
    {
        let index = SearchIndex::open(&dir.path().join("index")).unwrap();
        catch_up(&store, &index).unwrap();
    }
    // Written while no indexer ran, as after a crash between store and index commits.
    store
        .write_group(&[WriteBatch { tenant: T, spans: request(2), logs: vec![], scores: vec![], evals_done: vec![] }])
        .unwrap();
    let index = SearchIndex::open(&dir.path().join("index")).unwrap();
    assert_eq!(index.committed_seq(), 1);
    catch_up(&store, &index).unwrap();
    let c = Corpus { _dir: dir, store, index };
    assert_eq!(search(&c, vec![words("account")]), BTreeSet::from([1, 2]));
}

#[test]
fn a_deleted_index_is_rebuilt_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    store
        .write_group(&[WriteBatch { tenant: T, spans: request(4), logs: vec![], scores: vec![], evals_done: vec![] }])
        .unwrap();
    {
        let index = SearchIndex::open(&dir.path().join("index")).unwrap();
        catch_up(&store, &index).unwrap();
    }
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let index = SearchIndex::open(&dir.path().join("index")).unwrap();
    catch_up(&store, &index).unwrap();
    let c = Corpus { _dir: dir, store, index };
    assert_eq!(search(&c, vec![words("account")]), BTreeSet::from([4]));
}
