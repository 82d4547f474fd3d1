//! The window as triage sees it: one compact record per request, read from the trace
//! summaries alone (no span is read), and the per-request "suspect" decision.
//!
//! # Suspect: a failure the user saw, loud or silent
//!
//! A request is **suspect** when it failed loudly (an error on any span, a failed tool
//! call, a model call stopped by its token limit or a content filter, a refusal, a failing
//! eval or feedback score), or when the silent evidence agrees. Every silent threshold is
//! relative to the window's own traffic of the same service, so no phrase and no
//! app-specific number decides:
//! - `no_documents`: a retrieval ran and returned nothing;
//! - `low_top_score`: the best document scored below the service's median − 6 MAD;
//! - `short`: the answer is under 0.35 × the service's median answer length (or absent);
//! - `repeated`: the same answer skeleton (lower-cased, digits and `[...]` masked) answered
//!   at least max(5, 0.5% of the window) *different* questions: the generic "no answer"
//!   an app gives whatever it was asked, in any wording and any language;
//! - `no_citation`: the service cites a retrieved document in ≥ 80% of its answers, and
//!   this answer cites none of its own;
//! - `language_mismatch`: question and answer are in different languages, each holding its
//!   own on a detector of just those two (`tracehound_language::Identifier::differ`).
//!
//! silent = no_documents ∨ language_mismatch ∨ (low_top_score ∧ (short ∨ no_citation))
//! ∨ (repeated ∧ (short ∨ no_citation)) ∨ (short ∧ no_citation). One weak cue alone never
//! makes a request suspect. **Abstention** ("no answer": the model has no information,
//! cannot find it, or answers generically) is `repeated` or `no_documents` together with a
//! short or uncited answer: it is decided by what the traffic repeats, not by a phrase list.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use tracehound_store::model::{ScoreTargetKind, TraceId, VersionDimension};
use tracehound_store::signals::ToolTiming;
use tracehound_store::summary::TraceSummary;
use tracehound_store::{Store, TenantId};

use crate::assess::{is_refusal_text, FAILING_LABELS};
use crate::error::QueryError;

/// Requests one triage reads at most; the answer says when it stopped there.
pub const MAX_REQUESTS: usize = 250_000;

/// Why a request is suspect: one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cue {
    /// A span ended in error.
    Error,
    /// A tool call failed.
    ToolError,
    /// A model call hit its token limit.
    Truncated,
    /// A content filter stopped a model call.
    ContentFilter,
    /// The answer refuses.
    Refusal,
    /// An eval or feedback score failed it.
    FailingScore,
    /// A retrieval returned no document.
    NoDocuments,
    /// The best document scored far below the service's usual.
    LowTopScore,
    /// The answer is far shorter than the service's usual.
    Short,
    /// The same answer was given to many different questions.
    Repeated,
    /// The answer cites none of its retrieved documents, where the service usually does.
    NoCitation,
    /// Question and answer are in different languages.
    LanguageMismatch,
}

impl Cue {
    /// Every cue, in bit order.
    pub const ALL: [Cue; 12] = [
        Cue::Error,
        Cue::ToolError,
        Cue::Truncated,
        Cue::ContentFilter,
        Cue::Refusal,
        Cue::FailingScore,
        Cue::NoDocuments,
        Cue::LowTopScore,
        Cue::Short,
        Cue::Repeated,
        Cue::NoCitation,
        Cue::LanguageMismatch,
    ];

    /// The snake_case name in answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Cue::Error => "error",
            Cue::ToolError => "tool_error",
            Cue::Truncated => "truncated",
            Cue::ContentFilter => "content_filter",
            Cue::Refusal => "refusal",
            Cue::FailingScore => "failing_score",
            Cue::NoDocuments => "no_documents",
            Cue::LowTopScore => "low_top_score",
            Cue::Short => "short",
            Cue::Repeated => "repeated",
            Cue::NoCitation => "no_citation",
            Cue::LanguageMismatch => "language_mismatch",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// One score judging a request: its name, its value if it has one, and whether it fails
/// the request.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreMark {
    /// The score's name.
    pub name: String,
    /// Its value, when it has one.
    pub value: Option<f64>,
    /// A failing label, or no label and a value below 0.5.
    pub failing: bool,
}

