//! The CLI commands `series` (one metric over time, as a sparkline per series) and
//! `alerts backtest` (what the alert rules would have fired over a stretch of history).

use std::io::Write;

use crate::cli::DEFAULT_API_URL;
use crate::client::{ApiClient, CliError};
use crate::text::{one_line, to_stdout};
use tracehound_query::monitor::backtest::BacktestAnswer;
use tracehound_query::monitor::series::{Series, SeriesAnswer};

/// `series`: one metric over time, split by a dimension.
#[derive(Debug, Clone, clap::Args)]
pub struct SeriesArgs {
    /// What to measure: suspect_share, failing_share, abstention_share, error_share (any
    /// <cue>_share), latency_p50, latency_p95, latency_p99, tokens, cost_per_request,
    /// score_mean:<name>, requests.
    #[arg(long, default_value = "suspect_share")]
    pub metric: String,
    /// One series per service, language, or version dimension value (prompt_version, ...).
    #[arg(long)]
    pub by: Option<String>,
    /// Window start: an age (6h, 2d) or an RFC 3339 timestamp.
    #[arg(long, default_value = "24h")]
    pub since: String,
    /// Window end. Default: now.
    #[arg(long)]
    pub until: Option<String>,
    /// Bucket width (5m, 1h). Default: the window over 120 buckets.
    #[arg(long)]
    pub step: Option<String>,
    /// Print the API's JSON answer.
    #[arg(long)]
    pub json: bool,
    /// Base URL of the Tracehound API.
    #[arg(long, env = "TRACEHOUND_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
}

/// `alerts`: the alert rules.
#[derive(Debug, Clone, clap::Args)]
pub struct AlertsArgs {
    /// What to do with them.
    #[command(subcommand)]
    pub command: AlertsCommand,
}

/// The `alerts` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum AlertsCommand {
    /// Replay the rules over stored history: what would have fired, when, and on what numbers.
    Backtest(BacktestArgs),
}

/// `alerts backtest`.
#[derive(Debug, Clone, clap::Args)]
pub struct BacktestArgs {
    /// First evaluation after: an age (24h) or an RFC 3339 timestamp.
    #[arg(long, default_value = "24h")]
    pub since: String,
    /// Last evaluation at or before. Default: now.
    #[arg(long)]
    pub until: Option<String>,
    /// Print the API's JSON answer.
    #[arg(long)]
    pub json: bool,
    /// Base URL of the Tracehound API.
    #[arg(long, env = "TRACEHOUND_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
}

/// Runs `series`, writing to stdout.
pub fn series(args: &SeriesArgs) -> Result<(), CliError> {
    to_stdout(|out| run_series(args, out))
}

/// Runs `alerts …`, writing to stdout.
pub fn alerts(args: &AlertsArgs) -> Result<(), CliError> {
    match &args.command {
        AlertsCommand::Backtest(args) => to_stdout(|out| run_backtest(args, out)),
    }
}

/// Fetches the series and writes them as sparklines or JSON.
pub fn run_series(args: &SeriesArgs, out: &mut impl Write) -> Result<(), CliError> {
    let mut query = vec![("metric", args.metric.as_str()), ("since", args.since.as_str())];
    query.extend(args.by.as_deref().map(|by| ("by", by)));
    query.extend(args.until.as_deref().map(|until| ("until", until)));
    query.extend(args.step.as_deref().map(|step| ("step", step)));
    let body = ApiClient::new(&args.api_url)?.get_text("series", &query)?;
    if args.json {
        writeln!(out, "{}", body.trim_end())?;
        return Ok(());
    }
    let answer: SeriesAnswer = serde_json::from_str(&body).map_err(|e| CliError::Decode(e.to_string()))?;
    render_series(&answer, out)?;
    Ok(())
}

/// Fetches the backtest and writes one line per firing, or JSON.
pub fn run_backtest(args: &BacktestArgs, out: &mut impl Write) -> Result<(), CliError> {
    let mut query = vec![("since", args.since.as_str())];
    query.extend(args.until.as_deref().map(|until| ("until", until)));
    let body = ApiClient::new(&args.api_url)?.get_json_at(&["alerts", "backtest"], &query)?;
    if args.json {
        writeln!(out, "{body}")?;
        return Ok(());
    }
    let answer: BacktestAnswer = serde_json::from_value(body).map_err(|e| CliError::Decode(e.to_string()))?;
    render_backtest(&answer, out)?;
    Ok(())
}

