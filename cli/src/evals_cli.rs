//! The CLI command `evals`: online evaluation's status, and backfill runs (start, follow,
//! list, cancel).

use std::io::Write;
use std::time::Duration;

use serde_json::{json, Value};

use crate::cli::DEFAULT_API_URL;
use crate::client::{ApiClient, CliError};
use crate::text::to_stdout;
use tracehound_query::evals::runs::RunView;
use tracehound_query::evals::status::EvalStatus;

/// `evals`: online evaluation.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: EvalsCommand,
    /// Print the API's JSON answer.
    #[arg(long, global = true)]
    pub json: bool,
    /// Base URL of the Tracehound API.
    #[arg(long, global = true, env = "TRACEHOUND_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
}

/// The `evals` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum EvalsCommand {
    /// Sampling, checks, judge, the queue's backlog and lag, failures, and today's spend.
    Status,
    /// Scores a window of stored history (an incident's, for its postmortem).
    Run(RunArgs),
    /// The backfill runs and their progress.
    Runs,
    /// Cancels a run: what it has not evaluated leaves the queue.
    Cancel {
        /// The run's id.
        id: String,
    },
}

/// `evals run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Window start: an age (6h, 2d) or an RFC 3339 timestamp.
    #[arg(long)]
    pub since: String,
    /// Window end. Default: now.
    #[arg(long)]
    pub until: Option<String>,
    /// Only these services (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub service: Vec<String>,
    /// Only these version values, `dimension=value` (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub version: Vec<String>,
    /// Evaluators: check names and `judge` (comma-separated). Default: the server's.
    #[arg(long, value_delimiter = ',')]
    pub evaluator: Vec<String>,
    /// The share of matching requests to score, 0 to 1.
    #[arg(long)]
    pub sample_rate: Option<f64>,
    /// Follow the run until it is done, printing its progress.
    #[arg(long)]
    pub wait: bool,
}

/// Runs `evals`, writing to stdout.
pub fn evals(args: &EvalsArgs) -> Result<(), CliError> {
    to_stdout(|out| run_evals(args, out))
}

/// Calls the API and writes its answer as text or JSON.
pub fn run_evals(args: &EvalsArgs, out: &mut impl Write) -> Result<(), CliError> {
    let client = ApiClient::new(&args.api_url)?;
    let decode = |value: Value| -> Result<RunView, CliError> {
        serde_json::from_value(value).map_err(|e| CliError::Decode(e.to_string()))
    };
    match &args.command {
        EvalsCommand::Status => {
            let answer = client.get_json_at(&["evals"], &[])?;
            if args.json {
                writeln!(out, "{answer}")?;
                return Ok(());
            }
            let status: EvalStatus = serde_json::from_value(answer).map_err(|e| CliError::Decode(e.to_string()))?;
            render_status(&status, out)?;
        }
        EvalsCommand::Run(run) => {
            let mut body = json!({"since": run.since, "services": run.service, "versions": run.version});
            if let Some(until) = &run.until {
                body["until"] = json!(until);
            }
            if !run.evaluator.is_empty() {
                body["evaluators"] = json!(run.evaluator);
            }
            if let Some(rate) = run.sample_rate {
                body["sample_rate"] = json!(rate);
            }
            let answer = client.send_json_at(reqwest::Method::POST, &["evals", "runs"], Some(&body))?;
            let mut view = decode(answer.clone())?;
            if args.json && !run.wait {
                writeln!(out, "{answer}")?;
                return Ok(());
            }
            render_run(&view, out)?;
            while run.wait && view.state == "running" {
                std::thread::sleep(Duration::from_secs(2));
                view = decode(client.get_json_at(&["evals", "runs", &view.id], &[])?)?;
                render_run(&view, out)?;
                out.flush()?;
            }
        }
        EvalsCommand::Runs => {
            let answer = client.get_json_at(&["evals", "runs"], &[])?;
            if args.json {
                writeln!(out, "{answer}")?;
                return Ok(());
            }
            let runs = answer.get("runs").cloned().unwrap_or(Value::Array(Vec::new()));
            let runs: Vec<RunView> = serde_json::from_value(runs).map_err(|e| CliError::Decode(e.to_string()))?;
            if runs.is_empty() {
                writeln!(out, "no evaluation runs")?;
            }
            for run in &runs {
                render_run(run, out)?;
            }
        }
        EvalsCommand::Cancel { id } => {
            let answer = client.send_json_at(reqwest::Method::DELETE, &["evals", "runs", id], None)?;
            if args.json {
                writeln!(out, "{answer}")?;
                return Ok(());
            }
            render_run(&decode(answer)?, out)?;
        }
    }
    Ok(())
}

