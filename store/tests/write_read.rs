//! The store's write path and reads, through its public API.

// Test code: a failed fixture is a failed test.
#![allow(clippy::unwrap_used)]

use tracehound_store::model::{LlmCall, Span, StatusCode, VersionDimension};
use tracehound_store::writer::{Writer, WriterConfig};
use tracehound_store::{Store, StoreError, TenantId, WriteBatch};

const T: TenantId = TenantId::DEFAULT;

fn span(trace: u8, id: u8, parent: Option<u8>, start: u64) -> Span {
    Span {
        trace_id: [trace; 16],
        span_id: [id; 8],
        parent_span_id: parent.map(|p| [p; 8]),
        name: format!("span {id}"),
        start_unix_nano: start,
        end_unix_nano: start + 1_000,
        ..Default::default()
    }
}

fn batch(spans: Vec<Span>) -> WriteBatch {
    WriteBatch { tenant: T, spans, logs: Vec::new(), scores: Vec::new(), evals_done: Vec::new() }
}

#[test]
fn a_written_span_reads_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut s = span(1, 1, None, 10);
    s.llm = Some(LlmCall { response_model: Some("gpt-4o-2024-08-06".into()), ..Default::default() });
    store.write_group(&[batch(vec![s.clone()])]).unwrap();
    let data = store.trace(T, &[1; 16]).unwrap().unwrap();
    assert_eq!(data.spans, vec![s]);
}

#[test]
fn a_span_sent_twice_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let first = store.write_group(&[batch(vec![span(1, 1, None, 10)])]).unwrap();
    let again = store.write_group(&[batch(vec![span(1, 1, None, 10)]), batch(vec![span(1, 1, None, 10)])]).unwrap();
    assert_eq!(first[0].new_spans, 1);
    assert_eq!((again[0].duplicate_spans, again[1].duplicate_spans), (1, 1));
    assert_eq!(store.counters(T).unwrap().spans, 1);
    assert_eq!(store.trace_summary(T, &[1; 16]).unwrap().unwrap().span_count, 1);
}

#[test]
fn a_root_arriving_last_sets_the_request_id_and_moves_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut child = span(2, 2, Some(1), 500);
    child.request_id = Some("req_child_view".into());
    store.write_group(&[batch(vec![child])]).unwrap();
    let mut root = span(2, 1, None, 100);
    root.request_id = Some("req_root".into());
    store.write_group(&[batch(vec![root])]).unwrap();
    let summary = store.trace_summary(T, &[2; 16]).unwrap().unwrap();
    assert_eq!(summary.request_id.as_deref(), Some("req_root"));
    assert_eq!(summary.start_unix_nano, 100);
    let listed = store.recent_traces(T, 0, u64::MAX, None, 10).unwrap();
    assert_eq!(listed.len(), 1, "the old time key was moved, not duplicated");
    assert_eq!(store.traces_by_request(T, "req_root").unwrap().len(), 1);
}

#[test]
fn recent_traces_come_newest_first_and_page_by_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let spans = (1..=5).map(|i| span(i, 1, None, i as u64 * 100)).collect();
    store.write_group(&[batch(spans)]).unwrap();
    let first = store.recent_traces(T, 0, u64::MAX, None, 2).unwrap();
    assert_eq!(first.iter().map(|s| s.trace_id[0]).collect::<Vec<_>>(), vec![5, 4]);
    let last = first.last().unwrap();
    let second = store.recent_traces(T, 0, u64::MAX, Some((last.start_unix_nano, last.trace_id)), 10).unwrap();
    assert_eq!(second.iter().map(|s| s.trace_id[0]).collect::<Vec<_>>(), vec![3, 2, 1]);
}

#[test]
fn sessions_list_their_traces_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut spans = Vec::new();
    for (trace, start) in [(3u8, 300u64), (1, 100), (2, 200)] {
        let mut s = span(trace, 1, None, start);
        s.session_id = Some("sess_a".into());
        spans.push(s);
    }
    store.write_group(&[batch(spans)]).unwrap();
    let (summary, traces) = store.session(T, "sess_a").unwrap().unwrap();
    assert_eq!(summary.request_count, 3);
    assert_eq!(traces.iter().map(|s| s.trace_id[0]).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(store.session(T, "sess_b").unwrap().is_none());
}