/// One request, compact: what triage needs and nothing more.
#[derive(Debug, Clone)]
pub struct Request {
    /// Trace id.
    pub trace_id: TraceId,
    /// Request id, else the trace id in hex.
    pub request_id: String,
    /// Root start, Unix ns.
    pub start: u64,
    /// Wall time of the request, ms.
    pub latency_ms: f64,
    /// Service.
    pub service: String,
    /// User, when known.
    pub user: Option<String>,
    /// Version values per dimension.
    pub versions: BTreeMap<VersionDimension, Vec<String>>,
    /// ISO 639-1 language of the question.
    pub question_language: Option<String>,
    /// Question length, characters.
    pub question_chars: u32,
    /// Answer length, characters.
    pub answer_chars: u32,
    /// Input tokens.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// Cost in US dollars by the price table, when every model it used is priced.
    pub cost: Option<f64>,
    /// Documents retrieved.
    pub documents: u32,
    /// Best document score.
    pub top_score: Option<f64>,
    /// Tool calls with their durations.
    pub tools: Vec<ToolTiming>,
    /// Low-cardinality root and resource attributes.
    pub attributes: BTreeMap<String, String>,
    /// The eval and feedback scores judging this request.
    pub scores: Vec<ScoreMark>,
    /// Cues, one bit per [`Cue`].
    pub cues: u16,
    /// Whether the request counts as failing (loud or silent).
    pub suspect: bool,
    loud: u16,
    language_mismatch: Option<bool>,
    cites: Option<bool>,
    retrievals: u32,
    question_key: u64,
    skeleton: Option<u64>,
}

impl Request {
    /// Whether a cue holds.
    pub fn has(&self, cue: Cue) -> bool {
        self.cues & cue.bit() != 0
    }

    /// Whether the request failed loudly: an error, a failed tool call, a truncation, a
    /// content filter, a refusal or a failing score.
    pub fn failed_loudly(&self) -> bool {
        self.loud != 0
    }

    /// Whether the request abstains: the traffic's generic answer, or no document found,
    /// given short or uncited (the module's rule; decided by [`mark_suspects`]).
    pub fn abstains(&self) -> bool {
        (self.has(Cue::Repeated) || self.has(Cue::NoDocuments)) && (self.has(Cue::Short) || self.has(Cue::NoCitation))
    }

    /// The cues that hold.
    pub fn cue_names(&self) -> Vec<&'static str> {
        Cue::ALL.iter().filter(|c| self.has(**c)).map(|c| c.as_str()).collect()
    }

    /// A request made up for tests: a start, a service, version values, and whether it is suspect.
    #[cfg(test)]
    pub(crate) fn synthetic(
        start: u64,
        service: &str,
        versions: &[(VersionDimension, &str)],
        suspect: bool,
    ) -> Request {
        let mut summary = TraceSummary::new([0; 16]);
        summary.trace_id[..8].copy_from_slice(&start.to_be_bytes());
        summary.start_unix_nano = start;
        summary.end_unix_nano = start + 1_000_000;
        summary.service = service.to_string();
        for (dim, value) in versions {
            summary.versions.entry(*dim).or_default().push(value.to_string());
        }
        let mut r = Request::from_summary(summary, Vec::new());
        r.suspect = suspect;
        r
    }

    /// Sets the cues (from [`Norms::cues`]) and the suspect mark they make.
    pub fn mark(&mut self, cues: u16) {
        self.cues = cues;
        let has = |c: Cue| cues & c.bit() != 0;
        let weak = has(Cue::Short) || has(Cue::NoCitation);
        let silent = has(Cue::NoDocuments)
            || has(Cue::LanguageMismatch)
            || (has(Cue::LowTopScore) && weak)
            || (has(Cue::Repeated) && weak)
            || (has(Cue::Short) && has(Cue::NoCitation));
        self.suspect = self.loud != 0 || silent;
    }

    /// A request made up for tests, with a latency.
    #[cfg(test)]
    pub(crate) fn synthetic_with_latency(ms: f64) -> Request {
        let mut r = Request::synthetic(1, "svc", &[], false);
        r.latency_ms = ms;
        r
    }

    /// The request of a trace summary and the scores judging it, its silent cues not yet
    /// decided (see [`Norms`]).
    pub fn from_summary(summary: TraceSummary, scores: Vec<ScoreMark>) -> Request {
        let failing_score = scores.iter().any(|s| s.failing);
        let signals = summary.signals;
        let mut loud = 0u16;
        if summary.error_count > 0 {
            loud |= Cue::Error.bit();
        }
        if signals.tool_errors > 0 {
            loud |= Cue::ToolError.bit();
        }
        for reason in &summary.finish_reasons {
            match reason.as_str() {
                "length" | "max_tokens" | "MAX_TOKENS" => loud |= Cue::Truncated.bit(),
                "content_filter" | "safety" | "SAFETY" | "refusal" => loud |= Cue::ContentFilter.bit(),
                _ => {}
            }
        }
        if signals.hit_max_tokens {
            loud |= Cue::Truncated.bit();
        }
        if summary.answer.as_deref().is_some_and(is_refusal_text) {
            loud |= Cue::Refusal.bit();
        }
        if failing_score {
            loud |= Cue::FailingScore.bit();
        }
        let question_key = hash_of(summary.question.as_deref().unwrap_or(""));
        let skeleton = summary.answer.as_deref().map(skeleton);
        Request {
            request_id: summary.request_id.clone().unwrap_or_else(|| hex::encode(summary.trace_id)),
            trace_id: summary.trace_id,
            start: summary.start_unix_nano,
            latency_ms: summary.end_unix_nano.saturating_sub(summary.start_unix_nano) as f64 / 1e6,
            service: summary.service,
            user: summary.user_id,
            versions: summary.versions,
            question_language: signals.question_language,
            question_chars: signals.question_chars,
            answer_chars: signals.answer_chars,
            input_tokens: summary.input_tokens,
            output_tokens: summary.output_tokens,
            cost: crate::cost::prices().cost(&summary.usage_by_model),
            documents: signals.documents,
            top_score: signals.top_score,
            tools: signals.tool_timings,
            attributes: signals.attributes,
            cues: loud,
            suspect: false,
            loud,
            language_mismatch: signals.language_mismatch,
            cites: if signals.doc_ids.is_empty() || signals.answer_chars == 0 {
                None
            } else {
                Some(signals.doc_ids.iter().any(|id| signals.answer_refs.iter().any(|r| r == id)))
            },
            scores,
            retrievals: signals.retrievals,
            question_key,
            skeleton,
        }
    }
}