/// One line per run: its state and progress, then what it scores.
pub fn render_run(run: &RunView, out: &mut impl Write) -> Result<(), CliError> {
    writeln!(
        out,
        "{} {}: {} of {} done, {} remaining ({} already judged); {} .. {}; evaluators {}",
        run.id,
        run.state,
        run.done,
        run.queued,
        run.remaining,
        run.already_judged,
        run.window.since,
        run.window.until,
        run.evaluators.join(", ")
    )?;
    Ok(())
}

/// The status as a few lines of text.
pub fn render_status(s: &EvalStatus, out: &mut impl Write) -> Result<(), CliError> {
    let sampling = if s.enabled {
        let mut line = format!("on, {}% of requests", trim_float(s.sample_rate * 100.0));
        if !s.services.is_empty() {
            line.push_str(&format!(", services {}", s.services.join(", ")));
        }
        if !s.versions.is_empty() {
            line.push_str(&format!(", versions {}", s.versions.join(", ")));
        }
        line
    } else {
        "off (backfill runs only)".to_string()
    };
    writeln!(out, "sampling:  {sampling}")?;
    let checks = if s.checks.is_empty() { "none".to_string() } else { s.checks.join(", ") };
    writeln!(out, "checks:    {checks}")?;
    match (&s.judge, &s.scorecard) {
        (Some(judge), Some(card)) => writeln!(
            out,
            "judge:     {} at {}; scorecard {} v{} ({})",
            judge.model,
            judge.url,
            card.name,
            card.version,
            card.criteria.join(", ")
        )?,
        _ if s.external_scorers => writeln!(out, "judge:     external scorers (POST /api/v1/evals/leases)")?,
        _ => writeln!(out, "judge:     none")?,
    }
    writeln!(
        out,
        "queue:     {} waiting, {} due, lag {}s; judged {}, given up {}",
        s.backlog,
        s.due,
        trim_float(s.lag_seconds),
        s.judged,
        s.failed
    )?;
    let mut calls = format!("judge calls: {} ({} failed)", s.judge_calls, s.judge_failures);
    if let (Some(error), Some(at)) = (&s.last_error, &s.last_error_at) {
        calls.push_str(&format!("; last failure at {at}: {error}"));
    }
    writeln!(out, "{calls}")?;
    let spend = &s.spend;
    let mut line =
        format!("spend {}: {} calls, {} tokens, ${:.4}", spend.day, spend.calls, spend.tokens, spend.cost_usd);
    if let Some(tokens) = spend.budget_tokens {
        line.push_str(&format!(", budget {tokens} tokens"));
    }
    if let Some(usd) = spend.budget_usd {
        line.push_str(&format!(", budget ${usd:.2}"));
    }
    if spend.exhausted {
        line.push_str(": SPENT, judging waits for the next UTC day");
    }
    writeln!(out, "{line}")?;
    writeln!(out, "over time: tracehound series --metric score_mean:<name> (e.g. score_mean:correctness)")?;
    Ok(())
}

fn trim_float(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracehound_query::evals::status::SpendView;

    #[test]
    fn a_spent_budget_is_said_in_the_status() {
        let status = EvalStatus {
            enabled: true,
            sample_rate: 0.02,
            spend: SpendView {
                day: "2026-12-07".into(),
                budget_tokens: Some(100),
                exhausted: true,
                ..Default::default()
            },
            ..Default::default()
        };
        let mut out = Vec::new();
        render_status(&status, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("on, 2% of requests"), "{text}");
        assert!(text.contains("budget 100 tokens: SPENT"), "{text}");
    }
}