#[test]
fn version_values_record_first_and_last_seen() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut a = span(1, 1, None, 100);
    a.versions.insert(VersionDimension::PromptVersion, "v7".into());
    let mut b = span(2, 1, None, 900);
    b.versions.insert(VersionDimension::PromptVersion, "v7".into());
    store.write_group(&[batch(vec![a, b])]).unwrap();
    let stats = store.version_stats(T).unwrap();
    let (dim, v7) = &stats[0];
    assert_eq!(*dim, VersionDimension::PromptVersion);
    assert_eq!((v7.first_seen, v7.last_seen, v7.trace_count), (100, 1_900, 2));
    assert_eq!(store.traces_by_version(T, VersionDimension::PromptVersion, "v7").unwrap().len(), 2);
}

#[test]
fn an_error_span_marks_its_trace_failed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut failed = span(1, 2, Some(1), 100);
    failed.status = StatusCode::Error;
    store.write_group(&[batch(vec![span(1, 1, None, 50), failed])]).unwrap();
    assert_eq!(store.trace_summary(T, &[1; 16]).unwrap().unwrap().status(), StatusCode::Error);
}

#[test]
fn tenants_do_not_see_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut s = span(1, 1, None, 10);
    s.request_id = Some("req_shared".into());
    store
        .write_group(&[WriteBatch {
            tenant: TenantId(7),
            spans: vec![s],
            logs: vec![],
            scores: vec![],
            evals_done: vec![],
        }])
        .unwrap();
    assert!(store.trace(T, &[1; 16]).unwrap().is_none());
    assert!(store.traces_by_request(T, "req_shared").unwrap().is_empty());
    assert_eq!(store.traces_by_request(TenantId(7), "req_shared").unwrap().len(), 1);
}

#[test]
fn a_summary_lists_models_in_time_order_whatever_order_its_spans_arrive_in() {
    let call = |id: u8, start: u64, model: &str| Span {
        llm: Some(LlmCall { response_model: Some(model.into()), ..Default::default() }),
        ..span(1, id, Some(1), start)
    };
    let summaries: Vec<Vec<String>> = [[2u8, 3], [3, 2]]
        .iter()
        .map(|order| {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path()).unwrap();
            let spans = [call(2, 10, "text-embedding-3-small"), call(3, 20, "gpt-4o")];
            for id in order {
                let one = spans.iter().find(|s| s.span_id == [*id; 8]).unwrap().clone();
                store.write_group(&[batch(vec![one])]).unwrap();
            }
            store.trace(T, &[1; 16]).unwrap().unwrap().summary.models
        })
        .collect();
    assert_eq!(summaries[0], ["text-embedding-3-small", "gpt-4o"]);
    assert_eq!(summaries[1], summaries[0]);
}

#[test]
fn counters_over_tenants_add_up_every_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.write_group(&[batch(vec![span(1, 1, None, 10), span(1, 2, Some(1), 20)])]).unwrap();
    let other = WriteBatch {
        tenant: TenantId(7),
        spans: vec![span(2, 1, None, 10)],
        logs: vec![],
        scores: vec![],
        evals_done: vec![],
    };
    store.write_group(&[other]).unwrap();
    let total = store.counters_over_tenants().unwrap();
    assert_eq!((total.spans, total.traces), (3, 2));
}

#[test]
fn data_survives_reopening_the_store() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        store.write_group(&[batch(vec![span(4, 1, None, 10)])]).unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert!(store.trace(T, &[4; 16]).unwrap().is_some());
    assert_eq!(store.counters(T).unwrap().traces, 1);
}