/// Every request starting in `[since, until)`, oldest first, with its scores joined; and
/// whether the scan stopped at [`MAX_REQUESTS`]. Summaries are read and decoded on every
/// core: that is most of a large triage's time.
pub fn scan(store: &Store, tenant: TenantId, since: u64, until: u64) -> Result<(Vec<Request>, bool), QueryError> {
    let ids = store.trace_ids_between(tenant, since, until, MAX_REQUESTS + 1)?;
    let truncated = ids.len() > MAX_REQUESTS;
    let ids = &ids[..ids.len().min(MAX_REQUESTS)];
    Ok((read_requests(store, tenant, since, ids)?, truncated))
}

/// As [`scan`], but a window of more than [`MAX_REQUESTS`] is read as a sample of that many,
/// by trace id, across the whole window (not its oldest part); the flag says it was sampled.
/// Shares measured on it are unbiased, and tests on its counts are valid at its size.
pub fn scan_sampled(
    store: &Store,
    tenant: TenantId,
    since: u64,
    until: u64,
) -> Result<(Vec<Request>, bool), QueryError> {
    let mut ids = store.trace_ids_between(tenant, since, until, usize::MAX)?;
    let sampled = ids.len() > MAX_REQUESTS;
    if sampled {
        ids.sort_unstable_by_key(|id| {
            u64::from_be_bytes([id[8], id[9], id[10], id[11], id[12], id[13], id[14], id[15]])
        });
        ids.truncate(MAX_REQUESTS);
    }
    Ok((read_requests(store, tenant, since, &ids)?, sampled))
}

/// The requests of `ids` with their scores (judged from `since` on), oldest first.
fn read_requests(store: &Store, tenant: TenantId, since: u64, ids: &[TraceId]) -> Result<Vec<Request>, QueryError> {
    let judged = ScoresByTarget::read(store, tenant, since)?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4);
    let chunk = ids.len().div_ceil(threads).max(1);
    let parts: Vec<Result<Vec<Request>, QueryError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = ids
            .chunks(chunk)
            .map(|part| {
                let judged = &judged;
                scope.spawn(move || -> Result<Vec<Request>, QueryError> {
                    let mut out = Vec::with_capacity(part.len());
                    for id in part {
                        let Some(s) = store.trace_summary(tenant, id)? else { continue };
                        let scores = judged.of(&s);
                        out.push(Request::from_summary(s, scores));
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(QueryError::ReadAborted("a triage scan thread panicked".into()))))
            .collect()
    });
    let mut out = Vec::with_capacity(ids.len());
    for part in parts {
        out.extend(part?);
    }
    out.sort_by_key(|r| (r.start, r.trace_id));
    Ok(out)
}

