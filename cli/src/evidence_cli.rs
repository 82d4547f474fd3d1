//! The CLI commands `failing` and `postmortem`: their arguments, and their runs against the API.

use std::io::Write;

use crate::cli::DEFAULT_API_URL;
use crate::client::{ApiClient, CliError};
use crate::text::{one_line, to_stdout};
use tracehound_query::failing::FailingAnswer;

/// `failing`: distinct failing requests with their context, worst first.
#[derive(Debug, Clone, clap::Args)]
pub struct FailingArgs {
    /// Oldest start: an age (6h, 2d) or an RFC 3339 timestamp.
    #[arg(long, default_value = "24h")]
    pub since: String,
    /// Start before which: an age or an RFC 3339 timestamp. Default: now.
    #[arg(long)]
    pub until: Option<String>,
    /// Examples at most.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: u16,
    /// Reasons that count, comma-separated (score, negative_feedback, error, length, content_filter, refusal).
    #[arg(long)]
    pub reasons: Option<String>,
    /// Score thresholds, comma-separated NAME<NUMBER, e.g. `helpfulness<0.5`.
    #[arg(long)]
    pub score: Option<String>,
    /// Print the API's JSON answer.
    #[arg(long, conflicts_with = "jsonl")]
    pub json: bool,
    /// Print one example per line (JSON Lines), for a regression dataset.
    #[arg(long)]
    pub jsonl: bool,
    /// Base URL of the Tracehound API.
    #[arg(long, env = "TRACEHOUND_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
}

/// `postmortem`: the evidence bundle of an incident window, Markdown by default.
#[derive(Debug, Clone, clap::Args)]
pub struct PostmortemArgs {
    /// Incident start: an age or an RFC 3339 timestamp (default: the last 24 hours, as `failing`).
    #[arg(long, default_value = "24h")]
    pub since: String,
    /// Incident end. Default: now.
    #[arg(long)]
    pub until: Option<String>,
    /// Baseline start. Default: the same length just before the incident.
    #[arg(long)]
    pub baseline_since: Option<String>,
    /// Baseline end. Default: the incident's start.
    #[arg(long)]
    pub baseline_until: Option<String>,
    /// Failing requests shown as evidence.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(1..=10))]
    pub limit: u8,
    /// Print the API's JSON answer instead of Markdown.
    #[arg(long)]
    pub json: bool,
    /// Base URL of the Tracehound API.
    #[arg(long, env = "TRACEHOUND_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
}

/// Runs `failing`, writing to stdout.
pub fn failing(args: &FailingArgs) -> Result<(), CliError> {
    to_stdout(|out| run_failing(args, out))
}

/// Runs `postmortem`, writing to stdout.
pub fn postmortem(args: &PostmortemArgs) -> Result<(), CliError> {
    to_stdout(|out| run_postmortem(args, out))
}

/// Fetches failing examples and writes them as text, JSON or JSON Lines.
pub fn run_failing(args: &FailingArgs, out: &mut impl Write) -> Result<(), CliError> {
    let limit = args.limit.to_string();
    let mut query = vec![("since", args.since.as_str()), ("limit", limit.as_str())];
    let optional = [("until", &args.until), ("reasons", &args.reasons), ("score", &args.score)];
    for (name, value) in optional {
        if let Some(value) = value {
            query.push((name, value.as_str()));
        }
    }
    if args.jsonl {
        query.push(("format", "jsonl"));
    }
    let body = ApiClient::new(&args.api_url)?.get_text("failing", &query)?;
    if args.json || args.jsonl {
        out.write_all(body.as_bytes())?;
        if !body.ends_with('\n') {
            writeln!(out)?;
        }
        return Ok(());
    }
    let answer: FailingAnswer = serde_json::from_str(&body).map_err(|e| CliError::Decode(e.to_string()))?;
    writeln!(
        out,
        "{} failing of {} requests from {} to {}; showing {}",
        answer.failing_total,
        answer.scanned,
        answer.window.since,
        answer.window.until,
        answer.examples.len()
    )?;
    for e in &answer.examples {
        writeln!(out)?;
        writeln!(
            out,
            "{}  {}  session {}  user {}",
            e.start_time,
            one_line(&e.request_id),
            one_line(e.session_id.as_deref().unwrap_or("-")),
            one_line(e.user_id.as_deref().unwrap_or("-"))
        )?;
        for r in &e.reasons {
            writeln!(out, "  {}: {}", r.kind, one_line(&r.detail))?;
        }
        if let Some(q) = &e.summary.question {
            writeln!(out, "  question: {}", one_line(q))?;
        }
        if let Some(a) = &e.summary.answer {
            writeln!(out, "  answer:   {}", one_line(a))?;
        }
    }
    if answer.truncated {
        writeln!(out, "\n(the window holds more requests than one scan reads; narrow it)")?;
    }
    Ok(())
}

/// Fetches the postmortem bundle and writes it as Markdown or JSON.
pub fn run_postmortem(args: &PostmortemArgs, out: &mut impl Write) -> Result<(), CliError> {
    let limit = args.limit.to_string();
    let mut query = vec![("since", args.since.as_str()), ("limit", limit.as_str())];
    let optional =
        [("until", &args.until), ("baseline_since", &args.baseline_since), ("baseline_until", &args.baseline_until)];
    for (name, value) in optional {
        if let Some(value) = value {
            query.push((name, value.as_str()));
        }
    }
    query.push(("format", if args.json { "json" } else { "md" }));
    let body = ApiClient::new(&args.api_url)?.get_text("postmortem", &query)?;
    out.write_all(body.as_bytes())?;
    if !body.ends_with('\n') {
        writeln!(out)?;
    }
    Ok(())
}
