//! The search route's work: reading its parameters, asking the index, and assembling each
//! hit's summary and the places it matched.

use serde::Deserialize;
use tracehound_store::search::{highlight, SearchIndex, SearchPage, SearchRequest, Sort};
use tracehound_store::{Store, TenantId};
use utoipa::IntoParams;

use crate::error::QueryError;
use crate::params::{non_empty, parse_limit};
use crate::search_syntax::parse_query;
use crate::time_range::parse_time_bound;
use crate::timestamp::format_rfc3339;
use crate::views::{spans_with_logs_merged, RequestSummary, SearchMatch, SearchQueryInfo, SearchResult, SearchResults};

/// Results per page when `limit` is absent.
pub const DEFAULT_LIMIT: usize = 20;
/// Results per page at most: each result loads its whole trace to find the matches.
pub const MAX_LIMIT: usize = 200;
/// Matches shown per result at most.
pub const MAX_MATCHES: usize = 5;

/// The search's query string, as sent; [`SearchQuery::parse`] reads it.
///
/// Every field is text so a bad value is answered with our own error naming the parameter.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The query: words, `"phrases"`, `-exclusions`, `field:value` filters, `since:` / `until:`.
    // An Option so that a missing `q` gets our error naming it, not the extractor's; the
    // document still says it is required.
    #[param(required = true, value_type = String)]
    pub q: Option<String>,
    /// Oldest start searched: RFC 3339 or an age like `2h`; the later of this and the query's `since:` applies.
    pub since: Option<String>,
    /// Start before which to search; the earlier of this and the query's `until:` applies.
    pub until: Option<String>,
    /// Results per page, 1 to 200. Default 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `relevance` (default) or `time` (newest first).
    pub sort: Option<String>,
}

/// Reads the parameters and the query text into the index's request for `tenant`; ages
/// count back from `now` (Unix ns).
pub fn parse_search(params: &SearchParams, tenant: TenantId, now: u64) -> Result<SearchRequest, QueryError> {
    let invalid = |name: &'static str, reason: String| QueryError::InvalidParameter { name, reason };
    let parsed = parse_query(params.q.as_deref().unwrap_or(""))?;
    let bound = |name: &'static str, text: Option<&str>| -> Result<Option<u64>, QueryError> {
        text.map(|t| parse_time_bound(t, now).map_err(|e| invalid(name, e.to_string()))).transpose()
    };
    // Both the parameters and the text may bound the time; both must hold, so the narrower wins.
    let since = bound("since", non_empty(&params.since))?.into_iter().chain(bound("q", parsed.since.as_deref())?).max();
    let until = bound("until", non_empty(&params.until))?.into_iter().chain(bound("q", parsed.until.as_deref())?).min();
    if let (Some(since), Some(until)) = (since, until) {
        if since >= until {
            return Err(invalid("since", "must be earlier than until".into()));
        }
    }
    let limit = parse_limit(&params.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let sort = match non_empty(&params.sort) {
        None | Some("relevance") => Sort::Relevance,
        Some("time") => Sort::Time,
        Some(other) => return Err(invalid("sort", format!("{other:?} is neither relevance nor time"))),
    };
    let cursor = non_empty(&params.cursor).map(str::to_string);
    Ok(SearchRequest { tenant, clauses: parsed.clauses, since, until, sort, limit, cursor })
}

/// Runs a search and assembles its page: each hit's summary and where it matched.
pub fn search(store: &Store, index: &SearchIndex, query: &SearchRequest) -> Result<SearchResults, QueryError> {
    let tenant = query.tenant;
    let page: SearchPage = index.search(query)?;
    let mut results = Vec::with_capacity(page.hits.len());
    for hit in &page.hits {
        // The index trails the store; a trace it still names may have been deleted since.
        let Some(trace) = store.trace(tenant, &hit.trace_id)? else { continue };
        let request = RequestSummary::from_trace(&trace.summary);
        // Highlight what the request view shows, where event-only instrumentations' messages sit in logs.
        let spans = spans_with_logs_merged(trace.spans, trace.logs);
        let matches = highlight(&spans, &query.clauses)
            .into_iter()
            .take(MAX_MATCHES)
            .map(|m| {
                let span = spans.iter().find(|s| s.span_id == m.span_id);
                SearchMatch {
                    span_id: hex::encode(m.span_id),
                    span_kind: span.map(|s| s.kind.as_str()).unwrap_or_default().to_string(),
                    span_name: span.map(|s| s.name.clone()).unwrap_or_default(),
                    field: m.field.as_str().to_string(),
                    snippet: m.snippet,
                    highlights: m.highlights,
                }
            })
            .collect();
        results.push(SearchResult { request, score: hit.score, matches });
    }
    Ok(SearchResults {
        results,
        total: page.total,
        next_cursor: page.next_cursor,
        index_committed_at: page.index_committed_at.map(format_rfc3339),
        query: SearchQueryInfo { clauses: query.clauses.len() },
    })
}