/// One request by trace id, with the scores judging it (by its trace id or a request id),
/// its silent cues undecided; `None` when the trace is gone.
pub fn request_of(store: &Store, tenant: TenantId, trace: &TraceId) -> Result<Option<Request>, QueryError> {
    let Some(summary) = store.trace_summary(tenant, trace)? else { return Ok(None) };
    let mut targets: Vec<String> = vec![hex::encode(trace)];
    targets.extend(summary.request_ids.iter().cloned());
    let mut marks = Vec::new();
    for target in &targets {
        for score in store.scores_for(tenant, target)? {
            if let Some(mark) = score_mark(score.label.as_deref(), score.value, &score.name) {
                marks.push(mark);
            }
        }
    }
    // Scores of the trace's spans are stored under `trace/span`; they judge the request too.
    let trace_hex = hex::encode(trace);
    for span in store.span_ids(tenant, trace)? {
        let key = tracehound_store::model::span_score_key(&trace_hex, &hex::encode(span));
        for score in store.scores_for(tenant, &key)? {
            if let Some(mark) = score_mark(score.label.as_deref(), score.value, &score.name) {
                marks.push(mark);
            }
        }
    }
    Ok(Some(Request::from_summary(summary, marks)))
}

/// A score as triage reads it; `None` for one with neither a label nor a value.
fn score_mark(label: Option<&str>, value: Option<f64>, name: &str) -> Option<ScoreMark> {
    let failing = match (label, value) {
        (Some(label), _) => FAILING_LABELS.contains(&label.trim().to_lowercase().as_str()),
        (None, Some(value)) => (0.0..0.5).contains(&value),
        (None, None) => return None,
    };
    Some(ScoreMark { name: name.to_string(), value, failing })
}

/// The scores from a moment on, by the ids of what they judge: a trace (lower-case hex) or
/// a request id. Session scores judge no one request and are left out.
struct ScoresByTarget {
    scores: Vec<ScoreMark>,
    by_id: HashMap<String, Vec<usize>>,
}

impl ScoresByTarget {
    fn read(store: &Store, tenant: TenantId, since: u64) -> Result<ScoresByTarget, QueryError> {
        let mut out = ScoresByTarget { scores: Vec::new(), by_id: HashMap::new() };
        for score in store.scores_between(tenant, since, u64::MAX)? {
            let Some(mark) = score_mark(score.label.as_deref(), score.value, &score.name) else { continue };
            let target = match score.target_kind {
                ScoreTargetKind::Span => match &score.trace_id {
                    Some(trace) => trace.to_ascii_lowercase(),
                    None => continue,
                },
                ScoreTargetKind::Session => continue,
                _ => score.target_id.clone(),
            };
            out.by_id.entry(target).or_default().push(out.scores.len());
            out.scores.push(mark);
        }
        Ok(out)
    }

    /// The scores judging the request of `summary`, each once.
    fn of(&self, summary: &TraceSummary) -> Vec<ScoreMark> {
        let mut found: Vec<usize> = Vec::new();
        let hex_id = hex::encode(summary.trace_id);
        let ids = std::iter::once(&hex_id).chain(summary.request_ids.iter());
        for id in ids {
            let hits = self.by_id.get(id).or_else(|| self.by_id.get(&id.to_ascii_lowercase()));
            found.extend(hits.into_iter().flatten());
        }
        found.sort_unstable();
        found.dedup();
        found.into_iter().map(|i| self.scores[i].clone()).collect()
    }
}

/// Decides every request's silent cues and suspect mark from the window's own traffic.
pub fn mark_suspects(requests: &mut [Request]) {
    let norms = Norms::of(requests);
    let cues: Vec<u16> = requests.iter().map(|r| norms.cues(r)).collect();
    for (r, cues) in requests.iter_mut().zip(cues) {
        r.mark(cues);
    }
}

/// What the silent cues of a stretch of traffic are judged against: per service, the
/// short-answer and low-retrieval-score thresholds and whether it usually cites; and which
/// answer skeletons answered many different questions.
#[derive(Debug, Clone, Default)]
pub struct Norms {
    by_service: HashMap<String, ServiceNorms>,
    questions_per_skeleton: HashMap<u64, HashSet<u64>>,
    repeat_floor: usize,
}

