//! The CLI command `triage`: the verdict of a window for a terminal.

use std::io::Write;

use crate::cli::DEFAULT_API_URL;
use crate::client::{ApiClient, CliError};
use crate::text::{one_line, to_stdout};
use tracehound_query::triage::Triage;

/// `triage`: did quality shift, when, and which layer and value explain it.
#[derive(Debug, Clone, clap::Args)]
pub struct TriageArgs {
    /// Window start: an age (3h, 2d) or an RFC 3339 timestamp.
    #[arg(long, default_value = "3h")]
    pub since: String,
    /// Window end: an age or an RFC 3339 timestamp. Default: now.
    #[arg(long)]
    pub until: Option<String>,
    /// Start of a baseline read before the window. Default: the traffic before the detected onset.
    #[arg(long)]
    pub baseline_since: Option<String>,
    /// Print the API's JSON answer.
    #[arg(long)]
    pub json: bool,
    /// Base URL of the Tracehound API.
    #[arg(long, env = "TRACEHOUND_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
}

/// Runs `triage`, writing to stdout.
pub fn triage(args: &TriageArgs) -> Result<(), CliError> {
    to_stdout(|out| run_triage(args, out))
}

/// Fetches the verdict and writes it as text or JSON.
pub fn run_triage(args: &TriageArgs, out: &mut impl Write) -> Result<(), CliError> {
    let mut query = vec![("since", args.since.as_str())];
    if let Some(until) = &args.until {
        query.push(("until", until.as_str()));
    }
    if let Some(baseline) = &args.baseline_since {
        query.push(("baseline_since", baseline.as_str()));
    }
    let body = ApiClient::new(&args.api_url)?.get_text("triage", &query)?;
    if args.json {
        out.write_all(body.as_bytes())?;
        if !body.ends_with('\n') {
            writeln!(out)?;
        }
        return Ok(());
    }
    let answer: Triage = serde_json::from_str(&body).map_err(|e| CliError::Decode(e.to_string()))?;
    render(&answer, out)?;
    Ok(())
}

/// The verdict as text: headline, cause, evidence, what was ruled out, the steps.
pub fn render(t: &Triage, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "Triage of {} requests from {} to {}", t.requests, t.window.since, t.window.until)?;
    match (&t.shift, t.incident) {
        (None, _) => writeln!(out, "Not enough data to tell whether quality shifted.")?,
        (Some(s), false) => writeln!(
            out,
            "No incident: the suspect share moved from {:.1}% to {:.1}%, within noise (permutation p = {:.3}).",
            s.suspect_share_before * 100.0,
            s.suspect_share_after * 100.0,
            s.p_value
        )?,
        (Some(s), true) => writeln!(
            out,
            "Quality shifted at {} (95% interval {} to {}): {:.1}% of {} requests suspect before, {:.1}% of {} after (permutation p = {:.3}).",
            t.onset.as_deref().unwrap_or(&s.step_at),
            s.interval[0],
            s.interval[1],
            s.suspect_share_before * 100.0,
            s.requests_before,
            s.suspect_share_after * 100.0,
            s.requests_after,
            s.p_value
        )?,
    }
    if let (Some(layer), Some(dimension), Some(value)) = (&t.layer, &t.dimension, &t.value) {
        writeln!(out)?;
        writeln!(
            out,
            "Cause: {layer} · {dimension} = {}{}",
            one_line(value),
            t.previous.as_deref().map(|p| format!(" (was {})", one_line(p))).unwrap_or_default()
        )?;
        writeln!(
            out,
            "  explains {:.0}% of the excess, confidence {:.2}; {} suspect requests ({:.0}% of traffic after the onset) in {}",
            t.explains * 100.0,
            t.confidence,
            t.affected.requests,
            t.affected.share * 100.0,
            t.affected.services.join(", ")
        )?;
    } else if t.incident {
        writeln!(out)?;
        writeln!(out, "No changed value explains the shift.")?;
    }
    if !t.evidence.is_empty() {
        writeln!(out)?;
        writeln!(out, "Evidence:")?;
        for e in &t.evidence {
            writeln!(out, "  - {}", one_line(&e.statement))?;
            if let Some(test) = &e.test {
                writeln!(out, "    test: {test}{}", e.p_value.map(|p| format!(", p = {p:.2e}")).unwrap_or_default())?;
            }
            if !e.requests.is_empty() {
                writeln!(out, "    open: {}", e.requests.iter().map(|r| one_line(r)).collect::<Vec<_>>().join(" "))?;
            }
        }
    }
    if !t.ruled_out.is_empty() {
        writeln!(out)?;
        writeln!(out, "Ruled out:")?;
        for r in &t.ruled_out {
            let scope = r.scope.as_deref().map(|s| format!(" [{}]", one_line(s))).unwrap_or_default();
            writeln!(out, "  - {} · {}{scope} = {}: {}", r.layer, r.dimension, one_line(&r.value), r.verdict)?;
            writeln!(out, "    {}", one_line(&r.reason))?;
        }
    }
    writeln!(out)?;
    writeln!(out, "Steps:")?;
    for (i, s) in t.steps.iter().enumerate() {
        writeln!(out, "  {}. {}: {}", i + 1, s.layer, one_line(&s.finding))?;
    }
    if !t.drift.is_empty() {
        writeln!(out)?;
        writeln!(out, "Signals that moved:")?;
        for d in &t.drift {
            writeln!(out, "  - {}: {} → {} ({}, p_holm = {:.1e})", d.signal, d.before, d.after, d.test, d.p_holm)?;
        }
    }
    if t.truncated {
        writeln!(out)?;
        writeln!(out, "(The window held more requests than one triage reads; narrow it.)")?;
    }
    Ok(())
}
