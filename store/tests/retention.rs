//! Retention: old requests go, with every index entry, summary, counter, score and search
//! document that named them; held ones stay; deleted space goes back to the disk.

// Test code: a failed fixture is a failed test.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracehound_store::holds::HoldTarget;
use tracehound_store::model::{LlmCall, Score, ScoreTargetKind, Span, VersionDimension};
use tracehound_store::retention::RetentionPolicy;
use tracehound_store::search::{catch_up, SearchIndex};
use tracehound_store::writer::{Writer, WriterConfig};
use tracehound_store::{Store, TenantId, WriteBatch};

const T: TenantId = TenantId::DEFAULT;
const DAY: u64 = 86_400 * 1_000_000_000;

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

fn policy_days(days: u64) -> RetentionPolicy {
    RetentionPolicy { max_age: Some(Duration::from_secs(days * 86_400)), ..RetentionPolicy::default() }
}

/// A two-span request `n` starting `age` ago, with request, session, response id and version.
fn request(n: u8, age: u64, session: &str) -> Vec<Span> {
    let start = now() - age;
    let mut root = Span {
        trace_id: [n; 16],
        span_id: [1; 8],
        name: "handle".into(),
        start_unix_nano: start,
        end_unix_nano: start + 1_000,
        request_id: Some(format!("req_{n}")),
        session_id: Some(session.into()),
        ..Default::default()
    };
    root.versions.insert(VersionDimension::PromptVersion, "v1".into());
    let llm = Span {
        trace_id: [n; 16],
        span_id: [2; 8],
        parent_span_id: Some([1; 8]),
        name: "chat".into(),
        start_unix_nano: start + 10,
        end_unix_nano: start + 500,
        request_id: Some(format!("req_{n}")),
        session_id: Some(session.into()),
        llm: Some(LlmCall { response_id: Some(format!("chatcmpl-{n}")), ..Default::default() }),
        ..Default::default()
    };
    vec![root, llm]
}

