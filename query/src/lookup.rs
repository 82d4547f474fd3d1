//! Resolving identifiers to requests and sessions: blocking store reads, assembled into views.
//!
//! Every function here blocks on the store; the API calls them from `spawn_blocking`.

use tracehound_store::model::{Score, ScoreTargetKind, TraceId};
use tracehound_store::{Store, TenantId, TraceData};

use crate::error::QueryError;
use crate::views::{LookupAnswer, MatchedBy, RequestView, SessionView};

/// What a lookup of an unknown identifier reports it looked for.
const ANY_KIND: &str = "request, session or trace";

/// Reads a 32-hex trace id, in either case.
pub fn parse_trace_id(text: &str) -> Result<TraceId, QueryError> {
    as_trace_id(text).ok_or_else(|| QueryError::MalformedTraceId(text.to_string()))
}

fn as_trace_id(text: &str) -> Option<TraceId> {
    let mut id = [0u8; 16];
    hex::decode_to_slice(text, &mut id).ok()?;
    Some(id)
}

/// The request stored under a trace id.
pub fn request_by_trace(
    store: &Store,
    tenant: TenantId,
    trace_id: &TraceId,
) -> Result<Option<RequestView>, QueryError> {
    Ok(store.trace(tenant, trace_id)?.map(RequestView::from_trace))
}

/// The request a `/requests/{id}` path names: by request id (the earliest, when several
/// traces share it), else by trace id, since listings show the trace id of a request
/// that carried no request id.
pub fn request_by_id(store: &Store, tenant: TenantId, id: &str) -> Result<RequestView, QueryError> {
    if let Some(first) = requests_by_request_id(store, tenant, id)?.into_iter().next() {
        return Ok(first);
    }
    if let Some(trace_id) = as_trace_id(id) {
        if let Some(view) = request_by_trace(store, tenant, &trace_id)? {
            return Ok(view);
        }
    }
    Err(QueryError::NotFound { what: "request", id: id.to_string() })
}

/// Every request carrying a request id, oldest first.
pub fn requests_by_request_id(
    store: &Store,
    tenant: TenantId,
    request_id: &str,
) -> Result<Vec<RequestView>, QueryError> {
    let trace_ids: Vec<TraceId> =
        store.traces_by_request(tenant, request_id)?.into_iter().map(|summary| summary.trace_id).collect();
    load_in_time_order(store, tenant, trace_ids)
}

/// Every request holding a provider response id, oldest first.
pub fn requests_by_response_id(
    store: &Store,
    tenant: TenantId,
    response_id: &str,
) -> Result<Vec<RequestView>, QueryError> {
    let mut trace_ids: Vec<TraceId> = Vec::new();
    // One trace may hold the id on several spans (a span and its log record).
    for (trace_id, _span_id) in store.traces_by_response(tenant, response_id)? {
        if !trace_ids.contains(&trace_id) {
            trace_ids.push(trace_id);
        }
    }
    load_in_time_order(store, tenant, trace_ids)
}

/// A session with all of its requests, oldest first.
pub fn session(store: &Store, tenant: TenantId, session_id: &str) -> Result<Option<SessionView>, QueryError> {
    let Some((summary, traces)) = store.session(tenant, session_id)? else { return Ok(None) };
    let mut data = Vec::with_capacity(traces.len());
    for trace in traces {
        if let Some(trace) = store.trace(tenant, &trace.trace_id)? {
            data.push(trace);
        }
    }
    sort_by_start(&mut data);
    Ok(Some(SessionView::from_session(&summary, data)))
}

/// Resolves any identifier: trace id, request id, session id, then provider response id.
///
/// The first kind that matches wins; a 32-hex text that is no stored trace id is still
/// tried as the other kinds, since request ids are often hex too.
pub fn lookup(store: &Store, tenant: TenantId, id: &str) -> Result<LookupAnswer, QueryError> {
    if let Some(trace_id) = as_trace_id(id) {
        if let Some(view) = request_by_trace(store, tenant, &trace_id)? {
            return Ok(LookupAnswer::Request {
                matched: MatchedBy::TraceId,
                request: Box::new(view),
                requests: vec![],
            });
        }
    }
    let by_request = requests_by_request_id(store, tenant, id)?;
    if let Some(answer) = request_answer(MatchedBy::RequestId, by_request) {
        return Ok(answer);
    }
    if let Some(view) = session(store, tenant, id)? {
        return Ok(LookupAnswer::Session { matched: MatchedBy::SessionId, session: view });
    }
    let by_response = requests_by_response_id(store, tenant, id)?;
    if let Some(answer) = request_answer(MatchedBy::ResponseId, by_response) {
        return Ok(answer);
    }
    Err(QueryError::NotFound { what: ANY_KIND, id: id.to_string() })
}

/// Whether anything stored matches what a score judges yet. A score may arrive before its
/// target, so `false` is no error: it says the target is unknown so far (or mistyped).
pub fn score_target_known(store: &Store, tenant: TenantId, score: &Score) -> Result<bool, QueryError> {
    let id = score.target_id.as_str();
    let trace = |text: &str| -> Result<bool, QueryError> {
        match as_trace_id(text) {
            Some(trace_id) => Ok(store.trace_summary(tenant, &trace_id)?.is_some()),
            None => Ok(false),
        }
    };
    let request = || -> Result<bool, QueryError> { Ok(!store.traces_by_request(tenant, id)?.is_empty()) };
    let session = || -> Result<bool, QueryError> { Ok(store.session(tenant, id)?.is_some()) };
    let response = || -> Result<bool, QueryError> { Ok(!store.traces_by_response(tenant, id)?.is_empty()) };
    Ok(match score.target_kind {
        ScoreTargetKind::Span => match score.trace_id.as_deref().and_then(as_trace_id) {
            Some(trace_id) => store
                .trace(tenant, &trace_id)?
                .is_some_and(|data| data.spans.iter().any(|span| hex::encode(span.span_id) == id)),
            None => false,
        },
        ScoreTargetKind::Trace => trace(id)?,
        ScoreTargetKind::Request => request()?,
        ScoreTargetKind::Session => session()?,
        ScoreTargetKind::Response => response()?,
        ScoreTargetKind::Any => trace(id)? || request()? || session()? || response()?,
    })
}

/// `request` is the first match; `requests` lists them all only when there are several.
fn request_answer(matched: MatchedBy, mut views: Vec<RequestView>) -> Option<LookupAnswer> {
    match views.len() {
        0 => None,
        1 => views.pop().map(|only| LookupAnswer::Request { matched, request: Box::new(only), requests: vec![] }),
        _ => {
            let first = views.first().cloned()?;
            Some(LookupAnswer::Request { matched, request: Box::new(first), requests: views })
        }
    }
}

fn load_in_time_order(
    store: &Store,
    tenant: TenantId,
    trace_ids: Vec<TraceId>,
) -> Result<Vec<RequestView>, QueryError> {
    let mut data = Vec::with_capacity(trace_ids.len());
    for trace_id in trace_ids {
        if let Some(trace) = store.trace(tenant, &trace_id)? {
            data.push(trace);
        }
    }
    sort_by_start(&mut data);
    Ok(data.into_iter().map(RequestView::from_trace).collect())
}

fn sort_by_start(data: &mut [TraceData]) {
    data.sort_by_key(|d| (d.summary.start_unix_nano, d.summary.trace_id));
}
