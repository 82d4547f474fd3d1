//! Scores (evaluation results, user feedback): their keyspace, their write, and reading
//! them back for a trace.
//!
//! | keyspace | key                                          | value   |
//! |----------|----------------------------------------------|---------|
//! | `scores` | tenant · h(target key) · time · hash8        | `Score` |
//!
//! A score is keyed by the id of what it judges, never by a stored record, so the order of
//! arrival does not matter: reading a trace looks up every id the trace is known by.

use std::collections::HashSet;

use crate::codec::{decode, encode};
use crate::error::Result;
use crate::keys::{value_hash, TenantId};
use crate::model::{span_score_key, LogRecord, Score, ScoreTargetKind, Span};
use crate::store::Store;
use crate::summary::TraceSummary;

/// `scores` key of one score: the content hash keeps re-sent scores once.
fn score_key(t: TenantId, score: &Score, content: &[u8]) -> Vec<u8> {
    let hash = blake3::hash(content);
    let mut key = score_prefix(t, &score.target_key());
    key.extend_from_slice(&score.time_unix_nano.to_be_bytes());
    key.extend_from_slice(&hash.as_bytes()[..8]);
    key
}

/// Prefix of every score stored under one target key.
pub(crate) fn score_prefix(t: TenantId, target_key: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + 16 + 16);
    key.extend_from_slice(&t.0.to_be_bytes());
    key.extend_from_slice(&value_hash(target_key));
    key
}

impl Store {
    /// Stages the scores of one batch; returns how many were new.
    pub(crate) fn stage_scores(
        &self,
        tx: &mut fjall::OwnedWriteBatch,
        seen: &mut HashSet<Vec<u8>>,
        t: TenantId,
        scores: &[Score],
    ) -> Result<u64> {
        let mut new = 0;
        for score in scores {
            let content = encode(score)?;
            let key = score_key(t, score, &content);
            if !seen.insert(key.clone()) || self.scores.contains_key(&key)? {
                continue;
            }
            tx.insert(&self.scores, key, content);
            new += 1;
        }
        Ok(new)
    }

    /// Scores stored under one target key (see [`Score::target_key`]), oldest first.
    pub fn scores_for(&self, t: TenantId, target_key: &str) -> Result<Vec<Score>> {
        let mut out = Vec::new();
        for item in self.scores.prefix(score_prefix(t, target_key)) {
            let value = item.value()?;
            let score: Score = decode("scores", &value)?;
            // Keys hold a hash; the record must name the id looked up.
            if score.target_key() == target_key {
                out.push(score);
            }
        }
        Ok(out)
    }

    /// Every score of a tenant judged in `[since, until)`, in key order: what a window scan
    /// joins to its requests in one pass instead of one lookup per request.
    pub fn scores_between(&self, t: TenantId, since: u64, until: u64) -> Result<Vec<Score>> {
        let mut out = Vec::new();
        for item in self.scores.prefix(t.0.to_be_bytes()) {
            let value = item.value()?;
            let score: Score = decode("scores", &value)?;
            if score.time_unix_nano >= since && score.time_unix_nano < until {
                out.push(score);
            }
        }
        Ok(out)
    }

    /// Every score judging a trace, its spans, its request, its responses or its session,
    /// oldest first. A score posted for "any" id is given the kind of the id that matched.
    pub fn trace_scores(
        &self,
        t: TenantId,
        summary: &TraceSummary,
        spans: &[Span],
        logs: &[LogRecord],
    ) -> Result<Vec<Score>> {
        let trace_hex = hex::encode(summary.trace_id);
        let mut ids: Vec<(String, ScoreTargetKind)> = vec![(trace_hex.clone(), ScoreTargetKind::Trace)];
        for span in spans {
            ids.push((span_score_key(&trace_hex, &hex::encode(span.span_id)), ScoreTargetKind::Span));
        }
        for request_id in &summary.request_ids {
            ids.push((request_id.clone(), ScoreTargetKind::Request));
        }
        let responses = spans
            .iter()
            .filter_map(|s| s.llm.as_ref())
            .chain(logs.iter().filter_map(|l| l.llm.as_ref()))
            .filter_map(|llm| llm.response_id.clone());
        for response_id in responses {
            ids.push((response_id, ScoreTargetKind::Response));
        }
        if let Some(session_id) = &summary.session_id {
            ids.push((session_id.clone(), ScoreTargetKind::Session));
        }
        let mut looked_up = HashSet::new();
        let mut out = Vec::new();
        for (id, kind) in ids {
            if !looked_up.insert(id.clone()) {
                continue;
            }
            for mut score in self.scores_for(t, &id)? {
                if score.target_kind == ScoreTargetKind::Any {
                    score.target_kind = kind;
                }
                out.push(score);
            }
        }
        out.sort_by(|a, b| a.time_unix_nano.cmp(&b.time_unix_nano).then_with(|| a.name.cmp(&b.name)));
        Ok(out)
    }
}
