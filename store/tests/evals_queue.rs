//! The durable queue of online evaluation, through the store's public API.

// Test code: a failed fixture is a failed test.
#![allow(clippy::unwrap_used)]

use tracehound_store::evals::{DoneMark, DoneOutcome, EvalDone, QueueEntry};
use tracehound_store::model::{Score, ScoreTargetKind, Span};
use tracehound_store::{Store, TenantId, WriteBatch};

const T: TenantId = TenantId::DEFAULT;

fn span(trace: u8) -> Span {
    Span { trace_id: [trace; 16], span_id: [1; 8], start_unix_nano: 10, end_unix_nano: 20, ..Default::default() }
}

fn entry(not_before: u64) -> QueueEntry {
    QueueEntry { sampled_unix_nano: 1, not_before_unix_nano: not_before, ..Default::default() }
}

fn score(trace: u8) -> Score {
    Score {
        target_kind: ScoreTargetKind::Trace,
        target_id: hex::encode([trace; 16]),
        name: "correctness".into(),
        value: Some(1.0),
        source: "llm-judge".into(),
        ..Default::default()
    }
}

fn done(trace: u8) -> EvalDone {
    EvalDone { trace_id: [trace; 16], mark: DoneMark { at_unix_nano: 5, outcome: DoneOutcome::Scored, detail: None } }
}

#[test]
fn a_request_written_again_keeps_one_queue_entry_with_the_later_not_before() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.eval_follow(&[(T, [1; 16], entry(100))], 1).unwrap(), 1);
    assert_eq!(store.eval_follow(&[(T, [1; 16], entry(300))], 2).unwrap(), 0);
    let queue = store.eval_queue().unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].2.not_before_unix_nano, 300);
    assert_eq!(store.eval_follower_cursor().unwrap(), Some(2));
}

#[test]
fn scores_and_the_done_mark_leave_the_queue_in_one_write_and_the_request_is_never_queued_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.write_group(&[WriteBatch { tenant: T, spans: vec![span(1)], ..Default::default() }]).unwrap();
    store.eval_follow(&[(T, [1; 16], entry(100))], 1).unwrap();
    let batch = WriteBatch { tenant: T, scores: vec![score(1)], evals_done: vec![done(1)], ..Default::default() };
    store.write_group(&[batch]).unwrap();
    assert!(store.eval_queue().unwrap().is_empty());
    assert_eq!(store.eval_done(T, &[1; 16]).unwrap().unwrap().outcome, DoneOutcome::Scored);
    assert_eq!(store.scores_for(T, &hex::encode([1; 16])).unwrap().len(), 1);
    assert_eq!(store.eval_follow(&[(T, [1; 16], entry(400))], 3).unwrap(), 0);
    assert_eq!(store.eval_enqueue(&[(T, [1; 16], entry(400))]).unwrap(), 0);
    assert!(store.eval_queue().unwrap().is_empty());
}

#[test]
fn the_queue_and_the_follower_cursor_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        store.eval_follow(&[(T, [2; 16], entry(100))], 7).unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.eval_queue().unwrap().len(), 1);
    assert_eq!(store.eval_follower_cursor().unwrap(), Some(7));
}

#[test]
fn the_change_log_is_not_pruned_past_what_the_evaluation_follower_has_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for trace in 1..=3 {
        store.write_group(&[WriteBatch { tenant: T, spans: vec![span(trace)], ..Default::default() }]).unwrap();
    }
    store.eval_follow(&[], 1).unwrap();
    store.prune_changes_through(3).unwrap();
    let left: Vec<u64> = store.changes_after(0, 10).unwrap().iter().map(|c| c.seq).collect();
    assert_eq!(left, vec![2, 3]);
    store.unregister_eval_follower().unwrap();
    store.prune_changes_through(3).unwrap();
    assert!(store.changes_after(0, 10).unwrap().is_empty());
}

#[test]
fn a_days_spend_adds_up_and_is_kept_per_day() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let call = tracehound_store::evals::Spend { calls: 1, input_tokens: 100, output_tokens: 20, cost_usd: 0.5 };
    store.add_eval_spend(10, call).unwrap();
    let total = store.add_eval_spend(10, call).unwrap();
    assert_eq!((total.calls, total.tokens()), (2, 240));
    assert!((total.cost_usd - 1.0).abs() < 1e-12);
    assert_eq!(store.eval_spend(11).unwrap().calls, 0);
}
