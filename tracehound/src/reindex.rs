//! `tracehound reindex`: rebuilds the search index from the store, with a progress bar.
//! The index is derived data; the store is the system of record.

use std::path::PathBuf;

use anyhow::Context;
use tracehound_store::search::{rebuild, SearchIndex};
use tracehound_store::{Store, TenantId};

/// Flags of `tracehound reindex`.
#[derive(clap::Args, Debug)]
pub struct ReindexArgs {
    /// Directory holding the store (the server must be stopped: the store has one owner).
    #[arg(long, env = "TRACEHOUND_DATA_DIR", default_value = "./tracehound-data")]
    data_dir: PathBuf,
}

/// Rebuilds the index and reports how many requests it holds.
pub fn run(args: ReindexArgs) -> anyhow::Result<()> {
    let store = Store::open(&args.data_dir).with_context(|| {
        format!("cannot open the store in {} (is the server still running?)", args.data_dir.display())
    })?;
    let index = SearchIndex::open(&args.data_dir.join("index")).context("cannot open the search index")?;
    let total = store.counters(TenantId::DEFAULT).map(|c| c.traces).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} requests ({per_sec})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let done = rebuild(&store, &index, |n| bar.set_position(n)).context("rebuilding the index failed")?;
    bar.finish();
    println!("indexed {done} requests");
    Ok(())
}
