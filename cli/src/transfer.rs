//! `export` and `import`: evidence moved as OTLP/JSON lines, one export request per line,
//! from a server's API to a file and from a file to any OTLP/HTTP receiver.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;

use serde_json::Value;

use crate::cli::DEFAULT_API_URL;
use crate::client::{http_client, innermost, ApiClient, CliError};

/// Where an import sends by default, as OpenTelemetry SDKs read it.
const ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// The OTLP/HTTP receiver on this machine.
const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:4318";

/// `export`: stored requests as OTLP/JSON lines.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    /// Only requests matching this search (the query language of `search`).
    #[arg(long)]
    pub q: Option<String>,
    /// Oldest start: an age (6h, 2d) or an RFC 3339 timestamp.
    #[arg(long, default_value = "24h")]
    pub since: String,
    /// Start before which: an age or an RFC 3339 timestamp. Default: now.
    #[arg(long)]
    pub until: Option<String>,
    /// The file to write; standard output when absent.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Base URL of the Tracehound API.
    #[arg(long, env = "TRACEHOUND_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
}

/// `import`: send an export file to an OTLP/HTTP receiver, keeping every id.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// A file written by `export` (or `GET /api/v1/export`).
    pub file: PathBuf,
    /// The receiver's base URL; `/v1/traces` and `/v1/logs` are added.
    #[arg(long, env = ENDPOINT_ENV, default_value = DEFAULT_ENDPOINT)]
    pub endpoint: String,
}

/// What an import sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Imported {
    /// Trace export lines sent.
    pub trace_exports: u64,
    /// Log export lines sent.
    pub log_exports: u64,
    /// Spans and log records the receiver refused in `partial_success`.
    pub rejected: u64,
}

/// Runs `export`.
pub fn export(args: &ExportArgs) -> Result<(), CliError> {
    let mut query = vec![("since", args.since.as_str())];
    if let Some(until) = &args.until {
        query.push(("until", until));
    }
    if let Some(q) = &args.q {
        query.push(("q", q));
    }
    let client = ApiClient::new(&args.api_url)?;
    let headers = match &args.output {
        Some(path) => {
            let file = File::create(path)
                .map_err(|e| CliError::File { path: path.display().to_string(), reason: e.to_string() })?;
            let mut out = BufWriter::new(file);
            let headers = client.download("export", &query, &mut out)?;
            out.flush()?;
            headers
        }
        None => client.download("export", &query, &mut std::io::stdout().lock())?,
    };
    if headers.get("x-tracehound-export-truncated").is_some_and(|v| v == "true") {
        eprintln!(
            "warning: more requests matched than one export holds; the newest were left out, narrow --since/--until"
        );
    }
    Ok(())
}

/// Runs `import`, printing what was sent.
pub fn import(args: &ImportArgs) -> Result<(), CliError> {
    let done = run_import(args)?;
    println!(
        "imported {} trace and {} log exports into {}{}",
        done.trace_exports,
        done.log_exports,
        args.endpoint,
        if done.rejected > 0 {
            format!("; the receiver refused {} items (see above)", done.rejected)
        } else {
            String::new()
        }
    );
    Ok(())
}

/// Sends every line of the file, in order. The first line that cannot be sent stops the
/// import with its number; the lines before it were accepted and need not be sent again
/// (a receiver keeps a re-sent span once).
pub fn run_import(args: &ImportArgs) -> Result<Imported, CliError> {
    let path = args.file.display().to_string();
    let file = File::open(&args.file).map_err(|e| CliError::File { path: path.clone(), reason: e.to_string() })?;
    let base = args.endpoint.trim_end_matches('/').to_string();
    let http = http_client(None)?;
    let mut done = Imported::default();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let at = |reason: String| CliError::Import { path: path.clone(), line: n + 1, reason };
        let line = line.map_err(|e| at(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(&line).map_err(|e| at(format!("not JSON: {e}")))?;
        let (route, is_traces) = if value.get("resourceSpans").is_some() {
            ("/v1/traces", true)
        } else if value.get("resourceLogs").is_some() {
            ("/v1/logs", false)
        } else {
            return Err(at("neither an OTLP trace export (resourceSpans) nor a logs export (resourceLogs)".into()));
        };
        let response = http
            .post(format!("{base}{route}"))
            .header("content-type", "application/json")
            .body(line)
            .send()
            .map_err(|e| at(format!("cannot reach {base}: {}", innermost(&e))))?;
        let status = response.status();
        let body = response.text().unwrap_or_default();
        if !status.is_success() {
            return Err(at(format!("{base}{route} answered {}: {}", status.as_u16(), body.trim())));
        }
        let answer: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let partial = &answer["partialSuccess"];
        let refused = ["rejectedSpans", "rejectedLogRecords"]
            .iter()
            .filter_map(|k| partial[*k].as_u64().or_else(|| partial[*k].as_str()?.parse().ok()))
            .sum::<u64>();
        if refused > 0 {
            eprintln!("line {}: {refused} refused: {}", n + 1, partial["errorMessage"].as_str().unwrap_or_default());
            done.rejected += refused;
        }
        if is_traces {
            done.trace_exports += 1;
        } else {
            done.log_exports += 1;
        }
    }
    Ok(done)
}
