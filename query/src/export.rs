//! Which stored requests an export holds: those started in a time range, narrowed by a
//! search when one is given, oldest first so that an import replays them in order.

use serde::Deserialize;
use tracehound_store::model::TraceId;
use tracehound_store::search::SearchIndex;
use tracehound_store::{Store, TenantId};
use utoipa::IntoParams;

use crate::error::QueryError;
use crate::failing::Window;
use crate::params::non_empty;
use crate::search::{parse_search, SearchParams, MAX_LIMIT};
use crate::timestamp::format_rfc3339;

/// Requests one export holds at most; the answer says when there were more.
pub const MAX_EXPORT_REQUESTS: usize = 100_000;
/// The default start of an export: the last 24 hours, as `failing`.
const DEFAULT_AGE: u64 = 24 * 3_600 * 1_000_000_000;

/// Query string of `GET /api/v1/export`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// Only requests matching this search (the query language of `/api/v1/search`).
    pub q: Option<String>,
    /// Oldest start: RFC 3339 or an age. Default: 24 hours ago.
    pub since: Option<String>,
    /// Start before which: RFC 3339 or an age. Default: now.
    pub until: Option<String>,
}

/// The requests chosen, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSelection {
    /// Their traces.
    pub trace_ids: Vec<TraceId>,
    /// True when more matched than [`MAX_EXPORT_REQUESTS`]: the newest were left out.
    pub truncated: bool,
}

/// Chooses the requests of an export; a search needs `index`.
pub fn select(
    store: &Store,
    index: Option<&SearchIndex>,
    tenant: TenantId,
    params: &ExportParams,
    now: u64,
) -> Result<ExportSelection, QueryError> {
    let Window { since, until } = Window::parse(params.since.as_deref(), params.until.as_deref(), now, DEFAULT_AGE)?;
    let Some(q) = non_empty(&params.q) else {
        let mut trace_ids = store.trace_ids_between(tenant, since, until, MAX_EXPORT_REQUESTS + 1)?;
        let truncated = trace_ids.len() > MAX_EXPORT_REQUESTS;
        trace_ids.truncate(MAX_EXPORT_REQUESTS);
        return Ok(ExportSelection { trace_ids, truncated });
    };
    let index = index.ok_or(QueryError::SearchUnavailable)?;
    let search = SearchParams {
        q: Some(q.to_string()),
        since: Some(format_rfc3339(since)),
        until: Some(format_rfc3339(until)),
        limit: Some(MAX_LIMIT.to_string()),
        cursor: None,
        sort: Some("time".into()),
    };
    let mut request = parse_search(&search, tenant, now)?;
    // Newest first, page by page; reversed at the end.
    let mut hits: Vec<(u64, TraceId)> = Vec::new();
    let mut truncated = false;
    loop {
        let page = index.search(&request)?;
        hits.extend(page.hits.iter().map(|h| (h.start_unix_nano, h.trace_id)));
        if hits.len() > MAX_EXPORT_REQUESTS {
            truncated = true;
            break;
        }
        match page.next_cursor {
            Some(cursor) => request.cursor = Some(cursor),
            None => break,
        }
    }
    hits.truncate(MAX_EXPORT_REQUESTS);
    hits.sort();
    Ok(ExportSelection { trace_ids: hits.into_iter().map(|(_, id)| id).collect(), truncated })
}