impl Norms {
    /// The norms of `requests`.
    pub fn of(requests: &[Request]) -> Norms {
        let mut by_service: HashMap<String, ServiceNorms> = HashMap::new();
        let mut samples: HashMap<&str, Samples> = HashMap::new();
        for r in requests.iter() {
            let s = samples.entry(r.service.as_str()).or_default();
            if r.answer_chars > 0 {
                s.0.push(f64::from(r.answer_chars));
            }
            if let Some(top) = r.top_score {
                s.1.push(top);
            }
            if let Some(cites) = r.cites {
                s.2 += 1;
                s.3 += usize::from(cites);
            }
        }
        for (service, (mut answers, mut tops, with_docs, citing)) in samples {
            let answer_median = median(&mut answers);
            let top_median = median(&mut tops);
            let top_mad = top_median.map(|m| {
                let mut deviations: Vec<f64> = tops.iter().map(|t| (t - m).abs()).collect();
                median(&mut deviations).unwrap_or(0.0).max(0.01)
            });
            by_service.insert(
                service.to_string(),
                ServiceNorms {
                    short_below: answer_median.map(|m| 0.35 * m),
                    low_top_below: top_median.zip(top_mad).map(|(m, mad)| m - 6.0 * mad),
                    cites: with_docs >= 20 && citing as f64 >= 0.8 * with_docs as f64,
                },
            );
        }
        let mut questions_per_skeleton: HashMap<u64, HashSet<u64>> = HashMap::new();
        for r in requests.iter() {
            if let Some(skeleton) = r.skeleton {
                questions_per_skeleton.entry(skeleton).or_default().insert(r.question_key);
            }
        }
        Norms { by_service, questions_per_skeleton, repeat_floor: 5usize.max(requests.len() / 200) }
    }

    /// The cues of one request, loud and silent, judged against these norms.
    pub fn cues(&self, r: &Request) -> u16 {
        let norms = self.by_service.get(r.service.as_str());
        let mut cues = r.loud;
        if r.retrievals > 0 && r.documents == 0 {
            cues |= Cue::NoDocuments.bit();
        }
        if let (Some(top), Some(below)) = (r.top_score, norms.and_then(|n| n.low_top_below)) {
            if top < below {
                cues |= Cue::LowTopScore.bit();
            }
        }
        if let Some(below) = norms.and_then(|n| n.short_below) {
            if f64::from(r.answer_chars) < below {
                cues |= Cue::Short.bit();
            }
        }
        let repeated = r.skeleton.and_then(|s| self.questions_per_skeleton.get(&s));
        if repeated.is_some_and(|q| q.len() >= self.repeat_floor) {
            cues |= Cue::Repeated.bit();
        }
        if norms.is_some_and(|n| n.cites) && r.cites == Some(false) {
            cues |= Cue::NoCitation.bit();
        }
        if r.language_mismatch == Some(true) {
            cues |= Cue::LanguageMismatch.bit();
        }
        cues
    }
}

/// One service's answer lengths, top scores, answers with documents, and those citing one.
type Samples = (Vec<f64>, Vec<f64>, usize, usize);

#[derive(Debug, Clone)]
struct ServiceNorms {
    short_below: Option<f64>,
    low_top_below: Option<f64>,
    cites: bool,
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}

fn hash_of(text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

/// An answer with what varies per request masked: case, digits, bracketed citations,
/// spacing. Two answers with one skeleton say the same thing.
fn skeleton(answer: &str) -> u64 {
    let mut out = String::with_capacity(answer.len());
    let mut depth = 0usize;
    let mut last_space = true;
    for c in answer.chars().flat_map(char::to_lowercase) {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            c if c.is_ascii_digit() => {
                if !out.ends_with('#') {
                    out.push('#');
                }
                last_space = false;
            }
            c if c.is_whitespace() => {
                if !last_space {
                    out.push(' ');
                }
                last_space = true;
            }
            c => {
                out.push(c);
                last_space = false;
            }
        }
    }
    hash_of(out.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_that_differ_only_in_numbers_and_citations_share_a_skeleton() {
        assert_eq!(skeleton("Order 123 ships  [doc:kb-1] today."), skeleton("order 98 ships [doc:kb-7] today."));
        assert_ne!(skeleton("Order 123 ships today."), skeleton("Order 123 was cancelled."));
    }
}
