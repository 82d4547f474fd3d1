//! The CLI commands `get`, `ls` and `search`: their arguments, and their runs against the API.
//!
//! The binary embeds [`GetArgs`], [`LsArgs`] and [`SearchArgs`] in its subcommands and calls
//! [`get`] / [`ls`] / [`search`]. All block, so call them outside any async runtime.

use std::io::{self, Write};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::{ApiClient, CliError, ListOptions, ListStatus, SearchOptions, SearchSort};
use crate::render::{render_lookup, render_request_table, render_search_results};
use crate::text::to_stdout;
use tracehound_query::views::{LookupAnswer, RequestList, SearchResults};

/// Where the API listens unless told otherwise.
pub const DEFAULT_API_URL: &str = "http://127.0.0.1:4320";

/// `get`: show a request, a session or a trace.
#[derive(Debug, Clone, clap::Args)]
pub struct GetArgs {
    /// Trace id, request id, session id or provider response id.
    pub id: String,
    /// Print the API's JSON answer instead of the text tree.
    #[arg(long)]
    pub json: bool,
    /// Base URL of the Tracehound API.
    #[arg(long, env = "TRACEHOUND_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
}

/// `ls`: list recent requests.
#[derive(Debug, Clone, clap::Args)]
pub struct LsArgs {
    /// Only requests started since: an age (30m, 48h, 7d) or an RFC 3339 timestamp.
    #[arg(long)]
    pub since: Option<String>,
    /// Only requests started before: an age or an RFC 3339 timestamp.
    #[arg(long)]
    pub until: Option<String>,
    /// Only requests of this service (`service.name`).
    #[arg(long)]
    pub service: Option<String>,
    /// Only requests of this status.
    #[arg(long, value_enum)]
    pub status: Option<ListStatus>,
    /// Only requests that carried this version value: `dimension=value`, e.g. `prompt_version=v8`.
    #[arg(long, value_name = "DIMENSION=VALUE")]
    pub version: Option<String>,
    /// Rows at most.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: u16,
    /// Continue where a previous listing ended (its `next_cursor`).
    #[arg(long)]
    pub cursor: Option<String>,
    /// Print the API's JSON answer instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Base URL of the Tracehound API.
    #[arg(long, env = "TRACEHOUND_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
}

/// `search`: find requests by what was said in them and by their properties.
#[derive(Debug, Clone, clap::Args)]
pub struct SearchArgs {
    /// The query: words, "exact phrases", -excluded, field:value (model:, status:, output:, ...), since:2h.
    /// A query may begin with `-` (`tracehound search -refund`): it is never taken for a flag.
    #[arg(allow_hyphen_values = true)]
    pub query: String,
    /// Only requests started since: an age (30m, 48h, 7d) or an RFC 3339 timestamp.
    #[arg(long)]
    pub since: Option<String>,
    /// Only requests started before: an age or an RFC 3339 timestamp.
    #[arg(long)]
    pub until: Option<String>,
    /// Results at most.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=200))]
    pub limit: u16,
    /// Order of the results.
    #[arg(long, value_enum, default_value_t = SearchSort::Relevance)]
    pub sort: SearchSort,
    /// Continue where a previous search ended (its `next_cursor`).
    #[arg(long)]
    pub cursor: Option<String>,
    /// Print the API's JSON answer instead of the text.
    #[arg(long)]
    pub json: bool,
    /// Base URL of the Tracehound API.
    #[arg(long, env = "TRACEHOUND_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
}

impl LsArgs {
    /// The filters and paging of the listing.
    pub fn options(&self) -> ListOptions {
        ListOptions {
            since: self.since.clone(),
            until: self.until.clone(),
            service: self.service.clone(),
            status: self.status,
            version: self.version.clone(),
            limit: usize::from(self.limit),
            cursor: self.cursor.clone(),
        }
    }
}

impl SearchArgs {
    /// The paging and time options of the search.
    pub fn options(&self) -> SearchOptions {
        SearchOptions {
            since: self.since.clone(),
            until: self.until.clone(),
            limit: usize::from(self.limit),
            sort: self.sort,
            cursor: self.cursor.clone(),
        }
    }
}

/// Runs `get`, writing to stdout.
pub fn get(args: &GetArgs) -> Result<(), CliError> {
    to_stdout(|out| run_get(&args.api_url, &args.id, args.json, out))
}

/// Runs `ls`, writing to stdout.
pub fn ls(args: &LsArgs) -> Result<(), CliError> {
    to_stdout(|out| run_ls(&args.api_url, &args.options(), args.json, out))
}

/// Runs `search`, writing to stdout.
pub fn search(args: &SearchArgs) -> Result<(), CliError> {
    to_stdout(|out| run_search(&args.api_url, &args.query, &args.options(), args.json, out))
}

/// Looks `id` up and writes the answer as pretty JSON or as a text tree.
pub fn run_get(api_url: &str, id: &str, json: bool, out: &mut impl Write) -> Result<(), CliError> {
    let answer = ApiClient::new(api_url)?.lookup(id)?;
    if json {
        return write_json(&answer, out);
    }
    render_lookup(&typed::<LookupAnswer>(answer)?, out)?;
    Ok(())
}

/// Lists recent requests, newest first, as pretty JSON or as a table.
pub fn run_ls(api_url: &str, options: &ListOptions, json: bool, out: &mut impl Write) -> Result<(), CliError> {
    let page = ApiClient::new(api_url)?.list_requests(options)?;
    if json {
        return write_json(&page, out);
    }
    render_request_table(&typed::<RequestList>(page)?, out)?;
    Ok(())
}

/// Searches, and writes the results as pretty JSON or as one text block per request.
pub fn run_search(
    api_url: &str,
    query: &str,
    options: &SearchOptions,
    json: bool,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let page = ApiClient::new(api_url)?.search(query, options)?;
    if json {
        return write_json(&page, out);
    }
    render_search_results(&typed::<SearchResults>(page)?, out)?;
    Ok(())
}

fn typed<T: DeserializeOwned>(value: Value) -> Result<T, CliError> {
    serde_json::from_value(value).map_err(|e| CliError::Decode(e.to_string()))
}

fn write_json(value: &Value, out: &mut impl Write) -> Result<(), CliError> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::from)?;
    writeln!(out)?;
    Ok(())
}