#[cfg(test)]
mod tests {
    use tracehound_store::search::{Clause, FilterField};

    use super::*;
    use crate::search_syntax::SyntaxError;

    const NOW: u64 = 1_700_000_000_000_000_000;
    const HOUR: u64 = 3_600_000_000_000;

    fn params(pairs: &[(&str, &str)]) -> SearchParams {
        let mut p = SearchParams::default();
        for (name, value) in pairs {
            let slot = match *name {
                "q" => &mut p.q,
                "since" => &mut p.since,
                "until" => &mut p.until,
                "limit" => &mut p.limit,
                "cursor" => &mut p.cursor,
                "sort" => &mut p.sort,
                other => panic!("unknown parameter {other}"),
            };
            *slot = Some(value.to_string());
        }
        p
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<SearchRequest, QueryError> {
        parse_search(&params(pairs), TenantId::DEFAULT, NOW)
    }

    fn error_of(pairs: &[(&str, &str)]) -> String {
        match parse(pairs) {
            Ok(query) => panic!("{pairs:?} parsed as {query:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn without_options_it_ranks_by_relevance_twenty_at_a_time_over_all_time() {
        let query = parse(&[("q", "refund")]).expect("parses");
        assert_eq!(
            (query.sort, query.limit, query.since, query.until, query.cursor),
            (Sort::Relevance, 20, None, None, None)
        );
    }

    #[test]
    fn the_query_text_becomes_the_clauses() {
        let query = parse(&[("q", "status:error")]).expect("parses");
        assert_eq!(
            query.clauses,
            [Clause::Filter { field: FilterField::Status, value: "error".into(), negated: false }]
        );
    }

    #[test]
    fn the_later_since_of_parameter_and_text_applies() {
        let query = parse(&[("q", "refund since:2h"), ("since", "5h")]).expect("parses");
        assert_eq!(query.since, Some(NOW - 2 * HOUR));
        let query = parse(&[("q", "refund since:5h"), ("since", "2h")]).expect("parses");
        assert_eq!(query.since, Some(NOW - 2 * HOUR));
    }

    #[test]
    fn the_earlier_until_of_parameter_and_text_applies() {
        let query = parse(&[("q", "refund until:1h"), ("until", "3h")]).expect("parses");
        assert_eq!(query.until, Some(NOW - 3 * HOUR));
    }

    #[test]
    fn bounds_that_leave_no_time_are_refused() {
        assert_eq!(error_of(&[("q", "refund until:3h"), ("since", "1h")]), "invalid since: must be earlier than until");
    }

    #[test]
    fn time_sort_is_chosen_by_name() {
        assert_eq!(parse(&[("q", "x"), ("sort", "time")]).map(|q| q.sort).ok(), Some(Sort::Time));
    }

    #[test]
    fn an_unknown_sort_is_refused() {
        assert_eq!(
            error_of(&[("q", "x"), ("sort", "newest")]),
            "invalid sort: \"newest\" is neither relevance nor time"
        );
    }

    #[test]
    fn a_limit_beyond_two_hundred_is_refused() {
        assert!(error_of(&[("q", "x"), ("limit", "201")]).starts_with("invalid limit:"));
        assert_eq!(parse(&[("q", "x"), ("limit", "200")]).map(|q| q.limit).ok(), Some(200));
    }

    #[test]
    fn an_unreadable_since_parameter_is_refused_naming_it() {
        assert!(error_of(&[("q", "x"), ("since", "yesterday")]).starts_with("invalid since:"));
    }

    #[test]
    fn a_missing_query_is_a_syntax_error() {
        assert!(matches!(parse(&[]), Err(QueryError::QuerySyntax(SyntaxError { position: 0, .. }))));
    }

    #[test]
    fn the_cursor_is_passed_to_the_index_as_given() {
        let query = parse(&[("q", "x"), ("cursor", "abc")]).expect("parses");
        assert_eq!(query.cursor.as_deref(), Some("abc"));
    }
}
