//! The CLI command `canary`: promote, hold or rollback for a candidate version value.

use std::io::Write;

use crate::cli::DEFAULT_API_URL;
use crate::client::{ApiClient, CliError};
use crate::text::{one_line, to_stdout};
use tracehound_query::canary::{CanaryAnswer, Trigger, TriggerState, Verdict};
use tracehound_query::shadow::ShadowAnswer;

/// `canary`: a candidate version value against its baseline on the rollback triggers.
#[derive(Debug, Clone, clap::Args)]
pub struct CanaryArgs {
    /// The version dimension (prompt_version, response_model, index_version, ...).
    #[arg(long)]
    pub dimension: String,
    /// The value being rolled out.
    #[arg(long)]
    pub candidate: String,
    /// The value it replaces.
    #[arg(long)]
    pub baseline: String,
    /// Window start: an age (6h, 2d) or an RFC 3339 timestamp.
    #[arg(long, default_value = "24h")]
    pub since: String,
    /// Window end. Default: now.
    #[arg(long)]
    pub until: Option<String>,
    /// Print the API's JSON answer.
    #[arg(long)]
    pub json: bool,
    /// Base URL of the Tracehound API.
    #[arg(long, env = "TRACEHOUND_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
}

/// Runs `canary`, writing to stdout.
pub fn canary(args: &CanaryArgs) -> Result<(), CliError> {
    to_stdout(|out| run_canary(args, out))
}

/// Fetches the verdict and writes it as text or JSON.
pub fn run_canary(args: &CanaryArgs, out: &mut impl Write) -> Result<(), CliError> {
    let mut query = vec![
        ("dimension", args.dimension.as_str()),
        ("candidate", args.candidate.as_str()),
        ("baseline", args.baseline.as_str()),
        ("since", args.since.as_str()),
    ];
    if let Some(until) = &args.until {
        query.push(("until", until.as_str()));
    }
    let body = ApiClient::new(&args.api_url)?.get_text("canary", &query)?;
    if args.json {
        writeln!(out, "{}", body.trim_end())?;
        return Ok(());
    }
    let answer: CanaryAnswer = serde_json::from_str(&body).map_err(|e| CliError::Decode(e.to_string()))?;
    render(&answer, out)?;
    Ok(())
}

/// The verdict, then one line per trigger.
pub fn render(a: &CanaryAnswer, out: &mut impl Write) -> std::io::Result<()> {
    let verdict = verdict_word(a.verdict);
    let n = |cohort: &str| a.metrics.get(cohort).map_or(0, |m| m.requests);
    writeln!(
        out,
        "{verdict}: {}={} ({} requests) against {} ({} requests), {} to {}",
        one_line(&a.dimension),
        one_line(&a.candidate),
        n("candidate"),
        one_line(&a.baseline),
        n("baseline"),
        a.window.since,
        a.window.until
    )?;
    render_triggers(&a.triggers, a.confidence, out)
}

fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Promote => "PROMOTE",
        Verdict::Hold => "HOLD",
        Verdict::Rollback => "ROLLBACK",
    }
}

/// One line per trigger, then the confidence they were decided at.
fn render_triggers(triggers: &[Trigger], confidence: f64, out: &mut impl Write) -> std::io::Result<()> {
    for t in triggers {
        let state = match t.state {
            TriggerState::Fired => "FIRED ",
            TriggerState::Passed => "passed",
            TriggerState::Undecided => "  ?   ",
        };
        writeln!(out, "  {state}  {:<28} {}", one_line(&t.name), one_line(&t.detail))?;
    }
    writeln!(out, "  (each decided at {:.1}% confidence, Bonferroni over the triggers)", confidence * 100.0)
}

/// `shadow`: shadow requests against the requests they shadow, pair by pair.
#[derive(Debug, Clone, clap::Args)]
pub struct ShadowArgs {
    /// Window start: an age (6h, 2d) or an RFC 3339 timestamp.
    #[arg(long, default_value = "24h")]
    pub since: String,
    /// Window end. Default: now.
    #[arg(long)]
    pub until: Option<String>,
    /// Print the API's JSON answer.
    #[arg(long)]
    pub json: bool,
    /// Base URL of the Tracehound API.
    #[arg(long, env = "TRACEHOUND_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
}

/// Runs `shadow`, writing to stdout.
pub fn shadow(args: &ShadowArgs) -> Result<(), CliError> {
    to_stdout(|out| run_shadow(args, out))
}

/// Fetches the shadow verdict and writes it as text or JSON.
pub fn run_shadow(args: &ShadowArgs, out: &mut impl Write) -> Result<(), CliError> {
    let mut query = vec![("since", args.since.as_str())];
    query.extend(args.until.as_deref().map(|until| ("until", until)));
    let body = ApiClient::new(&args.api_url)?.get_text("shadow", &query)?;
    if args.json {
        writeln!(out, "{}", body.trim_end())?;
        return Ok(());
    }
    let a: ShadowAnswer = serde_json::from_str(&body).map_err(|e| CliError::Decode(e.to_string()))?;
    writeln!(
        out,
        "{}: {} shadow requests paired with their primaries ({} unpaired), {} to {}",
        verdict_word(a.verdict),
        a.pairs,
        a.unpaired,
        a.window.since,
        a.window.until
    )?;
    render_triggers(&a.triggers, a.confidence, out)?;
    Ok(())
}
