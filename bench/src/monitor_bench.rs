//! `tracehound-monitor-bench`: what monitoring costs (issue 13: a 7-day chart at 1-minute
//! steps in ≤ 200 ms; alert evaluation at 1,000 requests/s). It fills a fresh store through
//! the real write path with a week of traffic at a steady rate, and on top of it the last ten
//! minutes at 1,000 requests/s, then times:
//! - the series logic of `GET /api/v1/series` over the 7 days at 1-minute steps, unsplit and
//!   split by service: first from the request summaries (no roll-up yet), then from the
//!   per-minute aggregates once the roller has rolled the week up;
//! - the roller: the week's history rolled up, and one minute of the burst (60,000 requests)
//!   rolled up, which must take well under its minute for the roller to keep up;
//! - one live evaluation of the built-in rules at the end of the burst (what the alert
//!   engine does every minute), and whether it could read everything it needed.
//!
//! Writes the monitor section of `BENCHMARKS.md`.

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use tracehound_bench::synthetic::{fill, write_section, DAY, START};
use tracehound_query::failing::Window;
use tracehound_query::monitor::live::firing_now;
use tracehound_query::monitor::metric::{Metric, Share, Split};
use tracehound_query::monitor::rules::RuleSet;
use tracehound_query::monitor::series::{series, SeriesQuery};
use tracehound_query::triage::requests::MAX_REQUESTS;
use tracehound_store::{Store, TenantId};

/// Monitoring benchmark (see BENCHMARKS.md).
#[derive(Parser, Debug)]
#[command(name = "tracehound-monitor-bench")]
struct Args {
    /// Requests per day over the week.
    #[arg(long, default_value_t = 20_000)]
    per_day: usize,
    /// Requests per second in the burst at the end.
    #[arg(long, default_value_t = 1_000)]
    burst_rate: usize,
    /// Seconds of burst.
    #[arg(long, default_value_t = 600)]
    burst_seconds: usize,
    /// Timed runs of each measurement; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Where the scratch store is made.
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// Markdown file whose monitor section is replaced.
    #[arg(long, default_value = "BENCHMARKS.md")]
    markdown: PathBuf,
}