fn write(store: &Store, spans: Vec<Span>) {
    store.write_group(&[WriteBatch { tenant: T, spans, ..Default::default() }]).unwrap();
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

#[test]
fn requests_older_than_the_maximum_age_are_deleted_and_newer_ones_kept() {
    let (_dir, store) = open();
    write(&store, request(1, 30 * DAY, "s_old"));
    write(&store, request(2, DAY, "s_new"));
    let deleted = store.retain(&policy_days(14), now()).unwrap();
    assert_eq!((deleted.traces, deleted.spans), (1, 2));
    assert!(store.trace(T, &[1; 16]).unwrap().is_none());
    assert!(store.trace(T, &[2; 16]).unwrap().is_some());
}

#[test]
fn a_deleted_request_leaves_no_index_entry_behind() {
    let (_dir, store) = open();
    write(&store, request(1, 30 * DAY, "s_old"));
    store.retain(&policy_days(14), now()).unwrap();
    assert!(store.traces_by_request(T, "req_1").unwrap().is_empty());
    assert!(store.traces_by_response(T, "chatcmpl-1").unwrap().is_empty());
    assert!(store.traces_by_version(T, VersionDimension::PromptVersion, "v1").unwrap().is_empty());
    assert!(store.session(T, "s_old").unwrap().is_none());
    assert!(store.recent_traces(T, 0, u64::MAX, None, 10).unwrap().is_empty());
    assert!(store.all_traces().next().is_none());
    assert_eq!(store.oldest_trace_start(T).unwrap(), None);
}

#[test]
fn counters_count_what_is_left() {
    let (_dir, store) = open();
    write(&store, request(1, 30 * DAY, "s_old"));
    write(&store, request(2, DAY, "s_new"));
    store.retain(&policy_days(14), now()).unwrap();
    let counters = store.counters(T).unwrap();
    assert_eq!((counters.traces, counters.spans, counters.sessions), (1, 2, 1));
}

#[test]
fn a_session_keeps_its_surviving_requests_and_counts_one_less() {
    let (_dir, store) = open();
    write(&store, request(1, 30 * DAY, "s_shared"));
    write(&store, request(2, DAY, "s_shared"));
    store.retain(&policy_days(14), now()).unwrap();
    let (summary, traces) = store.session(T, "s_shared").unwrap().unwrap();
    assert_eq!(summary.request_count, 1);
    assert_eq!(traces.iter().map(|t| t.trace_id[0]).collect::<Vec<_>>(), vec![2]);
}

#[test]
fn version_stats_keep_their_history_with_lower_counts() {
    let (_dir, store) = open();
    write(&store, request(1, 30 * DAY, "a"));
    write(&store, request(2, DAY, "b"));
    store.retain(&policy_days(14), now()).unwrap();
    let stats = store.version_stats(T).unwrap();
    let (_, v1) = stats.iter().find(|(dim, s)| *dim == VersionDimension::PromptVersion && s.value == "v1").unwrap();
    assert_eq!((v1.trace_count, v1.span_count), (1, 1));
    assert!(v1.first_seen < now() - 29 * DAY, "first seen is history, kept");
}

#[test]
fn a_held_request_outlives_retention() {
    let (_dir, store) = open();
    write(&store, request(1, 30 * DAY, "s1"));
    write(&store, request(2, 30 * DAY, "s2"));
    store.add_hold(T, HoldTarget::Request { value: "req_1".into() }, "INC-7", now()).unwrap();
    let deleted = store.retain(&policy_days(14), now()).unwrap();
    assert_eq!((deleted.traces, deleted.held), (1, 1));
    assert!(store.trace(T, &[1; 16]).unwrap().is_some());
    assert!(store.trace(T, &[2; 16]).unwrap().is_none());
}

#[test]
fn a_hold_on_a_trace_id_keeps_a_request_without_a_request_id() {
    let (_dir, store) = open();
    let mut spans = request(1, 30 * DAY, "s1");
    spans.iter_mut().for_each(|s| s.request_id = None);
    write(&store, spans);
    store.add_hold(T, HoldTarget::Request { value: hex::encode([1u8; 16]) }, "INC-7", now()).unwrap();
    store.retain(&policy_days(14), now()).unwrap();
    assert!(store.trace(T, &[1; 16]).unwrap().is_some());
}

#[test]
fn a_held_session_outlives_retention() {
    let (_dir, store) = open();
    write(&store, request(1, 30 * DAY, "s_incident"));
    write(&store, request(2, 29 * DAY, "s_incident"));
    write(&store, request(3, 30 * DAY, "s_other"));
    store.add_hold(T, HoldTarget::Session { value: "s_incident".into() }, "INC-8", now()).unwrap();
    store.retain(&policy_days(14), now()).unwrap();
    let (summary, traces) = store.session(T, "s_incident").unwrap().unwrap();
    assert_eq!((summary.request_count, traces.len()), (2, 2));
    assert!(store.session(T, "s_other").unwrap().is_none());
}

#[test]
fn a_held_window_outlives_retention() {
    let (_dir, store) = open();
    write(&store, request(1, 30 * DAY, "s1"));
    write(&store, request(2, 20 * DAY, "s2"));
    let since = now() - 21 * DAY;
    store
        .add_hold(T, HoldTarget::Window { since_unix_nano: since, until_unix_nano: since + DAY }, "INC-9", now())
        .unwrap();
    store.retain(&policy_days(14), now()).unwrap();
    assert!(store.trace(T, &[1; 16]).unwrap().is_none());
    assert!(store.trace(T, &[2; 16]).unwrap().is_some());
}

#[test]
fn a_released_hold_protects_no_more() {
    let (_dir, store) = open();
    write(&store, request(1, 30 * DAY, "s1"));
    let hold = store.add_hold(T, HoldTarget::Request { value: "req_1".into() }, "INC-7", now()).unwrap();
    store.retain(&policy_days(14), now()).unwrap();
    assert!(store.remove_hold(T, &hold.id).unwrap());
    assert!(store.holds(T).unwrap().is_empty());
    store.retain(&policy_days(14), now()).unwrap();
    assert!(store.trace(T, &[1; 16]).unwrap().is_none());
}

#[test]
fn a_deleted_request_takes_its_scores() {
    let (_dir, store) = open();
    write(&store, request(1, 30 * DAY, "s1"));
    let score = |target: &str, kind| Score {
        target_kind: kind,
        target_id: target.into(),
        name: "helpfulness".into(),
        value: Some(0.1),
        source: "test".into(),
        time_unix_nano: now(),
        ..Default::default()
    };
    let scores = vec![score("req_1", ScoreTargetKind::Request), score(&hex::encode([1u8; 16]), ScoreTargetKind::Trace)];
    store.write_group(&[WriteBatch { tenant: T, scores, ..Default::default() }]).unwrap();
    let deleted = store.retain(&policy_days(14), now()).unwrap();
    assert_eq!(deleted.scores, 2);
    assert!(store.scores_for(T, "req_1").unwrap().is_empty());
}

#[test]
fn deleted_requests_leave_the_search_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let index = SearchIndex::open(&dir.path().join("index")).unwrap();
    write(&store, request(1, 30 * DAY, "s1"));
    write(&store, request(2, DAY, "s2"));
    catch_up(&store, &index).unwrap();
    assert_eq!(index.num_docs(), 2);
    store.retain(&policy_days(14), now()).unwrap();
    catch_up(&store, &index).unwrap();
    assert_eq!(index.num_docs(), 1);
    assert_eq!(index.committed_seq(), store.last_change_seq());
}