#[tokio::test]
async fn the_writer_answers_once_the_batch_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (writer, thread) = Writer::start(store.clone(), WriterConfig::default()).unwrap();
    let outcome = writer.write(batch(vec![span(5, 1, None, 10)])).await.unwrap();
    assert_eq!(outcome.new_spans, 1);
    assert!(store.trace(T, &[5; 16]).unwrap().is_some());
    drop(writer);
    thread.join();
}

#[tokio::test]
async fn batches_queued_together_share_one_commit_and_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (writer, thread) = Writer::start(store.clone(), WriterConfig::default()).unwrap();
    // Queued faster than one fsync takes, so the writer must group them.
    let answers: Vec<_> = (0..64u8).map(|i| writer.submit(batch(vec![span(i, 1, None, 10)])).unwrap()).collect();
    for answer in answers {
        answer.await.unwrap().unwrap();
    }
    assert_eq!(store.counters(T).unwrap().spans, 64);
    let commits = writer.stats().commits.load(std::sync::atomic::Ordering::Relaxed);
    assert!(commits < 64, "64 queued batches took {commits} commits: no grouping");
    drop(writer);
    thread.join();
}

#[test]
fn a_full_queue_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (writer, thread) =
        Writer::start(store, WriterConfig { queue_capacity: 1, max_group: 1, ..WriterConfig::default() }).unwrap();
    let mut refused = false;
    let mut pending = Vec::new();
    for i in 0..200u8 {
        match writer.submit(batch(vec![span(i, 1, None, 10)])) {
            Ok(answer) => pending.push(answer),
            Err(StoreError::QueueFull) => {
                refused = true;
                break;
            }
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert!(refused, "200 submissions into a queue of one never filled it");
    drop(writer);
    thread.join();
}

/// The search indexer reads the change log while the writer commits: every trace a change
/// names must already be readable, or the indexer skips it and it is never searchable.
#[test]
fn a_trace_named_by_a_visible_change_is_readable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let reader = store.clone();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writing = done.clone();
    let writer = std::thread::spawn(move || {
        for group in 0..300u32 {
            // Many traces per group widen the window between the change-log entry and the
            // trace summaries inside one batch.
            let spans = (0..64u32)
                .map(|i| {
                    let n = group * 64 + i;
                    let mut s = span(0, 1, None, u64::from(n));
                    s.trace_id[..4].copy_from_slice(&n.to_be_bytes());
                    s.session_id = Some(format!("session-{n}"));
                    s
                })
                .collect();
            store.write_group(&[batch(spans)]).unwrap();
        }
        writing.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let mut seq = 0;
    let mut unreadable = Vec::new();
    while !done.load(std::sync::atomic::Ordering::SeqCst) || reader.changes_after(seq, 1).unwrap().len() == 1 {
        for change in reader.changes_after(seq, 16).unwrap() {
            for (tenant, trace) in &change.traces {
                if reader.trace(*tenant, trace).unwrap().is_none() {
                    unreadable.push(*trace);
                }
            }
            seq = change.seq;
        }
    }
    writer.join().unwrap();
    assert_eq!(seq, reader.last_change_seq());
    assert!(unreadable.is_empty(), "{} traces named by a change were not readable", unreadable.len());
}

/// fjall poisons the whole database when a journal write fails, so writes outside the
/// writer (the audit trail, holds) must refuse before the disk is full, as the writer does.
#[test]
fn an_audit_append_is_refused_without_headroom_and_the_store_stays_usable() {
    use tracehound_store::audit::AuditEntry;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let entry = AuditEntry {
        time_unix_nano: 1,
        key_id: None,
        tenant: 0,
        method: "GET".into(),
        route: "/api/v1/traces/x".into(),
        status: 200,
    };
    store.set_disk_reserve(u64::MAX);
    assert!(matches!(store.append_audit(&entry), Err(StoreError::DiskFull { .. })));
    store.set_disk_reserve(0);
    store.append_audit(&entry).unwrap();
    store.write_group(&[batch(vec![span(3, 1, None, 10)])]).unwrap();
    assert_eq!(store.audit_entries(T, 0, 10).unwrap().len(), 1);
}
