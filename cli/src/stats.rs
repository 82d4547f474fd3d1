//! `tracehound stats`: what the server stores and how its retention and index are doing.

use std::io::Write;

use tracehound_query::views::Stats;

use crate::cli::DEFAULT_API_URL;
use crate::client::{ApiClient, CliError};
use crate::text::to_stdout;

/// `stats`: what the server stores and how its retention and index are doing.
#[derive(Debug, Clone, clap::Args)]
pub struct StatsArgs {
    /// Print the API's JSON answer.
    #[arg(long)]
    pub json: bool,
    /// Base URL of the Tracehound API.
    #[arg(long, env = "TRACEHOUND_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
}

/// Runs `stats`, writing to stdout.
pub fn run(args: &StatsArgs) -> Result<(), CliError> {
    to_stdout(|out| run_stats(args, out))
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Fetches the stats and writes them as text or JSON.
pub fn run_stats(args: &StatsArgs, out: &mut impl Write) -> Result<(), CliError> {
    let body = ApiClient::new(&args.api_url)?.get_text("stats", &[])?;
    if args.json {
        writeln!(out, "{}", body.trim_end())?;
        return Ok(());
    }
    let s: Stats = serde_json::from_str(&body).map_err(|e| CliError::Decode(e.to_string()))?;
    writeln!(out, "requests  {}", s.requests)?;
    writeln!(out, "spans     {}", s.spans)?;
    writeln!(out, "sessions  {}", s.sessions)?;
    writeln!(out, "logs      {}", s.logs)?;
    writeln!(out, "oldest    {}", s.oldest_start.as_deref().unwrap_or("-"))?;
    writeln!(out, "disk      {} store + {} index  ({})", mib(s.disk.store_bytes), mib(s.disk.index_bytes), s.data_dir)?;
    let mut parts: Vec<_> = s.disk.parts.iter().filter(|(_, b)| **b > 0).collect();
    parts.sort_by(|a, b| b.1.cmp(a.1));
    for (part, bytes) in parts {
        writeln!(out, "  {part:<12} {}", mib(*bytes))?;
    }
    match &s.index {
        Some(i) => writeln!(
            out,
            "index     {} documents, {} changes behind, last commit {}",
            i.documents,
            i.changes_behind,
            i.seconds_since_commit.map_or("never".to_string(), |secs| format!("{secs:.1} s ago"))
        )?,
        None => writeln!(out, "index     none")?,
    }
    match &s.retention {
        Some(r) => {
            let age = r.max_age_days.map_or("unlimited".to_string(), |d| format!("{d} days"));
            let budget = r.disk_budget_bytes.map_or("unlimited".to_string(), mib);
            writeln!(out, "retention max age {age}, disk budget {budget}, every {} s", r.interval_secs)?;
            writeln!(
                out,
                "  last pass {}: {} deleted, {} held; {} deleted since start",
                r.last_pass_at.as_deref().unwrap_or("-"),
                r.last_pass_deleted,
                r.last_pass_held,
                r.deleted_since_start
            )?;
            if let Some(error) = &r.last_error {
                writeln!(out, "  last error: {error}")?;
            }
        }
        None => writeln!(out, "retention no pass has run")?,
    }
    writeln!(out, "holds     {}", s.holds)?;
    Ok(())
}