/// A request whose spans carry `kib` KiB of incompressible text.
fn bulky_request(n: u16, age: u64, kib: usize) -> Vec<Span> {
    let start = now() - age;
    (0..8u8)
        .map(|i| {
            let mut text = String::with_capacity(kib * 1024);
            let mut x = u64::from(n) << 8 | u64::from(i);
            while text.len() < kib * 1024 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                text.push_str(&format!("{:016x}", x));
            }
            let mut trace = [0u8; 16];
            trace[..2].copy_from_slice(&n.to_be_bytes());
            Span {
                trace_id: trace,
                span_id: [i + 1; 8],
                start_unix_nano: start + u64::from(i),
                end_unix_nano: start + 1_000,
                output_value: Some(text),
                ..Default::default()
            }
        })
        .collect()
}

#[test]
fn deleting_most_of_the_store_gives_the_disk_space_back() {
    let (_dir, store) = open();
    for n in 0..200u16 {
        let age = if n < 180 { 30 * DAY } else { DAY };
        write(&store, bulky_request(n, age, 8));
    }
    store.reclaim_space().unwrap();
    let before = store.disk_bytes();
    let usage = store.disk_usage();
    let deleted = store.retain(&policy_days(14), now()).unwrap();
    assert_eq!(deleted.traces, 180);
    let after = store.disk_bytes();
    // The journal is preallocated at a fixed size: only the keyspaces can shrink.
    let data: u64 = usage.iter().filter(|(part, _)| part != "journal").map(|(_, bytes)| bytes).sum();
    assert!(
        before - after > data * 4 / 5,
        "90% of {data} data bytes deleted: {before} bytes on disk before, {after} after"
    );
}

#[test]
fn over_the_disk_budget_the_oldest_requests_go_first() {
    let (_dir, store) = open();
    for n in 0..40u16 {
        write(&store, bulky_request(n, DAY - u64::from(n) * 1_000_000_000, 8));
    }
    store.reclaim_space().unwrap();
    let unlimited = RetentionPolicy { max_age: None, ..RetentionPolicy::default() };
    let budget = store.retention_bytes(&unlimited) / 2;
    let policy = RetentionPolicy { disk_budget_bytes: Some(budget), ..unlimited };
    let deleted = store.retain(&policy, now()).unwrap();
    assert!(deleted.traces >= 15 && deleted.traces < 40, "about half deleted, got {}", deleted.traces);
    let oldest_left = store.recent_traces(T, 0, u64::MAX, None, 100).unwrap().into_iter().map(|s| s.trace_id[1]).min();
    assert_eq!(oldest_left, Some(deleted.traces as u8), "the oldest went first");
    let left = store.retention_bytes(&policy);
    assert!(left <= budget, "{left} bytes left, budget {budget}");
}

#[test]
fn the_writer_runs_a_retention_pass_at_start_up() {
    let (_dir, store) = open();
    write(&store, request(1, 30 * DAY, "s1"));
    let (writer, thread) =
        Writer::start_with_retention(store.clone(), WriterConfig::default(), Some(policy_days(14))).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = store.retention_status().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "no retention pass finished");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(store.trace(T, &[1; 16]).unwrap().is_none());
    assert_eq!((status.last_pass.traces, status.max_age_secs), (1, Some(14 * 86_400)));
    drop(writer);
    thread.join();
}
