//! `tracehound-triage-bench`: triage over a window of 200,000 requests (issue 12: ≤ 3 s on
//! two cores). It fills a fresh store through the real write path (`Store::write_group`,
//! group commit and fsync included) with a day of four services, a retrieval per request and
//! an index rollout that breaks most answers for the last fifth of the day, then times the
//! triage of the whole window. Reports the median of the runs and the verdict, and writes
//! the triage section of `BENCHMARKS.md`.

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use tracehound_bench::synthetic::{fill, write_section, DAY, START};
use tracehound_query::failing::Window;
use tracehound_query::triage::triage;
use tracehound_store::{Store, TenantId};

/// Triage benchmark (see BENCHMARKS.md).
#[derive(Parser, Debug)]
#[command(name = "tracehound-triage-bench")]
struct Args {
    /// Requests in the window.
    #[arg(long, default_value_t = 200_000)]
    requests: usize,
    /// Timed triage runs; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Where the scratch store is made.
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// Markdown file whose triage section is replaced.
    #[arg(long, default_value = "BENCHMARKS.md")]
    markdown: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.work_dir)?;
    let scratch = tempfile::Builder::new().prefix("triage-").tempdir_in(&args.work_dir)?;
    let store = Store::open(scratch.path())?;
    let began = Instant::now();
    fill(&store, args.requests, START, DAY / args.requests as u64, args.requests * 4 / 5)?;
    let fill_secs = began.elapsed().as_secs_f64();
    eprintln!("filled {} requests in {fill_secs:.1} s", args.requests);
    let window = Window { since: START, until: START + DAY };
    let mut times = Vec::new();
    let mut verdict = None;
    for run in 0..args.runs {
        let began = Instant::now();
        let answer = triage(&store, TenantId::DEFAULT, window, None)?;
        let secs = began.elapsed().as_secs_f64();
        eprintln!(
            "run {run}: {secs:.2} s, {} requests, layer {:?} value {:?}",
            answer.requests, answer.layer, answer.value
        );
        times.push(secs);
        verdict = Some(answer);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let verdict = verdict.ok_or_else(|| anyhow::anyhow!("no run"))?;
    let section = format!(
        "| requests in the window | runs | median | fastest | slowest | target | verdict |\n|---|---|---|---|---|---|---|\n| {} | {} | {median:.2} s | {:.2} s | {:.2} s | ≤ 3 s: {} | {} · {} = {} (onset {}) |\n",
        verdict.requests,
        times.len(),
        times[0],
        times[times.len() - 1],
        if median <= 3.0 { "met" } else { "missed" },
        verdict.layer.as_deref().unwrap_or("none"),
        verdict.dimension.as_deref().unwrap_or("-"),
        verdict.value.as_deref().unwrap_or("-"),
        verdict.onset.as_deref().unwrap_or("-"),
    );
    println!("{section}");
    write_section(&args.markdown, "triage", "Triage", &section)?;
    Ok(())
}