/// A header, then per series its labels, its range and a sparkline over the buckets.
pub fn render_series(a: &SeriesAnswer, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "{} from {} to {}, {}s buckets", a.metric, a.window.since, a.window.until, a.step_seconds)?;
    if a.series.is_empty() {
        return writeln!(out, "  no requests in the window");
    }
    let share = a.metric.ends_with("_share");
    let shown = |v: f64| if share { format!("{:.1}%", v * 100.0) } else { format!("{v:.4}") };
    // Shares share one scale from 0, so a quiet series' noise does not look like an incident.
    let common = share.then(|| {
        let top = a.series.iter().flat_map(|s| s.points.iter().filter_map(|p| p.value)).fold(0.0, f64::max);
        (0.0, top)
    });
    for s in &a.series {
        let values: Vec<Option<f64>> = s.points.iter().map(|p| p.value).collect();
        let present: Vec<f64> = values.iter().flatten().copied().collect();
        let (low, high) = present.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
        let range =
            if present.is_empty() { "no value".to_string() } else { format!("{} to {}", shown(low), shown(high)) };
        writeln!(out, "  {:<32} {:>7} requests  {range}", labels(s), s.requests)?;
        let (low, high) = common.unwrap_or((low, high));
        writeln!(out, "    {}", sparkline(&values, low, high))?;
    }
    if a.folded_values > 0 {
        writeln!(out, "  ({} more values folded into \"other\")", a.folded_values)?;
    }
    if a.truncated {
        writeln!(out, "  (the window held more requests than one read: the newest are missing)")?;
    }
    Ok(())
}

/// One line per firing, then the series too thin to judge.
pub fn render_backtest(a: &BacktestAnswer, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{} rules ({}) replayed from {} to {}, every {}s: {} fired",
        a.rules.len(),
        one_line(&a.rules_source),
        a.window.since,
        a.window.until,
        a.interval_seconds,
        a.firings.len()
    )?;
    for f in &a.firings {
        let resolved = f.resolved_at.as_deref().unwrap_or("still firing");
        let series = if f.labels.is_empty() { String::new() } else { format!(" {{{}}}", labels_text(&f.labels)) };
        writeln!(out, "  FIRED {} → {resolved}  {}{series}", f.fired_at, one_line(&f.rule))?;
        writeln!(
            out,
            "        {:.1}% ≥ {:.1}% (baseline {:.1}%), {} requests against {}, p = {:.2e} ≤ {:.2e}",
            f.value * 100.0,
            f.threshold * 100.0,
            f.baseline * 100.0,
            f.requests,
            f.baseline_requests,
            f.p_value,
            f.level
        )?;
    }
    for n in &a.not_judged {
        let series = if n.labels.is_empty() { String::new() } else { format!(" {{{}}}", labels_text(&n.labels)) };
        writeln!(
            out,
            "  not enough requests to judge {}{series} at {} of {} evaluations",
            one_line(&n.rule),
            n.evaluations,
            a.evaluations
        )?;
    }
    writeln!(out, "  ({})", a.test)
}

fn labels(s: &Series) -> String {
    if s.labels.is_empty() {
        "all traffic".to_string()
    } else {
        labels_text(&s.labels)
    }
}

fn labels_text(labels: &std::collections::BTreeMap<String, String>) -> String {
    labels.iter().map(|(k, v)| format!("{k}={}", one_line(v))).collect::<Vec<_>>().join(" ")
}

/// The values as block characters on the scale `low` to `high`, a space where a bucket had none.
///
/// Written here rather than taken from a crate: it is one index into eight characters.
pub fn sparkline(values: &[Option<f64>], low: f64, high: f64) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    values
        .iter()
        .map(|v| match v {
            None => ' ',
            Some(v) if high > low => BLOCKS[(((v - low) / (high - low)) * 7.0).round().clamp(0.0, 7.0) as usize],
            Some(_) => BLOCKS[0],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparkline_runs_from_the_lowest_block_to_the_highest_with_gaps_for_empty_buckets() {
        assert_eq!(sparkline(&[Some(0.0), None, Some(0.5), Some(1.0)], 0.0, 1.0), "▁ ▅█");
    }

    #[test]
    fn a_flat_series_is_drawn_at_the_bottom() {
        assert_eq!(sparkline(&[Some(2.0), Some(2.0)], 2.0, 2.0), "▁▁");
    }
}
