//! The `tracehound` binary: the server, and the CLI that talks to it.

mod allocator;
mod keys_cmd;
mod mcp;
mod online_eval;
mod reindex;
mod serve;
mod tls;

use clap::{Parser, Subcommand};

/// Tracehound: collector and store for LLM session traces.
#[derive(Parser)]
#[command(name = "tracehound", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: OTLP receivers, the store, and the HTTP API.
    Serve(Box<serve::ServeArgs>),
    /// Print a request, session or trace by any id (trace, request, session, provider response id).
    Get(tracehound_cli::cli::GetArgs),
    /// List recent requests.
    Ls(tracehound_cli::cli::LsArgs),
    /// Search requests by words, phrases and filters (`tracehound search '"refund policy" status:error'`).
    Search(tracehound_cli::cli::SearchArgs),
    /// Failing requests of a window with their context (`tracehound failing --since 6h --limit 10`).
    Failing(tracehound_cli::evidence_cli::FailingArgs),
    /// The postmortem evidence bundle as Markdown (`tracehound postmortem --since … --until … > postmortem.md`).
    Postmortem(tracehound_cli::evidence_cli::PostmortemArgs),
    /// Did quality shift, when, and which layer and value explain it (`tracehound triage --since 3h`).
    Triage(tracehound_cli::triage_cli::TriageArgs),
    /// Promote, hold or rollback: a candidate version value against its baseline (`tracehound canary --dimension prompt_version --candidate v8 --baseline v7`).
    Canary(tracehound_cli::canary_cli::CanaryArgs),
    /// Online evaluation: its status, and backfill runs over stored history (`tracehound evals status`, `tracehound evals run --since 6h --wait`).
    Evals(tracehound_cli::evals_cli::EvalsArgs),
    /// Shadow requests against the requests they shadow, pair by pair (`tracehound shadow --since 6h`).
    Shadow(tracehound_cli::canary_cli::ShadowArgs),
    /// One quality metric over time as a sparkline per series (`tracehound series --metric suspect_share --by prompt_version --since 24h`).
    Series(tracehound_cli::monitor_cli::SeriesArgs),
    /// Alert rules: `tracehound alerts backtest --since 24h` replays them over stored history.
    Alerts(tracehound_cli::monitor_cli::AlertsArgs),
    /// Stored requests as OTLP/JSON lines, raw attributes, logs and scores (`tracehound export --since 2h -o incident.jsonl`).
    Export(tracehound_cli::transfer::ExportArgs),
    /// Send an export file to an OTLP/HTTP receiver, keeping every id (`tracehound import incident.jsonl`).
    Import(tracehound_cli::transfer::ImportArgs),
    /// Spans, requests, sessions, disk use by part, oldest data, index lag, retention and holds.
    Stats(tracehound_cli::stats::StatsArgs),
    /// Serve the evidence as MCP tools on stdio, for a local agent (`tracehound mcp --api-url http://127.0.0.1:4320`).
    Mcp(mcp::McpArgs),
    /// Rebuild the search index from the store (server stopped).
    Reindex(reindex::ReindexArgs),
    /// Manage API keys: `keys add --tenant NAME --scope read`, `keys list`, `keys revoke ID`.
    Keys(keys_cmd::KeysArgs),
}

/// Runs the command; an error is printed as its chain of causes and the process exits 1.
///
/// Returning the error from `main` would let anyhow print a backtrace whenever
/// `RUST_BACKTRACE` is set, which a user's mistake (a wrong URL, a busy data directory)
/// does not deserve.
fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::Get(args) => Ok(tracehound_cli::cli::get(&args)?),
        Command::Ls(args) => Ok(tracehound_cli::cli::ls(&args)?),
        Command::Search(args) => Ok(tracehound_cli::cli::search(&args)?),
        Command::Failing(args) => Ok(tracehound_cli::evidence_cli::failing(&args)?),
        Command::Postmortem(args) => Ok(tracehound_cli::evidence_cli::postmortem(&args)?),
        Command::Triage(args) => Ok(tracehound_cli::triage_cli::triage(&args)?),
        Command::Canary(args) => Ok(tracehound_cli::canary_cli::canary(&args)?),
        Command::Evals(args) => Ok(tracehound_cli::evals_cli::evals(&args)?),
        Command::Shadow(args) => Ok(tracehound_cli::canary_cli::shadow(&args)?),
        Command::Series(args) => Ok(tracehound_cli::monitor_cli::series(&args)?),
        Command::Alerts(args) => Ok(tracehound_cli::monitor_cli::alerts(&args)?),
        Command::Export(args) => Ok(tracehound_cli::transfer::export(&args)?),
        Command::Import(args) => Ok(tracehound_cli::transfer::import(&args)?),
        Command::Stats(args) => Ok(tracehound_cli::stats::run(&args)?),
        Command::Mcp(args) => mcp::run(&args),
        Command::Reindex(args) => reindex::run(args),
        Command::Keys(args) => keys_cmd::run(args),
    }
}