const MINUTE: u64 = 60_000_000_000;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.work_dir)?;
    let scratch = tempfile::Builder::new().prefix("monitor-").tempdir_in(&args.work_dir)?;
    let store = Store::open(scratch.path())?;
    let week = 7 * args.per_day;
    let began = Instant::now();
    // A steady week whose last day breaks after its first 80 %.
    fill(&store, week, START, DAY / args.per_day as u64, week - args.per_day / 5)?;
    let week_end = START + 7 * DAY;
    let burst = args.burst_rate * args.burst_seconds;
    fill(&store, burst, week_end, 1_000_000_000 / args.burst_rate as u64, burst)?;
    let now = week_end + args.burst_seconds as u64 * 1_000_000_000;
    eprintln!("filled {week} + {burst} requests in {:.1} s", began.elapsed().as_secs_f64());

    let week_window = Window { since: START, until: week_end };
    let mut rows = Vec::new();
    let splits = [("7 days, 1-minute steps", Split::Whole), ("7 days, 1-minute steps, by service", Split::Service)];
    let time_series = |rows: &mut Vec<Row>, how: &str, target: Option<f64>| -> anyhow::Result<()> {
        for (label, split) in splits {
            let query = SeriesQuery { metric: Metric::Share(Share::Suspect), split, window: week_window, step: MINUTE };
            let mut truncated = false;
            let mut computed = 0;
            let times = timed(args.runs, || {
                let answer = series(&store, TenantId::DEFAULT, &query)?;
                truncated = answer.truncated;
                computed = answer.computed_minutes;
                Ok(())
            })?;
            let what = format!("series: {label}, {how}");
            rows.push(Row { what, requests: week, times, target, truncated: truncated || computed > 0 });
        }
        Ok(())
    };
    time_series(&mut rows, "from the request summaries", None)?;

    // The roller: the first step marks the stored history; each step rolls up to 120 minutes.
    let later = now + 3_600_000_000_000;
    let began = Instant::now();
    let mut steps = 0;
    loop {
        tracehound_alerts::rollups::step(&store, later)?;
        steps += 1;
        if store.dirty_rollups()?.is_empty() {
            break;
        }
    }
    let rolled_week = began.elapsed().as_secs_f64();
    eprintln!("rolled the week up in {rolled_week:.1} s ({steps} steps)");
    rows.push(Row {
        what: format!("roll-up of the whole history, once ({} minutes)", 7 * 24 * 60 + args.burst_seconds / 60),
        requests: week + burst,
        times: vec![rolled_week],
        target: None,
        truncated: false,
    });
    let burst_minute = week_end / MINUTE + 1;
    let times = timed(args.runs, || {
        let mut cache = tracehound_query::monitor::rollup::MinuteCache::default();
        tracehound_query::monitor::rollup::roll_minute(&store, TenantId::DEFAULT, burst_minute, &mut cache)?;
        Ok(())
    })?;
    rows.push(Row {
        what: format!("roll-up of one minute at {} requests/s (the roller keeps up below 60 s)", args.burst_rate),
        requests: args.burst_rate * 60,
        times,
        target: Some(60.0),
        truncated: false,
    });
    time_series(&mut rows, "from the per-minute roll-ups", Some(0.2))?;
    let rules = RuleSet::defaults();
    let lookback_requests = burst + (args.per_day as f64 * 9.2 / 24.0) as usize;
    let times = timed(args.runs, || {
        firing_now(&store, TenantId::DEFAULT, &rules, now)?;
        Ok(())
    })?;
    rows.push(Row {
        what: format!(
            "one live evaluation of the built-in rules after {}s at {} requests/s ({} requests in its lookback, {})",
            args.burst_seconds,
            args.burst_rate,
            lookback_requests,
            if lookback_requests > MAX_REQUESTS { "a sample by trace id" } else { "all read" }
        ),
        requests: lookback_requests.min(MAX_REQUESTS),
        times,
        target: Some(60.0),
        // Past the cap, a sample by trace id across the whole stretch is judged: complete
        // in what it covers, at the sample's size.
        truncated: false,
    });

    let mut section = String::from(
        "| measurement | requests read | runs | median | fastest | slowest | target | complete |\n|---|---|---|---|---|---|---|---|\n",
    );
    for row in &rows {
        let median = row.times[row.times.len() / 2];
        section.push_str(&format!(
            "| {} | {} | {} | {median:.3} s | {:.3} s | {:.3} s | {} | {} |\n",
            row.what,
            row.requests,
            row.times.len(),
            row.times[0],
            row.times[row.times.len() - 1],
            // An incomplete answer meets no target, however fast.
            row.target.map_or("-".into(), |t| {
                let met = median <= t && !row.truncated;
                format!(
                    "≤ {t} s: {}",
                    if met {
                        "met"
                    } else if row.truncated {
                        "missed (incomplete)"
                    } else {
                        "missed"
                    }
                )
            }),
            if row.truncated { "no: past the scan cap of one read, or minutes computed when asked" } else { "yes" },
        ));
    }
    println!("{section}");
    write_section(&args.markdown, "monitor", "Monitoring", &section)?;
    Ok(())
}

struct Row {
    what: String,
    requests: usize,
    times: Vec<f64>,
    target: Option<f64>,
    truncated: bool,
}

/// Runs `work` `runs` times; the seconds each took, sorted.
fn timed(runs: usize, mut work: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Vec<f64>> {
    let mut times = Vec::with_capacity(runs);
    for run in 0..runs.max(1) {
        let began = Instant::now();
        work()?;
        let secs = began.elapsed().as_secs_f64();
        eprintln!("  run {run}: {secs:.3} s");
        times.push(secs);
    }
    times.sort_by(f64::total_cmp);
    Ok(times)
}
